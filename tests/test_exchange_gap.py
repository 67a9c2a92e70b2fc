"""Exchange fields on the Matsubara axis (issue 13, first step): gap, Tc(h), free energy, SFS supercurrent.

Each spin block has w_n -> w_n - i sigma h (E -> E + sigma h at E = i w_n); physics.md writes
w_n + i sigma h, the same pair of blocks with the labels exchanged, so spin sums agree.
"""

import mpmath
import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import digamma

import usadel
from conftest import gap_jacobian_check, homogeneous_gap

DELTA00 = np.pi / np.exp(np.euler_gamma)  # BCS Delta(0) / Tc0 = 1.7639


def uniform(h, n=4, **mat):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tc=1.0, h=h, **mat)})


def second_order_tc(h):
    """Highest root of ln(1/Tc) = Re psi(1/2 + i h/(2 pi Tc)) - psi(1/2) (0 if none), by scan + brentq."""
    f = lambda T: np.log(1 / T) - (np.real(digamma(0.5 + 1j * h / (2 * np.pi * T))) - digamma(0.5))
    Ts = np.geomspace(1.0, 1e-3, 4000)
    for i in range(1, Ts.size):
        if f(Ts[i]) > 0:
            return brentq(f, Ts[i], Ts[i - 1], xtol=1e-15)
    return 0.0


@pytest.mark.parametrize("T, h", [(0.5, 0.3), (0.2, 0.5), (0.1, 0.8), (0.3, 1.0)])
def test_uniform_gap_with_exchange_field(T, h):
    # The cutoff-free map with the default cutoff 60 is off by 3e-7 at h = 0 as well (its Matsubara
    # tail); cutoff 240 brings both to ~1e-9, so 1e-8 Tc0 tests the spin blocks and the h tail.
    d = usadel.gap(uniform(h), T=T, cutoff=240.0, tol=1e-12).delta
    ref = homogeneous_gap(T, h)
    assert np.max(np.abs(d - ref)) < 1e-8
    assert abs(ref - homogeneous_gap(T, 0.0)) > 1e-6  # the field matters at this tolerance (T = 0.1: 3e-5 only)


def test_gap_jacobian_with_exchange_field_and_newton_equals_anderson():
    # S/F bilayer, h in F only. The Newton-Krylov Jacobian-vector product must include both spin
    # blocks: against central differences of the map it omits only the local nonlinear tail
    # (|Delta|^2/(4 w_N^2) ~ 1e-4 relative, the same at h = 0), so 5e-4 catches a one-spin Jacobian
    # (off by O(1) in F). Newton and Anderson converge to the same gap (residual tol 1e-10).
    m = usadel.meshes.wire([("S", 3.0, 30), ("F", 1.0, 20)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(D=0.7, sigma=1.5, h=1.5)})
    err, scale, sp = gap_jacobian_check(dev)
    assert sp.spin_split
    assert err < 5e-4 * scale
    a = usadel.gap(dev, T=0.2, tol=1e-10)
    b = usadel.gap(dev, T=0.2, tol=1e-10, method="anderson")
    assert np.max(np.abs(a.delta - b.delta)) < 1e-8 and a.iterations <= 8
    plain = usadel.gap(usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(D=0.7, sigma=1.5)}), T=0.2)
    assert a.delta[29].real < plain.delta[29].real - 0.05  # the field suppresses the gap at the interface


@pytest.mark.parametrize("h", [0.2, 0.5, 0.9, 1.0, 1.06, 1.0854, 1.0855, 1.2])
def test_critical_temperature_on_the_second_order_line(h):
    # ln(Tc0/Tc) = Re psi(1/2 + i h/(2 pi Tc)) - psi(1/2) (physics.md). For Delta00/2 < h < 1.085462 Tc0
    # (the line's largest h, at T = 0.478 Tc0) the line is reentrant (two roots); critical_temperature
    # gives the upper one (normal state unstable below it), and 0 above the largest h. At h = 1.0854
    # the unstable window (0.473-0.484 Tc0) is narrower than the scan's step. rtol 1e-10: to 1e-8.
    tc = usadel.critical_temperature(uniform(h, n=6), rtol=1e-10)
    assert abs(tc - second_order_tc(h)) < 1e-8
    assert (tc == 0.0) == (h > 1.0855 - 1e-9)


