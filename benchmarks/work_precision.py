"""Work-precision of the spectral solve by element order (issue 16), against usadel1's figures.

Long SNS junction: L = D = 1, reservoir gaps 100 (clean contacts, phase 0), 200 energies in
[0, 10], eta = 1e-6; the error is the max over the energies of |DOS(x = 1/2) - reference|, the
reference being P3 on ``REF_ELEMENTS`` elements computed here (its own error is estimated by
comparing with P3 on 3/4 as many elements). Times are minima over ``RUNS`` runs of building the
device and calling ``usadel.spectral`` (wall clock and process cpu time; the first, compiling, run of
the numba kernels happens before, in the reference solve; with BLAS pinned to one
thread they agree on a quiet machine, and cpu time is the one to trust when others share it). usadel1's times are
issue 16's (measured side by side on this machine: Virtanen's COLNEW/TWPBVP collocation code).

Each mesh is timed with both Newton strategies (``METHODS``).
Run: ``python benchmarks/work_precision.py`` (about one minute); the output is kept in
``benchmarks/results/work_precision.txt``.
"""

import os
import time

import numpy as np

import usadel
from usadel.linsolve import threadpool_limits

E = np.linspace(0.0, 10.0, 200)
RUNS = 7  #: runs per case (min taken): at a few ms a run moves by ~10% with the machine's load
REF_ELEMENTS = 128
MESHES = {1: (25, 50, 100, 200, 400, 800, 1600), 2: (8, 12, 16, 24, 32, 48, 64), 3: (4, 6, 8, 10, 12, 16, 18, 20, 24, 32),
          4: (4, 6, 7, 8, 10, 12, 16)}
#: issue 16's usadel1 times for 200 energies at each DOS error (s, min - max of its runs)
USADEL1 = {1e-3: (0.08, 0.09), 1e-4: (0.08, 0.10), 1e-5: (0.09, 0.11), 1e-6: (0.09, 0.13)}


def device(n, order):
    m = usadel.meshes.interval(1.0, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                         contacts={"left": usadel.Reservoir(delta=100.0), "right": usadel.Reservoir(delta=100.0)},
                         order=order)


METHODS = ("homotopy", "sweep")  #: the eta-homotopy at every energy, or continuation along E (usadel.sweep)


def dos_mid(n, order, method="homotopy"):
    sp = usadel.spectral(device(n, order), E, eta=1e-6, method=method)
    return sp.dos()[:, np.argmin(np.abs(sp.x[:, 0] - 0.5))]


def timed(n, order, method):
    """(wall min, cpu min, DOS) over ``RUNS`` runs; cpu time is the robust figure on a shared machine."""
    wall, cpu, out = np.inf, np.inf, None
    for _ in range(RUNS):
        t, c = time.perf_counter(), time.process_time()
        out = dos_mid(n, order, method)
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
    return wall, cpu, out


def numpy_cpu(n, order, method):
    """cpu time (min of ``RUNS``) of the same solve on the numpy path (``usadel.kernels`` switched off)."""
    from usadel import kernels

    on, kernels.AVAILABLE = kernels.AVAILABLE, False
    try:
        return timed(n, order, method)[1]
    finally:
        kernels.AVAILABLE = on


def main():
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))
    with threadpool_limits(limits=1, user_api="blas"):
        ref = dos_mid(REF_ELEMENTS, 3)
        ref_err = np.max(np.abs(dos_mid(REF_ELEMENTS * 3 // 4, 3) - ref))
        say("Work-precision, long SNS junction (L = D = 1, reservoir gaps 100, phase 0), 200 energies in [0, 10],")
        say(f"max |DOS(1/2) - reference|; reference P3 x {REF_ELEMENTS} elements (P3 x {REF_ELEMENTS * 3 // 4} "
            f"differs by {ref_err:.1e}); min of {RUNS} runs, BLAS on one thread; load average at start "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        say()
        say(f"{'order':>5} {'elements':>8} {'unknowns':>8} {'method':>9} {'wall [s]':>9} {'cpu [s]':>8} "
            f"{'max error':>10}")
        rows = []
        for order, ns in MESHES.items():
            for n in ns:
                for method in METHODS:
                    wall, cpu, d = timed(n, order, method)
                    err = float(np.max(np.abs(d - ref)))
                    rows.append((order, n, wall, cpu, err, method))
                    say(f"{order:>5} {n:>8} {n * order + 1:>8} {method:>9} {wall:>9.4f} {cpu:>8.4f} {err:>10.2e}")
        say()
        say("unknowns: per Riccati component (n p + 1). Fastest run (by cpu time) reaching each error; usadel1")
        say("from issue 16 (wall, measured on a quiet machine); ratio = usadel time / usadel1 time (below 1:")
        say("usadel faster; the issue's goal is 0.1); numpy: the same run without the compiled kernels (cpu).")
        say(f"{'DOS error':>9}  {'usadel: wall / cpu [s]':<36} {'numpy [s]':>9} {'P1 alone (cpu)':<20} "
            f"{'usadel1 [s]':>11} {'ratio (wall)':>12} {'ratio (cpu)':>11}")
        for level, (lo, hi) in USADEL1.items():
            ok = [r for r in rows if r[4] <= level]
            best = min(ok, key=lambda r: r[3]) if ok else None
            b1 = min((r for r in ok if r[0] == 1), key=lambda r: r[3], default=None)
            txt = f"P{best[0]} x {best[1]} {best[5]}: {best[2]:.4f} / {best[3]:.4f}" if best else "not reached"
            txt1 = f"P1 x {b1[1]}: {b1[3]:.4f} s" if b1 else "not reached"
            rw = f"{best[2] / hi:.3f}-{best[2] / lo:.3f}x" if best else "-"
            rc = f"{best[3] / hi:.3f}-{best[3] / lo:.3f}x" if best else "-"
            npy = f"{numpy_cpu(best[1], best[0], best[5]):.4f}" if best and best[0] > 1 else "-"
            say(f"{level:>9.0e}  {txt:<36} {npy:>9} {txt1:<20} {f'{lo:.2f}-{hi:.2f}':>11} {rw:>12} {rc:>11}")
        say(f"load average at the end {os.getloadavg()[0]:.1f}")
    return lines


if __name__ == "__main__":
    import pathlib

    out = main()
    path = pathlib.Path(__file__).parent / "results" / "work_precision.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(out) + "\n")
