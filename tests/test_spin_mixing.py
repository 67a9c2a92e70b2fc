"""Exchange field with spin-flip and spin-orbit scattering: the coupled spin blocks of the retarded equations.

Convention (docs/conventions.md, Exchange fields and spin relaxation): spin sigma sees E + sigma h;
block sigma's self-energy is (a/2) tau3 g_s tau3 + a tau3 g_-s tau3 + b g_-s with a = 1/(4 tau_sf),
b = 1/(4 tau_so); the spin-degenerate pair-breaking rate is Gamma = 3 a. For a uniform
superconductor these are the Maki equations with spin-orbit parameter b_MT = b / Delta, i.e.
tau_so^MT = (4/3) tau_so in Meservey and Tedrow's b_MT = hbar / (3 tau_so^MT Delta).
"""

import numpy as np
import pytest

import usadel
from usadel import bcs

DELTA = 1.0
ETA = 1e-6


def wire(n=4, contacts=None, **mat):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tc=1.0, **mat)}, contacts or {})


def _maki_rows(p, eps, h, a, b, delta=DELTA):
    """Maki equations written in angles u_s = cos p_s (u/sqrt(1 - u^2) = cot p: no branch cuts)."""
    rows = []
    for ps, po, s in ((p[0], p[1], 1), (p[1], p[0], -1)):
        cs, co, so = np.cos(ps), np.cos(po), np.sin(po)
        rows.append(cs - (eps + s * h) / delta - (a / delta) * (cs / np.sin(ps) + (cs + co) / so)
                    - (b / delta) * (co - cs) / so)
    return np.array(rows)


def maki_dos(E, h, tau_sf, tau_so):
    """(N_up, N_dn) of a uniform superconductor from the Maki equations (Meservey and Tedrow, Phys. Rep.
    238, 173 (1994), Eq. 2.13 form), solved here independently of the package:

        u_s = (E + s h)/Delta + (a/Delta) [u_s/sqrt(1 - u_s^2) + (u_s + u_-s)/sqrt(1 - u_-s^2)]
              + (b/Delta) (u_-s - u_s)/sqrt(1 - u_-s^2),   N_s = Re u_s/sqrt(u_s^2 - 1),

    by complex Newton, each energy followed from E + 5 i down to E + i eta (retarded branch)."""
    a, b = 1.0 / (4.0 * tau_sf), 1.0 / (4.0 * tau_so)
    out = []
    for e in E:
        p = None
        for om in list(np.geomspace(5.0, 1e-7, 120)) + [0.0]:
            eps = e + 1j * (ETA + om)
            p = np.arccos(np.array([(eps + h) / DELTA, (eps - h) / DELTA])) if p is None else p
            for _ in range(100):
                F = _maki_rows(p, eps, h, a, b)
                J = np.column_stack([(_maki_rows(p + d, eps, h, a, b) - _maki_rows(p - d, eps, h, a, b)) / 2e-7
                                     for d in np.eye(2) * 1e-7])
                step = np.linalg.solve(J, -F)
                lam = 1.0
                while lam > 1e-3 and np.max(np.abs(_maki_rows(p + lam * step, eps, h, a, b))) > np.max(np.abs(F)):
                    lam /= 2
                p = p + lam * step
                if np.max(np.abs(step)) < 1e-14:
                    break
        assert np.max(np.abs(_maki_rows(p, eps, h, a, b))) < 1e-12
        out.append((-1j / np.tan(p)).real)
    return np.array(out)


