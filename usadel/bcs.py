"""Closed forms for homogeneous superconductors: the reference side of the tests.

Nothing in the solver calls this module; it is written independently (in the
th parametrisation, not the solver's Riccati one) so that comparisons test
the solver rather than repeat it.

- BCS: retarded cosh th = E/sqrt(E^2 - Delta^2), sinh th = -Delta/sqrt(E^2 - Delta^2).
- Abrikosov-Gor'kov (spin-flip pair breaking, Gamma = 3/(4 tau_sf)):
  E sinh th + Delta cosh th + i Gamma sinh th cosh th = 0 (docs/conventions.md), its
  spectral gap Delta (1 - zeta^(2/3))^(3/2) with zeta = Gamma/Delta, and Tc
  from ln(Tc0/Tc) = psi(1/2 + Gamma/(2 pi Tc)) - psi(1/2).
"""

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma

__all__ = ["bcs_green", "bcs_dos", "ag_green", "ag_dos", "ag_spectral_gap", "ag_tc", "ag_delta_T0",
           "seed_delta_T", "spin_flip_length_S", "seed_eq11", "seed_hTS", "seed_probe_eq11", "seed_erf_formula",
           "homogeneous_gap", "cooper_limit_tc", "cooper_limit_gap", "DELTA0_OVER_TC"]

#: BCS Delta(T=0)/Tc0 = pi/e^gamma_E
DELTA0_OVER_TC = np.pi / np.exp(np.euler_gamma)


def _retarded_sqrt(eps, delta):
    """sqrt(eps^2 - Delta^2) analytic in the upper half plane, ~ eps at large |eps|."""
    return np.sqrt(eps - delta + 0j) * np.sqrt(eps + delta + 0j)


def bcs_green(E, delta, eta=0.0):
    """(cosh th, sinh th) of a BCS superconductor at E + i eta (retarded)."""
    eps = np.asarray(E, dtype=complex) + 1j * eta
    s = _retarded_sqrt(eps, delta)
    return eps / s, -delta / s


def bcs_dos(E, delta, eta=0.0):
    """BCS density of states Re cosh th."""
    return np.real(bcs_green(E, delta, eta)[0])


def ag_green(E, delta, Gamma, eta=0.0, steps=80):
    """(cosh th, sinh th) of the Abrikosov-Gor'kov equation (Maki).

    Solved by Newton on E sinh th + Delta cosh th + i Gamma sinh th cosh th = 0,
    continued from E + i Omega (Omega large, BCS start) down to E + i eta, which
    keeps the retarded branch.
    """
    E = np.atleast_1d(np.asarray(E, dtype=float))
    omega0 = 10.0 * (np.abs(E) + delta + Gamma + 1.0)
    th = None
    for k in range(steps + 1):
        om = omega0 * (1e-8 ** (k / steps)) if k < steps else 0.0
        eps = E + 1j * (eta + om)
        if th is None:
            th = np.arctanh(-delta / eps)
        for _ in range(50):
            sh, ch = np.sinh(th), np.cosh(th)
            f = eps * sh + delta * ch + 1j * Gamma * sh * ch
            df = eps * ch + delta * sh + 1j * Gamma * np.cosh(2 * th)
            step = f / df
            th = th - step
            if np.max(np.abs(step)) < 1e-14:
                break
    return np.cosh(th), np.sinh(th)


def ag_dos(E, delta, Gamma, eta=0.0):
    """Abrikosov-Gor'kov density of states."""
    return np.real(ag_green(E, delta, Gamma, eta)[0])


def ag_spectral_gap(delta, Gamma):
    """Spectral gap Delta (1 - zeta^(2/3))^(3/2), zeta = Gamma/Delta (0 if zeta >= 1)."""
    zeta = Gamma / delta
    return delta * (1.0 - zeta ** (2.0 / 3.0)) ** 1.5 if zeta < 1 else 0.0


