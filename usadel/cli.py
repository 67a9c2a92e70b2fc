"""Command line: ``python -m usadel.cli`` runs the main job on the shipped default.

Default job: the density of states of a proximitised normal wire (SNS
junction, L = D = 1 so E_Th = 1, reservoirs with Delta = 20 E_Th). Prints the
minigap and a DOS table at the wire centre, and writes ``out/dos.png``.
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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="usadel", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--delta", type=float, default=20.0, help="reservoir gap in units of E_Th")
    ap.add_argument("--phase", type=float, default=0.0, help="phase difference between reservoirs")
    ap.add_argument("--n", type=int, default=200, help="number of elements")
    ap.add_argument("--out", default="out", help="output directory")
    a = ap.parse_args(argv)
    dos_job(a.delta, a.phase, a.n, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
