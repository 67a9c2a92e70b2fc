import contextlib
import signal

import numpy as np
import pytest
from scipy.optimize import brentq

import usadel


def sns_device(delta=100.0, phase=0.0, n=200, length=1.0):
    """Long SNS junction: normal wire (D = 1, sigma = 1) between clean BCS reservoirs."""
    m = usadel.meshes.interval(length, n)
    return usadel.Device(
        m,
        materials={"wire": usadel.Material(D=1.0)},
        contacts={"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                  "right": usadel.Reservoir(delta=delta, phase=phase / 2)},
    )


def gap_jacobian_check(dev, T=0.3, eps=1e-5):
    """The gap map's Newton-Krylov Jacobian-vector product at 0.9 x the initial gap against central
    differences of the map, along a random direction on the superconducting nodes: returns
    (max |FD - Jv|, max |Jv|, the Matsubara solution there)."""
    from usadel.matsubara import GapMap

    prob = GapMap(dev, T, 60.0, None)
    d = 0.9 * prob.initial_delta()
    _, sp = prob.update(d)
    v = np.zeros(prob.ops.n)
    v[prob.sc] = np.random.default_rng(0).normal(size=np.count_nonzero(prob.sc))
    fd = (prob.update(d + eps * v)[0] - prob.update(d - eps * v)[0]) / (2 * eps) - v
    jv = prob.jacobian(d, sp)(v.astype(complex))
    return np.max(np.abs(fd - jv)), np.max(np.abs(jv)), sp


@pytest.fixture
def sns():
    return sns_device


@contextlib.contextmanager
def deadline(seconds):
    """Fail (TimeoutError) instead of hanging: SIGALRM interrupts a Python-level loop."""
    def boom(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def homogeneous_gap(T, h):
    """Delta ln(Tc0/T) = 2 pi T sum [Delta/w - Re Delta/sqrt((w + i h)^2 + Delta^2)], solved independently.

    2e5 explicit terms and the 1/w^3 tail (h^2 + Delta^2/2)/(2 a^2): truncation < 1e-12.
    """
    w = np.pi * T * (2 * np.arange(200_000) + 1)
    a = w[-1] + np.pi * T

    def F(d):
        wt = w + 1j * h
        s = 2 * np.pi * T * np.sum(1 / w - np.real(1 / np.sqrt(wt * wt + d * d)))
        return np.log(1 / T) - s - (h * h + d * d / 2) / (2 * a * a)
    return brentq(F, 1e-6, 3.0, xtol=1e-14)


def _warm(part):
    """Compile one part of the numba kernels (``pytest_configure``): "lanes" the compiled sweep lanes, "newton" the
    compiled Newton driver, "rest" everything else (the P1 rows, the order-p bulk, condensation and chain solve
    with barriers, the homotopy stages, the kinetic chain solve). The three big drivers each inline the whole
    Newton step (usadel.kernels_jit): ~30-50 s of compiling each, so each part compiles one of them alone."""
    from usadel.eta_homotopy import homotopy
    from usadel.highorder import HighOrderProblem
    from usadel.sweep import sweep

    def wire(order, barrier=None):
        return usadel.Device(usadel.meshes.interval(1.0, 8), {"wire": usadel.Material()},
                             {"left": usadel.Reservoir(delta=2.0, barrier=barrier),
                              "right": usadel.Reservoir(delta=2.0, phase=1.0)}, order=order)

    eps = np.linspace(0.0, 3.0, 40) + 1e-6j
    prob = HighOrderProblem(wire(2), 0.0, 1e-6)
    if part == "lanes":  # a start that is only the bulk guess: no homotopy compiled here
        sweep(prob, eps, 1e-10, 40, start=lambda p, e, tol, maxiter: (p.initial(e), np.ones(e.size, bool),
                                                                     np.zeros(e.size)))
    elif part == "newton":
        prob.newton(eps, prob.initial(eps), 1e-10, 40)
    else:
        homotopy(prob, eps, 1e-10, 40)
        for order in (1, 2):
            usadel.spectral(wire(order, usadel.Barrier(r=1.0)), eps.real, method="homotopy")
        dev = usadel.Device(usadel.meshes.interval(1.0, 20), {"wire": usadel.Material()},
                            {"left": usadel.Reservoir(delta=2.0, T=0.5, mu=0.1),
                             "right": usadel.Reservoir(delta=2.0, T=0.5)})
        usadel.kinetic(usadel.spectral(dev, usadel.observables.energy_grid(2.0, T=0.5, mu=[0.1], n=200)))


def pytest_configure(config):
    """Compile the numba kernels once, before pytest-xdist starts its workers: they then load them from numba's
    disk cache instead of each compiling the same kernels at once (from a fresh clone that doubled the ~2 minutes
    of compiling). The three parts of :func:`_warm` compile at once, two in subprocesses (numba's cache is safe
    for that: each file is written whole and renamed). Quick when the cache is warm."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller compiled them
        return
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    code = "import sys; sys.path.insert(0, {!r}); import conftest; conftest._warm({!r})"
    procs = [subprocess.Popen([sys.executable, "-c", code.format(here, part)]) for part in ("lanes", "newton")]
    _warm("rest")
    for proc in procs:
        if proc.wait():
            raise RuntimeError(f"tests/conftest.py: compiling the numba kernels failed ({proc.args[-1]})")