def test_critical_temperature_with_a_field_that_varies_in_space():
    # h varying between regions: dense mode-space correction (usadel.exchange_tc). (1) Two regions
    # with h and h (1 + 1e-12) take that path and must give the closed-form Tc of one h (1e-8;
    # measured 4e-10). (2) S/F bilayer (h = 10 Tc0 in F): Tc from the linearised equation against
    # the nonlinear gap loop, Delta^2(T) at 0.1-0.4% below Tc extrapolated (quadratic) to zero:
    # measured 1.4e-7 relative with the default cutoff 60 (the gap loop's tail; 3e-9 at cutoff 240),
    # asked 1e-6.
    # Just above Tc the gap loop finds the normal state, stable (negative growth rate).
    m = usadel.meshes.wire([("A", 1.0, 5), ("B", 1.0, 5)])
    for h in (0.5, 1.0):
        split = usadel.Device(m, {"A": usadel.Material(tc=1.0, h=h), "B": usadel.Material(tc=1.0, h=h * (1 + 1e-12))})
        assert abs(usadel.critical_temperature(split, rtol=1e-10) - second_order_tc(h)) < 1e-8
    m = usadel.meshes.wire([("S", 1.0, 20), ("F", 0.1, 8)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(h=10.0)})
    tc = usadel.critical_temperature(dev, rtol=1e-12)
    assert 0.3 < tc < 0.5  # strongly suppressed by the ferromagnet (without h: a Tc near 1)
    T = tc * (1 - np.array([0.004, 0.002, 0.001]))
    d2 = [np.max(np.abs(usadel.gap(dev, T=t, tol=1e-12).delta)) ** 2 for t in T]
    roots = np.roots(np.polyfit(T, d2, 2))
    assert np.min(np.abs(roots - tc)) < 1e-6 * tc
    above = usadel.gap(dev, T=1.002 * tc, tol=1e-12)
    assert np.max(np.abs(above.delta)) < 1e-10 and above.normal_growth < 0


def test_free_energy_limits_and_stationary_points():
    # T -> 0, h < Delta0: Omega = -Delta0^2/2 + h^2 (condensation vs Pauli energy), plus the normal
    # state's pi^2 T^2/3 (the gapped state has none: exp(-(Delta0 - h)/T) < e^-50 here). 1e-9: the
    # sum's truncation is < 1e-10 of Delta^2.
    T = 0.01
    for h in (0.0, 0.3, 1.0, 1.2):
        assert abs(usadel.free_energy(DELTA00, T, h=h) - (-DELTA00**2 / 2 + h * h + np.pi**2 * T * T / 3)) < 1e-9
    assert usadel.free_energy(0.0, 0.5, h=0.7) == 0.0
    # its stationary point is usadel.gap's solution (central difference, step 1e-4: error ~1e-9)
    T, h = 0.4, 0.6
    d = usadel.gap(uniform(h), T=T, cutoff=240.0, tol=1e-12).delta[0].real
    slope = (usadel.free_energy(d + 1e-4, T, h=h) - usadel.free_energy(d - 1e-4, T, h=h)) / 2e-4
    assert abs(slope) < 1e-7 and usadel.free_energy(d, T, h=h) < 0
    # its Delta^2 coefficient vanishes on the second-order line
    tc = usadel.critical_temperature(uniform(h), rtol=1e-12)
    assert abs(usadel.free_energy(1e-3, tc, h=h) / 1e-6) < 1e-6
    with pytest.raises(usadel.UsadelError, match="free_energy: T"):
        usadel.free_energy(1.0, 0.0)


