"""Full nonequilibrium self-consistent loop: spectral <-> kinetic <-> gap (seed Eqs. 4-10).

Each outer iteration solves, for the current Delta(x): the Matsubara problem (the
equilibrium part of Eq. 8), the retarded problem on the real axis, the kinetic
equations with the device's reservoirs, and the gap equation with
delta_neq = -(1/2) Int dE F^R (hL - tanh(E/2T)) from the kinetic hL
(``usadel.nonequilibrium``). The outer loop is the one of ``usadel.gap``
(``usadel.selfconsistency.converge``): Anderson acceleration preconditioned by the
equilibrium Jacobian. The real energies co-move with the gap (E = max|Delta| u).
"""

from dataclasses import dataclass, field

import numpy as np

from .device import Device
from .errors import ConvergenceError, UsadelError
from .keldysh import kinetic
from .exchange import spin_split
from .nonequilibrium import NonequilibriumMap, comoving_grid, grid_floor
from .selfconsistency import converge, energy_array, gap_map, loop_args, node_array
from .results import ResultMixin

__all__ = ["solve", "SolveResult"]

#: a user grid must reach GRID_TOP x the initial gap ...
GRID_TOP = 3.0
#: ... and hold EDGE_POINTS energies within EDGE_WINDOW of it (the gap edge)
EDGE_WINDOW = (0.7, 1.3)
EDGE_POINTS = 10
#: a failed loop whose residual fell below STALL_DROP of its start after STALL_AFTER iterations has
#: stalled (the error message then points at the energy grid)
STALL_AFTER = 10
STALL_DROP = 1e-2


@dataclass(repr=False)
class SolveResult(ResultMixin):
    """Self-consistent nonequilibrium state.

    delta (n_nodes) complex gap; spectral / kinetic at the real energies of the
    last iteration; iterations and residual history of the outer loop;
    normal_growth: linear growth rate (ln(Tc/T) units) of small gaps where Delta is
    normal (< 0: stable; None: nowhere normal or unchecked), see
    :func:`usadel.stability.normal_state_growth`.
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


class _KineticDistribution:
    """hL(E, sp) for the nonequilibrium map: the kinetic equations with the device's reservoirs."""

    def __init__(self, T):
        self.T, self.result = T, None

    def __call__(self, E, sp):
        k = kinetic(sp)
        self.result = k
        bad = ~np.all(np.isfinite(k.hL), axis=1)
        if bad.any():
            raise ConvergenceError(f"solve: the kinetic equations returned a non-finite hL at {int(bad.sum())} of "
                                   f"{E.size} energies (e.g. E = {E[bad][:3].tolist()}) at T = {self.T}",
                                   energies=E[bad])
        return (k.hL, k.hTS) if sp.spin_split else k.hL  # spin split: each block pairs with hL + s hTS


def _comoving_u(prob, E, d0):
    """The co-moving grid u = E/max|Delta|: the default, or the user's energies checked at the initial gap."""
    if E is None:
        return comoving_grid()
    dmax0 = float(np.max(np.abs(d0)))
    floor = grid_floor(prob)
    lo, hi = EDGE_WINDOW
    if dmax0 >= floor and (E.max() < GRID_TOP * dmax0 or np.sum((E > lo * dmax0) & (E < hi * dmax0)) < EDGE_POINTS):
        raise UsadelError(f"solve: the energy grid misses the gap edge or stops below {GRID_TOP:g} Delta "
                          f"(Delta ~ {dmax0:.3g}); use usadel.observables.energy_grid")
    return E / max(dmax0, floor)


def _stall_hint(hist):
    if len(hist) > STALL_AFTER and min(hist) < STALL_DROP * hist[0]:
        return ("; the residual stalls far below its start: typically the real-energy grid cannot resolve the "
                "gap edge where Delta(x) varies in space (quasiparticles trapped between regions of different "
                "gap), so the map is noisy at that level; pass more energies")
    return ""


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
        during the iteration. Default: :func:`usadel.nonequilibrium.comoving_grid`.
    check_normal : bool
        Where the converged Delta is normal in a superconductor, check that small
        gaps there shrink under the nonequilibrium map (a strong bias can make
        the normal state stable; below Tc without bias it is not), restart once
        along a growing mode and raise if the normal state is still unstable
        (:func:`usadel.stability.normal_state_growth`; a few extra outer maps).
    delta0, tol, maxiter, cutoff, eta
        As in :func:`usadel.gap` (checked the same way, before any work).

    Raises
    ------
    UsadelError
        For an invalid argument (naming it), or when the real-energy grid the
        reservoirs' distributions need (thermal tail up to the largest bias,
        spacing T/4) exceeds ``usadel.nonequilibrium.MAX_REAL_ENERGIES`` or
        ``usadel.budget.MEMORY_BUDGET`` (stating its size).
    ConvergenceError
        If the outer loop does not converge, or the kinetic hL or the result is
        not finite.
    """
    T, tol, maxiter, cutoff, eta, check_normal = loop_args("solve", device, T, tol, maxiter, cutoff, eta, check_normal)
    n = device.topology.n_nodes
    delta0 = None if delta0 is None else node_array("solve: delta0", delta0, n)
    E = None if energies is None else energy_array("solve: energies", energies)
    for tag, res in device.contacts.items():
        if res.T is None and res.distribution is None:
            raise UsadelError(f"solve: contact {tag!r} needs a temperature T (or a distribution)")
    prob = gap_map(device, T, cutoff, None, where="solve")
    d0 = prob.initial_delta() if delta0 is None else delta0
    u = _comoving_u(prob, E, d0)
    hL = _KineticDistribution(T)
    fun = NonequilibriumMap(prob, T, hL, u, eta, where="solve", comoving_edges=E is None and spin_split(device))
    saved = {}

    def keep():  # each run's final spectral/kinetic state: the stability check's maps overwrite it
        saved.update(last=fun.last, k=hL.result)

    d, hist, _, growth = converge(
        "solve", T, prob, fun, d0, tol=tol, maxiter=maxiter, check_normal=check_normal, newton=True,
        exact_jacobian=False, after_run=keep, hint=_stall_hint,
        failure=f"solve: outer loop did not converge in {maxiter} iterations (energies: {u.size})")
    sp, _ = saved["last"]
    return SolveResult(device=device, delta=d, spectral=sp, kinetic=saved["k"], iterations=len(hist), history=hist,
                       normal_growth=growth)
