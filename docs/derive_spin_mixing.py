"""Symbolic checks behind the coupled spin blocks (docs/derivations.md, Spin mixing).

Run: python docs/derive_spin_mixing.py (needs sympy). Asserts that

1. for a 4x4 spin-Nambu function that is block diagonal in the spin projections,
   G = P_+ x g_+ + P_- x g_-, P_s = (1 + s sigma_z)/2, the spin-flip and spin-orbit
   self-energies sigma.(tau3 G tau3).sigma/(8 tau_sf) and sigma.G.sigma/(8 tau_so) are block diagonal
   too, block s being (a/2) tau3 g_s tau3 + a tau3 g_-s tau3 and (b/2) g_s + b g_-s,
   with a = 1/(4 tau_sf), b = 1/(4 tau_so) (the (b/2) g_s part commutes with g_s and drops out);
2. the Riccati rows of block s of D (g g')' + [i E tau3 + Delta_hat - S_s, g] = 0 with
   S_s = (a/2) tau3 g tau3 + a tau3 g' tau3 + b g' (g' = the other block, amplitudes c, d)
   are the spin-degenerate rows of docs/derive_riccati.py at pair-breaking rate a plus the
   coupling coded in usadel/spin_mixing.py,
       2/(1 + c d) [P (1 - c d) gamma + M (c - d gamma^2)]   (gamma row),
       2/(1 + c d) [P (1 - c d) gamma~ + M (d - c gamma~^2)] (gamma~ row),  P = a + b, M = a - b;
3. for equal blocks (c, d) = (gamma, gamma~) the coupled rows reduce to the spin-degenerate
   ones with Gamma = 3 a = 3/(4 tau_sf), and b drops out (spin-orbit scattering is not pair
   breaking without a field).
"""

import sympy as sp


def gmat(a, b):
    return sp.Matrix([[1 - a * b, 2 * a], [2 * b, -(1 - a * b)]]) / (1 + a * b)


def blocks():
    s = [sp.Matrix([[0, 1], [1, 0]]), sp.Matrix([[0, -sp.I], [sp.I, 0]]), sp.Matrix([[1, 0], [0, -1]])]
    t3 = sp.diag(1, -1)
    gu = sp.Matrix(2, 2, sp.symbols("u11 u12 u21 u22"))
    gd = sp.Matrix(2, 2, sp.symbols("d11 d12 d21 d22"))
    Pu, Pd = sp.diag(1, 0), sp.diag(0, 1)
    G = sp.kronecker_product(Pu, gu) + sp.kronecker_product(Pd, gd)
    T3 = sp.kronecker_product(sp.eye(2), t3)
    S = [sp.kronecker_product(si, sp.eye(2)) for si in s]
    a, b = sp.symbols("a b")  # a = 1/(4 tau_sf), b = 1/(4 tau_so): the prefactors 1/8 tau are a/2, b/2
    sf = sum((Si * T3 * G * T3 * Si for Si in S), sp.zeros(4)) * a / 2
    so = sum((Si * G * Si for Si in S), sp.zeros(4)) * b / 2
    for P, g, go in ((Pu, gu, gd), (Pd, gd, gu)):
        want_sf = sp.kronecker_product(P, a / 2 * t3 * g * t3 + a * t3 * go * t3)
        want_so = sp.kronecker_product(P, b / 2 * g + b * go)
        proj = sp.kronecker_product(P, sp.eye(2))
        assert sp.expand(proj * sf * proj - want_sf) == sp.zeros(4)
        assert sp.expand(proj * so * proj - want_so) == sp.zeros(4)
    # nothing connects the blocks: the off-block parts vanish
    assert sp.expand(sp.kronecker_product(Pu, sp.eye(2)) * (sf + so) * sp.kronecker_product(Pd, sp.eye(2))) == sp.zeros(4)


def riccati_rows():
    x = sp.symbols("x", real=True)
    E, D, A, B, Dl, Dlc, c, d = sp.symbols("E D a b Delta Deltac c d")
    a_, b_ = sp.Function("g")(x), sp.Function("gt")(x)
    t3 = sp.diag(1, -1)
    g, go = gmat(a_, b_), gmat(c, d)
    S = A / 2 * t3 * g * t3 + A * t3 * go * t3 + B * go
    Lam = sp.I * E * t3 + sp.Matrix([[0, -sp.I * Dl], [sp.I * Dlc, 0]]) - S
    R = D * (g * g.diff(x)).diff(x) + Lam * g - g * Lam
    a, b, a1, b1, a2, b2 = sp.symbols("a_ b_ a1 b1 a2 b2")
    sub = lambda e: e.subs({a_.diff(x, 2): a2, b_.diff(x, 2): b2}).subs({a_.diff(x): a1, b_.diff(x): b1}).subs({a_: a, b_: b})
    sol = sp.solve([sub(R[0, 1]), sub(R[1, 0])], [a2, b2], dict=True)[0]
    assert sp.simplify(sub(R[0, 0]).subs(sol)) == 0  # the tau3 part is implied
    p, q = a * b, c * d
    P, M = A + B, A - B
    cpl_a = 2 / (1 + q) * (P * (1 - q) * a + M * (c - d * a**2))
    cpl_b = 2 / (1 + q) * (P * (1 - q) * b + M * (d - c * b**2))
    rhs_a = -2 * sp.I * E * a - sp.I * Dl - sp.I * Dlc * a**2 + 2 * A * a * (1 - p) / (1 + p) + cpl_a
    rhs_b = -2 * sp.I * E * b + sp.I * Dlc + sp.I * Dl * b**2 + 2 * A * b * (1 - p) / (1 + p) + cpl_b
    assert sp.simplify(D * (sol[a2] - 2 * b * a1**2 / (1 + p)) - rhs_a) == 0
    assert sp.simplify(D * (sol[b2] - 2 * a * b1**2 / (1 + p)) - rhs_b) == 0
    # equal blocks: Gamma = 3 a, and the spin-orbit rate b drops out
    G3 = 2 * 3 * A * a * (1 - p) / (1 + p)
    assert sp.simplify((2 * A * a * (1 - p) / (1 + p) + cpl_a).subs({c: a, d: b}) - G3) == 0
    assert sp.simplify((2 * A * b * (1 - p) / (1 + p) + cpl_b).subs({c: a, d: b}) - G3 * b / a) == 0


def main():
    blocks()
    riccati_rows()
    print("spin-mixing self-energies and coupled Riccati rows verified")


if __name__ == "__main__":
    main()
