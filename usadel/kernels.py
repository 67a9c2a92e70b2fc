r"""Compiled (numba) element kernels of the order-p Riccati equations on 1D chains.

:func:`bulk` computes what :meth:`usadel.highorder.HighOrderProblem._bulk` and the
element part of :meth:`usadel.condense.StaticCondensation.step` compute with numpy,
in one pass over energies and elements that allocates only its outputs: the bulk
residual (Fg, Ft) assembled on the dofs and, with the Jacobian, each element's
condensed data: the Schur complement on its four vertex unknowns, the correction
A_VI A_II^-1 r_I of the vertex residual, and A_II^-1 A_IV, A_II^-1 r_I for the
back-substitution. The element-interior rows of the residual are the element's own
(barriers and clean contacts act on vertices only), so the condensation can use the
bulk residual. The same formulas as the numpy path, term by term, and the same
dense solve (LU with partial pivoting, as LAPACK's gesv): the results agree to
rounding (``tests/test_kernels.py``). Small problems are where numpy's per-call
overhead dominates (issue 16: a P3 sweep at ~50 unknowns).

numba is imported lazily; :data:`AVAILABLE` is False without it and the numpy path
is used. Kernels are compiled on first use and cached on disk (``cache=True``).
"""

import numpy as np

__all__ = ["AVAILABLE", "bulk", "chain_solve"]

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the numpy path stays complete
    numba = None

#: True where the compiled kernels can be used
AVAILABLE = numba is not None


def _bulk(eps, g, gt, L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc, jac, Fg, Ft, Sc, corr, X, y):
    b, n_el, p1 = eps.shape[0], L.shape[0], L.shape[1]
    nq = phi.shape[0]
    ni = 2 * (p1 - 2)
    A = np.zeros((2 * p1, 2 * p1), dtype=np.complex128)
    rl = np.zeros(2 * p1, dtype=np.complex128)
    B = np.zeros((ni, 5), dtype=np.complex128)
    AII = np.zeros((ni, ni), dtype=np.complex128)
    for w in range(b):
        for el in range(n_el):
            for k in range(2 * p1):
                rl[k] = 0.0
                for m in range(2 * p1):
                    A[k, m] = 0.0
            for q in range(nq):
                gq = 0j
                dg = 0j
                tq = 0j
                dt = 0j
                for k in range(p1):
                    u, v = g[w, L[el, k]], gt[w, L[el, k]]
                    gq += u * phi[q, k]
                    tq += v * phi[q, k]
                    dg += u * dphi[q, k]
                    dt += v * dphi[q, k]
                dg *= jinv[el]
                dt *= jinv[el]
                s, mm = S[el, q], M[el, q]
                e = eps[w] + hq[el, q]
                D, G = Dq[el, q], Gq[el, q]
                Dc = np.conj(D)
                pp = gq * tq
                den = 1.0 + pp
                sg, st = dg * dg, dt * dt
                frac = (1.0 - pp) / den
                vg = s * 2.0 * tq * sg / den + mm * (-2j * e * gq - 1j * (D + Dc * gq * gq) + 2.0 * G * gq * frac)
                vt = s * 2.0 * gq * st / den + mm * (-2j * e * tq + 1j * (D * tq * tq + Dc) + 2.0 * G * tq * frac)
                fg, ft = s * dg * jinv[el], s * dt * jinv[el]
                for k in range(p1):
                    rl[2 * k] += vg * phi[q, k] + fg * dphi[q, k]
                    rl[2 * k + 1] += vt * phi[q, k] + ft * dphi[q, k]
                if not jac:
                    continue
                den2 = den * den
                hp = 2.0 * frac - 4.0 * pp / den2
                a_pp = s * (-2.0 * tq * tq * sg / den2) + mm * (-2j * e - 2j * Dc * gq + G * hp)
                d_pp = s * (-2.0 * gq * gq * st / den2) + mm * (-2j * e + 2j * D * tq + G * hp)
                b_pp = s * 2.0 * sg / den2 + mm * (-4.0 * G * gq * gq / den2)
                c_pp = s * 2.0 * st / den2 + mm * (-4.0 * G * tq * tq / den2)
                a_pd = s * 4.0 * tq * dg * jinv[el] / den
                d_pd = s * 4.0 * gq * dt * jinv[el] / den
                for k in range(p1):
                    for m in range(p1):
                        pkm = phi[q, k] * phi[q, m]
                        pdk = phi[q, k] * dphi[q, m]
                        A[2 * k, 2 * m] += a_pp * pkm + a_pd * pdk
                        A[2 * k, 2 * m + 1] += b_pp * pkm
                        A[2 * k + 1, 2 * m] += c_pp * pkm
                        A[2 * k + 1, 2 * m + 1] += d_pp * pkm + d_pd * pdk
            for k in range(p1):
                Fg[w, L[el, k]] += rl[2 * k]
                Ft[w, L[el, k]] += rl[2 * k + 1]
            if not jac:
                continue
            for k in range(p1):
                for m in range(p1):
                    A[2 * k, 2 * m] += Kloc[el, k, m]
                    A[2 * k + 1, 2 * m + 1] += Kloc[el, k, m]
            _condense(A, rl, AII, B, ni, Sc[w, el], corr[w, el], X[w, el], y[w, el])


