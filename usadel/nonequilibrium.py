r"""The nonequilibrium part of the gap equation (seed Eq. 8 out of equilibrium).

Where hL is not thermal, Eq. 8 gains

    delta_neq = -(1/2) Int dE Re[F^R] (hL - tanh(E/2T))

from the real axis (:func:`delta_neq`; per spin block with an exchange field), added to the Matsubara
(equilibrium) map of ``usadel.matsubara``. :class:`NonequilibriumMap` is that outer map for a
prescribed distribution (``gap(hL=...)``) or the kinetic one (``usadel.solve``):
the real energies co-move with the gap, E = max|Delta| u on a fixed grid u
(:func:`comoving_grid`), because on a fixed grid the gap-edge singularity of F^R
makes the trapezoid integral jump as Delta moves between grid points; a uniform
tail resolves every energy where a distribution is nonthermal
(:func:`nonthermal_reach`).
"""

import numpy as np

from . import budget
from .bcs import DELTA0_OVER_TC as DELTA00
from .bulk import reservoir_h
from .errors import UsadelError
from .retarded import spectral

__all__ = ["delta_neq", "comoving_grid", "split_edges", "nonthermal_reach", "grid_floor", "NonequilibriumMap",
           "BYTES_PER_ENERGY", "MAX_REAL_ENERGIES"]

#: planned bytes per real energy x node in the nonequilibrium loop (spectral and kinetic solutions and
#: their work arrays: measured peak 4100 for solve() on an N-S-N wire, 1400 for gap(hL=...))
BYTES_PER_ENERGY = 4500
#: at most this many real energies in the nonequilibrium loop (co-moving grid plus its thermal tail)
MAX_REAL_ENERGIES = 100_000
#: a distribution deviating from its thermal value by more than this is nonthermal
NONTHERMAL = 1e-10
#: nonthermal_reach samples this many energies, geometrically from REACH_START T to its ``top`` ...
REACH_POINTS = 8000
REACH_START = 1e-3
#: ... and refines (with REFINE_POINTS) a last nonthermal interval wider than REFINE_SPACING T
REFINE_SPACING = 10
REFINE_POINTS = 2001
#: distributions are searched for nonthermal parts up to this multiple of the largest energy scale
#: (T, Tc0, reservoir temperatures, |mu| + |mu_s|); nonthermal beyond it raises
REACH_TOP = 1e4
#: the grid's thermal tail extends this many T past the last nonthermal energy (tanh(40/2) = 1 - 8e-18)
THERMAL_MARGIN = 40
#: points of the uniform tail per unit T (spacing T/4, resolving every Fermi edge)
TAIL_DENSITY = 4
#: ... at least this many
TAIL_MIN_POINTS = 8
#: ... and as T -> 0 the spacing stays above TAIL_SPACING_FLOOR x the grid's scale / TAIL_DENSITY
TAIL_SPACING_FLOOR = 1e-3
#: bound on the tail's point count before the int() (a huge count then fails the size check)
MAX_COUNT = 1e15
#: smallest scale of the co-moving grid, in units of DELTA00 Tc0: a collapsing gap must not shrink it
GRID_FLOOR = 0.1


def delta_neq(sp, hL, T, hTS=None):
    """Nonequilibrium pairing correction per node (``docs/conventions.md``, Gap equation):

        delta_neq = -(1/2) Int dE F^R(E) (hL(E) - tanh(E/2T)),

    from a real-axis SpectralResult at E >= 0 (F^R(-E) = conj(F~^R(E)) folds the
    negative energies in) and hL of shape (n_E, n_nodes) at the same energies.
    For chi = 0 this is -Int_0^inf dE Re[sinh th] (hL - tanh), seed Eq. 8.

    Spin split (exchange field): each block s pairs with its own distribution
    a_s = hL + s hTS, and the correction is the block average
    -(1/2) Int dE (1/2) Sum_s (F_s - F~_s^*) (a_s - tanh) (the map E -> -E exchanges the
    blocks, so the folded integrand is even); ``hTS`` None means a spin-independent
    distribution, for which this is the spin-averaged F times (hL - tanh).
    """
    E = np.real(sp.energies)
    if np.any(E < 0) or np.any(np.diff(E) <= 0):
        raise UsadelError("delta_neq: needs increasing energies E >= 0")
    dh = hL - np.tanh(E / (2 * T))[:, None]
    integrand = (sp.F - np.conj(sp.Ft)) * dh
    if hTS is not None and sp.spin_split:
        for s in (1, -1):  # the spin-odd part: (1/2) Sum_s s (F_s - F~_s^*) hTS
            b = sp.block(s)
            integrand = integrand + 0.5 * s * (b.F - np.conj(b.Ft)) * hTS
    return -0.5 * np.trapezoid(integrand, E, axis=0)


