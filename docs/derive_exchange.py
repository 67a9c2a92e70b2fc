"""Symbolic checks behind the exchange-field formulas (docs/derivations.md, Exchange fields).

Run: python docs/derive_exchange.py (needs sympy). Asserts that

1. the semi-infinite ferromagnet tanh(th/4) = tanh(th_S/4) exp(-k x), k^2 = -2 i eps/D, solves
   D th'' = -2 i eps sinh th (one spin block, eps = E + sigma h, Delta = 0), while the tan(th/4)
   form (physics.md's, read with the hyperbolic th of this code) does not;
2. with spin-degenerate g the spin-relaxation self-energies reduce to the 2x2 forms:
   sigma.(tau3 g tau3).sigma/(8 tau_sf) = (3/(8 tau_sf)) tau3 g tau3 (Gamma = 3/(4 tau_sf)) and
   sigma.g.sigma/(8 tau_so) = (3/(8 tau_so)) g, which commutes with g (no effect at h = 0);
3. the free energy's summand Delta^2/w - 2 Re(sqrt(w~^2 + Delta^2) - w~) has the gap equation's
   summand 2 Delta (1/w - Re 1/sqrt(w~^2 + Delta^2)) as its Delta-derivative, and the spin blocks
   w -+ i h are complex conjugates for real w, h, Delta.
"""

import sympy as sp


def ferromagnet():
    x, D = sp.symbols("x D", positive=True)
    eps, k, v = sp.symbols("epsilon k v")
    u = sp.Function("u")(x)  # u = tanh(th/4) = c exp(-k x): u' = -k u
    th = 4 * sp.atanh(u)
    thpp = th.diff(x, 2).subs(u.diff(x, 2), k**2 * u).subs(u.diff(x), -k * u).subs(u, v)
    sinh_th = 4 * v * (1 + v**2) / (1 - v**2) ** 2  # sinh(4 atanh v), checked next
    r = (1 + v) / (1 - v)  # exp(2 atanh v), so sinh(4 atanh v) = (r^2 - r^-2)/2
    assert sp.simplify((r**2 - r**-2) / 2 - sinh_th) == 0
    assert abs(sp.N(sp.sinh(4 * sp.atanh(sp.Rational(1, 3))) - sinh_th.subs(v, sp.Rational(1, 3)), 30)) < 1e-25
    residual = (D * thpp + 2 * sp.I * eps * sinh_th).subs(k, sp.sqrt(-2 * sp.I * eps / D))
    assert sp.simplify(residual) == 0
    # physics.md's tan(th/4) form, read with this code's hyperbolic th, is not a solution
    wrong = 4 * sp.atan(u)
    thpp = wrong.diff(x, 2).subs(u.diff(x, 2), k**2 * u).subs(u.diff(x), -k * u).subs(u, v)
    bad = (D * thpp + 2 * sp.I * eps * sp.sinh(4 * sp.atan(v))).subs(k, sp.sqrt(-2 * sp.I * eps / D))
    assert abs(complex(sp.N(bad.subs({D: 1, eps: 1, v: sp.Rational(1, 3)})))) > 1e-3


def self_energies():
    s = [sp.Matrix([[0, 1], [1, 0]]), sp.Matrix([[0, -sp.I], [sp.I, 0]]), sp.Matrix([[1, 0], [0, -1]])]
    t3 = sp.diag(1, -1)
    g = sp.Matrix(2, 2, sp.symbols("g11 g12 g21 g22"))
    G = sp.kronecker_product(sp.eye(2), g)  # spin-degenerate: unit matrix in spin space
    T3 = sp.kronecker_product(sp.eye(2), t3)
    S = [sp.kronecker_product(si, sp.eye(2)) for si in s]
    sf = sum((Si * T3 * G * T3 * Si for Si in S), sp.zeros(4)) / 8
    so = sum((Si * G * Si for Si in S), sp.zeros(4)) / 8
    assert sp.simplify(sf - sp.Rational(3, 8) * T3 * G * T3) == sp.zeros(4)
    assert sp.simplify(so - sp.Rational(3, 8) * G) == sp.zeros(4)
    assert sp.simplify(so * G - G * so) == sp.zeros(4)


def free_energy():
    w, h, d = sp.symbols("w h Delta", positive=True)
    for sign in (1, -1):
        wt = w + sign * sp.I * h
        root = sp.sqrt(wt**2 + d**2)
        summand = d**2 / w - 2 * ((root - wt) + sp.conjugate(root - wt)) / 2
        gap = 2 * d * (1 / w - (1 / root + sp.conjugate(1 / root)) / 2)
        assert sp.simplify(summand.diff(d) - gap) == 0
    up = 1 / sp.sqrt((w - sp.I * h) ** 2 + d**2)
    dn = 1 / sp.sqrt((w + sp.I * h) ** 2 + d**2)
    # principal sqrt: conj(sqrt(z)) = sqrt(conj z) off the negative axis (Re w~^2 + Delta^2 may be < 0
    # but Im w~^2 = 2 w h != 0 keeps it off the cut); checked at a point with Re < 0
    vals = {w: sp.Rational(1, 3), h: 2, d: 1}
    assert abs(sp.N(sp.conjugate(up.subs(vals)) - dn.subs(vals), 30)) < 1e-25


def main():
    ferromagnet()
    self_energies()
    free_energy()
    print("exchange-field formulas verified")


if __name__ == "__main__":
    main()
