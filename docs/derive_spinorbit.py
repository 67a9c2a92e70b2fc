"""Symbolic check of the spin-relaxation terms of the kinetic equations at h = 0 (docs/derivations.md).

Run: python docs/derive_spinorbit.py (needs sympy). In spin x Nambu space (4x4, spin first, as in
docs/derive_exchange.py) the Keldysh part of

    D div(G grad G) + [i E tau3 + Delta_hat - Sigma, G] = 0,
    Sigma = sigma.(tau3 G tau3).sigma/(8 tau_sf) + sigma.G.sigma/(8 tau_so),

with spin-degenerate retarded/advanced blocks g^R, g^A = -tau3 (g^R)^+ tau3 and the distribution
matrix h_hat = hL + hT tau3 + hLS sigma3 tau3 + hTS sigma3, G^K = G^R h_hat - h_hat G^A, is projected
on the four modes with P_m(X) = Tr(M_m X)/4, M = (1, tau3, sigma3 tau3, sigma3). Asserts that

1. for uniform spectra the gradient term is 2 div(D_m grad h_m) with D_m = DL, DT, DT, DL (the
   diffusion column of usadel.coefficients.MODES) and no mode mixing;
2. the local terms are -2 S h_hat with a diagonal S:
   S_L = 0, S_T = 2 Delta aTT, S_LS = 2 Delta aTT + aLSLS/tau_sf + DT/tau_so,
   S_TS = aTSTS/tau_sf + DL/tau_so  (coefficients in units of D, formulas of usadel/coefficients.py),
   so spin-orbit scattering relaxes the spin-energy mode with DT and the spin mode with DL, the
   spin-flip coefficients are the other combinations, and in the normal state
   (DL = DT = aLSLS = aTSTS = 1) both spin modes relax at 1/tau_sf + 1/tau_so;
3. the energy term i E tau3 and the phase chi of g (with Delta's phase equal to chi) drop out.
"""

import sympy as sp

S0, S1, S2, S3 = sp.eye(2), sp.Matrix([[0, 1], [1, 0]]), sp.Matrix([[0, -sp.I], [sp.I, 0]]), sp.diag(1, -1)


def spin(m):
    return sp.kronecker_product(m, sp.eye(2))


def nambu(m):
    return sp.kronecker_product(sp.eye(2), m)


def retarded(u, v, chi):
    """Nambu g^R = [[c, s e^{i chi}], [-s e^{-i chi}, -c]] with th = u + i v (u, v, chi real)."""
    th = u + sp.I * v
    c, s = sp.cosh(th), sp.sinh(th)
    return sp.Matrix([[c, s * sp.exp(sp.I * chi)], [-s * sp.exp(-sp.I * chi), -c]]), c, s


def zero(expr):
    """expr == 0 for all real u, v, chi (exponential form, then simplified)."""
    return sp.simplify(sp.expand(sp.expand_complex(expr).rewrite(sp.exp))) == 0


def keldysh_commutator(X, G, GK):
    """[X, G]^K for a Keldysh matrix X = (X^R, X^A, X^K) and G = (G^R, G^A), G^K."""
    (XR, XA, XK), (GR, GA) = X, G
    return XR * GK + XK * GA - GR * XK - GK * XA


def main():
    u, v, chi = sp.symbols("u v chi", real=True)
    E, Dl, tsf, tso = sp.symbols("E Delta tau_sf tau_so", positive=True)
    hs = sp.symbols("hL hT hLS hTS")
    t3 = S3
    g, c, s = retarded(u, v, chi)
    ga = -t3 * g.H * t3
    assert sp.simplify(g * g - sp.eye(2)) == sp.zeros(2)
    rc, ic, rs, is_ = (sp.expand_complex(f(z)) for z in (c, s) for f in (sp.re, sp.im))
    # the coefficients of usadel/coefficients.py.local_coefficients (units of D)
    DL, DT, aTT = rc**2 - rs**2, rc**2 + is_**2, is_
    aLSLS, aTSTS = rc**2 - is_**2, rc**2 + rs**2
    GR, GA = nambu(g), nambu(ga)
    M = [sp.eye(4), nambu(t3), spin(S3) * nambu(t3), spin(S3)]  # modes L, T, LS, TS
    h_hat = sum((hm * Mm for hm, Mm in zip(hs, M)), sp.zeros(4))
    proj = lambda X: [sp.expand((Mm * X).trace() / 4) for Mm in M]
    # 1. uniform spectra: (G grad G)^K = grad h_hat - G^R grad h_hat G^A (h_hat linear in the symbols)
    grad_term = proj(h_hat - GR * h_hat * GA)
    diff = [DL, DT, DT, DL]
    for m, (row, Dm) in enumerate(zip(grad_term, diff)):
        for k, hk in enumerate(hs):
            assert zero(row.coeff(hk) - (2 * Dm if k == m else 0)), (m, k)
    # 2. local terms: energy, pairing (Delta's phase = chi: a bulk-like gauge), spin flip, spin orbit
    GK = GR * h_hat - h_hat * GA
    T3 = nambu(t3)
    Dhat = nambu(sp.Matrix([[0, -sp.I * Dl * sp.exp(sp.I * chi)], [sp.I * Dl * sp.exp(-sp.I * chi), 0]]))
    lam = sp.I * E * T3 + Dhat
    S = [spin(m) for m in (S1, S2, S3)]
    sig_dot = lambda X, tau: sum((Si * X * Si for Si in S), sp.zeros(4)) / (8 * tau)
    sf = [sig_dot(T3 * X * T3, tsf) for X in (GR, GA, GK)]
    so = [sig_dot(X, tso) for X in (GR, GA, GK)]
    local = keldysh_commutator((lam, lam, sp.zeros(4)), (GR, GA), GK)
    local -= keldysh_commutator(sf, (GR, GA), GK) + keldysh_commutator(so, (GR, GA), GK)
    sinks = [0, 2 * Dl * aTT, 2 * Dl * aTT + aLSLS / tsf + DT / tso, aTSTS / tsf + DL / tso]
    for m, row in enumerate(proj(local)):
        for k, hk in enumerate(hs):
            assert zero(row.coeff(hk) - (-2 * sinks[m] if k == m else 0)), (m, k)
        assert zero(row.subs({hk: 0 for hk in hs}))
    # the spin-orbit relaxation of each spin mode has that mode's diffusion coefficient (not the
    # spin-flip one): this distinguishes the two, which agree only in the normal state
    normal = {u: 0, v: 0}
    for a, b in ((aLSLS, DT), (aTSTS, DL)):
        assert sp.simplify((a - b).subs(normal)) == 0 and sp.simplify(a.subs(normal) - 1) == 0
        assert not zero(a - b)
    # 3. the retarded spin-orbit self-energy commutes with g^R at h = 0 (not pair breaking)
    assert sp.simplify(so[0] * GR - GR * so[0]) == sp.zeros(4)


if __name__ == "__main__":
    main()
    print("spin-flip and spin-orbit relaxation terms of the kinetic equations verified")
