"""Compiled kernels (usadel.kernels) against the numpy path of the order-p solve: residual, Newton step and
spectral results equal to rounding."""

import numpy as np
import pytest

import usadel
from usadel import kernels
from usadel.highorder import HighOrderProblem

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")


def sns(order, n=7):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tau_sf=5.0)},
                         {"left": usadel.Reservoir(delta=100.0, barrier=usadel.Barrier(r=1.0)),
                          "right": usadel.Reservoir(delta=100.0, phase=1.0)}, order=order)


def sn_interface(order, n=4):
    m = usadel.meshes.wire([("S", 0.5, n), ("N", 1.0, 2 * n)])
    return usadel.Device(m, {"S": usadel.Material(D=1.0, tc=1.0), "N": usadel.Material(D=2.0, sigma=2.0, h=0.7)},
                         contacts={"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir()},
                         interfaces={("S", "N"): usadel.Barrier(r=0.3)}, order=order)


CASES = [(sns, 0.0, 0), (sn_interface, 1.0, 1), (sn_interface, "field", -1)]


@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("build, delta, spin", CASES, ids=["SNS tunnel contact", "S-N interface", "gap field, h"])
def test_compiled_residual_and_newton_step_equal_numpy(build, delta, spin, order):
    dev = build(order)
    if delta == "field":  # a per-node gap: the Lagrange field inside superconducting elements
        delta = 0.8 + 0.3j * np.cos(3 * dev.topology.p[0])
    a = HighOrderProblem(dev, delta, 1e-6, spin, compiled=False)
    b = HighOrderProblem(dev, delta, 1e-6, spin, compiled=True)
    rng = np.random.default_rng(1)
    eps = np.linspace(0.1, 9.0, 5) + 1e-3j
    u = a.initial(eps)
    u[..., 0] += 0.1 * rng.random(u.shape[:2])
    u[..., 1] += 0.1j * rng.random(u.shape[:2])
    Fa, Ja = a.residual(eps, u, jac=True)
    Fb, Jb = b.residual(eps, u, jac=True)
    assert np.max(np.abs(Fa - Fb)) < 1e-14 * np.max(np.abs(Fa))
    assert np.array_equal(Fb, b.residual(eps, u))  # the residual-only call: the same numbers
    da, db = a.step(Ja, Fa), b.step(Jb, Fb)
    assert np.max(np.abs(da - db)) < 1e-11 * np.max(np.abs(da))


def test_chain_elimination_is_used_on_wires_and_agrees_with_banded_lapack():
    # node bandwidth 1 (chains, a split interface vertex included): block elimination; the banded LAPACK
    # solve of the same condensed system gives the same update to rounding
    for dev in (sns(3), sn_interface(3)):
        p = HighOrderProblem(dev, 1.0, 1e-6, compiled=True)
        assert p.condensation.chain is not None
        eps = np.array([0.3 + 1e-3j, 2.0 + 1e-3j])
        F, (cond, vb) = p.residual(eps, p.initial(eps), jac=True)
        x1 = p.condensation.solve_condensed(*cond, vb, F, compiled=True)
        x2 = p.condensation.solve_condensed(*cond, vb, F, compiled=False)
        assert np.max(np.abs(x1 - x2)) < 1e-11 * np.max(np.abs(x2))


@pytest.mark.parametrize("method", ["sweep", "homotopy"])
def test_spectral_with_and_without_kernels_agree(monkeypatch, method):
    # whole solves (Newton from the same starts, same stopping decisions): DOS equal to 1e-10
    E = np.linspace(0.0, 10.0, 64)
    dev = sns(3, 12)
    a = usadel.spectral(dev, E, method=method)
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    b = usadel.spectral(dev, E, method=method)
    assert np.max(np.abs(a.dos() - b.dos())) < 1e-10
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-10


def clean_wire(order, h=0.0):
    mat = usadel.Material(h=h) if h else usadel.Material(tau_sf=4.0)  # (h with tau_sf: spin mixing, P1 only)
    return usadel.Device(usadel.meshes.interval(1.0, 9), {"wire": mat},
                         {"left": usadel.Reservoir(delta=100.0), "right": usadel.Reservoir(delta=100.0, phase=1.0)},
                         order=order)


@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("spin", [0, 1, -1])
def test_compiled_newton_loop_equals_the_numpy_loop(order, spin):
    # clean contacts only: the whole damped Newton runs compiled (usadel.kernels.newton), energy by energy;
    # the numpy path (usadel.newton.newton with the numpy residual and step) takes the same steps
    dev = clean_wire(order, h=0.6 if spin else 0.0)
    a = HighOrderProblem(dev, 0.0, 1e-6, spin, compiled=True)
    b = HighOrderProblem(dev, 0.0, 1e-6, spin, compiled=False)
    assert a.condensation.chain is not None and not (a.tunnel or a.links)  # the compiled loop applies
    eps = np.linspace(0.05, 9.0, 9) + 1e-6j
    u = a.initial(eps)
    ua, oka, ra = a.newton(eps, u.copy(), 1e-10, 40)
    ub, okb, rb = b.newton(eps, u.copy(), 1e-10, 40)
    assert oka.all() and np.array_equal(oka, okb)
    assert np.max(np.abs(ua[..., 0] - ub[..., 0])) < 1e-12 and np.max(np.abs(ua[..., 1] - ub[..., 1])) < 1e-12
    # a few iterations only (not converged): the iterates agree too, and neither is marked converged
    ua, oka, _ = a.newton(eps, u.copy(), 1e-10, 2)
    ub, okb, _ = b.newton(eps, u.copy(), 1e-10, 2)
    assert np.array_equal(oka, okb) and np.max(np.abs(ua[..., 0] - ub[..., 0])) < 1e-10


class PythonLoop:
    """A compiled chain problem whose sweep takes the Python loop (the Newton solves stay compiled)."""
    compiled_newton = False

    def __init__(self, prob):
        self.prob = prob

    def __getattr__(self, name):
        return getattr(self.prob, name)


def recording(started):
    from usadel.eta_homotopy import homotopy

    def start(p, e, tol, maxiter):  # the homotopy, recording where it is called
        started.append(np.sort(e.real))
        return homotopy(p, e, tol, maxiter)
    return start


@pytest.mark.parametrize("descending, lanes", [(True, None), (False, 1)])
def test_compiled_sweep_lanes_equal_the_python_loop(monkeypatch, descending, lanes):
    # usadel.sweep_chain: the continued steps compiled. Upward with one lane the sweep meets the mirror
    # branch above the minigap (issue 16) and the checks send energies to the homotopy: the compiled lanes
    # must redo the same energies, in the same batches, and give the same solutions (to rounding)
    from usadel import sweep as sw

    if lanes:
        monkeypatch.setattr(sw, "SWEEP_LANES", lanes)
    prob = HighOrderProblem(clean_wire(3), 0.0, 1e-6)
    assert prob.compiled_newton
    eps = np.r_[np.linspace(0.0, 10.0, 150), 4.0, 4.0, 7.5] + 1e-6j  # repeated energies: predict's copies
    runs = []
    for p in (prob, PythonLoop(prob)):
        started = []
        runs.append((sw.sweep(p, eps, 1e-10, 40, recording(started), descending=descending), started))
    (a, sa), (b, sb) = runs
    assert len(sa) == len(sb) and all(np.array_equal(x, y) for x, y in zip(sa, sb))
    assert len(sa) >= 2  # the lane starts with the sample, then energies redone (measured: one, at E ~ 2.4-2.6)
    assert np.array_equal(a[1], b[1]) and a[1].all()
    assert np.max(np.abs(a[0][..., 0] - b[0][..., 0])) < 1e-13 and np.max(np.abs(a[0][..., 1] - b[0][..., 1])) < 1e-13


def test_compiled_sweep_takes_one_lane_and_several_still_equal_the_python_loop(monkeypatch):
    # A problem whose Newton runs energy by energy (serial_newton) gains nothing from batching, so the sweep takes
    # one lane: one homotopy start where batched problems take up to SWEEP_LANES. Several lanes (forced here, as a
    # batched problem would have them) must still give the Python loop's starts and solutions in the compiled
    # lanes; one lane must agree with several to the Newton solves' accuracy (tol 1e-10 with the contraction stop's
    # bound 1e-3 tol per solve; measured ~3e-13 on the benchmark meshes): 1e-11
    from usadel import sweep as sw

    prob = HighOrderProblem(clean_wire(3), 0.0, 1e-6)
    assert prob.serial_newton and prob.compiled_newton
    eps = np.r_[np.linspace(0.0, 10.0, 150), 4.0, 4.0, 7.5] + 1e-6j
    one_started = []
    one = sw.sweep(prob, eps, 1e-10, 40, recording(one_started))
    monkeypatch.setattr(HighOrderProblem, "serial_newton", property(lambda self: False))
    runs = []
    for p in (prob, PythonLoop(prob)):
        started = []
        runs.append((sw.sweep(p, eps, 1e-10, 40, recording(started)), started))
    (a, sa), (b, sb) = runs
    assert len(sa) == len(sb) and all(np.array_equal(x, y) for x, y in zip(sa, sb))
    # the first homotopy batch: the lane starts with the sample; 8 lanes start 7 more energies than one
    assert sa[0].size >= one_started[0].size + 6 and one_started[0][-1] == 10.0 and sa[0][-1] == 10.0
    assert np.array_equal(a[1], b[1]) and a[1].all() and one[1].all()
    for c in (0, 1):  # gamma, gamma~
        assert np.max(np.abs(a[0][..., c] - b[0][..., c])) < 1e-13
        assert np.max(np.abs(one[0][..., c] - a[0][..., c])) < 1e-11


def test_compiled_homotopy_stages_equal_the_python_loop():
    # HighOrderProblem.solve_stages: every stage of the eta-homotopy in one compiled call (contact values imposed,
    # Newton to the stage's tolerance, energy by energy): the stage loop's numbers, across the minigap edge
    from usadel.eta_homotopy import homotopy

    prob = HighOrderProblem(clean_wire(3, h=0.6), 0.0, 1e-6, spin=1)
    assert prob.compiled_newton
    eps = np.r_[np.linspace(0.0, 10.0, 41), 150.0] + 1e-6j
    a, b = homotopy(prob, eps, 1e-10, 40), homotopy(PythonLoop(prob), eps, 1e-10, 40)
    assert a[1].all() and np.array_equal(a[1], b[1])
    for c in (0, 1):  # gamma, gamma~
        assert np.max(np.abs(a[0][..., c] - b[0][..., c])) < 1e-13
    assert np.max(np.abs(a[2] - b[2])) <= 1e-13 * np.max(np.abs(b[2]))
