r"""Continuation of the retarded solution along the energy axis (``spectral(..., method="sweep")``).

The eta-homotopy (``usadel.retarded``) follows every energy from E + i Omega down
to the real axis: ~6 stages and ~11 Newton iterations per energy. Neighbouring
energies have neighbouring solutions, so a sweep predicts each energy's solution
from the previous two or three (Lagrange extrapolation in E) and needs ~2 Newton
iterations from there.

Direction: from high to low energy. Sweeping upward through a minigap edge
jumps to the mirror solution just above it (DOS ~ -N, measured in issue 16);
downward, the solution enters the gap from the propagating side, where it is
unique. Every continued energy is checked (Newton converged, |gamma|, |gamma~| <= 1
and DOS >= 0 within ``usadel.bulk.PHYSICAL_SLACK``, and a Newton correction no
larger than ``SWEEP_JUMP``, since a branch change shows up as an O(1) jump from the
prediction); where a check fails that energy is redone by the homotopy and the
predictor restarts from it. Finally a sample of the energies to be continued (every ``SWEEP_SAMPLE``-th; sparse
2D solves: ``SWEEP_SAMPLES_SPARSE`` per batch; chosen beforehand and solved with the lane starts) is
solved by the homotopy as well; if any differs by more than ``SWEEP_SAMPLE_TOL`` the whole batch
is redone by the homotopy (with a warning): a wrong branch that passes the local checks must not
survive silently.

Lanes never cross a reservoir's gap edge (:func:`reservoir_edges`), where the boundary
values are singular, and no step longer than ``SWEEP_MAX_STEP`` Thouless energies is continued
unless it is also short next to |E| and to the distance to the nearest gap edge (:func:`max_steps`;
solutions change on those scales): both let a continued solution change branch unnoticed
(measured: a step of 13 E_Th below a reservoir edge landed on a solution with DOS 1.010 for 0.994
that passed every local check). Such energies start afresh from the homotopy.

Batching: the energies of a chunk are sorted and cut into up to ``SWEEP_LANES``
contiguous lanes that advance together, one energy per lane and step, so each
Newton step is one batched solve (1D: one banded LAPACK call). Each lane starts
with the homotopy at its highest energy. Sparse (2D) solves are a loop over the
batch anyway, and there one lane keeps the reused LU (GMRES preconditioner of
``usadel.linsolve.BlockSolver``) close to the current energy. Problems whose Newton runs
energy by energy (``serial_newton``: the compiled order-p chains, :mod:`usadel.sweep_chain`)
gain nothing from batching either and also take one lane (per piece between reservoir edges):
each further lane cost a homotopy start (issue 16, P4 x 8 elements, 200 energies: 8 lanes
took 20 homotopy energies and ~8.7 ms, one lane 13 and ~7.4 ms; the solutions agree to 3e-13).
"""

import cmath
import logging
import math

import numpy as np

from .linsolve import solver_slot
from .state import empty, flat, on_branch

__all__ = ["sweep", "predict", "SWEEP_LANES", "SWEEP_MIN_LANE", "SWEEP_JUMP", "SWEEP_MAXITER", "SWEEP_ORDER",
           "SWEEP_SAMPLE", "SWEEP_SAMPLE_TOL", "SWEEP_SAMPLES_SPARSE", "PREDICT_MAX_WEIGHT", "SWEEP_MAX_STEP", "SWEEP_REL_STEP",
           "SWEEP_EDGE_STEP", "SWEEP_ORDER_SPARSE", "max_steps", "smallest_gap",
           "reservoir_edges", "reservoirs", "sample_positions"]

log = logging.getLogger(__name__)

