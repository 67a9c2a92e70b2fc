"""Gap self-consistency (seed Eq. 8): BCS and Abrikosov-Gor'kov in homogeneous wires,
inverse proximity and the Cooper limit in S/N devices, the nonequilibrium map, and
the stability of normal solutions.

Homogeneous references are independent (usadel.bcs solves the homogeneous
Matsubara equation in the th form by scalar Newton, summed to 2000 Tc0 with an
analytic tail, and the AG closed forms).
"""

import numpy as np
import pytest

import usadel
from usadel import bcs
from usadel.selfconsistency import gap
from usadel.tc import critical_temperature


def wire(gamma=0.0, n=6):
    tau = None if gamma == 0 else 3 / (4 * gamma)
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tc=1.0, tau_sf=tau)})


def test_bcs_delta_zero_temperature():
    # Delta(0) = pi/e^gamma Tc0 = 1.7639 Tc0; T = 0.02 Tc0 is T = 0 to 1e-30
    r = gap(wire(), 0.02)
    assert abs(r.delta[0].real - 1.7639 * 1.0) < 1e-4
    assert np.allclose(r.delta, r.delta[0], atol=1e-12)


@pytest.mark.parametrize("T", [0.1, 0.5, 0.9, 0.98])
def test_bcs_delta_of_T_matches_gap_equation(T):
    # issue tolerance 1e-4; measured < 6e-7 (the Matsubara tail is analytic)
    r = gap(wire(), T)
    ref = bcs.homogeneous_gap(T, 1.0)
    assert abs(r.delta[0].real - ref) < 1e-4 * ref
    assert r.iterations < 15


def test_matsubara_cutoff_converged_homogeneous():
    # default cutoff (60 Tc0) against 4x: measured differences 1.5e-6 (cutoff 30),
    # 9e-8 (60), 1e-9 (120) relative to 480; 1e-6 is 100x below the 1e-4
    a = gap(wire(), 0.3).delta[0].real
    b = gap(wire(), 0.3, cutoff=240.0).delta[0].real
    assert abs(a - b) < 1e-6 * b


@pytest.mark.parametrize("G", [0.1, 0.4, 0.85])
def test_abrikosov_gorkov_tc(G):
    # ln(Tc0/Tc) = psi(1/2 + G/(2 pi Tc)) - psi(1/2); issue tolerance 1e-3 (measured 5e-6)
    tc = critical_temperature(wire(G, n=4))
    ref = bcs.ag_tc(1.0, G)
    assert abs(tc - ref) < 1e-3 * ref


@pytest.mark.parametrize("G", [0.1, 0.4, 0.7, 0.85])
def test_abrikosov_gorkov_delta_low_T(G):
    # closed form at T = 0: ln(D00/D) = pi zeta/4 (zeta <= 1), Maki's form beyond;
    # T = 0.005 Tc0 differs from T = 0 by < 1e-4 even in the gapless regime
    # (measured 1.5e-4 at T = 0.02 for G = 0.85, quadratic in T)
    r = gap(wire(G), 0.005)
    ref = bcs.ag_delta_T0(bcs.DELTA0_OVER_TC, G)
    assert abs(r.delta[0].real - ref) < 1e-3 * ref


def test_gapless_window():
    # gapless for exp(-pi/4) D00 = 0.804 < G < D00/2 = 0.882 (Tc0 = 1): zero-energy
    # DOS finite inside (measured 0.67 at G = 0.84), ~eta below (5e-10 at G = 0.75)
    for G, gapless in ((0.75, False), (0.84, True), (0.87, True)):
        dev = wire(G)
        d = gap(dev, 0.005).delta
        N0 = usadel.spectral(dev, [0.0], delta=d, eta=1e-10).dos()[0, 0]
        assert (N0 > 1e-3) == gapless
    # beyond G = D00/2 superconductivity vanishes: Tc = 0
    assert critical_temperature(wire(0.9, n=4)) == 0.0


def test_gap_nonconvergence_raises_with_history():
    with pytest.raises(usadel.ConvergenceError) as exc:
        gap(wire(), 0.99, maxiter=1, delta0=np.full(7, 1.0 + 0j))
    assert exc.value.history and len(exc.value.history) == 1


def sn_wire(n):
    m = usadel.meshes.wire([("S", 3.0, n), ("N", 3.0, n)])
    return usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})


