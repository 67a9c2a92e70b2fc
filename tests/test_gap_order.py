"""The gap equation and Tc on order-p Lagrange elements (usadel.highorder_gap, usadel.highorder_tc):
closed forms on uniform wires, S/N bilayers against Richardson-extrapolated P1, convergence rates per
dof, the exact Jacobian, and the refusals (docs/conventions.md, Element order)."""

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import digamma

import usadel
from conftest import homogeneous_gap
from usadel import bcs
from usadel.highorder_gap import HighOrderGapMap

OMEGA_D = 20.0  # Debye regulator of the transparent S/N bilayers (required there at order p)


def uniform(order, n=3, **mat):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tc=1.0, **mat)}, order=order)


def sn(n, order, **kw):
    """S/N bilayer, S and N of length 1 (= 1.3 xi at T = 0.5), D = sigma = 1, free ends."""
    m = usadel.meshes.wire([("S", 1.0, n), ("N", 1.0, n)])
    return usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()}, order=order, **kw)


def sn_gap(n, order, **kw):
    """Delta at the free S end (x = 0) at T = 0.5, omega_D = 20 (a vertex: the dof value is the field there)."""
    r = usadel.gap(sn(n, order, **kw), 0.5, omega_D=OMEGA_D, tol=1e-11)
    return r.delta[np.argmin(np.abs(r.x[:, 0]))].real


def sn_tc(n, order, **kw):
    return usadel.critical_temperature(sn(n, order, **kw), omega_D=OMEGA_D, rtol=1e-13)


def richardson2(a, b, c):
    """Limit of a sequence on meshes h, h/2, h/4 with error c2 h^2 + c4 h^4 (P1 with the regulator: measured
    ratios of successive differences 3.9-4.0, and of the once extrapolated values 15.4)."""
    r1, r2 = b + (b - a) / 3, c + (c - b) / 3
    return r2 + (r2 - r1) / 15


@pytest.fixture(scope="module")
def p1_sn():
    """P1 on 16, 32, 64 elements per region (at most 129 nodes): the gap at x = 0 and Tc, and their limits."""
    gaps = [sn_gap(n, 1) for n in (16, 32, 64)]
    tcs = [sn_tc(n, 1) for n in (16, 32, 64)]
    return dict(gaps=gaps, tcs=tcs, gap=richardson2(*gaps), tc=richardson2(*tcs))


# ---------------------------------------------------------------- closed forms on uniform wires
@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("T", [0.3, 0.9])
def test_uniform_wire_is_bcs(order, T):
    # cutoff 240: the local nonlinear tail (the same model as P1) is then 1e-9 of Delta (3e-7 at the
    # default 60, tests/test_exchange_gap.py); measured 1.1e-9 (T = 0.5) and 2.6e-9 (T = 0.9), equal to
    # P1's to 1e-12. 1e-8 tests the order-p pair sums, the collocation and the order-p tail.
    r = usadel.gap(uniform(order), T, cutoff=240.0, tol=1e-12)
    assert np.max(np.abs(r.delta - bcs.homogeneous_gap(T, 1.0))) < 1e-8
    assert r.iterations <= 6


@pytest.mark.parametrize("G", [0.1, 0.4])
def test_pair_breaking_wire_gap_and_tc_are_abrikosov_gorkov(G):
    # The consistent order-p pair-breaking mass enters the tail and Tc: Tc against ln(Tc0/Tc) =
    # psi(1/2 + G/(2 pi Tc)) - psi(1/2) (measured 8e-14; 1e-10 leaves room for brentq's rtol 1e-12)
    # and Delta(T = 0.2) against the homogeneous AG solution (measured 1.8e-8 at cutoff 240, P1's
    # local nonlinear tail model with Gamma; 1e-7)
    dev = uniform(3, tau_sf=3 / (4 * G))
    assert abs(usadel.critical_temperature(dev, rtol=1e-12) - bcs.ag_tc(1.0, G)) < 1e-10
    r = usadel.gap(dev, 0.2, cutoff=240.0, tol=1e-12)
    assert np.max(np.abs(r.delta - bcs.homogeneous_gap(0.2, 1.0, G))) < 1e-7


