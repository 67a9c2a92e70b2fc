r"""The gap equation linearised around Delta = 0: operators, eigenmodes, mode sums, exact tails.

At high Matsubara frequency (and at Tc) the Riccati amplitude gamma is small and
the retarded equation is linear in it:

    (K' + 2 w C) gamma = i (C Delta + R/(2 w)),

K' = sigma-weighted stiffness + 2 C_Gamma (spin-flip pair breaking) + tunnel
contacts (w/r on the diagonal) + tunnel interfaces (w/r couplings), C the lumped
sigma/D mass, R the lift from superconducting reservoirs (their bulk
gamma ~ i Delta_res/(2 w)); clean-contact nodes are fixed (Dirichlet). Every
contact and barrier is read from the device's boundary model (``usadel.boundary``).

Built on these operators, and shared by the Matsubara gap map
(``usadel.matsubara``) and the critical temperature (``usadel.tc``):

- dense eigenmodes K' V = C V Lambda (:func:`linear_modes`) and the sums over
  Matsubara frequencies per mode, digamma functions with or without the Debye
  regulator (:func:`mode_sum`, :func:`psi_reg`; ``docs/derivations.md``, Debye
  cutoff and the Cooper limit);
- the exact linear tail of the Matsubara sum beyond the explicit frequencies:
  over the eigenmodes (:class:`LinearTail`) or, for meshes too large for a dense
  eigendecomposition, by quadrature in w with factorisations of K' + 2 w C
  (:class:`QuadratureTail`, :func:`shifted_solvers`).
"""

import numpy as np
import scipy.sparse as sps

from . import budget
from .errors import UsadelError

__all__ = ["linear_operators", "linear_modes", "reservoir_source", "mode_sum", "regulated_sum", "psi_reg", "LinearTail",
           "QuadratureTail", "shifted_solvers"]

#: mode eigenvalues at or below this (a zero mode up to rounding) take the l -> 0 limit of S1/l
ZERO_MODE = 1e-12
#: relative step of the central differences for F'(a) in the Euler-Maclaurin end corrections
#: (error ~1e-6 of a correction that is itself O(N^-2) of the sum)
EM_STEP = 1e-3
#: Gauss-Legendre points per unit of ln w in QuadratureTail (a mode of eigenvalue l is a logistic
#: step of unit width in ln w at ln(l/2))
TAIL_POINTS = 6
#: QuadratureTail integrates up to this multiple of max(l_max, a, omega_D), then a closed-form 1/w^2 remainder
TAIL_TOP = 1000.0


def linear_operators(device):
    """Linearised retarded operator: (K' + 2 w C) gamma = i C Delta at small gamma.

    Returns (K' as CSR, C per node, ``fixed``: the clean-contact (Dirichlet) nodes
    as a boolean mask).
    """
    ops = device.operators
    bnd = device.boundary
    c = ops.lump_sd
    cG = ops.lump(ops.w_el / ops.D_e * ops.pair_breaking_e)
    diag = np.zeros(ops.n)
    for contact in bnd.tunnel:
        diag[contact.nodes] += contact.weights / contact.reservoir.barrier.r
    K = ops.K + sps.diags(diag + 2 * cG)
    for link in bnd.barriers:
        pa, pb, k = link.nodes_a, link.nodes_b, link.weights / link.barrier.r
        K = K + sps.csr_matrix((np.r_[k, k, -k, -k], (np.r_[pa, pb, pa, pb], np.r_[pa, pb, pb, pa])), shape=K.shape)
    fixed = np.zeros(ops.n, bool)
    fixed[bnd.dirichlet_nodes] = True
    return K.tocsr(), c, fixed


def linear_modes(device):
    """Generalised eigenmodes K' V = C V Lambda (V^T C V = 1) on the free nodes.

    Dense (``usadel.matsubara.MAX_DENSE_TAIL``, ``usadel.tc.MAX_DENSE_TC`` bound
    the mesh). Returns (K', C, free nodes, Lambda >= 0, V).
    """
    import scipy.linalg

    K, c, fixed = linear_operators(device)
    free = np.nonzero(~fixed)[0]
    lam, V = scipy.linalg.eigh(K.toarray()[np.ix_(free, free)], np.diag(c[free]))
    return K, c, free, np.maximum(lam, 0.0), V


def reservoir_source(device, K):
    """The lift R per node (complex) from the reservoirs' gaps, K' the operator of :func:`linear_operators`.

    A clean contact fixes gamma at its nodes, which moves -K'[:, nodes] Delta_res
    to the right-hand side; a tunnel contact couples with its weights/r.
    """
    R = np.zeros(device.operators.n, complex)
    for contact in device.boundary.contacts.values():
        res = contact.reservoir
        d = res.delta * np.exp(1j * res.phase)
        if contact.clean:
            R -= K[:, contact.nodes] @ np.full(contact.nodes.size, d)
        else:
            R[contact.nodes] += contact.weights / res.barrier.r * d
    return R


