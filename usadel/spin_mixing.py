r"""Retarded equations with an exchange field and spin relaxation: two coupled spin blocks.

With a collinear exchange field h(x) the 4x4 spin-Nambu retarded function is
block diagonal, one 2x2 Nambu block per spin sigma = +-1 (spin-sigma electrons
with spin -sigma holes), block sigma seeing E -> E + sigma h. Spin-flip
(tau_sf) and spin-orbit (tau_so) scattering keep it block diagonal but couple
the blocks through their self-energies. Written per block (``docs/conventions.md``,
Exchange fields and spin relaxation; derivation checked symbolically in
``docs/derive_spin_mixing.py``), block sigma of the matrix equation of
:mod:`usadel.retarded` reads

    D div(g_s grad g_s) + [i (E + s h) tau3 + Delta_hat - S_s, g_s] = 0,
    S_s = (a/2) tau3 g_s tau3 + a tau3 g_-s tau3 + b g_-s,    a = 1/(4 tau_sf), b = 1/(4 tau_so),

so that for g_+ = g_- the spin-flip part is the spin-degenerate (Gamma/2) tau3 g tau3
with Gamma = 3 a = 3/(4 tau_sf) and the spin-orbit part drops out (not pair
breaking at h = 0). For a uniform superconductor these are the Maki equations
(Meservey and Tedrow, Phys. Rep. 238, 173 (1994)) with orbital-free pair breaking
zeta = a / Delta and spin-orbit parameter b_MT = b / Delta, i.e. tau_so^MT = (4/3) tau_so
in their normalisation b_MT = hbar / (3 tau_so^MT Delta); ``tests/test_spin_mixing.py``
pins this against an independent solution of those equations.

In Riccati amplitudes of block s (gamma, gamma~) and of the other block
(gamma', gamma~'), p' = gamma' gamma~', the coupling adds to the rows of
:mod:`usadel.retarded` (sigma/D-weighted, lumped on nodes like the pair-breaking term)

    gamma row:  2/(1 + p') [P (1 - p') gamma  + M (gamma'  - gamma~' gamma^2)],
    gamma~ row: 2/(1 + p') [P (1 - p') gamma~ + M (gamma~' - gamma' gamma~^2)],

with P = a + b and M = a - b, and the same-block spin-flip term is the
spin-degenerate one at rate a (one third of Gamma). The unknowns of both
blocks are solved together, four per node (gamma_+, gamma~_+, gamma_-, gamma~_-).
"""

import numpy as np

from .exchange import SPINS
from .coefficients import anomalous_change, pairing_rows
from .retarded import RetardedProblem
from .state import flat

__all__ = ["SpinMixedProblem", "coupling", "relaxation_rates_e", "linear_pair_amplitude", "mixing_tail",
           "mixing_mode_sum", "pair_derivative"]


def coupling(cP, cM, g, gt, go, gto, jac=False):
    """Coupling rows of one block (gamma row, gamma~ row), each (b, n), from the other block's (go, gto).

    ``cP``, ``cM``: lumped (sigma/D) (a + b) and (a - b) per node. With ``jac`` also the derivatives
    {(row, column): values} with rows/columns 0 = gamma, 1 = gamma~ of this block, 2, 3 of the other.
    """
    po = go * gto
    q = 1.0 / (1.0 + po)
    Bg = cP * (1.0 - po) * g + cM * (go - gto * g * g)
    Bt = cP * (1.0 - po) * gt + cM * (gto - go * gt * gt)
    Tg, Tt = 2.0 * q * Bg, 2.0 * q * Bt
    if not jac:
        return Tg, Tt, None
    d = {(0, 0): 2.0 * q * (cP * (1.0 - po) - 2.0 * cM * gto * g),
         (0, 2): 2.0 * q * (-cP * gto * g + cM) - 2.0 * gto * q * q * Bg,
         (0, 3): 2.0 * q * (-cP * go * g - cM * g * g) - 2.0 * go * q * q * Bg,
         (1, 1): 2.0 * q * (cP * (1.0 - po) - 2.0 * cM * go * gt),
         (1, 2): 2.0 * q * (-cP * gto * gt - cM * gt * gt) - 2.0 * gto * q * q * Bt,
         (1, 3): 2.0 * q * (-cP * go * gt + cM) - 2.0 * go * q * q * Bt}
    return Tg, Tt, d


