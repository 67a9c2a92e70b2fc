r"""Retarded Riccati equations with quadratic (P2) Lagrange elements on triangle meshes.

The weak equations of :mod:`usadel.highorder` (and of :class:`usadel.retarded.RetardedProblem`,
module docstring there), now on 2D triangles: for every test function phi_k,

    Int sigma [grad gamma . grad phi_k + 2 gamma~ (grad gamma)^2/(1 + gamma gamma~) phi_k] dA
      + Int (sigma/D) [-2 i (E + s h) gamma - i Delta - i Delta^* gamma^2
                       + 2 Gamma gamma (1 - gamma gamma~)/(1 + gamma gamma~)] phi_k dA
      - Int_contact (Kupriyanov-Lukichev flux)/r phi_k ds = 0,

and its tilde partner. The P2 basis, its values and gradients at the quadrature points and the
weights come from scikit-fem (``CellBasis(mesh, ElementTriP2(), intorder=4)``: exact for the
bilinear terms); every cell integral is by that rule (no lumping). The boundary integral of a
tunnel contact is Simpson's rule on each facet (the P2 nodes: weights 1/6, 4/6, 1/6 of its length),
where the nonlinear flux is a function of the nodal values, as in P1's lumping. Clean contacts fix
every dof on the contact (vertices and facet midpoints) to the reservoir's bulk value.

The dofs of scikit-fem's P2 element (vertices, then one per facet at its midpoint) are the nodes of
the once uniformly refined mesh; an order-2 2D device is built on that refined mesh
(``usadel.order.order_topology``), so its nodes are the dofs and everything downstream of the
spectral solve (kinetic equations, observables) runs on its P1 operators, as for the 1D chains of
:mod:`usadel.highorder`. Newton, the homotopy and the sweep are those of :mod:`usadel.retarded` and
:mod:`usadel.sweep`; the linear solves go through :class:`usadel.linsolve.BlockSolver` on the P2
sparsity pattern (two interleaved unknowns per dof).

Not built (refused by ``usadel.order.check_order``): tunnel interfaces between regions, spin mixing,
P3 triangles.
"""

import numpy as np
import scipy.sparse as sps
import skfem
from scipy.spatial import cKDTree

from .bulk import riccati_barrier
from .errors import UsadelError
from .eta_homotopy import finish, homotopy, warm_start
from .linsolve import BlockSolver
from .order import DofFields
from .retarded import RetardedProblem
from .sweep import smallest_gap, sweep

__all__ = ["TriP2Problem", "solve_chunk", "dof_nodes", "point_operators", "current_flux"]

#: quadrature order of the cell integrals (exact for products of two P2 functions)
INTORDER = 4
#: quadrature-point values per batch of energies (n_E x n_el x nq x ~8 complex arrays; 4e6 is 64 MB per array)
MAX_ELEMENT_ENTRIES = 4e6


def p2_basis(mesh):
    """scikit-fem's P2 basis on a triangle mesh (quadrature of order ``INTORDER``)."""
    return skfem.CellBasis(mesh, skfem.ElementTriP2(), intorder=INTORDER)


def dof_nodes(basis, fine_p):
    """Node of the refined device (coordinates ``fine_p``, (2, n)) at every P2 dof of ``basis``."""
    locs = basis.doflocs
    dist, node = cKDTree(fine_p.T).query(locs.T)
    scale = np.max(np.ptp(fine_p, axis=1))
    if np.max(dist, initial=0.0) > 1e-9 * scale or np.unique(node).size != node.size:
        raise UsadelError("Device: order = 2: the refined mesh's nodes are not the P2 dofs of the mesh")
    return node