def test_spin_split_wire_gap_and_tc():
    # Both spin blocks at order 3: Delta(T = 0.2, h = 0.5) (measured 1.9e-10 at cutoff 240; 1e-8 as P1's
    # test) and the second-order line ln(1/Tc) = Re psi(1/2 + i h/(2 pi Tc)) - psi(1/2) (measured 4e-13)
    h = 0.5
    dev = uniform(3, h=h)
    r = usadel.gap(dev, 0.2, cutoff=240.0, tol=1e-12)
    assert np.max(np.abs(r.delta - homogeneous_gap(0.2, h))) < 1e-8
    f = lambda T: np.log(1 / T) - (np.real(digamma(0.5 + 1j * h / (2 * np.pi * T))) - digamma(0.5))
    assert abs(usadel.critical_temperature(dev, rtol=1e-12) - brentq(f, 0.3, 1.0, xtol=1e-15)) < 1e-10


# ---------------------------------------------------------------- S/N bilayer against P1
def test_sn_bilayer_gap_and_tc_against_richardson_p1(p1_sn):
    # Richardson limit of P1 (16, 32, 64 elements per region): its own error is ~1e-7 for the gap and
    # ~1.5e-8 for Tc (against the same extrapolation from 32, 64, 128: measured 9e-8 and 1.3e-8).
    # P3 on 16 elements (97 dofs): measured 5.8e-8 (gap) and on 8 elements (49 dofs) 1.2e-7 (Tc) from it,
    # P3's own error by its rate ~4e-8 and 1.3e-7; 3e-7 is the sum of both with a margin.
    assert abs(sn_gap(16, 3) - p1_sn["gap"]) < 3e-7
    assert abs(sn_tc(8, 3) - p1_sn["tc"]) < 3e-7
    # the gap is suppressed at the free S end by the proximity of N (bulk BCS at T = 0.5: 1.6)
    assert 0.4 < p1_sn["gap"] < 0.6 < bcs.homogeneous_gap(0.5, 1.0)


def test_sn_bilayer_converges_faster_per_dof_than_p1(p1_sn):
    # Errors against P4 on 8 elements (65 dofs; its last step changed Tc by 1.9e-7 and converges as
    # h^4.7, so it is within ~1e-8 of the limit). Measured Tc rates: P1 2.0 (16 -> 32 -> 64),
    # P2 3.6-3.8 (4 -> 8 -> 16), P3 4.1-4.6 (2 -> 4 -> 8); the interface's boundary layers at
    # w ~ omega_D keep P3 below its smooth-solution rate of 4-6.
    ref = sn_tc(8, 4)
    rate = lambda e: np.log2(e[:-1] / e[1:])
    e1 = np.abs(np.array(p1_sn["tcs"]) - ref)
    e2 = np.abs(np.array([sn_tc(n, 2) for n in (4, 8, 16)]) - ref)
    e3 = np.abs(np.array([sn_tc(n, 3) for n in (2, 4, 8)]) - ref)
    assert np.all(np.abs(rate(e1) - 2.0) < 0.2)
    assert np.all(rate(e2) > 3.2)
    assert np.all(rate(e3) > 3.8)
    # per dof: P3 on 4 elements (25 dofs) is 10x more accurate than P1 with 129 nodes (measured 17x)
    assert e3[1] < e1[2] / 10


