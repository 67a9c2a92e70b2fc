"""Degrees of freedom of order-p Lagrange elements on the 1D chain of a device.

Every element of the finalised topology (``Device.topology``; tunnel interfaces
already split their node) gets p + 1 local dofs: its two vertices (shared with
the neighbouring element) and p - 1 interior ones. The dofs are numbered along
the chain (reverse Cuthill-McKee on the dof graph, tunnel pairs included), so
the Jacobian of two interleaved components is banded with half-bandwidth 2p + 1
and :class:`usadel.linsolve.BlockSolver` solves a batch of energies as one
banded LAPACK system. The sparsity pattern, the scatter map from element blocks
and the positions of diagonals and tunnel pairs are built once, as in
:class:`usadel.fem.Operators`.
"""

import numpy as np
import scipy.sparse as sps
from scipy.sparse.csgraph import reverse_cuthill_mckee

from .lagrange import line_element

__all__ = ["ChainDofs"]


class ChainDofs:
    """Dof numbering, quadrature geometry and sparsity pattern of order ``order`` on ``device``'s chain.

    Attributes
    ----------
    order : element order p
    element : :class:`usadel.lagrange.LineElement`
    n : number of dofs; ``L`` (n_el, p+1) local-to-global map (column 0 at
        topology ``t[0]``, column p at ``t[1]``); ``vertex`` (n_nodes,) dof of each mesh vertex
    x : (n,) dof coordinates; ``jac`` (n_el,) signed dx/dxi; ``xq`` (n_el, nq) quadrature points
    indptr, indices, nnz : CSR pattern on dofs; ``diag`` (n,) positions of the diagonal
    pairs, pair_pos : tunnel interfaces (vertex dofs a, b, weights, barrier) and the
        pattern positions of (a, b) and (b, a)
    """

    def __init__(self, device, order, nq=None):
        top = device.topology
        nv, t = top.n_nodes, np.asarray(top.t)
        ne = t.shape[1]
        p = int(order)
        self.order, self.element = p, line_element(p, nq)
        L0 = np.empty((ne, p + 1), dtype=np.int64)
        L0[:, 0], L0[:, p] = t[0], t[1]
        L0[:, 1:p] = nv + np.arange(ne * (p - 1)).reshape(ne, p - 1)
        n = nv + ne * (p - 1)
        links = device.boundary.barriers
        rows = [np.broadcast_to(L0[:, :, None], (ne, p + 1, p + 1)).ravel(), np.arange(n)]
        cols = [np.broadcast_to(L0[:, None, :], (ne, p + 1, p + 1)).ravel(), np.arange(n)]
        for lk in links:
            rows += [lk.nodes_a, lk.nodes_b]
            cols += [lk.nodes_b, lk.nodes_a]
        r0, c0 = np.concatenate(rows), np.concatenate(cols)
        adj = sps.csr_matrix((np.ones(r0.size), (r0, c0)), shape=(n, n))
        perm = reverse_cuthill_mckee(adj, symmetric_mode=True)
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = np.arange(n)
        self.n, self.n_el = n, ne
        self.L = inv[L0]
        self.vertex = inv[np.arange(nv)]
        xa, xb = top.p[0, t[0]], top.p[0, t[1]]
        self.jac = 0.5 * (xb - xa)
        mid = 0.5 * (xa + xb)
        self.x = np.empty(n)
        self.x[self.L] = mid[:, None] + self.jac[:, None] * self.element.nodes[None, :]
        self.xq = mid[:, None] + self.jac[:, None] * self.element.xq[None, :]
        self._pattern(inv[r0], inv[c0], links)

    def _pattern(self, r, c, links):
        n, ne, p1 = self.n, self.n_el, self.order + 1
        keys = np.unique(r * n + c)
        self.nnz = keys.size
        self.indices = (keys % n).astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // n, minlength=n))]).astype(np.int32)
        er = np.broadcast_to(self.L[:, :, None], (ne, p1, p1)).ravel()
        ec = np.broadcast_to(self.L[:, None, :], (ne, p1, p1)).ravel()
        pos = np.searchsorted(keys, er * n + ec)
        #: (nnz, n_el (p+1)^2): element blocks onto the pattern
        self.scatter = sps.csr_matrix((np.ones(pos.size), (pos, np.arange(pos.size))), shape=(self.nnz, pos.size))
        #: (n, n_el (p+1)): element vectors onto dofs
        self.gather_t = sps.csr_matrix((np.ones(ne * p1), (self.L.ravel(), np.arange(ne * p1))), shape=(n, ne * p1))
        self.diag = np.searchsorted(keys, np.arange(n, dtype=np.int64) * (n + 1))
        self.pairs, self.pair_pos = [], []
        for lk in links:
            a, b = self.vertex[lk.nodes_a], self.vertex[lk.nodes_b]
            self.pairs.append((a, b, lk.weights, lk.barrier))
            self.pair_pos.append((np.searchsorted(keys, a * n + b), np.searchsorted(keys, b * n + a)))

    def assemble(self, local):
        """Sum element blocks (b, n_el, p+1, p+1) into values on the pattern, (b, nnz)."""
        b = local.shape[0]
        return (self.scatter @ local.reshape(b, -1).T).T

    def assemble_vector(self, local):
        """Sum element vectors (b, n_el, p+1) onto dofs, (b, n)."""
        b = local.shape[0]
        return (self.gather_t @ local.reshape(b, -1).T).T

    def at_quadrature(self, u):
        """Values and x-derivatives of dof fields ``u`` (b, n) at the Gauss points, each (b, n_el, nq)."""
        ul = u[:, self.L]
        el = self.element
        return ul @ el.phi.T, (ul @ el.dphi.T) / self.jac[:, None]

    def prolong(self, uv):
        """Order-p dof field (b, n) equal to the P1 interpolant of vertex values ``uv`` (b, n_nodes)."""
        u = np.empty((uv.shape[0], self.n), dtype=uv.dtype)
        u[:, self.vertex] = uv
        s = 0.5 * (1.0 + self.element.nodes[1:-1])  # interior nodes, 0..1 along each element
        ua, ub = u[:, self.L[:, 0]], u[:, self.L[:, -1]]
        u[:, self.L[:, 1:-1]] = ua[..., None] * (1.0 - s) + ub[..., None] * s
        return u