def test_inverse_proximity_converged_in_matsubara_count():
    # The tail beyond the cutoff is the exact discrete linear response, so the
    # explicit cutoff does not matter: measured |change| 9e-6 between 30 and 120 Tc0.
    dev = sn_wire(100)
    a = gap(dev, 0.5, cutoff=30.0)
    b = gap(dev, 0.5, cutoff=120.0)
    assert np.max(np.abs(a.delta - b.delta)) < 1e-4


def test_inverse_proximity_profile():
    # Delta suppressed near the transparent S/N interface (x = 3) and recovering
    # towards the bulk value over a few xi = sqrt(D/Delta) ~ 0.75 into S; zero in N.
    r = gap(sn_wire(200), 0.5)
    bulk = bcs.homogeneous_gap(0.5, 1.0)
    d = lambda x: r.at([[x]])[0].real
    assert d(2.9) < 0.4 * bulk
    assert d(2.9) < d(2.5) < d(1.5) < d(0.0)
    assert abs(d(0.0) - bulk) < 0.03 * bulk  # 4 xi away: within a few percent
    assert np.all(np.abs(r.delta[r.x[:, 0] > 3.0 + 1e-9]) == 0)
    # first-order mesh convergence at fixed distance (log-singular interface layer):
    r2 = gap(sn_wire(400), 0.5)
    assert abs(r2.at([[2.5]])[0].real - d(2.5)) < 5e-3
    assert r.iterations < 30


def double_step(V, T):
    return lambda E: 0.5 * (np.tanh((E + V) / (2 * T)) + np.tanh((E - V) / (2 * T)))


def test_nonequilibrium_gap_prescribed_double_step():
    # Eq. 8 with a nonthermal hL (double step), homogeneous wire, against the
    # independent reference (Matsubara part + adaptive quadrature of delta_neq).
    # Measured 3.6e-6 relative with the default co-moving grid.
    T, V = 0.2, 0.5
    r = gap(wire(), T, hL=double_step(V, T))
    ref = bcs.homogeneous_gap_neq(T, 1.0, double_step(V, T), d_lo=1.0)
    assert abs(r.delta[0].real - ref) < 1e-4 * ref
    assert ref < bcs.homogeneous_gap(T, 1.0)  # the double step weakens pairing


def test_nonequilibrium_gap_bistable_branch_converges_with_grid():
    # T = 0.3, V = 1.2 has two solutions; from the equilibrium start the loop finds
    # the upper one. Error vs the reference falls as 1/n^2 with the co-moving grid
    # (measured 4.8e-4 at n = 1600, 1.2e-4 at 3200).
    from usadel.nonequilibrium import comoving_grid

    T, V = 0.3, 1.2
    ref = bcs.homogeneous_gap_neq(T, 1.0, double_step(V, T), d_lo=1.5)
    errs = []
    for n in (1600, 3200):
        u = comoving_grid(n=n, T_over_delta=T / 1.5, mu_over_delta=[V / 1.5])
        errs.append(abs(gap(wire(), T, hL=double_step(V, T), u_grid=u).delta[0].real - ref) / ref)
    assert errs[1] < 3e-4
    assert errs[0] / errs[1] > 3


def nsn(V, T=0.2):
    m = usadel.meshes.wire([("N1", 0.5, 10), ("S", 3.0, 60), ("N2", 0.5, 10)])
    mats = {"N1": usadel.Material(), "S": usadel.Material(tc=1.0), "N2": usadel.Material()}
    return usadel.Device(m, mats, {"left": usadel.Reservoir(T=T, mu=V / 2), "right": usadel.Reservoir(T=T, mu=-V / 2)})


def test_solve_without_bias_is_the_equilibrium_gap():
    # hL = tanh everywhere, so delta_neq = 0 and solve() must return gap()'s answer
    from usadel.nonequilibrium import comoving_grid

    dev = nsn(0.0)
    s = usadel.solve(dev, 0.2, energies=1.76 * comoving_grid(n=600))
    g = gap(dev, 0.2)
    assert np.max(np.abs(s.delta - g.delta)) < 1e-6
    assert abs(s.kinetic.current("left")) < 1e-10
    # started normal (an exact but unstable solution here) it must still find the gap
    s0 = usadel.solve(dev, 0.2, energies=1.76 * comoving_grid(n=600), delta0=np.zeros(dev.operators.n))
    assert np.max(np.abs(s0.delta - g.delta)) < 1e-6


