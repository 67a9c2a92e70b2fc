"""SFS junctions with opaque barriers: the supercurrent follows the linearised (tunnel) sum."""

import numpy as np
from scipy.optimize import brentq

import usadel

H, D, T, DELTA = 20.0, 1.0, 0.1, 1.0
XI = np.sqrt(D / H)  # xi_F


def current(y, r):
    """Matsubara supercurrent at phase pi/2 through S-I-F(length y xi_F)-I-S, barriers r."""
    dev = usadel.Device(usadel.meshes.interval(y * XI, max(60, int(40 * y))), {"wire": usadel.Material(D=D, h=H)},
                        {"left": usadel.Reservoir(delta=DELTA, phase=-np.pi / 4, barrier=usadel.Barrier(r=r)),
                         "right": usadel.Reservoir(delta=DELTA, phase=np.pi / 4, barrier=usadel.Barrier(r=r))})
    return usadel.observables.supercurrent(dev, T=T)


def tunnel_sum(y):
    """Sum_{w_n > 0} F_S^2 Re Sum_sigma 1/(k_sigma sinh(k_sigma d)), k_sigma = sqrt(2 (w + i sigma h)/D).

    The linearised Usadel equation in F between two tunnel barriers (each spin block
    separately, F_S = Delta/sqrt(w^2 + Delta^2) the reservoirs' pair amplitude); 20000
    terms: the rest decays as e^{-d sqrt(w/D)}, far below 1e-12 here.
    """
    w = np.pi * T * (2 * np.arange(20000) + 1)
    k = [np.sqrt(2 * (w + 1j * s * H) / D) for s in (1, -1)]
    return np.sum(DELTA**2 / (w**2 + DELTA**2) * sum(np.real(1 / (ks * np.sinh(ks * y * XI))) for ks in k))


def test_opaque_sfs_supercurrent_follows_the_tunnel_sum():
    # The FEM current (Kupriyanov-Lukichev barriers, full nonlinear equations) against the
    # tunnel-limit shape, one fitted prefactor: the deviation is O(1/r) (terms of higher
    # order in the barrier transparency). Measured, relative to max|I|: 3.2e-2 at r = 50,
    # 8.0e-3 at r = 200 (worst at y = 0.5, next to the first node); the 0-pi nodes at
    # d/xi_F = 0.5417 and 4.0903 of the sum are found at 0.5545/4.0927 (r = 50) and
    # 0.5449/4.0909 (r = 200). Tolerances: 1.2e-2 of max|I| and 5e-3 xi_F at r = 200, and the
    # deviation must shrink at least 3x from r = 50 to 200 (4x for O(1/r)).
    ys = np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0])
    S = np.array([tunnel_sum(y) for y in ys])
    dev = {}
    for r in (50.0, 200.0):
        I = np.array([current(y, r) for y in ys])
        c = np.sum(I * S) / np.sum(S * S)
        dev[r] = np.max(np.abs(I - c * S)) / np.max(np.abs(I))
    assert dev[200.0] < 1.2e-2 and dev[50.0] > 3 * dev[200.0]
    for lo, hi in ((0.5, 1.0), (4.0, 5.0)):
        node = brentq(lambda y: current(y, 200.0), lo, hi, xtol=1e-4)
        assert abs(node - brentq(tunnel_sum, lo, hi, xtol=1e-10)) < 5e-3


def test_sf_bilayer_tc_is_non_monotonic_in_the_ferromagnet_thickness():
    # S (1.2 = 3 xi_S) / barrier r = 0.3 / F (h = 10 Tc0, xi_F = 0.316): the pair amplitude
    # oscillates in F, so Tc(d_F) has a minimum near d_F ~ xi_F below the thick-F plateau
    # (Fominov, Chtchelkatchev, Golubov, PRB 66, 014507 (2002)); benchmarks/sf_bilayer_tc.py
    # measured 0.60755 at 0.95 xi_F against the plateau 0.61874 (0.6187 already at 3 xi_F), a
    # dip of 0.011 Tc0, while doubling the mesh moves Tc by 8e-5: margins of 5e-3 are safe.
    def tc(d_f):
        m = usadel.meshes.wire([("S", 1.2, 48), ("F", d_f, max(4, int(40 * d_f)))])
        dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(h=10.0)},
                            interfaces={("S", "F"): usadel.Barrier(r=0.3)})
        return usadel.critical_temperature(dev)

    xi = np.sqrt(0.1)
    thin, dip, thick = tc(0.3 * xi), tc(0.95 * xi), tc(3.0 * xi)
    assert thin > dip + 5e-3 and thick > dip + 5e-3
