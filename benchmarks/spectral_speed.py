"""Speed and accuracy of the spectral solver (issue: foundation).

    python benchmarks/spectral_speed.py [--n2d-energies 6]

1D: long SNS junction, L = D = 1 (E_Th = 1), Delta = 100, phase pi/2, 200
elements. Prints the time for 200 energies (default eta-homotopy and the
"direct" method), the DOS error at the centre against a 1600-element
reference, and a 20-phase current-phase scan (Matsubara evaluation, T = 0.01
E_Th) with the I_c it finds. Reference points quoted in the issue for the
Fortran collocation code usadel1 on this machine: ~0.13 s and ~20 s.

2D: a ~20k-node strip (400 x 50 cells) with the same junction; the eta-homotopy's
time per energy, Newton linear solves, LU factorisations; the 200-energy total is
extrapolated from --n2d-energies energies (stated as such). The default energy sweep
on this strip (200 energies, 1 and 2 cores): benchmarks/sweep_2d.py.
"""

import argparse
import time

import numpy as np

import usadel
from usadel.observables import supercurrent


def sns(n, phase, delta=100.0):
    m = usadel.meshes.interval(1.0, n)
    return usadel.Device(m, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                          "right": usadel.Reservoir(delta=delta, phase=phase / 2)})


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n2d-energies", type=int, default=6)
    a = ap.parse_args(argv)
    E = np.linspace(0.0, 10.0, 200)
    dev = sns(200, np.pi / 2)
    ref = usadel.spectral(sns(1600, np.pi / 2), E, eta=1e-6).at([[0.5]])[:, 0]
    print("1D SNS, Delta = 100 E_Th, phase pi/2, 200 elements, 200 energies in [0, 10] E_Th")
    print(f"{'method':>10} {'time [s]':>10} {'max |N - N_ref|':>16}")
    for method in ("homotopy", "direct"):
        usadel.spectral(dev, E[:5], eta=1e-6, method=method)  # warm-up
        t = time.perf_counter()
        sp = usadel.spectral(dev, E, eta=1e-6, method=method)
        dt = time.perf_counter() - t
        err = np.max(np.abs(sp.at([[0.5]])[:, 0] - ref))
        print(f"{method:>10} {dt:10.3f} {err:16.2e}")
    print("  (N_ref: 1600 elements; the error is the O(h^2) mesh error of 200 elements)")

    phases = np.linspace(0, np.pi, 21)[1:]
    t = time.perf_counter()
    I = np.array([supercurrent(sns(200, ph), T=0.01) for ph in phases])
    dt = time.perf_counter() - t
    k = int(np.argmax(I))
    # parabola through the three points around the maximum
    c = np.polyfit(phases[k - 1:k + 2], I[k - 1:k + 2], 2)
    ic_grid = -c[1] ** 2 / (4 * c[0]) + c[2]
    from scipy.optimize import minimize_scalar

    r = minimize_scalar(lambda ph: -supercurrent(sns(200, ph), T=0.01), bounds=(phases[k - 1], phases[k + 1]),
                        method="bounded", options={"xatol": 1e-5})
    print(f"\n20-phase current-phase scan (Matsubara, T = 0.01 E_Th): {dt:.2f} s")
    print(f"  e R_N I_c = {-r.fun:.6f} E_Th at phase {r.x:.4f} (parabolic estimate from the scan {ic_grid:.6f})")
    i400 = -minimize_scalar(lambda ph: -supercurrent(sns(400, ph), T=0.01), bounds=(r.x - 0.05, r.x + 0.05),
                            method="bounded", options={"xatol": 1e-5}).fun
    print(f"  mesh check: 400 elements give {i400:.6f}, relative change {abs(i400 + r.fun) / i400:.1e}")

    print("\n2D strip 1 x 0.25, 400 x 50 cells, same junction")
    m = usadel.meshes.strip(1.0, 0.25, 400, 50)
    d2 = usadel.Device(m, {"wire": usadel.Material()},
                       {"left": usadel.Reservoir(delta=100.0, phase=-np.pi / 4),
                        "right": usadel.Reservoir(delta=100.0, phase=np.pi / 4)})
    t = time.perf_counter()
    ops = d2.operators
    ops.solver(2, symmetric_pivoting=True)
    print(f"  nodes {ops.n}, operator setup {time.perf_counter() - t:.2f} s")
    E2 = np.linspace(0.0, 10.0, 200)[:: max(1, 200 // a.n2d_energies)][: a.n2d_energies]
    t = time.perf_counter()
    usadel.spectral(d2, E2, eta=1e-6, method="homotopy")
    dt = time.perf_counter() - t
    st = ops.solver(2, symmetric_pivoting=True).stats
    print(f"  eta-homotopy, {E2.size} energies in one batch: {dt:.1f} s = {dt / E2.size:.2f} s per energy; "
          f"{st['lu'] + st['gmres']} linear solves ({st['lu']} LU, {st['gmres']} LU-preconditioned GMRES)")
    print(f"  extrapolated to 200 energies by the homotopy: {200 * dt / E2.size:.0f} s on one core; the default "
          f"sweep: benchmarks/sweep_2d.py")


if __name__ == "__main__":
    main()