def test_tunnel_sn_bilayer_cutoff_free_against_p1():
    # A tunnel interface (r = 0.3) has no pairing edge inside the element space, so the cutoff-free form
    # is built at order p. P1 on 32 and 64 elements per region extrapolated (its next error term is
    # ~h^2.7 here: its own error ~4e-6, from the extrapolation with 128 elements); P3 on 16 elements
    # (98 dofs): measured 3.7e-6 (gap at x = 0, T = 0.3) and 2.1e-6 (Tc) from it. 1e-5.
    def both(n, order):
        dev = sn(n, order, interfaces={("S", "N"): usadel.Barrier(r=0.3)})
        return usadel.gap(dev, 0.3, tol=1e-11).delta[0].real, usadel.critical_temperature(dev, rtol=1e-13)
    (g32, t32), (g64, t64) = both(32, 1), both(64, 1)
    g3, t3 = both(16, 3)
    assert abs(g3 - (g64 + (g64 - g32) / 3)) < 1e-5
    assert abs(t3 - (t64 + (t64 - t32) / 3)) < 1e-5


# ---------------------------------------------------------------- the outer loop
def nsn_wire(n, order):
    """S wire of length 6 between normal reservoirs (clean contacts: the gap's dofs there are fixed to 0)."""
    return usadel.Device(usadel.meshes.interval(6.0, n), {"wire": usadel.Material(tc=1.0)}, order=order,
                         contacts={"left": usadel.Reservoir(), "right": usadel.Reservoir()})


def s_contact_wire(n, order, delta_res=0.5):
    """S wire of length 2 (Tc0 = 1) with a clean contact to an S reservoir (gap delta_res) at x = 0, free at 2."""
    return usadel.Device(usadel.meshes.interval(2.0, n), {"wire": usadel.Material(tc=1.0)},
                         {"left": usadel.Reservoir(delta=delta_res)}, order=order)


@pytest.mark.parametrize("make, omega_D", [(lambda: sn(3, 3), OMEGA_D), (lambda: nsn_wire(3, 3), None),
                                           (lambda: s_contact_wire(3, 3), OMEGA_D)])
def test_jacobian_against_central_differences(make, omega_D):
    # J v against central differences of the map (step 1e-5: error ~1e-10), with the local nonlinear
    # tail's change (left out of J, as in P1) differenced separately; clean-contact dofs included (pinned, or
    # with omega_D at an S reservoir collocated: there the map's local tail is the reservoir's, constant).
    prob = HighOrderGapMap(make(), 0.4, 60.0, None, omega_D)
    d = 0.8 * prob.initial_delta()
    d[prob.linear_tail.fixed] = 0.0
    _, sp = prob.update(d)
    jv = prob.jacobian(d, sp)
    v = (np.random.default_rng(1).normal(size=d.size) + 1j * np.random.default_rng(2).normal(size=d.size)) * prob.sc
    k, eps = prob.sc, 1e-5
    contacts = prob.linear_tail.fixed if omega_D is not None else []

    def local(x):
        out = np.zeros(x.size, complex)
        out[k] = -x[k] * prob.nonlinear_tail(x[k]) / prob.lhs[k]
        out[contacts] = 0.0
        return out
    fd = (prob.update(d + eps * v)[0] - prob.update(d - eps * v)[0]) / (2 * eps) - v
    fd -= (local(d + eps * v) - local(d - eps * v)) / (2 * eps)
    assert np.max(np.abs(jv(v) - fd)) < 1e-7 * np.max(np.abs(fd))


def test_newton_equals_anderson_with_clean_contacts():
    # the fixed clean-contact dofs are a -1 on J's diagonal; both iterations reach the same gap (tol 1e-11)
    dev = nsn_wire(4, 3)
    a = usadel.gap(dev, 0.3, tol=1e-11)
    b = usadel.gap(dev, 0.3, tol=1e-11, method="anderson")
    assert np.max(np.abs(a.delta - b.delta)) < 1e-9 and a.iterations <= 6
    assert a.delta[0] == 0 and 1.6 < np.max(a.delta.real) < bcs.homogeneous_gap(0.3, 1.0)


