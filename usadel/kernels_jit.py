"""The compiled (numba) functions behind :mod:`usadel.kernels`, all in this one file: numba's disk cache notices
changes in a cached function's own file only, and a compiled caller includes its callees' code. Helpers are inlined
into the drivers ``_newton``, ``_homotopy``, ``_run`` (``inline="always"``: numba IR, same operations, same order): a
compiled call increfs and decrefs each array passed (atomics: ~10% of a P4 x 8 sweep; inlined ~0.9 ms less of ~8).
States are u[E, dof, component] (:mod:`usadel.state`) with the 2 components (gamma, gamma~) of the order-p chains,
the only problems compiled here: the loops over components and the Newton vector's length 2 n say so."""

import numpy as np

__all__ = ["AVAILABLE", "bulk_kernel", "condense_kernel", "chain_kernel", "newton_kernel", "lanes_kernel",
           "homotopy_kernel"]

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; the numpy path stays complete
    numba = None

#: True where the compiled kernels can be used
AVAILABLE = numba is not None


def _inv(z):
    """1/z by one real division (z: pivots, 2x2 determinants, 1 + gamma gamma~; far from over- and underflow)."""
    s = 1.0 / (z.real * z.real + z.imag * z.imag)
    return complex(z.real * s, -z.imag * s)


def _rs(a, z):
    """Real a times complex z by two products (numba multiplies a float by a complex as two complex numbers)."""
    return complex(a * z.real, a * z.imag)


def _bulk(eps, u, L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc, jac, F, A, rl, cf, nod, at):
    """The state u (b, n, 2); jac: 0 the residual (rl, and F (b, 2 n) in the order of the Newton vector: row
    2 dof + component), 1 with the element Jacobians A, 2 A alone (the residual known). Work arrays: cf (6, nq)
    Jacobian coefficients, nod (4, p+1) nodal Re, Im of gamma, gamma~, at (8,) their values at a point."""
    b, n_el, p1, nq = eps.shape[0], L.shape[0], L.shape[1], phi.shape[0]
    res = jac != 2
    for w in range(b):
        for el in range(n_el):  # (rl arrives zeroed; A is only written with jac)
            for k in range(p1):
                nod[0, k], nod[1, k] = u[w, L[el, k], 0].real, u[w, L[el, k], 0].imag
                nod[2, k], nod[3, k] = u[w, L[el, k], 1].real, u[w, L[el, k], 1].imag
            for q in range(nq):
                for c in range(4):  # values and derivatives at the point
                    x = y = 0.0
                    for k in range(p1):
                        x += nod[c, k] * phi[q, k]
                        y += nod[c, k] * dphi[q, k]
                    at[c], at[4 + c] = x, y
                gq, tq = complex(at[0], at[1]), complex(at[2], at[3])
                dg, dt = _rs(jinv[el], complex(at[4], at[5])), _rs(jinv[el], complex(at[6], at[7]))
                s, mm = S[el, q], M[el, q]
                e = eps[w] + hq[el, q]
                D, G = Dq[el, q], Gq[el, q]
                Dc, s2, g2 = np.conj(D), s * 2.0, 2.0 * G
                pp = gq * tq
                iden = _inv(1.0 + pp)  # one reciprocal per point (numba's complex division costs ~10 products)
                sg, st = dg * dg, dt * dt
                frac = (1.0 - pp) * iden
                m2e, ug, ut = complex(2.0 * e.imag, -2.0 * e.real), D + Dc * gq * gq, D * tq * tq + Dc  # -2i E, ...
                vg = _rs(s2, tq) * sg * iden + _rs(mm, m2e * gq - complex(-ug.imag, ug.real) + _rs(g2, gq) * frac)
                vt = _rs(s2, gq) * st * iden + _rs(mm, m2e * tq + complex(-ut.imag, ut.real) + _rs(g2, tq) * frac)
                fg, ft = _rs(jinv[el], _rs(s, dg)), _rs(jinv[el], _rs(s, dt))
                for k in range(p1 if res else 0):
                    ph, dp = phi[q, k], dphi[q, k]
                    rl[w, el, 2 * k] += complex(vg.real * ph + fg.real * dp, vg.imag * ph + fg.imag * dp)
                    rl[w, el, 2 * k + 1] += complex(vt.real * ph + ft.real * dp, vt.imag * ph + ft.imag * dp)
                if not jac:
                    continue
                iden2, dc2, d2 = iden * iden, complex(2.0 * D.imag, 2.0 * D.real), complex(-2.0 * D.imag, 2.0 * D.real)
                hp = _rs(2.0, frac) - _rs(4.0, pp) * iden2  # (dc2, d2: 2i Delta^*, 2i Delta)
                cf[0, q] = _rs(s, _rs(-2.0, tq) * tq * sg * iden2) + _rs(mm, m2e - dc2 * gq + _rs(G, hp))  # a
                cf[3, q] = _rs(s, _rs(-2.0, gq) * gq * st * iden2) + _rs(mm, m2e + d2 * tq + _rs(G, hp))  # d
                cf[1, q] = _rs(s2, sg) * iden2 + _rs(mm, _rs(-4.0 * G, gq) * gq * iden2)  # b
                cf[2, q] = _rs(s2, st) * iden2 + _rs(mm, _rs(-4.0 * G, tq) * tq * iden2)  # c
                cf[4, q] = _rs(jinv[el], _rs(s * 4.0, tq) * dg) * iden  # a, phi_k phi_m' part
                cf[5, q] = _rs(jinv[el], _rs(s * 4.0, gq) * dt) * iden  # d, phi_k phi_m' part
            for k in range(p1 if res else 0):
                F[w, 2 * L[el, k]] += rl[w, el, 2 * k]
                F[w, 2 * L[el, k] + 1] += rl[w, el, 2 * k + 1]
            if jac:
                _element_jacobian(cf, phi, dphi, Kloc[el], A[w, el])