def psi_reg(a):
    """Psi(a) = Re psi(1/2 + i a) - psi(1/2) = sum_{n>=0} g_n/(n + 1/2), g_n = a^2/((n + 1/2)^2 + a^2)."""
    from scipy.special import digamma

    return np.real(digamma(0.5 + 1j * np.asarray(a, float))) - digamma(0.5)


def mode_sum(lam, T, N, omega_D=None):
    """S1 = sum_{n>=N} 2 pi T g_n (1/w_n - 2/(l + 2 w_n)) per mode eigenvalue l, and S2 = S1/l.

    Without regulator (g = 1): psi(N + 1/2 + x) - psi(N + 1/2), x = l/(4 pi T).
    With g_n = a^2/(z^2 + a^2) (z = n + 1/2, a = omega_D/(2 pi T)) the summand
    a^2 x/((z^2 + a^2) z (z + x)) splits into simple fractions at z = 0, -x, +-i a:
    S1 = -psi(N + 1/2) + a^2/(x^2 + a^2) psi(N + 1/2 + x) + Re[x/(x + i a) psi(N + 1/2 - i a)].
    l -> 0 (``ZERO_MODE``): S2 = (psi'(N + 1/2) - Im psi(N + 1/2 + i a)/a)/(4 pi T).
    """
    from scipy.special import digamma, polygamma

    x = lam / (4 * np.pi * T)
    small = lam <= ZERO_MODE
    if omega_D is None:
        S1 = digamma(N + 0.5 + x) - digamma(N + 0.5)
        lim = polygamma(1, N + 0.5) / (4 * np.pi * T)
    else:
        a = omega_D / (2 * np.pi * T)
        S1 = np.real(regulated_sum(x, a, N))
        lim = (polygamma(1, N + 0.5) - np.imag(digamma(N + 0.5 + 1j * a)) / a) / (4 * np.pi * T)
    S1 = np.where(small, 0.0, S1)
    S2 = np.where(small, lim, S1 / np.where(small, 1.0, lam))
    return S1, S2


def regulated_sum(x, a, N=0):
    """sum_{n>=N} a^2 x/((z^2 + a^2) z (z + x)), z = n + 1/2, for any complex x (Re x > -1/2 - N).

    Simple fractions with residues 1, -a^2/(x^2 + a^2), -x/(2 (x + i a)), -x/(2 (x - i a)) at
    z = 0, -x, i a, -i a: -psi(N + 1/2) + a^2/(x^2 + a^2) psi(N + 1/2 + x)
    + x/(2 (x + i a)) psi(N + 1/2 - i a) + x/(2 (x - i a)) psi(N + 1/2 + i a). For real x the last two
    are complex conjugates (:func:`mode_sum`); a complex x = (l + 2 i h)/(4 pi T) is a spin block with
    exchange field h (``usadel.tc.exchange_mode_sum``).
    """
    from scipy.special import digamma

    return (-digamma(N + 0.5) + a * a / (x * x + a * a) * digamma(N + 0.5 + x)
            + x / (2 * (x + 1j * a)) * digamma(N + 0.5 - 1j * a) + x / (2 * (x - 1j * a)) * digamma(N + 0.5 + 1j * a))


class LinearTail:
    """Exact sum over w_n >= w_N of the discrete linearised response (Delta/w - f_lin).

    At high frequency gamma is small and (K' + 2 w C) gamma = i (C Delta + R/(2w))
    (module docstring). With K' V = C V Lambda, V^T C V = 1, the sums over
    n >= N are digamma functions:
    S1(l) = sum 2 pi T (1/w - 2/(l + 2w)) = psi(N + 1/2 + l/(4 pi T)) - psi(N + 1/2),
    and the lift enters with S1(l)/l.
    """

    def __init__(self, device, T, N, omega_D=None):
        K, c, free, lam, V = linear_modes(device)
        S1, S2 = mode_sum(lam, T, N, omega_D)
        self.free, self.V, self.c = free, V, c
        self.S1, self.S2 = S1, S2
        R = reservoir_source(device, K)
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