@pytest.mark.slow
def test_solve_bias_suppresses_gap_then_ohms_law():
    # A bias across N-S-N drives the quasiparticles out of equilibrium: the gap in
    # the middle drops below its equilibrium value; far above the gap the wire turns
    # normal and carries I = V/R_N (R_N = 4 here) to the grid's accuracy.
    from usadel.nonequilibrium import comoving_grid

    u = comoving_grid(n=600)
    mid = lambda s: s.delta[np.argmin(np.abs(s.device.topology.p[0] - 2.0))].real
    eq = mid(usadel.solve(nsn(0.0), 0.2, energies=1.76 * u))
    s1 = usadel.solve(nsn(1.0), 0.2, energies=1.76 * u)
    assert mid(s1) < eq - 1e-3
    assert abs(s1.kinetic.current("left") + s1.kinetic.current("right")) < 1e-8
    s2 = usadel.solve(nsn(3.0), 0.2, energies=1.76 * u)
    assert abs(mid(s2)) < 1e-4
    # that normal state is stable: small gaps decay (homogeneous double step: -0.497;
    # the N ends' inverse proximity lowers it further, measured -0.563)
    assert -0.7 < s2.normal_growth < -0.497
    assert abs(s2.kinetic.current("left") - 3.0 / 4.0) < 1e-3 * 0.75
    assert s1.iterations < 40 and s2.iterations < 40


def test_phase_biased_self_consistency_conserves_supercurrent():
    # S(res, -phi/2) - S wire - N - S wire - S(res, +phi/2): the reservoirs' phases stay
    # fixed while complex Delta(x) in the wires is self-consistent. Only a
    # self-consistent gap conserves the supercurrent (measured spread 1.5e-3 of the
    # mean over all elements, mesh/Matsubara-truncation limited, vs 7.5 for a uniform
    # real Delta), and the gap phase winds antisymmetrically inside (-phi/2, phi/2).
    T, ph = 0.3, 1.2
    d = bcs.homogeneous_gap(T, 1.0)
    m = usadel.meshes.wire([("S1", 2.0, 60), ("N", 1.0, 40), ("S2", 2.0, 60)])
    S = usadel.Material(tc=1.0)
    dev = usadel.Device(m, {"S1": S, "N": usadel.Material(), "S2": S},
                        {"left": usadel.Reservoir(delta=d, phase=-ph / 2), "right": usadel.Reservoir(delta=d, phase=ph / 2)})
    g = gap(dev, T)
    ops = dev.operators
    w = np.pi * T * (2 * np.arange(400) + 1)

    def current(delta):
        sp = usadel.spectral(dev, 1j * w, delta=delta, eta=0.0)
        return -2 * np.pi * T * (ops.sigma_e * np.imag(sp.matrix_current()[..., 0])).sum(0)

    j = current(g.delta)
    assert (j.max() - j.min()) < 5e-3 * abs(j.mean())
    sc = ops.lump(ops.w_el * ops.sc_e) > 0
    j0 = current(np.where(sc, d, 0.0).astype(complex))
    assert (j0.max() - j0.min()) > 1.0 * abs(j0.mean())
    x = dev.topology.p[0]
    phase = lambda xx: np.angle(g.delta[np.argmin(np.abs(x - xx))])
    assert -ph / 2 < phase(0.5) < phase(1.5) < 0 < phase(3.5) < phase(4.5) < ph / 2
    assert abs(phase(0.5) + phase(4.5)) < 1e-6


def test_tc_consistent_with_gap_loop_in_sn_device():
    # Tc (linearised) and the full gap loop use the same discretisation: just below
    # Tc the loop finds a gap, just above it none. (Before they used different
    # pairing weights at the S/N interface node and disagreed by 0.24% in Tc.)
    m = usadel.meshes.wire([("S", 1.0, 20), ("N", 0.5, 10)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})
    tc = critical_temperature(dev, rtol=1e-8)
    assert 0.3 < tc < 1.0
    assert np.max(np.abs(gap(dev, 0.9 * tc, maxiter=200).delta)) > 0.1
    assert np.max(np.abs(gap(dev, 1.1 * tc, maxiter=200).delta)) < 1e-4