def comoving_grid(n=1600, e_max=12.0, T_over_delta=None, mu_over_delta=(), edges=()):
    """Energy grid in units of the gap, u = E/Delta_max (see ``usadel.gap``).

    ``n`` energies up to ``e_max`` gaps, graded at the gap edge u = 1 and at the further
    ``edges`` (the spin blocks' edges 1 +- |h|/Delta of a spin-split device, :func:`split_edges`),
    and at the thermal scale and the bias windows ``mu_over_delta`` if given, from
    ``usadel.observables.energy_grid``.
    """
    from .observables import energy_grid

    return energy_grid([1.0] + [e for e in edges if e > 0], T=T_over_delta, e_max=e_max, n=n, mu=mu_over_delta)


def split_edges(device, scale):
    """The spin blocks' gap edges 1 +- |h|/scale (units of the co-moving grid at gap ``scale``) of a device
    with exchange fields, () without: on a grid graded only at 1 the blocks' edge singularities cost
    ~1e-3 of the gap."""
    hs = {abs(m.h) for m in device.materials.values()} | {abs(c.h) for c in device.contacts.values()}
    if scale <= 0 or not any(hs):
        return ()
    return tuple(sorted({1 + sg * x / scale for x in hs if x > 0 for sg in (1, -1)}))


def nonthermal_reach(deviations, T, top):
    """Largest energy where any distribution deviates from equilibrium at T (> ``NONTHERMAL``).

    ``deviations``: callables E -> array (n_E, ...) of deviations from the
    thermal values (for hL: hL - tanh(E/2T)). Sampled on a geometric grid from
    REACH_START T to ``top``; raises if a deviation persists up to ``top`` (a
    distribution must be thermal at high energies for the cutoff-free Eq. 8:
    there Re F^R ~ Delta/E and the integral would grow as ln E).
    """
    E = np.geomspace(REACH_START * T, top, REACH_POINTS)
    reach = 0.0
    for f in deviations:
        v = np.abs(np.asarray(f(E), float)).reshape(E.size, -1).max(axis=1)
        off = v > NONTHERMAL
        if off[-1]:
            raise UsadelError(f"the prescribed or reservoir distribution is not thermal up to E = {top:.3g} "
                              f"(deviation {v[-1]:.2e} there); Eq. 8 needs thermal distributions at high energy")
        if off.any():
            k = int(np.nonzero(off)[0][-1])
            top_k = float(E[k])
            if E[k + 1] - E[k] > REFINE_SPACING * T:  # geometric spacing coarser than the thermal scale
                Ef = np.linspace(E[k], E[k + 1], REFINE_POINTS)
                vf = np.abs(np.asarray(f(Ef), float)).reshape(Ef.size, -1).max(axis=1)
                top_k = max(top_k, float(Ef[vf > NONTHERMAL].max(initial=top_k)))
            reach = max(reach, top_k)
    return reach


def grid_floor(prob):
    """Smallest scale of the co-moving real grid: GRID_FLOOR DELTA00 of the largest Tc0 of ``prob``."""
    return GRID_FLOOR * DELTA00 * float(np.max(prob.tc0[prob.sc]))


def _reservoir_reach(device, T, tcmax, deviations):
    """Energy up to which the real grid must reach: the last nonthermal energy plus THERMAL_MARGIN T."""
    contacts = device.contacts.values()
    res_dev = [lambda E, r=r: reservoir_h(r, E) - np.stack([np.tanh(E / (2 * T))] + [0 * E] * 3, axis=-1)
               for r in contacts if r.T is not None or r.distribution is not None]
    top = REACH_TOP * max(T, tcmax, max([r.T or 0.0 for r in contacts], default=0.0),
                          max([abs(r.mu) + abs(r.mu_s) for r in contacts], default=0.0))
    return nonthermal_reach(list(deviations) + res_dev, T, top) + THERMAL_MARGIN * T


