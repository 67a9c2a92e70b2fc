"""Kinetic equations with an exchange field and spin relaxation (spin mixing; usadel.spin_relaxation).

Block s of the relaxation self-energy couples the spin blocks; the projected local terms are a
4x4 matrix R per energy and node on u = (a_+, b_+, b_-, a_-). Checks: the full 4x4 spin x Nambu
Keldysh algebra (built here with Pauli matrices, the normalisation of docs/derive_spinorbit.py)
gives the same matrix for unrelated spectra of the two blocks; h -> 0 reproduces the
spin-degenerate sinks of usadel.coefficients.MODES and the h = 0 kinetic solution; relaxation
conserves energy and charge at each energy; normal-state Valet-Fert decay with h; in a spin-split
superconductor the spin modes injected from a hot contact decay with the lengths the local
coefficients predict, and without relaxation one mode does not decay (Silaev et al., PRL 114,
167002 (2015)).
"""

import numpy as np
import pytest

import usadel
from usadel.spin_kinetics import BASIS, BASIS_INV
from usadel.spin_relaxation import relaxation_matrix

S1 = np.array([[0, 1], [1, 0]], complex)
S2 = np.array([[0, -1j], [1j, 0]])
S3 = np.diag([1.0, -1.0]).astype(complex)
I2 = np.eye(2, dtype=complex)


def _g(th, chi):
    c, s = np.cosh(th), np.sinh(th)
    return np.array([[c, s * np.exp(1j * chi)], [-s * np.exp(-1j * chi), -c]])


def full_4x4_sinks(g_up, g_dn, tau_sf, tau_so):
    """S (4x4 on (hL, hT, hLS, hTS)) from the full spin x Nambu algebra: -Tr(M_m [Sigma, G]^K)/8 per mode,
    G = P_+ x g_up + P_- x g_dn, h = hL + hT tau3 + hLS sigma3 tau3 + hTS sigma3 (local terms -2 S h)."""
    kron = np.kron
    P = [np.diag([1.0, 0.0]), np.diag([0.0, 1.0])]
    GR = kron(P[0], g_up) + kron(P[1], g_dn)
    T3 = kron(I2, S3)
    GA = -T3 @ GR.conj().T @ T3
    M = [np.eye(4), T3, kron(S3, I2) @ T3, kron(S3, I2)]
    spins = [kron(s, I2) for s in (S1, S2, S3)]

    def sigma(X):
        sf = sum(s @ T3 @ X @ T3 @ s for s in spins) / (8 * tau_sf)
        so = sum(s @ X @ s for s in spins) / (8 * tau_so)
        return sf + so

    out = np.zeros((4, 4))
    for k in range(4):
        GK = GR @ M[k] - M[k] @ GA
        C = sigma(GR) @ GK + sigma(GK) @ GA - GR @ sigma(GK) - GK @ sigma(GA)
        for m in range(4):
            out[m, k] = np.real(np.trace(M[m] @ (-C)) / 4) / -2.0
    return out


def test_block_relaxation_equals_the_full_spin_nambu_algebra():
    # Unrelated complex angles and phases for the two blocks (as a field and a phase gradient make
    # them): the block reduction of usadel.spin_relaxation must equal the 4x4 Pauli-matrix algebra
    # to rounding (1e-12), for spin flip and spin orbit separately and together; energy (hL) and
    # charge (hT) rows vanish: elastic spin relaxation conserves both at every energy.
    rng = np.random.default_rng(7)
    for _ in range(6):
        th = rng.normal(size=2) + 1j * rng.normal(size=2)
        chi = rng.normal(size=2)
        g = [_g(t, c) for t, c in zip(th, chi)]
        for tau_sf, tau_so in ((2.0, np.inf), (np.inf, 3.0), (1.5, 0.7)):
            a, b = 1 / (4 * tau_sf), 1 / (4 * tau_so)
            R = relaxation_matrix({1: g[0], -1: g[1]}, a, b)
            S = BASIS @ R @ BASIS_INV
            ref = full_4x4_sinks(g[0], g[1], tau_sf, tau_so)
            assert np.max(np.abs(S - ref)) < 1e-12 * max(1.0, np.max(np.abs(ref)))
            assert np.max(np.abs(S[:2])) < 1e-12 * max(1.0, np.max(np.abs(ref)))