def ag_tc(tc0, Gamma):
    """Critical temperature with pair-breaking energy Gamma (0 beyond Gamma_c = Delta00/2)."""
    if Gamma <= 0:
        return tc0
    if Gamma >= 0.5 * DELTA0_OVER_TC * tc0:
        return 0.0
    f = lambda tc: np.log(tc0 / tc) - (digamma(0.5 + Gamma / (2 * np.pi * tc)) - digamma(0.5))
    return brentq(f, 1e-12 * tc0, tc0, xtol=1e-15 * tc0, rtol=1e-15)


def ag_delta_T0(delta00, Gamma):
    """Abrikosov-Gor'kov gap at T = 0 (closed form), delta00 = BCS gap without pair breaking.

    zeta = Gamma/Delta: ln(Delta00/Delta) = pi zeta/4 for zeta <= 1, and
    ln(Delta00/Delta) = arccosh(zeta) + (zeta/2) arcsin(1/zeta) - sqrt(zeta^2-1)/(2 zeta)
    for zeta > 1 (Maki). Returns 0 beyond Gamma_c = Delta00/2.
    """
    if Gamma <= 0:
        return delta00
    if Gamma >= 0.5 * delta00:
        return 0.0

    def eq(d):
        z = Gamma / d
        if z <= 1:
            rhs = np.pi * z / 4
        else:
            rhs = np.arccosh(z) + 0.5 * z * np.arcsin(1 / z) - np.sqrt(z * z - 1) / (2 * z)
        return np.log(delta00 / d) - rhs

    return brentq(eq, 1e-9 * delta00, delta00, xtol=1e-15 * delta00, rtol=1e-15)


def _matsubara_f(w, delta, Gamma):
    """Homogeneous Matsubara pair amplitude f = sin(phi): w sin + Gamma sin cos = Delta cos (docs/conventions.md).

    With strong pair breaking the equation has several roots in phi at small w;
    the physical one is continued from large w (where it is unique), so the
    frequencies are swept downward, each Newton solve starting from the last.
    """
    w = np.asarray(w, float)
    if Gamma == 0.0:
        return delta / np.sqrt(w * w + delta * delta)  # BCS: the root is explicit
    order = np.argsort(w)[::-1]
    out = np.empty_like(w)
    wmax = max(w.max(), 100 * (delta + Gamma))
    path = np.r_[np.geomspace(wmax, w.max(), 40) if wmax > w.max() else [], w[order]]
    phi = np.arctan2(delta, path[0] + Gamma)
    k = 0
    for i, wi in enumerate(path):
        for _ in range(100):
            sn, c = np.sin(phi), np.cos(phi)
            F = wi * sn + Gamma * sn * c - delta * c
            dF = wi * c + Gamma * np.cos(2 * phi) + delta * sn
            step = F / dF
            phi = phi - step
            if abs(step) < 1e-15:
                break
        if i >= path.size - w.size:
            out[order[k]] = np.sin(phi)
            k += 1
    return out


def homogeneous_gap(T, tc0, Gamma=0.0, n_max=None):
    """Delta(T) of a homogeneous superconductor with pair breaking Gamma (reference).

    Solves Delta ln(Tc0/T) = 2 pi T sum_{w_n > 0} [Delta/w_n - f_n] with the exact
    homogeneous f_n, summed to w = 2000 Tc0 and the tail done analytically (BCS-like
    Delta^3/w^3 terms). Returns 0 above Tc.
    """
    if T >= ag_tc(tc0, Gamma):
        return 0.0
    n = int(n_max or np.ceil(2000 * tc0 / (2 * np.pi * T)))
    w = np.pi * T * (2 * np.arange(n) + 1)
    a = w[-1] + np.pi * T

    def eq(d):
        s = 2 * np.pi * T * np.sum(1 / w - _matsubara_f(w, d, Gamma) / d)
        # tail: sum_{n >= N} (1/w - f/Delta) with f ~ Delta/(w + Gamma) (1 - ...) : midpoint -> integral
        tail = np.log((a + Gamma) / a) + (d * d) / (4 * (a + Gamma) ** 2)
        return s + tail - np.log(tc0 / T)

    dmax = DELTA0_OVER_TC * tc0 * 1.01
    return brentq(eq, 1e-10 * tc0, dmax, xtol=1e-14 * tc0, rtol=1e-14)


