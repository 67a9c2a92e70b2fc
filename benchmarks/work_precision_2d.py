"""Work-precision of the 2D solve: P1, P2 and P3 triangles on the SNS strip, DOS error at the centre against time.

    python benchmarks/work_precision_2d.py [--p1 32 64 128] [--p2 8 16 32 64] [--p3 8 16 32] [--energies 200]

The strip 1 x 0.25 between clean superconducting contacts on its short sides (reservoir gaps 100,
phases -+pi/4: the long SNS junction of issue 16 at phase pi/2, L = D = 1) on meshes of square cells
(n x n/4 cells, so y is resolved as finely as x; a mesh one or two cells wide would measure nothing
about 2D). The strip is translation invariant across its width, so its exact solution is the 1D
wire's: the reference is P4 on 64 elements (usadel.highorder; P4 on 32 and 64 elements differ by
2.4e-12). Error: the largest |N - N_ref| at the centre vertex over the energies (P3 needs 8 cells
along or more: with 4 x 1 cells no dof sits at the centre). Times: spectral() with the default
method (the sweep), BLAS on one thread, one process; min of --repeat runs; the cheapest row per
target error is chosen by cpu time (less disturbed than wall time by other jobs on the machine; the
load averages at start and end are printed). Writes benchmarks/results/work_precision_2d.txt.
"""

import argparse
import os
import pathlib
import time

import numpy as np

import usadel
from usadel.linsolve import threadpool_limits

PHASE = np.pi / 2


def contacts():
    return {"left": usadel.Reservoir(delta=100.0, phase=-PHASE / 2),
            "right": usadel.Reservoir(delta=100.0, phase=PHASE / 2)}


def reference(E):
    dev = usadel.Device(usadel.meshes.interval(1.0, 64), {"wire": usadel.Material()}, contacts(), order=4)
    sp = usadel.spectral(dev, E)
    return sp.dos()[:, np.argmin(np.abs(dev.topology.p[0] - 0.5))]


def run(n, order, E, ref, repeat):
    dev = usadel.Device(usadel.meshes.strip(1.0, 0.25, n, n // 4), {"wire": usadel.Material()}, contacts(), order=order)
    p = dev.topology.p
    i = np.argmin((p[0] - 0.5) ** 2 + (p[1] - 0.125) ** 2)
    best = (np.inf, np.inf)
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        sp = usadel.spectral(dev, E)
        best = min(best, (time.perf_counter() - t, time.process_time() - c))
    return dev.topology.n_nodes, float(np.max(np.abs(sp.dos()[:, i] - ref))), best


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--p1", type=int, nargs="*", default=[32, 64, 128])
    ap.add_argument("--p2", type=int, nargs="*", default=[8, 16, 32, 64])
    ap.add_argument("--p3", type=int, nargs="*", default=[8, 16, 32])
    ap.add_argument("--energies", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args(argv)
    E = np.linspace(0.0, 10.0, a.energies)
    load = os.getloadavg()[0]
    lines = [f"SNS strip 1 x 0.25, reservoir gaps 100, phase pi/2, {E.size} energies in [0, 10] E_Th; DOS error at the "
             f"centre against the 1D P4 wire (64 elements)",
             f"{'order':>5} {'cells':>9} {'nodes':>7} {'DOS error':>10} {'wall [s]':>9} {'cpu [s]':>8}"]
    print("\n".join(lines), flush=True)
    with threadpool_limits(limits=1, user_api="blas"):
        ref = reference(E)
        rows = []
        for order, ns in ((1, a.p1), (2, a.p2), (3, a.p3)):
            for n in ns:
                nodes, err, (wall, cpu) = run(n, order, E, ref, a.repeat)
                rows.append((order, n, nodes, err, cpu))
                lines.append(f"{order:5d} {f'{n} x {n // 4}':>9} {nodes:7d} {err:10.1e} {wall:9.2f} {cpu:8.2f}")
                print(lines[-1], flush=True)
    for target in (1e-3, 1e-4, 1e-5, 1e-6):
        ok = [r for r in rows if r[3] <= target]
        if ok:
            o, n, nodes, err, cpu = min(ok, key=lambda r: r[4])
            lines.append(f"cheapest at DOS error <= {target:.0e}: order {o}, {n} x {n // 4} cells ({nodes} nodes), "
                         f"{cpu:.2f} s cpu (error {err:.1e})")
        else:
            lines.append(f"DOS error <= {target:.0e}: not reached")
        print(lines[-1])
    lines.append(f"load average (1 min) at start {load:.1f}, at end {os.getloadavg()[0]:.1f}")
    print(lines[-1])
    out = pathlib.Path(__file__).parent / "results" / "work_precision_2d.txt"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
