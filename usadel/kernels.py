r"""Compiled (numba) element kernels of the order-p Riccati equations on 1D chains.

:func:`bulk` computes what :meth:`usadel.highorder.HighOrderProblem._bulk` and the
element part of :meth:`usadel.condense.StaticCondensation.step` compute with numpy,
in two passes over energies and elements (no calls inside them: a compiled call per element
costs array reference counting, measured 10x on the vertex solve): the bulk
residual (Fg, Ft) assembled on the dofs and, with the Jacobian, each element's
condensed data: the Schur complement on its four vertex unknowns, the correction
A_VI A_II^-1 r_I of the vertex residual, and A_II^-1 A_IV, A_II^-1 r_I for the
back-substitution. The element-interior rows of the residual are the element's own
(barriers and clean contacts act on vertices only), so the condensation can use the
bulk residual. The same formulas as the numpy path, term by term, and the same
dense solve (LU with partial pivoting, as LAPACK's gesv): the results agree to
rounding (``tests/test_kernels.py``). Small problems are where numpy's per-call
overhead dominates (issue 16: a P3 sweep at ~50 unknowns).

numba is imported with this module (by ``usadel.highorder``, at the first order > 1 solve;
``import usadel`` does not load it); :data:`AVAILABLE` is False without it and the numpy path is
used. Kernels are compiled on first use and cached on disk (``cache=True``): measured 3.7 s cpu
for the first compilation, 0.36 s for the first solve of a later process (numba's import and
the cache), then nothing.
"""

import numpy as np

__all__ = ["AVAILABLE", "bulk", "chain_solve", "newton"]

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the numpy path stays complete
    numba = None

#: True where the compiled kernels can be used
AVAILABLE = numba is not None


def _bulk(eps, g, gt, L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc, jac, Fg, Ft, A, rl):
    b, n_el, p1 = eps.shape[0], L.shape[0], L.shape[1]
    nq = phi.shape[0]
    for w in range(b):
        for el in range(n_el):  # (A and rl arrive zeroed; A is only written with jac)
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
                    rl[w, el, 2 * k] += vg * phi[q, k] + fg * dphi[q, k]
                    rl[w, el, 2 * k + 1] += vt * phi[q, k] + ft * dphi[q, k]
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
                        A[w, el, 2 * k, 2 * m] += a_pp * pkm + a_pd * pdk
                        A[w, el, 2 * k, 2 * m + 1] += b_pp * pkm
                        A[w, el, 2 * k + 1, 2 * m] += c_pp * pkm
                        A[w, el, 2 * k + 1, 2 * m + 1] += d_pp * pkm + d_pd * pdk
            for k in range(p1):
                Fg[w, L[el, k]] += rl[w, el, 2 * k]
                Ft[w, L[el, k]] += rl[w, el, 2 * k + 1]
            if not jac:
                continue
            for k in range(p1):
                for m in range(p1):
                    A[w, el, 2 * k, 2 * m] += Kloc[el, k, m]
                    A[w, el, 2 * k + 1, 2 * m + 1] += Kloc[el, k, m]


def _condense(A, rl, Sc, corr, X, y):
    """Schur complements of every element: A_II^-1 [A_IV | r_I] by LU with partial pivoting (as gesv)."""
    b, n_el, ni = A.shape[0], A.shape[1], A.shape[2] - 4
    B = np.zeros((ni, 5), dtype=np.complex128)
    AII = np.zeros((ni, ni), dtype=np.complex128)
    for w in range(b):
        for el in range(n_el):
            for i in range(ni):
                for j in range(ni):
                    AII[i, j] = A[w, el, 4 + i, 4 + j]
                for j in range(4):
                    B[i, j] = A[w, el, 4 + i, j]
                B[i, 4] = rl[w, el, 4 + i]
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
                    X[w, el, i, j] = B[i, j]
                y[w, el, i] = B[i, 4]
            for i in range(4):
                v = 0j
                for k in range(ni):
                    v += A[w, el, i, 4 + k] * B[k, 4]
                corr[w, el, i] = v
                for j in range(4):
                    v = A[w, el, i, j]
                    for k in range(ni):
                        v -= A[w, el, i, 4 + k] * B[k, j]
                    Sc[w, el, i, j] = v