def _element_jacobian(cf, phi, dphi, K, A):
    """A (2(p+1), 2(p+1)) = sum over the points q of the 2x2 blocks cf[:4, q] phi_k phi_m (a, b; c, d) and
    cf[4:, q] phi_k phi_m' on the diagonal, plus the stiffness K, in scalar accumulators (products by the
    real phi written as two); the phi_k phi_m sums, symmetric in (k, m), once for both (k, m) and (m, k)."""
    p1, nq = phi.shape[1], phi.shape[0]
    for k in range(p1):
        for m in range(k, p1):
            ar = ai = br = bi = cr = ci = dr = di = 0.0
            ekr = eki = fkr = fki = emr = emi = fmr = fmi = 0.0  # phi_k phi_m' (e: in a, f: in d), phi_m phi_k'
            for q in range(nq):
                pkm, pkd, pmd = phi[q, k] * phi[q, m], phi[q, k] * dphi[q, m], phi[q, m] * dphi[q, k]
                c0, c1, c2, c3, c4, c5 = cf[0, q], cf[1, q], cf[2, q], cf[3, q], cf[4, q], cf[5, q]
                ar += c0.real * pkm
                ai += c0.imag * pkm
                br += c1.real * pkm
                bi += c1.imag * pkm
                cr += c2.real * pkm
                ci += c2.imag * pkm
                dr += c3.real * pkm
                di += c3.imag * pkm
                ekr += c4.real * pkd
                eki += c4.imag * pkd
                fkr += c5.real * pkd
                fki += c5.imag * pkd
                emr += c4.real * pmd
                emi += c4.imag * pmd
                fmr += c5.real * pmd
                fmi += c5.imag * pmd
            for s, t, er, ei, fr, fi in ((k, m, ekr, eki, fkr, fki), (m, k, emr, emi, fmr, fmi)):
                A[2 * s, 2 * t] = complex(ar + er + K[s, t], ai + ei)
                A[2 * s, 2 * t + 1] = complex(br, bi)
                A[2 * s + 1, 2 * t] = complex(cr, ci)
                A[2 * s + 1, 2 * t + 1] = complex(dr + fr + K[s, t], di + fi)


