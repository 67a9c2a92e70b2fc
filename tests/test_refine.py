"""Adaptive energy grids for real-axis supercurrents (usadel.observables.refine_energies)."""

import numpy as np
import pytest

import usadel


def long_sns(n, phi=0.64 * np.pi, T=0.1, delta=100.0):
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=delta, phase=-phi / 2, T=T),
                          "right": usadel.Reservoir(delta=delta, phase=phi / 2, T=T)})


def test_refined_grid_converges_the_real_axis_supercurrent():
    # Long SNS junction (E_Th = 1, reservoir gaps 100, T = 0.1, near the critical phase).
    # The fixed energy_grid of 200 energies is 2% off the Matsubara value (its grid check
    # raises); the refined grid's trapezoid of the element-averaged integrand matches the
    # Matsubara sum on the same mesh to its rtol (measured 4e-5 at rtol 1e-4 with 670
    # energies, 7e-6 at rtol 1e-5 with 2100), and the
    # kinetic route to O(h^2) of the mesh, which resolves the reservoirs' gap edges poorly
    # (measured 6.8e-4, 1.6e-4, 4.5e-5 at 100, 200, 400 elements): 2.5e-4 at 200.
    from usadel.coefficients import matrix_current

    T, dev = 0.1, long_sns(200)
    I_m = usadel.observables.supercurrent(dev, T)
    E0 = usadel.observables.energy_grid(100.0, T=T, e_th=1.0, n=200)
    with pytest.raises(usadel.UsadelError, match="energy grid"):
        usadel.kinetic(usadel.spectral(dev, E0)).current("left")
    E = usadel.observables.refine_energies(dev, E0, T, rtol=1e-4)
    assert np.all(np.isin(E0, E)) and E.size < 1000
    sp = usadel.spectral(dev, E)
    m11 = np.mean(np.real(matrix_current(dev.operators, sp.gamma, sp.gamma_t)[..., 0]), axis=1)
    assert abs(np.trapezoid(m11 * np.tanh(E / (2 * T)), E) - I_m) < 1e-4 * I_m
    assert abs(usadel.kinetic(sp).current("left") - I_m) < 2.5e-4 * I_m


def test_refine_energies_checks_its_arguments():
    dev = long_sns(10)
    for kw, match in (({"energies": [0.0, 1.0]}, "at least 3"), ({"energies": [-1.0, 0.0, 1.0]}, ">= 0"),
                      ({"T": 0.0}, "T"), ({"rtol": 0.0}, "rtol"), ({"max_energies": 2}, "max_energies")):
        args = {"energies": np.linspace(0, 5, 11), "T": 0.1, **kw}
        with pytest.raises(usadel.UsadelError, match=match):
            usadel.observables.refine_energies(dev, **args)
    with pytest.raises(usadel.UsadelError, match="max_energies"):
        usadel.observables.refine_energies(dev, np.linspace(0, 50, 11), 0.1, rtol=1e-8, max_energies=12)
