"""2D energy sweeps (issue 16, "2D"): the 20k-node strip in seconds, the mesh to use, the cross device.

    python benchmarks/sweep_2d.py [--nx 400 --ny 50 --n-energies 200 --check 10] [--skip-meshes] [--skip-cross]

1. Long SNS junction (L = D = 1, E_Th = 1, reservoir gaps 100, phase pi/2) on the strip 1 x 0.25,
   nx x ny P1 cells (400 x 50: 20451 nodes), 200 energies in [0, 10] E_Th, ``spectral(method="sweep")``:
   serially (wall and cpu time, Newton steps per energy, LU factorisations, GMRES solves and
   iterations, memory of the LUs kept) and over a process pool of 2 workers (two contiguous blocks
   of energies of equal estimated cost, each a sweep: ``usadel.chunking.sweep_blocks``). The DOS of --check energies (evenly spread) is compared
   with the eta-homotopy's (``method="homotopy"``) at every node: max |N_sweep - N_homotopy|.
2. Mesh for a DOS error <= 1e-3 at the centre (x = 1/2) with square cells (y resolved as finely as x):
   P1 strips of nx x nx/4 cells (and the 400 x 50 one) against the converged 1D value (P1, 6400 elements, extrapolated from
   3200 by Richardson: the strip is translation invariant, so its exact DOS is the 1D one). P1 only
   here; P2 triangles (``order=2``) reach 1e-3 on 16 x 4 cells: ``benchmarks/work_precision_2d.py``.
3. The shipped cross-shaped device ``meshes/cross_spin_valve.msh`` (628 nodes: S channel of gap 1
   between S reservoirs at phases -+0.5, two N arms ending in tunnel contacts to N reservoirs) at 225
   energies of ``energy_grid`` (graded at the gap edge and the arm's potential; the issue's goal: 223
   energies under 5 s). Its numbering has a small bandwidth, so it takes the batched banded path.

BLAS on one thread. Output: benchmarks/results/sweep_2d.txt.
"""

import argparse
import os
import pathlib
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import usadel
from usadel.linsolve import BlockSolver, threadpool_limits

COUNT = [0]
_solve = BlockSolver.solve
OUT = []


def counting_solve(self, data, rhs):
    """BlockSolver.solve that counts solved systems (one per energy and Newton step)."""
    COUNT[0] += rhs.shape[0]
    return _solve(self, data, rhs)


def say(line=""):
    print(line, flush=True)
    OUT.append(line)


def strip_sns(nx, ny, phase=np.pi / 2, delta=100.0):
    return usadel.Device(usadel.meshes.strip(1.0, 0.25, nx, ny), {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                          "right": usadel.Reservoir(delta=delta, phase=phase / 2)})


def serial(dev, E, **kw):
    """(result, wall s, cpu s, Newton steps per energy, solver stats, solver memory) of one sweep."""
    solver = dev.operators.solver(2, symmetric_pivoting=True)
    solver.stats.update(lu=0, gmres=0, gmres_iterations=0, lu_bytes_peak=0)
    BlockSolver.solve = counting_solve
    COUNT[0] = 0
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            t, c = time.perf_counter(), time.process_time()
            sp = usadel.spectral(dev, E, **kw)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
    finally:
        BlockSolver.solve = _solve
    return sp, wall, cpu, COUNT[0] / E.size, dict(solver.stats), solver.memory()


def block_cpu(dev, E):
    """cpu seconds of one block's sweep in this (worker) process."""
    with threadpool_limits(limits=1, user_api="blas"):
        c = time.process_time()
        usadel.spectral(dev, E)
        return time.process_time() - c


def strip_benchmark(a):
    dev = strip_sns(a.nx, a.ny)
    E = np.linspace(0.0, 10.0, a.n_energies)
    n = dev.operators.n
    say(f"1. strip 1 x 0.25, {a.nx} x {a.ny} P1 cells ({n} nodes), SNS phase pi/2, reservoir gaps 100, "
        f"{E.size} energies in [0, 10] E_Th, method sweep")
    sp, wall, cpu, newton, st, mem = serial(dev, E)
    say(f"  1 core : {wall:6.1f} s wall, {cpu:6.1f} s cpu; {newton:.2f} Newton steps per energy; {st['lu']} LUs, "
        f"{st['gmres']} GMRES solves ({st['gmres_iterations'] / max(st['gmres'], 1):.1f} iterations each)")
    say(f"           memory: LU factors kept at most {mem['lu_bytes_peak'] / 2**20:.0f} MB (budget "
        f"{mem['budget'] / 2**20:.0f} MB; one LU {mem['lu_bytes'] / max(mem['slots'], 1) / 2**20:.0f} MB, "
        f"{mem['lu_nnz'] // max(mem['slots'], 1)} entries), solutions {2 * E.size * n * 16 / 2**20:.0f} MB")
    b = usadel.chunking.sweep_blocks(E, 2, dev.operators.thouless_energy)  # spectral's default blocks
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(abs, range(2)))  # workers up before the clock starts
        t = time.perf_counter()
        sp2 = usadel.spectral(dev, E, executor=ex, workers=2)  # default chunks: one contiguous block per worker
        wall2 = time.perf_counter() - t
        cpus = list(ex.map(block_cpu, [dev, dev], [E[b[1]:], E[:b[1]]]))
    say(f"  2 cores: {wall2:6.1f} s wall (process pool, 2 blocks of {b[1]} and {b[2] - b[1]} energies, [0, "
        f"{E[b[1] - 1]:.2f}] and [{E[b[1]]:.2f}, 10], each a sweep); "
        f"max |N_2 cores - N_1 core| {np.max(np.abs(sp2.dos() - sp.dos())):.1e}")
    say(f"           cpu per block (each a process, both at once): {cpus[1]:.1f} s and {cpus[0]:.1f} s (the wall "
        f"time of an otherwise idle 2-core machine is about the larger)")
    pick = np.unique(np.round(np.linspace(0, E.size - 1, a.check)).astype(int))
    t, c = time.perf_counter(), time.process_time()
    with threadpool_limits(limits=1, user_api="blas"):
        ref = usadel.spectral(dev, E[pick], method="homotopy")
    say(f"  homotopy at {pick.size} of the energies: {(time.process_time() - c) / pick.size:.1f} s cpu per energy; "
        f"max |N_sweep - N_homotopy| {np.max(np.abs(sp.dos()[pick] - ref.dos())):.1e}, "
        f"max |gamma_sweep - gamma_homotopy| {np.max(np.abs(sp.gamma[pick] - ref.gamma)):.1e}")