class SpinMixedProblem:
    """Residual and Jacobian of both spin blocks with spin-flip and spin-orbit coupling, for a batch of energies.

    Same interface as :class:`usadel.retarded.RetardedProblem` (``initial``, ``impose``, ``residual``,
    ``newton``, ``energy_scale``), with states u (b, n, 4) holding both blocks per node,
    (gamma_+, gamma~_+, gamma_-, gamma~_-) (:mod:`usadel.state`); block k is the view u[..., 2k:2k+2].
    """

    #: components per node of the state: both spin blocks' (gamma, gamma~)
    ncomp = 4

    def __init__(self, device, delta, eta):
        self.blocks = [RetardedProblem(device, delta, eta, s) for s in SPINS]
        ops = self.ops = self.blocks[0].ops
        a_e, b_e = relaxation_rates_e(device)
        cA, cB = ops.lump(ops.w_el / ops.D_e * a_e), ops.lump(ops.w_el / ops.D_e * b_e)
        for blk in self.blocks:  # the same-block spin-flip term runs at a = Gamma / 3
            blk.cG = cA
        self.cP, self.cM = cA + cB, cA - cB
        self.eta = eta
        self.c = self.blocks[0].c
        self.dirichlet, self.tunnel = self.blocks[0].dirichlet, self.blocks[0].tunnel
        self.spin_orbit_node = np.divide(cB, self.c, out=np.zeros(ops.n), where=self.c > 0)
        self.dir_nodes = self.blocks[0].dir_nodes
        self.dir_rows = np.concatenate([4 * self.dir_nodes + k for k in range(4)])
        self.solver = ops.solver(4, symmetric_pivoting=True)

    @property
    def state_size(self):
        """Dofs of one energy's state (the nodes); the state is (b, state_size, 4)."""
        return self.ops.n

    @property
    def energy_scale(self):
        """Largest gap plus pair breaking plus |h| of either block, plus the spin-orbit rate."""
        return max(b.energy_scale for b in self.blocks) + np.max(self.spin_orbit_node, initial=0.0)

    @property
    def smallest_gap(self):
        """The smaller of the blocks' smallest local gap edges (None: no gap), less the spin-orbit rate."""
        gaps = [b.smallest_gap for b in self.blocks if b.smallest_gap is not None]
        return max(min(gaps) - np.max(self.spin_orbit_node, initial=0.0), 0.0) if gaps else None

    def initial(self, eps):
        """Each block's local bulk guess (with its own pair breaking), reservoir values imposed."""
        return np.concatenate([b.initial(eps) for b in self.blocks], axis=-1)

    def impose(self, eps, u):
        """Set the clean-contact nodes of both blocks to their reservoirs' bulk values, in place."""
        for k, blk in enumerate(self.blocks):
            blk.impose(eps, u[..., 2 * k:2 * k + 2])
        return u

    def residual(self, eps, u, jac=False):
        """Residual (b, 4 n), rows (gamma_+, gamma~_+, gamma_-, gamma~_-) per node; with ``jac`` the Jacobian data."""
        parts = [blk.residual_blocks(eps, u[..., 2 * k:2 * k + 2], jac) for k, blk in enumerate(self.blocks)]
        b, n = u.shape[:2]
        F = np.empty((b, n, 4), dtype=complex)
        blocks = np.zeros((b, 4, 4, self.ops.nnz), dtype=complex) if jac else None
        diag = self.ops.diag
        for k, (Fg, Ft, bl) in enumerate(parts):
            o = 1 - k
            Tg, Tt, d = coupling(self.cP, self.cM, u[..., 2 * k], u[..., 2 * k + 1], u[..., 2 * o], u[..., 2 * o + 1],
                                 jac)
            Fg, Ft = Fg + Tg, Ft + Tt
            Fg[:, self.dir_nodes] = Ft[:, self.dir_nodes] = 0.0
            F[..., 2 * k], F[..., 2 * k + 1] = Fg, Ft
            if jac:
                blocks[:, 2 * k:2 * k + 2, 2 * k:2 * k + 2] = bl
                cols = (2 * k, 2 * k + 1, 2 * o, 2 * o + 1)
                for (i, j), v in d.items():
                    blocks[:, 2 * k + i, cols[j], diag] += v
        F = flat(F)
        if not jac:
            return F
        return F, self.solver.fix_rows(self.solver.full_data(blocks), self.dir_rows)

    def newton(self, eps, u, tol, maxiter):
        """Damped Newton of :meth:`usadel.retarded.RetardedProblem.newton` on the coupled blocks."""
        return RetardedProblem.newton(self, eps, u, tol, maxiter)