def point_operators(basis):
    """Sparse (Q, n) operators from dof values to values, x and y derivatives at the Q = n_el x nq
    quadrature points of ``basis`` (element-major)."""
    dofs = basis.element_dofs
    nb, n_el = dofs.shape
    nq = basis.dx.shape[1]
    rows = np.repeat(np.arange(n_el * nq), nb)
    cols = np.repeat(dofs.T[:, None, :], nq, axis=1).ravel()

    def op(vals):  # (nb, n_el, nq) -> (Q, n)
        return sps.csr_matrix((vals.transpose(1, 2, 0).ravel(), (rows, cols)), shape=(n_el * nq, basis.N))
    return (op(np.stack([np.asarray(b[0]) for b in basis.basis])),
            *(op(np.stack([b[0].grad[d] for b in basis.basis])) for d in (0, 1)))


def current_flux(device, tag):
    """:func:`usadel.observables.current_flux` on an order-2 triangle device: Int sigma (g grad g)_11 . grad w
    over the mesh's elements by the P2 quadrature, w the P1 flux weight of ``tag`` on the mesh's vertices."""
    from .fem import flux_weight

    coarse = device.coarse
    ops = coarse.operators
    basis = p2_basis(coarse.mesh)
    _, gw = ops.element_values(flux_weight(ops, tag))  # (n_el, 2): constant per element
    sigma = np.array([m.sigma for m in coarse.region_material()])[coarse.topology.region]
    wx, wy = ((sigma[:, None] * basis.dx * gw[:, d][:, None]).ravel() for d in (0, 1))
    Phi, Gx, Gy = point_operators(basis)
    node = device.dof_node

    def one(g, gt):
        g, gt = np.ascontiguousarray(g[:, node].T), np.ascontiguousarray(gt[:, node].T)
        gq, tq = (Phi @ g).T, (Phi @ gt).T
        den = (1.0 + gq * tq) ** 2
        return (2.0 * (gq * (Gx @ gt).T - tq * (Gx @ g).T) / den) @ wx + \
            (2.0 * (gq * (Gy @ gt).T - tq * (Gy @ g).T) / den) @ wy

    def flux(sp):
        out = [one(b.gamma, b.gamma_t) for b in ((sp.block(1), sp.block(-1)) if sp.spin_split else (sp,))]
        return sum(out) / len(out)
    return flux


