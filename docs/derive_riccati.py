"""Symbolic check of the Riccati form of seed Eqs. 9-10 and of the KL condition.

Run: python docs/derive_riccati.py (needs sympy). Asserts that the equations
coded in usadel/spectral.py follow from the matrix Usadel equation

    D (g g')' + [i E tau3 + Delta_hat - (Gamma/2) tau3 g tau3, g] = 0,
    Delta_hat = [[0, -i Delta], [i Delta^*, 0]],

with g = 1/(1 + a b) [[1 - a b, 2 a], [2 b, -(1 - a b)]] (a = gamma, b = gamma~),
and that for a = tanh(th/2), b = -a it is seed Eq. 10.
"""

import sympy as sp


def gmat(a, b):
    return sp.Matrix([[1 - a * b, 2 * a], [2 * b, -(1 - a * b)]]) / (1 + a * b)


def main():
    x = sp.symbols("x", real=True)
    E, D, G, Dl, Dlc = sp.symbols("E D Gamma Delta Deltac")
    a_, b_ = sp.Function("a")(x), sp.Function("b")(x)
    t3 = sp.diag(1, -1)
    g = gmat(a_, b_)
    assert sp.simplify(g * g - sp.eye(2)) == sp.zeros(2)
    Lam = sp.I * E * t3 + sp.Matrix([[0, -sp.I * Dl], [sp.I * Dlc, 0]]) - G / 2 * t3 * g * t3
    R = D * (g * g.diff(x)).diff(x) + Lam * g - g * Lam
    a, b, a1, b1, a2, b2 = sp.symbols("a b a1 b1 a2 b2")
    sub = lambda e: e.subs({a_.diff(x, 2): a2, b_.diff(x, 2): b2}).subs({a_.diff(x): a1, b_.diff(x): b1}).subs({a_: a, b_: b})
    sol = sp.solve([sub(R[0, 1]), sub(R[1, 0])], [a2, b2], dict=True)[0]
    assert sp.simplify(sub(R[0, 0]).subs(sol)) == 0  # the tau3 part (seed Eq. 9) is implied
    p = a * b
    # the form coded in usadel/spectral.py (residual = D [lap a - 2 b a'^2/(1+p)] - rhs)
    rhs_a = -2 * sp.I * E * a - sp.I * Dl - sp.I * Dlc * a**2 + 2 * G * a * (1 - p) / (1 + p)
    rhs_b = -2 * sp.I * E * b + sp.I * Dlc + sp.I * Dl * b**2 + 2 * G * b * (1 - p) / (1 + p)
    assert sp.simplify(D * (sol[a2] - 2 * b * a1**2 / (1 + p)) - rhs_a) == 0
    assert sp.simplify(D * (sol[b2] - 2 * a * b1**2 / (1 + p)) - rhs_b) == 0
    # chi = 0, real Delta: a = tanh(th/2), b = -a gives seed Eq. 10
    th = sp.Function("th")(x)
    t = sp.tanh(th / 2)
    lhs = D * (sp.diff(t, x, 2) + 2 * t * sp.diff(t, x) ** 2 / (1 - t**2))
    rhs = (-2 * sp.I * E * t - sp.I * Dl * (1 + t**2) + 2 * G * t * (1 + t**2) / (1 - t**2))
    eq10 = D * th.diff(x, 2) - (-2 * sp.I * E * sp.sinh(th) - 2 * sp.I * Dl * sp.cosh(th) + G * sp.sinh(2 * th))
    # lhs - rhs must be proportional to Eq. 10 with factor d a/d th = (1 - t^2)/2
    ratio = sp.simplify(((lhs - rhs) - (1 - t**2) / 2 * eq10).rewrite(sp.exp))
    assert ratio == 0, ratio
    # Kupriyanov-Lukichev: sigma_1 g1 d_n g1 = [g1, g2]/(2 r) in Riccati form
    c, d = sp.symbols("c d")
    C = (gmat(a, b) * gmat(c, d) - gmat(c, d) * gmat(a, b)) / 2
    P, Q = C[0, 1] * (1 + p) ** 2 / 2, -C[1, 0] * (1 + p) ** 2 / 2
    dna = sp.simplify((P - a**2 * Q) / (1 - p**2))
    dnb = sp.simplify((Q - b**2 * P) / (1 - p**2))
    assert sp.simplify(dna - (c - a) * (1 + a * d) / (1 + c * d)) == 0
    assert sp.simplify(dnb - (d - b) * (1 + b * c) / (1 + c * d)) == 0
    # matrix current g g' in terms of a', b' (used for fluxes and jE = -i D (g g')_11)
    M = (g * g.diff(x)).applyfunc(sub)
    assert sp.simplify(M[0, 0] - 2 * (a * b1 - a1 * b) / (1 + p) ** 2) == 0
    assert sp.simplify(M[0, 1] - 2 * (a1 + a**2 * b1) / (1 + p) ** 2) == 0
    print("Riccati equations, KL condition and matrix current verified")


if __name__ == "__main__":
    main()
