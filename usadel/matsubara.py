r"""The equilibrium gap map of seed Eq. 8 on the Matsubara axis.

Seed Eq. 8 with N0 lambda and the Debye cutoff eliminated in favour of the bulk
Tc0 of each material (``docs/conventions.md``, Gap equation):

    Delta ln(Tc0/T) = 2 pi T sum_{w_n > 0} [Delta/w_n - f_n] - delta_neq,
    f_n = -i F(i w_n)   (F = sinh th e^{i chi}: the Matsubara pair amplitude).

:class:`GapMap` solves this for Delta given f_n(Delta) (one outer map G). The sum
runs to an automatic cutoff w_c = ``cutoff`` x max(Tc0, Delta, E_Th); its tail
beyond it is the exact discrete linear response (``usadel.linear_response``:
``LinearTail``, dense eigenmodes and digamma sums, up to ``MAX_DENSE_TAIL`` nodes;
above that ``QuadratureTail``, sparse solves on a quadrature in w, 1e-8 of the
exact sum) plus the local nonlinear BCS correction ~ |Delta|^2 Delta/(4 w_c^2). At low
T (more than ``MAX_MATSUBARA`` frequencies below w_c, or more than the memory
budget allows) only the first N0 are explicit and the rest up to w_c is a
Gauss-Legendre quadrature in ln w with Euler-Maclaurin end corrections
(``_matsubara_plan``; equal to the explicit sum to 1e-10 at N0 = 100), so T -> 0
costs ~20 more frequencies per decade instead of a factor 10 (T = 1e-6 Tc0: ~2100
frequencies instead of 9.5 million). Requests beyond ``usadel.budget.MEMORY_BUDGET``
raise UsadelError before any work, with the size they would need.

Debye cutoff (``omega_D``): a Lorentzian regulator, the Debye weight
omega_D^2/(w_n^2 + omega_D^2) per frequency, turns ln(Tc0/T) into
Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0) (``docs/derivations.md``, Debye cutoff
and the Cooper limit); the regulated linear tail is a digamma sum too.
"""

import logging

import numpy as np

from .order import require_order1
from . import budget
from .bcs import DELTA0_OVER_TC as DELTA00
from .device import Device
from .errors import UsadelError
from .exchange import SPINS, exchange_weights, max_exchange, spin_mixing, spin_split
from .linear_response import EM_STEP, LinearTail, QuadratureTail, psi_reg
from .coefficients import anomalous_change, pairing_rows
from .contact_gap import contact_jv, contact_values, free_of_contacts, pin_contacts, reservoir_gaps
from .retarded import RetardedProblem, delta_weights, spectral
from .spin_mixing import mixing_tail, pair_derivative, relaxation_rates_e

__all__ = ["GapMap", "PairingData", "MAX_MATSUBARA", "MAX_DENSE_TAIL", "BYTES_PER_POINT", "MIN_CUTOFF_RATIO"]

log = logging.getLogger(__name__)

#: explicit Matsubara frequencies at most: beyond that the sum up to the cutoff is a quadrature
#: over the band [w_N0, w_cut] (``_matsubara_plan``), so T -> 0 costs O(ln(1/T)) more frequencies
MAX_MATSUBARA = 2000
#: fewest explicit frequencies in front of the band (its Euler-Maclaurin error is O(N0^-4))
MIN_MATSUBARA_BAND = 32
#: Gauss-Legendre points per unit of ln w in the band
BAND_POINTS = 8
#: planned bytes per Matsubara frequency x node: the solutions gamma, gamma~ of the current and the
#: previous iteration, F and the pair sums, spectral chunks and the Jacobian-vector work arrays
#: (measured 540-750 for gap() on an S/N wire; the Newton factorisations are bounded by MAX_NEWTON_STORAGE)
BYTES_PER_POINT = 800
#: the explicit sum (or the band) must reach MIN_CUTOFF_RATIO x the largest gap scale: below it the
#: local nonlinear tail is no longer a correction (measured error 9e-3 Tc0 at w_N = 1.8 Delta at an
#: S/N interface) and at w_N ~ Delta/2 the map divides by ~0
MIN_CUTOFF_RATIO = 2.0
#: with omega_D the explicit sum reaches at least this multiple of it: the regulator has fallen to 1/17
#: there, and the local nonlinear tail (which carries it) is a small correction
DEBYE_CUTOFF_RATIO = 4.0
#: largest Matsubara count the sum can index (a float64 count is exact well beyond; numpy arrays are not)
MAX_INDEX = 1e15
#: fewest explicit frequencies: the tail's midpoint boundary then lies past the first few
MIN_FREQUENCIES = 4
#: the largest mesh whose tail is summed over dense eigenmodes (eigh costs O(n^3)); above, QuadratureTail
MAX_DENSE_TAIL = 2500
#: largest batch of stored Jacobian factorisations for Newton-Krylov (complex entries)
MAX_NEWTON_STORAGE = 3e7
#: estimated SuperLU fill of the Matsubara Jacobian: factor entries per entry of its pattern
SPARSE_FILL = 20
#: a Tc0 of zero enters ln Tc0 as this (normal elements carry no pairing weight, so it never shows)
TC0_FLOOR = 1e-300
#: initial gap: the BCS interpolation DELTA00 Tc0 tanh(BCS_SLOPE sqrt(Tc0/T - 1)), within 2% of BCS
BCS_SLOPE = 1.74
#: initial gap near or above every bulk Tc0, in units of Tc0 (finite, so a gap can still develop)
NEAR_TC_GUESS = 0.5


