"""Kinetic equations (seed Eqs. 4-7): normal-state laws, BCS spin mode, NIS, conservation."""

import numpy as np
import pytest

import usadel
from usadel import bcs
from usadel.bulk import fermi


def normal_wire(left, right, L=2.0, n=40, tau_sf=None, sigma=1.0):
    m = usadel.meshes.interval(L, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0, tau_sf=tau_sf, sigma=sigma)},
                         {"left": left, "right": right})


def test_ohms_law_and_linear_hT():
    # I = V/R_N with R_N = L/sigma. The trapezoid rule on dE = 1e-3 integrates the
    # difference of two Fermi functions to ~1e-9 here, so 1e-6 is a real check.
    V, L, sigma, T = 0.1, 2.0, 3.0, 0.1
    dev = normal_wire(usadel.Reservoir(T=T, mu=V / 2), usadel.Reservoir(T=T, mu=-V / 2), L=L, sigma=sigma)
    E = np.linspace(0, 3, 3001)
    k = usadel.kinetic(usadel.spectral(dev, E))
    assert abs(k.current("left") - V * sigma / L) < 1e-6 * V * sigma / L
    assert abs(k.current("right") + V * sigma / L) < 1e-6 * V * sigma / L
    # hT is linear in x at every energy
    x = k.spectral.x[:, 0]
    for i in (10, 50, 200):
        c = np.polyfit(x, k.hT[i], 1)
        assert np.max(np.abs(np.polyval(c, x) - k.hT[i])) < 1e-12


def test_wiedemann_franz():
    # Heat current of a normal wire at small dT: J = (pi^2/6) G (T_L^2 - T_R^2) exactly
    # for the elastic diffusive wire (Sommerfeld integral); 1e-5 covers the E grid.
    TL, TR, L = 0.11, 0.1, 1.0
    dev = normal_wire(usadel.Reservoir(T=TL), usadel.Reservoir(T=TR), L=L)
    E = np.linspace(0, 4, 4001)
    k = usadel.kinetic(usadel.spectral(dev, E))
    J = k.current("left", kind="energy")
    ref = np.pi**2 / 6 * (TL**2 - TR**2) / L
    assert abs(J - ref) < 1e-5 * ref


def test_normal_spin_diffusion_profile():
    # mu_s(x) = mu_s0 sinh((L - x)/l)/sinh(L/l), l = sqrt(D tau_sf) (textbook); P1 with
    # 400 elements: O(h^2) ~ 1e-5 relative.
    mus, L, tau = 0.01, 3.0, 1.0
    dev = normal_wire(usadel.Reservoir(T=0.05, mu_s=mus), usadel.Reservoir(T=0.05), L=L, n=400, tau_sf=tau)
    E = np.linspace(0, 1, 2001)
    k = usadel.kinetic(usadel.spectral(dev, E))
    x = k.spectral.x[:, 0]
    l = np.sqrt(tau)
    ref = mus * np.sinh((L - x) / l) / np.sinh(L / l)
    assert np.max(np.abs(k.spin_accumulation() - ref)) < 1e-4 * mus
    # spin current injected = mu_s0 sigma/l coth(L/l) (same prefactor convention as charge)
    Is = k.current("left", kind="spin")
    assert abs(Is - mus / l / np.tanh(L / l)) < 1e-3 * abs(Is)


def test_bcs_spin_mode_decay_length():
    # Seed: above the gap the spin mode decays with l_sf^S = l_sf sqrt((E^2-D^2)/(E^2+D^2)).
    # The formula assumes BCS spectra, i.e. weak spin flip: tau_sf = 100 gives pair
    # breaking Gamma = 3/(4 tau_sf) = 0.0075 Delta. (With tau_sf = 1, Gamma = 0.75 Delta
    # and the wire is far from BCS: the measured length was 1.9x the formula.)
    delta, tau, L = 1.0, 100.0, 60.0
    m = usadel.meshes.interval(L, 1500)
    res = dict(delta=delta, T=0.1)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0, tc=1.0, tau_sf=tau)},
                        {"left": usadel.Reservoir(mu_s=0.01, **res), "right": usadel.Reservoir(**res)})
    E = np.array([0.5, 1.2, 1.5, 2.0])
    # tolerance per energy: O(Gamma/(E - Delta)) pair-breaking corrections near the
    # edge (measured 1.9e-3 at E = 1.2), fit/mesh error ~1e-4 further up
    tol = {1.2: 5e-3, 1.5: 1e-3, 2.0: 1e-3}
    k = usadel.kinetic(usadel.spectral(dev, E, delta=delta, eta=1e-9))
    x = k.spectral.x[:, 0]
    for i, e in enumerate(E):
        if e < delta:
            continue
        lS = np.sqrt(tau) * np.sqrt((e**2 - delta**2) / (e**2 + delta**2))
        sel = (x > lS) & (x < 4 * lS)
        slope = np.polyfit(x[sel], np.log(np.abs(k.hTS[i, sel])), 1)[0]
        assert abs(-1 / slope - lS) < tol[e] * lS
    # below the gap no spin current flows (DL = 0 and aTSTS = 0)
    j = k.spectral_currents()[0, :, 3, 0]
    assert np.max(np.abs(j)) < 1e-10