@pytest.mark.parametrize("tau_sf, tau_so", [(20.0, 2.0), (5.0, None), (None, 1.0)])
def test_uniform_spin_split_superconductor_obeys_the_maki_equations(tau_sf, tau_so):
    # A uniform wire with no contacts is the homogeneous problem: the FEM rows are the local
    # equations exactly (no gradients), so only Newton's tolerance (1e-10 on gamma) and the
    # reference's rounding remain: measured 1e-10 at most over 81 energies through both gap
    # edges; 1e-8 leaves room for the edges' conditioning.
    h = 0.4
    E = np.linspace(0.0, 2.5, 81)
    sp = usadel.spectral(wire(h=h, tau_sf=tau_sf, tau_so=tau_so), E, delta=DELTA, eta=ETA)
    ref = maki_dos(E, h, np.inf if tau_sf is None else tau_sf, np.inf if tau_so is None else tau_so)
    assert np.max(np.abs(sp.dos(spin=1)[:, 2] - ref[:, 0])) < 1e-8
    assert np.max(np.abs(sp.dos(spin=-1)[:, 2] - ref[:, 1])) < 1e-8
    assert np.allclose(sp.dos()[:, 2], ref.mean(axis=1), atol=1e-8)


def test_vanishing_field_gives_abrikosov_gorkov_and_spin_orbit_drops_out():
    # h = 1e-9: spin split (both blocks solved together), but the blocks are equal to O(h):
    # same-block rate a plus the cross-block rate 2a must give Gamma = 3 a = 3/(4 tau_sf) (AG),
    # and spin-orbit scattering must do nothing. O(h) = 1e-9 differences allowed.
    E = np.linspace(0.0, 2.0, 41)
    tau_sf = 4.0
    sp = usadel.spectral(wire(h=1e-9, tau_sf=tau_sf, tau_so=0.3), E, delta=DELTA, eta=ETA)
    ag = bcs.ag_dos(E, DELTA, 3.0 / (4.0 * tau_sf), eta=ETA)
    for s in (1, -1):
        assert np.max(np.abs(sp.dos(spin=s)[:, 2] - ag)) < 1e-7
    plain = usadel.spectral(wire(tau_sf=tau_sf), E, delta=DELTA, eta=ETA)
    assert np.max(np.abs(sp.dos()[:, 2] - plain.dos()[:, 2])) < 1e-7


def _bilayer(tau_sf=None, tau_so=None, n=(12, 18)):
    m = usadel.meshes.wire([("S", 1.0, n[0]), ("F", 1.5, n[1])])
    mats = {"S": usadel.Material(tc=1.0, tau_so=tau_so), "F": usadel.Material(D=0.7, sigma=1.5, h=0.6, tau_sf=tau_sf)}
    return usadel.Device(m, mats, {"left": usadel.Reservoir(delta=1.764, T=0.1)})


def test_long_relaxation_times_reproduce_the_independent_blocks():
    # tau = 1e12 couples the blocks at rates ~1e-13: the S/F bilayer must equal the uncoupled
    # solution (two separate spin-block solves) to that order, at every node and energy.
    E = np.linspace(-3.0, 3.0, 31)
    ref = usadel.spectral(_bilayer(), E, delta={"S": 1.764})
    mixed = usadel.spectral(_bilayer(tau_sf=1e12, tau_so=1e12), E, delta={"S": 1.764})
    for s in (1, -1):
        assert np.max(np.abs(mixed.dos(spin=s) - ref.dos(spin=s))) < 1e-9


def test_negative_energies_map_onto_the_other_spin_block():
    # gamma_s(-E) = gamma~_-s(E)^*: solving -E directly must agree with the symmetric map
    # (Newton tolerance 1e-10 on gamma; 1e-8 on the DOS).
    E = np.array([-2.2, -1.1, -0.45, 0.3, 0.9, 1.7])
    dev = _bilayer(tau_sf=3.0, tau_so=2.0)
    a = usadel.spectral(dev, E, delta={"S": 1.764})
    b = usadel.spectral(dev, E, delta={"S": 1.764}, symmetric=False)
    for s in (1, -1):
        assert np.max(np.abs(a.dos(spin=s) - b.dos(spin=s))) < 1e-8
    assert np.all(a.dos(spin=1) > -1e-12) and np.all(a.dos(spin=-1) > -1e-12)