def test_equal_blocks_give_the_spin_degenerate_sinks():
    # h = 0: the relaxation must be the MODES sinks aLSLS/tau_sf + DT/tau_so (hLS) and
    # aTSTS/tau_sf + DL/tau_so (hTS), nothing else (docs/derive_spinorbit.py), to rounding.
    th = 0.3 + 0.8j
    g = _g(th, 0.4)
    c, s = np.cosh(th), np.sinh(th)
    DL, DT = c.real**2 - s.real**2, c.real**2 + s.imag**2
    aLSLS, aTSTS = c.real**2 - s.imag**2, c.real**2 + s.real**2
    S = BASIS @ relaxation_matrix({1: g, -1: g}, 1 / 8, 1 / 20) @ BASIS_INV
    assert np.allclose(S, np.diag([0, 0, aLSLS / 2 + DT / 5, aTSTS / 2 + DL / 5]), atol=1e-13)


def _ns_device(h, n=(20, 40)):
    m = usadel.meshes.wire([("N", 1.0, n[0]), ("S", 2.0, n[1])])
    mats = {"N": usadel.Material(tau_sf=2.0, tau_so=3.0, h=h), "S": usadel.Material(tc=1.0, tau_sf=5.0, tau_so=1.0, h=h)}
    left = usadel.Reservoir(T=0.2, mu=0.3, mu_s=0.2, barrier=usadel.Barrier(r=2.0, polarization=0.5))
    return usadel.Device(m, mats, {"left": left, "right": usadel.Reservoir(T=0.1)})


def test_vanishing_field_reproduces_the_spin_degenerate_kinetics():
    # h = 1e-9 takes the spin-mixed path (coupled retarded blocks, 4x4 relaxation in the block basis);
    # h = 0 the spin-degenerate one (MODES sinks): the distributions must agree to O(h) plus the
    # two Newton tolerances (1e-10 on gamma): measured 9e-11, asked 1e-8.
    E = np.linspace(-3.0, 3.0, 61)
    k0 = usadel.kinetic(usadel.spectral(_ns_device(0.0), E, delta={"S": 1.0}))
    k1 = usadel.kinetic(usadel.spectral(_ns_device(1e-9), E, delta={"S": 1.0}))
    assert np.max(np.abs(k0.h - k1.h)) < 1e-8
    assert abs(k0.current("left") - k1.current("left")) < 1e-8 * abs(k0.current("left"))


def test_normal_ferromagnet_valet_fert_decay():
    # A normal wire with h: the spectra are trivial in both blocks (g = tau3), so the spin
    # accumulation injected by a clean contact with mu_s decays as cosh((L - x)/l_s)/cosh(L/l_s),
    # 1/l_s^2 = (1/tau_sf + 1/tau_so)/D, whatever h. P1 error O(dx^2/l_s^2) ~ 1e-4 at 100
    # elements; asked 2e-4 of mu_s.
    L, tsf, tso = 2.0, 1.5, 3.0
    dev = usadel.Device(usadel.meshes.interval(L, 100), {"wire": usadel.Material(h=0.7, tau_sf=tsf, tau_so=tso)},
                        {"left": usadel.Reservoir(T=0.1, mu_s=0.05)})
    E = np.linspace(-2.0, 2.0, 401)
    k = usadel.kinetic(usadel.spectral(dev, E))
    x = dev.topology.p[0]
    ls = 1 / np.sqrt(1 / tsf + 1 / tso)
    mu = k.spin_accumulation(states_only=False)
    ref = mu[np.argmin(x)] * np.cosh((L - x) / ls) / np.cosh(L / ls)
    assert np.max(np.abs(mu - ref)) < 2e-4 * abs(mu[np.argmin(x)])


