"""Speed of the kinetic solve against the spectral solve it follows (issue: kinetic).

    python benchmarks/kinetic_speed.py

1D: the spectral benchmark's SNS junction (L = D = 1, Delta = 100, phase pi/2,
200 elements, 200 energies), reservoirs at T = 1 with a bias mu = +-0.5.
2D: a smaller strip (100 x 12 cells, ~1.3k nodes, 40 energies) so that the
spectral reference finishes in a benchmark run; prints both times and their ratio.
The grids (0..10) are for timing only: they stop far below the reservoir gaps, so
the current is printed with the integral's grid check off (rtol=None) and is not
a converged number (with the check on, current() says which range is missing).
"""

import time

import numpy as np

import usadel


def run(dev, E, label):
    t = time.perf_counter()
    sp = usadel.spectral(dev, E, eta=1e-6)
    ts = time.perf_counter() - t
    t = time.perf_counter()
    k = usadel.kinetic(sp)
    tk = time.perf_counter() - t
    I = k.current("left", rtol=None)  # timing grid: see the module docstring
    print(f"{label:>4} {dev.operators.n:7d} {E.size:6d} {ts:10.3f} {tk:10.3f} {tk / ts:8.2f} {I:12.6f}")


def main():
    print(f"{'':>4} {'nodes':>7} {'n_E':>6} {'spectral':>10} {'kinetic':>10} {'ratio':>8} {'I unchecked':>12}")
    res = lambda ph, mu: usadel.Reservoir(delta=100.0, phase=ph, T=1.0, mu=mu)
    m = usadel.meshes.interval(1.0, 200)
    dev = usadel.Device(m, {"wire": usadel.Material()}, {"left": res(-np.pi / 4, 0.5), "right": res(np.pi / 4, -0.5)})
    run(dev, np.linspace(0, 10, 200), "1D")
    m = usadel.meshes.strip(1.0, 0.12, 100, 12)
    dev = usadel.Device(m, {"wire": usadel.Material()}, {"left": res(-np.pi / 4, 0.5), "right": res(np.pi / 4, -0.5)})
    run(dev, np.linspace(0, 10, 40), "2D")


if __name__ == "__main__":
    main()
