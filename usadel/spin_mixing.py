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

from .exchange import SPINS, interleave, split
from .retarded import RetardedProblem

__all__ = ["SpinMixedProblem", "coupling"]


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
    ``newton``, ``energy_scale``), with states (b, 2 n) holding both blocks spin fastest
    (:func:`interleave`); four unknowns per node.
    """

    def __init__(self, device, delta, eta):
        self.blocks = [RetardedProblem(device, delta, eta, s) for s in SPINS]
        ops = self.ops = self.blocks[0].ops
        a_e = ops.tau_sf_inv_e / 4.0
        b_e = np.array([0.0 if m.tau_so is None else 1.0 / (4.0 * float(m.tau_so))
                        for m in device.region_material()])[ops.region]
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
    def energy_scale(self):
        """Largest gap plus pair breaking plus |h| of either block, plus the spin-orbit rate."""
        return max(b.energy_scale for b in self.blocks) + np.max(self.spin_orbit_node, initial=0.0)

    def reservoir_gamma(self, res, eps):
        """Bulk (gamma, gamma~) of a reservoir, both blocks interleaved (b, 2) per energy."""
        (gu, gtu), (gd, gtd) = (b.reservoir_gamma(res, eps) for b in self.blocks)
        return interleave(gu[:, None], gd[:, None]), interleave(gtu[:, None], gtd[:, None])

    def initial(self, eps):
        """Each block's local bulk guess (with its own pair breaking), reservoir values imposed."""
        (gu, gtu), (gd, gtd) = (b.initial(eps) for b in self.blocks)
        return interleave(gu, gd), interleave(gtu, gtd)

    def impose(self, eps, g, gt):
        """Set the clean-contact nodes of both blocks to their reservoirs' bulk values, in place."""
        for blk, gs, gts in zip(self.blocks, split(g), split(gt)):
            blk.impose(eps, gs, gts)
        return g, gt

    def residual(self, eps, g, gt, jac=False):
        """Residual (b, 4 n), rows (gamma_+, gamma~_+, gamma_-, gamma~_-) per node; with ``jac`` the Jacobian data."""
        gs, gts = split(g), split(gt)
        parts = [blk.residual_blocks(eps, gs[k], gts[k], jac) for k, blk in enumerate(self.blocks)]
        b, n = g.shape[0], self.ops.n
        F = np.empty((b, 4 * n), dtype=complex)
        blocks = np.zeros((b, 4, 4, self.ops.nnz), dtype=complex) if jac else None
        diag = self.ops.diag
        for k, (Fg, Ft, bl) in enumerate(parts):
            o = 1 - k
            Tg, Tt, d = coupling(self.cP, self.cM, gs[k], gts[k], gs[o], gts[o], jac)
            Fg, Ft = Fg + Tg, Ft + Tt
            Fg[:, self.dir_nodes] = Ft[:, self.dir_nodes] = 0.0
            F[:, 2 * k::4], F[:, 2 * k + 1::4] = Fg, Ft
            if jac:
                blocks[:, 2 * k:2 * k + 2, 2 * k:2 * k + 2] = bl
                cols = (2 * k, 2 * k + 1, 2 * o, 2 * o + 1)
                for (i, j), v in d.items():
                    blocks[:, 2 * k + i, cols[j], diag] += v
        if not jac:
            return F
        return F, self.solver.fix_rows(self.solver.full_data(blocks), self.dir_rows)

    def newton(self, eps, g, gt, tol, maxiter):
        """Damped Newton of :meth:`usadel.retarded.RetardedProblem.newton` on the coupled blocks."""
        return RetardedProblem.newton(self, eps, g, gt, tol, maxiter)
