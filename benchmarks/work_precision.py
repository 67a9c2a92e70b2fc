"""Work-precision of the spectral solve by element order (issue 16), against usadel1's figures.

Long SNS junction: L = D = 1, reservoir gaps 100 (clean contacts, phase 0), 200 energies in
[0, 10], eta = 1e-6; the error is the max over the energies of |DOS(x = 1/2) - reference|, the
reference being P3 on ``REF_ELEMENTS`` elements computed here (its own error is estimated by
comparing with P3 on 3/4 as many elements). Times are wall-clock minima of ``RUNS`` runs of
building the device and calling ``usadel.spectral``, BLAS pinned to one thread. usadel1's times are
issue 16's (measured side by side on this machine: Virtanen's COLNEW/TWPBVP collocation code).

Run: ``python benchmarks/work_precision.py`` (about a minute); the output is kept in
``benchmarks/results/work_precision.txt``.
"""

import time

import numpy as np

import usadel
from usadel.linsolve import threadpool_limits

E = np.linspace(0.0, 10.0, 200)
RUNS = 3
REF_ELEMENTS = 128
MESHES = {1: (25, 50, 100, 200, 400, 800, 1600), 2: (8, 16, 32, 64, 128), 3: (4, 6, 8, 12, 16, 24, 32, 48)}
#: issue 16's usadel1 times for 200 energies at each DOS error (s, min - max of its runs)
USADEL1 = {1e-3: (0.08, 0.09), 1e-4: (0.08, 0.10), 1e-5: (0.09, 0.11), 1e-6: (0.09, 0.13)}


def device(n, order):
    m = usadel.meshes.interval(1.0, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                         contacts={"left": usadel.Reservoir(delta=100.0), "right": usadel.Reservoir(delta=100.0)},
                         order=order)


def dos_mid(n, order):
    sp = usadel.spectral(device(n, order), E, eta=1e-6)
    return sp.dos()[:, np.argmin(np.abs(sp.x[:, 0] - 0.5))]


def timed(n, order):
    best, out = np.inf, None
    for _ in range(RUNS):
        t = time.perf_counter()
        out = dos_mid(n, order)
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))
    with threadpool_limits(limits=1, user_api="blas"):
        ref = dos_mid(REF_ELEMENTS, 3)
        ref_err = np.max(np.abs(dos_mid(REF_ELEMENTS * 3 // 4, 3) - ref))
        say("Work-precision, long SNS junction (L = D = 1, reservoir gaps 100, phase 0), 200 energies in [0, 10],")
        say(f"max |DOS(1/2) - reference|; reference P3 x {REF_ELEMENTS} elements (P3 x {REF_ELEMENTS * 3 // 4} "
            f"differs by {ref_err:.1e}); wall min of {RUNS} runs, BLAS on one thread")
        say()
        say(f"{'order':>5} {'elements':>8} {'unknowns':>8} {'time [s]':>9} {'max error':>10}")
        rows = []
        for order, ns in MESHES.items():
            for n in ns:
                t, d = timed(n, order)
                err = float(np.max(np.abs(d - ref)))
                rows.append((order, n, n * order + 1, t, err))
                say(f"{order:>5} {n:>8} {n * order + 1:>8} {t:>9.3f} {err:>10.2e}")
        say()
        say("unknowns: per Riccati component (n p + 1). usadel1 from issue 16.")
        say(f"{'DOS error':>9}  {'fastest usadel reaching it':<30} {'P1 alone':<22} {'usadel1 [s]':>12} "
            f"{'usadel / usadel1':>17}")
        for level, (lo, hi) in USADEL1.items():
            ok = [r for r in rows if r[4] <= level]
            p1 = [r for r in ok if r[0] == 1]
            best = min(ok, key=lambda r: r[3]) if ok else None
            b1 = min(p1, key=lambda r: r[3]) if p1 else None
            txt = f"P{best[0]} x {best[1]}: {best[3]:.3f} s" if best else "not reached"
            txt1 = f"P1 x {b1[1]}: {b1[3]:.3f} s" if b1 else "not reached"
            ratio = f"{best[3] / hi:.1f}-{best[3] / lo:.1f}x" if best else "-"
            say(f"{level:>9.0e}  {txt:<30} {txt1:<22} {f'{lo:.2f}-{hi:.2f}':>12} {ratio:>17}")
    return lines


if __name__ == "__main__":
    import pathlib

    out = main()
    path = pathlib.Path(__file__).parent / "results" / "work_precision.txt"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(out) + "\n")
