"""Generic nonlinear solvers for fixed points x = G(x) of complex vectors; no physics.

Every solver takes the map as ``fun(x) -> (G(x), extra)`` (``extra`` is whatever
the map wants handed back, e.g. the solution it computed on the way) and returns
``(x, history, converged, extra)`` with ``history`` the residual max|G(x) - x| of
every evaluation of the map, so the callers can swap them:

- :func:`anderson`: Anderson acceleration (Walker & Ni, type II) with a safeguard
  against wandering extrapolations and an optional preconditioner;
- :func:`newton_krylov`: inexact Newton on F(x) = G(x) - x with a backtracking line
  search, given Jacobian-vector products of F;
- :func:`gmres_step`: the one GMRES call both use for a Newton step, on the real
  form of a complex vector restricted to a mask.

The gap equation's use of them is described in ``docs/derivations.md`` (Newton-Krylov
for the gap equation) and ``docs/conventions.md`` (Numerical choices, Gap equation).
"""

import logging

import numpy as np
import scipy.sparse.linalg as spla

__all__ = ["anderson", "newton_krylov", "gmres_step"]

log = logging.getLogger(__name__)

#: GMRES stops at this residual relative to the right-hand side: an inexact Newton step is
#: enough (the outer iteration corrects it), a tighter one costs map derivatives for nothing
GMRES_RTOL = 1e-4
#: Krylov vectors per GMRES cycle (the Newton systems of the gap equation converge in fewer)
GMRES_RESTART = 60
#: GMRES cycles at most: a step that is still inexact then is left to the line search
GMRES_MAXITER = 4
#: the line search accepts any step fraction below this one (a further halving buys little)
MIN_STEP = 0.1
#: the line search multiplies the step by this after each rejected trial
STEP_REDUCTION = 0.5
#: Anderson judges a preconditioner after this many steps ...
PRECONDITIONER_PATIENCE = 6
#: ... and drops it unless the best residual of those steps is below this fraction of the best before
PRECONDITIONER_GAIN = 0.5
#: after a safeguard rejection the plain step from the best x is shortened by this factor per repeat
SAFEGUARD_DAMPING = 0.5
#: plain Anderson restarts (history cleared, plain step from the best x) when STALL_PATIENCE steps since
#: its last (re)start have not brought the best residual below STALL_GAIN x the best before them
STALL_PATIENCE = 10
STALL_GAIN = 0.5


def gmres_step(jv, r, mask):
    """Newton step s = -J^{-1} r for complex vectors that vanish off ``mask``.

    ``jv(v)`` is the Jacobian-vector product J v (complex vectors of the full
    length). GMRES runs on the real form (real and imaginary parts of the masked
    entries), since J need not be complex-linear, to ``GMRES_RTOL``.
    """
    m = int(np.count_nonzero(mask))

    def unpack(x):
        z = np.zeros(mask.size, complex)
        z[mask] = x[:m] + 1j * x[m:]
        return z

    def pack(z):
        return np.r_[z[mask].real, z[mask].imag]

    A = spla.LinearOperator((2 * m, 2 * m), matvec=lambda x: pack(jv(unpack(x))), dtype=float)
    s, _ = spla.gmres(A, -pack(r), rtol=GMRES_RTOL, atol=0.0, restart=GMRES_RESTART, maxiter=GMRES_MAXITER)
    return unpack(s)


def newton_krylov(fun, jacobian, x0, tol, maxiter, mask):
    """Inexact Newton on F(x) = G(x) - x, with a backtracking line search on max|F|.

    ``fun(x) -> (G(x), extra)``; ``jacobian(x, extra)`` returns v -> J v, the
    Jacobian of F at x (``extra``: fun's second output there), used by
    :func:`gmres_step` on the entries in ``mask``. A trial step is halved while
    it does not lower max|F|, down to ``MIN_STEP`` (a rejected trial costs a map
    evaluation and counts in the history). A non-finite residual ends the
    iteration (the caller raises with the history). Returns (G(x), history,
    converged, extra) at the last x.
    """
    x = x0.copy()
    gx, extra = fun(x)
    F = gx - x
    hist = [float(np.max(np.abs(F)))]
    while hist[-1] >= tol and len(hist) < maxiter:
        step = gmres_step(jacobian(x, extra), F, mask)
        x, gx, extra, F = _line_search(fun, x, step, hist, maxiter)
    return gx, hist, hist[-1] < tol, extra


def _line_search(fun, x, step, hist, maxiter):
    """The accepted trial x + lam step (lam = 1, 1/2, ...), its G, extra and F; appends to ``hist``."""
    lam = 1.0
    while True:
        trial = x + lam * step
        g_t, extra_t = fun(trial)
        F_t = g_t - trial
        r_t = float(np.max(np.abs(F_t)))
        if r_t < hist[-1] or lam < MIN_STEP or len(hist) + 1 >= maxiter or not np.isfinite(r_t):
            break  # (a non-finite trial ends the iteration: the caller raises with the history)
        hist.append(r_t)  # a rejected trial costs a map evaluation too
        lam *= STEP_REDUCTION
    hist.append(r_t)
    return trial, g_t, extra_t, F_t