def test_spin_flip_in_the_ferromagnet_converges_with_the_mesh_and_mixes_the_spins():
    # No closed form: the DOS at the F end must converge at the P1 rate (error ~ dx^2: halving
    # dx quarters the change), and spin flip must pull N_up and N_dn together (relaxation).
    E = np.linspace(0.05, 2.5, 25)
    dos = [usadel.spectral(_bilayer(tau_sf=0.5, n=(6 * k, 9 * k)), E, delta={"S": 1.764}) for k in (1, 2, 4)]
    end = [(d.dos(spin=1)[:, -1], d.dos(spin=-1)[:, -1]) for d in dos]
    d1 = max(np.max(np.abs(end[1][s] - end[0][s])) for s in (0, 1))
    d2 = max(np.max(np.abs(end[2][s] - end[1][s])) for s in (0, 1))
    assert 3.0 < d1 / d2 < 5.0, (d1, d2)
    free = usadel.spectral(_bilayer(n=(24, 36)), E, delta={"S": 1.764})
    split_free = np.max(np.abs(free.dos(spin=1)[:, -1] - free.dos(spin=-1)[:, -1]))
    split_mixed = np.max(np.abs(end[2][0] - end[2][1]))
    assert split_mixed < 0.8 * split_free, (split_mixed, split_free)


def maki_matsubara_f(w, h, a, b, delta):
    """Spin-averaged F(i w_n) of the uniform Maki equations at E = i w (vectorised over w): on the
    Matsubara axis Newton from the BCS value of each block converges without a homotopy."""
    p = np.arccos(np.array([(1j * w + h) / delta, (1j * w - h) / delta]))
    for _ in range(100):
        F = _maki_rows(p, 1j * w, h, a, b, delta)
        J = np.empty((2, 2) + w.shape, complex)
        for k in range(2):
            d = np.zeros_like(p)
            d[k] = 1e-7
            J[:, k] = (_maki_rows(p + d, 1j * w, h, a, b, delta) - _maki_rows(p - d, 1j * w, h, a, b, delta)) / 2e-7
        det = J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]
        step = -np.array([J[1, 1] * F[0] - J[0, 1] * F[1], J[0, 0] * F[1] - J[1, 0] * F[0]]) / det
        p = p + step
        if np.max(np.abs(step)) < 1e-14:
            break
    assert np.max(np.abs(_maki_rows(p, 1j * w, h, a, b, delta)) / (1 + w / delta)) < 1e-12
    return np.mean(1.0 / np.sin(p), axis=0).real


def homogeneous_gap(T, h, tau_sf, tau_so, n=40000):
    """Delta of the uniform Maki equations: ln(1/T) = 2 pi T sum_{n<N} (1/w_n - F_n/Delta) + linear tail,
    the tail from the linear amplitude 1/(w + 3a + h^2/(w + a + 2b)) as digamma functions (its
    nonlinear remainder ~ Delta^2/(4 w_N^2) ~ 1e-9 at N = 40000)."""
    from scipy.optimize import brentq
    from scipy.special import digamma

    a, b = 1.0 / (4.0 * tau_sf), 1.0 / (4.0 * tau_so)
    M = a - b
    w = 2 * np.pi * T * (np.arange(n) + 0.5)
    kap = np.sqrt(complex(M * M - h * h))
    x, k = (3 * a - M) / (2 * np.pi * T), kap / (2 * np.pi * T)
    tail = np.real((kap - M) / (2 * kap) * digamma(n + 0.5 + x - k) + (kap + M) / (2 * kap) * digamma(n + 0.5 + x + k)) \
        - digamma(n + 0.5)
    return brentq(lambda d: np.log(1 / T) - 2 * np.pi * T * np.sum(1 / w - maki_matsubara_f(w, h, a, b, d) / d) - tail,
                  1e-3, 2.0, xtol=1e-13)


