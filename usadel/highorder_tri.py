r"""Retarded Riccati equations with quadratic and cubic (P2, P3) Lagrange elements on triangle meshes.

The weak equations of :mod:`usadel.highorder` (and of :class:`usadel.retarded.RetardedProblem`,
module docstring there), now on 2D triangles: for every test function phi_k,

    Int sigma [grad gamma . grad phi_k + 2 gamma~ (grad gamma)^2/(1 + gamma gamma~) phi_k] dA
      + Int (sigma/D) [-2 i (E + s h) gamma - i Delta - i Delta^* gamma^2
                       + 2 Gamma gamma (1 - gamma gamma~)/(1 + gamma gamma~)] phi_k dA
      - Int_contact (Kupriyanov-Lukichev flux)/r phi_k ds = 0,

and its tilde partner. The order-p basis, its values and gradients at the quadrature points and
the weights come from scikit-fem (``CellBasis(mesh, ElementTriP2(), intorder=4)`` and
``CellBasis(mesh, ElementTriP3(), intorder=6)``, :mod:`usadel.tri_dofs`: exact for the bilinear
terms); every cell integral is by that rule (no lumping). The boundary integral of a tunnel contact
is the closed Newton-Cotes rule on each facet's p + 1 dofs (P2: Simpson, 1/6 4/6 1/6 of its length;
P3: Simpson's 3/8 rule, 1/8 3/8 3/8 1/8), where the nonlinear flux is a function of the nodal
values, as in P1's lumping. Clean contacts fix every dof on the contact (vertices and facet dofs)
to the reservoir's bulk value.

The dofs of scikit-fem's order-p element are the nodes of the mesh cut along the lattice of every
element into p^2 triangles (:func:`usadel.tri_dofs.lattice_mesh`; for P2 the once uniformly refined
mesh); an order-p 2D device is built on that mesh (``usadel.order.order_topology``), so its nodes
are the dofs and everything downstream of the spectral solve (kinetic equations, observables) runs
on its P1 operators, as for the 1D chains of :mod:`usadel.highorder`. Newton, the homotopy and the
sweep are those of :mod:`usadel.retarded` and :mod:`usadel.sweep`; the linear solves go through
:class:`usadel.linsolve.BlockSolver` on the order-p sparsity pattern (two interleaved unknowns per dof).

Not built (refused by ``usadel.order.check_order``): tunnel interfaces between regions, spin mixing,
order 4 triangles.
"""

import numpy as np
import scipy.sparse as sps

from .bulk import riccati_barrier
from .eta_homotopy import finish, homotopy, warm_start
from .linsolve import BlockSolver
from .order import DofFields
from .retarded import RetardedProblem
from .sweep import smallest_gap, sweep
from .tri_dofs import facet_weights, point_operators, tri_basis

__all__ = ["TriProblem", "TriP2Problem", "solve_chunk", "current_flux"]

#: quadrature-point values per batch of energies (n_E x n_el x nq x ~8 complex arrays; 4e6 is 64 MB per array)
MAX_ELEMENT_ENTRIES = 4e6


def current_flux(device, tag):
    """:func:`usadel.observables.current_flux` on an order-p triangle device: Int sigma (g grad g)_11 . grad w
    over the mesh's elements by the order-p quadrature, w the P1 flux weight of ``tag`` on the mesh's vertices."""
    from .fem import flux_weight

    coarse = device.coarse
    ops = coarse.operators
    basis = tri_basis(coarse.mesh, device.order)
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


