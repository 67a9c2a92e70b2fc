r"""Gap self-consistency (seed Eq. 8), in and out of equilibrium.

Seed Eq. 8, Delta = -(1/2) N0 lambda Int dE Re[sinh th] hL, with N0 lambda and the
Debye cutoff eliminated in favour of the bulk Tc0 of each material:

    Delta ln(Tc0/T) = 2 pi T sum_{w_n > 0} [Delta/w_n - f_n] - delta_neq,
    f_n = -i F(i w_n) (F = sinh th e^{i chi}: the Matsubara pair amplitude),
    delta_neq = -(1/2) Int dE Re[F^R] (hL - tanh(E/2T))   (only where hL is not thermal).

The sum runs to an automatic cutoff w_c = ``cutoff`` x max(Tc0, Delta, E_Th);
its tail beyond it is the exact discrete linear response (``_LinearTail``, dense
eigenmodes and digamma sums, up to ``MAX_DENSE_TAIL`` nodes; above that
``_QuadratureTail``, sparse solves on a quadrature in w, 1e-8 of the exact sum)
plus the local nonlinear BCS correction ~ |Delta|^2 Delta/(4 w_c^2). At low T (more than
``MAX_MATSUBARA`` frequencies below w_c, or more than ``MEMORY_BUDGET`` allows) only the
first N0 are explicit and the rest up to w_c is a Gauss-Legendre quadrature in ln w
with Euler-Maclaurin end corrections (``_matsubara_plan``; equal to the explicit sum
to 1e-10 at N0 = 100), so T -> 0 costs ~20 more frequencies per decade instead of
a factor 10 (T = 1e-6 Tc0: ~2100 frequencies instead of 9.5 million). Requests beyond the memory budget
raise UsadelError before any work, with the size they would need. Self-consistency
is found by Newton-Krylov with exact Jacobian-vector products (``_NewtonKrylov``;
~5 outer iterations at S/N interfaces) or Anderson acceleration on Delta(x)
(plain fixed point is far too slow near Tc), warm-starting every spectral solve
from the previous iteration.

Debye cutoff (``omega_D``): the cutoff-free form describes every material by
its Tc0 alone, which is exact when omega_D >> T, Delta, E_Th. Where omega_D
itself matters (the Cooper limit of a thin S/N bilayer, Tc = Tc0 (Tc0/1.13
omega_D)^(d_N/d_S)), ``omega_D`` switches on a Lorentzian regulator of the
pairing interaction, g_n = omega_D^2/(w_n^2 + omega_D^2):

    Delta(x) = lambda(x) 2 pi T sum_{w_n>0} g_n f_n,   1/lambda = Psi(omega_D/(2 pi Tc0)),
    Psi(a) = Re psi(1/2 + i a) - psi(1/2) = 2 pi T sum_n g_n/w_n  (a = omega_D/(2 pi T)),

i.e. Delta [Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0)] = 2 pi T sum g_n (Delta/w_n - f_n),
which is the cutoff-free equation as omega_D -> inf (Psi(a) -> ln(4 e^gamma a)) and
gives the usual Tc = (2 e^gamma/pi) omega_D e^(-1/lambda) = 1.13 omega_D e^(-1/lambda).
The linear tail stays exact: the regulated mode sums are digamma functions too
(``_mode_sum``).

Tc of a device comes from the linearised gap equation: with gamma -> 0,
(K + 2 w M + 2 M_Gamma) gamma = i M Delta, so f_n = 2 A_n^{-1} M Delta, and Tc is
the highest T where the largest eigenvalue of the symmetrised
2 pi T sum [2 M^{1/2} A_n^{-1} M^{1/2} - 1/w_n] - ln(Tc0/T) crosses zero. Contacts
count as normal at Tc (a superconducting reservoir has no bifurcation).
"""

import logging
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sps
from scipy.optimize import brentq

from .device import Device
from .errors import ConvergenceError, UsadelError
from .bcs import DELTA0_OVER_TC as DELTA00
from .retarded import spectral
from .validate import callable_or_none, choice, integer, real, real_array

__all__ = ["gap", "GapResult", "critical_temperature", "delta_of_T", "delta_neq", "comoving_grid", "anderson",
           "normal_state_growth"]

log = logging.getLogger(__name__)


@dataclass
class GapResult:
    """Self-consistent gap.

    Attributes
    ----------
    delta : (n_nodes,) complex gap per node (0 in normal metals)
    T : temperature
    iterations : outer iterations used
    history : residual norm (max |G(Delta) - Delta|) per iteration
    n_matsubara : number of Matsubara frequencies solved: the explicit ones, plus at low T
        the quadrature nodes of the band up to the cutoff (module docstring)
    spectral : the Matsubara SpectralResult at the solution
    normal_growth : linear growth rate of small gaps where the solution is normal,
        in ln(Tc/T) units (< 0: that normal state is stable), None if it is
        nowhere normal or unchecked (see :func:`normal_state_growth`)
    """

    device: Device
    delta: np.ndarray
    T: float
    iterations: int
    history: list
    n_matsubara: int
    spectral: object = field(repr=False, default=None)
    normal_growth: float = None

    @property
    def x(self):
        return self.device.topology.p.T

    def at(self, points):
        from .fem import locate

        el, bary = locate(self.device, np.atleast_2d(points))
        t = self.device.topology.t
        return np.einsum("ke,ke->e", self.delta[t[:, el]], bary)


#: explicit Matsubara frequencies at most: beyond that the sum up to the cutoff is a quadrature
#: over the band [w_N0, w_cut] (``_matsubara_plan``), so T -> 0 costs O(ln(1/T)) more frequencies
MAX_MATSUBARA = 2000
#: fewest explicit frequencies in front of the band (its Euler-Maclaurin error is O(N0^-4))
MIN_MATSUBARA_BAND = 32
#: Gauss-Legendre points per unit of ln w in the band
BAND_POINTS = 8
#: memory (bytes) one gap()/solve() call may plan for; larger requests raise UsadelError before any work
MEMORY_BUDGET = 4e9
#: planned bytes per Matsubara frequency x node: the solutions gamma, gamma~ of the current and the
#: previous iteration, F and the pair sums, spectral chunks and the Jacobian-vector work arrays
#: (measured 540-750 for gap() on an S/N wire; the Newton factorisations are bounded by MAX_NEWTON_STORAGE)
BYTES_PER_POINT = 800
#: planned bytes per real energy x node in the nonequilibrium loop (spectral and kinetic solutions and
#: their work arrays: measured peak 4100 for solve() on an N-S-N wire, 1400 for gap(hL=...))
BYTES_PER_ENERGY = 4500
#: at most this many real energies in the nonequilibrium loop (co-moving grid plus its thermal tail)
MAX_REAL_ENERGIES = 100_000
#: the explicit sum (or the band) must reach MIN_CUTOFF_RATIO x the largest gap scale: below it the
#: local nonlinear tail is no longer a correction (measured error 9e-3 Tc0 at w_N = 1.8 Delta at an
#: S/N interface) and at w_N ~ Delta/2 the map divides by ~0
MIN_CUTOFF_RATIO = 2.0


def _gib(b):
    return f"{b / 1e9:.3g} GB"


def _band_size(n0, n_cut):
    panels = max(1, int(np.ceil(np.log(n_cut / n0))))
    return panels, BAND_POINTS * panels + 4


