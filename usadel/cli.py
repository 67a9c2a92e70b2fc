"""Command line: ``python -m usadel.cli`` runs the main job on the shipped default.

Default job (``--job fig2``): the seed's spin-injection device and its Fig. 2,
Delta mu(T)/Delta mu(T >= Tc) for eV = 0.1, 3, 10 Delta(0) and L/l_sf = 6, 7,
from the full FEM pipeline (1D device, uniform BCS gap) and from the closed
forms, for both detector readings: (a) the seed's -P_D Int hTS (Eq. 11) and
(b) a polarised tunnel probe at zero current. Prints the largest FEM-closed form
difference per curve and writes ``out/seed_fig2.png`` and ``out/seed_fig2.txt``
(about 2 minutes on 2 cores).

``--job dos``: the density of states of a proximitised normal wire (SNS
junction, L = D = 1 so E_Th = 1, reservoirs with Delta = 20 E_Th); prints the
minigap and a DOS table at the wire centre, writes ``out/dos.png``.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

__all__ = ["main"]


def dos_job(delta=20.0, phase=0.0, n=200, out="out"):
    import usadel
    from usadel.observables import energy_grid, minigap

    mesh = usadel.meshes.interval(1.0, n)
    dev = usadel.Device(mesh, materials={"wire": usadel.Material(D=1.0)},
                        contacts={"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                                  "right": usadel.Reservoir(delta=delta, phase=phase / 2)})
    E = energy_grid(delta, e_th=1.0, e_max=2 * delta, n=300)
    t0 = time.perf_counter()
    sp = usadel.spectral(dev, E, eta=1e-6)
    t1 = time.perf_counter()
    eg = minigap(dev, [0.5], tol=1e-4)
    print(f"SNS junction: L = 1, D = 1 (E_Th = 1), Delta = {delta:g}, phase = {phase:g}, {n} elements")
    print(f"spectral solve: {E.size} energies in {t1 - t0:.2f} s")
    print(f"minigap at the centre: E_g = {eg:.4f} E_Th  (Delta -> inf limit: 3.122, Zhou et al. 1998)")
    print(f"{'E/E_Th':>10} {'N(L/2,E)':>12}")
    Nc = sp.at([[0.5]])[:, 0]
    rows = sorted({int(np.argmin(np.abs(E - e))) for e in (0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 6.0, 10.0, 0.5 * delta, 1.2 * delta)})
    for k in rows:
        print(f"{E[k]:10.4f} {Nc[k]:12.6f}")
    outdir = pathlib.Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    fig = sp.plot_dos()
    fig.axes[0].set_ylim(0, min(2 * delta, 30))
    fig.savefig(outdir / "dos.png", dpi=120, bbox_inches="tight")
    print(f"wrote {outdir / 'dos.png'}")
    return sp


def fig2_job(n=500, n_E=600, out="out"):
    from usadel.seed import fig2, format_fig2, plot_fig2

    t0 = time.perf_counter()
    print(f"seed Fig. 2 (Morten, Brataas, Belzig 2004): 1D device, {n} elements, {n_E} energies, "
          f"11 temperatures x 3 biases x 2 detector positions")
    res = fig2(n=n, n_E=n_E, log=print)
    table = format_fig2(res)
    dt = time.perf_counter() - t0
    outdir = pathlib.Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    head = (f"FEM vs closed forms, {n} elements, {n_E} energies, {dt:.0f} s\n"
            "(a): the seed's reading -P_D Int hTS vs Eq. 11, in units of the normal-state signal (issue: < 1e-2)\n"
            "(b): polarised tunnel probe at zero current vs the same with the BCS-limit hTS "
            "(bcs.seed_probe_eq11), relative\n")
    print(head + table)
    (outdir / "seed_fig2.txt").write_text(head + table + "\n")
    plot_fig2(res, outdir / "seed_fig2.png")
    print(f"wrote {outdir / 'seed_fig2.png'} and {outdir / 'seed_fig2.txt'}")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(prog="usadel", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", choices=["fig2", "dos"], default="fig2", help="which job (default: the seed's Fig. 2)")
    ap.add_argument("--delta", type=float, default=20.0, help="dos job: reservoir gap in units of E_Th")
    ap.add_argument("--phase", type=float, default=0.0, help="dos job: phase difference between reservoirs")
    ap.add_argument("--n", type=int, default=None, help="number of elements (default 500 for fig2, 200 for dos)")
    ap.add_argument("--n-energies", type=int, default=600, help="fig2 job: number of energies")
    ap.add_argument("--out", default="out", help="output directory")
    a = ap.parse_args(argv)
    if a.job == "fig2":
        fig2_job(a.n or 500, a.n_energies, a.out)
    else:
        dos_job(a.delta, a.phase, a.n or 200, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
