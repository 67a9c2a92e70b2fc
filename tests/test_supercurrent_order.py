"""Supercurrent on order 2-4 devices (Lagrange derivatives of the solution) and the Matsubara Newton start.

Long SNS junction of issue 16 (L = D = 1, reservoir gaps 100, T = 0.1): e R_N I = 10.003232 E_Th at
phase 0.63855 pi (usadel1, converged). P1 on 400 elements is 1.05e-5 above it, P3 on 8 / 12 / 24
elements 9.2e-6 / 1.0e-6 / 2e-8 below, P4 on 6 / 8 / 12 1.8e-6 / 1.6e-7 below / 2.7e-8 above
(measured; the reference has 7 digits).
"""

import logging

import numpy as np
import pytest

import usadel
from usadel import observables

IC_REF, PHASE_REF, T = 10.003232, 0.63855 * np.pi, 0.1


def sns(n, phase, order=1, barrier=None, h=0.0):
    contact = dict(delta=100.0, T=T, barrier=barrier)
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(h=h)},
                         {"left": usadel.Reservoir(phase=-phase / 2, **contact),
                          "right": usadel.Reservoir(phase=phase / 2, **contact)}, order=order)


@pytest.mark.parametrize("order, n, tol", [(3, 12, 2e-6), (3, 24, 1e-7), (2, 48, 3e-7), (4, 8, 3e-7)])
def test_lagrange_supercurrent_converges_to_the_long_junction_value(order, n, tol):
    I = observables.supercurrent(sns(n, PHASE_REF, order), T)
    assert abs(I - IC_REF) < tol * IC_REF


def test_p3_supercurrent_agrees_with_fine_p1_at_several_phases():
    # P1's error is second order (1.7e-4 at 100 elements, 1.05e-5 at 400): P3 on 16 elements agrees with
    # P1 on 400 to P1's error, the sign of the current and its zeros at 0 and pi included
    for ph in (0.2 * np.pi, 0.9 * np.pi):
        i3 = observables.supercurrent(sns(16, ph, 3), T)
        i1 = observables.supercurrent(sns(400, ph, 1), T)
        assert i3 > 0 and abs(i3 - i1) < 2e-5 * abs(i1)
    assert abs(observables.supercurrent(sns(8, np.pi, 3), T)) < 1e-9


def test_p3_supercurrent_with_barriers_and_exchange_field_agrees_with_p1():
    # tunnel contacts (Kupriyanov-Lukichev) and two spin blocks (the integrand is their average; a
    # pi junction here, I < 0). P1's h^2 error removed by Richardson extrapolation from 100 and 200
    # elements (measured: P1 100 / 200 / 400 are 2.0e-4 / 5.1e-5 / 1.3e-5 off P3 on 16 elements; the
    # extrapolation 3e-9, P3 on 8 elements 2e-10)
    bar = usadel.Barrier(r=2.0)
    i3 = observables.supercurrent(sns(16, np.pi / 2, 3, barrier=bar, h=5.0), T)
    i100, i200 = (observables.supercurrent(sns(n, np.pi / 2, 1, barrier=bar, h=5.0), T) for n in (100, 200))
    assert i3 < 0 and abs(i3 - (i200 + (i200 - i100) / 3)) < 1e-7 * abs(i3)
    i4 = observables.supercurrent(sns(8, np.pi / 2, 4, barrier=bar, h=5.0), T)  # P4 on 8: 4.1e-9 off P3 (measured)
    assert abs(i4 - i3) < 3e-8 * abs(i3)


@pytest.mark.parametrize("order, n", [(1, 100), (3, 8)])
@pytest.mark.parametrize("phase", [0.1 * np.pi, 0.63855 * np.pi, 0.99 * np.pi])
def test_direct_newton_on_the_matsubara_axis_is_the_homotopy_solution(order, n, phase):
    # The physical (retarded-continued) solution at i w is the end of the eta-homotopy, which follows the
    # Matsubara axis down from i (w + Omega). The direct start (local bulk guess; its off-branch energies
    # redone by the homotopy: P1 on 100 elements lands at |gamma| = 1.03 at the lowest frequency) must
    # give the same solution at every frequency of a low-T sum (T = 0.01: w from 0.031 to 200)
    w = np.pi * 0.01 * (2 * np.arange(64) + 1)
    w = np.r_[w, np.geomspace(w[-1], 200.0, 20)]
    dev = sns(n, phase, order)
    a = usadel.spectral(dev, 1j * w, eta=0.0, method="direct")
    b = usadel.spectral(dev, 1j * w, eta=0.0, method="homotopy")
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8 and np.max(np.abs(a.gamma_t - b.gamma_t)) < 1e-8


def test_direct_newton_on_the_matsubara_axis_with_exchange_field_and_barriers():
    w = np.pi * 0.02 * (2 * np.arange(32) + 1)
    dev = sns(60, np.pi / 2, 1, barrier=usadel.Barrier(r=0.5), h=10.0)
    a = usadel.spectral(dev, 1j * w, eta=0.0, method="direct")
    b = usadel.spectral(dev, 1j * w, eta=0.0, method="homotopy")
    for x, y in ((a.gamma, b.gamma), (a.gamma_t, b.gamma_t), (a.gamma_dn, b.gamma_dn), (a.gamma_t_dn, b.gamma_t_dn)):
        assert np.max(np.abs(x - y)) < 1e-8


def test_matsubara_check_redoes_every_frequency_by_the_homotopy(monkeypatch, caplog):
    # the safety net: a disagreement at the lowest frequency (forced by a negative tolerance) redoes the sum
    # by the homotopy, with a warning, and gives the same current
    dev = sns(8, PHASE_REF, 3)
    I = observables.supercurrent(dev, T)
    monkeypatch.setattr(observables, "MATSUBARA_CHECK_TOL", -1.0)
    with caplog.at_level(logging.WARNING, logger="usadel.observables"):
        I2 = observables.supercurrent(dev, T)
    assert "redone by the homotopy" in caplog.text
    assert abs(I2 - I) < 1e-9 * abs(I)
