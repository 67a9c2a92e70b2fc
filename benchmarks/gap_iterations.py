"""Outer iterations and time of the gap loop (issue: gap self-consistency).

    python benchmarks/gap_iterations.py

(a) uniform wire at T = 0.9 Tc0, (b) S/N wire (3 + 3, 100 + 100 elements) at
0.5 Tc0, (c) the shipped 2D SNS device (S banks with Tc0 = 1, N wire) at 0.5 Tc0,
(d) the nonequilibrium loop (usadel.solve) on a biased N-S-N wire.
Prints iterations, final residual, wall time and the share spent in spectral solves.
"""

import pathlib
import time

import numpy as np

import usadel
import usadel.matsubara
import usadel.nonequilibrium

HERE = pathlib.Path(__file__).parents[1]
#: the modules whose spectral solves are timed: Matsubara pair sums and the real-axis nonequilibrium map
SOLVING = (usadel.matsubara, usadel.nonequilibrium)


def timed(label, fn):
    spent = {"t": 0.0}
    orig = usadel.matsubara.spectral

    def counting(*a, **k):
        t = time.perf_counter()
        out = orig(*a, **k)
        spent["t"] += time.perf_counter() - t
        return out

    for mod in SOLVING:
        mod.spectral = counting
    try:
        t = time.perf_counter()
        r = fn()
        dt = time.perf_counter() - t
    finally:
        for mod in SOLVING:
            mod.spectral = orig
    print(f"{label:<34} {r.iterations:6d} {r.history[-1]:10.1e} {dt:8.2f} {spent['t'] / dt:9.0%}")
    return r


def main():
    print(f"{'case':<34} {'iters':>6} {'residual':>10} {'time[s]':>8} {'spectral':>9}")
    w = usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material(tc=1.0)})
    # the compiled kernels (numba) load from their disk cache at a process's first solve (~0.2 s): a warm-up
    # solve first, so that the times below are the loops'
    usadel.spectral(w, np.linspace(0.0, 2.0, 5), delta=1.0)
    timed("(a) uniform wire, T = 0.9 Tc0", lambda: usadel.gap(w, 0.9))
    m = usadel.meshes.wire([("S", 3.0, 100), ("N", 3.0, 100)])
    sn = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})
    timed("(b) S/N wire, T = 0.5 Tc0", lambda: usadel.gap(sn, 0.5))
    m2 = usadel.meshes.load(HERE / "meshes" / "sns_2d.msh")
    S = usadel.Material(tc=1.0)
    d2 = usadel.Device(m2, {"S_left": S, "S_right": S, "N": usadel.Material()})
    timed(f"(c) 2D SNS ({d2.operators.n} nodes), T = 0.5", lambda: usadel.gap(d2, 0.5))
    mn = usadel.meshes.wire([("N1", 0.5, 10), ("S", 3.0, 60), ("N2", 0.5, 10)])
    mats = {"N1": usadel.Material(), "S": usadel.Material(tc=1.0), "N2": usadel.Material()}
    dn = usadel.Device(mn, mats, {"left": usadel.Reservoir(T=0.2, mu=0.5), "right": usadel.Reservoir(T=0.2, mu=-0.5)})

    timed("(d) solve(): N-S-N, V = 1, T = 0.2", lambda: usadel.solve(dn, 0.2))


if __name__ == "__main__":
    main()
