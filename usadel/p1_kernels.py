r"""Compiled (numba) bulk residual and Jacobian of the P1 Riccati equations (``usadel.retarded``).

:meth:`usadel.retarded.RetardedProblem._bulk` assembles the bulk rows with sparse products and
numpy expressions over (energies x elements) arrays. In 1D sweeps and in the nonequilibrium
loop the batches are small (a lane step: ~8 energies), so that work is dominated by numpy's
per-call overhead: on the seed device (701 nodes) 1.8 ms per residual, half of the spectral
solve. This module computes the same terms in one compiled pass per energy (any simplex
dimension: 1D wires, networks, 2D triangles): the stiffness product, the element gradient
terms 2 w gamma~ (grad gamma)^2 / (1 + gamma gamma~) on every vertex, the lumped node terms
(energy, pairing, pair breaking, exchange), and with the Jacobian the same element columns
and diagonal entries, term by term as the numpy path; they agree to rounding
(``tests/test_p1_kernels.py``). Barriers stay in numpy (``RetardedProblem.residual_blocks``).
"""

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; callers keep a numpy/LAPACK path
    numba = None

__all__ = ["AVAILABLE", "P1Bulk"]

#: True where the compiled kernel can be used
AVAILABLE = numba is not None


def _bulk(eps, x, t, grad, w, Kd, indptr, indices, diag, pos, c, cG, cD, cDc, ch, jac, Fg, Ft, blocks):
    nb, n = x.shape[:2]
    n_el, d1, dim = grad.shape
    dg = np.zeros(dim, np.complex128)
    dt = np.zeros(dim, np.complex128)
    for b in range(nb):
        for r in range(n):  # stiffness (and its Jacobian entries)
            sg, st = 0j, 0j
            for k in range(indptr[r], indptr[r + 1]):
                sg += Kd[k] * x[b, indices[k], 0]
                st += Kd[k] * x[b, indices[k], 1]
                if jac:
                    blocks[b, 0, 0, k] += Kd[k]
                    blocks[b, 1, 1, k] += Kd[k]
            Fg[b, r] = sg
            Ft[b, r] = st
        for e in range(n_el):  # element gradient terms on every vertex
            gb, tb = 0j, 0j
            for m in range(dim):
                dg[m] = 0j
                dt[m] = 0j
            for j in range(d1):
                u, v = x[b, t[e, j], 0], x[b, t[e, j], 1]
                gb += u
                tb += v
                for m in range(dim):
                    dg[m] += u * grad[e, j, m]
                    dt[m] += v * grad[e, j, m]
            gb /= d1
            tb /= d1
            s_g, s_t = 0j, 0j
            for m in range(dim):
                s_g += dg[m] * dg[m]
                s_t += dt[m] * dt[m]
            den = 1.0 + gb * tb
            vg = w[e] * 2.0 * tb * s_g / den
            vt = w[e] * 2.0 * gb * s_t / den
            for i in range(d1):
                Fg[b, t[e, i]] += vg
                Ft[b, t[e, i]] += vt
            if jac:
                wd = w[e] / den
                for j in range(d1):
                    pg, pt = 0j, 0j
                    for m in range(dim):
                        pg += dg[m] * grad[e, j, m]
                        pt += dt[m] * grad[e, j, m]
                    v00 = -2.0 * wd * tb * tb * s_g / (den * d1) + 4.0 * wd * tb * pg
                    v01 = 2.0 * wd * s_g / (den * d1)
                    v11 = -2.0 * wd * gb * gb * s_t / (den * d1) + 4.0 * wd * gb * pt
                    v10 = 2.0 * wd * s_t / (den * d1)
                    for i in range(d1):
                        p = pos[e, i, j]
                        blocks[b, 0, 0, p] += v00
                        blocks[b, 0, 1, p] += v01
                        blocks[b, 1, 1, p] += v11
                        blocks[b, 1, 0, p] += v10
        ep = eps[b]
        for r in range(n):  # lumped node terms
            u, v = x[b, r, 0], x[b, r, 1]
            pp = u * v
            dn = 1.0 + pp
            Fg[b, r] += c[r] * (-2j * ep * u) - 1j * (cD[r] + cDc[r] * u * u) + cG[r] * 2.0 * u * (1.0 - pp) / dn
            Ft[b, r] += c[r] * (-2j * ep * v) + 1j * (cD[r] * v * v + cDc[r]) + cG[r] * 2.0 * v * (1.0 - pp) / dn
            Fg[b, r] += -2j * ch[r] * u
            Ft[b, r] += -2j * ch[r] * v
            if jac:
                dn2 = dn * dn
                hp = 2.0 * (1.0 - pp) / dn - 4.0 * pp / dn2
                q = diag[r]
                blocks[b, 0, 0, q] += c[r] * (-2j * ep) - 2j * cDc[r] * u + cG[r] * hp - 2j * ch[r]
                blocks[b, 0, 1, q] += cG[r] * (-4.0 * u * u / dn2)
                blocks[b, 1, 1, q] += c[r] * (-2j * ep) + 2j * cD[r] * v + cG[r] * hp - 2j * ch[r]
                blocks[b, 1, 0, q] += cG[r] * (-4.0 * v * v / dn2)


if AVAILABLE:
    _bulk = numba.njit(cache=True)(_bulk)


class P1Bulk:
    """The bulk rows of a :class:`usadel.retarded.RetardedProblem`, compiled: ``self(eps, u, jac)`` (u the state (b, n, 2),
    :mod:`usadel.state`) returns
    (Fg, Ft, blocks or None) as ``_bulk`` does. The node weights ``c``, ``cG``, ``cD``, ``cDc``, ``ch`` are read
    from the problem at each call (``usadel.spin_mixing`` sets its blocks' ``cG`` after construction)."""

    def __init__(self, prob):
        ops = prob.ops
        self.t = np.ascontiguousarray(ops.t.T, np.int64)
        self.grad = np.ascontiguousarray(ops.grad, float)
        self.w = np.ascontiguousarray(ops.w_el, float)
        self.K = (np.ascontiguousarray(ops.K_data, float), ops.indptr.astype(np.int64), ops.indices.astype(np.int64))
        self.diag = np.asarray(ops.diag, np.int64)
        self.pos = np.ascontiguousarray(ops.element_positions, np.int64)
        self.nnz = ops.nnz
        self.prob = prob
        self.no_h = np.zeros(ops.n)

    def coefficients(self):
        p = self.prob
        return (np.ascontiguousarray(p.c, float), np.ascontiguousarray(p.cG, float), np.ascontiguousarray(p.cD, complex),
                np.ascontiguousarray(p.cDc, complex), self.no_h if p.ch is None else np.ascontiguousarray(p.ch, float))

    def __call__(self, eps, u, jac):
        b, n = u.shape[:2]
        Fg = np.empty((b, n), complex)
        Ft = np.empty((b, n), complex)
        blocks = np.zeros((b, 2, 2, self.nnz) if jac else (0, 2, 2, 0), complex)
        _bulk(np.ascontiguousarray(eps, complex), np.ascontiguousarray(u, complex),
              self.t, self.grad, self.w, *self.K, self.diag, self.pos, *self.coefficients(), bool(jac), Fg, Ft, blocks)
        return Fg, Ft, (blocks if jac else None)
