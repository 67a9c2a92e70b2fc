r"""Gap self-consistency (seed Eq. 8), in and out of equilibrium.

Seed Eq. 8, Delta = -(1/2) N0 lambda Int dE Re[sinh th] hL, with N0 lambda and the
Debye cutoff eliminated in favour of the bulk Tc0 of each material:

    Delta ln(Tc0/T) = 2 pi T sum_{w_n > 0} [Delta/w_n - f_n] - delta_neq,
    f_n = -i F(i w_n) (F = sinh th e^{i chi}: the Matsubara pair amplitude),
    delta_neq = -(1/2) Int dE Re[F^R] (hL - tanh(E/2T))   (only where hL is not thermal).

The sum runs to an automatic cutoff w_c = ``cutoff`` x max(Tc0, Delta, E_Th) and
its tail beyond it is added analytically with the local BCS asymptotics
sum_{n >= N} (Delta/w - Delta/sqrt(w^2 + |Delta|^2)). Self-consistency is
found by Anderson acceleration on Delta(x) (plain fixed point is far too slow
near Tc), warm-starting every spectral solve from the previous iteration.

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

__all__ = ["gap", "GapResult", "critical_temperature", "delta_of_T", "delta_neq", "comoving_grid", "anderson"]

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
    """

    device: Device
    delta: np.ndarray
    T: float
    iterations: int
    history: list
    n_matsubara: int
    spectral: object = field(repr=False, default=None)

    @property
    def x(self):
        return self.device.topology.p.T

    def at(self, points):
        from .fem import locate

        el, bary = locate(self.device, np.atleast_2d(points))
        t = self.device.topology.t
        return np.einsum("ke,ke->e", self.delta[t[:, el]], bary)


class _GapProblem:
    def __init__(self, device, T, cutoff, n_matsubara):
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
        if n_matsubara is None:
            n_matsubara = int(np.ceil((cutoff * scale / (np.pi * T) - 1) / 2))
        self.N = max(int(n_matsubara), 4)
        self.w = np.pi * T * (2 * np.arange(self.N) + 1)
        self.a = self.w[-1] + np.pi * T  # midpoint-rule boundary of the tail
        self.sum_inv_w = 2 * np.pi * T * np.sum(1.0 / self.w)
        self.guess = None
        self.gamma_node = np.divide(ops.lump(w * ops.gamma_e), self.c_sc, out=np.zeros(ops.n), where=self.sc)
        self.linear_tail = _LinearTail(device, T, self.N) if ops.n <= MAX_DENSE_TAIL else None
        if self.linear_tail is None:
            log.warning("gap: %d nodes; Matsubara tail beyond the cutoff uses local BCS asymptotics, "
                        "which is not converged near S/N interfaces (raise cutoff and check)", ops.n)

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
        sp = spectral(self.device, 1j * self.w, delta=delta, eta=0.0, guess=self.guess)
        self.guess = sp
        f = -1j * sp.F
        return 2 * np.pi * self.T * f.sum(axis=0), sp

    def update(self, delta, neq=0.0):
        """G(Delta): the gap equation solved for Delta given f_n(Delta).

        Delta (sum_{n<N} 1/w_n - ln(Tc0/T)) = sum_{n<N} f_n - tail(Delta) + delta_neq,
        tail = sum_{n>=N} (Delta/w_n - f_n): exact discrete linear response
        (``_LinearTail``) plus the local nonlinear BCS correction ~ |Delta|^2 Delta/(4 w_N^2).
        """
        s, sp = self.pair_sum(delta)
        lhs = self.sum_inv_w - np.log(self.tc0 / self.T)
        new = np.zeros(self.ops.n, complex)
        k = self.sc
        corr = np.zeros(self.ops.n, complex) + neq  # delta_neq per node (0 in equilibrium)
        if self.linear_tail is not None:
            tail = self.linear_tail(delta)[k] + delta[k] * self.nonlinear_tail(delta[k])
        else:
            tail = delta[k] * self.tail(delta[k])
        new[k] = (s[k] - tail + corr[k]) / lhs[k]
        return new, sp

    def nonlinear_tail(self, d):
        """Local BCS: sum_{n>=N} 2 pi T (1/sqrt(w^2+Gamma..) - 1/sqrt(w^2+|d|^2)) ~ |d|^2/(4 b^2)."""
        return self.tail(d) - np.log((self.a + self.gamma_node[self.sc]) / self.a)


MAX_DENSE_TAIL = 2500


class _LinearTail:
    """Exact sum over w_n >= w_N of the discrete linearised response (Delta/w - f_lin).

    At high frequency gamma is small and (K' + 2 w C) gamma = i (C Delta + R/(2w)),
    K' = stiffness + 2 C_Gamma + tunnel terms, C the lumped sigma/D mass, R the
    lift from superconducting reservoirs (bulk gamma ~ i Delta_res/(2w)). With
    K' V = C V Lambda, V^T C V = 1, the sums over n >= N are digamma functions:
    S1(l) = sum 2 pi T (1/w - 2/(l + 2w)) = psi(N + 1/2 + l/(4 pi T)) - psi(N + 1/2),
    and the lift enters with S1(l)/l.
    """

    def __init__(self, device, T, N):
        from scipy.special import digamma, polygamma

        ops = device.operators
        K, c, free, lam, V = _linear_modes(device)
        x = lam / (4 * np.pi * T)
        S1 = digamma(N + 0.5 + x) - digamma(N + 0.5)
        with np.errstate(divide="ignore", invalid="ignore"):
            S2 = np.where(lam > 1e-12, S1 / np.where(lam > 1e-12, lam, 1.0), polygamma(1, N + 0.5) / (4 * np.pi * T))
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
        f = self.free
        out = np.zeros(delta.shape, complex)
        out[f] = self.V @ (self.S1 * (self.V.T @ (self.c[f] * delta[f]))) - self.lift
        return out