def _chain_solve(Sc, corr, X, y, vb, vrow, vcol, F, t0, t1, vdof, loc, dirm, dx):
    """Vertex system of a chain (block tridiagonal, 2x2 blocks in node order) assembled and solved by
    block elimination, then the interior unknowns by back-substitution; dx = -J^-1 F."""
    b, n_el, ni = Sc.shape[0], Sc.shape[1], X.shape[2]
    nv = vdof.shape[0] // 2
    # blocks of row i: T[i, 0] couples to node i - 1, T[i, 1] to i, T[i, 2] to i + 1
    T = np.zeros((nv, 3, 2, 2), dtype=np.complex128)
    r = np.zeros((nv, 2), dtype=np.complex128)
    for w in range(b):
        T[:] = 0.0
        for i in range(nv):
            for c in range(2):
                r[i, c] = -F[w, vdof[2 * i + c]]
        for el in range(n_el):
            for e1 in range(2):
                i = t0[el] if e1 == 0 else t1[el]
                for e2 in range(2):
                    s = 1 + (t0[el] if e2 == 0 else t1[el]) - i
                    for c in range(2):
                        for c2 in range(2):
                            T[i, s, c, c2] += Sc[w, el, 2 * e1 + c, 2 * e2 + c2]
                for c in range(2):
                    r[i, c] += corr[w, el, 2 * e1 + c]
        for k in range(vrow.shape[0]):
            s = 1 + vcol[k] - vrow[k]
            for c in range(2):
                for c2 in range(2):
                    v = vb[w, c, c2, k]
                    if v != 0.0:
                        T[vrow[k], s, c, c2] += v
        for i in range(nv):
            for c in range(2):
                if dirm[i, c]:
                    for s in range(3):
                        for c2 in range(2):
                            T[i, s, c, c2] = 0.0
                    T[i, 1, c, c] = 1.0
                    r[i, c] = 0.0
        for i in range(1, nv):  # forward elimination: row i -= T[i, 0] D_{i-1}^-1 row i-1
            a00, a01, a10, a11 = T[i - 1, 1, 0, 0], T[i - 1, 1, 0, 1], T[i - 1, 1, 1, 0], T[i - 1, 1, 1, 1]
            det = a00 * a11 - a01 * a10
            i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
            l00, l01, l10, l11 = T[i, 0, 0, 0], T[i, 0, 0, 1], T[i, 0, 1, 0], T[i, 0, 1, 1]
            m00 = l00 * i00 + l01 * i10
            m01 = l00 * i01 + l01 * i11
            m10 = l10 * i00 + l11 * i10
            m11 = l10 * i01 + l11 * i11
            for c2 in range(2):
                u0, u1 = T[i - 1, 2, 0, c2], T[i - 1, 2, 1, c2]
                T[i, 1, 0, c2] -= m00 * u0 + m01 * u1
                T[i, 1, 1, c2] -= m10 * u0 + m11 * u1
            r0, r1 = r[i - 1, 0], r[i - 1, 1]
            r[i, 0] -= m00 * r0 + m01 * r1
            r[i, 1] -= m10 * r0 + m11 * r1
        for i in range(nv - 1, -1, -1):  # back substitution, the vertex solution into r
            v0, v1 = r[i, 0], r[i, 1]
            if i < nv - 1:
                v0 -= T[i, 2, 0, 0] * r[i + 1, 0] + T[i, 2, 0, 1] * r[i + 1, 1]
                v1 -= T[i, 2, 1, 0] * r[i + 1, 0] + T[i, 2, 1, 1] * r[i + 1, 1]
            a00, a01, a10, a11 = T[i, 1, 0, 0], T[i, 1, 0, 1], T[i, 1, 1, 0], T[i, 1, 1, 1]
            det = a00 * a11 - a01 * a10
            r[i, 0] = (a11 * v0 - a01 * v1) / det
            r[i, 1] = (a00 * v1 - a10 * v0) / det
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


def _residual1(eps, g, gt, tables, jac, dir_dofs, Fg, Ft, A, rl, F):
    """One energy (arrays of batch 1): interleaved residual F (2 n,) with clean-contact rows zero; A, rl filled."""
    Fg[:] = 0.0
    Ft[:] = 0.0
    rl[:] = 0.0
    if jac:
        A[:] = 0.0
    L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc = tables
    _bulk(eps, g, gt, L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc, jac, Fg, Ft, A, rl)
    for d in dir_dofs:
        Fg[0, d] = 0.0
        Ft[0, d] = 0.0
    for i in range(Fg.shape[1]):
        F[2 * i] = Fg[0, i]
        F[2 * i + 1] = Ft[0, i]