def test_normal_start_below_tc_finds_the_superconducting_state():
    # Delta = 0 solves the gap equation at any T, and an iteration started on it (or
    # at 1e-9) meets any residual tolerance; below Tc that normal state is unstable.
    # The check measures the growth rate of small gaps there and restarts along the
    # growing mode: the answer must be the one from the BCS start (Newton, 1e-8 Tc0).
    w = wire(n=10)
    ref = gap(w, 0.5)
    assert ref.normal_growth is None  # nowhere normal: nothing to check
    for d0 in (np.zeros(11), np.full(11, 1e-9)):
        r = gap(w, 0.5, delta0=d0)
        assert np.max(np.abs(r.delta - ref.delta)) < 1e-7
    m = usadel.meshes.wire([("S", 3.0, 100), ("N", 3.0, 100)])
    sn = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})
    r0, r = gap(sn, 0.5), gap(sn, 0.5, delta0=np.zeros(201))
    assert np.max(np.abs(r.delta - r0.delta)) < 1e-6
    unchecked = gap(w, 0.5, delta0=np.zeros(11), check_normal=False)
    assert np.max(np.abs(unchecked.delta)) == 0.0  # what the check is there for


def test_normal_growth_rate_is_ln_tc_over_t_and_agrees_with_tc():
    # Homogeneous wire above Tc0: the linearised gap equation gives the growth rate
    # ln(Tc0/T) exactly (the map's Jacobian is diagonal; finite differences with
    # eps = 1e-4 Tc0: 1e-8). S/N device: the rate changes sign at the Tc of the
    # linearised eigenproblem (critical_temperature, an independent computation),
    # within 1e-4 of ln(Tc/T) ~ 1e-2 (the mode is not uniform, so only ~ ln(Tc/T)).
    w = wire(n=10)
    for T in (1.2, 1.001):
        r = gap(w, T, delta0=np.zeros(11))
        assert np.max(np.abs(r.delta)) == 0.0
        assert abs(r.normal_growth - np.log(1.0 / T)) < 1e-8
    m = usadel.meshes.wire([("S", 3.0, 100), ("N", 3.0, 100)])
    sn = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})
    tc = critical_temperature(sn, rtol=1e-10)
    above = gap(sn, 1.0001 * tc, delta0=np.zeros(201))
    assert np.max(np.abs(above.delta)) == 0.0 and -2e-4 < above.normal_growth < 0
    below = gap(sn, 0.999 * tc, delta0=np.zeros(201), maxiter=200)
    assert below.normal_growth is None and np.max(np.abs(below.delta)) > 0.05  # the gap just below Tc


def test_normal_growth_under_a_double_step_matches_the_linearised_gap_equation():
    # Homogeneous wire with a prescribed double-step hL (bias V, temperature T), from
    # Delta = 0: the normal state's growth rate is the linearised nonequilibrium gap
    # equation, kappa = ln(Tc0/T) - Int_0^inf dE (tanh(E/2T) - hL(E))/E (closed form by
    # quadrature). Tolerance 1e-3: the map's real-axis integral is a trapezoid on the
    # co-moving grid (measured 2.4e-4 and 5e-5). Where kappa > 0 the normal start is
    # unstable and the solver must find the superconducting branch (reference:
    # bcs.homogeneous_gap_neq, 1e-4 as in the double-step test above). The cases with
    # eV/2 > 40 T check that the real grid covers the whole bias window (it stopped
    # at 40 T: kappa -0.876 instead of -1.224 at T = 0.05, V = 6).
    from scipy.integrate import quad

    w = usadel.Device(usadel.meshes.interval(1.0, 6), {"wire": usadel.Material(tc=1.0)})
    for T, V in ((0.3, 4.0), (0.2, 3.0), (0.3, 2.0), (0.05, 6.0), (0.1, 10.0)):
        ds = lambda E: 0.5 * (np.tanh((E + V / 2) / (2 * T)) + np.tanh((E - V / 2) / (2 * T)))
        I = quad(lambda E: (np.tanh(E / (2 * T)) - ds(E)) / E, 1e-12, 80, limit=500, points=[V / 2])[0]
        kappa = np.log(1 / T) - I
        r = gap(w, T, hL=ds, delta0=np.zeros(7))
        if kappa < 0:
            assert np.max(np.abs(r.delta)) == 0.0 and abs(r.normal_growth - kappa) < 1e-3
        else:
            ref = bcs.homogeneous_gap_neq(T, 1.0, ds, d_lo=0.5)
            assert r.normal_growth is None and abs(r.delta[0].real - ref) < 1e-4 * ref