@pytest.mark.parametrize("T", [0.01, 0.005])
def test_clogston_chandrasekhar_field_from_the_free_energy(T):
    # First-order transition at low T: the BCS branch (usadel.gap, Delta = Delta0 up to e^-50) and
    # the normal state have equal free energies at h^2 = Delta0^2/2 - pi^2 T^2/3 (the normal state's
    # T^2 term), which -> Delta0/sqrt(2) as T -> 0 (1.1e-4 and 2.6e-5 below it here). gap() alone
    # still finds the metastable BCS branch above that field. brentq to 1e-12; Delta enters Omega at
    # second order (stationary), so gap's 1e-12 tolerance is far below the 1e-7 asked.
    def omega(h):
        d = usadel.gap(uniform(h, n=2), T=T, tol=1e-12).delta[0].real
        return usadel.free_energy(d, T, h=h)
    h_cc = brentq(omega, 0.68 * DELTA00, 0.73 * DELTA00, xtol=1e-12)
    assert abs(h_cc - np.sqrt(DELTA00**2 / 2 - np.pi**2 * T * T / 3)) < 1e-7 * h_cc
    assert abs(h_cc / DELTA00 - 1 / np.sqrt(2)) < 1.2e-4
    above = usadel.gap(uniform(0.72 * DELTA00, n=2), T=T).delta[0].real
    assert abs(above - DELTA00) < 1e-6 and usadel.free_energy(above, T, h=0.72 * DELTA00) > 0


def test_tricritical_point_from_the_free_energy():
    # Along the second-order line (usadel.critical_temperature) the Delta^4 coefficient of
    # usadel.free_energy (a fit of Omega/Delta^2 = a + (b/2) Delta^2 + c Delta^4 at Delta = 0.02-0.06,
    # exact to O(Delta^6)) changes sign at the tricritical point. Reference: Re psi''(1/2 + i rho) = 0,
    # rho = h/(2 pi T), on the line: T* = 0.561493 Tc0, h* = 0.608221 Delta0, quoted 0.5615, 0.6082
    # (physics.md). Tolerances: 1e-5 (brentq 1e-9, the fit's b is exact to ~1e-7 in its units).
    def quartic(h):
        tc = usadel.critical_temperature(uniform(h), rtol=1e-12)
        x = np.array([0.02, 0.04, 0.06]) ** 2
        om = np.array([usadel.free_energy(np.sqrt(xi), tc, h=h) for xi in x]) / x
        return np.polyfit(x, om, 2)[1]
    h_star = brentq(quartic, 1.0, 1.076, xtol=1e-9)  # upper roots T = 0.687 and 0.5505 Tc0, either side of T*
    t_star = usadel.critical_temperature(uniform(h_star), rtol=1e-12)
    rho = brentq(lambda r: float(mpmath.re(mpmath.psi(2, 0.5 + 1j * r))), 0.05, 1.0, xtol=1e-14)
    t_ref = brentq(lambda t: np.log(1 / t) - (np.real(digamma(0.5 + 1j * rho)) - digamma(0.5)), 0.1, 1, xtol=1e-14)
    assert abs(t_star - t_ref) < 1e-5 and abs(h_star - 2 * np.pi * t_ref * rho) < 1e-5
    assert abs(t_star - 0.5615) < 1e-4 and abs(h_star / DELTA00 - 0.6082) < 1e-4