def homogeneous_gap_neq(T, tc0, hL, d_lo=1e-3, d_hi=None):
    """BCS gap with a prescribed nonthermal hL(E) (reference for Eq. 8 out of equilibrium).

    Delta ln(Tc0/T) = 2 pi T sum [Delta/w - f_BCS] - delta_neq,
    delta_neq = Int_Delta^inf dE Delta/sqrt(E^2 - Delta^2) (hL - tanh(E/2T))
    (BCS: Re sinh th = -Delta/sqrt(E^2-Delta^2) above the gap, 0 below), integrated
    by adaptive quadrature in u with E = Delta cosh u. Nonthermal hL can make the
    equation multivalued (bistable); the root is searched in [d_lo, d_hi] x Tc0.
    """
    from scipy.integrate import quad

    n = int(np.ceil(2000 * tc0 / (2 * np.pi * T)))
    w = np.pi * T * (2 * np.arange(n) + 1)
    a = w[-1] + np.pi * T

    def eq(d):
        s = 2 * np.pi * T * np.sum(1 / w - 1 / np.sqrt(w * w + d * d)) + d * d / (4 * a * a)
        neq = quad(lambda u: hL(d * np.cosh(u)) - np.tanh(d * np.cosh(u) / (2 * T)), 0, 40, limit=400,
                   epsabs=1e-13, epsrel=1e-12)[0]  # Delta dE/sqrt(E^2-Delta^2) = Delta du
        return s - neq - np.log(tc0 / T)

    return brentq(eq, d_lo * tc0, (d_hi or 1.8) * tc0, xtol=1e-13, rtol=1e-13)


# ----------------------------------------------------------------------------
# Cooper limit of a thin S/N bilayer, with a Lorentzian-regulated pairing interaction
# g_n = omega_D^2/(w_n^2 + omega_D^2) (the regulator of usadel.gap(..., omega_D=...))


def _psi_reg(a):
    from scipy.special import digamma

    return float(np.real(digamma(0.5 + 1j * a)) - digamma(0.5))


def cooper_limit_tc(tc0, omega_D, fraction_S):
    """Tc of a bilayer thin compared with xi: lambda_eff = lambda nu_S d_S/(nu_S d_S + nu_N d_N).

    With 1/lambda = Psi(omega_D/(2 pi Tc0)) (Psi(a) = Re psi(1/2 + i a) - psi(1/2)), Tc
    solves Psi(omega_D/(2 pi Tc)) = 1/lambda_eff. For omega_D >> Tc this is the
    textbook Tc = 1.13 omega_D exp(-1/lambda_eff) = Tc0 (Tc0/(1.13 omega_D))^(d_N/d_S)
    (equal densities of states), with corrections of order (Tc0/omega_D)^2.
    """
    inv_l = _psi_reg(omega_D / (2 * np.pi * tc0)) / fraction_S
    return brentq(lambda T: _psi_reg(omega_D / (2 * np.pi * T)) - inv_l, 1e-8 * tc0, tc0, xtol=1e-15 * tc0,
                  rtol=1e-14)


