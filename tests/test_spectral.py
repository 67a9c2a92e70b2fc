"""Spectral solver (seed Eqs. 9-10): homogeneous limits, symmetries, tunnel interfaces."""

import numpy as np
import pytest

import usadel
from usadel import bcs
from conftest import sns_device


def uniform_wire(n=20, tau_sf=None, contacts=None, length=1.0):
    m = usadel.meshes.interval(length, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0, tc=1.0, tau_sf=tau_sf)}, contacts or {})


def test_bcs_limit_matches_closed_form():
    # A wire with the same gap as its BCS reservoirs must be bulk BCS everywhere.
    # Away from the gap edge (|E - Delta| > 0.05) the Dynes error of eta = 1e-9 is
    # < eta*Delta/|E^2 - Delta^2|^(3/2) ~ 1e-7, so 1e-6 tests the solver, not eta.
    delta = 1.3
    res = usadel.Reservoir(delta=delta)
    dev = uniform_wire(contacts={"left": res, "right": res})
    E = np.r_[np.linspace(0, delta - 0.05, 15), np.linspace(delta + 0.05, 5 * delta, 15)]
    sp = usadel.spectral(dev, E, delta=delta, eta=1e-9)
    c, s = bcs.bcs_green(E, delta)
    assert np.max(np.abs(sp.dos() - np.real(c)[:, None])) < 1e-6
    assert np.max(np.abs(np.sinh(sp.theta) - s[:, None])) < 1e-6
    # below the gap Im sinh th = Delta/sqrt(Delta^2 - E^2); above, sinh th < 0 and real
    below = E < delta
    assert np.allclose(np.imag(sp.F[below, 5]), delta / np.sqrt(delta**2 - E[below] ** 2), atol=1e-6)
    assert np.all(np.real(sp.F[~below, 5]) < 0)


def test_abrikosov_gorkov_dos_and_spectral_gap():
    # Spin flip is AG pair breaking with Gamma = 3/(4 tau_sf) (docs/conventions.md). An
    # insulated uniform wire with spin flip must give Maki's DOS (reference solved
    # independently in the th form); 1e-6 is far above both Newton tolerances.
    delta, tau_sf = 1.0, 2.5
    gam = 3 / (4 * tau_sf)
    dev = uniform_wire(tau_sf=tau_sf)
    E = np.linspace(0, 3, 61)
    sp = usadel.spectral(dev, E, delta=delta, eta=1e-10)
    ref = bcs.ag_dos(E, delta, gam, eta=1e-10)
    assert np.max(np.abs(sp.dos() - ref[:, None])) < 1e-6
    # spectral gap Delta (1 - zeta^(2/3))^(3/2): DOS vanishes 0.1% below it and
    # is finite (sqrt onset, ~0.04 here) 0.1% above it
    eg = bcs.ag_spectral_gap(delta, gam)
    sp = usadel.spectral(dev, [eg * (1 - 1e-3), eg * (1 + 1e-3)], delta=delta, eta=1e-12)
    assert sp.dos()[0, 0] < 1e-6
    assert sp.dos()[1, 0] > 1e-2


def test_gapless_abrikosov_gorkov():
    # zeta > 1: gapless, finite DOS at E = 0 equal to Maki's value
    delta, gam = 1.0, 1.2
    dev = uniform_wire(tau_sf=3 / (4 * gam))
    sp = usadel.spectral(dev, [0.0, 0.3], delta=delta, eta=1e-10)
    ref = bcs.ag_dos([0.0, 0.3], delta, gam, eta=1e-10)
    assert ref[0] > 0.1
    assert np.allclose(sp.dos()[:, 3], ref, atol=1e-6)


def test_symmetry_theta_minus_energy():
    # th*(-E) = -th(E) and chi*(-E) = chi(E), checked on a phase-biased junction
    # solved independently at +E and -E (symmetric=False), i.e. in Riccati
    # variables gamma(-E) = conj(gamma~(E)).
    dev = sns_device(delta=20.0, phase=1.1, n=60)
    E = np.array([0.5, 2.0, 7.0, 25.0])
    sp = usadel.spectral(dev, np.r_[E, -E], eta=1e-6, symmetric=False)
    g, gt = sp.gamma[:4], sp.gamma_t[:4]
    gm, gtm = sp.gamma[4:], sp.gamma_t[4:]
    assert np.max(np.abs(gm - np.conj(gt))) < 1e-9
    assert np.max(np.abs(gtm - np.conj(g))) < 1e-9
    th, thm = sp.theta[:4], sp.theta[4:]
    assert np.max(np.abs(np.conj(thm) + th)) < 1e-8
    # and the default symmetric=True path returns the same numbers
    sp2 = usadel.spectral(dev, np.r_[E, -E], eta=1e-6)
    assert np.max(np.abs(sp2.gamma - sp.gamma)) < 1e-9