@pytest.mark.parametrize("T, h, tau_sf, tau_so", [(0.2, 0.5, 10.0, 2.0), (0.1, 0.3, 5.0, np.inf)])
def test_uniform_gap_with_spin_mixing_against_the_maki_equations(T, h, tau_sf, tau_so):
    # usadel.gap (Matsubara axis, coupled blocks, tail with the field's linear share) against the
    # uniform Maki equations solved self-consistently here. Cutoff 240 and tol 1e-12 make the map's
    # own tail error ~1e-9 (as at h = 0, tests/test_exchange_gap.py); measured 6e-9 and 1.1e-8,
    # asked 3e-8. The field and relaxation both matter at this tolerance (checked).
    dev = wire(n=2, h=h, tau_sf=tau_sf, tau_so=tau_so)
    d = usadel.gap(dev, T=T, cutoff=240.0, tol=1e-12).delta
    ref = homogeneous_gap(T, h, tau_sf, tau_so)
    assert np.max(np.abs(d - ref)) < 3e-8
    assert abs(homogeneous_gap(T, h, 1e12, 1e12) - ref) > 1e-5


@pytest.mark.parametrize("h, tau_sf, tau_so", [(0.3, 10.0, 2.0), (0.5, None, 1.0), (0.4, 5.0, None)])
def test_critical_temperature_with_spin_mixing(h, tau_sf, tau_so):
    # The linear amplitude of the uniform Maki equations (Delta = 1e-7) is 1/(w + 3a + h^2/(w + a + 2b))
    # (1e-10; measured 1e-13), and Tc from critical_temperature's mode sums (partial fractions into
    # digamma functions) equals the root of ln(1/T) = sum_n 2 pi T (1/w_n - that amplitude) summed
    # directly over 2e6 frequencies (remainder 3a/w_max ~ 1e-9): measured 4e-12, asked 1e-8.
    from scipy.optimize import brentq

    a = 0.0 if tau_sf is None else 1 / (4 * tau_sf)
    b = 0.0 if tau_so is None else 1 / (4 * tau_so)
    w = np.geomspace(0.05, 50.0, 7)
    lin = 1 / (w + 3 * a + h * h / (w + a + 2 * b))
    assert np.max(np.abs(maki_matsubara_f(w, h, a, b, 1e-7) / 1e-7 / lin - 1)) < 1e-10

    def growth(T, n=2_000_000):
        wn = 2 * np.pi * T * (np.arange(n) + 0.5)
        return np.log(1 / T) - 2 * np.pi * T * np.sum(1 / wn - 1 / (wn + 3 * a + h * h / (wn + a + 2 * b))) \
            - 3 * a / (2 * np.pi * T * n)

    tc = usadel.critical_temperature(wire(h=h, tau_sf=tau_sf, tau_so=tau_so), rtol=1e-10)
    assert abs(tc - brentq(growth, 0.05, 0.999, xtol=1e-12)) < 1e-8


def test_gap_jacobian_with_spin_mixing():
    # S/F bilayer, h and tau_sf in F, tau_so in S: the Newton-Krylov Jacobian-vector product through
    # the coupled blocks against central differences of the map; it omits only the local nonlinear
    # tail (~1e-4 relative, as at h = 0), so 5e-4 catches a wrong coupling (O(1) in F). Newton and
    # Anderson reach the same gap.
    from conftest import gap_jacobian_check

    m = usadel.meshes.wire([("S", 3.0, 30), ("F", 1.0, 20)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0, tau_so=2.0),
                            "F": usadel.Material(D=0.7, sigma=1.5, h=1.5, tau_sf=0.5)})
    err, scale, _ = gap_jacobian_check(dev)
    assert err < 5e-4 * scale
    a = usadel.gap(dev, T=0.2, tol=1e-10)
    b = usadel.gap(dev, T=0.2, tol=1e-10, method="anderson")
    assert np.max(np.abs(a.delta - b.delta)) < 1e-8


