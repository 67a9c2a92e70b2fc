"""The eta-homotopy and the continuation fallback: Newton drivers that start from nothing.

:func:`homotopy` follows the retarded solution from E + i Omega down to the real axis (the
retarded branch is the analytic continuation from the upper half plane, where the solution is
unique; ``docs/conventions.md``, Retarded branch selection); :func:`continuation` retries failed
energies from converged neighbours. Both drive any problem with the ``RetardedProblem`` interface
(``initial``, ``impose``, ``newton``, ``energy_scale``, ``ops``), the spin-mixed and higher-order ones too,
on their states u[E, dof, component] (:mod:`usadel.state`).
"""

import itertools
import logging

import numpy as np

from .state import flat, on_branch
from .errors import ConvergenceError
from .linsolve import solver_slot
from .sweep import reservoirs

log = logging.getLogger(__name__)

__all__ = ["homotopy", "continuation", "warm_start", "finish", "HOMOTOPY_START", "HOMOTOPY_FACTOR", "HOMOTOPY_SKIP", "HOMOTOPY_END",
           "HOMOTOPY_TOL", "HOMOTOPY_STAGE_XTOL", "HOMOTOPY_GMRES_ACCEPT", "HOMOTOPY_GMRES_XTOL", "HOMOTOPY_GMRES_REFRESH", "CONTINUATION_ROUNDS", "CONTINUATION_STEPS"]

HOMOTOPY_START = 2.0  #: first stage's Im E in units of max(|E|, device gap + pair breaking, E_Th, reservoir gap + |h|)
HOMOTOPY_FACTOR = 0.1  #: ratio of Im E between successive homotopy stages
HOMOTOPY_SKIP = 0.1  #: stages below this fraction of the energy's own Im part (Matsubara) are skipped
HOMOTOPY_END = 1e-4  #: the stages end once Im E - eta is below this fraction of the first stage
HOMOTOPY_TOL = 1e-2  #: Newton tolerance (update) of the intermediate stages (only the last one is solved to tol)
HOMOTOPY_GMRES_ACCEPT = 1e-6  #: 2D: relative residual of the stages' preconditioned GMRES solves
HOMOTOPY_GMRES_XTOL = 1e-3  #: 2D: ... or relative residual x max|update| below this fraction of tol
#: 2D: ... of the intermediate stages' tol (1e-4 with HOMOTOPY_TOL: no more than their Newton stop leaves, ~tol^2)
HOMOTOPY_STAGE_XTOL = 1e-2
HOMOTOPY_GMRES_REFRESH = 12  #: 2D: a stage's LU is refactorised after a solve that needed more GMRES iterations
CONTINUATION_ROUNDS = 3  #: rounds of retrying failed energies from converged neighbours
CONTINUATION_STEPS = (1, 4, 16, 64)  #: numbers of sub-steps tried on the path from a converged energy


def homotopy(prob, eps, tol, maxiter):
    """Follow the retarded solution from E + i Omega down to E + i eta.

    The retarded Green's function is analytic in the upper half plane and the
    solution far from the real axis is unique, so continuation in Im E picks
    the physical branch where Newton from a bulk guess may converge to an
    unphysical one (measured: negative DOS just above an SNS minigap).
    Im E starts at ``HOMOTOPY_START`` times the largest of |E|, the device's
    gap plus pair-breaking rate, its Thouless energy and the largest reservoir
    gap plus |h| (a start below a reservoir's gap put an S wire between gap-30
    reservoirs at phase 2.5 on a wrong branch: DOS 1.38 for 9e-4), and falls by
    ``HOMOTOPY_FACTOR`` per stage. Intermediate stages are solved loosely (update
    below ``HOMOTOPY_TOL``, so error ~its square after Newton's last step); only
    the last one to ``tol``.
    """
    scale = max(prob.energy_scale, prob.ops.thouless_energy,
                max((abs(r.delta) + abs(r.h) for r in reservoirs(prob)), default=0.0))
    omega0 = HOMOTOPY_START * np.maximum(np.abs(eps.real), scale)
    u = prob.initial(eps.real + 1j * (eps.imag + omega0))
    if getattr(prob, "compiled_newton", False):  # the same stages, energy by energy in one compiled call
        stages = list(_stages(eps, omega0))
        return prob.solve_stages(np.array([e for e, _ in stages]),
                                 np.array([tol if last else max(tol, HOMOTOPY_TOL) for _, last in stages]), u,
                                 maxiter)
    ok = np.ones(eps.size, bool)
    for k, (e, last) in enumerate(_stages(eps, omega0)):
        u = prob.impose(e, u)
        # 2D: a stage's LU preconditions that stage at the batch's other energies (kept while GMRES converges);
        # linear solves to HOMOTOPY_GMRES_ACCEPT, or to an error far below the stage's Newton tolerance
        # (inexact Newton: the fixed point is exact; an intermediate stage is only a start for the next)
        stage_tol = tol if last else max(tol, HOMOTOPY_TOL)
        with solver_slot(prob, ("homotopy", k), HOMOTOPY_GMRES_ACCEPT,
                         (HOMOTOPY_GMRES_XTOL if last else HOMOTOPY_STAGE_XTOL) * stage_tol,
                         HOMOTOPY_GMRES_REFRESH):
            u, oki, res = prob.newton(e, u, stage_tol, maxiter)
        ok &= oki
        if last:
            return u, ok, res