# ---------------------------------------------------------------- refusals
def test_transparent_sn_without_debye_regulator_is_refused():
    dev = sn(3, 3)
    for call in (lambda: usadel.gap(dev, 0.5), lambda: usadel.critical_temperature(dev)):
        with pytest.raises(usadel.UsadelError, match="omega_D"):
            call()
    usadel.gap(sn(3, 1), 0.5)  # P1 regularises the edge by lumping


# ---------------------------------------------------------------- the nonequilibrium loop
def test_prescribed_double_step_on_a_uniform_wire():
    # gap(hL=...) at order 3: Eq. 8 with a nonthermal hL against the independent homogeneous reference
    # (Matsubara part + adaptive quadrature of delta_neq); the error is the co-moving grid's, as for P1
    # (test_gap.py: 3.6e-6 relative; measured here equal to P1's to 1e-12); 1e-4 as there.
    T, V = 0.2, 0.5
    hL = lambda E: 0.5 * (np.tanh((E + V) / (2 * T)) + np.tanh((E - V) / (2 * T)))
    r = usadel.gap(uniform(3), T, hL=hL)
    p1 = usadel.gap(uniform(1), T, hL=hL)
    ref = bcs.homogeneous_gap_neq(T, 1.0, hL, d_lo=1.0)
    assert np.max(np.abs(r.delta - ref)) < 1e-4 * ref
    assert np.max(np.abs(r.delta - p1.delta[0])) < 1e-10


def biased_wire(n, order, V=1.0, T=0.2):
    """S wire of length 3 between normal reservoirs at mu = +-V/2 (clean contacts)."""
    return usadel.Device(usadel.meshes.interval(3.0, n), {"wire": usadel.Material(tc=1.0)},
                         {"left": usadel.Reservoir(T=T, mu=V / 2), "right": usadel.Reservoir(T=T, mu=-V / 2)},
                         order=order)


def test_solve_on_a_biased_wire_against_p1():
    # solve() at order 3 on 8 elements (25 dofs) against P1 on 24 and 48 elements extrapolated (measured
    # ratio of successive P1 differences 3.99-4.01 up to 192 elements; this limit's own error, against the
    # one from 96 and 192 elements: 1.7e-6 for Delta, 1.1e-6 for the current).
    # Delta at the middle: measured 2.0e-6 from it (the order-p gap equation; delta_neq carries the kinetic
    # error below), 5e-6. The current: the kinetic equations run on the P1 operators of the chain of dofs
    # (docs/conventions.md, Element order), so it converges at second order in the dof spacing, like P1's:
    # measured -1.97e-4 (8 elements), -4.0e-5 (16), against P1's +3.2e-4 with 25 nodes. P3 is not clearly
    # better here (1.6x, not an order): 2.5e-4 (the measured error with a 27% margin) fails if P3 is as far
    # off as P1 on the same count of points (3.2e-4), which 3e-4 barely separated.
    from usadel.nonequilibrium import comoving_grid

    u = 1.76 * comoving_grid(n=600)

    def run(n, order):
        s = usadel.solve(biased_wire(n, order), 0.2, energies=u)
        mid = np.argmin(np.abs(s.device.topology.p[0] - 1.5))
        assert abs(s.kinetic.current("left") + s.kinetic.current("right")) < 1e-8
        return s.delta[mid].real, s.kinetic.current("left"), s
    (d24, i24, _), (d48, i48, _) = run(24, 1), run(48, 1)
    d3, i3, s3 = run(8, 3)
    assert abs(d3 - (d48 + (d48 - d24) / 3)) < 5e-6
    assert abs(i3 - (i48 + (i48 - i24) / 3)) < 2.5e-4
    eq = usadel.gap(biased_wire(8, 3), 0.2)  # the bias weakens the gap (by 0.02 in the middle)
    assert np.max(s3.delta.real) < np.max(eq.delta.real) - 1e-2