SWEEP_LANES = 8  #: at most this many lanes (contiguous runs of energies) advance as one batch (1D, batched Newton)
SWEEP_MIN_LANE = 16  #: energies per lane at least (each lane starts with one homotopy)
SWEEP_JUMP = 0.1  #: a Newton correction above this (max norm of gamma, gamma~) counts as a branch change
SWEEP_MAXITER = 8  #: Newton iterations from a prediction before the homotopy takes over
SWEEP_ORDER = 3  #: previous solutions used by the predictor (3: quadratic in E)
SWEEP_MAX_STEP = 1.0  #: longest continued step in energy, in Thouless energies (solutions vary on that scale)
SWEEP_REL_STEP = 0.05  #: ... or this fraction of |E| and of the distance to the nearest gap edge (:func:`max_steps`)
SWEEP_EDGE_STEP = 0.5  #: and never longer than this fraction of the distance to a reservoir's gap edge (either end)
PREDICT_MAX_WEIGHT = 10.0  #: larger Lagrange weights (a step far beyond the spacing) use the nearest solution
SWEEP_SAMPLE = 16  #: every this many energies of a batch one is compared with the homotopy
SWEEP_SAMPLE_TOL = 1e-6  #: largest accepted difference (gamma, gamma~; max norm) of a sampled energy
SWEEP_GMRES_ACCEPT = 1e-6  #: sparse (2D): relative residual of the continuation's preconditioned GMRES solves
SWEEP_GMRES_XTOL = 1e-2  #: sparse (2D): ... or at relative residual x max|update| below this fraction of tol
SWEEP_SAMPLES_SPARSE = 3  #: sparse (2D) solves: this many samples per batch, evenly spread (:func:`sample_positions`)
#: sparse (2D) solves: previous solutions used by the predictor (4: cubic in E; on the 20k-node strip of
#: benchmarks/sweep_2d.py the first Newton update falls from ~3e-7 to ~6e-9 and the GMRES iterations by ~10%)
SWEEP_ORDER_SPARSE = 4


def predict(es, gs, e):
    """Lagrange extrapolation of the solutions ``gs`` (k, ...) at distinct energies ``es`` (k,) to energy ``e``.

    A repeated energy (``e`` in ``es``) returns its solution; a step so far beyond the spacing of ``es``
    that a weight exceeds ``PREDICT_MAX_WEIGHT`` (or overflows) returns the nearest solution.
    """
    el, e = [complex(x) for x in es], complex(e)  # Python scalars: a few energies, called per lane and step
    if e in el:
        return gs[len(el) - 1 - el[::-1].index(e)].copy()
    try:  # w_k = prod_{j != k} (e - e_j) / (e_k - e_j)
        w = [math.prod((e - ej) / (ek - ej) for j, ej in enumerate(el) if j != k) for k, ek in enumerate(el)]
    except (OverflowError, ZeroDivisionError):
        w = [math.inf]
    if not all(cmath.isfinite(x) for x in w) or max(abs(x) for x in w) > PREDICT_MAX_WEIGHT:
        return gs[np.argmin(np.abs(es - e))].copy()  # far outside the spacing: no extrapolation
    out = w[0] * gs[0]
    for x, gk in zip(w[1:], gs[1:]):
        out += x * gk
    return out