def _stages(eps, omega0):
    """(energies, last) of the homotopy's stages; they do not depend on the solutions."""
    eta = eps.imag
    for k in itertools.count():
        om = omega0 * HOMOTOPY_FACTOR ** k
        # stages small next to the energy's own Im part (Matsubara) change nothing
        om = np.where(om < HOMOTOPY_SKIP * eta, 0.0, om)
        last = bool(np.all((om < HOMOTOPY_END * omega0) | (om == 0)))
        yield eps.real + 1j * (eta + np.where(last, 0.0, om)), last
        if last:
            return


def continuation(prob, eps, u, ok, res, tol, maxiter):
    """Retry failed energies by stepping from the nearest converged energy (ever finer paths); the states
    ``u`` (b, n, ncomp), ``ok`` and ``res`` updated in place. Returns (u, ok, res)."""
    for _ in range(CONTINUATION_ROUNDS):
        if not ok.any() or ok.all():
            break
        good = np.nonzero(ok)[0]
        for i in np.nonzero(~ok)[0]:
            j = good[np.argmin(np.abs(eps[good] - eps[i]))]
            ui = u[j:j + 1].copy()
            for nsub in CONTINUATION_STEPS:
                path = eps[j] + (eps[i] - eps[j]) * np.arange(1, nsub + 1) / nsub
                ua = ui.copy()
                for e in path:
                    ua = prob.impose(np.array([e]), ua)
                    ua, oki, ri = prob.newton(np.array([e]), ua, tol, maxiter)
                    if not oki[0]:
                        break
                else:  # the whole path converged
                    u[i], ok[i], res[i] = ua[0], True, ri[0]
                    break
    return u, ok, res


def warm_start(prob, eps, u, tol, maxiter):
    """Newton from a given start ``u`` (a warm start, or the local bulk guess of ``method="direct"``); energies
    that fail or leave the retarded branch (:func:`usadel.state.on_branch`) are redone by the
    homotopy. Returns (u, ok, res)."""
    u, ok, res = prob.newton(eps, u, tol, maxiter)
    redo = np.nonzero(~(ok & on_branch(u)))[0]
    if redo.size:
        log.debug("spectral: %d energies via eta-homotopy", redo.size)
        u[redo], ok[redo], res[redo] = homotopy(prob, eps[redo], tol, maxiter)
    return u, ok, res


def finish(prob, E, eps, u, ok, res, tol, maxiter, what="spectral"):
    """Retry failed energies from converged neighbours (:func:`continuation`); raise ConvergenceError naming
    the energies ``E`` and residuals of any that still failed or are not finite. Returns (u, res)."""
    if not ok.all():
        u, ok, res = continuation(prob, eps, u, ok, res, tol, maxiter)
    ok &= np.all(np.isfinite(flat(u)), axis=1)
    bad = np.nonzero(~ok)[0]
    if bad.size:
        raise ConvergenceError(f"{what}: Newton did not converge at {bad.size} of {E.size} energies, e.g. E = "
                               f"{E[bad[:5]].tolist()} with residuals {res[bad[:5]].tolist()}", energies=E[bad],
                               residuals=res[bad])
    return u, res