def _condense(A, rl, Sc, corr, X, y, B, LU, pv):
    """Schur complements of every element: A_II^-1 [A_IV | r_I] by LU with partial pivoting, the pivot the
    largest |Re| + |Im| (as gesv: LAPACK's izamax); B (n_i, 5) a work array; the factors LU (b, n_el, n_i, n_i),
    with the pivots' reciprocals on the diagonal, and pivots pv (b, n_el, n_i) are kept for :func:`_condense_rhs`."""
    b, n_el, ni = A.shape[0], A.shape[1], A.shape[2] - 4
    for w in range(b):
        for el in range(n_el):
            for i in range(ni):
                for j in range(ni):
                    LU[w, el, i, j] = A[w, el, 4 + i, 4 + j]
                for j in range(4):
                    B[i, j] = A[w, el, 4 + i, j]
                B[i, 4] = rl[w, el, 4 + i]
            for c in range(ni):
                piv, big = c, abs(LU[w, el, c, c].real) + abs(LU[w, el, c, c].imag)
                for r in range(c + 1, ni):
                    a = abs(LU[w, el, r, c].real) + abs(LU[w, el, r, c].imag)
                    if a > big:
                        piv, big = r, a
                pv[w, el, c] = piv
                if piv != c:
                    for j in range(ni):
                        LU[w, el, c, j], LU[w, el, piv, j] = LU[w, el, piv, j], LU[w, el, c, j]
                    for j in range(5):
                        B[c, j], B[piv, j] = B[piv, j], B[c, j]
                ip = LU[w, el, c, c] = _inv(LU[w, el, c, c])  # (kept in its place; gesv scales by it too)
                for r in range(c + 1, ni):
                    f = LU[w, el, r, c] * ip
                    LU[w, el, r, c] = f
                    for j in range(c + 1, ni):
                        LU[w, el, r, j] -= f * LU[w, el, c, j]
                    for j in range(5):
                        B[r, j] -= f * B[c, j]
            for c in range(ni - 1, -1, -1):
                ip = LU[w, el, c, c]
                for j in range(5):
                    v = B[c, j]
                    for r in range(c + 1, ni):
                        v -= LU[w, el, c, r] * B[r, j]
                    B[c, j] = v * ip
            for i in range(ni):
                for j in range(4):
                    X[w, el, i, j] = B[i, j]
            _corr(A, B, w, el, corr, y)
            for i in range(4):
                for j in range(4):
                    v = A[w, el, i, j]
                    for k in range(ni):
                        v -= A[w, el, i, 4 + k] * B[k, j]
                    Sc[w, el, i, j] = v


def _corr(A, B, w, el, corr, y):
    """y = A_II^-1 r_I (column 4 of B) and corr = A_VI y of element el."""
    ni = B.shape[0]
    for i in range(ni):
        y[w, el, i] = B[i, 4]
    for i in range(4):
        v = 0j
        for k in range(ni):
            v += A[w, el, i, 4 + k] * B[k, 4]
        corr[w, el, i] = v


def _condense_rhs(A, rl, corr, y, B, LU, pv):
    """:func:`_condense`'s y and corr for a new residual rl with the kept factors (a chord step): the pivots'
    row swaps, then the two triangular solves; the same operations on r_I as there, in the same order."""
    b, n_el, ni = A.shape[0], A.shape[1], A.shape[2] - 4
    for w in range(b):
        for el in range(n_el):
            for i in range(ni):
                B[i, 4] = rl[w, el, 4 + i]
            for c in range(ni):
                B[c, 4], B[pv[w, el, c], 4] = B[pv[w, el, c], 4], B[c, 4]
            for c in range(ni):
                for r in range(c + 1, ni):
                    B[r, 4] -= LU[w, el, r, c] * B[c, 4]
            for c in range(ni - 1, -1, -1):
                v = B[c, 4]
                for r in range(c + 1, ni):
                    v -= LU[w, el, c, r] * B[r, 4]
                B[c, 4] = v * LU[w, el, c, c]
            _corr(A, B, w, el, corr, y)


def _chain_solve(Sc, corr, X, y, vb, vrow, vcol, F, t0, t1, vdof, loc, dirm, dx, T, r):
    """Vertex system of a chain (block tridiagonal, 2x2 blocks in node order) assembled and solved by
    block elimination, then the interior unknowns by back-substitution; dx = -J^-1 F. Work arrays: the blocks
    of row i T (n_v, 3, 2, 2) (T[i, 0] couples to node i - 1, T[i, 1] to i, T[i, 2] to i + 1), r (n_v, 2)."""
    b, n_el, ni = Sc.shape[0], Sc.shape[1], X.shape[2]
    nv = vdof.shape[0] // 2
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
        for k in range(vb.shape[3]):  # (barrier entries: none in :func:`_newton1`)
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
            idet = _inv(a00 * a11 - a01 * a10)
            i00, i01, i10, i11 = a11 * idet, -a01 * idet, -a10 * idet, a00 * idet
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
            idet = _inv(a00 * a11 - a01 * a10)
            r[i, 0] = (a11 * v0 - a01 * v1) * idet
            r[i, 1] = (a00 * v1 - a10 * v0) * idet
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