def test_phase_pi_is_regular():
    # At phase pi the symmetric SNS junction has no pair amplitude at its centre, so
    # N(L/2, E) = 1 at every energy; the th-chi form is singular there, Riccati is not.
    dev = sns_device(delta=50.0, phase=np.pi, n=100)
    sp = usadel.spectral(dev, np.linspace(0, 10, 21), eta=1e-8)
    mid = np.argmin(np.abs(sp.x[:, 0] - 0.5))
    assert np.max(np.abs(sp.dos()[:, mid] - 1.0)) < 1e-9


def _stacked(r):
    m = usadel.meshes.wire([("S", 1.0, 40), ("N", 1.0, 40)])
    inter = {} if r is None else {("S", "N"): usadel.Barrier(r=r)}
    return usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()},
                         {"left": usadel.Reservoir(delta=1.0)}, inter)


def test_tunnel_interface_limits():
    E = np.array([0.2, 0.6, 1.5])
    clean = usadel.spectral(_stacked(None), E, delta=1.0, eta=1e-6)
    xn = 1.75
    ref = clean.at([[xn]])
    errs = []
    for r in (1e-2, 1e-3, 1e-4):
        sp = usadel.spectral(_stacked(r), E, delta=1.0, eta=1e-6)
        errs.append(np.max(np.abs(sp.at([[xn]]) - ref)))
    # r -> 0: approaches the clean interface linearly in r
    assert errs[-1] < 1e-3
    assert errs[0] / errs[1] > 5 and errs[1] / errs[2] > 5
    # r -> infinity: the N side decouples and becomes normal (N = 1, F = 0)
    sp = usadel.spectral(_stacked(1e8), E, delta=1.0, eta=1e-6)
    assert np.max(np.abs(sp.at([[xn]]) - 1.0)) < 1e-6
    assert np.max(np.abs(sp.at([[xn]], np.abs(sp.F)))) < 1e-6


def test_clean_interface_different_sigma_and_D_conserves_supercurrent():
    # sigma-weighted flux continuity at a clean interface: in an S-N1-N2-S junction
    # with different D and sigma the spectral supercurrent sigma Re (g grad g)_11 is the
    # same in every element (seed Eq. 9, div jE = 0), up to O(h^2).
    m = usadel.meshes.wire([("A", 0.5, 100), ("B", 0.5, 100)])
    dev = usadel.Device(m, {"A": usadel.Material(D=1.0, sigma=1.0), "B": usadel.Material(D=3.0, sigma=0.2)},
                        {"left": usadel.Reservoir(delta=30.0, phase=-0.6), "right": usadel.Reservoir(delta=30.0, phase=0.6)})
    # E = 0.5, 2 lie in the minigap (current ~ eta); 5, 8, 15 above it. Spread relative
    # to the largest spectral current: measured <= 2.3e-4 (mesh error, 200 elements)
    sp = usadel.spectral(dev, [0.5, 2.0, 5.0, 8.0, 15.0], eta=1e-6)
    j = dev.operators.sigma_e * np.real(sp.matrix_current()[..., 0])
    spread = (j.max(axis=1) - j.min(axis=1)) / np.abs(j).max()
    assert np.all(spread < 1e-3)
    # and the interface is where D changes: the solution kinks there (not a removable node)
    x = sp.x[:, 0]
    assert np.isclose(x, 0.5).sum() == 1


def test_energy_grid_integrates_bcs_tunnel_current():
    # The helper grid (graded at the gap edges, thermal windows at the bias) integrates
    # a gap-edge-singular NIS integrand without hand tuning; reference: 1.2e6 points
    # with geometric refinement at the edges. Measured errors 1.5e-3 (n = 400) and
    # 4e-4 (n = 800): converging roughly as 1/n^2.
    from usadel.observables import energy_grid
    from usadel.bulk import fermi

    delta, T, V = 1.0, 0.1, 1.3
    f = lambda E: bcs.bcs_dos(E, delta, eta=1e-3) * (fermi(E - V, T) - fermi(E, T))
    edge = np.geomspace(1e-9, 0.5, 100000)
    Ef = np.unique(np.r_[np.linspace(-8, 8, 400001), 1 + edge, 1 - edge, -1 + edge, -1 - edge])
    ref = np.trapezoid(f(Ef), Ef)
    errs = []
    for n in (400, 800):
        Eg = energy_grid(delta, T=T, e_max=8.0, n=n, mu=[V])
        Eg = np.r_[-Eg[::-1], Eg[Eg > 0]]
        errs.append(abs(np.trapezoid(f(Eg), Eg) - ref) / abs(ref))
    assert errs[1] < 1e-3
    assert errs[1] < errs[0] / 2.5