def _band_size(n0, n_cut):
    """(panels, nodes) of the band: unit panels in ln w, plus 4 nodes for the two end slopes."""
    panels = max(1, int(np.ceil(np.log(n_cut / n0))))
    return panels, BAND_POINTS * panels + 4


def _regulator(omega_D):
    """The Debye weight per frequency, omega_D^2/(w^2 + omega_D^2) (1 without ``omega_D``)."""
    if omega_D is None:
        return lambda om: np.ones_like(om)
    return lambda om: omega_D**2 / (om**2 + omega_D**2)


def _band(T, n0, n_cut, panels):
    """Nodes and weights of the band sum over n0 <= n < n_cut (see ``_matsubara_plan``)."""
    h = 2 * np.pi * T
    a0, a1 = h * n0, h * n_cut
    x, wx = np.polynomial.legendre.leggauss(BAND_POINTS)
    edges = np.linspace(np.log(a0), np.log(a1), panels + 1)
    half = 0.5 * np.diff(edges)
    u = ((edges[:-1] + half)[:, None] + half[:, None] * x[None, :]).ravel()
    wu = (half[:, None] * wx[None, :]).ravel()
    eps = EM_STEP
    c0, c1 = h * h / 24 / (2 * a0 * eps), h * h / 24 / (2 * a1 * eps)
    wb = np.r_[np.exp(u), a0 * (1 - eps), a0 * (1 + eps), a1 * (1 - eps), a1 * (1 + eps)]
    Wb = np.r_[wu * np.exp(u), -c0, c0, c1, -c1]  # dw = w du; F'(a0) enters with +, F'(a1) with -
    return wb, Wb