def _matsubara_plan(T, n_cut, n_nodes, omega_D=None, explicit=False, where="gap"):
    """Frequencies w, weights g (in units of 2 pi T) and the index N where the exact tail starts.

    Up to ``MAX_MATSUBARA`` (and within ``MEMORY_BUDGET``) the n_cut Matsubara
    frequencies are summed explicitly, as always. Beyond (low T), only the
    first N0 are explicit; the sum over N0 <= n < n_cut of 2 pi T F(w_n),
    F = g (Delta/w - f), is the midpoint rule turned around (Euler-Maclaurin):
    Int_{a0}^{a1} F dw + (2 pi T)^2/24 (F'(a0) - F'(a1)) + O(N0^-4), a = 2 pi T N,
    with the integral by composite Gauss-Legendre in u = ln w (``BAND_POINTS``
    per unit: the Matsubara functions are analytic for Re w > 0, so in u they
    are analytic in the strip |Im u| < pi/2 and the rule converges
    geometrically) and F' by central differences at a (1 +- 1e-3). Delta/w and
    f share the weights, so the linear response of a homogeneous wire stays
    exact. The tail n >= n_cut (exact linear part and local nonlinear
    correction) is the one of the explicit sum, at the same w_cut.
    """
    h = 2 * np.pi * T
    reg = (lambda om: np.ones_like(om)) if omega_D is None else (lambda om: omega_D**2 / (om**2 + omega_D**2))

    def need(count):
        return count * n_nodes * BYTES_PER_POINT

    def too_big(count, what):
        return UsadelError(
            f"{where}: T = {T:.3g} on {n_nodes} nodes needs {what}, about {_gib(need(count))} "
            f"({BYTES_PER_POINT} bytes per frequency and node), over the memory budget of {_gib(MEMORY_BUDGET)} "
            f"(usadel.selfconsistency module, MEMORY_BUDGET); use a coarser mesh, a higher T or a lower cutoff")

    def plain(N):
        w = np.pi * T * (2 * np.arange(N) + 1)
        return w, reg(w), N

    if explicit:
        if need(n_cut) > MEMORY_BUDGET:
            raise too_big(n_cut, f"n_matsubara = {n_cut} frequencies")
        return plain(n_cut)
    n0 = min(n_cut, MAX_MATSUBARA)
    if n0 == n_cut and need(n_cut) <= MEMORY_BUDGET:
        return plain(n_cut)
    while n0 > MIN_MATSUBARA_BAND and need(n0 + _band_size(n0, n_cut)[1]) > MEMORY_BUDGET:
        n0 = max(MIN_MATSUBARA_BAND, n0 // 2)
    panels, nb = _band_size(n0, n_cut)
    if n0 + nb >= n_cut:  # the band saves nothing
        if need(n_cut) > MEMORY_BUDGET:
            raise too_big(n_cut, f"{n_cut} Matsubara frequencies")
        return plain(n_cut)
    if need(n0 + nb) > MEMORY_BUDGET:
        raise too_big(n0 + nb, f"{n0 + nb} frequencies ({n0} explicit Matsubara frequencies and {nb} quadrature "
                               f"nodes up to the cutoff {n_cut * h:.3g})")
    a0, a1 = h * n0, h * n_cut
    x, wx = np.polynomial.legendre.leggauss(BAND_POINTS)
    edges = np.linspace(np.log(a0), np.log(a1), panels + 1)
    half = 0.5 * np.diff(edges)
    u = ((edges[:-1] + half)[:, None] + half[:, None] * x[None, :]).ravel()
    wu = (half[:, None] * wx[None, :]).ravel()
    eps = 1e-3
    c0, c1 = h * h / 24 / (2 * a0 * eps), h * h / 24 / (2 * a1 * eps)
    wb = np.r_[np.exp(u), a0 * (1 - eps), a0 * (1 + eps), a1 * (1 - eps), a1 * (1 + eps)]
    Wb = np.r_[wu * np.exp(u), -c0, c0, c1, -c1]  # dw = w du; F'(a0) enters with +, F'(a1) with -
    w, g, _ = plain(n0)
    log.info("%s: T = %.3g: %d explicit Matsubara frequencies and %d band nodes up to w = %.3g (instead of %d)",
             where, T, n0, nb, a1, n_cut)
    return np.r_[w, wb], np.r_[g, Wb * reg(wb) / h], n_cut


class _GapProblem:
    def __init__(self, device, T, cutoff, n_matsubara, omega_D=None, tail=True, where="gap"):
        if omega_D is not None and not (np.isfinite(omega_D) and omega_D > 0):
            raise UsadelError(f"gap: omega_D must be a positive energy, got {omega_D!r}")
        if not isinstance(device, Device):
            raise UsadelError(f"gap: expected a usadel.Device, got {type(device).__name__}")
        if not (np.isfinite(T) and T > 0):
            raise UsadelError(f"gap: T must be positive, got {T!r}")
        ops = device.operators
        mats = device.region_material()
        if not any(m.superconducting for m in mats):
            raise UsadelError("gap: no superconducting region (Material.tc > 0)")
        self.device, self.T, self.ops = device, T, ops
        w = ops.w_el / ops.D_e * ops.sc_e
        self.c_sc = ops.lump(w)
        self.sc = self.c_sc > 0
        tc_e = np.array([max(m.tc, 1e-300) for m in mats])[ops.region]
        self.ln_tc = np.zeros(ops.n)
        self.ln_tc[self.sc] = ops.lump(w * np.log(tc_e))[self.sc] / self.c_sc[self.sc]
        self.tc0 = np.exp(self.ln_tc)
        span = np.ptp(ops.p, axis=1).max()
        e_th = max(m.D for m in mats) / span**2
        scale = max(np.max(self.tc0[self.sc]), e_th, max([r.delta for r in device.contacts.values()], default=0.0))
        # with a regulator the summand falls as omega_D^2/w^2 faster; the linear tail is exact
        # and the nonlinear one is local (Delta^3 omega_D^2/w^4), so E_Th does not set the cutoff
        w_top = cutoff * scale if omega_D is None else max(
            cutoff * max(np.max(self.tc0[self.sc]), max([r.delta for r in device.contacts.values()], default=0.0)),
            4.0 * omega_D)
        explicit = n_matsubara is not None
        if n_matsubara is None:
            count = np.ceil((w_top / (np.pi * T) - 1) / 2)  # before the int(): T -> 0 must not overflow
            if tail and not count <= 1e15:
                raise UsadelError(f"{where}: T = {T!r} is below 1e-15 of the Matsubara cutoff {w_top:.3g}, the lowest "
                                  f"temperature the sum can index; T = 1e-3 Tc0 is already T = 0 to within "
                                  f"exp(-1.76/1e-3)")
            n_matsubara = int(min(count, 1e15))
        n_cut = max(int(n_matsubara), 4)
        self.omega_D = omega_D
        if not tail:  # only the per-node data (critical_temperature): no frequencies needed
            n_cut, explicit = 4, True
        self.w, self.g, self.n_tail = _matsubara_plan(T, n_cut, ops.n, omega_D, explicit, where)
        self.N = self.w.size  # frequencies solved: explicit ones, then the band's quadrature nodes
        # midpoint-rule boundary of the tail
        self.a = self.w[-1] + np.pi * T if self.N == self.n_tail else 2 * np.pi * T * self.n_tail
        self.sum_inv_w = 2 * np.pi * T * np.sum(self.g / self.w)
        # ln(Tc0/T), or with the regulator Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0)
        self.ln_ratio = np.log(self.tc0 / T) if omega_D is None else \
            _psi_reg(omega_D / (2 * np.pi * T)) - _psi_reg(omega_D / (2 * np.pi * self.tc0))
        self.guess = None
        self.cold = False
        self.gamma_node = np.divide(ops.lump(w * ops.gamma_e), self.c_sc, out=np.zeros(ops.n), where=self.sc)
        # pairing weight per node relative to the node's full lumped weight: 1 without a
        # regulator (see spectral.delta_weights: the cutoff-free sum needs f -> Delta/w at
        # every node, which makes an S/N interface node pair over its whole dual cell, an
        # O(h) shift of the interface); with omega_D the sums converge anyway and the
        # pairing is restricted to the superconducting part of each dual cell.
        self.ps = np.ones(ops.n) if omega_D is None else \
            np.divide(self.c_sc, ops.lump_sd, out=np.zeros(ops.n), where=ops.lump_sd > 0)
        self.psi_tail = 0.0 if omega_D is None else _psi_reg(omega_D / (2 * np.pi * T)) - self.sum_inv_w
        if not tail:
            self.linear_tail = None
            return
        scale_gap = max(DELTA00 * float(np.max(self.tc0[self.sc])), float(np.max(self.gamma_node, initial=0.0)),
                        max([r.delta for r in device.contacts.values()], default=0.0))
        if self.a < MIN_CUTOFF_RATIO * scale_gap:
            raise UsadelError(
                f"{where}: the Matsubara sum ends at w = {self.a:.3g} (cutoff {cutoff!r}, n_matsubara "
                f"{n_matsubara}), below {MIN_CUTOFF_RATIO:g} x the largest gap or pair-breaking scale "
                f"{scale_gap:.3g}: the local tail correction would not be small; raise cutoff or n_matsubara")
        self.linear_tail = (_LinearTail if ops.n <= MAX_DENSE_TAIL else _QuadratureTail)(device, T, self.n_tail,
                                                                                          omega_D)

    def tail(self, d):
        """Local tail sum_{n >= N} 2 pi T (1/w_n - f_n/Delta), midpoint rule -> integral.

        Large-w asymptotics of the homogeneous solution with pair breaking
        Gamma: f/Delta ~ 1/sqrt((w + Gamma)^2 + |Delta|^2), giving
        ln((a + Gamma)/a) + asinh(b/|Delta|) - ln(2 b/|Delta|), b = a + Gamma.
        """
        ad = np.abs(d)
        b = self.a + self.gamma_node[self.sc] if np.size(d) == np.count_nonzero(self.sc) else self.a
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(ad > 0, np.arcsinh(b / np.where(ad > 0, ad, 1)) - np.log(2 * b / np.where(ad > 0, ad, 1)), 0.0)
        return np.log(b / self.a) + t

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
        return 2 * np.pi * self.T * (self.g @ f), sp

    def update(self, delta, neq=0.0):
        """G(Delta): the gap equation solved for Delta given f_n(Delta).

        Delta (sum_{n<N} 1/w_n - ln(Tc0/T)) = sum_{n<N} f_n - tail(Delta) + delta_neq,
        tail = sum_{n>=N} (Delta/w_n - f_n): exact discrete linear response
        (``_LinearTail``) plus the local nonlinear BCS correction ~ |Delta|^2 Delta/(4 w_N^2).
        """
        s, sp = self.pair_sum(delta)
        lhs = self.sum_inv_w - self.ln_ratio
        new = np.zeros(self.ops.n, complex)
        k = self.sc
        corr = np.zeros(self.ops.n, complex) + neq  # delta_neq per node (0 in equilibrium)
        dp = delta * self.ps  # the pairing the spectral problem sees
        tail = self.linear_tail(dp)[k] + (delta - dp)[k] * self.psi_tail + delta[k] * self.nonlinear_tail(delta[k])
        new[k] = (s[k] - tail + corr[k]) / lhs[k]
        return new, sp

    def nonlinear_tail(self, d):
        """Local BCS: sum_{n>=N} 2 pi T (1/sqrt(w^2+Gamma..) - 1/sqrt(w^2+|d|^2)) ~ |d|^2/(4 b^2)
        (times the regulator at the tail's start, an upper bound: w_N >= 4 omega_D makes it < 1e-3 of itself)."""
        g = 1.0 if self.omega_D is None else self.omega_D**2 / (self.a**2 + self.omega_D**2)
        return g * (self.tail(d) - np.log((self.a + self.gamma_node[self.sc]) / self.a))


MAX_DENSE_TAIL = 2500
MAX_DENSE_TC = 7500


class _LinearTail:
    """Exact sum over w_n >= w_N of the discrete linearised response (Delta/w - f_lin).

    At high frequency gamma is small and (K' + 2 w C) gamma = i (C Delta + R/(2w)),
    K' = stiffness + 2 C_Gamma + tunnel terms, C the lumped sigma/D mass, R the
    lift from superconducting reservoirs (bulk gamma ~ i Delta_res/(2w)). With
    K' V = C V Lambda, V^T C V = 1, the sums over n >= N are digamma functions:
    S1(l) = sum 2 pi T (1/w - 2/(l + 2w)) = psi(N + 1/2 + l/(4 pi T)) - psi(N + 1/2),
    and the lift enters with S1(l)/l.
    """

    def __init__(self, device, T, N, omega_D=None):
        ops = device.operators
        K, c, free, lam, V = _linear_modes(device)
        S1, S2 = _mode_sum(lam, T, N, omega_D)
        self.free, self.V, self.c = free, V, c
        self.S1, self.S2 = S1, S2
        R = np.zeros(ops.n, complex)
        for tag, res in device.contacts.items():
            nodes, wts = ops.boundary_nodes(tag)
            d = res.delta * np.exp(1j * res.phase)
            if res.barrier is None:
                R -= K[:, nodes] @ np.full(nodes.size, d)
            else:
                R[nodes] += wts / res.barrier.r * d
        self.lift = V @ (S2 * (V.T @ R[free]))

    def __call__(self, delta):
        out = self.linear(delta)
        out[self.free] -= self.lift
        return out

    def linear(self, delta):
        """The part linear in Delta (without the reservoirs' lift)."""
        f = self.free
        out = np.zeros(delta.shape, complex)
        x = self.c[f] * delta[f]
        op = lambda y: self.V @ (self.S1 * (self.V.T @ y))  # real V: two real products beat one complex
        out[f] = op(x.real) + 1j * op(x.imag)
        return out


#: largest batch of stored Jacobian factorisations for Newton-Krylov (complex entries)
MAX_NEWTON_STORAGE = 3e7


class _NewtonKrylov:
    """Inexact Newton on F(Delta) = G(Delta) - Delta with exact Jacobian-vector products.

    G is the equilibrium gap map (``_GapProblem.update``). At the Matsubara
    solution gamma(Delta) the spectral Jacobian A_n = dR/dgamma is factorised
    once per outer step; J v then costs one back-substitution per frequency:
    dgamma = -A_n^{-1} (dR/dDelta) v (R is affine in Delta), df = d(-i F)/dgamma dgamma,
    dG = (2 pi T sum g_n df_n - d tail)/lhs. GMRES (real form: Delta may be
    complex) solves J s = -F to a relative 1e-4; a backtracking line search on
    max|F| guards the step. Outer iterations (nonlinear Matsubara solves) drop
    from Anderson's 20-50 at S/N interfaces to ~5 (``benchmarks/gap_iterations.py``).
    The local nonlinear tail's Delta-dependence (|Delta|^2/w_N^2) is left out of
    J: it only slows the final convergence by that factor.
    """

    def __init__(self, prob, neq=0.0):
        self.prob, self.neq = prob, neq
        self.k = prob.sc

    def fits(self):
        p = self.prob
        solver = p.ops.solver(2, symmetric_pivoting=True)
        per = (3 * solver.bw + 1) * solver.N if solver.banded else 20 * solver.indices.size
        return p.N * per < MAX_NEWTON_STORAGE

    def jacobian(self, delta, sp):
        from .retarded import _Problem, delta_weights

        p = self.prob
        eps = 1j * p.w
        sprob = _Problem(p.device, delta * p.ps, 0.0)
        g, gt = sp.gamma, sp.gamma_t
        _, data = sprob.residual(eps, g, gt, jac=True)
        solve = sprob.solver.factorize(data)
        dn2 = (1.0 + g * gt) ** 2
        dir_nodes = sprob.dir_nodes
        lhs = p.sum_inv_w - p.ln_ratio
        k = self.k

        def jv(v):
            dp = v * p.ps
            cv = delta_weights(p.device, dp)
            dFg = -1j * (cv + np.conj(cv) * g * g)
            dFt = 1j * (cv * gt * gt + np.conj(cv))
            dFg[:, dir_nodes] = 0.0
            dFt[:, dir_nodes] = 0.0
            rhs = np.empty((eps.size, 2 * p.ops.n), complex)
            rhs[:, 0::2], rhs[:, 1::2] = -dFg, -dFt
            dx = solve(rhs)
            dF = (2.0 * dx[:, 0::2] - 2.0 * g * g * dx[:, 1::2]) / dn2
            dS = 2 * np.pi * p.T * (p.g @ (-1j * dF))
            dtail = p.linear_tail.linear(dp)[k] + (v - dp)[k] * p.psi_tail
            out = -v.copy()
            out[k] += (dS[k] - dtail) / lhs[k]
            return out
        return jv

    def step(self, delta, r, sp):
        """Newton step -J^{-1} r with the Jacobian of the equilibrium map at delta (sp: its Matsubara solution)."""
        import scipy.sparse.linalg as spla

        p, k = self.prob, self.k
        m = int(np.count_nonzero(k))
        jv = self.jacobian(delta, sp)

        def unpack(x):
            z = np.zeros(p.ops.n, complex)
            z[k] = x[:m] + 1j * x[m:]
            return z

        pack = lambda z: np.r_[z[k].real, z[k].imag]
        A = spla.LinearOperator((2 * m, 2 * m), matvec=lambda x: pack(jv(unpack(x))), dtype=float)
        s, _ = spla.gmres(A, -pack(r), rtol=1e-4, atol=0.0, restart=60, maxiter=4)
        return unpack(s)

    def solve(self, d0, tol, maxiter):
        import scipy.sparse.linalg as spla

        p, k = self.prob, self.k
        m = int(np.count_nonzero(k))

        def pack(z):
            return np.r_[z[k].real, z[k].imag]

        def unpack(x):
            z = np.zeros(p.ops.n, complex)
            z[k] = x[:m] + 1j * x[m:]
            return z

        d = d0.copy()
        new, sp = p.update(d, self.neq)
        F = new - d
        hist = [float(np.max(np.abs(F)))]
        while hist[-1] >= tol and len(hist) < maxiter:
            jv = self.jacobian(d, sp)
            A = spla.LinearOperator((2 * m, 2 * m), matvec=lambda x: pack(jv(unpack(x))), dtype=float)
            s, _ = spla.gmres(A, -pack(F), rtol=1e-4, atol=0.0, restart=60, maxiter=4)
            step = unpack(s)
            lam = 1.0
            while True:
                trial = d + lam * step
                new_t, sp_t = p.update(trial, self.neq)
                F_t = new_t - trial
                r_t = float(np.max(np.abs(F_t)))
                if r_t < hist[-1] or lam < 0.1 or len(hist) + 1 >= maxiter or not np.isfinite(r_t):
                    break  # (a non-finite trial ends the iteration: the caller raises with the history)
                hist.append(r_t)  # a rejected trial costs a nonlinear solve too
                lam *= 0.5
            d, new, sp, F = trial, new_t, sp_t, F_t
            hist.append(r_t)
        return new, hist, hist[-1] < tol, sp


def _psi_reg(a):
    """Psi(a) = Re psi(1/2 + i a) - psi(1/2) = sum_{n>=0} g_n/(n + 1/2), g_n = a^2/((n + 1/2)^2 + a^2)."""
    from scipy.special import digamma

    return np.real(digamma(0.5 + 1j * np.asarray(a, float))) - digamma(0.5)


def _mode_sum(lam, T, N, omega_D=None):
    """S1 = sum_{n>=N} 2 pi T g_n (1/w_n - 2/(l + 2 w_n)) per mode eigenvalue l, and S2 = S1/l.

    Without regulator (g = 1): psi(N + 1/2 + x) - psi(N + 1/2), x = l/(4 pi T).
    With g_n = a^2/(z^2 + a^2) (z = n + 1/2, a = omega_D/(2 pi T)) the summand
    a^2 x/((z^2 + a^2) z (z + x)) splits into simple fractions at z = 0, -x, +-i a:
    S1 = -psi(N + 1/2) + a^2/(x^2 + a^2) psi(N + 1/2 + x) + Re[x/(x + i a) psi(N + 1/2 - i a)].
    l -> 0: S2 = (psi'(N + 1/2) - Im psi(N + 1/2 + i a)/a)/(4 pi T).
    """
    from scipy.special import digamma, polygamma

    x = lam / (4 * np.pi * T)
    small = lam <= 1e-12
    if omega_D is None:
        S1 = digamma(N + 0.5 + x) - digamma(N + 0.5)
        lim = polygamma(1, N + 0.5) / (4 * np.pi * T)
    else:
        a = omega_D / (2 * np.pi * T)
        S1 = (-digamma(N + 0.5) + a * a / (x * x + a * a) * digamma(N + 0.5 + x)
              + np.real(x / (x + 1j * a) * digamma(N + 0.5 - 1j * a)))
        lim = (polygamma(1, N + 0.5) - np.imag(digamma(N + 0.5 + 1j * a)) / a) / (4 * np.pi * T)
    S1 = np.where(small, 0.0, S1)
    S2 = np.where(small, lim, S1 / np.where(small, 1.0, lam))
    return S1, S2


class _QuadratureTail:
    """The linear Matsubara tail of ``_LinearTail`` for meshes too large for a dense eigendecomposition.

    sum_{n>=N} 2 pi T H(w_n), H(w) = g(w) [Delta/w - f_lin(w)], f_lin = 2 A(w)^{-1} (C Delta + R/(2 w)),
    A(w) = K' + 2 w C (real, symmetric positive definite), by the midpoint rule turned
    around (Euler-Maclaurin): sum = Int_a^inf H dw + ((2 pi T)^2/24) H'(a) + O(N^-4),
    a = 2 pi T N. The integral runs in u = ln w with composite Gauss-Legendre
    (6 points per unit of u, a mode of eigenvalue l contributes a logistic step of
    unit width at u = ln(l/2)) up to w_top = 1000 max(l_max, a, omega_D), l_max from
    Gershgorin, plus the closed-form remainder H ~ g C^{-1} (K' Delta - R)/(2 w^2).
    One sparse LU of A(w) per node, made once; each application costs one
    back-substitution per node. Agrees with the exact sum to 1e-8 relative at
    N = 80 (the Euler-Maclaurin remainder grows to ~5e-7 at N = 20 with a
    regulator; tests/test_gap.py).
    """

    def __init__(self, device, T, N, omega_D=None):
        import scipy.sparse.linalg as spla

        from .fem import threadpool_limits

        ops = device.operators
        K, c, fixed = _linear_operators(device)
        self.free = free = np.nonzero(~fixed)[0]
        Kf = K[free][:, free].tocsc()
        self.c, self.cf = c, c[free]
        self.Kf = Kf
        R = np.zeros(ops.n, complex)
        for tag, res in device.contacts.items():
            nodes, wts = ops.boundary_nodes(tag)
            d = res.delta * np.exp(1j * res.phase)
            if res.barrier is None:
                R -= K[:, nodes] @ np.full(nodes.size, d)
            else:
                R[nodes] += wts / res.barrier.r * d
        self.R = R[free]
        a = 2 * np.pi * T * N
        lmax = float(np.max(np.asarray(abs(Kf).sum(axis=1)).ravel() / self.cf))
        top = 1000.0 * max(lmax, a, omega_D or 0.0)
        panels = max(1, int(np.ceil(np.log(top / a))))
        xg, wg = np.polynomial.legendre.leggauss(6)
        edges = np.linspace(np.log(a), np.log(a) + panels, panels + 1)
        u = ((edges[:-1, None] + edges[1:, None]) / 2 + 0.5 * xg[None, :]).ravel()
        wu = np.tile(0.5 * wg, panels)
        w = np.exp(u)
        h = 2 * np.pi * T
        eps = 1e-3
        # integral nodes, then a(1 -+ eps) for H'(a)
        self.omegas = np.r_[w, a * (1 - eps), a * (1 + eps)]
        self.weights = np.r_[wu * w, -h * h / 24 / (2 * a * eps), h * h / 24 / (2 * a * eps)]
        self.top = top = float(np.exp(edges[-1]))
        g = lambda om: 1.0 if omega_D is None else omega_D**2 / (om**2 + omega_D**2)
        self.g = np.array([g(om) for om in self.omegas])
        # remainder Int_top^inf g/(2 w^2) dw
        if omega_D is None:
            self.Q = 1.0 / (2 * top)
        else:
            self.Q = 0.5 * (1.0 / top - (np.pi / 2 - np.arctan(top / omega_D)) / omega_D)
        with threadpool_limits(limits=1, user_api="blas"):
            self.lus = _spd_factors(Kf, self.cf, self.omegas)
        self.lift = -self._apply(np.zeros(free.size, complex), with_R=True)

    def _apply(self, x, with_R):
        """Tail of H for Delta = x on the free nodes (x complex), optionally with the lift R."""
        out = np.zeros(x.size, complex)
        cx = self.cf * x
        for lu, om, wt, g in zip(self.lus, self.omegas, self.weights, self.g):
            b = cx + (self.R / (2 * om) if with_R else 0.0)
            y = lu(np.stack([b.real, b.imag], axis=1))
            f = 2 * (y[:, 0] + 1j * y[:, 1])
            out += wt * g * (x / om - f)
        X = (self.Kf @ x - (self.R if with_R else 0.0)) / self.cf
        return out + self.Q * X

    def __call__(self, delta):
        out = self.linear(delta)
        out[self.free] -= self.lift
        return out

    def linear(self, delta):
        out = np.zeros(delta.shape, complex)
        out[self.free] = self._apply(np.asarray(delta, complex)[self.free], with_R=False)
        return out


def _spd_factors(Kf, cf, omegas, where="gap"):
    """Solvers b -> (Kf + 2 w diag(cf))^{-1} b for every w in ``omegas`` (SPD matrices, b of shape (n, k)).

    Banded matrices (1D meshes) get a banded Cholesky factor ((bw + 1) n numbers
    each); others a sparse LU (symmetric mode) whose factors are copied out
    and the SuperLU object dropped: SuperLU reserves ~600 bytes per nonzero of
    the matrix for every factorisation it keeps alive (a 1e5-element wire
    reserved 37 GB for the ~170 tail frequencies). The memory of all factors is
    estimated from the first one and checked against ``MEMORY_BUDGET`` before
    the others are made.
    """
    import scipy.linalg
    import scipy.sparse.linalg as spla

    from .fem import MAX_BANDED

    n = Kf.shape[0]
    coo = Kf.tocoo()
    bw = int(np.max(np.abs(coo.row - coo.col), initial=0))
    count = len(omegas)

    def check(per, kind):
        if per * count > MEMORY_BUDGET:
            raise UsadelError(f"{where}: the Matsubara tail of this {n}-node mesh needs {count} {kind} factorisations "
                              f"of about {_gib(per)} each, {_gib(per * count)} in all, over the memory budget of "
                              f"{_gib(MEMORY_BUDGET)} (usadel.selfconsistency module, MEMORY_BUDGET); use a coarser mesh")

    if bw <= MAX_BANDED:
        check(8.0 * (bw + 1) * n, "banded Cholesky")
        low = coo.row >= coo.col
        base = np.zeros((bw + 1, n))
        np.add.at(base, ((coo.row - coo.col)[low], coo.col[low]), coo.data[low])
        out = []
        for om in omegas:
            ab = base.copy()
            ab[0] += 2 * om * cf
            cb = scipy.linalg.cholesky_banded(ab, lower=True, check_finite=False)
            out.append(lambda b, cb=cb: scipy.linalg.cho_solve_banded((cb, True), b, check_finite=False))
        return out
    out = []
    for om in omegas:
        A = (Kf + 2 * om * sps.diags(cf)).tocsc()
        lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
        L, U = lu.L.tocsr(), lu.U.tocsr()
        pr, pc = lu.perm_r.copy(), lu.perm_c.copy()
        del lu
        if not out:
            check(12.0 * (L.nnz + U.nnz) + 16.0 * n, "sparse LU")

        def solve(b, L=L, U=U, pr=pr, pc=pc):  # Pr A Pc = L U
            y = np.empty_like(b)
            y[pr] = b
            y = spla.spsolve_triangular(L, y, lower=True, unit_diagonal=True)
            z = spla.spsolve_triangular(U, y, lower=False)
            return z[pc]  # x = Pc z, Pc[i, pc[i]] = 1
        out.append(solve)
    return out


def anderson(fun, x0, tol, maxiter, m=20, beta=1.0, precondition=None, safeguard=2.0):
    """Anderson acceleration (Walker & Ni type II) for x = fun(x), complex vectors.

    Safeguard: an iterate whose residual exceeds ``safeguard`` x the best one so
    far is discarded; the history is cleared and the iteration goes on with a
    plain step from the best x (a nonsmooth map, e.g. the nonequilibrium one where
    quasiparticles are trapped between regions of different gap, otherwise lets
    the extrapolation wander: the seed device at T = 0.9 Tc, eV = 3 Delta0 did not
    converge in 60 steps without it, and does in 52 with it).

    ``precondition(x, r, extra)``, if given, maps the residual r = fun(x) - x to
    an approximate Newton step (Anderson then accelerates x -> x + step);
    convergence is always judged on max|r|. If the preconditioned iteration has
    not halved the best residual within 6 steps (the approximate Jacobian is
    wrong, e.g. the equilibrium Jacobian where the nonequilibrium part
    dominates), it is dropped and Anderson restarts on the plain residual from
    the best x.
    Returns (x, history, converged, extra) where extra is fun's second output at x.
    """
    x = x0.copy()
    X, R = [], []
    hist = []
    extra = None
    for it in range(maxiter):
        gx, extra = fun(x)
        r = gx - x
        res = float(np.max(np.abs(r)))
        hist.append(res)
        if res < tol:
            return gx, hist, True, extra
        if not np.isfinite(res):  # NaN/inf in the map: stop (the caller raises with the history)
            return x, hist, False, extra
        if precondition is not None and it >= 6 and min(hist[-6:]) > 0.5 * min(hist[:-6]):
            log.info("anderson: preconditioned residuals %s; continuing without the preconditioner",
                     ["%.1e" % h for h in hist])
            precondition = None
            X, R = [], []
            best = int(np.argmin(hist))
            if best != it:
                x, r = best_x.copy(), best_r.copy()
        if not hist[:-1] or res <= min(hist[:-1]):
            best_x, best_r = x.copy(), r.copy()
            damp = 1.0
        elif safeguard is not None and res > safeguard * min(hist[:-1]) and precondition is None:
            X, R = [], []
            x = best_x + damp * beta * best_r
            damp *= 0.5  # a repeated rejection shortens the next step from the best x
            continue
        if precondition is not None:
            r = precondition(x, r, extra)
        X.append(x.copy())
        R.append(r.copy())
        if len(X) > m + 1:
            X.pop(0)
            R.pop(0)
        if len(X) > 1:
            dX = np.stack([X[i + 1] - X[i] for i in range(len(X) - 1)], axis=1)
            dR = np.stack([R[i + 1] - R[i] for i in range(len(R) - 1)], axis=1)
            g, *_ = np.linalg.lstsq(np.vstack([dR.real, dR.imag]), np.r_[r.real, r.imag], rcond=None)
            x = x + beta * r - (dX + beta * dR) @ g
        else:
            x = x + beta * r
    return x, hist, False, extra


def _grid_floor(prob):
    """Smallest scale of the co-moving real grid: 0.1 Delta00 of the largest Tc0 (a collapsing gap must not shrink it)."""
    return 0.1 * DELTA00 * float(np.max(prob.tc0[prob.sc]))


def _initial_delta(prob):
    """Starting guess: the BCS interpolation 1.764 Tc0 tanh(1.74 sqrt(Tc0/T - 1)) per S node.

    Within 2% of the bulk BCS gap (pair breaking and proximity are left to the
    iteration); deliberately not taken from usadel.bcs, the reference side.
    """
    tc0 = prob.tc0
    d = np.zeros(prob.ops.n, complex)
    sel = prob.sc & (prob.T < tc0)
    d[sel] = DELTA00 * tc0[sel] * np.tanh(1.74 * np.sqrt(tc0[sel] / prob.T - 1.0))
    if not np.any(np.abs(d) > 0):
        d[prob.sc] = 0.5 * tc0[prob.sc]  # near/above the bulk Tc: start from a finite guess
    return d


#: a gap below this fraction of the local Tc0 counts as normal for the stability check
NORMAL_LEVEL = 1e-3
#: growth rate (in ln(Tc/T) units, see normal_state_growth) above which a normal part is unstable
NORMAL_MARGIN = 1e-5


def normal_state_growth(G, d, prob, m=16):
    """Linear growth rate of small gaps in the normal part of a converged Delta (stability check).

    The normal state Delta = 0 solves the gap equation at every temperature, and
    an outer iteration that reaches it (from a start too close to it, or through
    a large step) meets any residual tolerance, stable or not: G(Delta) - Delta ~
    (lambda - 1) Delta is below the tolerance for small Delta whatever lambda is.
    Physical states are those where small gaps shrink. With ``low`` the
    superconducting nodes where |Delta| < NORMAL_LEVEL Tc0, lambda is the
    dominant eigenvalue of the Jacobian J of the outer map G restricted to
    ``low`` (the superconducting remainder responds but is not perturbed), from
    an Arnoldi process on finite differences J v = (G(Delta + eps v) - G(Delta))/eps,
    eps = 1e-4 Tc0, orthogonal in the lumped pairing mass (in which the
    linearised gap operator at the normal state is self-adjoint, so the top
    Ritz value is a lower bound that rises towards lambda: no false alarms). It
    stops after ``m`` steps, once the Ritz value moves by less than 1e-2 of
    kappa per step, or once it is clearly unstable; in a long normal wire the
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
    if not np.any(low):
        return None, None
    lhs = float(np.mean((prob.sum_inv_w - prob.ln_ratio)[low]))
    wt = np.where(low, prob.c_sc, 0.0)
    dot = lambda a, b: float(np.sum(wt * np.real(np.conj(a) * b)))
    eps = 1e-4 * float(np.max(prob.tc0[prob.sc]))
    g0 = G(d)
    v0 = low.astype(complex)
    V = [v0 / np.sqrt(dot(v0, v0))]
    H = np.zeros((m + 1, m))
    top, y = None, None
    for j in range(m):
        u = np.where(low, (G(d + eps * V[j]) - g0) / eps, 0.0)
        if not np.all(np.isfinite(u)):
            raise ConvergenceError(f"normal_state_growth: the outer map returned non-finite values at Arnoldi step {j}")
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
        settled = top is not None and abs(new - top) * lhs < max(1e-2 * abs(kappa), 0.1 * NORMAL_MARGIN)
        top, y = new, np.real(vecs[:, k])
        if settled or H[j + 1, j] < 1e-8 * max(abs(new), 1e-300) or kappa > 0.5 or (j >= 2 and kappa > 10 * NORMAL_MARGIN):
            break
        V.append(u / H[j + 1, j])
    mode = np.real(np.stack(V[:y.size], axis=1) @ y)
    mode = mode * np.sign(np.sum(mode)) / np.max(np.abs(mode))
    return (top - 1.0) * lhs, mode


def _kick(d, v, prob):
    """Restart point d + (a bulk-sized gap along the growing mode v) for an unstable normal part."""
    return d + 0.5 * DELTA00 * prob.tc0 * v


def _stable_solution(run, G, d0, prob, check, where):
    """run(d0) -> (d, hist, ok, extra); if its normal part is unstable, restart once along the mode."""
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
                raise ConvergenceError(
                    f"{where}: the iteration converged twice to a normal state that is unstable (small gaps grow "
                    f"at the rate {growth:.3g} = ln(Tc/T)-equivalent, mode on {int(np.count_nonzero(np.abs(v) > 0.1))} "
                    f"nodes); pass a finite delta0 near the superconducting solution",
                    history=hist, residuals=np.array(hist))
    return d, hist, ok, extra, growth


def delta_neq(sp, hL, T):
    """Nonequilibrium pairing correction per node (physics.md):

        delta_neq = -(1/2) Int dE F^R(E) (hL(E) - tanh(E/2T)),

    from a real-axis SpectralResult at E >= 0 (F^R(-E) = conj(F~^R(E)) folds the
    negative energies in) and hL of shape (n_E, n_nodes) at the same energies.
    For chi = 0 this is -Int_0^inf dE Re[sinh th] (hL - tanh), seed Eq. 8.
    """
    E = np.real(sp.energies)
    if np.any(E < 0) or np.any(np.diff(E) <= 0):
        raise UsadelError("delta_neq: needs increasing energies E >= 0")
    dh = hL - np.tanh(E / (2 * T))[:, None]
    integrand = (sp.F - np.conj(sp.Ft)) * dh
    return -0.5 * np.trapezoid(integrand, E, axis=0)


def comoving_grid(n=1600, e_max=12.0, T_over_delta=None, mu_over_delta=()):
    """Energy grid in units of the gap, u = E/Delta_max (see ``gap``)."""
    from .observables import energy_grid

    return energy_grid(1.0, T=T_over_delta, e_max=e_max, n=n, mu=mu_over_delta)


def gap(device, T, *, delta0=None, tol=1e-8, maxiter=60, cutoff=60.0, n_matsubara=None, neq=None,
        hL=None, u_grid=None, eta=1e-6, omega_D=None, method="newton", check_normal=True):
    """Self-consistent Delta(x) at temperature T (equilibrium unless ``neq`` is given).

    Parameters
    ----------
    device : Device
    T : float
        Temperature, > 0 (any T: below ~2e-3 Tc0 the Matsubara sum up to the
        cutoff is a band quadrature, see the module docstring).
    delta0 : array or None
        Starting gap per node, shape (n_nodes,), finite (default: homogeneous
        bulk gap of each material).
    tol : float
        Convergence on max |G(Delta) - Delta|, in units of the largest Tc0; > 0.
    maxiter : int
        Outer iterations at most, >= 1.
    cutoff : float
        Matsubara cutoff in units of max(Tc0, E_Th, reservoir gaps) (tail added
        analytically); > 0, and the sum must reach 2 x the largest gap or
        pair-breaking scale (``MIN_CUTOFF_RATIO``).
    n_matsubara : int or None
        Explicit Matsubara frequencies instead of the cutoff (>= 1; within the
        memory budget and the same reach).
    neq : array or None
        A fixed nonequilibrium correction delta_neq per node (or one value for all).
    hL : callable or None
        Prescribed distribution ``hL(E)`` -> shape (n_E,) or (n_E, n_nodes):
        delta_neq is recomputed from the real-axis F^R(E; Delta) at every outer
        iteration (seed Eq. 8 out of equilibrium). The real energies co-move
        with the gap, E = max|Delta| u with a fixed ``u_grid`` (default
        :func:`comoving_grid`, graded at u = 1): on a fixed grid the gap-edge
        singularity of F^R makes the trapezoid integral jump as Delta moves
        between grid points (measured residual noise ~1e-3) and Anderson stalls.
    omega_D : float or None
        Debye energy: regulate the pairing interaction (module docstring) instead
        of the cutoff-free form. Needed where omega_D matters (Cooper limit).
    method : "newton" or "anderson"
        Outer iteration in equilibrium: Newton-Krylov with exact Jacobian-vector
        products (``_NewtonKrylov``; used when the exact linear tail is available
        and the factorisations fit in memory, else Anderson), or Anderson (m = 20).
        The nonequilibrium map (``hL``) always uses Anderson.
    check_normal : bool
        If the solution is normal (|Delta| < 1e-3 Tc0) anywhere in a
        superconductor, check that small gaps there shrink
        (:func:`normal_state_growth`, a few extra outer maps); if they grow, the
        normal state found is unstable (e.g. reached from delta0 = 0 below Tc):
        restart once along the growing mode, and raise if that fails too. The
        growth rate is ``GapResult.normal_growth``.

    Every argument is checked before any numerical work; ``hL`` is called on a
    few energies first, and at every iteration its values must be finite with
    shape (n_E,) or (n_E, n_nodes). The converged Matsubara solution is checked
    against one continued from large w (``_warm_branch_error``); if the warm
    starts followed a wrong root, the iteration is repeated with cold starts.

    Raises
    ------
    UsadelError
        For an invalid argument (naming it), or a request beyond ``MEMORY_BUDGET``
        / ``MAX_REAL_ENERGIES`` (stating the size it would need).
    ConvergenceError
        With the residual history if the outer iteration does not converge in
        ``maxiter``, or if the result is not finite.
    """
    T, tol, maxiter, cutoff, eta, check_normal = _loop_args("gap", device, T, tol, maxiter, cutoff, eta, check_normal)
    n = device.topology.n_nodes
    n_matsubara = integer("gap: n_matsubara", n_matsubara, lo=1, allow_none=True)
    omega_D = real("gap: omega_D", omega_D, positive=True, allow_none=True)
    method = choice("gap: method", method, ("newton", "anderson"))
    hL = callable_or_none("gap: hL", hL)
    delta0 = None if delta0 is None else _node_array("gap: delta0", delta0, n)
    neq = None if neq is None else _neq_array(neq, n)
    if u_grid is not None:
        u_grid = _energy_array("gap: u_grid", u_grid)
    if hL is not None:
        _hL_values("gap: hL", hL, np.geomspace(1e-3 * T, 1e3 * T, 16), n)  # shape and values, before any work
    prob = _GapProblem(device, T, cutoff, n_matsubara, omega_D)
    d0 = _initial_delta(prob) if delta0 is None else delta0
    scale = float(np.max(prob.tc0[prob.sc]))
    neq_arr = 0.0 if neq is None else neq
    if hL is not None:
        u = comoving_grid() if u_grid is None else u_grid
        fun = _neq_map(prob, device, T, lambda E, sp: _hL_values("gap: hL", hL, E, n), u, eta,
                       deviations=[lambda E: _hL_values("gap: hL", hL, E, n) - np.tanh(E / (2 * T))[:, None]])
        nk = _NewtonKrylov(prob)
        pre = (lambda x, r, msp: nk.step(x, r, msp)) if method == "newton" and nk.fits() else None
        run = lambda x0: anderson(fun, x0, tol * scale, maxiter, precondition=pre)
        G = lambda x: fun(x)[0]
    else:
        nk = _NewtonKrylov(prob, neq_arr)
        if method == "newton" and nk.fits():
            run = lambda x0: nk.solve(x0, tol * scale, maxiter)
        else:
            run = lambda x0: anderson(lambda d: prob.update(d, neq_arr), x0, tol * scale, maxiter)
        G = lambda x: prob.update(x, neq_arr)[0]
    d, hist, ok, sp, growth = _stable_solution(run, G, d0, prob, check_normal, f"gap (T = {T})")
    if ok and (jump := _warm_branch_error(prob, d)) > tol * scale:
        log.warning("gap (T = %s): the warm-started Matsubara solutions left the physical branch (pair sum off by "
                    "%.2e at the result); iterating again with every solve continued from large w", T, jump)
        prob.cold = True
        d, h2, ok, sp, growth = _stable_solution(run, G, d, prob, check_normal, f"gap (T = {T})")
        hist = hist + h2
    if not ok:
        raise ConvergenceError(f"gap: the outer iteration did not converge in {maxiter} steps at T = {T}"
                               f"{_nonfinite_note(hist)}; residual history {['%.2e' % h for h in hist]}",
                               history=hist, residuals=np.array(hist))
    _check_finite_delta("gap", d, T, hist)
    return GapResult(device=device, delta=d, T=T, iterations=len(hist), history=hist, n_matsubara=prob.N, spectral=sp,
                     normal_growth=growth)


def _warm_branch_error(prob, d):
    """How far the warm-started Matsubara solution at the result is from the one continued from large w.

    The outer iteration warm-starts every Matsubara solve from the previous
    one. With strong pair breaking the homogeneous equation has several roots
    at small w (see usadel.bcs._matsubara_f) and a warm start can follow a
    wrong one that passes every physical test: Abrikosov-Gor'kov wire,
    Gamma = 0.85 Tc0, T = 5e-4 Tc0 converged (residual 7e-9) to a gap 2.4% too
    large. Returns max |s_warm - s_cold| / lhs over the superconducting nodes,
    in the units of the residual (0 for a normal result); leaves the cold
    (polished) solution as the next warm start.
    """
    if prob.cold or not np.any(np.abs(d) > 0):
        return 0.0
    s_warm, _ = prob.pair_sum(d)
    prob.cold = True
    try:
        s_cold, _ = prob.pair_sum(d)
    finally:
        prob.cold = False
    k = prob.sc
    return float(np.max(np.abs(s_warm[k] - s_cold[k]) / np.abs((prob.sum_inv_w - prob.ln_ratio)[k])))


def _keyword_only(f):
    import inspect

    return tuple(k for k, p in inspect.signature(f).parameters.items() if p.kind is p.KEYWORD_ONLY)


_GAP_KEYWORDS = _keyword_only(gap)

#: largest accepted maxiter (every outer loop is bounded by it)
MAX_ITER = 100_000


def _loop_args(where, device, T, tol, maxiter, cutoff, eta, check_normal):
    """The arguments gap() and solve() share, checked (device type included) before any work."""
    T = real(f"{where}: T", T, positive=True)
    tol = real(f"{where}: tol", tol, positive=True)
    maxiter = integer(f"{where}: maxiter", maxiter, lo=1, hi=MAX_ITER)
    cutoff = real(f"{where}: cutoff", cutoff, positive=True)
    eta = real(f"{where}: eta", eta, nonnegative=True)
    check_normal = _flag(f"{where}: check_normal", check_normal)
    if not isinstance(device, Device):
        raise UsadelError(f"{where}: expected a usadel.Device, got {type(device).__name__}")
    return T, tol, maxiter, cutoff, eta, check_normal


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise UsadelError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def _node_array(name, value, n):
    """One (complex) finite value per node."""
    arr = real_array(name, value, allow_complex=True)
    if arr.shape != (n,):
        raise UsadelError(f"{name} must hold one value per node, shape ({n},), got shape {arr.shape}")
    return arr.astype(complex)


def _neq_array(neq, n):
    """delta_neq: a scalar (every node) or one value per node."""
    if np.ndim(neq) == 0:
        return complex(real_array("gap: neq", neq, allow_complex=True)[()])
    return _node_array("gap: neq", neq, n)


def _energy_array(name, value):
    """Increasing energies E >= 0 (1D, at least two)."""
    E = real_array(name, value, ndim=1)
    if E.size < 2 or np.any(E < 0) or np.any(np.diff(E) <= 0):
        raise UsadelError(f"{name} must be at least two increasing energies >= 0")
    return E


def _hL_values(name, hL, E, n):
    """hL(E) as an (n_E, 1) or (n_E, n) float array, or a UsadelError naming ``name``."""
    h = hL(E)
    arr = np.asarray(h) if not isinstance(h, np.ndarray) else h
    if arr.dtype.kind in "biufc" and arr.shape[:1] == (E.size,):
        bad = ~np.all(np.isfinite(arr.reshape(E.size, -1)), axis=1)
        if bad.any():
            raise UsadelError(f"{name}(E) returned non-finite values (NaN or inf) at {int(bad.sum())} of {E.size} "
                              f"energies, e.g. E = {E[bad][:3].tolist()}")
    arr = real_array(f"{name}(E)", h)
    if arr.ndim == 1 and arr.shape == (E.size,):
        return arr[:, None]
    if arr.ndim == 2 and arr.shape[0] == E.size and arr.shape[1] in (1, n):
        return arr
    raise UsadelError(f"{name}(E) must return shape ({E.size},) or ({E.size}, {n}) (energies, or energies x nodes) "
                      f"for {E.size} energies, got shape {arr.shape}")


def _nonfinite_note(hist):
    return " (the residual became non-finite: NaN or inf)" if any(not np.isfinite(h) for h in hist) else ""


def _check_finite_delta(where, d, T, hist):
    bad = np.nonzero(~np.isfinite(d))[0]
    if bad.size:
        raise ConvergenceError(f"{where}: the self-consistent Delta is not finite at {bad.size} nodes "
                               f"(e.g. {bad[:5].tolist()}) at T = {T}, after {len(hist)} outer iterations; "
                               f"residual history {['%.2e' % h for h in hist]}", history=hist, residuals=np.array(hist))


def nonthermal_reach(deviations, T, top):
    """Largest energy where any distribution deviates from equilibrium at T (> 1e-10).

    ``deviations``: callables E -> array (n_E, ...) of deviations from the
    thermal values (for hL: hL - tanh(E/2T)). Sampled on a geometric grid from
    1e-3 T to ``top``; raises if a deviation persists up to ``top`` (a
    distribution must be thermal at high energies for the cutoff-free Eq. 8:
    there Re F^R ~ Delta/E and the integral would grow as ln E).
    """
    E = np.geomspace(1e-3 * T, top, 8000)
    reach = 0.0
    for f in deviations:
        v = np.abs(np.asarray(f(E), float)).reshape(E.size, -1).max(axis=1)
        off = v > 1e-10
        if off[-1]:
            raise UsadelError(f"the prescribed or reservoir distribution is not thermal up to E = {top:.3g} "
                              f"(deviation {v[-1]:.2e} there); Eq. 8 needs thermal distributions at high energy")
        if off.any():
            k = int(np.nonzero(off)[0][-1])
            top_k = float(E[k])
            if E[k + 1] - E[k] > 10 * T:  # geometric spacing coarser than the thermal scale: resolve the edge
                Ef = np.linspace(E[k], E[k + 1], 2001)
                vf = np.abs(np.asarray(f(Ef), float)).reshape(Ef.size, -1).max(axis=1)
                top_k = max(top_k, float(Ef[vf > 1e-10].max(initial=top_k)))
            reach = max(reach, top_k)
    return reach


def _neq_map(prob, device, T, hL_of, u, eta, deviations=(), where="gap"):
    """G(Delta) with delta_neq from the real axis on the co-moving grid E = max|Delta| u.

    The grid's scale never drops below 0.1 Delta00 (a collapsing gap must not
    shrink it), and a uniform tail (spacing T/4) extends it past every energy
    where a distribution in ``deviations`` (see :func:`nonthermal_reach`) or a
    reservoir at another temperature is nonthermal, plus 40 T.
    """
    from .keldysh import reservoir_h

    state = {"sp": None}
    n = device.operators.n
    tcmax = float(np.max(prob.tc0[prob.sc]))
    floor = _grid_floor(prob)
    res_dev = [lambda E, r=r: reservoir_h(r, E) - np.stack([np.tanh(E / (2 * T))] + [0 * E] * 3, axis=-1)
               for r in device.contacts.values() if r.T is not None or r.distribution is not None]
    top = 1e4 * max(T, tcmax, max([r.T or 0.0 for r in device.contacts.values()], default=0.0),
                    max([abs(r.mu) + abs(r.mu_s) for r in device.contacts.values()], default=0.0))
    reach = nonthermal_reach(list(deviations) + res_dev, T, top) + 40 * T

    def tail_points(scale):  # the uniform tail's linspace count (bounded before the int())
        return max(8, int(min(4 * (reach - scale * u[-1]) / max(T, 1e-3 * scale), 1e15)))

    # the largest grid the loop can build: the tail is longest at the smallest scale (the floor)
    worst = u.size + (tail_points(floor) - 1 if reach > floor * u[-1] else 0)
    need = worst * n * BYTES_PER_ENERGY
    if worst > MAX_REAL_ENERGIES or need > MEMORY_BUDGET:
        raise UsadelError(
            f"{where}: the nonequilibrium loop would need {worst} real energies (a distribution is nonthermal up to "
            f"E = {reach:.3g}, resolved with spacing T/4 = {T / 4:.3g}) on {n} nodes, about {_gib(need)}; the limits "
            f"are {MAX_REAL_ENERGIES} energies and {_gib(MEMORY_BUDGET)} (usadel.selfconsistency module, MAX_REAL_ENERGIES, "
            f"MEMORY_BUDGET); reduce the bias or the spin accumulation, or raise T")

    def fun(d):
        scale = max(float(np.max(np.abs(d))), floor)
        E = scale * u
        if reach > E[-1]:
            E = np.r_[E, np.linspace(E[-1], reach, tail_points(scale))[1:]]
        if state["sp"] is not None and state["sp"].energies.size != E.size:
            state["sp"] = None  # the grid's tail changed length: no warm start
        sp = spectral(device, E, delta=d, eta=eta * scale, guess=state["sp"])
        state["sp"] = sp
        h = np.asarray(hL_of(E, sp), float)
        h = np.broadcast_to(h[:, None] if h.ndim == 1 else h, (E.size, n))
        new, msp = prob.update(d, delta_neq(sp, h, T))
        state["last"] = (sp, h)
        return new, msp

    fun.state = state
    return fun


def _linear_operators(device):
    """Linearised retarded operator: (K' + 2 w C) gamma = i C Delta at small gamma.

    K' = sigma-weighted stiffness + 2 C_Gamma + tunnel contacts (w/r on the
    diagonal) + tunnel interfaces (w/r couplings); C = lumped sigma/D mass;
    ``fixed`` marks clean-contact (Dirichlet) nodes.
    """
    ops = device.operators
    c = ops.lump_sd
    cG = ops.lump(ops.w_el / ops.D_e * ops.gamma_e)
    diag = np.zeros(ops.n)
    for tag, res in device.contacts.items():
        nodes, wts = ops.boundary_nodes(tag)
        if res.barrier is not None:
            diag[nodes] += wts / res.barrier.r
    K = ops.K + sps.diags(diag + 2 * cG)
    for pa, pb, wts, bar in ops.pairs:
        k = wts / bar.r
        K = K + sps.csr_matrix((np.r_[k, k, -k, -k], (np.r_[pa, pb, pa, pb], np.r_[pa, pb, pb, pa])), shape=K.shape)
    fixed = np.zeros(ops.n, bool)
    for tag, res in device.contacts.items():
        if res.barrier is None:
            fixed[ops.boundary_nodes(tag)[0]] = True
    return K.tocsr(), c, fixed


def _linear_modes(device):
    """Generalised eigenmodes K' V = C V Lambda (V^T C V = 1) on the free nodes.

    Dense: used for meshes up to ``MAX_DENSE_TAIL`` nodes. Returns
    (K', C, free nodes, Lambda >= 0, V).
    """
    import scipy.linalg

    K, c, fixed = _linear_operators(device)
    free = np.nonzero(~fixed)[0]
    lam, V = scipy.linalg.eigh(K.toarray()[np.ix_(free, free)], np.diag(c[free]))
    return K, c, free, np.maximum(lam, 0.0), V


def critical_temperature(device, *, rtol=1e-6, omega_D=None):
    """Tc of a device from the linearised gap equation (no full loop at trial T).

    Linearising the gap equation around Delta = 0 with the same discrete
    operator as the gap loop (``_linear_modes``; a per-node Delta is a P1 field
    with the full lumped weight C), the Matsubara sum over all w_n is exact:
    sum_n 2 pi T (Delta/w_n - f_n) = V diag(psi(1/2 + l/(4 pi T)) - psi(1/2)) V^T C Delta.
    Tc is the highest T where the largest eigenvalue of the symmetrised
    M(T) = ln(Tc0/T) - C^(1/2) V diag(...) V^T C^(1/2) (on superconducting,
    non-Dirichlet nodes) crosses zero. Contacts count as normal at Tc (a
    superconducting reservoir has no bifurcation). With ``omega_D`` (see
    ``gap``) ln(Tc0/T) becomes Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0) and
    the mode sums carry the regulator (``_mode_sum`` with N = 0).
    """
    rtol = real("critical_temperature: rtol", rtol, lo=4 * np.finfo(float).eps, hi=0.1)  # brentq's range
    omega_D = real("critical_temperature: omega_D", omega_D, positive=True, allow_none=True)
    if not isinstance(device, Device):
        raise UsadelError(f"critical_temperature: expected a usadel.Device, got {type(device).__name__}")
    if device.operators.n > MAX_DENSE_TC:
        raise UsadelError(f"critical_temperature: the linearised gap equation is solved by a dense "
                          f"eigendecomposition, limited to {MAX_DENSE_TC} nodes (this device has "
                          f"{device.operators.n}); use a coarser mesh, or gap()/delta_of_T near Tc")
    prob0 = _GapProblem(device, 1.0, 60.0, 4, tail=False, where="critical_temperature")
    K, c, free, lam, V = _linear_modes(device)
    keep = prob0.sc[free]  # superconducting free nodes, in the order of ``free``
    ps = np.ones(c.size) if omega_D is None else \
        np.divide(prob0.c_sc, c, out=np.zeros(c.size), where=c > 0)  # as _GapProblem.ps
    W = np.sqrt(c[free] * ps[free])[:, None] * V  # (C ps)^(1/2) V
    W = W[keep]
    ps_k = ps[free][keep]
    ln_tc = prob0.ln_tc[free][keep]
    tcmax = float(np.max(prob0.tc0[prob0.sc]))

    def largest_eig(T):
        """Largest eigenvalue of M(T): > 0 below Tc (the least pair-broken mode), < 0 above."""
        S0, _ = _mode_sum(lam, T, 0, omega_D)
        if omega_D is None:
            ln_ratio = ln_tc - np.log(T)
        else:
            psi = _psi_reg(omega_D / (2 * np.pi * T))
            ln_ratio = psi - _psi_reg(omega_D / (2 * np.pi * np.exp(ln_tc))) - psi * (1 - ps_k)
        M = np.diag(ln_ratio) - (W * S0) @ W.T
        return float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])

    if not keep.any():
        return 0.0
    lo, hi = 1e-6 * tcmax, tcmax * (1 + 1e-9)  # Tc below 1e-6 Tc0 is reported as 0
    if largest_eig(hi) >= 0:
        return tcmax
    if largest_eig(lo) <= 0:
        return 0.0
    return brentq(largest_eig, lo, hi, rtol=rtol)


def delta_of_T(device, temperatures, **kw):
    """Self-consistent Delta(x) along a list of temperatures (warm-started).

    ``kw`` are passed to :func:`gap` (a ``delta0`` there starts the first
    temperature); every temperature is checked before the first solve.
    """
    if not isinstance(device, Device):
        raise UsadelError(f"delta_of_T: expected a usadel.Device, got {type(device).__name__}")
    temps = real_array("delta_of_T: temperatures", temperatures, ndim=1)
    if np.any(temps <= 0):
        raise UsadelError(f"delta_of_T: temperatures must be positive, got {temps[temps <= 0][:3].tolist()}")
    unknown = sorted(set(kw) - set(_GAP_KEYWORDS))
    if unknown:
        raise UsadelError(f"delta_of_T: unknown keyword argument(s) {unknown}; gap() takes {list(_GAP_KEYWORDS)}")
    out = []
    d0 = kw.pop("delta0", None)
    for T in temps.tolist():
        r = gap(device, T, delta0=d0, **kw)
        out.append(r)
        d0 = r.delta if np.max(np.abs(r.delta)) > 0 else None
    return out