class NonequilibriumMap:
    """G(Delta) with delta_neq from the real axis on the co-moving grid E = max|Delta| u.

    ``prob``: the Matsubara map (``usadel.matsubara.GapMap``); ``hL_of(E, sp)``:
    hL on the real energies E given their spectral solution sp, shape (n_E,) or
    (n_E, n_nodes); ``deviations``: callables for :func:`nonthermal_reach`
    besides the reservoirs'. The grid's scale never drops below
    :func:`grid_floor`, and a uniform tail (spacing T/4) extends it past every
    energy where a distribution in ``deviations`` or a reservoir at another
    temperature is nonthermal, plus THERMAL_MARGIN T. Raises UsadelError before
    any solve if the largest grid the loop can build exceeds
    ``MAX_REAL_ENERGIES`` or the memory budget. Calling it returns
    (G(Delta), Matsubara solution); ``last`` holds (spectral solution, hL) of the
    last call, and every real-axis solve is warm-started from the previous one.
    """

    def __init__(self, prob, T, hL_of, u, eta, deviations=(), where="gap", comoving_edges=False):
        self.prob, self.device, self.T, self.hL_of, self.u, self.eta = prob, prob.device, T, hL_of, u, eta
        self.comoving_edges = comoving_edges
        self.n = self.device.operators.n
        self.floor = grid_floor(prob)
        self.reach = _reservoir_reach(self.device, T, float(np.max(prob.tc0[prob.sc])), deviations)
        self.warm = None
        self.last = None
        # the largest grid the loop can build: the tail is longest at the smallest scale (the floor)
        worst = u.size + (self.tail_points(self.floor) - 1 if self.reach > self.floor * u[-1] else 0)
        need = worst * self.n * BYTES_PER_ENERGY
        if worst > MAX_REAL_ENERGIES or need > budget.MEMORY_BUDGET:
            raise UsadelError(
                f"{where}: the nonequilibrium loop would need {worst} real energies (a distribution is nonthermal up "
                f"to E = {self.reach:.3g}, resolved with spacing T/4 = {T / TAIL_DENSITY:.3g}) on {self.n} nodes, "
                f"about {budget.gib(need)}; the limits are {MAX_REAL_ENERGIES} energies and "
                f"{budget.gib(budget.MEMORY_BUDGET)} (usadel.nonequilibrium MAX_REAL_ENERGIES, usadel.budget "
                f"MEMORY_BUDGET); reduce the bias or the spin accumulation, or raise T")

    def tail_points(self, scale):
        """The uniform tail's linspace count at grid scale ``scale`` (bounded before the int())."""
        T = self.T
        return max(TAIL_MIN_POINTS, int(min(TAIL_DENSITY * (self.reach - scale * self.u[-1])
                                            / max(T, TAIL_SPACING_FLOOR * scale), MAX_COUNT)))

    def energies(self, d):
        """The real grid for the gap ``d`` and its scale max(max|d|, floor).

        With ``comoving_edges`` (a spin-split device on the default grid) the grid is rebuilt
        at every scale, graded at the blocks' edges 1 +- |h|/scale, which do not co-move."""
        scale = max(float(np.max(np.abs(d))), self.floor)
        u = self.u if not self.comoving_edges else comoving_grid(n=self.u.size, edges=split_edges(self.device, scale))
        E = scale * u
        if self.reach > E[-1]:
            E = np.r_[E, np.linspace(E[-1], self.reach, self.tail_points(scale))[1:]]
        return E, scale

    def __call__(self, d):
        E, scale = self.energies(d)
        if self.warm is not None and self.warm.energies.size != E.size:
            self.warm = None  # the grid's tail changed length: no warm start (a moved grid keeps it as a guess)
        sp = spectral(self.device, E, delta=d, eta=self.eta * scale, guess=self.warm)
        self.warm = sp
        h = self.hL_of(E, sp)
        h, hTS = h if isinstance(h, tuple) else (h, None)  # (hL, hTS) from the kinetic equations with h
        h = np.asarray(h, float)
        h = np.broadcast_to(h[:, None] if h.ndim == 1 else h, (E.size, self.n))
        new, msp = self.prob.update(d, delta_neq(sp, h, self.T, hTS))
        self.last = (sp, h)
        return new, msp