def anderson(fun, x0, tol, maxiter, m=20, beta=1.0, precondition=None, safeguard=2.0):
    """Anderson acceleration (Walker & Ni type II) for x = fun(x), complex vectors.

    ``m``: previous steps kept for the extrapolation; ``beta``: mixing of the
    residual. Safeguard: an iterate whose residual exceeds ``safeguard`` x the
    best one so far is discarded; the history is cleared and the iteration goes
    on with a plain step from the best x (a nonsmooth map, e.g. the
    nonequilibrium one where quasiparticles are trapped between regions of
    different gap, otherwise lets the extrapolation wander: the seed device at
    T = 0.9 Tc, eV = 3 Delta0 did not converge in 60 steps without it, and does
    in 52 with it). A plain run whose best residual has not halved in ``STALL_PATIENCE`` steps since its
    last (re)start is restarted the same way (stale history of a nonsmooth map: after the clean-contact
    change of P1 the same device wandered at 3-5e-2 for ~50 steps and needed 82; with the restart, 49).
    ``safeguard=None`` switches both off.

    ``precondition(x, r, extra)``, if given, maps the residual r = fun(x) - x to
    an approximate Newton step (Anderson then accelerates x -> x + step);
    convergence is always judged on max|r|. If the preconditioned iteration has
    not brought the best residual below ``PRECONDITIONER_GAIN`` x the earlier
    best within ``PRECONDITIONER_PATIENCE`` steps (the approximate Jacobian is
    wrong, e.g. the equilibrium Jacobian where the nonequilibrium part
    dominates), it is dropped and Anderson restarts on the plain residual from
    the best x.
    Returns (x, history, converged, extra) where extra is fun's second output at x.
    """
    x = x0.copy()
    X, R = [], []
    hist = []
    extra = None
    start = 0  # iteration of the last (re)start of the extrapolation history
    for it in range(maxiter):
        gx, extra = fun(x)
        r = gx - x
        res = float(np.max(np.abs(r)))
        hist.append(res)
        if res < tol:
            return gx, hist, True, extra
        if not np.isfinite(res):  # NaN/inf in the map: stop (the caller raises with the history)
            return x, hist, False, extra
        if precondition is not None and _no_progress(hist, it, PRECONDITIONER_PATIENCE, PRECONDITIONER_GAIN):
            log.info("anderson: preconditioned residuals %s; continuing without the preconditioner",
                     ["%.1e" % h for h in hist])
            precondition = None
            X, R, start = [], [], it
            best = int(np.argmin(hist))
            if best != it:
                x, r = best_x.copy(), best_r.copy()
        if not hist[:-1] or res <= min(hist[:-1]):
            best_x, best_r = x.copy(), r.copy()
            damp = 1.0
        elif safeguard is not None and res > safeguard * min(hist[:-1]) and precondition is None:
            X, R, start = [], [], it
            x = best_x + damp * beta * best_r
            damp *= SAFEGUARD_DAMPING  # a repeated rejection shortens the next step from the best x
            continue
        if (safeguard is not None and precondition is None
                and _no_progress(hist, it - start, STALL_PATIENCE, STALL_GAIN)):
            # the extrapolation wanders at a level without making progress (stale history of a nonsmooth
            # map): start it afresh from the best x
            log.info("anderson: best residual %.1e not halved in %d steps; restarting from the best x",
                     min(hist), STALL_PATIENCE)
            X, R, start = [], [], it
            x = best_x + beta * best_r
            continue
        if precondition is not None:
            r = precondition(x, r, extra)
        x = _extrapolate(X, R, x, r, m, beta)
    return x, hist, False, extra


def _no_progress(hist, since, patience, gain):
    """True once ``since`` >= ``patience`` steps have passed (since the start or the last restart) and the last
    ``patience`` residuals have not brought the best below ``gain`` x the best before them. Judges both the
    preconditioner (PRECONDITIONER_PATIENCE, _GAIN) and a stalled plain run (STALL_PATIENCE, _GAIN)."""
    return since >= patience and min(hist[-patience:]) > gain * min(hist[:-patience])


def _extrapolate(X, R, x, r, m, beta):
    """Append (x, r) to the histories (at most m + 1 kept) and return the next Anderson iterate."""
    X.append(x.copy())
    R.append(r.copy())
    if len(X) > m + 1:
        X.pop(0)
        R.pop(0)
    if len(X) > 1:
        dX = np.stack([X[i + 1] - X[i] for i in range(len(X) - 1)], axis=1)
        dR = np.stack([R[i + 1] - R[i] for i in range(len(R) - 1)], axis=1)
        g, *_ = np.linalg.lstsq(np.vstack([dR.real, dR.imag]), np.r_[r.real, r.imag], rcond=None)
        return x + beta * r - (dX + beta * dR) @ g
    return x + beta * r
