r"""Stability of normal solutions of the gap equation, and the restart along a growing mode.

The normal state Delta = 0 solves the gap equation at every temperature, and an
outer iteration that reaches it (from a start too close to it, or through a large
step) meets any residual tolerance, stable or not. :func:`normal_state_growth`
measures the growth rate of small gaps in the normal part of a converged Delta;
:func:`stable_solution` runs an outer iteration and, if it ends on an unstable
normal part, restarts once along the growing mode (``docs/conventions.md``, Gap
equation).
"""

import logging

import numpy as np

from .bcs import DELTA0_OVER_TC as DELTA00
from .errors import ConvergenceError

__all__ = ["normal_state_growth", "stable_solution", "NORMAL_LEVEL", "NORMAL_MARGIN"]

log = logging.getLogger(__name__)

#: a gap below this fraction of the local Tc0 counts as normal for the stability check
NORMAL_LEVEL = 1e-3
#: growth rate (in ln(Tc/T) units, see normal_state_growth) above which a normal part is unstable
NORMAL_MARGIN = 1e-5
#: finite-difference step of the Jacobian-vector products, in units of the largest Tc0 (small
#: against the gap, large against the loop's tolerance)
PROBE_STEP = 1e-4
#: the Ritz value counts as settled once a step moves kappa by less than this fraction of itself ...
SETTLED = 1e-2
#: ... or by less than this fraction of NORMAL_MARGIN (for kappa near 0)
SETTLED_MARGIN = 0.1
#: Arnoldi breakdown: the new Krylov vector is below this fraction of the Ritz value (invariant subspace)
BREAKDOWN = 1e-8
#: a growth rate above this is clearly unstable: no need to refine it
CLEARLY_UNSTABLE = 0.5
#: after EARLY_STEPS steps a rate above EARLY_FACTOR x NORMAL_MARGIN ends the Arnoldi process too
EARLY_STEPS = 2
EARLY_FACTOR = 10
#: guards the breakdown test against a zero Ritz value
RITZ_FLOOR = 1e-300
#: restart amplitude along a growing mode, in units of the bulk gap DELTA00 Tc0
KICK = 0.5
#: an error message counts the nodes where the growing mode exceeds this fraction of its maximum
MODE_SUPPORT = 0.1


def normal_state_growth(G, d, prob, m=16):
    """Linear growth rate of small gaps in the normal part of a converged Delta (stability check).

    ``G``: the outer map Delta -> G(Delta); ``prob``: its
    ``usadel.matsubara.GapMap``; ``m``: Arnoldi steps at most. An outer
    iteration that reaches Delta = 0 meets any residual tolerance: G(Delta) -
    Delta ~ (lambda - 1) Delta is below the tolerance for small Delta whatever
    lambda is. Physical states are those where small gaps shrink. With ``low``
    the superconducting nodes where |Delta| < NORMAL_LEVEL Tc0, lambda is the
    dominant eigenvalue of the Jacobian J of G restricted to ``low`` (the
    superconducting remainder responds but is not perturbed), from an Arnoldi
    process on finite differences J v = (G(Delta + eps v) - G(Delta))/eps,
    eps = PROBE_STEP Tc0, orthogonal in the inner product of ``prob.growth_metric``:
    P1's lumped pairing mass, the consistent pairing mass B on the free dofs at
    order p (in which the linearised gap operator at the normal state is
    self-adjoint, so the top Ritz value is a lower bound that rises towards
    lambda: no false alarms; P1's lumped mass at order p overshot, +1.2e-3 for
    an exact -8.9e-4). It stops after ``m`` steps, once the Ritz value moves by
    less than SETTLED of kappa per step, or, where it is a lower bound (order p:
    one Tc0 and every superconducting free dof normal), once it is clearly
    unstable; in a long normal wire the
    spectrum is dense and the estimate is rough but its sign is not (seed
    device, eV = 3 Delta0: kappa = -0.583 after 8 steps, -0.555 after 22). G divides by
    lhs = sum_{n<N} 1/w_n - ln(Tc0/T) ~ ln(w_c/T), so lambda - 1 is small; the
    rate returned is kappa = (lambda - 1) lhs, in the units of the linearised
    gap equation: a homogeneous normal superconductor (or one depaired by a
    nonequilibrium hL) gives kappa = ln(Tc/T) for its own effective Tc.
    kappa > 0: the normal part is unstable and the solution is not physical.
    Returns (kappa, mode), the mode normalised to max |mode| = 1, or (None, None)
    when no node is normal.
    """
    low = prob.sc & (np.abs(d) < NORMAL_LEVEL * prob.tc0)
    low, gram, bound = prob.growth_metric(low)
    if not np.any(low):
        return None, None
    lhs = float(np.mean((prob.sum_inv_w - prob.ln_ratio)[low]))
    dot = _inner_product(low, gram)
    eps = PROBE_STEP * float(np.max(prob.tc0[prob.sc]))
    g0 = G(d)

    def apply(v, j):
        u = np.where(low, (G(d + eps * v) - g0) / eps, 0.0)
        if not np.all(np.isfinite(u)):
            raise ConvergenceError(f"normal_state_growth: the outer map returned non-finite values at Arnoldi step {j}")
        return u

    top, V, y = _arnoldi(apply, low.astype(complex), dot, m, lhs, bound)
    mode = np.real(np.stack(V[:y.size], axis=1) @ y)
    mode = mode * np.sign(np.sum(mode)) / np.max(np.abs(mode))
    return (top - 1.0) * lhs, mode