def _condense(A, rl, AII, B, ni, Sc, corr, X, y):
    """Schur complement of one element: A_II^-1 [A_IV | r_I] by LU with partial pivoting (as gesv)."""
    for i in range(ni):
        for j in range(ni):
            AII[i, j] = A[4 + i, 4 + j]
        for j in range(4):
            B[i, j] = A[4 + i, j]
        B[i, 4] = rl[4 + i]
    for c in range(ni):
        piv, big = c, abs(AII[c, c])
        for r in range(c + 1, ni):
            if abs(AII[r, c]) > big:
                piv, big = r, abs(AII[r, c])
        if piv != c:
            for j in range(ni):
                AII[c, j], AII[piv, j] = AII[piv, j], AII[c, j]
            for j in range(5):
                B[c, j], B[piv, j] = B[piv, j], B[c, j]
        for r in range(c + 1, ni):
            f = AII[r, c] / AII[c, c]
            AII[r, c] = f
            for j in range(c + 1, ni):
                AII[r, j] -= f * AII[c, j]
            for j in range(5):
                B[r, j] -= f * B[c, j]
    for c in range(ni - 1, -1, -1):
        for j in range(5):
            v = B[c, j]
            for r in range(c + 1, ni):
                v -= AII[c, r] * B[r, j]
            B[c, j] = v / AII[c, c]
    for i in range(ni):
        for j in range(4):
            X[i, j] = B[i, j]
        y[i] = B[i, 4]
    for i in range(4):
        v = 0j
        for k in range(ni):
            v += A[i, 4 + k] * B[k, 4]
        corr[i] = v
        for j in range(4):
            v = A[i, j]
            for k in range(ni):
                v -= A[i, 4 + k] * B[k, j]
            Sc[i, j] = v


def _chain_solve(Sc, corr, X, y, vb, vrow, vcol, F, t0, t1, vdof, loc, dirm, dx):
    """Vertex system of a chain (block tridiagonal, 2x2 blocks in node order) assembled and solved by
    block elimination, then the interior unknowns by back-substitution; dx = -J^-1 F."""
    b, n_el, ni = Sc.shape[0], Sc.shape[1], X.shape[2]
    nv = vdof.shape[0] // 2
    Dg = np.zeros((nv, 2, 2), dtype=np.complex128)
    Lo = np.zeros((nv, 2, 2), dtype=np.complex128)
    Up = np.zeros((nv, 2, 2), dtype=np.complex128)
    r = np.zeros((nv, 2), dtype=np.complex128)
    inv = np.zeros((2, 2), dtype=np.complex128)
    for w in range(b):
        Dg[:] = 0.0
        Lo[:] = 0.0
        Up[:] = 0.0
        for i in range(nv):
            for c in range(2):
                r[i, c] = -F[w, vdof[2 * i + c]]
        for el in range(n_el):
            for e1 in range(2):
                i = t0[el] if e1 == 0 else t1[el]
                for c in range(2):
                    r[i, c] += corr[w, el, 2 * e1 + c]
                    for e2 in range(2):
                        j = t0[el] if e2 == 0 else t1[el]
                        for c2 in range(2):
                            _add(Dg, Lo, Up, i, j, c, c2, Sc[w, el, 2 * e1 + c, 2 * e2 + c2])
        for k in range(vrow.shape[0]):
            for c in range(2):
                for c2 in range(2):
                    _add(Dg, Lo, Up, vrow[k], vcol[k], c, c2, vb[w, c, c2, k])
        for i in range(nv):
            for c in range(2):
                if dirm[i, c]:
                    for c2 in range(2):
                        Dg[i, c, c2] = 0.0
                        Lo[i, c, c2] = 0.0
                        Up[i, c, c2] = 0.0
                    Dg[i, c, c] = 1.0
                    r[i, c] = 0.0
        for i in range(1, nv):  # forward elimination: row i -= Lo_i Dg_{i-1}^-1 row i-1
            _inv2(Dg[i - 1], inv)
            m00 = Lo[i, 0, 0] * inv[0, 0] + Lo[i, 0, 1] * inv[1, 0]
            m01 = Lo[i, 0, 0] * inv[0, 1] + Lo[i, 0, 1] * inv[1, 1]
            m10 = Lo[i, 1, 0] * inv[0, 0] + Lo[i, 1, 1] * inv[1, 0]
            m11 = Lo[i, 1, 0] * inv[0, 1] + Lo[i, 1, 1] * inv[1, 1]
            for c2 in range(2):
                Dg[i, 0, c2] -= m00 * Up[i - 1, 0, c2] + m01 * Up[i - 1, 1, c2]
                Dg[i, 1, c2] -= m10 * Up[i - 1, 0, c2] + m11 * Up[i - 1, 1, c2]
            r0, r1 = r[i - 1, 0], r[i - 1, 1]
            r[i, 0] -= m00 * r0 + m01 * r1
            r[i, 1] -= m10 * r0 + m11 * r1
        for i in range(nv - 1, -1, -1):  # back substitution, the vertex solution into r
            v0, v1 = r[i, 0], r[i, 1]
            if i < nv - 1:
                v0 -= Up[i, 0, 0] * r[i + 1, 0] + Up[i, 0, 1] * r[i + 1, 1]
                v1 -= Up[i, 1, 0] * r[i + 1, 0] + Up[i, 1, 1] * r[i + 1, 1]
            _inv2(Dg[i], inv)
            r[i, 0] = inv[0, 0] * v0 + inv[0, 1] * v1
            r[i, 1] = inv[1, 0] * v0 + inv[1, 1] * v1
        for i in range(nv):
            for c in range(2):
                dx[w, vdof[2 * i + c]] = r[i, c]
        for el in range(n_el):
            for k in range(ni):
                v = -y[w, el, k]
                for e in range(2):
                    i = t0[el] if e == 0 else t1[el]
                    v -= X[w, el, k, 2 * e] * r[i, 0] + X[w, el, k, 2 * e + 1] * r[i, 1]
                dx[w, loc[el, 4 + k]] = v