def _workspace(u, tables, chain):
    """Work arrays of :func:`_newton1` for one energy of the state u (b, n, 2) on the chain of ``tables``, ``chain``."""
    n, n_el, p1, nq, nv = u.shape[1], tables[0].shape[0], tables[0].shape[1], tables[1].shape[0], chain[4].shape[0] // 2
    ni, c = 2 * (p1 - 2), np.complex128
    return (np.zeros((6, nq), c), np.zeros((4, p1)), np.zeros(8),
            np.zeros((1, n_el, 2 * p1, 2 * p1), c), np.zeros((1, n_el, 2 * p1), c), np.zeros((1, n_el, 4, 4), c),
            np.zeros((1, n_el, 4), c), np.zeros((1, n_el, ni, 4), c), np.zeros((1, n_el, ni), c),
            np.zeros((1, 2, 2, 0), c), np.zeros((1, 2 * n), c), np.zeros((1, 2 * n), c), np.zeros((1, 2 * n), c),
            np.zeros((1, n, 2), c), np.zeros((ni, 5), c), np.zeros((1, n_el, ni, ni), c),
            np.zeros((nv, 3, 2, 2), c), np.zeros((nv, 2), c), np.zeros((1, n_el, ni), np.int64))


def _residual1(eps, u, tables, jac, dir_dofs, A, rl, F, cf, nod, at):
    """One energy (arrays of batch 1): residual F (1, 2 n) with clean-contact rows zero; A, rl filled.
    jac as :func:`_bulk` (2: A alone; F, rl are left as they are); cf, nod, at: its work arrays."""
    L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc = tables
    if jac != 2:
        F[:], rl[:] = 0.0, 0.0
    _bulk(eps, u, L, phi, dphi, jinv, S, M, hq, Dq, Gq, Kloc, jac, F, A, rl, cf, nod, at)
    if jac == 2:
        return
    for d in dir_dofs:
        F[0, 2 * d], F[0, 2 * d + 1] = 0.0, 0.0


def _norms(F):
    """(2-norm, max norm, all finite) of the row F (1, m); max via the largest square; NaN entry: both NaN."""
    s2, m2, fin = 0.0, 0.0, True
    for i in range(F.shape[1]):
        re, im = F[0, i].real, F[0, i].imag
        a = re * re + im * im
        s2 += a
        if a > m2 or a != a:
            m2 = a
        fin = fin and np.isfinite(re) and np.isfinite(im)
    return np.sqrt(s2), np.sqrt(m2), fin


def _newton(eps, u, tol, maxiter, scale, tables, chain, dir_dofs, consts, ok, res):
    """:func:`usadel.newton.newton` energy by energy (independent there too), on a chain without barriers."""
    wk = _workspace(u, tables, chain)
    for w in range(eps.shape[0]):
        ok[w], res[w] = _newton1(eps[w:w + 1], u[w:w + 1], tol, maxiter, scale[w], tables, chain, dir_dofs, consts, wk)