@pytest.mark.parametrize("tau_sf, tau_so", [(5.0, None), (None, 2.0), (4.0, 6.0)])
def test_spin_split_superconductor_modes_decay_with_the_local_coefficients(tau_sf, tau_so):
    # Uniform spin-split S wire (Delta = 1, h = 0.3) between a hot, biased, polarised tunnel contact
    # (x = 0) and a cold one (x = L). In the middle the spectra are uniform, so the discrete kinetic
    # equations are D_u (u_{k+1} - 2 u_k + u_{k-1}) = dx^2 S_u u_k with D_u = diag(DL+, DT+, DT-, DL-)
    # and S_u the pairing sinks plus the relaxation R: for every eigenvalue lambda of D_u^-1 S_u the
    # projection y = w.u on its left eigenvector obeys y_{k+1} - 2 y_k + y_{k-1} = dx^2 lambda y_k
    # exactly, whatever the ends and the mixture of modes (decay length 1/sqrt(lambda)). Coefficients
    # from the blocks' own retarded functions at the middle node (local_coefficients and
    # relaxation_matrix). Left over: the spectra's nonuniformity ~exp(-L/(2 xi_E)) and the precision
    # of small modes; measured <= 6.4e-5 of lambda on every relaxing mode (lambda > 1e-4) carrying
    # more than 1e-5 of the nonequilibrium part, asked 2e-4. The slowest mode is the long-range one:
    # lambda = 7e-4 at E = 3 with spin-orbit scattering alone (decay length 38), 0.04 with spin flip.
    from usadel.coefficients import local_coefficients
    from usadel.spin_relaxation import nambu

    L, n, h = 16.0, 320, 0.3
    res = {"left": usadel.Reservoir(T=0.4, mu=0.05, barrier=usadel.Barrier(r=2.0, polarization=0.4)),
           "right": usadel.Reservoir(T=0.1, barrier=usadel.Barrier(r=2.0))}
    dev = usadel.Device(usadel.meshes.interval(L, n), {"wire": usadel.Material(tc=1.0, h=h, tau_sf=tau_sf, tau_so=tau_so)},
                        res)
    E = np.linspace(-4.0, 4.0, 161)
    sp = usadel.spectral(dev, E, delta=1.0)
    k = usadel.kinetic(sp)
    order = np.argsort(dev.topology.p[0])
    mid = order[n // 2 - 1:n // 2 + 2]  # three consecutive nodes at x = L/2
    dx = L / n
    u = k.h @ BASIS_INV.T  # (a_+, b_+, b_-, a_-)
    a = 0.0 if tau_sf is None else 1 / (4 * tau_sf)
    b = 0.0 if tau_so is None else 1 / (4 * tau_so)
    checked = []
    for e in (1.6, 2.2, 3.0):
        i = np.argmin(np.abs(E - e))
        blocks = [sp.block(s) for s in (1, -1)]
        co = [local_coefficients(bl.gamma[i, mid[1]], bl.gamma_t[i, mid[1]]) for bl in blocks]
        D = np.diag([co[0]["DL"], co[0]["DT"], co[1]["DT"], co[1]["DL"]])
        S = np.diag([0.0, 2 * co[0]["aTT"], 2 * co[1]["aTT"], 0.0])
        gR = {s: nambu(bl.G[i, mid[1]], bl.F[i, mid[1]], bl.Ft[i, mid[1]]) for s, bl in zip((1, -1), blocks)}
        S = S + relaxation_matrix(gR, a, b)
        lam, W = np.linalg.eig(np.linalg.solve(D, S).T)  # left eigenvectors of D^-1 S
        neq = np.max(np.abs(u[i] - u[i, order[-1]]))
        for lj, w in zip(lam, W.T):
            y = u[i, mid] @ w
            if abs(lj) < 1e-4 or abs(y[1]) < 1e-5 * neq:
                continue  # the conserved (energy) mode, or a mode too small to measure
            assert abs((y[2] - 2 * y[1] + y[0]) / (dx**2 * y[1]) / lj - 1) < 2e-4, (e, lj)
            checked.append(lj.real)
    assert len(checked) >= 8 and min(checked) < 0.05


def test_spin_mixed_kinetics_conserve_energy_and_round_trip_through_files(tmp_path):
    # Elastic spin relaxation conserves energy at every energy (its hL row vanishes) and charge
    # (hT row): with h and relaxation in N and S the energy current balances to rounding, and in a
    # normal device the charge current too (a fixed, non-self-consistent gap converts charge, as
    # at h = 0). The 4x4 relaxation is part of the saved result: currents equal after load.
    m = usadel.meshes.wire([("N", 1.0, 10), ("S", 2.0, 20)])
    mats = {"N": usadel.Material(tau_sf=2.0, h=0.2), "S": usadel.Material(tc=1.0, tau_sf=5.0, tau_so=1.0, h=0.2)}
    left = usadel.Reservoir(T=0.2, mu=0.3, barrier=usadel.Barrier(r=2.0, polarization=0.5))
    dev = usadel.Device(m, mats, {"left": left, "right": usadel.Reservoir(T=0.1)})
    E = np.linspace(-3.0, 3.0, 121)
    k = usadel.kinetic(usadel.spectral(dev, E, delta={"S": 1.0}))
    currents, net = k.current_balance(kind="energy")
    assert abs(net) < 1e-10 * abs(currents["left"])
    normal = usadel.kinetic(usadel.spectral(dev, E, delta={"S": 0.0}))
    for kind in ("charge", "energy"):
        currents, net = normal.current_balance(kind=kind)
        assert abs(net) < 1e-10 * abs(currents["left"])
    k.save(tmp_path / "k.h5")
    back = usadel.load(tmp_path / "k.h5")
    for kind in ("charge", "spin", "energy"):
        assert back.current("right", kind=kind) == k.current("right", kind=kind)