def cooper_limit_gap(T, tc0, omega_D, fraction_S):
    """The bilayer's uniform spectral gap Delta* (the pair potential in S is Delta*/fraction_S).

    Homogeneous BCS with lambda_eff and the same regulator:
    Psi(omega_D/(2 pi T)) - 1/lambda_eff = 2 pi T sum_n g_n (1/w_n - 1/sqrt(w_n^2 + Delta*^2)),
    summed to w = 40 max(omega_D, 3 Tc0); beyond, the summand is g Delta*^2/(2 w^3) to
    relative O((Delta/w)^2) and its integral is done in closed form.
    """
    if T >= cooper_limit_tc(tc0, omega_D, fraction_S):
        return 0.0
    inv_l = _psi_reg(omega_D / (2 * np.pi * tc0)) / fraction_S
    n = int(np.ceil(40 * max(omega_D, 3 * tc0) / (2 * np.pi * T)))
    w = np.pi * T * (2 * np.arange(n) + 1)
    g = omega_D**2 / (w * w + omega_D**2)
    a = w[-1] + np.pi * T

    def eq(d):
        s = 2 * np.pi * T * np.sum(g * (1 / w - 1 / np.sqrt(w * w + d * d)))
        s += d * d / 4 * (1 / a**2 - np.log1p(omega_D**2 / a**2) / omega_D**2)  # Int_a g d^2/(2 w^3) dw
        return _psi_reg(omega_D / (2 * np.pi * T)) - inv_l - s

    return brentq(eq, 1e-9 * tc0, 3 * tc0, xtol=1e-14 * tc0, rtol=1e-13)


# ----------------------------------------------------------------------------
# The seed's spin-injection device (Morten, Brataas, Belzig 2004, Eq. 11, Fig. 2)