def test_sfs_supercurrent_changes_sign_with_ferromagnet_length():
    # Transparent SFS, h = 50 Delta >> T = 0.1 Delta; I(phase = pi/2) through usadel.observables.supercurrent
    # (Matsubara, both spin blocks). Long-junction reference: the overlap of the two exact tails,
    # I ~ sum_w tan^2(phi_w/4) Re[k_w e^{-k_w d}], k_w = sqrt(2 (w + i h)/D), phi_w = atan(Delta/w);
    # for h -> inf its nodes are Buzdin's d/xi_F = 3 pi/4, 7 pi/4 (xi_F = sqrt(D/h)). Measured: nodes
    # 2.3687, 5.5559 against 2.3775, 5.5559: the second within 1e-3 (60 elements per xi_F: P1 error
    # ~5e-5; corrections to the overlap ~e^-y), the first within 0.02 (e^-2.4 = 0.09 nonlinear
    # corrections); both within 2% of Buzdin's (omega/h corrections ~ y pi T/h: 1%).
    h, D, T, delta = 50.0, 1.0, 0.1, 1.0
    xi = np.sqrt(D / h)

    def current(y):
        dev = usadel.Device(usadel.meshes.interval(y * xi, max(100, int(60 * y))), {"wire": usadel.Material(D=D, h=h)},
                            {"left": usadel.Reservoir(delta=delta, phase=-np.pi / 4),
                             "right": usadel.Reservoir(delta=delta, phase=np.pi / 4)})
        return usadel.observables.supercurrent(dev, T=T)

    def overlap(y):
        w = np.pi * T * (2 * np.arange(20000) + 1)
        k = np.sqrt(2 * (w + 1j * h) / D)
        return np.sum(np.tan(np.arctan(delta / w) / 4) ** 2 * np.real(k * np.exp(-k * y * xi)))

    assert current(1.0) > 0 and current(3.0) < 0 and current(6.5) > 0
    for (lo, hi), buzdin, tol in (((2.0, 2.6), 3 * np.pi / 4, 0.02), ((5.0, 6.0), 7 * np.pi / 4, 1e-3)):
        node = brentq(current, lo, hi, xtol=1e-4)
        assert abs(node - brentq(overlap, lo, hi, xtol=1e-10)) < tol
        assert abs(node / buzdin - 1) < 0.02
    # at a node the current vanishes: supercurrent converges on the absolute scale of its terms there
    assert abs(current(node)) < 1e-3 * abs(current(node - 0.5))


@pytest.mark.parametrize("h", [0.3, 0.5])
def test_debye_regulator_with_an_exchange_field(h):
    # omega_D with a uniform h: Tc from the regulated exchange mode sum (residues at z = 0, -x, +-i a with
    # complex x) and Delta from the regulated gap map, against brute-force sums over 4e5 frequencies of
    # the closed-form spin-averaged BCS amplitudes Re Delta/sqrt((w + i h)^2 + Delta^2). Tc: measured
    # 4e-12, asked 1e-9. Gap at cutoff 240: measured 3.0e-8 (2.6e-8 at h = 0, the map's own tail), asked 1e-7.
    from scipy.optimize import brentq
    from usadel.linear_response import psi_reg

    wD, T = 10.0, 0.3
    w = lambda t: 2 * np.pi * t * (np.arange(400000) + 0.5)

    def rhs(t, f):
        x = w(t)
        return 2 * np.pi * t * np.sum(wD**2 / (x**2 + wD**2) * (1 / x - f(x)))

    lhs = lambda t: psi_reg(wD / (2 * np.pi * t)) - psi_reg(wD / (2 * np.pi))
    dev = uniform(h, n=4)
    tc_ref = brentq(lambda t: lhs(t) - rhs(t, lambda x: np.real(1 / (x + 1j * h))), 0.3, 0.999, xtol=1e-13)
    assert abs(usadel.critical_temperature(dev, omega_D=wD, rtol=1e-10) - tc_ref) < 1e-9
    d_ref = brentq(lambda d: lhs(T) - rhs(T, lambda x: np.real(1 / np.sqrt((x + 1j * h) ** 2 + d * d))), 1e-3, 2.0,
                   xtol=1e-13)
    d = usadel.gap(dev, T, omega_D=wD, tol=1e-12, cutoff=240.0).delta
    assert np.max(np.abs(d - d_ref)) < 1e-7