@pytest.mark.parametrize("T", [0.05, 0.2, 0.4])
def test_nis_tunnel_current(T):
    # N reservoir at bias V behind a barrier R onto a short BCS wire held at
    # equilibrium by its S reservoir: I = (1/R) Int dE N_S(E) [f0(E - V) - f0(E)].
    # The wire (resistance 0.1) adds O(R_wire/R) = 1e-3 relative.
    delta, R, V = 1.0, 100.0, 1.2
    m = usadel.meshes.interval(0.1, 20)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0, tc=1.0)},
                        {"left": usadel.Reservoir(T=T, mu=V, barrier=usadel.Barrier(r=R)),
                         "right": usadel.Reservoir(delta=delta, T=T)})
    E = np.unique(np.r_[np.linspace(-6, 6, 6001), np.linspace(0.9, 1.1, 2001), -np.linspace(0.9, 1.1, 2001)])
    sp = usadel.spectral(dev, E, delta=delta, eta=1e-4)
    k = usadel.kinetic(sp)
    I = k.current("left")
    N = bcs.bcs_dos(E, delta, eta=1e-4)
    ref = np.trapezoid(N * (fermi(E - V, T) - fermi(E, T)), E) / R
    assert abs(I - ref) < 3e-3 * abs(ref)


def test_current_conserved_in_2d_device():
    # Charge and energy currents through tunnel contacts (the barrier fluxes
    # themselves, no averaging) sum to zero over a 2D cross: exact discrete
    # conservation up to round-off.
    import pathlib

    m = usadel.meshes.load(pathlib.Path(__file__).parents[1] / "meshes" / "cross_spin_valve.msh")
    N = usadel.Material(D=1.0)
    b = usadel.Barrier(r=0.5)
    dev = usadel.Device(m, {"S": N, "arm_inj": N, "arm_det": N},
                        {"left": usadel.Reservoir(T=0.1, mu=0.1, barrier=b),
                         "right": usadel.Reservoir(T=0.12, barrier=b),
                         "inj": usadel.Reservoir(T=0.1, mu=-0.05, barrier=b),
                         "det": usadel.Reservoir(T=0.08, mu=0.02, barrier=b)})
    E = np.linspace(0, 2, 201)
    k = usadel.kinetic(usadel.spectral(dev, E))
    for kind in ("charge", "energy"):
        I = [k.current(t, kind) for t in ("left", "right", "inj", "det")]
        assert abs(sum(I)) < 1e-8 * max(abs(i) for i in I)


def test_supercurrent_from_kinetic_equals_spectral():
    # Equilibrium SNS junction: hT = 0, hL = tanh(E/2T), so the charge current is the
    # Im(jE) hL term; it must equal the spectral (Matsubara) supercurrent at the same
    # phase. Real-axis grid and eta = 1e-4: ~1e-3 relative.
    from usadel.observables import supercurrent

    T, ph = 1.0, 1.3
    m = usadel.meshes.interval(1.0, 100)
    dev = usadel.Device(m, {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=50.0, phase=-ph / 2, T=T),
                         "right": usadel.Reservoir(delta=50.0, phase=ph / 2, T=T)})
    E = np.unique(np.r_[np.linspace(0, 10, 2001), np.linspace(10, 200, 1000)])
    k = usadel.kinetic(usadel.spectral(dev, E, eta=1e-4))
    # hT vanishes up to the O(h^2) error with which the element-wise jE satisfies
    # div jE = 0 (seed Eq. 9); measured 7e-5 at 100 elements
    assert np.max(np.abs(k.hT)) < 1e-3
    I_kin = k.current("left")
    I_spec = supercurrent(dev, T, tag="left")
    assert abs(I_kin - I_spec) < 2e-3 * abs(I_spec)