class QuadratureTail:
    """The linear Matsubara tail of :class:`LinearTail` for meshes too large for a dense eigendecomposition.

    sum_{n>=N} 2 pi T H(w_n), H(w) = d(w) [Delta/w - f_lin(w)], f_lin = 2 A(w)^{-1} (C Delta + R/(2 w)),
    d the Debye weight (1 without omega_D), A(w) = K' + 2 w C (real, symmetric positive
    definite), by the midpoint rule turned around (Euler-Maclaurin):
    sum = Int_a^inf H dw + ((2 pi T)^2/24) H'(a) + O(N^-4),
    a = 2 pi T N. The integral runs in u = ln w with composite Gauss-Legendre
    (``TAIL_POINTS`` per unit of u) up to w_top = ``TAIL_TOP`` max(l_max, a, omega_D),
    l_max from Gershgorin, plus the closed-form remainder H ~ d C^{-1} (K' Delta - R)/(2 w^2).
    One factorisation of A(w) per node (:func:`shifted_solvers`), made once; each
    application costs one back-substitution per node. Agrees with the exact sum to 1e-8
    relative at N = 80 (the Euler-Maclaurin remainder grows to ~5e-7 at N = 20 with a
    regulator; tests/test_gap.py).
    """

    def __init__(self, device, T, N, omega_D=None):
        from .linsolve import threadpool_limits

        K, c, fixed = linear_operators(device)
        self.free = free = np.nonzero(~fixed)[0]
        Kf = K[free][:, free].tocsc()
        self.c, self.cf = c, c[free]
        self.Kf = Kf
        self.R = reservoir_source(device, K)[free]
        a = 2 * np.pi * T * N
        lmax = float(np.max(np.asarray(abs(Kf).sum(axis=1)).ravel() / self.cf))
        top = TAIL_TOP * max(lmax, a, omega_D or 0.0)
        panels = max(1, int(np.ceil(np.log(top / a))))
        xg, wg = np.polynomial.legendre.leggauss(TAIL_POINTS)
        edges = np.linspace(np.log(a), np.log(a) + panels, panels + 1)
        u = ((edges[:-1, None] + edges[1:, None]) / 2 + 0.5 * xg[None, :]).ravel()
        wu = np.tile(0.5 * wg, panels)
        w = np.exp(u)
        h = 2 * np.pi * T
        eps = EM_STEP
        # integral nodes, then a(1 -+ eps) for H'(a)
        self.omegas = np.r_[w, a * (1 - eps), a * (1 + eps)]
        self.weights = np.r_[wu * w, -h * h / 24 / (2 * a * eps), h * h / 24 / (2 * a * eps)]
        self.top = top = float(np.exp(edges[-1]))
        debye = lambda om: 1.0 if omega_D is None else omega_D**2 / (om**2 + omega_D**2)
        self.debye_weight = np.array([debye(om) for om in self.omegas])
        # remainder Int_top^inf d/(2 w^2) dw
        if omega_D is None:
            self.Q = 1.0 / (2 * top)
        else:
            self.Q = 0.5 * (1.0 / top - (np.pi / 2 - np.arctan(top / omega_D)) / omega_D)
        with threadpool_limits(limits=1, user_api="blas"):
            self.lus = shifted_solvers(Kf, self.cf, self.omegas)
        self.lift = -self._apply(np.zeros(free.size, complex), with_R=True)

    def _apply(self, x, with_R):
        """Tail of H for Delta = x on the free nodes (x complex), optionally with the lift R."""
        out = np.zeros(x.size, complex)
        cx = self.cf * x
        for lu, om, wt, dw in zip(self.lus, self.omegas, self.weights, self.debye_weight):
            b = cx + (self.R / (2 * om) if with_R else 0.0)
            y = lu(np.stack([b.real, b.imag], axis=1))
            f = 2 * (y[:, 0] + 1j * y[:, 1])
            out += wt * dw * (x / om - f)
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


def shifted_solvers(Kf, cf, omegas, where="gap"):
    """Solvers b -> (Kf + 2 w diag(cf))^{-1} b for every w in ``omegas`` (SPD matrices, b of shape (n, k)).

    Banded matrices (1D meshes) get a banded Cholesky factor ((bw + 1) n numbers
    each); others a sparse LU (symmetric mode) whose factors are copied out
    and the SuperLU object dropped: SuperLU reserves ~600 bytes per nonzero of
    the matrix for every factorisation it keeps alive (a 1e5-element wire
    reserved 37 GB for the ~170 tail frequencies). The memory of all factors is
    estimated from the first one and checked against ``usadel.budget.MEMORY_BUDGET``
    before the others are made.
    """
    from .linsolve import MAX_BANDED

    n = Kf.shape[0]
    coo = Kf.tocoo()
    bw = int(np.max(np.abs(coo.row - coo.col), initial=0))
    count = len(omegas)

    def check(per, kind):
        if per * count > budget.MEMORY_BUDGET:
            raise UsadelError(f"{where}: the Matsubara tail of this {n}-node mesh needs {count} {kind} factorisations "
                              f"of about {budget.gib(per)} each, {budget.gib(per * count)} in all, over the memory "
                              f"budget of {budget.gib(budget.MEMORY_BUDGET)} (usadel.budget module, MEMORY_BUDGET); "
                              f"use a coarser mesh")

    if bw <= MAX_BANDED:  # sizes: 8 bytes per float64; a sparse entry 8 + 4 (index), 16 per row
        check(8.0 * (bw + 1) * n, "banded Cholesky")
        return _banded_cholesky(coo, bw, n, cf, omegas)
    return _sparse_lu(Kf, cf, omegas, check)


def _banded_cholesky(coo, bw, n, cf, omegas):
    import scipy.linalg

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


def _sparse_lu(Kf, cf, omegas, check):
    import scipy.sparse.linalg as spla

    n = Kf.shape[0]
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