def test_nonthermal_distribution_at_high_energy_is_rejected():
    # Eq. 8 out of equilibrium needs hL -> tanh(E/2T) at high energy (Re F ~ Delta/E)
    w = usadel.Device(usadel.meshes.interval(1.0, 6), {"wire": usadel.Material(tc=1.0)})
    with pytest.raises(usadel.UsadelError, match="not thermal up to"):
        gap(w, 0.5, hL=lambda E: 0.0 * E)


# ---------------------------------------------------------------------------
# Cooper limit: needs the Debye energy (gap(..., omega_D=...), Lorentzian regulator)


def _bilayer(dS, dN, n=10):
    from usadel.meshes import wire

    return usadel.Device(wire([("S", dS, n), ("N", dN, n)]),
                         {"S": usadel.Material(D=1.0, tc=1.0), "N": usadel.Material(D=1.0)}, {})


def test_cooper_limit_closed_forms():
    # regulated bulk: Tc = Tc0 by construction; omega_D >> Tc0: the textbook
    # Tc = Tc0 (Tc0/(1.134 omega_D))^(d_N/d_S), corrections O((Tc0/omega_D)^2)
    assert abs(bcs.cooper_limit_tc(1.0, 50.0, 1.0) - 1.0) < 1e-12
    c = 2 * np.exp(np.euler_gamma) / np.pi
    for wD, frac in ((1000.0, 0.5), (1000.0, 1 / 3)):
        text = (1.0 / (c * wD)) ** ((1 - frac) / frac)
        assert abs(bcs.cooper_limit_tc(1.0, wD, frac) / text - 1) < 2e-4
    # regulated homogeneous gap -> cutoff-free BCS as omega_D -> inf
    assert abs(bcs.cooper_limit_gap(0.1, 1.0, 1e3, 1.0) / bcs.homogeneous_gap(0.1, 1.0) - 1) < 1e-4


def test_regulated_bulk_wire_matches_homogeneous():
    from usadel.tc import critical_temperature

    dev = usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material(D=1.0, tc=1.0)}, {})
    assert abs(critical_temperature(dev, omega_D=20.0) - 1.0) < 1e-6
    for T in (0.1, 0.9):
        g = usadel.gap(dev, T, omega_D=20.0)
        assert abs(np.abs(g.delta).max() / bcs.cooper_limit_gap(T, 1.0, 20.0, 1.0) - 1) < 1e-5  # measured 5e-6


def test_cooper_limit_bilayer_tc_and_gap():
    # Thin S/N bilayer (equal D and DOS, insulating ends): Tc and the uniform gap of a
    # homogeneous superconductor with lambda_eff = lambda d_S/(d_S + d_N). The FEM
    # differs by the finite-thickness correction O((d/xi_wD)^2), xi_wD = sqrt(D/omega_D):
    # measured 2.1e-3 at d_S = d_N = 0.01 (omega_D = 20), 4x smaller at half the thickness.
    from usadel.tc import critical_temperature

    wD = 20.0
    ref = bcs.cooper_limit_tc(1.0, wD, 0.5)
    err = [abs(critical_temperature(_bilayer(d, d), omega_D=wD) / ref - 1) for d in (0.01, 0.005)]
    assert err[0] < 3e-3 and err[1] < 0.3 * err[0]
    # discretisation: the interface node pairs only over its superconducting half
    # (no O(h) shift of the interface): 5 and 40 elements per layer agree
    assert abs(critical_temperature(_bilayer(0.01, 0.01, 5), omega_D=wD)
               / critical_temperature(_bilayer(0.01, 0.01, 40), omega_D=wD) - 1) < 1e-4
    # textbook exponent d_N/d_S = 2, omega_D = 100: Tc0 (Tc0/1.134 omega_D)^2
    c = 2 * np.exp(np.euler_gamma) / np.pi
    tc = critical_temperature(_bilayer(0.002, 0.004), omega_D=100.0)
    assert abs(tc / (1.0 / (c * 100.0)) ** 2 - 1) < 3e-3  # measured 2.1e-3
    # the gap at T = 0.3 Tc: pair potential Delta_S in S, zero in N, spectral gap Delta_S d_S/d
    dev = _bilayer(0.01, 0.01)
    T = 0.3 * ref
    g = usadel.gap(dev, T, omega_D=wD)
    x = g.x[:, 0]
    dS = np.abs(g.delta[x < 0.0099])
    assert np.ptp(dS) < 1e-3 * dS.mean()
    assert np.all(g.delta[x > 0.0101] == 0)
    assert abs(0.5 * dS.mean() / bcs.cooper_limit_gap(T, 1.0, wD, 0.5) - 1) < 3e-3  # measured 2.1e-3