def test_phase_biased_wire_complex_gap_against_p1():
    # S wire (length 2) between S reservoirs at the BCS gap with phases -+0.6: complex Delta(x), the Jacobian's
    # Delta^* terms. P3 on 6 elements (19 dofs) against P1 on 40 and 80 elements extrapolated (that limit moves
    # by 2.6e-9 and 1.2e-8 when extrapolated from 80 and 160): |Delta| at the middle measured 3.1e-8 from it,
    # 1e-7; the supercurrent of the self-consistent state (observables.supercurrent, the order-p Lagrange
    # current) 1.4e-8 (P1 on 80 elements: 8e-6 off), 1e-7. Newton and Anderson agree (measured 1.5e-13)
    # and the gap's phase is antisymmetric about the middle (4e-16).
    T, ph = 0.3, 1.2
    d = bcs.homogeneous_gap(T, 1.0)

    def run(n, order, method="newton"):
        dev = usadel.Device(usadel.meshes.interval(2.0, n), {"wire": usadel.Material(tc=1.0)},
                            {"left": usadel.Reservoir(delta=d, phase=-ph / 2),
                             "right": usadel.Reservoir(delta=d, phase=ph / 2)}, order=order)
        r = usadel.gap(dev, T, tol=1e-12, method=method)
        return r, abs(r.delta[np.argmin(np.abs(r.x[:, 0] - 1.0))]), usadel.observables.supercurrent(dev, T, r.delta, "left")
    (_, m40, i40), (_, m80, i80) = run(40, 1), run(80, 1)
    r3, m3, i3 = run(6, 3)
    assert abs(m3 - (m80 + (m80 - m40) / 3)) < 1e-7
    assert abs(i3 - (i80 + (i80 - i40) / 3)) < 1e-7
    assert np.max(np.abs(run(6, 3, "anderson")[0].delta - r3.delta)) < 1e-10
    x, phase = r3.x[:, 0], np.angle(r3.delta)
    mirror = np.array([np.argmin(np.abs(x - (2.0 - xi))) for xi in x])
    assert np.max(np.abs(phase + phase[mirror])) < 1e-8 and phase[0] == pytest.approx(-ph / 2)


def test_tc_symmetric_form_equals_the_collocated_eigenvalues():
    # With one Tc0 the collocated Tc operator is similar to a symmetric one (usadel.highorder_tc); both forms'
    # largest eigenvalue agree to rounding (measured 3e-15; 3e-14 with 129 dofs) with and without the regulator
    from usadel.highorder_tc import order_p_eigenvalue

    for dev, wd in ((sn(3, 3), OMEGA_D), (sn(3, 2, interfaces={("S", "N"): usadel.Barrier(r=0.3)}), None)):
        a, b = order_p_eigenvalue(dev, wd, symmetric=True)[0], order_p_eigenvalue(dev, wd, symmetric=False)[0]
        for T in (0.2, 0.5, 0.9):
            assert abs(a(T) - b(T)) < 1e-11


# ---------------------------------------------------------------- stability of the normal state at order p
def test_normal_growth_at_order_p_is_the_exact_eigenvalue_near_tc():
    # The collocated order-p map is self-adjoint only in the consistent pairing mass B, not in P1's lumped one:
    # with the lumped inner product the Ritz value overshot (+1.19e-3 at 1.001 Tc where the exact eigenvalue is
    # -8.9e-4) and gap() raised "converged twice to a normal state that is unstable". The exact rate is the
    # largest eigenvalue of the linearised operator (usadel.highorder_tc.order_p_eigenvalue, an independent
    # dense computation). Tolerances: the Arnoldi estimate in B is a lower bound (it may exceed the eigenvalue
    # only by the finite-difference error of its products, O((1e-4)^2 lhs) ~ 4e-8: 1e-7) and stops once a step
    # moves it by < 1e-2 of itself (usadel.stability.SETTLED): within 1e-2 relative (measured 9e-5 at 1.001 Tc,
    # 7e-5 at 1.05 Tc). Above Tc the result is normal to the loop's tolerance (|G - Delta| ~ kappa/lhs |Delta|
    # < 1e-8: |Delta| < 1e-4; measured 1.4e-5 at 1.001 Tc); just below, the gap develops (measured 0.0998).
    from usadel.highorder_tc import order_p_eigenvalue

    dev = nsn_wire(6, 3)  # Tc below Tc0, a non-uniform mode
    tc = usadel.critical_temperature(dev, rtol=1e-12)
    exact = order_p_eigenvalue(dev)[0]
    for fac in (1.001, 1.05):
        r = usadel.gap(dev, fac * tc)
        kappa = exact(fac * tc)
        assert kappa < 0 and np.max(np.abs(r.delta)) < 1e-4
        assert r.normal_growth < kappa + 1e-7 and abs(r.normal_growth - kappa) < 1e-2 * abs(kappa)
    below = usadel.gap(dev, 0.999 * tc, maxiter=200)
    assert below.normal_growth is None and np.max(np.abs(below.delta)) > 0.05