@pytest.mark.parametrize("P", [0.0, 0.3, -0.7])
def test_polarised_contact_normal_state_limit(P):
    # Normal-state limit of the spin-polarised KL condition: G_up/dn = G (1 +- P)/2, so
    # with no spin accumulation on the wire side the injected spin current is P times
    # the charge current, and the charge current is V/r regardless of P. The wire
    # (R = 0.01, drained by a normal reservoir) sets the accuracy: R_wire/r = 1e-4.
    V, r = 0.1, 100.0
    m = usadel.meshes.interval(0.01, 10)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                        {"left": usadel.Reservoir(T=0.05, mu=V, barrier=usadel.Barrier(r=r, polarization=P)),
                         "right": usadel.Reservoir(T=0.05)})
    E = np.linspace(0, 1, 1001)
    k = usadel.kinetic(usadel.spectral(dev, E))
    Ic, Is = k.current("left"), k.current("left", kind="spin")
    assert abs(Ic - V / r) < 1e-3 * V / r
    assert abs(Is - P * Ic) < 1e-3 * V / r


def test_series_resistance_of_clean_interface():
    # two normal segments with different sigma and D: R = L1/sigma1 + L2/sigma2
    m = usadel.meshes.wire([("A", 1.0, 20), ("B", 2.0, 20)])
    dev = usadel.Device(m, {"A": usadel.Material(D=1.0, sigma=2.0), "B": usadel.Material(D=5.0, sigma=0.5)},
                        {"left": usadel.Reservoir(T=0.1, mu=0.05), "right": usadel.Reservoir(T=0.1, mu=-0.05)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 3, 3001)))
    R = 1.0 / 2.0 + 2.0 / 0.5
    assert abs(k.current("left") - 0.1 / R) < 1e-6 * 0.1 / R


def test_prescribed_spin_battery_distribution():
    # The seed's spin battery: f_up - f_dn = P [f0(E - V/2) - f0(E + V/2)],
    # f_up + f_dn = f0(E - V/2) + f0(E + V/2). Its spin accumulation is
    # mu_s = -(1/2) Int hTS = P V/2 and it carries no charge potential.
    P, V, T = 0.4, 0.2, 0.02
    f0 = lambda e: fermi(e, T)
    bat = lambda E: (0.5 * (f0(E - V / 2) + f0(E + V / 2)) + 0.5 * P * (f0(E - V / 2) - f0(E + V / 2)),
                     0.5 * (f0(E - V / 2) + f0(E + V / 2)) - 0.5 * P * (f0(E - V / 2) - f0(E + V / 2)))
    m = usadel.meshes.interval(1.0, 50)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                        {"left": usadel.Reservoir(distribution=bat), "right": usadel.Reservoir(distribution=bat)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 1, 4001)))
    assert np.allclose(k.spin_accumulation(), P * V / 2, atol=1e-6 * V)
    assert np.allclose(k.charge_imbalance(), 0.0, atol=1e-9)


def test_subgap_results_converge_as_eta_to_zero():
    # Degenerate subgap equations (DL, aTSTS -> 0): the spin current injected into a
    # BCS wire through a tunnel contact converges as eta -> 0 (to the eta = 0 value
    # ~ 0 below the gap plus the above-gap part), changing by less than 1e-3 relative
    # between eta = 1e-6 and 1e-8.
    delta = 1.0
    m = usadel.meshes.interval(10.0, 400)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0, tc=1.0, tau_sf=50.0)},
                        {"left": usadel.Reservoir(T=0.3, mu_s=0.05, barrier=usadel.Barrier(r=1.0)),
                         "right": usadel.Reservoir(delta=delta, T=0.3)})
    E = np.unique(np.r_[np.linspace(0, 0.99, 100), np.linspace(1.01, 1.2, 200), np.linspace(1.2, 4, 300)])
    I = [usadel.kinetic(usadel.spectral(dev, E, delta=delta, eta=eta)).current("left", "spin") for eta in (1e-6, 1e-8)]
    assert abs(I[0] - I[1]) < 1e-3 * abs(I[1])


