"""Full nonequilibrium self-consistent loop: spectral <-> kinetic <-> gap (seed Eqs. 4-10).

Each outer iteration solves, for the current Delta(x): the Matsubara problem (the
equilibrium part of Eq. 8), the retarded problem on the real axis, the kinetic
equations with the device's reservoirs, and the gap equation with
delta_neq = -(1/2) Int dE F^R (hL - tanh(E/2T)) from the kinetic hL; Anderson
acceleration drives Delta to self-consistency. The real energies co-move with the
gap (E = max|Delta| u, see :func:`usadel.gap`).
"""

import logging
from dataclasses import dataclass, field

import numpy as np

from .device import Device
from .errors import ConvergenceError, UsadelError
from .selfconsistency import (_GapProblem, _check_finite_delta, _energy_array, _grid_floor, _initial_delta, _loop_args,
                  _neq_map, _NewtonKrylov, _node_array, _nonfinite_note, _stable_solution, _warm_branch_error,
                  anderson, comoving_grid)
from .keldysh import kinetic

__all__ = ["solve", "SolveResult"]

log = logging.getLogger(__name__)


@dataclass
class SolveResult:
    """Self-consistent nonequilibrium state.

    delta (n_nodes) complex gap; spectral / kinetic at the real energies of the
    last iteration; iterations and residual history of the outer loop;
    normal_growth: linear growth rate (ln(Tc/T) units) of small gaps where Delta is
    normal (< 0: stable; None: nowhere normal or unchecked), see
    :func:`usadel.selfconsistency.normal_state_growth`.
    """

    device: Device
    delta: np.ndarray
    spectral: object = field(repr=False)
    kinetic: object = field(repr=False)
    iterations: int = 0
    history: list = field(default_factory=list)
    normal_growth: float = None

    @property
    def energies(self):
        return np.real(self.spectral.energies)


def solve(device, T, energies=None, *, delta0=None, tol=1e-7, maxiter=80, cutoff=60.0, eta=1e-6, check_normal=True):
    """Nonequilibrium self-consistent Delta(x), th and h for a device with reservoirs.

    Parameters
    ----------
    device : Device
        Every contact needs a temperature (or a prescribed distribution).
    T : float
        Reference temperature of the Matsubara/real-axis split of Eq. 8 (any T > 0
        gives the same answer; use the reservoirs' temperature).
    energies : array or None
        Real-axis grid E >= 0 at the initial gap; it is rescaled with max|Delta|
        during the iteration. Default: :func:`usadel.selfconsistency.comoving_grid`.
    check_normal : bool
        Where the converged Delta is normal in a superconductor, check that small
        gaps there shrink under the nonequilibrium map (a strong bias can make
        the normal state stable; below Tc without bias it is not), restart once
        along a growing mode and raise if the normal state is still unstable
        (:func:`usadel.selfconsistency.normal_state_growth`; a few extra outer maps).
    delta0, tol, maxiter, cutoff, eta
        As in :func:`usadel.gap` (checked the same way, before any work).

    Raises
    ------
    UsadelError
        For an invalid argument (naming it), or when the real-energy grid the
        reservoirs' distributions need (thermal tail up to the largest bias,
        spacing T/4) exceeds ``usadel.selfconsistency`` MAX_REAL_ENERGIES or MEMORY_BUDGET
        (stating its size).
    ConvergenceError
        If the outer loop does not converge, or the kinetic hL or the result is
        not finite.
    """
    T, tol, maxiter, cutoff, eta, check_normal = _loop_args("solve", device, T, tol, maxiter, cutoff, eta, check_normal)
    n = device.topology.n_nodes
    delta0 = None if delta0 is None else _node_array("solve: delta0", delta0, n)
    E = None if energies is None else _energy_array("solve: energies", energies)
    for tag, res in device.contacts.items():
        if res.T is None and res.distribution is None:
            raise UsadelError(f"solve: contact {tag!r} needs a temperature T (or a distribution)")
    prob = _GapProblem(device, T, cutoff, None, where="solve")
    d0 = _initial_delta(prob) if delta0 is None else delta0
    dmax0 = float(np.max(np.abs(d0)))
    if energies is None:
        u = comoving_grid()
    else:
        floor = _grid_floor(prob)
        if dmax0 >= floor and (E.max() < 3 * dmax0 or np.sum((E > 0.7 * dmax0) & (E < 1.3 * dmax0)) < 10):
            raise UsadelError(f"solve: the energy grid misses the gap edge or stops below 3 Delta "
                              f"(Delta ~ {dmax0:.3g}); use usadel.observables.energy_grid")
        u = E / max(dmax0, floor)
    state = {}

    def hL_of(E, sp):
        k = kinetic(sp)
        state["k"] = k
        bad = ~np.all(np.isfinite(k.hL), axis=1)
        if bad.any():
            raise ConvergenceError(f"solve: the kinetic equations returned a non-finite hL at {int(bad.sum())} of "
                                   f"{E.size} energies (e.g. E = {E[bad][:3].tolist()}) at T = {T}",
                                   energies=E[bad])
        return k.hL

    fun = _neq_map(prob, device, T, hL_of, u, eta, where="solve")
    nk = _NewtonKrylov(prob)
    pre = (lambda x, r, msp: nk.step(x, r, msp)) if nk.fits() else None  # equilibrium Jacobian as preconditioner
    saved = {}

    def run(x0):  # keep each run's final spectral/kinetic state: the stability check's maps overwrite it
        out = anderson(fun, x0, tol * float(np.max(prob.tc0[prob.sc])), maxiter, precondition=pre)
        saved.update(last=fun.state["last"], k=state["k"])
        return out

    G = lambda x: fun(x)[0]
    d, hist, ok, _, growth = _stable_solution(run, G, d0, prob, check_normal, f"solve (T = {T})")
    if ok and (jump := _warm_branch_error(prob, d)) > tol * float(np.max(prob.tc0[prob.sc])):
        log.warning("solve (T = %s): the warm-started Matsubara solutions left the physical branch (pair sum off by "
                    "%.2e at the result); iterating again with every solve continued from large w", T, jump)
        prob.cold = True
        d, h2, ok, _, growth = _stable_solution(run, G, d, prob, check_normal, f"solve (T = {T})")
        hist = hist + h2
    fun.state["last"], state["k"] = saved["last"], saved["k"]
    if not ok:
        hint = ""
        if len(hist) > 10 and min(hist) < 1e-2 * hist[0]:
            hint = ("; the residual stalls far below its start: typically the real-energy grid cannot resolve the "
                    "gap edge where Delta(x) varies in space (quasiparticles trapped between regions of different "
                    "gap), so the map is noisy at that level; pass more energies")
        raise ConvergenceError(f"solve: outer loop did not converge in {maxiter} iterations (energies: {u.size})"
                               f"{_nonfinite_note(hist)}; residual history {['%.2e' % h for h in hist]}{hint}",
                               history=hist, residuals=np.array(hist))
    _check_finite_delta("solve", d, T, hist)
    sp, _ = fun.state["last"]
    return SolveResult(device=device, delta=d, spectral=sp, kinetic=state["k"], iterations=len(hist), history=hist,
                       normal_growth=growth)
