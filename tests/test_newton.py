"""The shared damped Newton loop (usadel.newton): the P1 loop's algorithm and constants, and the order-p
solves stopping on the update."""

import numpy as np

import usadel
from usadel import newton as nw
from usadel import retarded


def sns(n, order=1, phase=0.0):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=100.0), "right": usadel.Reservoir(delta=100.0, phase=phase)},
                         order=order)


def test_constants_are_those_of_the_p1_loop():
    for name in ("LINE_SEARCH_HALVINGS", "ARMIJO", "ROUNDING", "STALL"):
        assert getattr(nw, name) == getattr(retarded, name)


def test_shared_loop_with_the_p1_solve_is_the_p1_newton_bit_for_bit():
    # RetardedProblem.newton is the shared loop with the banded solve as its step: retarded.py calls
    # usadel.newton.newton(self.residual, lambda J, F: self.solver.solve(J, -F), ..., scale)
    prob = retarded.RetardedProblem(sns(50, phase=1.0), 0.0, 1e-6)
    eps = np.linspace(0.05, 8.0, 12) + 1e-6j
    u0 = prob.initial(eps)
    a = prob.newton(eps, u0.copy(), 1e-10, 40)
    kmax = np.max(np.abs(prob.ops.K_data[prob.ops.diag]))
    scale = kmax + np.max(np.abs(prob.c)) * (1.0 + np.abs(eps) + prob.energy_scale)
    b = nw.newton(prob.residual, lambda J, F: prob.solver.solve(J, -F), eps, u0.copy(), 1e-10, 40, scale)
    for x, y in zip(a, b):
        assert np.array_equal(x, y)


def test_order3_newton_stops_on_the_update_on_fine_meshes():
    # issue 16: a residual test against a scale growing like 1/h stopped fine meshes early; with the
    # update rule tol = 1e-10 gives the tol = 1e-13 answer to 1e-9 on 128 P3 elements (385 dofs)
    dev = sns(128, 3, phase=np.pi / 2)
    E = np.linspace(0.0, 10.0, 21)
    a = usadel.spectral(dev, E, tol=1e-10, method="homotopy").dos()
    b = usadel.spectral(dev, E, tol=1e-13, method="homotopy").dos()
    assert np.max(np.abs(a - b)) < 1e-9


def test_contraction_stop_and_chord_steps_keep_the_answer():
    # issue 16: on order-p chains with clean contacts the loop (numpy here, compiled in usadel.kernels) keeps the
    # Jacobian after short full steps and stops on quadratic contraction. From bulk starts and from slightly
    # perturbed solutions (as the sweep's predictions): the plain rule's answer to 1e-12, in no more iterations
    # (the numpy loop evaluates, and then replaces, the Jacobian of a chord step: the iterations are counted)
    from usadel.highorder import HighOrderProblem

    for name in ("CONTRACTION", "CHORD_STEP"):
        assert getattr(nw, name) == getattr(retarded, name)
    prob = HighOrderProblem(sns(9, 3, phase=1.0), 0.0, 1e-6, compiled=False)
    eps = np.linspace(0.05, 9.0, 9) + 1e-6j
    iterations = []

    def residual(e, u, jac=False):
        iterations[-1] += e.size if jac else 0
        return prob.residual(e, u, jac)

    u0 = prob.initial(eps)
    ref = nw.newton(prob.residual, prob.step, eps, u0.copy(), 1e-10, 40, prob.operator_scale(eps))
    rng = np.random.default_rng(3)
    near = ref[0].copy()
    near[..., 0] += 1e-6 * rng.random(u0.shape[:2])
    near[..., 1] += 1e-6j * rng.random(u0.shape[:2])
    near = prob.impose(eps, near)
    for start in (u0, near):
        out = []
        for contraction in (False, True):
            iterations.append(0)
            out.append(nw.newton(residual, prob.step, eps, start.copy(), 1e-10, 40, prob.operator_scale(eps),
                                 contraction=contraction))
        (a, oka, _), (b, okb, _) = out
        assert oka.all() and okb.all()
        assert np.max(np.abs(a[..., 0] - b[..., 0])) < 1e-12 and np.max(np.abs(a[..., 1] - b[..., 1])) < 1e-12
        assert iterations[-1] <= iterations[-2]
