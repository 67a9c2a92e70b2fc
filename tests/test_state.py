"""The retarded engine's one state layout u[E, dof, component] (usadel.state, docs/conventions.md)."""

import numpy as np
import pytest

import usadel
from usadel import state
from usadel.retarded import RetardedProblem


def _wire(order=1, h=0.0, tau_sf=None, n=12):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tc=1.0, h=h, tau_sf=tau_sf)},
                         {"left": usadel.Reservoir(delta=1.5, phase=-0.4),
                          "right": usadel.Reservoir(delta=1.5, phase=0.4, barrier=usadel.Barrier(r=2.0))},
                         order=order)


def _strip(order):
    mesh = usadel.meshes.strip(1.0, 0.25, 4, 2) if order > 1 else usadel.meshes.strip(1.0, 0.25, 12, 3)
    return usadel.Device(mesh, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=2.0), "right": usadel.Reservoir(delta=2.0, phase=1.0)},
                         order=order)


def _problems():
    from usadel.highorder import HighOrderProblem
    from usadel.highorder_tri import TriProblem
    from usadel.spin_mixing import SpinMixedProblem

    return {"P1": lambda: RetardedProblem(_wire(), 0.8, 1e-6),
            "P1 spin block": lambda: RetardedProblem(_wire(h=0.3), 0.8, 1e-6, spin=-1),
            "P1 spin mixed": lambda: SpinMixedProblem(_wire(h=0.3, tau_sf=5.0), 0.8, 1e-6),
            "P3 chain": lambda: HighOrderProblem(_wire(order=3, n=4), 0.8, 1e-6),
            "P2 triangles": lambda: TriProblem(_strip(2), 0.0, 1e-6),
            "P1 triangles": lambda: RetardedProblem(_strip(1), 0.0, 1e-6)}


def _step(prob, J, F):
    return prob.step(J, F) if hasattr(prob, "step") else prob.solver.solve(J, -F)


@pytest.mark.parametrize("name", list(_problems()))
def test_every_problem_takes_one_state_and_its_newton_vector(name):
    # Every retarded problem: initial -> u (b, n, ncomp); residual rows and the Newton update dx in the order of
    # state.flat(u). Checked by the update's first-order effect: F(u + t dx) = (1 - t) F(u) + O(t^2), which fails
    # at O(t) if rows, columns or components were in another order (t = 1e-5: the O(t^2) rest is ~1e-10 |F|).
    prob = _problems()[name]()
    eps = np.array([0.3, 1.1, 2.7]) + 0.05j
    u = prob.initial(eps + 0.5j)
    assert u.shape == (3, prob.state_size, prob.ncomp) and u.dtype == complex
    assert prob.ncomp == (4 if name == "P1 spin mixed" else 2)
    u = prob.impose(eps, u)
    F, J = prob.residual(eps, u, jac=True)
    assert F.shape == (3, prob.state_size * prob.ncomp)
    assert np.array_equal(F, prob.residual(eps, u))  # residual alone: the same rows
    dx = _step(prob, J, F)
    t = 1e-5
    F1 = prob.residual(eps, u + t * dx.reshape(u.shape))
    scale = np.linalg.norm(F, axis=1)
    assert np.all(np.linalg.norm(F1 - (1 - t) * F, axis=1) <= 1e-3 * t * scale)
    # Newton from there converges on the same layout
    u2, ok, _ = prob.newton(eps, u.copy(), 1e-10, 40)
    assert ok.all() and u2.shape == u.shape and state.on_branch(u2).all()


def test_state_of_a_result_round_trips():
    # SpectralResult.state: (gamma, gamma~) per spin block; from_state is its inverse (split and not)
    for dev in (_wire(), _wire(h=0.3), _wire(h=0.3, tau_sf=5.0)):
        sp = usadel.spectral(dev, np.linspace(0.1, 2.0, 9), delta=0.8)
        u = sp.state
        assert u.shape == (9, dev.topology.n_nodes, 4 if sp.spin_split else 2)
        assert np.array_equal(u[..., 0], sp.gamma) and np.array_equal(u[..., 1], sp.gamma_t)
        if sp.spin_split:
            assert np.array_equal(u[..., 2], sp.gamma_dn) and np.array_equal(u[..., 3], sp.gamma_t_dn)
        back = usadel.SpectralResult.from_state(dev, sp.energies, u, sp.delta, sp.eta, sp.residuals)
        assert np.array_equal(back.dos(), sp.dos()) and back.spin_split == sp.spin_split


@pytest.mark.parametrize("h, tau_sf", [(0.0, None), (0.3, None), (0.3, 5.0)])
def test_negative_energies_by_the_reversed_components(h, tau_sf):
    # spectral(symmetric=True) solves |E| and maps gamma_s(-E) = gamma~_-s(E)^*, gamma~_s(-E) = gamma_-s(E)^*,
    # which on the state is the component axis reversed and conjugated (2 and 4 components alike): equal to
    # solving the negative energies themselves (1e-8: both converge to Newton's tol 1e-10 on an O(1) state)
    dev = _wire(h=h, tau_sf=tau_sf)
    E = np.array([-2.1, -0.9, -0.35, 0.35, 0.9, 2.1])
    a = usadel.spectral(dev, E, delta=0.8)
    b = usadel.spectral(dev, E, delta=0.8, symmetric=False)
    assert np.max(np.abs(a.state - b.state)) < 1e-8
    assert np.max(np.abs(a.dos(spin=1) - b.dos(spin=1)) if h else np.abs(a.dos() - b.dos())) < 1e-8