def _newton(eps, g, gt, tol, maxiter, scale, tables, chain, dir_dofs, consts, ok, res):
    """:func:`usadel.newton.newton` energy by energy (they are independent there too), for a chain without
    barriers; ``consts`` = (LINE_SEARCH_HALVINGS, ARMIJO, ROUNDING, STALL)."""
    halvings, armijo, rounding, stall = int(consts[0]), consts[1], consts[2], consts[3]
    vrow, vcol, t0, t1, vdof, loc, dirm = chain
    n, n_el, p1 = g.shape[1], tables[0].shape[0], tables[0].shape[1]
    ni = 2 * (p1 - 2)
    Fg, Ft = np.zeros((1, n), np.complex128), np.zeros((1, n), np.complex128)
    A, rl = np.zeros((1, n_el, 2 * p1, 2 * p1), np.complex128), np.zeros((1, n_el, 2 * p1), np.complex128)
    Sc, corr = np.zeros((1, n_el, 4, 4), np.complex128), np.zeros((1, n_el, 4), np.complex128)
    X, y = np.zeros((1, n_el, ni, 4), np.complex128), np.zeros((1, n_el, ni), np.complex128)
    vb = np.zeros((1, 2, 2, 0), np.complex128)
    F, F1, dx = np.zeros(2 * n, np.complex128), np.zeros(2 * n, np.complex128), np.zeros((1, 2 * n), np.complex128)
    gn, gtn = np.zeros((1, n), np.complex128), np.zeros((1, n), np.complex128)
    for w in range(eps.shape[0]):
        e = eps[w:w + 1]
        gw, gtw = g[w:w + 1], gt[w:w + 1]
        for _ in range(maxiter):
            floor = rounding * scale[w] * max(1.0, np.max(np.abs(gw)), np.max(np.abs(gtw)))
            _residual1(e, gw, gtw, tables, True, dir_dofs, Fg, Ft, A, rl, F)
            f0, fm0 = np.sqrt(np.sum(np.abs(F) ** 2)), np.max(np.abs(F))
            _condense(A, rl, Sc, corr, X, y)
            _chain_solve(Sc, corr, X, y, vb, vrow[:0], vcol[:0], F.reshape(1, -1), t0, t1, vdof, loc, dirm, dx)
            bad = not np.all(np.isfinite(dx))
            if bad:
                dx[:] = 0.0
            lam = 1.0
            for _h in range(halvings):
                for i in range(n):
                    gn[0, i] = gw[0, i] + lam * dx[0, 2 * i]
                    gtn[0, i] = gtw[0, i] + lam * dx[0, 2 * i + 1]
                _residual1(e, gn, gtn, tables, False, dir_dofs, Fg, Ft, A, rl, F1)
                f1 = np.sqrt(np.sum(np.abs(F1) ** 2))
                if (f1 <= (1.0 - armijo * lam) * f0) or not (fm0 > floor):
                    break
                lam = 0.5 * lam
            gw[:] = gn
            gtw[:] = gtn
            res[w] = f1
            stalled = (fm0 <= floor) and (np.max(np.abs(F1)) <= floor) and (f1 >= stall * f0)
            if ((np.max(np.abs(dx)) < tol) or stalled) and np.isfinite(f1) and not bad:
                ok[w] = True
                break
            if not np.isfinite(f1):
                break


if AVAILABLE:
    _condense = numba.njit(cache=True)(_condense)
    _bulk = numba.njit(cache=True)(_bulk)
    _chain_solve = numba.njit(cache=True)(_chain_solve)
    _residual1 = numba.njit(cache=True)(_residual1)
    _newton = numba.njit(cache=True)(_newton)


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
    shape = (b, n_el) if jac else (0, n_el)  # without the Jacobian A is not touched
    A, rl = np.zeros(shape + (2 * p1, 2 * p1), complex), np.zeros((b, n_el, 2 * p1), complex)
    _bulk(np.ascontiguousarray(eps, complex), np.ascontiguousarray(g), np.ascontiguousarray(gt), *tables, jac,
          Fg, Ft, A, rl)
    if not jac:
        return Fg, Ft, None
    Sc, corr = np.empty((b, n_el, 4, 4), complex), np.empty((b, n_el, 4), complex)
    X, y = np.empty((b, n_el, ni, 4), complex), np.empty((b, n_el, ni), complex)
    _condense(A, rl, Sc, corr, X, y)
    return Fg, Ft, (Sc, corr, X, y)


def newton(eps, g, gt, tol, maxiter, scale, tables, chain, dir_dofs):
    """The damped Newton of :func:`usadel.newton.newton`, compiled, for an order-p chain without barriers
    (clean contacts only; ``chain``: :attr:`usadel.condense.StaticCondensation.chain`, ``dir_dofs`` their
    dofs). Same steps, line search and stopping rule, energy by energy; returns (g, gt, ok, res), g and gt
    updated in place."""
    from .newton import ARMIJO, LINE_SEARCH_HALVINGS, ROUNDING, STALL

    ok, res = np.zeros(eps.size, bool), np.full(eps.size, np.inf)
    g2, gt2 = np.ascontiguousarray(g), np.ascontiguousarray(gt)
    _newton(np.ascontiguousarray(eps, complex), g2, gt2, float(tol), int(maxiter), np.asarray(scale, float),
            tables, chain, np.asarray(dir_dofs, np.int64), np.array([LINE_SEARCH_HALVINGS, ARMIJO, ROUNDING, STALL]),
            ok, res)
    g[...], gt[...] = g2, gt2
    return g, gt, ok, res
