"""The damped Newton loop of the retarded (Riccati) solves, with the linear step passed in.

One loop for every batched retarded problem, on states u[E, dof, component] (:mod:`usadel.state`):
:class:`usadel.retarded.RetardedProblem` (P1, and through it the spin-mixed problem and the order-p
triangles) calls it with its banded or sparse solve, :class:`usadel.highorder.HighOrderProblem`
with its condensed step, and :func:`usadel.kernels.newton` is the same loop compiled. Convergence
(``docs/conventions.md``, Newton stopping): the full Newton update, max norm over the unknowns
(|gamma| <= 1), below ``tol``; or the residual stagnated at rounding level, below ``ROUNDING`` x
operator scale x max(1, |gamma|) in max norm before and after a step that did not lower it by
``STALL`` (near a bifurcation the update of a converged solution is amplified rounding). The step
is halved at most ``LINE_SEARCH_HALVINGS`` times until the residual (2-norm) falls by the Armijo
fraction ``ARMIJO`` of the step.

With ``contraction=True`` (sparse 2D solves, where one step costs a Jacobian and a preconditioned
solve, and the order-p chains with clean contacts) the loop also stops on quadratic contraction and
takes chord steps, energy by energy: after a full step no longer than ``CHORD_STEP`` the energy keeps
its Jacobian, and the line search's residual at the new point is its next right-hand side (no new
Jacobian is evaluated for it); it stops once two full steps in a row contract, theta = |dx_k| / |dx_k-1|
<= ``CONTRACTION``, with the error estimate theta |dx_k| / (1 - theta) (Deuflhard's; about theta^2
|dx_k| where Newton converges quadratically, and it bounds a chord step's error too) below ``safety`` tol
(``CONTRACTION_SAFETY`` for the chains; the 2D solve passes its own). From a continued prediction this
is one Jacobian and one chord step instead of two or three Jacobians (issue 16).
"""

import numpy as np

from .state import flat

__all__ = ["newton", "LINE_SEARCH_HALVINGS", "ARMIJO", "ROUNDING", "STALL", "CONTRACTION", "CHORD_STEP",
           "CONTRACTION_SAFETY", "CONSTANTS"]

# the values of usadel.retarded (tests/test_newton.py checks that they agree)
LINE_SEARCH_HALVINGS = 12  #: at most this many step halvings per iteration
ARMIJO = 1e-4  #: a step must lower the residual by this fraction of its length
ROUNDING = 1e-13  #: rounding level of the residual (max norm) per unit operator scale and max|gamma|
STALL = 0.5  #: at rounding level, a step that keeps this fraction of the residual has stagnated
CONTRACTION = 1e-2  #: ``contraction``: largest update ratio |dx_k| / |dx_k-1| counted as quadratic contraction
CHORD_STEP = 1e-3  #: ``contraction``: after a full step no longer than this the Jacobian is kept (chord step)
CONTRACTION_SAFETY = 1e-3  #: ``contraction``: the estimated error left must be below this fraction of tol
# (2D: 0.1; here chord steps converge linearly and 0.1 moved the P3 x 18 benchmark DOS by 5e-11, 1e-3 by 7.5e-13)
#: the constants in the order of the compiled loop (usadel.kernels)
CONSTANTS = (LINE_SEARCH_HALVINGS, ARMIJO, ROUNDING, STALL, CONTRACTION, CHORD_STEP, CONTRACTION_SAFETY)


def newton(residual, step, eps, u, tol, maxiter, scale, contraction=False, safety=CONTRACTION_SAFETY):
    """Damped Newton for every energy of a batch; returns (u, ok, res), the state u updated in place.

    ``residual(e, u, jac=False)``: residual rows (b, n ncomp) in the order of the Newton vector
    (:func:`usadel.state.flat`), and with ``jac`` also (F, J) with J whatever ``step`` needs (an array or a
    tuple of arrays, energies first); ``step(J, F)``: the Newton update dx (b, n ncomp) solving J dx = -F
    (non-finite rows: a singular member; with ``contraction`` a kept J must solve with a new F). ``eps`` (b,)
    complex energies, ``u`` (b, n, ncomp) the start (:mod:`usadel.state`), ``scale`` (b,) the operator scale
    of each energy (largest diagonal of the Jacobian's energy-independent and energy terms), for the rounding
    floor. ``contraction``: the contraction stop and chord steps, ``safety`` the fraction of ``tol`` the
    contraction estimate must stay below (module docstring).
    """
    b = eps.size
    ok = np.zeros(b, bool)
    res = np.full(b, np.inf)
    act = np.arange(b)
    chord, prev, kept, F1 = np.zeros(b, bool), np.full(b, np.inf), None, None
    for _ in range(maxiter):
        e, ua = eps[act], u[act]
        floor = ROUNDING * scale[act] * np.maximum(1.0, _amax(flat(ua)))
        if chord.any():  # chord energies: the line search's residual at this point and the kept Jacobian
            F, J = F1, kept
            if not chord.all():
                Fn, Jn = residual(e[~chord], ua[~chord], jac=True)
                F, J = _fill(~chord, F, Fn), _fill(~chord, J, Jn)
        else:
            F, J = residual(e, ua, jac=True)
        f0, fm0 = np.linalg.norm(F, axis=1), _amax(F)
        with np.errstate(invalid="ignore", over="ignore"):
            dx = step(J, F)
        lam = np.ones(act.size)
        bad = ~np.all(np.isfinite(dx), axis=1)
        dx[bad] = 0.0
        dxu = dx.reshape(ua.shape)
        for _ in range(LINE_SEARCH_HALVINGS):
            un = ua + lam[:, None, None] * dxu
            F1 = residual(e, un)
            f1 = np.linalg.norm(F1, axis=1)
            worse = ~(f1 <= (1.0 - ARMIJO * lam) * f0) & (fm0 > floor)
            if not worse.any():
                break
            lam = np.where(worse, 0.5 * lam, lam)
        u[act] = un
        res[act] = f1
        stalled = (fm0 <= floor) & (_amax(F1) <= floor) & (f1 >= STALL * f0)
        size = _amax(dx)
        done = (size < tol) | stalled
        if contraction:
            theta = size / prev[act]  # 0 after a first full step (prev inf): not counted
            done |= (lam == 1.0) & (theta > 0.0) & (theta <= CONTRACTION) & \
                (theta * size <= safety * tol * (1.0 - theta))
            prev[act] = np.where(lam == 1.0, size, np.inf)
        done &= np.isfinite(f1) & ~bad
        ok[act[done]] = True
        keep = ~done & np.isfinite(f1)
        if contraction:
            chord = ((lam == 1.0) & (size <= CHORD_STEP) & ~bad)[keep]
            kept, F1 = (_take(J, keep), F1[keep]) if chord.any() else (None, None)
        act = act[keep]
        if act.size == 0:
            break
    return u, ok, res


def _take(J, rows):
    """The energies ``rows`` of a Jacobian J (an array or a tuple of arrays, energies first)."""
    return tuple(_take(x, rows) for x in J) if isinstance(J, tuple) else J[rows]


def _fill(mask, a, b):
    """The rows of ``a`` with those where ``mask`` replaced by ``b``'s (in order); J structures as :func:`_take`."""
    if isinstance(a, tuple):
        return tuple(_fill(mask, x, y) for x, y in zip(a, b))
    out = a.copy()
    out[mask] = b
    return out


def _amax(a):
    """Max norm of each row."""
    return np.max(np.abs(a), axis=1)