def _newton1(e, uw, tol, maxiter, scale, tables, chain, dir_dofs, consts, wk):
    """Newton for one energy e (1,) from the state uw (1, n, 2), updated in place; returns (converged, residual).
    ``consts``: :data:`usadel.newton.CONSTANTS` (the contraction stop and chord steps of its ``contraction``)."""
    halvings, armijo, rounding, stall = int(consts[0]), consts[1], consts[2], consts[3]
    contraction, chord_step, safety = consts[4], consts[5], consts[6]
    vrow, vcol, t0, t1, vdof, loc, dirm = chain
    cf, nod, at, A, rl, Sc, corr, X, y, vb, F, F1, dx, un, B, LU, T, r, pv = wk
    n = uw.shape[1]
    f1, fm1, ok, chord, prev, known = np.inf, np.inf, False, False, np.inf, False
    for _ in range(maxiter):
        floor = rounding * scale * max(1.0, _norms(uw.reshape(1, 2 * n))[1])
        if chord:  # the line search's residual here (F1, and rl) with the kept Jacobian (Sc, X, LU)
            F[:] = F1
            _condense_rhs(A, rl, corr, y, B, LU, pv)
        else:  # after the first iteration the line search's residual is this one (F1, rl): the Jacobian alone
            if known:
                F[:] = F1
            _residual1(e, uw, tables, 2 if known else 1, dir_dofs, A, rl, F, cf, nod, at)
            _condense(A, rl, Sc, corr, X, y, B, LU, pv)
        known = True  # from here on F1, rl hold the residual at uw (the line search's last point)
        f0, fm0, _ = _norms(F)
        _chain_solve(Sc, corr, X, y, vb, vrow, vcol, F, t0, t1, vdof, loc, dirm, dx, T, r)
        _, step, fin = _norms(dx)
        bad = not fin
        if bad:
            dx[:] = 0.0
        lam = 1.0
        for _h in range(halvings):
            for i in range(n):
                un[0, i, 0] = uw[0, i, 0] + lam * dx[0, 2 * i]
                un[0, i, 1] = uw[0, i, 1] + lam * dx[0, 2 * i + 1]
            _residual1(e, un, tables, 0, dir_dofs, A, rl, F1, cf, nod, at)
            f1, fm1, _ = _norms(F1)
            if (f1 <= (1.0 - armijo * lam) * f0) or not (fm0 > floor):
                break
            lam = 0.5 * lam
        uw[:] = un
        stalled = (fm0 <= floor) and (fm1 <= floor) and (f1 >= stall * f0)
        theta = step / prev  # 0 after a first full step (prev inf): not counted
        done = (step < tol) or stalled or (lam == 1.0 and 0.0 < theta <= contraction
                                           and theta * step <= safety * tol * (1.0 - theta))
        if done and np.isfinite(f1) and not bad:
            ok = True
            break
        if not np.isfinite(f1):
            break
        prev = step if lam == 1.0 else np.inf
        chord = lam == 1.0 and step <= chord_step and not bad
    return ok, f1


def _homotopy(E, tols, bu, u, maxiter, scale, tables, chain, dir_dofs, consts, ok, res):
    """The stages E (K, b) of :func:`usadel.eta_homotopy.homotopy` energy by energy: the contact values of the
    states bu (K, b, n, 2) imposed, Newton to tols[k]; ok: every stage converged, res: the last stage's residual."""
    wk = _workspace(u, tables, chain)
    for w in range(u.shape[0]):
        ok[w] = True
        for s in range(E.shape[0]):
            for d in dir_dofs:
                u[w, d, 0], u[w, d, 1] = bu[s, w, d, 0], bu[s, w, d, 1]
            oks, res[w] = _newton1(E[s, w:w + 1], u[w:w + 1], tols[s], maxiter, scale[s, w], tables, chain, dir_dofs,
                                   consts, wk)
            ok[w] = ok[w] and oks


def _predict(eps, hist, hc, u, i, maxw, out, wts):
    """:func:`usadel.sweep.predict` of row ``i`` from the rows hist[:hc] of the states ``u`` into out (1, n, 2)."""
    e, rep = eps[i], -1
    for k in range(hc):
        if eps[hist[k]] == e:
            rep = k  # the last copy, as predict
    if rep >= 0:
        out[0] = u[hist[rep]]
        return
    fine = True
    for k in range(hc):
        w = 1.0 + 0j
        for j in range(hc):
            if j != k:
                den = eps[hist[k]] - eps[hist[j]]
                if den == 0:
                    fine = False
                    break
                w = w * ((e - eps[hist[j]]) / den)
        wts[k] = w
        if not (np.isfinite(w.real) and np.isfinite(w.imag)) or abs(w) > maxw:
            fine = False
    if not fine:  # far beyond the spacing: the nearest solution (the first, as argmin)
        near, dmin = 0, np.inf
        for k in range(hc):
            if abs(eps[hist[k]] - e) < dmin:
                near, dmin = k, abs(eps[hist[k]] - e)
        out[0] = u[hist[near]]
        return
    for m in range(out.shape[1]):
        for c in range(2):
            v = wts[0] * u[hist[0], m, c]
            for k in range(1, hc):
                v = v + wts[k] * u[hist[k], m, c]
            out[0, m, c] = v


