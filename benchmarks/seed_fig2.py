"""The seed's Fig. 2: Delta mu(T)/Delta mu(T >= Tc) from Eq. 11 and from the full FEM pipeline.

    python benchmarks/seed_fig2.py [--n 1000] [--n-energies 300]

Seed parameters: R_sf^S = R_I in the normal state, L/l_sf = 6 and 7,
eV = 0.1, 3, 10 Delta(T=0), Delta(T) = 1.76 Tc tanh(1.74 sqrt(Tc/T - 1)) (uniform
BCS gap in the FEM, spin-flip pair breaking negligible). Reading (a) of
usadel.seed. Prints the largest difference per curve in units of the normal-state
signal and writes out/seed_fig2.png with both.
"""

import argparse
import pathlib
import time

import numpy as np

from usadel import bcs
from usadel.seed import seed_signal


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-energies", type=int, default=300)
    ap.add_argument("--out", default="out")
    a = ap.parse_args(argv)
    d0 = 1.76
    Ts = np.array([0.15, 0.3, 0.45, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.05])
    Ls = np.array([6.0, 7.0])
    rows = []
    curves = {}
    t0 = time.perf_counter()
    for k in (0.1, 3.0, 10.0):
        eV = k * d0
        normal = np.array([bcs.seed_eq11(1.1, 0.0, eV, L, 1.0, 1.0, 1.0) for L in Ls])
        fem = np.array([seed_signal(T, eV, Ls, n=a.n, n_E=a.n_energies)[0] for T in Ts])
        ref = np.array([[bcs.seed_eq11(T, float(bcs.seed_delta_T(T, 1.0)), eV, L, 1.0, 1.0, 1.0) for L in Ls] for T in Ts])
        for j, L in enumerate(Ls):
            diff = np.max(np.abs(fem[:, j] - ref[:, j])) / normal[j]
            rows.append((k, L, diff))
            curves[(k, L)] = (fem[:, j] / normal[j], ref[:, j] / normal[j])
    dt = time.perf_counter() - t0
    print(f"Fig. 2 of the seed: FEM (1D, {a.n} elements, {a.n_energies} energies) vs Eq. 11, {dt:.0f} s")
    print(f"{'eV/Delta(0)':>12} {'L/l_sf':>7} {'max |FEM - Eq.11| / normal':>28}")
    for k, L, diff in rows:
        print(f"{k:12.1f} {L:7.1f} {diff:28.2e}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for (k, L), (f, r) in curves.items():
        style = "-" if L == 7.0 else ":"
        line, = ax.plot(Ts, r, style, label=f"Eq. 11, eV = {k:g} D0, L/l = {L:g}")
        ax.plot(Ts, f, "o", color=line.get_color(), ms=4)
    ax.set_xlabel("T/Tc")
    ax.set_ylabel("Delta mu(T) / Delta mu(T >= Tc)")
    ax.set_title("seed Fig. 2: lines Eq. 11, dots FEM")
    ax.legend(fontsize=7)
    out = pathlib.Path(a.out)
    out.mkdir(exist_ok=True)
    fig.savefig(out / "seed_fig2.png", dpi=120, bbox_inches="tight")
    print(f"wrote {out / 'seed_fig2.png'}")


if __name__ == "__main__":
    main()