def sweep(prob, eps, tol, maxiter, start, descending=True):
    """Solve ``prob`` (a ``usadel.retarded.RetardedProblem``) at the complex energies ``eps`` by continuation.

    ``start(prob, eps, tol, maxiter) -> (u, ok, res)`` solves energies from
    scratch (the eta-homotopy); it starts each lane and redoes every energy whose
    continuation fails a check. ``descending=False`` sweeps upward (only to test
    the checks: it meets the mirror branch above a minigap). Returns (u, ok, res)
    in the order of ``eps``, u the states (n_E, n, ncomp) (:mod:`usadel.state`).
    """
    n = eps.size
    order = np.lexsort((-eps.imag, -eps.real))  # from high to low energy
    order = order if descending else order[::-1]
    banded = not _sparse(prob)  # no solver (order > 1): condensed 1D chains
    kmax = SWEEP_ORDER if banded else SWEEP_ORDER_SPARSE  # solutions the predictor uses
    batched = banded and not getattr(prob, "serial_newton", False)  # (energy by energy: lanes gain nothing)
    nl = max(1, min(SWEEP_LANES, n // SWEEP_MIN_LANE)) if batched else 1
    lanes = _lanes(order, eps, nl, reservoir_edges(prob))
    u = empty(n, prob.state_size, prob.ncomp)
    ok = np.zeros(n, bool)
    res = np.full(n, np.inf)
    hist = [[] for _ in lanes]  # per lane: indices of the solutions the predictor uses
    # known before any solve: each lane's first energy and every energy after a step longer than max_step
    # start afresh; they are solved by the homotopy together, in one batch
    pre = np.zeros(n, bool)
    pre[[lane[0] for lane in lanes]] = True
    a, b = (np.concatenate([lane[:-1] for lane in lanes]), np.concatenate([lane[1:] for lane in lanes]))
    pre[b[np.abs(eps[b] - eps[a]) > max_steps(prob, eps[a], eps[b])]] = True  # (all lanes' steps in one call)
    ends = [lane[~pre[lane]][-1] for lane in lanes if np.any(~pre[lane])]  # each lane's last continued energy
    reference = _first_batch(prob, eps, order, pre, start, tol, maxiter, (u, ok, res), ends)
    redone = 0
    continued = np.zeros(n, bool)  # energies accepted from a prediction (the ones the sample check samples)
    steps = max(lane.size for lane in lanes)
    if getattr(prob, "compiled_newton", False):  # the same steps, compiled (usadel.sweep_chain)
        redone, continued, steps = *_compiled_lanes(prob, eps, lanes, pre, (u, ok, res), tol, maxiter, start), 0
    for step in range(steps):
        live = [k for k, lane in enumerate(lanes) if step < lane.size]
        idx = np.array([lanes[k][step] for k in live])
        cont = np.array([bool(hist[k]) and not pre[i] for k, i in zip(live, idx)])
        if cont.any():
            ic = idx[cont]
            pu = np.array([predict(eps[hist[k]], u[hist[k]], eps[i]) for k, i in zip(np.array(live)[cont], ic)])
            pu = prob.impose(eps[ic], pu)
            # the sweep's LU, kept apart from the homotopy's; updates far below tol need few digits
            with solver_slot(prob, "sweep", SWEEP_GMRES_ACCEPT, SWEEP_GMRES_XTOL * tol):
                ui, oki, ri = prob.newton(eps[ic], pu.copy(), tol, min(maxiter, SWEEP_MAXITER))
            jump = np.max(np.abs(flat(ui - pu)), axis=1)
            good = oki & on_branch(ui) & (jump <= SWEEP_JUMP)
            u[ic], ok[ic], res[ic] = ui, oki, ri
            cont[cont] = good
            continued[ic[good]] = True
            redone += int(np.sum(~good))
        fresh = idx[~cont & ~pre[idx]]
        if fresh.size:
            u[fresh], ok[fresh], res[fresh] = start(prob, eps[fresh], tol, maxiter)
        for k, i, c in zip(live, idx, cont):
            if c:  # a repeated energy replaces its earlier copy: the predictor needs distinct energies
                hist[k] = ([j for j in hist[k] if eps[j] != eps[i]] + [i])[-kmax:]
            else:
                hist[k] = [i] if ok[i] else []
    if redone:
        log.debug("sweep: %d of %d energies redone by the homotopy", redone, n)
    return _sample_check(prob, eps, u, ok, res, tol, maxiter, start, continued, reference)


def _compiled_lanes(prob, eps, lanes, pre, out, tol, maxiter, start):
    """The loop of :func:`sweep` by :class:`usadel.sweep_chain.Lanes`: compiled steps, and the energies that need
    the homotopy solved together after each step where some do, as there. Returns (redone, continued)."""
    from .sweep_chain import Lanes

    run = Lanes(prob, eps, lanes, pre, out, tol, min(maxiter, SWEEP_MAXITER), (SWEEP_ORDER, SWEEP_JUMP,
                                                                              PREDICT_MAX_WEIGHT))
    u, ok, res = out
    step, redone = 0, 0
    while True:
        step, need, r = run.run(step)
        redone += r
        if not need.size:
            return redone, run.continued
        fresh = run.lanes[need, step]
        u[fresh], ok[fresh], res[fresh] = start(prob, eps[fresh], tol, maxiter)
        for k, i in zip(need, fresh):
            run.restart(k, i)
        step += 1


def _first_batch(prob, eps, order, pre, start, tol, maxiter, out, ends=()):
    """Solve the energies ``pre`` by ``start`` into ``out`` = (u, ok, res), in place, together with the
    sample check's energies (:func:`sample_positions` of the energies to be continued, chosen beforehand, and
    ``ends``, each lane's last continued energy): one homotopy batch instead of two (2D: its stages share
    their LUs with the lane start's; 1D: one batched Newton sequence). Returns (indices, u, ok) of the
    sample's homotopy solutions, or None.

    The lanes' ends are always sampled: a wrong branch that passes the local checks is followed to the end of
    its lane, and lanes end at their lowest energies, where they enter minigaps (a P2 wire of 8 elements
    between gap-1 reservoirs at phase pi/2, 200 energies in [0.5, 3]: the last 9 continued energies, DOS 2-4.6
    for ~0, after the last every-16th sample)."""
    free = order[~pre[order]]  # the energies to be continued, in sweep order
    sample = np.asarray(ends, dtype=int)
    if free.size >= 2 * SWEEP_SAMPLE:
        sample = np.union1d(free[sample_positions(free.size, sparse=_sparse(prob))], sample)
    first = np.concatenate([np.nonzero(pre)[0], sample])
    if first.size == 0:
        return None
    if _sparse(prob):  # each homotopy stage factorises at the batch's first energy: a central one preconditions
        mid = np.argmin(np.abs(eps.real[first] - np.median(eps.real[first])))  # the others best
        perm = np.r_[mid, np.delete(np.arange(first.size), mid)]
        sol = tuple(x[np.argsort(perm)] for x in start(prob, eps[first[perm]], tol, maxiter))
    else:
        sol = start(prob, eps[first], tol, maxiter)
    k = int(np.sum(pre))
    for arr, x in zip(out, sol):
        arr[first[:k]] = x[:k]
    return (sample, sol[0][k:], sol[1][k:]) if sample.size else None


def max_steps(prob, e1, e2):
    """Longest step from energies ``e1`` to ``e2`` (arrays) that the sweep continues; longer ones start afresh.

    Solutions vary in energy on the device's Thouless energy E_Th, on the energy itself (where E >> E_Th
    the coherence length sqrt(D/E) changes by dE/2E) and on the distance to the nearest gap edge (the
    reservoirs' |Delta|, |Delta| -+ |h|, where the boundary values are singular, and the device's own
    gap scale). So a step is continued if it is at most ``SWEEP_MAX_STEP`` E_Th, or at most
    ``SWEEP_REL_STEP`` times the smaller of |E| and that distance at both ends. (E_Th alone is the
    bounding box's: ~1e-6 on a long superconducting wire such as the seed device, where every energy
    then went to the homotopy.) Next to a reservoir's gap edge the boundary values change like the
    square root of the distance d to it, whatever E_Th is, so no step is continued that is longer than
    ``SWEEP_EDGE_STEP`` d (d the smaller at its two ends; an energy on the edge starts afresh). Measured
    before that bound: an SNS wire between gap-5 reservoirs (E_Th = 1, phase pi/2) swept from E = 5.0,
    on the edge, to 4.9 and down to 3.4 on another solution (DOS 1.48 at the centre for 1.28, positive,
    residual at rounding), which only the sample check caught. The device's own gap edges fill the range
    of its local |Delta| (:func:`_gap_distances`; 0 inside it, so there only E_Th steps continue): with the
    largest |Delta| alone, the seed device with a self-consistent Delta(x) (1.47 to 1.76) was swept from
    E = 1.485 across its local gap edge 1.474 to another solution at 1.471 (DOS 1.37 for 0.044 where the
    local gap is smallest), again caught only by the sample check.
    """
    a1, a2 = np.abs(np.real(e1)), np.abs(np.real(e2))
    near = _distances(np.r_[a1, a2], reservoir_edges(prob))  # to the reservoirs' edges, both ends
    dist = np.minimum(near, _gap_distances(prob, np.r_[a1, a2]))  # ... or to the device's own
    local = np.minimum(np.minimum(a1, a2), np.minimum(dist[:a1.size], dist[a1.size:]))
    step = np.maximum(SWEEP_MAX_STEP * prob.ops.thouless_energy, SWEEP_REL_STEP * local)
    return np.minimum(step, SWEEP_EDGE_STEP * np.minimum(near[:a1.size], near[a1.size:]))


def smallest_gap(delta, h=0.0):
    """Smallest local gap edge |Delta| - |h| over the points where Delta is not 0 (``delta``, ``h`` arrays of the
    same shape or h a scalar), 0 at the least; None if Delta is 0 everywhere. The problems' ``smallest_gap``."""
    d = np.abs(delta)
    sc = d > 0
    if not sc.any():
        return None
    return max(float(np.min((d - np.abs(np.broadcast_to(h, d.shape)))[sc])), 0.0)


def _gap_distances(prob, a):
    """Distance of each |E| in ``a`` to the range of the device's own local gap edges, [``prob.smallest_gap``,
    ``prob.energy_scale``] (0 inside it; inf without gap). Every retarded problem has ``smallest_gap``."""
    hi = prob.energy_scale
    lo = prob.smallest_gap
    if not hi > 0 or lo is None:
        return np.full(a.size, np.inf)
    return np.maximum(np.maximum(min(lo, hi) - a, a - hi), 0.0)


def _distances(a, edges):
    """Distance of each |E| in ``a`` to the nearest of ``edges`` (inf without edges)."""
    if not edges.size:
        return np.full(a.size, np.inf)
    return np.min(np.abs(a[:, None] - edges[None, :]), axis=1)


def reservoirs(prob):
    """The reservoirs of a retarded problem's clean (``prob.dirichlet``) and tunnel (``prob.tunnel``) contacts."""
    return [r for _, r in prob.dirichlet] + [r for *_, r in prob.tunnel]


def reservoir_edges(prob):
    """Gap edges |Delta|, |Delta| -+ |h| of the problem's reservoirs: the boundary values are singular there,
    so no lane continues across one (measured: an SNS junction swept down through its reservoirs' gap edge
    at E = 100 landed on another solution with DOS 1.010 for 0.994 at E = 32, passing every local check)."""
    out = {abs(r.delta) + sg * abs(r.h) for r in reservoirs(prob) if r.delta for sg in (-1, 0, 1)}
    return np.array(sorted(e for e in out if e > 0))


def _lanes(order, eps, nl, edges):
    """Cut the sorted energies at the edges (|Re E| on either side), then each piece into lanes of about
    n / nl energies (at least one lane per piece)."""
    side = np.searchsorted(edges, np.abs(eps.real[order]))
    pieces = np.split(order, np.nonzero(np.diff(side))[0] + 1)
    size = max(1, order.size // nl)
    return [lane for p in pieces for lane in np.array_split(p, max(1, round(p.size / size)))]


def sample_positions(n, sparse=False):
    """Positions (among ``n`` continued energies, in the order given) that the sample check solves again.

    Batched (1D) solves: every ``SWEEP_SAMPLE``-th. Sparse (2D) ones: ``SWEEP_SAMPLES_SPARSE`` evenly spread,
    since there each sample costs a homotopy of ~20 sparse Newton steps (measured: ~15 continued energies'
    worth on the 20k-node strip, against a fraction of one in 1D, where the whole batch shares each step). A branch that passes the local checks
    is followed by the continuation over a run of energies (until a check fails or the lane ends), so the
    evenly spread samples, the last of them at the end, catch any such run longer than n / SWEEP_SAMPLES_SPARSE
    energies and any that reaches the end (the sweep also samples every lane's last continued energy).
    """
    if not sparse:
        return np.arange(SWEEP_SAMPLE // 2, n, SWEEP_SAMPLE)
    return np.unique(np.round(np.linspace(0, n - 1, SWEEP_SAMPLES_SPARSE + 1)[1:]).astype(int))


def _sparse(prob):
    """Whether the problem's linear solves are sparse LU (2D), not batched banded ones (1D chains)."""
    solver = getattr(prob, "solver", None)
    return solver is not None and not solver.banded


def _sample_check(prob, eps, u, ok, res, tol, maxiter, start, continued=None, reference=None):
    """Compare a sample of the continued energies (mask ``continued``; None: every energy; positions by
    :func:`sample_positions`) with the homotopy; on any disagreement above ``SWEEP_SAMPLE_TOL`` (a branch the
    local checks missed) redo the whole batch by the homotopy. Energies the homotopy solved already are not
    sampled again. ``reference`` (indices, u, ok): the sample, solved by the homotopy beforehand."""
    if reference is not None:
        idx, us, oks = reference
    else:
        candidates = np.arange(eps.size) if continued is None else np.nonzero(continued)[0]
        if candidates.size < 2 * SWEEP_SAMPLE:
            return u, ok, res
        idx = candidates[sample_positions(candidates.size, _sparse(prob))]
        us, oks, _ = start(prob, eps[idx], tol, maxiter)
    diff = np.max(np.abs(flat(us - u[idx])), axis=1)
    if np.all(diff[oks & ok[idx]] <= SWEEP_SAMPLE_TOL):
        return u, ok, res
    log.warning("sweep: %d of %d sampled energies differ from the homotopy (up to %.2e, e.g. E = %s); the batch "
                "is redone by the homotopy", int(np.sum(diff > SWEEP_SAMPLE_TOL)), idx.size, float(np.max(diff)),
                eps[idx][diff > SWEEP_SAMPLE_TOL][:3].tolist())
    return start(prob, eps, tol, maxiter)