def test_omega_d_validation():
    dev = _bilayer(0.01, 0.01)
    with pytest.raises(usadel.UsadelError, match="omega_D"):
        usadel.gap(dev, 0.01, omega_D=-1.0)


def test_newton_krylov_matches_anderson_at_an_sn_interface():
    # Newton-Krylov (exact Jacobian-vector products through the factorised Matsubara
    # Jacobians) and Anderson converge to the same Delta(x); Newton in a handful of
    # outer iterations where Anderson needs ~20 (benchmarks/gap_iterations.py).
    m = usadel.meshes.wire([("S", 3.0, 60), ("N", 3.0, 60)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})
    a = gap(dev, 0.5, method="anderson")
    n = gap(dev, 0.5, method="newton")
    assert np.max(np.abs(a.delta - n.delta)) < 1e-7
    assert n.iterations < a.iterations and n.iterations <= 8


def test_anderson_drops_a_wrong_preconditioner():
    from usadel.nonlinear import anderson

    fun = lambda x: (0.5 * x + 1.0, None)  # fixed point x = 2
    x, hist, ok, _ = anderson(fun, np.zeros(3, complex), 1e-12, 40, precondition=lambda x, r, e: -r)
    assert ok and np.allclose(x, 2.0)


def test_anderson_restarts_a_stalled_plain_run_from_its_best_point():
    # A map whose residual does not fall for a while (here: for the first 12 calls a step d_k that ignores x,
    # of max-norm 0.05 (1 + 0.01 k), so the first point stays the best and no step is bad enough for the
    # safeguard) stalls the extrapolation. After STALL_PATIENCE steps without halving the best residual the
    # history is cleared and the next x is the plain step from the best x; with safeguard=None the restart is
    # off. Afterwards the map contracts to x = 0.04 (near the start, so the run can get there from its best x).
    import usadel.nonlinear as NL

    rng = np.random.default_rng(1)
    steps = [v / np.max(np.abs(v)) * 0.05 * (1 + 0.01 * k)
             for k, v in enumerate(rng.normal(size=(12, 6)) + 1j * rng.normal(size=(12, 6)))]
    calls = []

    def fun(x):
        calls.append(x.copy())
        return (x + steps[len(calls) - 1] if len(calls) <= 12 else 0.5 * (x + 0.04)), None

    k = NL.STALL_PATIENCE
    x, hist, ok, _ = NL.anderson(fun, np.zeros(6, complex), 1e-12, 80)
    assert ok and np.allclose(x, 0.04)
    assert max(hist[:k + 1]) < 2 * hist[0]  # the safeguard did not act
    assert np.allclose(calls[k + 1], calls[0] + steps[0])  # the stall restart did
    calls.clear()
    NL.anderson(fun, np.zeros(6, complex), 1e-12, 80, safeguard=None)
    assert not np.allclose(calls[k + 1], calls[0] + steps[0])


def test_quadrature_tail_for_large_meshes(monkeypatch):
    # Above MAX_DENSE_TAIL nodes the Matsubara tail is a quadrature with sparse
    # solves instead of the dense eigendecomposition: same operator to ~1e-8, and the
    # self-consistent gap of an S/N wire with a phase-biased tunnel reservoir agrees.
    import sys

    import usadel.linear_response as L
    import usadel.matsubara as M
    m = usadel.meshes.wire([("S", 3.0, 60), ("N", 3.0, 60)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()},
                        {"right": usadel.Reservoir(delta=1.0, phase=0.5, barrier=usadel.Barrier(r=0.3))})
    d = np.random.default_rng(0).normal(size=dev.operators.n) + 0.3j
    for wD in (None, 20.0):
        ex, qt = L.LinearTail(dev, 0.3, 80, wD), L.QuadratureTail(dev, 0.3, 80, wD)
        assert np.max(np.abs(ex(d) - qt(d))) < 1e-7 * np.max(np.abs(ex(d)))
    ref = gap(dev, 0.5)
    monkeypatch.setattr(M, "MAX_DENSE_TAIL", 10)
    got = gap(dev, 0.5)
    assert isinstance(M.GapMap(dev, 0.5, 60.0, None).linear_tail, L.QuadratureTail)
    assert np.max(np.abs(got.delta - ref.delta)) < 1e-7