def _inner_product(low, gram):
    """(a, b) -> Re(a^H W b) over the nodes ``low``: W = diag(gram) (1D weights) or the matrix ``gram``."""
    if np.ndim(gram) == 1:
        wt = np.zeros(low.size)
        wt[low] = gram
        return lambda a, b: float(np.sum(wt * np.real(np.conj(a) * b)))
    return lambda a, b: float(np.real(np.vdot(a[low], gram @ b[low])))


def _arnoldi(apply, v0, dot, m, lhs, bound=True):
    """Dominant Ritz value of ``apply`` (real part largest) from v0: (value, Krylov basis, Ritz vector).

    ``bound``: ``apply`` is self-adjoint in ``dot``, so the Ritz value is a lower bound and a clearly
    positive one ends the process early; otherwise it may overshoot and only settling (or ``m``) ends it."""
    V = [v0 / np.sqrt(dot(v0, v0))]
    H = np.zeros((m + 1, m))
    top, y = None, None
    for j in range(m):
        u = apply(V[j], j)
        for _ in range(2):  # Gram-Schmidt, repeated once
            for i in range(j + 1):
                c = dot(V[i], u)
                H[i, j] += c
                u = u - c * V[i]
        H[j + 1, j] = np.sqrt(max(dot(u, u), 0.0))
        vals, vecs = np.linalg.eig(H[:j + 1, :j + 1])
        k = int(np.argmax(vals.real))
        new = float(vals[k].real)
        kappa = (new - 1.0) * lhs
        log.debug("normal_state_growth: Arnoldi step %d, kappa %.6g", j, kappa)
        settled = top is not None and abs(new - top) * lhs < max(SETTLED * abs(kappa), SETTLED_MARGIN * NORMAL_MARGIN)
        top, y = new, np.real(vecs[:, k])
        early = bound and (kappa > CLEARLY_UNSTABLE or (j >= EARLY_STEPS and kappa > EARLY_FACTOR * NORMAL_MARGIN))
        if settled or H[j + 1, j] < BREAKDOWN * max(abs(new), RITZ_FLOOR) or early:
            break
        V.append(u / H[j + 1, j])
    return top, V, y


def _kick(d, v, prob):
    """Restart point d + (a bulk-sized gap along the growing mode v) for an unstable normal part."""
    return d + KICK * DELTA00 * prob.tc0 * v


def stable_solution(run, G, d0, prob, check, where):
    """run(d0) -> (d, hist, ok, extra); if its normal part is unstable, restart once along the mode.

    Returns (d, hist, ok, extra, growth), ``growth`` the rate of
    :func:`normal_state_growth` (None if unchecked or nowhere normal). Raises
    ConvergenceError if the restart converges to an unstable normal state again.
    """
    d, hist, ok, extra = run(d0)
    growth = None
    if not (ok and check):
        return d, hist, ok, extra, growth
    growth, v = normal_state_growth(G, d, prob)
    if growth is not None and growth > NORMAL_MARGIN:
        log.info("%s: converged to a normal part where small gaps grow (rate %.3g); restarting along "
                 "that mode", where, growth)
        d, h2, ok, extra = run(_kick(d, v, prob))
        hist = hist + h2
        if ok:
            growth, v = normal_state_growth(G, d, prob)
            if growth is not None and growth > NORMAL_MARGIN:
                support = int(np.count_nonzero(np.abs(v) > MODE_SUPPORT))
                raise ConvergenceError(
                    f"{where}: the iteration converged twice to a normal state that is unstable (small gaps grow "
                    f"at the rate {growth:.3g} = ln(Tc/T)-equivalent, mode on {support} nodes); pass a finite "
                    f"delta0 near the superconducting solution", history=hist, residuals=np.array(hist))
    return d, hist, ok, extra, growth