def _add(Dg, Lo, Up, i, j, c, c2, v):
    if j == i:
        Dg[i, c, c2] += v
    elif j == i - 1:
        Lo[i, c, c2] += v
    else:
        Up[i, c, c2] += v


def _inv2(a, out):
    det = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
    out[0, 0] = a[1, 1] / det
    out[1, 1] = a[0, 0] / det
    out[0, 1] = -a[0, 1] / det
    out[1, 0] = -a[1, 0] / det


if AVAILABLE:
    _condense = numba.njit(cache=True)(_condense)
    _bulk = numba.njit(cache=True)(_bulk)
    _add = numba.njit(cache=True)(_add)
    _inv2 = numba.njit(cache=True)(_inv2)
    _chain_solve = numba.njit(cache=True)(_chain_solve)


def chain_solve(Sc, corr, X, y, vb, F, chain):
    """Newton update dx (b, 2 n) on a chain from the condensed element data (as
    :meth:`usadel.condense.StaticCondensation.solve_condensed`) with the vertex system solved by 2x2 block
    elimination in node order. ``chain``: (vrow, vcol, t0, t1, vdof, loc, dirm) of
    :class:`usadel.condense.StaticCondensation` (its pattern has node bandwidth 1)."""
    dx = np.empty_like(F)
    _chain_solve(Sc, corr, X, y, np.ascontiguousarray(vb), *chain[:2], np.ascontiguousarray(F), *chain[2:], dx)
    return dx


def bulk(eps, g, gt, tables, jac):
    """Bulk residual (Fg, Ft), each (b, n), and with ``jac`` the condensed element data (Sc, corr, X, y).

    ``tables``: (L, phi, dphi, 1/jac, S, M, h_q, Delta_q, Gamma_q, K_loc) of a
    :class:`usadel.highorder.HighOrderProblem` (local, vertex-first order). Sc (b, n_el, 4, 4) and corr
    (b, n_el, 4) on the vertex unknowns (end, component) and X (b, n_el, 2(p-1), 4), y (b, n_el, 2(p-1)),
    as :meth:`usadel.condense.StaticCondensation.step` uses them.
    """
    L, n_el, p1 = tables[0], tables[0].shape[0], tables[0].shape[1]
    b, n = g.shape
    ni = 2 * (p1 - 2)
    Fg = np.zeros((b, n), complex)
    Ft = np.zeros((b, n), complex)
    shape = (b, n_el) if jac else (0, 0)
    Sc, corr = np.empty(shape + (4, 4), complex), np.empty(shape + (4,), complex)
    X, y = np.empty(shape + (ni, 4), complex), np.empty(shape + (ni,), complex)
    _bulk(np.ascontiguousarray(eps, complex), np.ascontiguousarray(g), np.ascontiguousarray(gt), *tables, jac,
          Fg, Ft, Sc, corr, X, y)
    return Fg, Ft, ((Sc, corr, X, y) if jac else None)