@pytest.mark.slow  # three gap loops at 1e-12 (16 s)
def test_critical_temperature_with_spin_mixing_that_varies_in_space():
    # Spin mixing that differs between regions: the dense mode-space correction of usadel.exchange_tc
    # with the two blocks' linear systems, spin average (P + 4 Ht (P - 4 Mt)^-1 Ht)^-1. (1) Two regions
    # with tau_sf and tau_sf (1 + 1e-12) take that path and must give the closed form of one region
    # (1e-8). (2) S/F bilayer, h and spin flip in F only: Tc against the nonlinear gap loop (coupled
    # blocks), Delta^2 at 0.1-0.4% below Tc extrapolated to zero (1e-6 relative, as without mixing in
    # tests/test_exchange_gap.py); the spin flip changes Tc visibly (here it lowers it: 0.41 -> 0.38).
    m = usadel.meshes.wire([("A", 1.0, 5), ("B", 1.0, 5)])
    one = usadel.critical_temperature(wire(n=10, h=0.4, tau_sf=8.0, tau_so=3.0), rtol=1e-10)
    two = usadel.Device(m, {"A": usadel.Material(tc=1.0, h=0.4, tau_sf=8.0, tau_so=3.0),
                            "B": usadel.Material(tc=1.0, h=0.4, tau_sf=8.0 * (1 + 1e-12), tau_so=3.0)})
    assert abs(usadel.critical_temperature(two, rtol=1e-10) - one) < 1e-8
    m = usadel.meshes.wire([("S", 1.0, 20), ("F", 0.1, 8)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(h=10.0, tau_sf=0.5)})
    tc = usadel.critical_temperature(dev, rtol=1e-12)
    plain = usadel.critical_temperature(usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(h=10.0)}))
    assert abs(tc - plain) > 0.01
    T = tc * (1 - np.array([0.004, 0.002, 0.001]))
    d2 = [np.max(np.abs(usadel.gap(dev, T=t, tol=1e-12).delta)) ** 2 for t in T]
    roots = np.roots(np.polyfit(T, d2, 2))
    assert np.min(np.abs(roots - tc)) < 1e-6 * tc


def test_what_is_not_built_for_spin_mixing_is_refused_before_any_work():
    dev = usadel.Device(usadel.meshes.interval(1.0, 4), {"wire": usadel.Material(tc=1.0, h=0.3, tau_sf=5.0)},
                        {"left": usadel.Reservoir(delta=1.0, h=0.2)})
    with pytest.raises(usadel.UsadelError, match="critical_temperature: spin mixing .* spin-split reservoirs"):
        usadel.critical_temperature(dev)


def test_sfs_supercurrent_with_spin_relaxation():
    # observables.supercurrent sums the Matsubara spectra, which spectral solves with coupled blocks:
    # tau = 1e12 must give the uncoupled current (rates ~1e-13; 1e-8 relative), and spin flip in F,
    # pair breaking, must lower |I| (here by a large factor: tau_sf = 0.05 against E_Th = 1).
    from usadel.observables import supercurrent

    def current(**tau):
        dev = usadel.Device(usadel.meshes.interval(1.0, 40), {"wire": usadel.Material(h=4.0, **tau)},
                            {"left": usadel.Reservoir(delta=50.0, phase=-0.65, T=1.0),
                             "right": usadel.Reservoir(delta=50.0, phase=0.65, T=1.0)})
        return supercurrent(dev, 1.0, tag="left")

    free = current()
    assert abs(current(tau_sf=1e12, tau_so=1e12) - free) < 1e-8 * abs(free)
    assert abs(current(tau_sf=0.05)) < 0.5 * abs(free)


def test_energy_sweep_solves_the_coupled_blocks_as_the_homotopy_does():
    # method="sweep" continues the four-unknown state along the energy axis; it must agree with the
    # homotopy to the Newton tolerance (1e-10 on gamma; 1e-8 asked, measured 5e-15).
    dev = _bilayer(tau_sf=3.0, tau_so=2.0)
    E = np.linspace(0.0, 3.0, 120)
    a = usadel.spectral(dev, E, delta={"S": 1.764})
    b = usadel.spectral(dev, E, delta={"S": 1.764}, method="sweep")
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8 and np.max(np.abs(a.gamma_dn - b.gamma_dn)) < 1e-8
