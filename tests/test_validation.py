"""Bad input raises a clear usadel exception before any work is done."""

import numpy as np
import pytest
import skfem

import usadel
from usadel import UsadelError


def wire():
    return usadel.meshes.wire([("S", 1.0, 5), ("N", 1.0, 5)])


MATS = {"S": usadel.Material(tc=1.0), "N": usadel.Material()}


@pytest.mark.parametrize("make, match", [
    (lambda: usadel.Material(D=-1.0), "D must be positive"),
    (lambda: usadel.Material(D=0.0), "D must be positive"),
    (lambda: usadel.Material(sigma=0.0), "sigma must be positive"),
    (lambda: usadel.Material(tc=-1.0), "tc must be >= 0"),
    (lambda: usadel.Material(tau_sf=0.0), "tau_sf must be positive"),
    (lambda: usadel.Material(D=float("nan")), "finite"),
    (lambda: usadel.Reservoir(T=0.0), "T must be positive"),
    (lambda: usadel.Reservoir(T=-0.1), "T must be positive"),
    (lambda: usadel.Reservoir(delta=-1.0), "delta must be >= 0"),
    (lambda: usadel.Barrier(r=0.0), "r must be positive"),
    (lambda: usadel.Barrier(r=1.0, polarization=1.5), r"polarization must lie in \[-1, 1\]"),
    (lambda: usadel.meshes.interval(-1.0, 10), "length must be positive"),
    (lambda: usadel.meshes.interval(1.0, 0), "positive integer"),
    (lambda: usadel.Device(wire(), {"S": MATS["S"]}), r"regions \['N'\] have no material"),
    (lambda: usadel.Device(wire(), {**MATS, "X": usadel.Material()}), "unknown region 'X'"),
    (lambda: usadel.Device(wire(), MATS, {"top": usadel.Reservoir()}), "unknown boundary tag 'top'"),
    (lambda: usadel.Device(wire(), MATS, interfaces={("S", "X"): usadel.Barrier()}), "unknown region 'X'"),
    (lambda: usadel.Device(wire(), {"S": 1.0, "N": MATS["N"]}), "must be a usadel.Material"),
    (lambda: usadel.Device(usadel.meshes.wire([("A", 1, 2), ("B", 1, 2), ("C", 1, 2)]),
                           {"A": usadel.Material(), "B": usadel.Material(), "C": usadel.Material()},
                           interfaces={("A", "C"): usadel.Barrier()}), "do not touch"),
])
def test_bad_input_raises(make, match):
    with pytest.raises(UsadelError, match=match):
        make()


def test_degenerate_cells_rejected():
    p = np.array([[0.0, 1.0, 0.0, 2.0], [0.0, 0.0, 1.0, 0.0]])
    t = np.array([[0, 1, 2], [1, 3, 2]]).T  # second triangle (1, 3, 2) is fine
    t = np.hstack([t, np.array([[0], [1], [3]])])  # collinear: zero area
    m = skfem.MeshTri(p, t).with_subdomains({"a": np.arange(3)})
    with pytest.raises(UsadelError, match="degenerate"):
        usadel.Device(m, {"a": usadel.Material()})


def test_spectral_input_checked_before_work():
    dev = usadel.Device(wire(), MATS, {"left": usadel.Reservoir(delta=1.0)})
    with pytest.raises(UsadelError, match="normal metal"):
        usadel.spectral(dev, [0.1], delta={"N": 1.0})
    with pytest.raises(UsadelError, match="non-finite"):
        usadel.spectral(dev, [0.1, np.nan], delta=1.0)
    with pytest.raises(UsadelError, match="eta"):
        usadel.spectral(dev, [0.1], delta=1.0, eta=-1.0)
    with pytest.raises(UsadelError, match="shape"):
        usadel.spectral(dev, [0.1], delta=np.ones(3))
    normal = usadel.Device(usadel.meshes.interval(1.0, 4), {"wire": usadel.Material()})
    with pytest.raises(UsadelError, match="no region is superconducting"):
        usadel.spectral(normal, [0.1], delta=1.0)
    with pytest.raises(UsadelError, match="Device"):
        usadel.spectral("not a device", [0.1])


def test_nonconvergence_raises_with_energies():
    # One Newton step is not enough from the homotopy start: must raise, not return.
    dev = usadel.Device(usadel.meshes.interval(1.0, 40), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=10.0), "right": usadel.Reservoir(delta=10.0)})
    with pytest.raises(usadel.ConvergenceError) as exc:
        usadel.spectral(dev, [0.5, 1.0], eta=1e-6, maxiter=1)
    assert exc.value.energies is not None and len(exc.value.energies) > 0