@pytest.mark.parametrize("method", ["newton", "anderson"])
def test_delta0_on_normal_nodes_is_ignored(method):
    # Delta is 0 in a normal metal and not an unknown there; a uniform delta0 (0.3 on every node, the N layer
    # too) used to stay in the residual at 3e-1 until ConvergenceError. Now the start is zeroed off the
    # superconducting nodes: the same solution as the default start, with Delta = 0 in N. Both stop at residual
    # 1e-10, which the slow mode of (1 - J) amplifies in Delta (measured 1.9e-11 Newton, 1.1e-9 Anderson): 1e-8.
    m = usadel.meshes.wire([("S", 1.0, 18), ("N", 1.0, 18)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()})
    ref = gap(dev, 0.5, omega_D=20.0, tol=1e-10)
    r = gap(dev, 0.5, omega_D=20.0, tol=1e-10, delta0=0.3 * np.ones(dev.topology.n_nodes), method=method,
            maxiter=30)
    assert np.max(np.abs(r.delta - ref.delta)) < 1e-8
    assert np.all(r.delta[dev.topology.p[0] > 1.0 + 1e-9] == 0.0)


# ---------------------------------------------------------------- clean contacts to superconducting reservoirs
RES_GAP, RES_PHASE, CONTACT_T, DEBYE = 0.5, 0.7, 0.3, 20.0


def s_contact_wire(n=40, order=1):
    """S wire of length 2 (Tc0 = 1), clean contact to an S reservoir (gap 0.5, phase 0.7) at x = 0, free at 2."""
    return usadel.Device(usadel.meshes.interval(2.0, n), {"wire": usadel.Material(tc=1.0)},
                         {"left": usadel.Reservoir(delta=RES_GAP, phase=RES_PHASE, T=CONTACT_T)}, order=order)


def regulated_local_gap(T, wd, dres, tc=1.0):
    """The local gap equation at a node whose pair amplitude is the reservoir's BCS f_res, with the Debye weight
    g(w) = wd^2/(w^2 + wd^2): Delta 2 pi Tc sum_n g/w_n(Tc) = 2 pi T sum_n g f_res(w_n) (1/(N0 lambda) eliminated
    by the same sum at Tc with Delta = 0). Both sums directly over 2e6 frequencies: remainders ~ wd^2/w_max^2 and
    wd^2 dres/w_max^2 ~ 1e-11 of the sums."""
    w = np.pi * T * (2 * np.arange(2_000_000) + 1)
    wc = np.pi * tc * (2 * np.arange(2_000_000) + 1)
    num = 2 * np.pi * T * np.sum(wd**2 / (w**2 + wd**2) * dres / np.sqrt(w**2 + dres**2))
    return num / (2 * np.pi * tc * np.sum(wd**2 / (wc**2 + wd**2) / wc))


def test_p1_clean_s_contact_carries_the_reservoir_gap_cutoff_free():
    # Cutoff-free, sum_n (Delta/w_n - f_res) converges only for Delta = Delta_res: the contact node carries the
    # reservoir's gap with its phase, to rounding (1e-14), at every cutoff. (Before, P1 summed f_res up to the
    # cutoff there and reported |Delta| 0.635, 0.613, 0.597 at cutoffs 30, 60, 120.) The rest of the solution is
    # the one of before to 2e-14 (measured against the previous code at cutoffs 30, 60, 120 on this wire, with
    # and without omega_D): the contact node's Delta does not act on it (next tests).
    res = RES_GAP * np.exp(1j * RES_PHASE)
    for cutoff in (30.0, 120.0):
        r = gap(s_contact_wire(), CONTACT_T, tol=1e-12, cutoff=cutoff)
        assert r.x[0, 0] == 0.0 and abs(r.delta[0] - res) < 1e-14