def seed_delta_T(T, tc, delta0_over_tc=1.76):
    """The seed's approximate gap Delta(T) = 1.76 Tc tanh(1.74 sqrt(Tc/T - 1)) (0 above Tc)."""
    T = np.asarray(T, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(T < tc, delta0_over_tc * tc * np.tanh(1.74 * np.sqrt(np.maximum(tc / T - 1, 0))), 0.0)


def spin_flip_length_S(E, delta, l_sf):
    """Seed: l_sf^S(E) = l_sf sqrt((E^2 - Delta^2)/(E^2 + Delta^2)) above the gap (0 below)."""
    E = np.abs(np.asarray(E, float))
    return np.where(E > delta, l_sf * np.sqrt(np.clip((E**2 - delta**2) / (E**2 + delta**2), 0, None)), 0.0)


def _f0(e, T):
    return 0.5 * (1.0 - np.tanh(e / (2.0 * T))) if T > 0 else (e < 0) * 1.0


def seed_hTS(E, T, delta, eV, L, l_sf, R_I, R_sf, P_FN=1.0):
    """BCS-limit hTS(L, E) behind seed Eq. 11 (scalar E >= 0; 0 below the gap):

        hTS = -Df_N(E) exp(-L/l_S(E)) R_S(E)/(R_S(E) + R_I(E)),
        Df_N = P_FN [f0(E - eV/2) - f0(E + eV/2)],  R_I(E) = R_I/N_BCS(E),  R_S(E) = R_sf l_S(E)/l_sf,

    so that reading (a), -P_D Int dE hTS over the whole axis (hTS even), is Eq. 11.
    """
    if E <= delta:
        return 0.0
    lS = l_sf * np.sqrt((E * E - delta * delta) / (E * E + delta * delta))
    N = E / np.sqrt(E * E - delta * delta)
    RS = R_sf * lS / l_sf
    return -P_FN * (_f0(E - eV / 2, T) - _f0(E + eV / 2, T)) * np.exp(-L / lS) * RS / (RS + R_I / N)


def _bcs_dos_integral(g, delta, top, points=()):
    """Int_0^top dE N_BCS(E) g(E), with E = Delta cosh u above the gap (N dE = E du)."""
    from scipy.integrate import quad

    kw = dict(limit=500, epsabs=1e-14, epsrel=1e-11)
    if delta <= 0:
        return quad(g, 0, top, points=[p for p in points if 0 < p < top] or None, **kw)[0]
    pts = [np.arccosh(p / delta) for p in points if delta < p < top]
    return quad(lambda u: g(delta * np.cosh(u)) * delta * np.cosh(u), 0, np.arccosh(top / delta),
                points=pts or None, **kw)[0]


def seed_eq11(T, delta, eV, L, l_sf, R_I, R_sf, P_D=1.0, P_FN=1.0):
    """Seed Eq. 11 by quadrature: Delta mu = mu(P) - mu(AP) at distance L.

        Delta mu = 2 P_D Int_Delta^inf dE Df_N(E) exp(-L/l_S(E)) R_S(E)/(R_S(E) + R_I(E)),
        Df_N = P_FN [f0(E - eV/2) - f0(E + eV/2)],  R_I(E) = R_I/N_BCS(E),
        R_S(E) = R_sf l_S(E)/l_sf   (R_I, R_sf: normal-state values).

    Integrated in u with E = Delta cosh u (smooth at the edge); for Delta = 0 the
    normal-state result P_D P_FN eV exp(-L/l_sf) R_sf/(R_sf + R_I) (for any T).
    """
    from scipy.integrate import quad

    def integrand(E):
        return -seed_hTS(E, T, delta, eV, L, l_sf, R_I, R_sf, P_FN)

    top = eV / 2 + 40 * max(T, 1e-12 * eV) + delta
    if delta > 0:
        umax = np.arccosh(top / delta)
        val = quad(lambda u: integrand(delta * np.cosh(u)) * delta * np.sinh(u), 0, umax, limit=500,
                   epsabs=1e-14, epsrel=1e-11, points=[np.arccosh(max(eV / 2, delta * 1.000001) / delta)])[0]
    else:
        val = quad(integrand, 0, top, limit=500, epsabs=1e-14, epsrel=1e-11, points=[eV / 2])[0]
    return 2.0 * P_D * val


def seed_probe_eq11(T, delta, eV, L, l_sf, R_I, R_sf, P_D=1.0, P_FN=1.0):
    """Reading (b) in the BCS limit: mu_P(P_D) - mu_P(-P_D) of a polarised tunnel probe.

    The probe (temperature T) carries no current when
    Int dE N_BCS hT_P(mu_P) = P Int dE N_BCS hTS, hT_P = f0(E + mu_P) - f0(E - mu_P),
    with the BCS-limit hTS of Eq. 11 (``seed_hTS``); same as
    ``usadel.KineticResult.probe_potential``, but from closed forms by quadrature.
    In the normal state this equals Eq. 11 (reading (a)).
    """
    from scipy.optimize import brentq

    top = eV / 2 + 40 * T + delta
    src = P_D * _bcs_dos_integral(lambda e: seed_hTS(e, T, delta, eV, L, l_sf, R_I, R_sf, P_FN),
                                  delta, top, points=[eV / 2])
    big = top + 40 * T

    def lhs(mu):
        return _bcs_dos_integral(lambda e: _f0(e + mu, T) - _f0(e - mu, T), delta, big + abs(mu),
                                 points=[abs(mu)])

    mu_p = brentq(lambda m: lhs(m) - src, -top, top, xtol=1e-15, rtol=1e-12)
    mu_m = brentq(lambda m: lhs(m) + src, -top, top, xtol=1e-15, rtol=1e-12)
    return mu_p - mu_m


def seed_erf_formula(delta, eV, L, l_sf, P_D=1.0, P_FN=1.0, a=None):
    """The seed's approximate T = 0, R_sf >> R_I result, as printed:

        Delta mu = 2 P_D P_FN Delta e^{-L/l_sf} { e^{-a r^2}/r - e^{-a} + sqrt(pi a) (erf(r sqrt a) - erf(sqrt a)) },
        r = 2 Delta/eV, with a = L/(2 l_sf) as printed.

    It follows from L/l_S(E) ~ (L/l_sf)(1 + Delta^2/E^2) (E >> Delta), which gives
    the same expression with a = L/l_sf; pass ``a`` to use another value.
    Zero for eV < 2 Delta.
    """
    from scipy.special import erf

    if eV <= 2 * delta:
        return 0.0
    a = L / (2 * l_sf) if a is None else a
    r = 2 * delta / eV
    br = np.exp(-a * r * r) / r - np.exp(-a) + np.sqrt(np.pi * a) * (erf(r * np.sqrt(a)) - erf(np.sqrt(a)))
    return 2 * P_D * P_FN * delta * np.exp(-L / l_sf) * br
