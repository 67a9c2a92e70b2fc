"""Energy continuation ("sweep") against the eta-homotopy (issue 16).

    python benchmarks/spectral_sweep.py [--repeat 3] [--nx 100 --ny 25 --n2d-energies 100]

1D: long SNS junction, L = D = 1 (E_Th = 1), reservoir gaps 100, phases 0 and pi/2,
200 P1 elements, 200 energies in [0, 10] E_Th. 2D: the same junction on a strip
1 x 0.25 (nx x ny cells, sparse LU path), phase pi/2. For each method: wall time
(min of --repeat runs in 1D, one run in 2D), Newton iterations per energy (linear
solves, i.e. Newton steps, summed over the energies and divided by their number;
the homotopy's intermediate stages included), in 2D LU factorisations and GMRES
solves; then the ratio homotopy/sweep and the largest difference between the two
(gamma, gamma~ and DOS over all nodes and energies). BLAS on one thread.
"""

import argparse
import time

import numpy as np

import usadel
from usadel.linsolve import BlockSolver, threadpool_limits

COUNT = [0]
_solve = BlockSolver.solve


def counting_solve(self, data, rhs):
    """BlockSolver.solve that counts solved systems (one per energy and Newton step)."""
    COUNT[0] += rhs.shape[0]
    return _solve(self, data, rhs)


BlockSolver.solve = counting_solve


def sns(mesh, phase, delta=100.0):
    return usadel.Device(mesh, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                          "right": usadel.Reservoir(delta=delta, phase=phase / 2)})


def run(dev, E, method, repeat):
    """(best wall time, Newton iterations per energy, LU count, GMRES count, result)."""
    solver = dev.operators.solver(2, symmetric_pivoting=True)
    best = np.inf
    for _ in range(repeat):
        COUNT[0] = 0
        solver.stats.update(lu=0, gmres=0)
        with threadpool_limits(limits=1, user_api="blas"):
            t = time.perf_counter()
            sp = usadel.spectral(dev, E, method=method)
            best = min(best, time.perf_counter() - t)
    return best, COUNT[0] / E.size, solver.stats["lu"], solver.stats["gmres"], sp


def compare(title, dev, E, repeat, sparse=False):
    print(title)
    head = f"{'method':>10} {'time [s]':>10} {'Newton/energy':>14}" + (f" {'LUs':>6} {'GMRES':>6}" if sparse else "")
    print(head)
    out = {}
    for method in ("homotopy", "sweep"):
        dt, it, lu, gm, sp = run(dev, E, method, repeat)
        out[method] = (dt, sp)
        print(f"{method:>10} {dt:10.3f} {it:14.2f}" + (f" {lu:6d} {gm:6d}" if sparse else ""))
    (th, a), (ts, b) = out["homotopy"], out["sweep"]
    dg = max(np.max(np.abs(a.gamma - b.gamma)), np.max(np.abs(a.gamma_t - b.gamma_t)))
    print(f"  homotopy/sweep time ratio {th / ts:.1f}; max |gamma_sweep - gamma_homotopy| {dg:.1e}, "
          f"max |N_sweep - N_homotopy| {np.max(np.abs(a.dos() - b.dos())):.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--nx", type=int, default=100)
    ap.add_argument("--ny", type=int, default=25)
    ap.add_argument("--n2d-energies", type=int, default=100)
    a = ap.parse_args(argv)
    E = np.linspace(0.0, 10.0, 200)
    usadel.spectral(sns(usadel.meshes.interval(1.0, 20), 0.0), E[:5])  # warm-up
    for label, phase in (("0", 0.0), ("pi/2", np.pi / 2)):
        compare(f"1D SNS, reservoir gaps 100 E_Th, phase {label}, 200 elements, 200 energies in [0, 10] E_Th",
                sns(usadel.meshes.interval(1.0, 200), phase), E, a.repeat)
    mesh = usadel.meshes.strip(1.0, 0.25, a.nx, a.ny)
    dev = sns(mesh, np.pi / 2)
    E2 = np.linspace(0.0, 10.0, a.n2d_energies)
    compare(f"2D strip 1 x 0.25, {a.nx} x {a.ny} cells ({dev.operators.n} nodes, sparse LU: "
            f"{not dev.operators.solver(2, True).banded}), phase pi/2, {E2.size} energies in [0, 10] E_Th",
            dev, E2, 1, sparse=True)


if __name__ == "__main__":
    main()
