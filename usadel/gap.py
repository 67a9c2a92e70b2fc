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
plus the local nonlinear BCS correction ~ |Delta|^2 Delta/(4 w_c^2). Self-consistency
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
from .spectral import spectral

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
    n_matsubara : number of Matsubara frequencies summed explicitly
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


class _GapProblem:
    def __init__(self, device, T, cutoff, n_matsubara, omega_D=None):
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
        if n_matsubara is None:
            n_matsubara = int(np.ceil((w_top / (np.pi * T) - 1) / 2))
        self.N = max(int(n_matsubara), 4)
        self.w = np.pi * T * (2 * np.arange(self.N) + 1)
        self.a = self.w[-1] + np.pi * T  # midpoint-rule boundary of the tail
        self.omega_D = omega_D
        self.g = np.ones(self.N) if omega_D is None else omega_D**2 / (self.w**2 + omega_D**2)
        self.sum_inv_w = 2 * np.pi * T * np.sum(self.g / self.w)
        # ln(Tc0/T), or with the regulator Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0)
        self.ln_ratio = np.log(self.tc0 / T) if omega_D is None else \
            _psi_reg(omega_D / (2 * np.pi * T)) - _psi_reg(omega_D / (2 * np.pi * self.tc0))
        self.guess = None
        self.gamma_node = np.divide(ops.lump(w * ops.gamma_e), self.c_sc, out=np.zeros(ops.n), where=self.sc)
        # pairing weight per node relative to the node's full lumped weight: 1 without a
        # regulator (see spectral.delta_weights: the cutoff-free sum needs f -> Delta/w at
        # every node, which makes an S/N interface node pair over its whole dual cell, an
        # O(h) shift of the interface); with omega_D the sums converge anyway and the
        # pairing is restricted to the superconducting part of each dual cell.
        self.ps = np.ones(ops.n) if omega_D is None else \
            np.divide(self.c_sc, ops.lump_sd, out=np.zeros(ops.n), where=ops.lump_sd > 0)
        self.psi_tail = 0.0 if omega_D is None else _psi_reg(omega_D / (2 * np.pi * T)) - self.sum_inv_w
        self.linear_tail = (_LinearTail if ops.n <= MAX_DENSE_TAIL else _QuadratureTail)(device, T, self.N, omega_D)

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
        """2 pi T sum_{n < N} f_n per node, and the Matsubara solution."""
        sp = spectral(self.device, 1j * self.w, delta=delta * self.ps, eta=0.0, guess=self.guess)
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
        from .spectral import _Problem, delta_weights

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
                if r_t < hist[-1] or lam < 0.1 or len(hist) + 1 >= maxiter:
                    break
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
            self.lus = [spla.splu((Kf + 2 * om * sps.diags(self.cf)).tocsc()) for om in self.omegas]
        self.lift = -self._apply(np.zeros(free.size, complex), with_R=True)

    def _apply(self, x, with_R):
        """Tail of H for Delta = x on the free nodes (x complex), optionally with the lift R."""
        out = np.zeros(x.size, complex)
        cx = self.cf * x
        for lu, om, wt, g in zip(self.lus, self.omegas, self.weights, self.g):
            b = cx + (self.R / (2 * om) if with_R else 0.0)
            f = 2 * (lu.solve(np.ascontiguousarray(b.real)) + 1j * lu.solve(np.ascontiguousarray(b.imag)))
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
        Temperature, > 0.
    delta0 : array or None
        Starting gap per node (default: homogeneous bulk gap of each material).
    tol : float
        Convergence on max |G(Delta) - Delta|, in units of the largest Tc0.
    cutoff : float
        Matsubara cutoff in units of max(Tc0, E_Th, reservoir gaps) (tail added analytically).
    neq : array or None
        A fixed nonequilibrium correction delta_neq per node.
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

    Raises
    ------
    ConvergenceError
        With the residual history if Anderson does not converge in ``maxiter``.
    """
    if method not in ("newton", "anderson"):
        raise UsadelError(f"gap: method must be 'newton' or 'anderson', got {method!r}")
    prob = _GapProblem(device, T, cutoff, n_matsubara, omega_D)
    d0 = _initial_delta(prob) if delta0 is None else np.asarray(delta0, complex)
    scale = float(np.max(prob.tc0[prob.sc]))
    neq_arr = 0.0 if neq is None else np.asarray(neq, complex)
    if hL is not None:
        if not callable(hL):
            raise UsadelError("gap: hL must be a callable hL(E)")
        u = comoving_grid() if u_grid is None else np.asarray(u_grid, float)
        fun = _neq_map(prob, device, T, lambda E, sp: hL(E), u, eta,
                       deviations=[lambda E: np.asarray(hL(E), float).reshape(E.size, -1)
                                   - np.tanh(E / (2 * T))[:, None]])
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
    if not ok:
        raise ConvergenceError(f"gap: the outer iteration did not converge in {maxiter} steps at T = {T}; "
                               f"residual history {['%.2e' % h for h in hist]}", history=hist, residuals=np.array(hist))
    return GapResult(device=device, delta=d, T=T, iterations=len(hist), history=hist, n_matsubara=prob.N, spectral=sp,
                     normal_growth=growth)


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
            reach = max(reach, float(E[off].max()))
    return reach


def _neq_map(prob, device, T, hL_of, u, eta, deviations=()):
    """G(Delta) with delta_neq from the real axis on the co-moving grid E = max|Delta| u.

    The grid's scale never drops below 0.1 Delta00 (a collapsing gap must not
    shrink it), and a uniform tail (spacing T/4) extends it past every energy
    where a distribution in ``deviations`` (see :func:`nonthermal_reach`) or a
    reservoir at another temperature is nonthermal, plus 40 T.
    """
    from .kinetic import reservoir_h

    state = {"sp": None}
    n = device.operators.n
    tcmax = float(np.max(prob.tc0[prob.sc]))
    floor = _grid_floor(prob)
    res_dev = [lambda E, r=r: reservoir_h(r, E) - np.stack([np.tanh(E / (2 * T))] + [0 * E] * 3, axis=-1)
               for r in device.contacts.values() if r.T is not None or r.distribution is not None]
    top = 1e4 * max(T, tcmax, max([r.T or 0.0 for r in device.contacts.values()], default=0.0),
                    max([abs(r.mu) + abs(r.mu_s) for r in device.contacts.values()], default=0.0))
    reach = nonthermal_reach(list(deviations) + res_dev, T, top) + 40 * T

    def fun(d):
        scale = max(float(np.max(np.abs(d))), floor)
        E = scale * u
        if reach > E[-1]:
            E = np.r_[E, np.linspace(E[-1], reach, max(8, int(4 * (reach - E[-1]) / max(T, 1e-3 * scale))))[1:]]
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
    if not isinstance(device, Device):
        raise UsadelError(f"critical_temperature: expected a usadel.Device, got {type(device).__name__}")
    if omega_D is not None and not (np.isfinite(omega_D) and omega_D > 0):
        raise UsadelError(f"critical_temperature: omega_D must be a positive energy, got {omega_D!r}")
    if device.operators.n > MAX_DENSE_TC:
        raise UsadelError(f"critical_temperature: the linearised gap equation is solved by a dense "
                          f"eigendecomposition, limited to {MAX_DENSE_TC} nodes (this device has "
                          f"{device.operators.n}); use a coarser mesh, or gap()/delta_of_T near Tc")
    prob0 = _GapProblem(device, 1.0, 60.0, 4)
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
    """Self-consistent Delta(x) along a list of temperatures (warm-started)."""
    out = []
    d0 = None
    for T in temperatures:
        r = gap(device, T, delta0=d0, **kw)
        out.append(r)
        d0 = r.delta if np.max(np.abs(r.delta)) > 0 else None
    return out
