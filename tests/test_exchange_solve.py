"""The nonequilibrium gap equation with an exchange field: gap(hL=...) and usadel.solve with spin-split spectra.

Each spin block s pairs with its own distribution a_s = hL + s hTS (usadel.nonequilibrium.delta_neq).
Checks: a spin accumulation mu in a uniform spin-split superconductor acts on the gap equation
like an extra field (f_s = f0(E - s mu) with N_s(E) = N(E + s h) is the equilibrium equation at
h + mu, by the shift E -> E + s h), against the closed-form Matsubara sum; a prescribed thermal hL
at T' gives the equilibrium gap at T'; solve() without bias is the equilibrium gap.
"""

import numpy as np
import pytest

import usadel
from usadel.bulk import reservoir_h
from usadel.nonequilibrium import delta_neq


def test_spin_accumulation_acts_as_an_extra_field_in_the_gap_equation():
    # delta_neq from the real axis (blocks at h = 0.2, distributions of a reservoir with mu_s = 0.1)
    # against 2 pi T Sum_n [f(h + mu) - f(h)] with the closed-form spin-averaged BCS amplitude
    # f(H) = Re Delta/sqrt((w + i H)^2 + Delta^2). The other sign (h - mu) differs by a factor 3.
    # Real-axis grid graded at the four gap/distribution edges, eta = 1e-8: measured 2.3e-4
    # relative (the trapezoid on the edge singularities), asked 1e-3.
    T, h, mu, D = 0.1, 0.2, 0.1, 1.0
    dev = usadel.Device(usadel.meshes.interval(1.0, 2), {"wire": usadel.Material(tc=1.0, h=h)}, {})
    E = usadel.observables.energy_grid([D - h, D + h, D - h - mu, D + h + mu], T=T, e_max=300.0, n=6000, mu=[mu])
    sp = usadel.spectral(dev, E, delta=D, eta=1e-8)
    hh = reservoir_h(usadel.Reservoir(T=T, mu_s=mu), E)
    n = dev.operators.n
    got = delta_neq(sp, np.repeat(hh[:, None, 0], n, 1), T, np.repeat(hh[:, None, 3], n, 1))[1].real
    w = 2 * np.pi * T * (np.arange(200000) + 0.5)

    def f(H):
        return np.mean([np.real(D / np.sqrt((w + 1j * s * H) ** 2 + D**2)) for s in (1, -1)], axis=0)

    ref = 2 * np.pi * T * np.sum(f(h + mu) - f(h))
    assert abs(got - ref) < 1e-3 * abs(ref)
    assert abs(2 * np.pi * T * np.sum(f(h - mu) - f(h)) - ref) > 0.5 * abs(ref)


def test_prescribed_thermal_distribution_gives_the_equilibrium_gap_at_its_temperature():
    # gap(T, hL = tanh(E/2T')) with h is the equilibrium equation at T' (the real-axis correction
    # replaces tanh(E/2T) by tanh(E/2T')): against usadel.gap at T' with the same field. The
    # co-moving grid's quadrature (3.6e-6 measured at h = 0 in test_gap.py) sets the tolerance: 1e-4.
    dev = usadel.Device(usadel.meshes.interval(1.0, 6), {"wire": usadel.Material(tc=1.0, h=0.3)})
    T, Tp = 0.2, 0.4
    r = usadel.gap(dev, T, hL=lambda E: np.tanh(E / (2 * Tp)))
    ref = usadel.gap(dev, Tp).delta[0].real
    assert abs(r.delta[0].real - ref) < 1e-4 * ref
    assert abs(usadel.gap(dev, T).delta[0].real - ref) > 1e-2  # the temperature matters


@pytest.mark.parametrize("tau_sf, tau_so", [(None, None), (10.0, 2.0)])
def test_solve_with_an_exchange_field_without_bias_is_the_equilibrium_gap(tau_sf, tau_so):
    # All reservoirs at T: hL = tanh and hTS = 0 everywhere, so solve() must return gap()'s answer
    # (1e-6, as at h = 0 in test_gap.py), with h in the S wire between normal reservoirs, with and
    # without spin relaxation (coupled blocks in spectra, gap and kinetics; measured 5.5e-8).
    from usadel.nonequilibrium import comoving_grid

    m = usadel.meshes.wire([("N1", 1.0, 10), ("S", 4.0, 40), ("N2", 1.0, 10)])
    S = usadel.Material(tc=1.0, h=0.2, tau_sf=tau_sf, tau_so=tau_so)
    dev = usadel.Device(m, {"N1": usadel.Material(), "S": S, "N2": usadel.Material()},
                        {"left": usadel.Reservoir(T=0.2), "right": usadel.Reservoir(T=0.2)})
    s = usadel.solve(dev, 0.2, energies=1.76 * comoving_grid(n=600))
    g = usadel.gap(dev, 0.2)
    assert np.max(np.abs(s.delta - g.delta)) < 1e-6
    assert abs(s.kinetic.current("left")) < 1e-10
