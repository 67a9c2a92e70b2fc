"""Newton steps on order-p 1D chains by static condensation of the element-interior unknowns.

An interior dof of a Lagrange element couples only to its own element, so each
element's Jacobian (b, n_el, 2(p+1), 2(p+1)), components (gamma, gamma~) times
local dofs, splits into vertex (V) and interior (I) parts. Eliminating I element
by element (small batched solves with A_II) leaves the Schur complement
A_VV - A_VI A_II^-1 A_IV on the vertices, which has exactly the sparsity of the P1
problem on the same topology: it is assembled with the P1 scatter map and solved
by the device's P1 :class:`usadel.linsolve.BlockSolver` (one banded LAPACK solve
for the batch). Barrier and Dirichlet terms act on vertices only and enter there.
The interior unknowns follow by back-substitution.
"""

import functools

import numpy as np
import scipy.sparse as sps

from . import kernels

__all__ = ["StaticCondensation"]


def _solve_small(A, B):
    """Batched dense solves A x = B over leading axes; NaN for the energies (axis 0) whose block is singular."""
    try:
        return np.linalg.solve(A, B)
    except np.linalg.LinAlgError:
        out = np.full(B.shape, np.nan, dtype=np.result_type(A, B))
        for k in range(A.shape[0]):
            try:
                out[k] = np.linalg.solve(A[k], B[k])
            except np.linalg.LinAlgError:
                pass
        return out


class StaticCondensation:
    """Condensed Newton solve for the dofs of a :class:`usadel.chain_dofs.ChainDofs` on ``device``.

    Unknowns are interleaved per dof (global index 2 dof + component: the Newton vector of a state
    u (b, n, 2), :func:`usadel.state.flat`); an element's local
    unknowns are numbered 2 k + component over its vertex-first local dofs k, so the first
    four are the vertex unknowns (V) and the rest the interior ones (I).
    """

    def __init__(self, device, dofs):
        ops = device.operators
        self.ops = ops
        t = np.asarray(device.topology.t)
        ne, nv = t.shape[1], device.topology.n_nodes
        #: interleaved residual index of every local unknown, (n_el, 2(p+1))
        self.loc = np.stack([2 * dofs.L, 2 * dofs.L + 1], axis=2).reshape(ne, -1)
        #: P1 (vertex) unknown index of every local vertex unknown, (n_el, 4): (end, component)
        self.vloc = np.stack([2 * t[0], 2 * t[0] + 1, 2 * t[1], 2 * t[1] + 1], axis=1)
        #: dof-numbering index of every P1 vertex unknown, (2 n_nodes,)
        self.vdof = np.stack([2 * dofs.vertex, 2 * dofs.vertex + 1], axis=1).ravel()
        dn = device.boundary.dirichlet_nodes
        self.dir_rows = np.concatenate([2 * dn, 2 * dn + 1])
        self.t = t
        # a chain in node order (node bandwidth 1, as 1D wires are numbered): the compiled block elimination
        vrow = np.repeat(np.arange(nv), np.diff(ops.indptr)).astype(np.int64)
        vcol = np.asarray(ops.indices, dtype=np.int64)
        dirm = np.zeros((nv, 2), bool)
        dirm.reshape(-1)[self.dir_rows] = True
        #: arguments of usadel.kernels.chain_solve, or None where the vertex pattern is not tridiagonal
        self.chain = ((vrow, vcol, t[0].astype(np.int64), t[1].astype(np.int64), self.vdof.astype(np.int64),
                       self.loc.astype(np.int64), dirm) if np.all(np.abs(vrow - vcol) <= 1) else None)

    @functools.cached_property
    def solver(self):
        """The P1 solver of the vertex system (2 unknowns per node), for the solves not by
        :func:`usadel.kernels.chain_solve` (built on first use: compiled chains never need it)."""
        return self.ops.solver(2, symmetric_pivoting=True)

    @functools.cached_property
    def fixed(self):
        """(fix_zero, fix_one): positions of the solver's data on clean-contact rows, and their diagonal."""
        sv = self.solver
        rows = np.isin(sv.fr, self.dir_rows)
        return np.nonzero(rows)[0], np.nonzero(rows & (sv.fr == sv.fc))[0]

    @functools.cached_property
    def vsum(self):
        """Element-end values (n_el x 2, end fastest) summed onto vertices, (n_nodes, 2 n_el)."""
        t, ne = self.t, self.t.shape[1]
        return sps.csr_matrix((np.ones(2 * ne), (t.T.ravel(), np.arange(2 * ne))), shape=(self.ops.n, 2 * ne))

    def step(self, A, vb, F):
        """Newton update dx (b, 2 n) solving J dx = -F.

        ``A``: element Jacobians (b, n_el, 2(p+1), 2(p+1)) without barrier terms; ``vb``: barrier
        (vertex) Jacobian blocks (b, 2, 2, nnz) on the P1 pattern; ``F``: residual (b, 2 n), zero on
        Dirichlet rows.
        """
        r = F[:, self.loc]
        sol = _solve_small(A[:, :, 4:, 4:], np.concatenate([A[:, :, 4:, :4], r[:, :, 4:, None]], axis=-1))
        X, y = sol[..., :4], sol[..., 4]
        AVI = A[:, :, :4, 4:]
        return self.solve_condensed(A[:, :, :4, :4] - AVI @ X, (AVI @ y[..., None])[..., 0], X, y, vb, F)

    def solve_condensed(self, Sc, corr, X, y, vb, F, compiled=False):
        """Newton update dx (b, 2 n) from the condensed element data (:meth:`step`, :func:`usadel.kernels.bulk`).

        ``Sc`` (b, n_el, 4, 4): Schur complements on the vertex unknowns (end, component); ``corr`` (b, n_el, 4):
        A_VI A_II^-1 r_I; ``X`` (b, n_el, 2(p-1), 4), ``y`` (b, n_el, 2(p-1)): A_II^-1 A_IV and A_II^-1 r_I.
        ``compiled``: on a chain in node order, the vertex system by 2x2 block elimination
        (:func:`usadel.kernels.chain_solve`) instead of the banded LAPACK solve of the P1 solver.
        """
        if compiled and self.chain is not None:
            return kernels.chain_solve(Sc, corr, X, y, vb, F, self.chain)
        b = Sc.shape[0]
        Sc = Sc.reshape(b, -1, 2, 2, 2, 2)  # (b, e, end, c, end', c')
        corr = corr.reshape(b, -1, 2, 2)  # (b, e, end, c)
        blocks = vb.copy()
        for c in (0, 1):
            for c2 in (0, 1):
                blocks[:, c, c2] += self.ops.assemble(Sc[:, :, :, c, :, c2])
        data = self.solver.full_data(blocks)
        fix_zero, fix_one = self.fixed
        data[:, fix_zero] = 0.0
        data[:, fix_one] = 1.0
        FV = F[:, self.vdof]  # a copy (fancy index)
        for c in (0, 1):
            FV[:, c::2] -= (self.vsum @ corr[:, :, :, c].reshape(b, -1).T).T
        FV[:, self.dir_rows] = 0.0
        xV = self.solver.solve(data, -FV)
        xI = -y - (X @ xV[:, self.vloc][..., None])[..., 0]
        dx = np.empty_like(F)
        dx[:, self.vdof] = xV
        dx[:, self.loc[:, 4:]] = xI
        return dx