class TriP2Problem(DofFields, RetardedProblem):
    """Residual and Jacobian of the Riccati equations on P2 triangles (batched over energies).

    The interface of :class:`usadel.retarded.RetardedProblem` (``initial``, ``impose``, ``residual``,
    ``newton`` (inherited), ``energy_scale``, ``ops.thouless_energy``), on the dofs of
    :func:`p2_basis` of ``device.coarse``; ``node`` maps dofs to the order-2 ``device``'s nodes.
    """

    def __init__(self, device, delta, eta, spin=0):
        self.node = device.dof_node
        self.ops = device.operators  # P1 operators of the refined device: Thouless energy, rounding scale
        coarse = device.coarse
        self.basis = basis = p2_basis(coarse.mesh)
        self.eta, self.spin, self.ch = eta, spin, None
        self.n = basis.N
        mats = coarse.region_material()
        reg = coarse.topology.region  # the coarse device keeps the mesh's element order (no tunnel interfaces)
        sigma, D = (np.array([getattr(m, a) for m in mats])[reg] for a in ("sigma", "D"))
        gam = np.array([m.spin_flip_rate for m in mats])[reg]
        h = spin * np.array([m.h for m in mats])[reg] if spin else np.zeros(reg.size)
        sc = np.array([m.superconducting for m in mats])[reg]
        self.dofs = basis.element_dofs  # (6, n_el)
        self.phi = np.stack([np.asarray(b[0]) for b in basis.basis])  # (6, n_el, nq)
        self.dphi = np.stack([b[0].grad for b in basis.basis])  # (6, 2, n_el, nq)
        self.S = sigma[:, None] * basis.dx
        self.M = self.S / D[:, None]
        self.G = np.broadcast_to(gam[:, None], self.S.shape)
        self.H = np.broadcast_to(h[:, None], self.S.shape)
        self.delta_q = sc[:, None] * self._delta_q(coarse, delta, reg)
        self._pattern()
        self._boundary(device)
        # per-dof values (mean over the dof's elements) for the initial guess
        self.delta_dof = self._dof_mean(self.delta_q.mean(axis=1))
        self.gamma_dof, self.h_dof = self._dof_mean(gam).real, self._dof_mean(h).real
        self.c = np.abs(self.W @ self.M.ravel())[self.diag]  # mass diagonal (rounding scale)
        self.solver = BlockSolver(self.indptr, self.indices, self.n, 2, symmetric_pivoting=True)

    def _dof_mean(self, per_el):
        """Mean over each dof's elements of an element-constant value (n_el,), complex (n,)."""
        d = self.dofs.ravel()
        v = np.repeat(np.asarray(per_el, complex)[None], 6, axis=0).ravel()
        cnt = np.bincount(d, minlength=self.n)
        return (np.bincount(d, v.real, minlength=self.n) + 1j * np.bincount(d, v.imag, minlength=self.n)) / cnt

    def _delta_q(self, coarse, delta, reg):
        """Delta at the quadrature points (n_el, nq): per region constant, or the P2 field of per-node values."""
        if isinstance(delta, dict):
            per = np.array([complex(delta.get(r, 0.0)) for r in coarse.region_names])[reg]
            return np.repeat(per[:, None], self.S.shape[1], axis=1)
        if np.ndim(delta) == 0:
            return np.full(self.S.shape, complex(delta))
        d = np.asarray(delta, complex)[self.node]  # per node of the order-2 device -> per dof
        return np.einsum("ke,keq->eq", d[self.dofs], self.phi)

    def _pattern(self):
        """CSR pattern of the P2 dof graph, and the assembly as sparse operators on quadrature-point values.

        With Q = n_el x nq quadrature points: ``Phi``, ``Gx``, ``Gy`` (Q, n) give values and gradients at the
        points; ``PhiT`` (n, Q) integrates point values against every test function; ``W``, ``Wx``, ``Wy``
        (nnz, Q) assemble point coefficients c into Jacobian data Int c phi_k phi_l and Int c_d phi_k d_d phi_l;
        ``K_data`` is the stiffness Int sigma grad phi_k . grad phi_l on the pattern.
        """
        n, dofs = self.n, self.dofs
        n_el, nq = self.S.shape
        r = np.repeat(dofs[:, None, :], 6, axis=1)  # (k, l, e): row dof k
        c = np.repeat(dofs[None, :, :], 6, axis=0)
        pat = sps.csr_matrix((np.ones(r.size), (r.ravel(), c.ravel())), shape=(n, n))
        pat.sum_duplicates()
        pat.sort_indices()
        self.indptr, self.indices = pat.indptr, pat.indices
        self.nnz = pat.indices.size
        keys = np.repeat(np.arange(n), np.diff(pat.indptr)).astype(np.int64) * n + pat.indices
        pos = np.searchsorted(keys, r.astype(np.int64) * n + c)  # (k, l, e)
        self.diag = np.searchsorted(keys, np.arange(n, dtype=np.int64) * (n + 1))
        qpt = np.arange(n_el * nq).reshape(n_el, nq)  # (e, q)

        def pattern(vals):  # (k, l, n_el, nq) -> (nnz, Q)
            return sps.csr_matrix((vals.ravel(), (np.repeat(pos[..., None], nq, axis=3).ravel(),
                                   np.broadcast_to(qpt, vals.shape).ravel())), shape=(self.nnz, n_el * nq))
        self.Phi, self.Gx, self.Gy = point_operators(self.basis)
        self.PhiT = self.Phi.T.tocsr()
        self.W = pattern(self.phi[:, None] * self.phi[None, :])
        self.Wx = pattern(self.phi[:, None] * self.dphi[None, :, 0])
        self.Wy = pattern(self.phi[:, None] * self.dphi[None, :, 1])
        S = self.S.ravel()
        self.K = (self.Gx.T @ sps.diags(S) @ self.Gx + self.Gy.T @ sps.diags(S) @ self.Gy).tocsr()
        self.K_data = pattern(self.dphi[:, None, 0] * self.dphi[None, :, 0]
                              + self.dphi[:, None, 1] * self.dphi[None, :, 1]) @ S

    def _boundary(self, device):
        """Clean contacts: every dof on their facets; tunnel contacts: dofs with Simpson weights."""
        mesh = device.coarse.mesh
        nv = mesh.p.shape[1]
        self.dirichlet, self.tunnel = [], []
        for tag, res in device.contacts.items():
            f = np.asarray(mesh.boundaries[tag])
            a, b = mesh.facets[:, f]
            length = np.linalg.norm(mesh.p[:, b] - mesh.p[:, a], axis=0)
            d = np.concatenate([a, b, nv + f])
            if res.barrier is None:
                self.dirichlet.append((np.unique(d), res))
                continue
            w = np.bincount(d, np.concatenate([length / 6, length / 6, 4 * length / 6]), minlength=self.n)
            nodes = np.unique(d)
            self.tunnel.append((nodes, w[nodes], res))
        self.dir_nodes = np.concatenate([d for d, _ in self.dirichlet]) if self.dirichlet else np.zeros(0, int)
        self.dir_rows = np.concatenate([2 * self.dir_nodes, 2 * self.dir_nodes + 1])

    @property
    def state_size(self):
        """Length of one energy's state arrays: one value per dof."""
        return self.n

    @property
    def energy_scale(self):
        """Largest local gap plus pair-breaking rate (plus |h| in a spin block) of the device."""
        return float(np.max(np.abs(self.delta_q), initial=0.0) + np.max(self.G, initial=0.0)
                     + np.max(np.abs(self.H), initial=0.0))

    @property
    def smallest_gap(self):
        """Smallest local gap edge |Delta| - |h| at the quadrature points (None: no gap); see
        :attr:`usadel.retarded.RetardedProblem.smallest_gap`."""
        return smallest_gap(self.delta_q, self.H)

    def _at_q(self, u):
        """Values and gradients (x, y) of dof fields u (b, n) at the quadrature points, each (b, Q)."""
        ut = np.ascontiguousarray(u.T)
        return (self.Phi @ ut).T, (self.Gx @ ut).T, (self.Gy @ ut).T

    def residual_blocks(self, eps, g, gt, jac=False):
        """Rows (Fg, Ft), each (b, n), bulk plus tunnel contacts; with ``jac`` the Jacobian blocks
        (b, 2, 2, nnz) on the P2 pattern (else None)."""
        Fg, Ft, blocks = self._bulk(eps, g, gt, jac)
        for nodes, wts, res in self.tunnel:
            gr, gtr = self.reservoir_gamma(res, eps)
            fg, ft, own, _ = riccati_barrier(g[:, nodes], gt[:, nodes], gr[:, None], gtr[:, None], wts / res.barrier.r,
                                             jac=jac)
            Fg[:, nodes] -= fg
            Ft[:, nodes] -= ft
            for (i, j), v in own.items():
                blocks[:, i, j, self.diag[nodes]] += v
        return Fg, Ft, blocks

    def residual(self, eps, g, gt, jac=False):
        """Residual (b, 2 n); with ``jac`` also the Jacobian data on the solver's pattern."""
        Fg, Ft, blocks = self.residual_blocks(eps, g, gt, jac)
        Fg[:, self.dir_nodes] = Ft[:, self.dir_nodes] = 0.0
        F = np.empty((g.shape[0], 2 * self.n), dtype=complex)
        F[:, 0::2], F[:, 1::2] = Fg, Ft
        if not jac:
            return F
        return F, self.solver.fix_rows(self.solver.full_data(blocks), self.dir_rows)

    def _bulk(self, eps, g, gt, jac):
        """Bulk residual (Fg, Ft), each (b, n), and with ``jac`` the Jacobian blocks (b, 2, 2, nnz)."""
        S, M, G, H = (a.ravel() for a in (self.S, self.M, self.G, self.H))
        D = self.delta_q.ravel()
        Dc = np.conj(D)
        gq, gx, gy = self._at_q(g)
        tq, tx, ty = self._at_q(gt)
        pp = gq * tq
        den = 1.0 + pp
        sg, st = gx * gx + gy * gy, tx * tx + ty * ty
        e = eps[:, None] + H
        frac = (1.0 - pp) / den
        vg = S * 2.0 * tq * sg / den + M * (-2j * e * gq - 1j * (D + Dc * gq * gq) + 2.0 * G * gq * frac)
        vt = S * 2.0 * gq * st / den + M * (-2j * e * tq + 1j * (D * tq * tq + Dc) + 2.0 * G * tq * frac)
        Fg = (self.PhiT @ vg.T + self.K @ g.T).T
        Ft = (self.PhiT @ vt.T + self.K @ gt.T).T
        if not jac:
            return Fg, Ft, None
        den2 = den * den
        hp = 2.0 * frac - 4.0 * pp / den2
        b = g.shape[0]
        blocks = np.empty((b, 2, 2, self.nnz), dtype=complex)
        cg, ct = S * 4.0 * tq / den, S * 4.0 * gq / den  # gradient terms phi_k d phi_l
        blocks[:, 0, 0] = (self.W @ (S * (-2.0 * tq * tq * sg / den2) + M * (-2j * e - 2j * Dc * gq + G * hp)).T
                           + self.Wx @ (cg * gx).T + self.Wy @ (cg * gy).T).T + self.K_data
        blocks[:, 1, 1] = (self.W @ (S * (-2.0 * gq * gq * st / den2) + M * (-2j * e + 2j * D * tq + G * hp)).T
                           + self.Wx @ (ct * tx).T + self.Wy @ (ct * ty).T).T + self.K_data
        blocks[:, 0, 1] = (self.W @ (S * 2.0 * sg / den2 + M * (-4.0 * G * gq * gq / den2)).T).T
        blocks[:, 1, 0] = (self.W @ (S * 2.0 * st / den2 + M * (-4.0 * G * tq * tq / den2)).T).T
        return Fg, Ft, blocks