def anderson(fun, x0, tol, maxiter, m=20, beta=1.0):
    """Anderson acceleration (Walker & Ni type II) for x = fun(x), complex vectors.

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


def _initial_delta(prob):
    from .bcs import homogeneous_gap

    ops = prob.ops
    d = np.zeros(ops.n, complex)
    gam = np.divide(ops.lump(ops.w_el / ops.D_e * ops.gamma_e * ops.sc_e), prob.c_sc, out=np.zeros(ops.n), where=prob.sc)
    for tc0, g in set(zip(np.round(prob.tc0[prob.sc], 12), np.round(gam[prob.sc], 12))):
        sel = prob.sc & np.isclose(prob.tc0, tc0) & np.isclose(gam, g)
        d[sel] = homogeneous_gap(prob.T, tc0, g) if prob.T < tc0 else 0.0
    if not np.any(np.abs(d) > 0):
        d[prob.sc] = 0.5 * prob.tc0[prob.sc]  # near/above the bulk Tc: start from a finite guess
    return d


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
        hL=None, u_grid=None, eta=1e-6):
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

    Raises
    ------
    ConvergenceError
        With the residual history if Anderson does not converge in ``maxiter``.
    """
    prob = _GapProblem(device, T, cutoff, n_matsubara)
    d0 = _initial_delta(prob) if delta0 is None else np.asarray(delta0, complex)
    scale = float(np.max(prob.tc0[prob.sc]))
    neq_arr = 0.0 if neq is None else np.asarray(neq, complex)
    if hL is not None:
        if not callable(hL):
            raise UsadelError("gap: hL must be a callable hL(E)")
        u = comoving_grid() if u_grid is None else np.asarray(u_grid, float)
        fun = _neq_map(prob, device, T, lambda E, sp: hL(E), u, eta)
    else:
        fun = lambda d: prob.update(d, neq_arr)
    d, hist, ok, sp = anderson(fun, d0, tol * scale, maxiter)
    if not ok:
        raise ConvergenceError(f"gap: Anderson iteration did not converge in {maxiter} steps at T = {T}; "
                               f"residual history {['%.2e' % h for h in hist]}", history=hist, residuals=np.array(hist))
    return GapResult(device=device, delta=d, T=T, iterations=len(hist), history=hist, n_matsubara=prob.N, spectral=sp)


def _neq_map(prob, device, T, hL_of, u, eta):
    """G(Delta) with delta_neq from the real axis on the co-moving grid E = max|Delta| u."""
    state = {"sp": None}
    n = device.operators.n
    # the grid scale never drops below 0.1 Delta00 (a collapsing gap must not shrink
    # the grid), and a fixed tail reaches past every reservoir's bias window
    floor = 0.1 * DELTA00 * float(np.max(prob.tc0[prob.sc]))
    reach = max([abs(r.mu) + abs(r.mu_s) + 40 * (r.T or 0.0) for r in device.contacts.values()], default=0.0)
    reach = max(reach, 40 * T)

    def fun(d):
        scale = max(float(np.max(np.abs(d))), floor)
        E = scale * u
        if reach > E[-1]:
            E = np.r_[E, np.linspace(E[-1], reach, max(8, int(4 * (reach - E[-1]) / max(T, 1e-3 * scale))))[1:]]
            if state["sp"] is not None and state["sp"].energies.size != E.size:
                state["sp"] = None
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


def critical_temperature(device, *, rtol=1e-6):
    """Tc of a device from the linearised gap equation (no full loop at trial T).

    Linearising the gap equation around Delta = 0 with the same discrete
    operator as the gap loop (``_linear_modes``; a per-node Delta is a P1 field
    with the full lumped weight C), the Matsubara sum over all w_n is exact:
    sum_n 2 pi T (Delta/w_n - f_n) = V diag(psi(1/2 + l/(4 pi T)) - psi(1/2)) V^T C Delta.
    Tc is the highest T where the largest eigenvalue of the symmetrised
    M(T) = ln(Tc0/T) - C^(1/2) V diag(...) V^T C^(1/2) (on superconducting,
    non-Dirichlet nodes) crosses zero. Contacts count as normal at Tc (a
    superconducting reservoir has no bifurcation).
    """
    from scipy.special import digamma

    if not isinstance(device, Device):
        raise UsadelError(f"critical_temperature: expected a usadel.Device, got {type(device).__name__}")
    prob0 = _GapProblem(device, 1.0, 60.0, 4)
    K, c, free, lam, V = _linear_modes(device)
    keep = prob0.sc[free]  # superconducting free nodes, in the order of ``free``
    W = np.sqrt(c[free])[:, None] * V  # C^(1/2) V
    W = W[keep]
    ln_tc = prob0.ln_tc[free][keep]
    tcmax = float(np.max(prob0.tc0[prob0.sc]))

    def largest_eig(T):
        """Largest eigenvalue of M(T): > 0 below Tc (the least pair-broken mode), < 0 above."""
        S0 = digamma(0.5 + lam / (4 * np.pi * T)) - digamma(0.5)
        M = np.diag(ln_tc - np.log(T)) - (W * S0) @ W.T
        return float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])

    if not keep.any():
        return 0.0
    lo, hi = 1e-3 * tcmax, tcmax * (1 + 1e-9)
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
