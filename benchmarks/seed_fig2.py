"""The seed's Fig. 2 from the full FEM pipeline and the closed forms, readings (a) and (b).

    python benchmarks/seed_fig2.py [--n 1000] [--n-energies 1200] [--convergence]

Seed parameters: R_sf^S = R_I in the normal state, L/l_sf = 6 and 7,
eV = 0.1, 3, 10 Delta(T=0), Delta(T) = 1.76 Tc tanh(1.74 sqrt(Tc/T - 1)) (uniform
BCS gap in the FEM, spin-flip pair breaking negligible). (a): the seed's
-P_D Int hTS against Eq. 11 (difference in units of the normal-state signal;
issue criterion 1e-2); (b): a polarised tunnel probe at zero current against the
same probe fed with the BCS-limit hTS of Eq. 11 (relative difference).
``--convergence`` adds the largest differences for a sequence of resolutions
at three temperatures. Writes out/seed_fig2.png.

First prints the accuracy of the seed's T = 0 erf formula (R_I << R_sf^S) as
printed (a = L/2l_sf) and with a = L/l_sf against the exact Eq. 11 integral
(``--erf-only`` stops there); docs/derivations.md explains the difference.
"""

import argparse
import pathlib
import time

import numpy as np

from usadel import bcs
from usadel.seed import fig2, fig2_table, format_fig2, plot_fig2


def erf_table():
    """The seed's T = 0 erf formula against the exact Eq. 11 (Delta = 1, l_sf = 1, R_I -> 0)."""
    lines = ["The seed's T = 0 erf formula vs the exact Eq. 11 integral (R_I << R_sf, P = 1)",
             f"{'L/l_sf':>6} {'eV/Delta':>8} {'Eq. 11 / Delta':>14} {'printed a=L/2l':>15} {'a = L/l':>10}"]
    for L in (6.0, 7.0):
        for V in (2.5, 3.0, 5.0, 10.0, 30.0, 100.0):
            exact = bcs.seed_eq11(0.0, 1.0, V, L, 1.0, R_I=1e-9, R_sf=1.0)
            printed = bcs.seed_erf_formula(1.0, V, L, 1.0) / exact - 1
            fixed = bcs.seed_erf_formula(1.0, V, L, 1.0, a=L) / exact - 1
            lines.append(f"{L:6.0f} {V:8.1f} {exact:14.4e} {printed:+15.2e} {fixed:+10.2e}")
    lines.append("(relative errors of the closed form; the expansion 1/l_S = (1 + Delta^2/E^2)/l_sf behind it "
                 "holds only for eV >> 2 Delta)")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-energies", type=int, default=1200)
    ap.add_argument("--convergence", action="store_true")
    ap.add_argument("--out", default="out")
    ap.add_argument("--erf-only", action="store_true", help="print the erf-formula table and stop")
    a = ap.parse_args(argv)
    print(erf_table() + "\n")
    if a.erf_only:
        return
    t0 = time.perf_counter()
    res = fig2(n=a.n, n_E=a.n_energies)
    dt = time.perf_counter() - t0
    print(f"Fig. 2 of the seed: FEM (1D, {a.n} elements, {a.n_energies} energies) vs closed forms, {dt:.0f} s")
    print(format_fig2(res))
    out = pathlib.Path(a.out)
    out.mkdir(exist_ok=True)
    plot_fig2(res, out / "seed_fig2.png")
    print(f"wrote {out / 'seed_fig2.png'}")
    if a.convergence:
        print("\nconvergence at T/Tc = 0.3, 0.8, 1.05 (largest over the 6 curves)")
        print(f"{'elements':>9} {'energies':>9} {'(a) /normal':>12} {'(b) relative':>13} {'time':>6}")
        for n, nE in ((250, 300), (500, 600), (1000, 1200), (2000, 2400)):
            t0 = time.perf_counter()
            r = fig2((0.3, 0.8, 1.05), n=n, n_E=nE)
            rows = np.array([row[2:4] for row in fig2_table(r)])
            print(f"{n:9d} {nE:9d} {rows[:, 0].max():12.2e} {rows[:, 1].max():13.2e} "
                  f"{time.perf_counter() - t0:5.0f}s")


if __name__ == "__main__":
    main()