def test_p1_clean_s_contact_with_debye_regulator_is_the_regulated_local_solution():
    # With omega_D the gap equation is collocated at the contact with f_res and the exact tail
    # psi_N (Delta - Delta_res) + Delta_res nl(Delta_res): Delta there solves the regulated local equation
    # (regulated_local_gap, 0.6542228; equal to the digamma form sum/psi(omega_D/2 pi Tc0) to 3e-13) times the
    # reservoir's phase. Measured 4.7e-8, 9.1e-9, 6.0e-10 from it at cutoffs 30, 120, 240 (the local nonlinear
    # tail beyond w_N is the BCS asymptote with the regulator at w_N, an upper bound, as at order p): 1e-7; it
    # moves by 3.8e-8 from cutoff 30 to 120: 1e-7. (Before, the truncated sum gave 0.655768 at cutoff 60 and
    # 0.654896 at 120.) The same value as P3's contact dof (the same local equation with the same frequencies):
    # measured 2.3e-16 at cutoffs 30 to 240; 1e-12.
    exact = regulated_local_gap(CONTACT_T, DEBYE, RES_GAP) * np.exp(1j * RES_PHASE)
    got = [gap(s_contact_wire(), CONTACT_T, omega_D=DEBYE, tol=1e-12, cutoff=c).delta[0] for c in (30.0, 120.0)]
    assert max(abs(g - exact) for g in got) < 1e-7 and abs(got[0] - got[1]) < 1e-7
    p3 = gap(s_contact_wire(8, 3), CONTACT_T, omega_D=DEBYE, tol=1e-12, cutoff=30.0)
    assert p3.x[0, 0] == 0.0 and abs(p3.delta[0] - got[0]) < 1e-12


@pytest.mark.parametrize("omega_D", [None, DEBYE])
def test_p1_contact_node_does_not_act_on_the_map_and_jacobian_matches_it(omega_D):
    # G(Delta) off the contact does not depend on Delta at the contact (P1: the contact's spectral rows are
    # fixed and the lumped linear tail has no row there): measured 1.6e-16 of |G|; 1e-13 (rounding). J v against
    # central differences (step 1e-5: error ~1e-10), the local nonlinear tail's change (left out of J, as
    # everywhere) differenced separately; at the contact it is the reservoir's, constant. Measured 9.9e-12 and
    # 9.3e-12 relative (contact row 0 and 1.1e-12); 1e-7 relative, as at order p.
    from usadel.matsubara import GapMap

    prob = GapMap(s_contact_wire(12), 0.4, 60.0, None, omega_D)
    d = 0.8 * prob.initial_delta()
    g0, sp = prob.update(d)
    d2 = d.copy()
    d2[0] = 3.0 - 1.0j
    assert np.max(np.abs(prob.update(d2)[0][1:] - g0[1:])) < 1e-13 * np.max(np.abs(g0))
    prob.update(d)
    jv = prob.jacobian(d, sp)
    rng = np.random.default_rng(3)
    v = (rng.normal(size=d.size) + 1j * rng.normal(size=d.size)) * prob.sc
    k, eps = prob.sc, 1e-5

    def local(x):
        out = np.zeros(x.size, complex)
        out[k] = -x[k] * prob.nonlinear_tail(x[k]) / prob.lhs[k]
        out[0] = 0.0
        return out
    fd = (prob.update(d + eps * v)[0] - prob.update(d - eps * v)[0]) / (2 * eps) - v
    fd -= (local(d + eps * v) - local(d - eps * v)) / (2 * eps)
    assert np.max(np.abs(jv(v) - fd)) < 1e-7 * np.max(np.abs(fd))


def test_p1_solve_keeps_the_reservoir_gap_at_a_clean_s_contact():
    # usadel.solve runs the same map: cutoff-free the contact node is the reservoir's gap (rounding: 1e-14). (With
    # mu = +-0.1 at the two ends and tol 1e-11 the interior equals the former code's to 3e-13, measured.)
    from usadel.nonequilibrium import comoving_grid

    s = usadel.solve(s_contact_wire(20), CONTACT_T, energies=1.76 * comoving_grid(n=300))
    assert abs(s.delta[0] - RES_GAP * np.exp(1j * RES_PHASE)) < 1e-14