def mesh_benchmark():
    say("\n2. DOS error at the centre (x = 1/2, y = 1/8) against the converged 1D value, square P1 cells, "
        "100 energies in [0, 10] E_Th, phase pi/2")
    E = np.linspace(0.0, 10.0, 100)

    def centre(n):
        d = usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material()},
                          {"left": usadel.Reservoir(delta=100.0, phase=-np.pi / 4),
                           "right": usadel.Reservoir(delta=100.0, phase=np.pi / 4)})
        return usadel.spectral(d, E).at([[0.5]])[:, 0]

    n3200, n6400 = centre(3200), centre(6400)
    exact = n6400 + (n6400 - n3200) / 3  # O(h^2)
    say(f"  reference: 1D P1 Richardson 3200/6400 elements (their difference {np.max(np.abs(n6400 - n3200)):.1e})")
    say(f"  {'cells':>9} {'nodes':>6} {'max |N - N_ref|':>16} {'sweep cpu s':>12}")
    best = None
    for nx, ny in ((80, 20), (160, 40), (240, 60), (280, 70), (300, 75), (400, 50)):
        dev = strip_sns(nx, ny)
        sp, wall, cpu, *_ = serial(dev, E)
        err = np.max(np.abs(sp.at([[0.5, 0.125]])[:, 0] - exact))
        say(f"  {nx:>4} x {ny:<3} {dev.operators.n:6d} {err:16.2e} {cpu:12.2f}")
        if err <= 1e-3 and nx == 4 * ny and best is None:
            best = (nx, ny, dev.operators.n)
    say(f"  P1 mesh for <= 1e-3 with square cells: {best[0]} x {best[1]} cells ({best[2]} nodes), h = "
        f"1/{best[0]}" if best else "  no square-cell mesh above reached 1e-3")


def cross_benchmark():
    m = usadel.meshes.load(pathlib.Path(__file__).resolve().parents[1] / "meshes" / "cross_spin_valve.msh")
    b = usadel.Barrier(r=0.5)
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "arm_inj": usadel.Material(), "arm_det": usadel.Material()},
                        {"left": usadel.Reservoir(delta=1.0, phase=-0.5, T=0.1),
                         "right": usadel.Reservoir(delta=1.0, phase=0.5, T=0.1),
                         "inj": usadel.Reservoir(T=0.1, mu=0.3, barrier=b), "det": usadel.Reservoir(T=0.1, barrier=b)})
    E = usadel.observables.energy_grid(1.0, T=0.1, e_max=6.0, mu=[0.3], n=207)
    say(f"\n3. cross_spin_valve.msh ({dev.operators.n} nodes), S channel gap 1, phases -+0.5, {E.size} energies "
        f"in [0, {E.max():g}]")
    usadel.spectral(dev, E[:3], delta={"S": 1.0})  # warm-up (imports)
    sp, wall, cpu, newton, st, mem = serial(dev, E, delta={"S": 1.0})
    say(f"  sweep: {wall:.2f} s wall, {cpu:.2f} s cpu; {newton:.2f} Newton steps per energy; {st['lu']} LUs, "
        f"{st['gmres']} GMRES solves; LU memory at most {mem['lu_bytes_peak'] / 2**20:.1f} MB")
    ref, wall_h, *_ = serial(dev, E, delta={"S": 1.0}, method="homotopy")
    say(f"  homotopy: {wall_h:.2f} s wall; max |N_sweep - N_homotopy| {np.max(np.abs(sp.dos() - ref.dos())):.1e}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--nx", type=int, default=400)
    ap.add_argument("--ny", type=int, default=50)
    ap.add_argument("--n-energies", type=int, default=200)
    ap.add_argument("--check", type=int, default=10, help="energies compared with the homotopy")
    ap.add_argument("--skip-meshes", action="store_true")
    ap.add_argument("--skip-cross", action="store_true")
    ap.add_argument("--skip-strip", action="store_true")
    a = ap.parse_args(argv)
    say(f"(load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: other processes share them, "
        f"so cpu times are the steadier figures)")
    if not a.skip_strip:
        strip_benchmark(a)
    if not a.skip_meshes:
        mesh_benchmark()
    if not a.skip_cross:
        cross_benchmark()
    out = pathlib.Path(__file__).parent / "results" / "sweep_2d.txt"
    out.write_text("\n".join(OUT) + "\n")


if __name__ == "__main__":
    main()