def _matsubara_plan(T, n_cut, n_nodes, omega_D=None, explicit=False, where="gap"):
    """Frequencies w, Debye weights (in units of 2 pi T) and the index N where the exact tail starts.

    Up to ``MAX_MATSUBARA`` (and within the memory budget) the n_cut Matsubara
    frequencies are summed explicitly, as always. Beyond (low T), only the
    first N0 are explicit; the sum over N0 <= n < n_cut of 2 pi T F(w_n),
    F = g (Delta/w - f), is the midpoint rule turned around (Euler-Maclaurin):
    Int_{a0}^{a1} F dw + (2 pi T)^2/24 (F'(a0) - F'(a1)) + O(N0^-4), a = 2 pi T N,
    with the integral by composite Gauss-Legendre in u = ln w (``BAND_POINTS``
    per unit: the Matsubara functions are analytic for Re w > 0, so in u they
    are analytic in the strip |Im u| < pi/2 and the rule converges
    geometrically) and F' by central differences at a (1 +- ``EM_STEP``). Delta/w and
    f share the weights, so the linear response of a homogeneous wire stays
    exact. The tail n >= n_cut (exact linear part and local nonlinear
    correction) is the one of the explicit sum, at the same w_cut.
    """
    h = 2 * np.pi * T
    reg = _regulator(omega_D)

    def need(count):
        return count * n_nodes * BYTES_PER_POINT

    def too_big(count, what):
        return UsadelError(
            f"{where}: T = {T:.3g} on {n_nodes} nodes needs {what}, about {budget.gib(need(count))} "
            f"({BYTES_PER_POINT} bytes per frequency and node), over the memory budget of "
            f"{budget.gib(budget.MEMORY_BUDGET)} (usadel.budget module, MEMORY_BUDGET); use a coarser mesh, "
            f"a higher T or a lower cutoff")

    def plain(N):
        w = np.pi * T * (2 * np.arange(N) + 1)
        return w, reg(w), N

    if explicit:
        if need(n_cut) > budget.MEMORY_BUDGET:
            raise too_big(n_cut, f"n_matsubara = {n_cut} frequencies")
        return plain(n_cut)
    n0 = min(n_cut, MAX_MATSUBARA)
    if n0 == n_cut and need(n_cut) <= budget.MEMORY_BUDGET:
        return plain(n_cut)
    while n0 > MIN_MATSUBARA_BAND and need(n0 + _band_size(n0, n_cut)[1]) > budget.MEMORY_BUDGET:
        n0 = max(MIN_MATSUBARA_BAND, n0 // 2)
    panels, nb = _band_size(n0, n_cut)
    if n0 + nb >= n_cut:  # the band saves nothing
        if need(n_cut) > budget.MEMORY_BUDGET:
            raise too_big(n_cut, f"{n_cut} Matsubara frequencies")
        return plain(n_cut)
    if need(n0 + nb) > budget.MEMORY_BUDGET:
        raise too_big(n0 + nb, f"{n0 + nb} frequencies ({n0} explicit Matsubara frequencies and {nb} quadrature "
                               f"nodes up to the cutoff {n_cut * h:.3g})")
    wb, Wb = _band(T, n0, n_cut, panels)
    w, g, _ = plain(n0)
    log.info("%s: T = %.3g: %d explicit Matsubara frequencies and %d band nodes up to w = %.3g (instead of %d)",
             where, T, n0, nb, h * n_cut, n_cut)
    return np.r_[w, wb], np.r_[g, Wb * reg(wb) / h], n_cut


def _largest_reservoir_gap(device):
    return max([c.reservoir.delta for c in device.boundary.contacts.values()], default=0.0)


class PairingData:
    """Which nodes pair, with what weight, Tc0 and pair breaking: the per-node data of the gap equation.

    ``c_sc``: lumped sigma/D weight of the superconducting elements per node;
    ``sc``: the nodes with c_sc > 0; ``ln_tc``, ``tc0``: the c_sc-weighted mean
    ln Tc0 per node and its exponential; ``pair_breaking_node``: the spin-flip
    pair-breaking rate Gamma = 3/(4 tau_sf) per superconducting node (0
    elsewhere); ``ps``: pairing share of each node's full lumped weight, 1
    without a regulator (see retarded.delta_weights: the cutoff-free sum needs
    f -> Delta/w at every node, which makes an S/N interface node pair over its
    whole dual cell, an O(h) shift of the interface); with ``omega_D`` the sums
    converge anyway and the pairing is restricted to the superconducting part of
    each dual cell.
    """

    def __init__(self, device, omega_D=None):
        ops = device.operators
        mats = device.region_material()
        if not any(m.superconducting for m in mats):
            raise UsadelError("gap: no superconducting region (Material.tc > 0)")
        self.device, self.ops, self.omega_D = device, ops, omega_D
        w = ops.w_el / ops.D_e * ops.sc_e
        self.c_sc = ops.lump(w)
        self.sc = self.c_sc > 0
        tc_e = np.array([max(m.tc, TC0_FLOOR) for m in mats])[ops.region]
        self.ln_tc = np.zeros(ops.n)
        self.ln_tc[self.sc] = ops.lump(w * np.log(tc_e))[self.sc] / self.c_sc[self.sc]
        self.tc0 = np.exp(self.ln_tc)
        self.pair_breaking_node = np.divide(ops.lump(w * ops.pair_breaking_e), self.c_sc, out=np.zeros(ops.n),
                                            where=self.sc)
        self.ps = np.ones(ops.n) if omega_D is None else \
            np.divide(self.c_sc, ops.lump_sd, out=np.zeros(ops.n), where=ops.lump_sd > 0)
        #: exchange field h per node (None without one): the spin blocks see w_n -> w_n - i sigma h
        self.h_node = None if not spin_split(device) else \
            np.divide(exchange_weights(device), ops.lump_sd, out=np.zeros(ops.n), where=ops.lump_sd > 0)
        if self.h_node is not None:
            _check_exchange(device, omega_D)
        #: with spin mixing, c = a + 2 b per node of the linear pair amplitude (usadel.spin_mixing), else None
        self.mix_c = None
        if spin_mixing(device):
            a_e, b_e = relaxation_rates_e(device)
            self.mix_c = np.divide(ops.lump(w * (a_e + 2 * b_e)), self.c_sc, out=np.zeros(ops.n), where=self.sc)

    @property
    def tc_max(self):
        """The largest bulk Tc0 (the unit of the outer loop's tolerance)."""
        return float(np.max(self.tc0[self.sc]))


def _check_exchange(device, omega_D):
    """What the Matsubara map does not support with an exchange field yet (raised before any work)."""
    if omega_D is not None and spin_mixing(device):
        raise UsadelError("gap: the Debye regulator omega_D together with spin mixing (h with tau_sf or tau_so) "
                          "is not supported yet")
    # spin-split superconducting reservoirs: their explicit frequencies are exact; the tail's reservoir lift
    # is that of h = 0, off by O(h^2/w_N^2) of itself (measured: the gap moves by 1e-7 from cutoff 60 to
    # 240 with or without the reservoir's field, tests/test_exchange.py)


def _check_inputs(device, T, omega_D):
    if omega_D is not None and not (np.isfinite(omega_D) and omega_D > 0):
        raise UsadelError(f"gap: omega_D must be a positive energy, got {omega_D!r}")
    if not isinstance(device, Device):
        raise UsadelError(f"gap: expected a usadel.Device, got {type(device).__name__}")
    if not (np.isfinite(T) and T > 0):
        raise UsadelError(f"gap: T must be positive, got {T!r}")


class GapMap(PairingData):
    """The equilibrium gap map G(Delta) at temperature T (seed Eq. 8 on the Matsubara axis).

    Frequencies ``w`` with their ``debye_weight`` (1 without ``omega_D``; at low
    T the band's quadrature weights, in units of 2 pi T), ``N`` of them solved,
    the exact tail from index ``n_tail`` (midpoint boundary ``a``) and
    ``linear_tail`` (``usadel.linear_response``: LinearTail or QuadratureTail).
    ``lhs`` = sum_{n<N} 1/w_n - ln(Tc0/T) per node divides every update.
    Matsubara solves are warm-started from the previous call unless ``cold``.
    """

    def __init__(self, device, T, cutoff, n_matsubara, omega_D=None, where="gap"):
        _check_inputs(device, T, omega_D)
        self._check_order(device, omega_D, where)
        super().__init__(device, omega_D)
        self.ps = self._pairing_share()
        self.T, self.d_res = T, reservoir_gaps(device)
        n_matsubara, n_cut, explicit = self._frequency_count(cutoff, n_matsubara, where)
        self.w, self.debye_weight, self.n_tail = _matsubara_plan(T, n_cut, self.ops.n, omega_D, explicit, where)
        self.N = self.w.size  # frequencies solved: explicit ones, then the band's quadrature nodes
        # midpoint-rule boundary of the tail
        self.a = self.w[-1] + np.pi * T if self.N == self.n_tail else 2 * np.pi * T * self.n_tail
        self.sum_inv_w = 2 * np.pi * T * np.sum(self.debye_weight / self.w)
        # ln(Tc0/T), or with the regulator Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0)
        self.ln_ratio = np.log(self.tc0 / T) if omega_D is None else \
            psi_reg(omega_D / (2 * np.pi * T)) - psi_reg(omega_D / (2 * np.pi * self.tc0))
        self.lhs = self.sum_inv_w - self.ln_ratio
        self.guess = None
        self.cold = False
        self.psi_tail = 0.0 if omega_D is None else psi_reg(omega_D / (2 * np.pi * T)) - self.sum_inv_w
        scale_gap = max(DELTA00 * float(np.max(self.tc0[self.sc])),
                        float(np.max(self.pair_breaking_node, initial=0.0)), _largest_reservoir_gap(device),
                        max_exchange(device))
        if self.a < MIN_CUTOFF_RATIO * scale_gap:
            raise UsadelError(
                f"{where}: the Matsubara sum ends at w = {self.a:.3g} (cutoff {cutoff!r}, n_matsubara "
                f"{n_matsubara}), below {MIN_CUTOFF_RATIO:g} x the largest gap or pair-breaking scale "
                f"{scale_gap:.3g}: the local tail correction would not be small; raise cutoff or n_matsubara")
        self.linear_tail = self._linear_tail(device, T, omega_D)

    def _check_order(self, device, omega_D, where):
        """Refuse what this map is not built for (here: order > 1, usadel.highorder_gap has its own map)."""
        require_order1(where, device)  # P1 operators only (usadel.order)

    def _pairing_share(self):
        """Pairing share per node of the spectral problem's Delta (``ps``, :class:`PairingData`)."""
        return self.ps

    def _linear_tail(self, device, T, omega_D):
        """The exact linear tail beyond the explicit frequencies (``usadel.linear_response``)."""
        tail = LinearTail if self.ops.n <= MAX_DENSE_TAIL else QuadratureTail
        return tail(device, T, self.n_tail, omega_D)

    def _frequency_count(self, cutoff, n_matsubara, where):
        """(n_matsubara, n_cut, explicit): the count given, or the frequencies up to the automatic cutoff."""
        tcmax = np.max(self.tc0[self.sc])
        res_gap = _largest_reservoir_gap(self.device)
        # with a regulator the summand falls as omega_D^2/w^2 faster; the linear tail is exact
        # and the nonlinear one is local (Delta^3 omega_D^2/w^4), so E_Th does not set the cutoff
        if self.omega_D is None:  # |h| too: the exchange field's tail correction is local and O(h^2/w_top^2)
            w_top = cutoff * max(tcmax, self.ops.thouless_energy, res_gap, max_exchange(self.device))
        else:
            w_top = max(cutoff * max(tcmax, res_gap, max_exchange(self.device)), DEBYE_CUTOFF_RATIO * self.omega_D)
        explicit = n_matsubara is not None
        if n_matsubara is None:
            count = np.ceil((w_top / (np.pi * self.T) - 1) / 2)  # before the int(): T -> 0 must not overflow
            if not count <= MAX_INDEX:
                raise UsadelError(f"{where}: T = {self.T!r} is below 1e-15 of the Matsubara cutoff {w_top:.3g}, the "
                                  f"lowest temperature the sum can index; T = 1e-3 Tc0 is already T = 0 to within "
                                  f"exp(-1.76/1e-3)")
            n_matsubara = int(min(count, MAX_INDEX))
        return n_matsubara, max(int(n_matsubara), MIN_FREQUENCIES), explicit

    def initial_delta(self):
        """Starting guess: the BCS interpolation 1.764 Tc0 tanh(1.74 sqrt(Tc0/T - 1)) per S node.

        Within 2% of the bulk BCS gap (pair breaking and proximity are left to the
        iteration); deliberately not taken from usadel.bcs, the reference side.
        """
        tc0, T = self.tc0, self.T
        d = np.zeros(self.ops.n, complex)
        sel = self.sc & (T < tc0)
        d[sel] = DELTA00 * tc0[sel] * np.tanh(BCS_SLOPE * np.sqrt(tc0[sel] / T - 1.0))
        if not np.any(np.abs(d) > 0):
            d[self.sc] = NEAR_TC_GUESS * tc0[self.sc]  # near/above the bulk Tc: start from a finite guess
        return d

    def tail(self, d):
        """Local tail sum_{n >= N} 2 pi T (1/w_n - f_n/Delta), midpoint rule -> integral.

        Large-w asymptotics of the homogeneous solution with pair breaking
        Gamma: f/Delta ~ 1/sqrt((w + Gamma)^2 + |Delta|^2), giving
        ln((a + Gamma)/a) + asinh(b/|Delta|) - ln(2 b/|Delta|), b = a + Gamma.
        With an exchange field the spin blocks have w -> w - i sigma h and the spin
        average is the real part of the same expression at b = a + Gamma + i h
        (exact for a homogeneous region; the part beyond ln((a + Gamma)/a), which the
        exact linear tail does not contain, is a local correction of order h^2/a^2).
        """
        if self.mix_c is not None:  # h with spin relaxation: h = 0's tail plus the field's linear share
            return self._tail_h0(d) + self._tail_mixing(d)
        if self.h_node is not None:
            return self._tail_exchange(d)
        return self._tail_h0(d)

    def _tail_h0(self, d):
        """:meth:`tail` without exchange field."""
        ad = np.abs(d)
        b = self.a + self.pair_breaking_node[self.sc] if np.size(d) == np.count_nonzero(self.sc) else self.a
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(ad > 0, np.arcsinh(b / np.where(ad > 0, ad, 1)) - np.log(2 * b / np.where(ad > 0, ad, 1)), 0.0)
        return np.log(b / self.a) + t

    def _tail_exchange(self, d):
        """:meth:`tail` with the exchange field: Re of the homogeneous expression at b = a + Gamma + i h."""
        ad = np.abs(d)
        per_node = np.size(d) == np.count_nonzero(self.sc)
        b = self.a + (self.pair_breaking_node[self.sc] + 1j * self.h_node[self.sc] if per_node else 0.0)
        safe = np.where(ad > 0, ad, 1)
        t = np.where(ad > 0, np.arcsinh(b / safe) - np.log(2 * b / safe), 0.0)
        return np.real(np.log(b / self.a) + t)

    def _tail_mixing(self, d):
        """The exchange field's linear share of the local tail with spin mixing (``spin_mixing.mixing_tail``)."""
        if np.size(d) != np.count_nonzero(self.sc):
            return 0.0
        k = self.sc
        return mixing_tail(self.a, self.pair_breaking_node[k], self.h_node[k], self.mix_c[k])

    def nonlinear_tail(self, d):
        """Local BCS: sum_{n>=N} 2 pi T (1/sqrt(w^2+Gamma..) - 1/sqrt(w^2+|d|^2)) ~ |d|^2/(4 b^2)
        (times the regulator at the tail's start, an upper bound: w_N >= 4 omega_D makes it < 1e-3 of itself)."""
        debye = 1.0 if self.omega_D is None else self.omega_D**2 / (self.a**2 + self.omega_D**2)
        return debye * (self.tail(d) - np.log((self.a + self.pair_breaking_node[self.sc]) / self.a))

    def pair_sum(self, delta):
        """2 pi T sum_{n < N} f_n per node, and the Matsubara solution.

        Warm-started from the previous call unless ``cold``: then every solve is
        continued from large w (the homotopy, which selects the physical root)
        and polished by Newton from there (the homotopy's last stage alone is
        less accurate on fine meshes: f off by 2e-7 on a 5000-element wire)."""
        dp = delta * self.ps
        if self.cold:
            self.guess = spectral(self.device, 1j * self.w, delta=dp, eta=0.0)
        sp = spectral(self.device, 1j * self.w, delta=dp, eta=0.0, guess=self.guess)
        self.guess = sp
        f = -1j * sp.F
        return 2 * np.pi * self.T * (self.debye_weight @ f), sp

    def update(self, delta, neq=0.0):
        """G(Delta): the gap equation solved for Delta given f_n(Delta); returns (G, Matsubara solution).

        Delta (sum_{n<N} 1/w_n - ln(Tc0/T)) = sum_{n<N} f_n - tail(Delta) + delta_neq,
        tail = sum_{n>=N} (Delta/w_n - f_n): exact discrete linear response
        (``linear_tail``) plus the local nonlinear BCS correction ~ |Delta|^2 Delta/(4 w_N^2). At clean contacts
        to reservoirs (f = f_res): ``usadel.contact_gap`` (the reservoir's gap, or with omega_D the exact tail).
        """
        delta = pin_contacts(self, delta)
        s, sp = self.pair_sum(delta)
        lhs = self.lhs
        new = np.zeros(self.ops.n, complex)
        k = self.sc
        corr = np.zeros(self.ops.n, complex) + neq  # delta_neq per node (0 in equilibrium)
        dp = delta * self.ps  # the pairing the spectral problem sees
        tail = self.linear_tail(dp)[k] + (delta - dp)[k] * self.psi_tail + delta[k] * self.nonlinear_tail(delta[k])
        new[k] = (s[k] - tail + corr[k]) / lhs[k]
        return contact_values(self, delta, new), sp

    def growth_metric(self, low):
        """(nodes, Gram weights, lower bound) of ``usadel.stability.normal_state_growth`` for the normal nodes
        ``low``: P1 perturbs them all but the clean contacts (``usadel.contact_gap``), in the lumped pairing mass
        c_sc (diagonal), in which the linearised gap operator at the normal state is self-adjoint (the top Ritz
        value is a lower bound)."""
        low = free_of_contacts(self, low)
        return low, self.c_sc[low], True

    def newton_fits(self):
        """True if the Jacobian factorisations of all N frequencies fit in ``MAX_NEWTON_STORAGE``."""
        solver = self.ops.solver(2 if self.mix_c is None else 4, symmetric_pivoting=True)
        # banded: LAPACK's LU storage (2 kl + ku + 1 rows); sparse: SuperLU's fill
        per = (3 * solver.bw + 1) * solver.N if solver.banded else SPARSE_FILL * solver.indices.size
        return self.N * per < MAX_NEWTON_STORAGE

    def jacobian(self, delta, sp):
        """v -> J v, J the Jacobian of F(Delta) = G(Delta) - Delta at ``delta`` (sp: its Matsubara solution).

        At the Matsubara solution gamma(Delta) the spectral Jacobian A_n = dR/dgamma
        is factorised once; J v then costs one back-substitution per frequency:
        dgamma = -A_n^{-1} (dR/dDelta) v (R is affine in Delta), df = d(-i F)/dgamma dgamma,
        dG = (2 pi T sum_n debye_weight_n df_n - d tail)/lhs (``docs/derivations.md``, Newton-Krylov
        for the gap equation). The local nonlinear tail's Delta-dependence
        (|Delta|^2/w_N^2) is left out: it only slows the final convergence by that factor.
        """
        eps = 1j * self.w
        blocks = []  # per spin block (one without exchange field): amplitudes, factorised Jacobian
        mixed = pair_derivative(self.device, delta * self.ps, eps, sp) if self.mix_c is not None else None
        for s in () if mixed is not None else SPINS if sp.spin_split else (0,):
            sprob = RetardedProblem(self.device, delta * self.ps, 0.0, s)
            b = sp.block(s or 1)
            _, data = sprob.residual(eps, b.state, jac=True)
            blocks.append((b.gamma, b.gamma_t, sprob.solver.factorize(data)))
        dir_nodes = self.device.boundary.dirichlet_nodes
        lhs = self.lhs
        k = self.sc

        def d_pair(cv, g, gt, solve):  # dF of one spin block for the gap change with weights cv
            dFg, dFt = pairing_rows(cv, g, gt, dir_nodes)
            rhs = np.empty((eps.size, 2 * self.ops.n), complex)
            rhs[:, 0::2], rhs[:, 1::2] = -dFg, -dFt
            dx = solve(rhs)
            return anomalous_change(dx[:, 0::2], dx[:, 1::2], g, gt)

        def jv(v):
            dp = v * self.ps
            cv = delta_weights(self.device, dp)
            dF = [mixed(cv)] if mixed is not None else [d_pair(cv, *blk) for blk in blocks]
            dF = dF[0] if len(dF) == 1 else 0.5 * (dF[0] + dF[1])  # the spin average, as in sp.F
            dS = 2 * np.pi * self.T * (self.debye_weight @ (-1j * dF))
            dtail = self.linear_tail.linear(dp)[k] + (v - dp)[k] * self.psi_tail
            if self.h_node is not None:  # the exchange field's tail correction is linear in Delta
                zero = np.zeros(np.count_nonzero(k))
                dtail = dtail + v[k] * (self._tail_mixing(zero) if self.mix_c is not None else self._tail_exchange(zero))
            out = -v.copy()
            out[k] += (dS[k] - dtail) / lhs[k]
            return contact_jv(self, v, out)
        return jv

    def branch_error(self, d):
        """How far the warm-started Matsubara solution at ``d`` is from the one continued from large w.

        The outer iteration warm-starts every Matsubara solve from the previous
        one. With strong pair breaking the homogeneous equation has several roots
        at small w (see ``usadel.bcs``, the homogeneous Matsubara solver) and a warm
        start can follow a wrong one that passes every physical test: Abrikosov-Gor'kov
        wire, Gamma = 0.85 Tc0, T = 5e-4 Tc0 converged (residual 7e-9) to a gap 2.4%
        too large. Returns max |s_warm - s_cold| / lhs over the superconducting nodes,
        in the units of the residual (0 for a normal result or if already ``cold``);
        leaves the cold (polished) solution as the next warm start.
        """
        if self.cold or not np.any(np.abs(d) > 0):
            return 0.0
        s_warm, _ = self.pair_sum(d)
        self.cold = True
        try:
            s_cold, _ = self.pair_sum(d)
        finally:
            self.cold = False
        k = self.sc
        return float(np.max(np.abs(s_warm[k] - s_cold[k]) / np.abs(self.lhs[k])))