@pytest.mark.parametrize("T", [1.2, 1.001])
def test_normal_growth_at_order_p_is_ln_tc_over_t_on_a_uniform_wire(T):
    # Homogeneous order-3 wire above Tc0 from Delta = 0: the uniform mode is an eigenvector of the linearised
    # map with the rate ln(Tc0/T) exactly, as for P1 (tests/test_gap.py); finite differences: 1e-8 (measured 1e-9).
    dev = uniform(3)
    r = usadel.gap(dev, T, delta0=np.zeros(dev.topology.n_nodes))
    assert np.max(np.abs(r.delta)) == 0.0
    assert abs(r.normal_growth - np.log(1.0 / T)) < 1e-8


def test_delta0_on_normal_dofs_is_ignored():
    # As for P1 (tests/test_gap.py): a uniform delta0 on an order-3 S/N bilayer (the N dofs too) stalled at
    # residual 3e-1; zeroed off the superconducting dofs it gives the default start's solution, with Delta = 0
    # on the N dofs (measured 7.7e-13; residual 1e-10 times the slow mode of (1 - J), as for P1: 1e-8).
    dev = sn(6, 3)
    ref = usadel.gap(dev, 0.5, omega_D=OMEGA_D, tol=1e-10)
    r = usadel.gap(dev, 0.5, omega_D=OMEGA_D, tol=1e-10, delta0=0.3 * np.ones(dev.topology.n_nodes), maxiter=30)
    assert np.max(np.abs(r.delta - ref.delta)) < 1e-8
    assert np.all(r.delta[dev.topology.p[0] > 1.0 + 1e-9] == 0.0)


# ---------------------------------------------------------------- clean contacts to superconducting reservoirs
def test_clean_s_contact_with_debye_regulator_collocates_the_gap_equation():
    # With omega_D the contact dof of a superconducting element is an unknown of the gap equation, collocated
    # with the reservoir's pair amplitude f_res and the exact tail: Delta there is the local solution
    # Delta psi(omega_D/2 pi Tc0) = sum_{all n} 2 pi T g_n f_res,n (here summed directly over 2e6 frequencies,
    # remainder < 1e-12): 0.6542228. Measured 4.7e-8 from it at cutoffs 30 and 120 (the local nonlinear tail
    # beyond w_N is the BCS asymptote with the regulator at w_N, an upper bound): 1e-7. (Pinning it to
    # Delta_res = 0.5, as cutoff-free, was 0.15 off; P1 truncated the sum at the contact node and reported
    # 0.655768 at cutoff 60, 0.654896 at 120; it now shares this contact logic: tests/test_gap.py.) Inside, P3 on 16 elements against P1 on 80, 160, 320
    # extrapolated (successive P1 differences 3.9-4.0 apart): measured 7e-9 (P1 on 320: up to 1.6e-6 off); 1e-7.
    from usadel.linear_response import psi_reg

    T, wd, dres = 0.3, 20.0, 0.5
    w = np.pi * T * (2 * np.arange(2_000_000) + 1)
    exact = 2 * np.pi * T * np.sum(wd**2 / (w**2 + wd**2) * dres / np.sqrt(w**2 + dres**2)) / psi_reg(wd / (2 * np.pi))
    for cutoff in (30.0, 120.0):
        r = usadel.gap(s_contact_wire(8, 3), T, omega_D=wd, tol=1e-12, cutoff=cutoff)
        assert r.x[0, 0] == 0.0 and abs(r.delta[0] - exact) < 1e-7

    def probe(n, order):
        r = usadel.gap(s_contact_wire(n, order), T, omega_D=wd, tol=1e-12)
        return np.array([r.delta[np.argmin(np.abs(r.x[:, 0] - x))].real for x in (0.5, 1.0, 2.0)])
    a, b, c = (probe(n, 1) for n in (80, 160, 320))
    assert np.max(np.abs(probe(16, 3) - richardson2(a, b, c))) < 1e-7


