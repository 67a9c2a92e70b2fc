"""The compiled P1 bulk rows (usadel.p1_kernels) against the numpy path of RetardedProblem._bulk."""

import numpy as np
import pytest

import usadel
from usadel import kernels
from usadel.retarded import RetardedProblem


def _devices():
    wire = usadel.Device(usadel.meshes.wire([("N", 1.0, 30), ("S", 1.0, 30)]),
                         {"N": usadel.Material(D=1.0, h=0.5, tau_sf=3.0), "S": usadel.Material(D=2.0, tc=1.5, sigma=2.0)},
                         contacts={"left": usadel.Reservoir(delta=3.0, phase=1.0), "right": usadel.Reservoir(delta=2.0)})
    strip = usadel.Device(usadel.meshes.strip(1.0, 0.25, 16, 4), {"wire": usadel.Material(D=1.0, tau_sf=5.0, tc=1.0)},
                          contacts={"left": usadel.Reservoir(delta=3.0, phase=1.0), "right": usadel.Reservoir(delta=2.0)})
    return {"wire": (wire, {"S": 2.0 * np.exp(0.3j), "N": 0.0}), "strip": (strip, 0.7)}


@pytest.mark.parametrize("name, spin", [("wire", 0), ("wire", 1), ("wire", -1), ("strip", 0)])
def test_bulk_equals_numpy(name, spin):
    """Residual and Jacobian blocks at random states (|gamma| ~ 1, complex energies), pairing, pair breaking,
    exchange field, two materials: equal to rounding (1e-14 relative: the same terms summed in another order)."""
    dev, delta = _devices()[name]
    prob = RetardedProblem(dev, delta, 1e-6, spin)
    assert prob.compiled is not None
    rng = np.random.default_rng(3)
    b, n = 5, prob.ops.n
    eps = rng.standard_normal(b) + 0.1j
    u = 0.5 * (rng.standard_normal((b, n, 2)) + 1j * rng.standard_normal((b, n, 2)))  # the state (gamma, gamma~)
    for jac in (True, False):
        fast = prob._bulk(eps, u, jac)
        compiled, prob.compiled = prob.compiled, None
        slow = prob._bulk(eps, u, jac)
        prob.compiled = compiled
        for a, b_ in zip(fast, slow):
            if b_ is None:
                assert a is None
                continue
            assert np.max(np.abs(a - b_)) <= 1e-14 * np.max(np.abs(b_))


def test_spectral_equals_numpy_path(monkeypatch):
    """The whole spectral solve with and without compiled kernels: the same converged solution (1e-11; the
    Newton iterates differ by rounding, the stopping rule is on updates below 1e-10)."""
    dev, delta = _devices()["wire"]
    E = np.linspace(0.0, 4.0, 33)
    sp1 = usadel.spectral(dev, E, delta=delta)
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    sp2 = usadel.spectral(dev, E, delta=delta)
    assert np.max(np.abs(sp1.gamma - sp2.gamma)) < 1e-11
    assert np.max(np.abs(sp1.gamma_dn - sp2.gamma_dn)) < 1e-11