def solve_chunk(device, E, delta, eta, tol, maxiter, method="homotopy", guess=None, spin=0):
    """One chunk of energies on an order-2 triangle device: (gamma, gamma~, residuals) at its nodes (the dofs).

    Called by :func:`usadel.retarded.spectral` (same arguments as its chunk solver), in batches of at
    most ``MAX_ELEMENT_ENTRIES`` element-Jacobian entries; methods as there.
    """
    prob = TriP2Problem(device, delta, eta, spin)
    eps = E.astype(complex) + 1j * eta
    # the sweep advances one energy at a time on sparse patterns (one lane): its chunk stays whole
    per = eps.size if method == "sweep" and guess is None else max(1, int(MAX_ELEMENT_ENTRIES // (prob.S.size * 8)))
    parts = []
    for i in range(0, eps.size, per):
        e = eps[i:i + per]
        if guess is not None or method == "direct":
            g, gt = prob.initial(e) if guess is None else prob.impose(e, prob.from_nodes(guess[0][i:i + per]),
                                                                      prob.from_nodes(guess[1][i:i + per]))
            parts.append(warm_start(prob, e, g, gt, tol, maxiter))
        elif method == "sweep":
            parts.append(sweep(prob, e, tol, maxiter, start=homotopy))
        else:
            parts.append(homotopy(prob, e, tol, maxiter))
    g, gt, ok, res = (np.concatenate(x) for x in zip(*parts))
    g, gt, res = finish(prob, E, eps, g, gt, ok, res, tol, maxiter, what="spectral (order 2, triangles)")
    return prob.nodes(g), prob.nodes(gt), res