def _checked_solve(i, e, u, pu, bu, dir_dofs, tol, maxiter, scale, tables, chain, consts, checks, wk):
    """Newton at energy row i from the prediction pu (1, n, 2) with the contact values of bu imposed, into u[i];
    returns (converged, residual, good): good also requires the branch and jump checks of the sweep."""
    jump_max, slack = checks[0], checks[1]
    for d in dir_dofs:
        pu[0, d, 0], pu[0, d, 1] = bu[i, d, 0], bu[i, d, 1]
    u[i] = pu[0]
    ok, res = _newton1(e[i:i + 1], u[i:i + 1], tol, maxiter, scale[i], tables, chain, dir_dofs, consts, wk)
    jump2, branch, lim2 = 0.0, True, (1.0 + slack) ** 2  # (squares: no complex abs, a hypot call, per entry)
    for m in range(u.shape[1]):
        a, b = u[i, m, 0], u[i, m, 1]
        da, db = a - pu[0, m, 0], b - pu[0, m, 1]
        jump2 = max(jump2, da.real * da.real + da.imag * da.imag, db.real * db.real + db.imag * db.imag)
        p = a * b
        q = 1.0 + p  # DOS = Re (1 - p) / q >= -slack, times |q|^2
        branch = branch and a.real * a.real + a.imag * a.imag <= lim2 and b.real * b.real + b.imag * b.imag <= lim2 \
            and ((1.0 - p) * q.conjugate()).real >= -slack * (q.real * q.real + q.imag * q.imag) \
            and np.isfinite(p.real) and np.isfinite(p.imag)
    return ok, res, ok and branch and jump2 <= jump_max * jump_max


def _run(step0, lanes, sizes, pre, hist, hc, eps, u, ok, res, bu, dir_dofs, tol, maxiter, scale, tables, chain, consts,
         checks, order, continued, need):
    """:func:`run_lanes`: the sweep's loop from ``step0`` until a step where some lane needs the homotopy
    (``need``) or the end; returns (that step or the number of steps, energies redone)."""
    wk = _workspace(u, tables, chain)
    pu = np.zeros((1, u.shape[1], 2), np.complex128)
    wts, redone = np.zeros(hist.shape[1], np.complex128), 0
    for step in range(step0, lanes.shape[1]):
        stop = False
        for k in range(lanes.shape[0]):
            if step >= sizes[k]:
                continue
            i = lanes[k, step]
            if pre[i]:  # solved beforehand: the lane restarts from it
                hist[k, 0], hc[k] = i, 1 if ok[i] else 0
                continue
            if hc[k] == 0:
                need[k], stop = True, True
                continue
            _predict(eps, hist[k], hc[k], u, i, checks[2], pu, wts)
            ok[i], res[i], good = _checked_solve(i, eps, u, pu, bu, dir_dofs, tol, maxiter, scale, tables, chain,
                                                 consts, checks, wk)
            if not good:
                need[k], stop = True, True
                redone += 1
                continue
            continued[i] = True
            m = 0  # the history without copies of this energy, then it; the last ``order`` entries
            for j in range(hc[k]):
                if eps[hist[k, j]] != eps[i]:
                    hist[k, m] = hist[k, j]
                    m += 1
            hist[k, m] = i
            m += 1
            if m > order:
                hist[k, :order] = hist[k, m - order:m].copy()
                m = order
            hc[k] = m
        if stop:
            return step, redone
    return lanes.shape[1], redone


if AVAILABLE:  # (numba resolves a callee by its global name when compiling; the inlined ones: module docstring)
    for _name in ("_inv", "_rs", "_element_jacobian", "_predict", "_checked_solve", "_norms", "_workspace", "_newton1",
                  "_condense", "_corr", "_condense_rhs", "_bulk", "_chain_solve", "_residual1"):
        globals()[_name] = numba.njit(cache=True, inline="always")(globals()[_name])
    for _name in ("_run", "_homotopy", "_newton"):  # the drivers
        globals()[_name] = numba.njit(cache=True)(globals()[_name])


#: the entry points (compiled where numba is there)
bulk_kernel, condense_kernel, chain_kernel, newton_kernel, lanes_kernel = _bulk, _condense, _chain_solve, _newton, _run
homotopy_kernel = _homotopy
