"""The damped Newton loop of the retarded (Riccati) solves, with the linear step passed in.

One loop for every batched retarded problem: :class:`usadel.highorder.HighOrderProblem`
calls it with its condensed step, and :class:`usadel.retarded.RetardedProblem` (P1) is meant
to call it with its banded/sparse solve (its own loop, ``RetardedProblem.newton``, is the
same algorithm with the same constants). Convergence (``docs/conventions.md``, Newton
stopping): the full Newton update, max norm over the unknowns (|gamma| <= 1), below ``tol``;
or the residual stagnated at rounding level, below ``ROUNDING`` x operator scale x max(1,
|gamma|) in max norm before and after a step that did not lower it by ``STALL`` (near a
bifurcation the update of a converged solution is amplified rounding). The step is halved at
most ``LINE_SEARCH_HALVINGS`` times until the residual (2-norm) falls by the Armijo fraction
``ARMIJO`` of the step.
"""

import numpy as np

__all__ = ["newton", "LINE_SEARCH_HALVINGS", "ARMIJO", "ROUNDING", "STALL"]

# the values of usadel.retarded (tests/test_newton.py checks that they agree)
LINE_SEARCH_HALVINGS = 12  #: at most this many step halvings per iteration
ARMIJO = 1e-4  #: a step must lower the residual by this fraction of its length
ROUNDING = 1e-13  #: rounding level of the residual (max norm) per unit operator scale and max|gamma|
STALL = 0.5  #: at rounding level, a step that keeps this fraction of the residual has stagnated


def newton(residual, step, eps, g, gt, tol, maxiter, scale):
    """Damped Newton for every energy of a batch; returns (g, gt, ok, res), g and gt updated in place.

    ``residual(e, g, gt, jac=False)``: residual rows (b, 2 n), interleaved (gamma, gamma~) per unknown,
    and with ``jac`` also (F, J) with J whatever ``step`` needs; ``step(J, F)``: the Newton update dx
    (b, 2 n) solving J dx = -F (non-finite rows: a singular member). ``eps`` (b,) complex energies,
    ``g``, ``gt`` (b, n) the start, ``scale`` (b,) the operator scale of each energy (largest diagonal
    of the Jacobian's energy-independent and energy terms), for the rounding floor.
    """
    b = eps.size
    ok = np.zeros(b, bool)
    res = np.full(b, np.inf)
    act = np.arange(b)
    for _ in range(maxiter):
        e, ga, gta = eps[act], g[act], gt[act]
        floor = ROUNDING * scale[act] * np.maximum(1.0, np.maximum(_amax(ga), _amax(gta)))
        F, J = residual(e, ga, gta, jac=True)
        f0, fm0 = np.linalg.norm(F, axis=1), _amax(F)
        with np.errstate(invalid="ignore", over="ignore"):
            dx = step(J, F)
        lam = np.ones(act.size)
        bad = ~np.all(np.isfinite(dx), axis=1)
        dx[bad] = 0.0
        for _ in range(LINE_SEARCH_HALVINGS):
            gn = ga + lam[:, None] * dx[:, 0::2]
            gtn = gta + lam[:, None] * dx[:, 1::2]
            F1 = residual(e, gn, gtn)
            f1 = np.linalg.norm(F1, axis=1)
            worse = ~(f1 <= (1.0 - ARMIJO * lam) * f0) & (fm0 > floor)
            if not worse.any():
                break
            lam = np.where(worse, 0.5 * lam, lam)
        g[act], gt[act] = gn, gtn
        res[act] = f1
        stalled = (fm0 <= floor) & (_amax(F1) <= floor) & (f1 >= STALL * f0)
        done = ((_amax(dx) < tol) | stalled) & np.isfinite(f1) & ~bad
        ok[act[done]] = True
        act = act[~done & np.isfinite(f1)]
        if act.size == 0:
            break
    return g, gt, ok, res


def _amax(a):
    """Max norm of each row."""
    return np.max(np.abs(a), axis=1)
