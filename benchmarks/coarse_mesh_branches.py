"""Sweep against homotopy on very coarse meshes: an open finding of the issue-16 review (not a speed benchmark).

    python benchmarks/coarse_mesh_branches.py

SNS junction, L = D = 1, reservoir gaps 3, 61 energies in [0, 6], phase differences 1, 2, 2.5, on P1 and P3
wires of 1 to 10 elements. On such meshes the discrete equations have more than one solution at some
energies. The sweep (the default of ``usadel.spectral``) can follow another one than the eta-homotopy
without any check noticing: its DOS stays positive, and the sample check compares every 16th continued
energy only. Printed: every mesh and phase where the two differ by more than 1e-8 (max |gamma| difference),
the energies, the mean DOS of both there, and the homotopy's own minimum DOS (on those meshes it is not
reliable either: negative DOS). A second table scans meshes a user would solve on (P1 on 20-100, P3 on
4-16 elements) at phases up to 3.1 and reservoir gaps 3 and 10. Output kept in
``benchmarks/results/coarse_mesh_branches.txt``.
"""

import itertools
import logging

import numpy as np

import usadel

E = np.linspace(0.0, 6.0, 61)


def differ(order, ne, ph, gap):
    """(max |gamma| difference per energy, sweep result, homotopy result)."""
    dev = usadel.Device(usadel.meshes.wire([("N", 1.0, ne)]), {"N": usadel.Material(D=1.0)},
                        contacts={"left": usadel.Reservoir(delta=gap, phase=ph), "right": usadel.Reservoir(delta=gap)},
                        order=order)
    a = usadel.spectral(dev, E)
    b = usadel.spectral(dev, E, method="homotopy")
    return np.max(np.abs(a.gamma - b.gamma), axis=1), a, b


def main():
    logging.getLogger("usadel.sweep").setLevel(logging.ERROR)  # the sample check's warnings: counted below
    print("1. coarse meshes, reservoir gaps 3")
    print(f"{'order':>5} {'elements':>8} {'phase':>5} {'max diff':>9}  energies (first 6)  mean DOS sweep / homotopy"
          f"  homotopy min DOS")
    agree = 0
    for order, ne, ph in itertools.product((1, 3), (1, 2, 3, 4, 6, 10), (1.0, 2.0, 2.5)):
        d, a, b = differ(order, ne, ph, 3.0)
        if d.max() <= 1e-8:
            agree += 1
            continue
        bad = np.nonzero(d > 1e-8)[0]
        print(f"{order:>5} {ne:>8} {ph:>5} {d.max():>9.2e}  {np.round(E[bad][:6], 2).tolist()}  "
              f"{a.dos()[bad].mean():.3f} / {b.dos()[bad].mean():.3f}  {b.dos().min():.2f}")
    print(f"{agree} of 36 meshes and phases agree to 1e-8")
    print("\n2. meshes a user would solve on: P1 x 20, 50, 100 and P3 x 4, 8, 16; phases 0.5-3.1; reservoir gaps 3, 10")
    worst, count = 0.0, 0
    for (order, ne), ph, gap in itertools.product(((1, 20), (1, 50), (1, 100), (3, 4), (3, 8), (3, 16)),
                                                  (0.5, 1.5, 2.5, 2.8, 3.0, 3.1), (3.0, 10.0)):
        d, _, _ = differ(order, ne, ph, gap)
        worst, count = max(worst, d.max()), count + int(d.max() <= 1e-8)
    print(f"{count} of 72 agree to 1e-8; largest difference {worst:.1e}")


if __name__ == "__main__":
    main()