class TriProblem(DofFields, RetardedProblem):
    """Residual and Jacobian of the Riccati equations on order-p triangles, p = ``device.order`` (batched
    over energies).

    The interface of :class:`usadel.retarded.RetardedProblem` (``initial``, ``impose``, ``residual`` and
    ``newton`` (inherited: they call :meth:`residual_blocks`), ``energy_scale``, ``ops.thouless_energy``), on the dofs of
    :func:`usadel.tri_dofs.tri_basis` of ``device.coarse``; ``node`` maps dofs to the order-p ``device``'s nodes.
    """

    def __init__(self, device, delta, eta, spin=0):
        self.node = device.dof_node
        self.ops = device.operators  # P1 operators of the refined device: Thouless energy, rounding scale
        coarse = device.coarse
        self.order = device.order
        self.basis = basis = tri_basis(coarse.mesh, self.order)
        self.eta, self.spin, self.ch = eta, spin, None
        self.n = basis.N
        mats = coarse.region_material()
        reg = coarse.topology.region  # the coarse device keeps the mesh's element order (no tunnel interfaces)
        sigma, D = (np.array([getattr(m, a) for m in mats])[reg] for a in ("sigma", "D"))
        gam = np.array([m.spin_flip_rate for m in mats])[reg]
        h = spin * np.array([m.h for m in mats])[reg] if spin else np.zeros(reg.size)
        sc = np.array([m.superconducting for m in mats])[reg]
        self.dofs = basis.element_dofs  # (nb, n_el): nb = 6 (P2), 10 (P3)
        self.phi = np.stack([np.asarray(b[0]) for b in basis.basis])  # (nb, n_el, nq)
        self.dphi = np.stack([b[0].grad for b in basis.basis])  # (nb, 2, n_el, nq)
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
        v = np.repeat(np.asarray(per_el, complex)[None], self.dofs.shape[0], axis=0).ravel()
        cnt = np.bincount(d, minlength=self.n)
        return (np.bincount(d, v.real, minlength=self.n) + 1j * np.bincount(d, v.imag, minlength=self.n)) / cnt

    def _delta_q(self, coarse, delta, reg):
        """Delta at the quadrature points (n_el, nq): per region constant, or the order-p field of per-node values."""
        if isinstance(delta, dict):
            per = np.array([complex(delta.get(r, 0.0)) for r in coarse.region_names])[reg]
            return np.repeat(per[:, None], self.S.shape[1], axis=1)
        if np.ndim(delta) == 0:
            return np.full(self.S.shape, complex(delta))
        d = np.asarray(delta, complex)[self.node]  # per node of the order-p device -> per dof
        return np.einsum("ke,keq->eq", d[self.dofs], self.phi)

    def _pattern(self):
        """CSR pattern of the order-p dof graph, and the assembly as sparse operators on quadrature-point values.

        With Q = n_el x nq quadrature points: ``Phi``, ``Gx``, ``Gy`` (Q, n) give values and gradients at the
        points; ``PhiT`` (n, Q) integrates point values against every test function; ``W``, ``Wx``, ``Wy``
        (nnz, Q) assemble point coefficients c into Jacobian data Int c phi_k phi_l and Int c_d phi_k d_d phi_l;
        ``K_data`` is the stiffness Int sigma grad phi_k . grad phi_l on the pattern.
        """
        n, dofs = self.n, self.dofs
        n_el, nq = self.S.shape
        nb = dofs.shape[0]
        r = np.repeat(dofs[:, None, :], nb, axis=1)  # (k, l, e): row dof k
        c = np.repeat(dofs[None, :, :], nb, axis=0)
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
        """Clean contacts: every dof on their facets; tunnel contacts: those dofs with the facets' Newton-Cotes
        weights (:func:`usadel.tri_dofs.facet_weights`)."""
        mesh = device.coarse.mesh
        self.dirichlet, self.tunnel = [], []
        for tag, res in device.contacts.items():
            nodes, wts = facet_weights(mesh, self.basis, self.order, np.asarray(mesh.boundaries[tag]))
            if res.barrier is None:
                self.dirichlet.append((nodes, res))
            else:
                self.tunnel.append((nodes, wts, res))
        self.dir_nodes = np.concatenate([d for d, _ in self.dirichlet]) if self.dirichlet else np.zeros(0, int)
        self.dir_rows = np.concatenate([2 * self.dir_nodes, 2 * self.dir_nodes + 1])

    @property
    def state_size(self):
        """Dofs of one energy's state; the state is (b, state_size, 2) (:mod:`usadel.state`)."""
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

    def residual_blocks(self, eps, u, jac=False):
        """Rows (Fg, Ft), each (b, n), bulk plus tunnel contacts, at the states ``u`` (b, n, 2); with ``jac`` the
        Jacobian blocks (b, 2, 2, nnz) on the order-p pattern (else None)."""
        Fg, Ft, blocks = self._bulk(eps, u, jac)
        g, gt = u[..., 0], u[..., 1]
        for nodes, wts, res in self.tunnel:
            gr, gtr = self.reservoir_gamma(res, eps)
            fg, ft, own, _ = riccati_barrier(g[:, nodes], gt[:, nodes], gr[:, None], gtr[:, None], wts / res.barrier.r,
                                             jac=jac)
            Fg[:, nodes] -= fg
            Ft[:, nodes] -= ft
            for (i, j), v in own.items():
                blocks[:, i, j, self.diag[nodes]] += v
        return Fg, Ft, blocks

    def _bulk(self, eps, u, jac):
        """Bulk residual (Fg, Ft), each (b, n), and with ``jac`` the Jacobian blocks (b, 2, 2, nnz)."""
        g, gt = u[..., 0], u[..., 1]
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
    """One chunk of energies on an order-p triangle device: (u, residuals), u the states at its nodes (the dofs).

    Called by :func:`usadel.retarded.spectral` (same arguments as its chunk solver), in batches of at
    most ``MAX_ELEMENT_ENTRIES`` element-Jacobian entries; methods as there.
    """
    prob = TriProblem(device, delta, eta, spin)
    eps = E.astype(complex) + 1j * eta
    # the sweep advances one energy at a time on sparse patterns (one lane): its chunk stays whole
    per = eps.size if method == "sweep" and guess is None else max(1, int(MAX_ELEMENT_ENTRIES // (prob.S.size * 8)))
    parts = []
    for i in range(0, eps.size, per):
        e = eps[i:i + per]
        if guess is not None or method == "direct":
            u = prob.initial(e) if guess is None else prob.impose(e, prob.from_nodes(guess[i:i + per]))
            parts.append(warm_start(prob, e, u, tol, maxiter))
        elif method == "sweep":
            parts.append(sweep(prob, e, tol, maxiter, start=homotopy))
        else:
            parts.append(homotopy(prob, e, tol, maxiter))
    u, ok, res = (np.concatenate(x) for x in zip(*parts))
    u, res = finish(prob, E, eps, u, ok, res, tol, maxiter, what=f"spectral (order {prob.order}, triangles)")
    return prob.nodes(u), res


#: the name of the class when it was built for P2 only (``tests/test_continuation.py`` and scripts use it)
TriP2Problem = TriProblem