def relaxation_rates_e(device):
    """Per element (a, b) = (1/(4 tau_sf), 1/(4 tau_so)), zero where the time is None or inf."""
    ops = device.operators
    return ops.tau_sf_inv_e / 4.0, ops.tau_so_inv_e / 4.0


def linear_pair_amplitude(w, gamma, h, c):
    """Spin-averaged linear pair amplitude f / Delta of a uniform region at Matsubara frequency ``w``.

    Linearising both blocks' rows (gamma small) gives the 2x2 system
    [[w + a + P - i h, M], [M, w + a + P + i h]] (gamma_+, gamma_-) ~ Delta, whose spin average is
    1 / (w + Gamma + h^2 / (w + c)), Gamma = 3 a, c = a + 2 b (``docs/derivations.md``, Spin mixing).
    """
    return 1.0 / (w + gamma + h * h / (w + c))


#: Gauss-Legendre nodes of the local tail integral in t = a / w (the integrand is smooth on [0, 1])
_TAIL_T, _TAIL_W = np.polynomial.legendre.leggauss(48)
_TAIL_T, _TAIL_W = 0.5 * (_TAIL_T + 1.0), 0.5 * _TAIL_W


def mixing_tail(a, gamma, h, c):
    """Int_a^inf dw [1/(w + Gamma) - f_lin/Delta]: the exchange field's share of the local linear tail
    with spin relaxation (per node; ``gamma``, ``h``, ``c`` arrays). O(h^2 / a) for a >> h, Gamma, c."""
    w = a / _TAIL_T[:, None]
    g = 1.0 / (w + gamma) - linear_pair_amplitude(w, gamma, h, c)
    return np.sum(_TAIL_W[:, None] * g * a / _TAIL_T[:, None] ** 2, axis=0)


def mixing_mode_sum(lam, T, h, M):
    """Spin-averaged S1 per mode l with uniform h and spin mixing M = a - b:
    sum_n 2 pi T (1/w_n - 2 f_lin(l)) with f_lin(l) = 1/(2 w + l + 4 h^2/(2 w + l - 4 M)).

    Partial fractions with kappa = sqrt(M^2 - h^2):
    alpha psi(1/2 + (l/2 - M - kappa)/(2 pi T)) + beta psi(1/2 + (l/2 - M + kappa)/(2 pi T)) - psi(1/2),
    alpha = (kappa - M)/(2 kappa), beta = (kappa + M)/(2 kappa); M = 0 gives Re psi(1/2 + (l + 2 i h)/(4 pi T)).
    Near kappa = 0 (h = |M|) the two poles merge; kappa is then nudged by 1e-7 |h| (error O(1e-14)).
    """
    from scipy.special import digamma

    kappa = np.sqrt(complex(M * M - h * h))
    if abs(kappa) < 1e-7 * max(abs(h), abs(M)):
        kappa = 1e-7 * max(abs(h), abs(M))
    alpha, beta = (kappa - M) / (2 * kappa), (kappa + M) / (2 * kappa)
    x = (lam / 2 - M) / (2 * np.pi * T)
    k = kappa / (2 * np.pi * T)
    return np.real(alpha * digamma(0.5 + x - k) + beta * digamma(0.5 + x + k)) - digamma(0.5)


def pair_derivative(device, delta, eps, sp):
    """For the gap equation's Jacobian: cv -> d(spin-averaged F)/d(pairing weights cv) at the Matsubara
    solution ``sp`` (energies ``eps``), one factorisation of the coupled Jacobian reused for every cv."""
    prob = SpinMixedProblem(device, delta, 0.0)
    u = sp.state  # (gamma_+, gamma~_+, gamma_-, gamma~_-) per node (usadel.state)
    _, data = prob.residual(eps, u, jac=True)
    solve = prob.solver.factorize(data)
    dir_nodes = prob.dir_nodes

    def d_pair(cv):
        rhs = np.empty(u.shape, complex)  # -dR/dcv in the state's layout, each block's (gamma, gamma~) rows
        for k in range(2):
            rhs[..., 2 * k], rhs[..., 2 * k + 1] = (-x for x in pairing_rows(cv, u[..., 2 * k], u[..., 2 * k + 1],
                                                                           dir_nodes))
        dx = solve(flat(rhs)).reshape(u.shape)
        dF = [anomalous_change(dx[..., 2 * k], dx[..., 2 * k + 1], u[..., 2 * k], u[..., 2 * k + 1]) for k in range(2)]
        return 0.5 * (dF[0] + dF[1])
    return d_pair