def test_clean_s_contact_on_a_normal_element_with_debye_regulator():
    # N (length 1) with a clean contact to an S reservoir (gap 0.5) at x = 0, then S (length 1, Tc0 = 1), T = 0.5:
    # pairing edges at the contact and at the N/S interface. Cutoff-free refused (naming the edge); with
    # omega_D = 20 P3 on 12 elements per region against P1 on 16, 32, 64 extrapolated (successive differences
    # 3.9-4.0 apart): at the interface, x = 1.5 and the free end measured 2.0e-8, 1.7e-8, 1.9e-8 (P1 on 64
    # elements: 1.3e-4 off); 1e-7.
    def dev(n, order):
        m = usadel.meshes.wire([("N", 1.0, n), ("S", 1.0, n)])
        return usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()},
                             {"left": usadel.Reservoir(delta=0.5)}, order=order)
    with pytest.raises(usadel.UsadelError, match="omega_D"):
        usadel.gap(dev(3, 3), 0.5)

    def probe(n, order):
        r = usadel.gap(dev(n, order), 0.5, omega_D=OMEGA_D, tol=1e-12)
        return np.array([r.delta[np.argmin(np.abs(r.x[:, 0] - x))].real for x in (1.0, 1.5, 2.0)])
    a, b, c = (probe(n, 1) for n in (16, 32, 64))
    assert np.max(np.abs(probe(12, 3) - richardson2(a, b, c))) < 1e-7


def test_s_s_prime_tc_from_the_non_symmetric_path_is_where_the_gap_map_turns_unstable():
    # S (Tc0 = 1) / S' (Tc0 = 0.5), transparent, each of length 1, P3 on 4 elements per region: two Tc0, so Tc
    # comes from the largest real part of the collocated operator's eigenvalues (not symmetrisable) and the
    # stability check's Arnoldi has no lower-bound property (no early exit). Independent check: the nonlinear
    # gap map from the default start is normal with small gaps shrinking 0.1% above that Tc (measured rate
    # -9.7e-4; the eigenvalue there is -9.4e-4, the map's rate weights it by the per-dof lhs) and finds the gap
    # 0.1% below it (measured 0.095). Tc itself lies between the two Tc0 (measured 0.78577; it moves by 1.2e-4,
    # 5.1e-5 from 4 to 8, 16 elements, docs/conventions.md).
    m = usadel.meshes.wire([("S", 1.0, 4), ("P", 1.0, 4)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "P": usadel.Material(tc=0.5)}, order=3)
    tc = usadel.critical_temperature(dev, rtol=1e-12)
    assert 0.5 < tc < 1.0
    above = usadel.gap(dev, 1.001 * tc)
    assert np.max(np.abs(above.delta)) < 1e-4 and -2e-3 < above.normal_growth < 0
    below = usadel.gap(dev, 0.999 * tc, maxiter=200)
    assert below.normal_growth is None and np.max(np.abs(below.delta)) > 0.05