def test_current_through_interfaces():
    # Through a clean interface and a tunnel interface the charge current equals the
    # contact current (conservation); an insulating boundary carries none.
    for bar in (None, usadel.Barrier(r=0.7)):
        m = usadel.meshes.wire([("A", 1.0, 30), ("B", 1.0, 30)])
        inter = {} if bar is None else {("A", "B"): bar}
        dev = usadel.Device(m, {"A": usadel.Material(sigma=2.0), "B": usadel.Material(D=3.0)},
                            {"left": usadel.Reservoir(T=0.1, mu=0.05), "right": usadel.Reservoir(T=0.1, mu=-0.05)}, inter)
        k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 2, 2001)))
        I = k.current("left")
        R = 1 / 2.0 + 1.0 + (0 if bar is None else 0.7)
        assert abs(I - 0.1 / R) < 1e-6 * 0.1 / R
        assert abs(k.current(("A", "B")) - I) < 1e-8 * I
        assert abs(k.current(("B", "A")) + I) < 1e-8 * I


def test_polarised_interface_between_regions_normal_limit():
    # A spin-filter barrier (P) between two normal regions injects spin P times the
    # charge current when both sides are drained (short wires, r >> R_wire = 0.02).
    P, r, V = 0.5, 50.0, 0.1
    m = usadel.meshes.wire([("A", 0.01, 5), ("B", 0.01, 5)])
    dev = usadel.Device(m, {"A": usadel.Material(), "B": usadel.Material()},
                        {"left": usadel.Reservoir(T=0.05, mu=V), "right": usadel.Reservoir(T=0.05)},
                        {("A", "B"): usadel.Barrier(r=r, polarization=P)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 1, 1001)))
    Ic = k.current(("A", "B"))
    Is = k.current(("A", "B"), kind="spin")
    assert abs(Ic - V / r) < 1e-3 * V / r
    assert abs(Is - P * Ic) < 2e-3 * V / r
    assert abs(k.current("left") - Ic) < 1e-8 * Ic


def test_andreev_mirror_blocks_subgap_energy_current():
    # N wire between a hot normal reservoir and a clean S reservoir (Delta = 20 E_Th):
    # below the gap DL vanishes at the S contact and grows as (x/xi_E)^2 inside, so the
    # energy-mode resistance Int dx/DL diverges and no subgap energy (hL) current flows
    # (Andreev reflection). The discrete leak must be at the DL floor (1e-9 D per
    # element: 2 floor L/h = 4e-7 here), not O(h): a centroid DL leaked 0.4-19% at
    # n = 200. Above the gap the current is O(1) of the normal-state value.
    n = 200
    dev = usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(D=1.0)},
                        {"left": usadel.Reservoir(T=8.0), "right": usadel.Reservoir(delta=20.0, T=4.0)})
    E = np.array([2.0, 5.0, 10.0, 15.0, 19.0, 21.0, 25.0, 40.0])
    k = usadel.kinetic(usadel.spectral(dev, E, eta=1e-6))
    jL = k.spectral_currents()[..., 0, 0]  # (sigma/D) jL per element
    normal = np.abs(np.tanh(E / 16) - np.tanh(E / 8))  # normal wire of length 1
    rel = np.max(np.abs(jL), axis=1) / normal
    assert np.all(rel[E < 20] < 1e-6)
    assert np.all(rel[E > 20] > 0.9)
    assert np.all(np.ptp(jL, axis=1) < 1e-9 * normal)  # conserved along the wire at every energy


def test_current_balance_conserved_self_consistent_not_prescribed():
    # Charge conservation through all contacts: exact for a normal device (no gap to convert
    # current into supercurrent), and violated by a prescribed gap that is not
    # self-consistent, which current_balance() states.
    import pathlib

    m = usadel.meshes.load(pathlib.Path(__file__).parents[1] / "meshes" / "cross_spin_valve.msh")
    E = usadel.observables.energy_grid(1.0, T=0.1, e_max=6.0, mu=[0.1, 0.05], n=160)
    contacts = {"left": usadel.Reservoir(T=0.1, mu=0.1), "right": usadel.Reservoir(T=0.1),
                "inj": usadel.Reservoir(T=0.1, mu=-0.05), "det": usadel.Reservoir(T=0.1)}
    N = usadel.Material()
    normal = usadel.Device(m, {"S": N, "arm_inj": N, "arm_det": N}, contacts)
    I, total = usadel.kinetic(usadel.spectral(normal, E)).current_balance()
    assert set(I) == set(contacts) and abs(total) < 1e-6 * max(abs(v) for v in I.values())
    sc = usadel.Device(m, {"S": usadel.Material(tc=1.0), "arm_inj": N, "arm_det": N}, contacts)
    I, total = usadel.kinetic(usadel.spectral(sc, E, delta={"S": 0.5})).current_balance()
    assert abs(total) > 1e-2 * max(abs(v) for v in I.values())
