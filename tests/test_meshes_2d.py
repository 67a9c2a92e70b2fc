"""Shipped meshes, 2D solves, and P1 convergence."""

import pathlib

import numpy as np
import pytest

import usadel

MESHES = pathlib.Path(__file__).parents[1] / "meshes"


@pytest.mark.parametrize("name, regions, tags", [
    ("sns_2d.msh", {"S_left", "N", "S_right"}, {"left", "right"}),
    ("cross_spin_valve.msh", {"S", "arm_inj", "arm_det"}, {"left", "right", "inj", "det"}),
    ("seed_fig1.msh", {"N", "S"}, {"battery", "reservoir", "detector"}),
])
def test_shipped_mesh_tags(name, regions, tags):
    m = usadel.meshes.load(MESHES / name)
    assert set(m.subdomains) == regions
    assert set(m.boundaries) == tags
    assert all(len(v) > 0 for v in m.boundaries.values())


def strip_device(nx, ny, delta=50.0, phase=1.0, width=0.1):
    m = usadel.meshes.strip(1.0, width, nx, ny)
    return usadel.Device(m, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                          "right": usadel.Reservoir(delta=delta, phase=phase / 2)})


def wire_device(n, delta=50.0, phase=1.0):
    m = usadel.meshes.interval(1.0, n)
    return usadel.Device(m, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                          "right": usadel.Reservoir(delta=delta, phase=phase / 2)})


E_CHECK = np.array([0.5, 2.0, 4.0, 8.0])


def centre_value(dev, E=E_CHECK):
    sp = usadel.spectral(dev, E, eta=1e-6)
    pt = [[0.5]] if dev.dim == 1 else [[0.5, 0.05]]
    return sp.at(pt, sp.G)[:, 0]


def observed_order(values):
    """Convergence order from three successive halvings (Richardson)."""
    a, b, c = values
    return np.log2(np.max(np.abs(a - b)) / np.max(np.abs(b - c)))


def test_p1_convergence_order_1d():
    # n = 25 is pre-asymptotic at E = 4 (measured orders 2.000 from n = 50 on)
    vals = [centre_value(wire_device(n)) for n in (50, 100, 200)]
    assert 1.8 < observed_order(vals) < 2.3


def test_p1_convergence_order_2d():
    vals = [centre_value(strip_device(nx, 2)) for nx in (20, 40, 80)]
    assert 1.8 < observed_order(vals) < 2.3


def test_2d_strip_reproduces_1d():
    # Same physics; the two discretisations differ by O(h^2). With h = 1/160
    # both are within ~1e-4 of the converged G at the centre.
    ref = centre_value(wire_device(640))
    g2 = centre_value(strip_device(160, 2))
    assert np.max(np.abs(g2 - ref)) < 2e-4
    # and the supercurrent (volume-weighted flux) agrees as well
    from usadel.observables import supercurrent

    I1 = supercurrent(wire_device(160), T=0.5)
    I2 = supercurrent(strip_device(160, 2), T=0.5) / 0.1  # per unit width
    assert abs(I2 - I1) < 1e-3 * abs(I1)


def test_2d_sns_junction_has_minigap_and_symmetry():
    m = usadel.meshes.load(MESHES / "sns_2d.msh")
    S = usadel.Material(D=1.0, tc=1.0)
    dev = usadel.Device(m, {"S_left": S, "S_right": S, "N": usadel.Material(D=1.0)},
                        {"left": usadel.Reservoir(delta=20.0), "right": usadel.Reservoir(delta=20.0)})
    sp = usadel.spectral(dev, [0.5, 1.0, 20.5], delta=20.0, eta=1e-6)
    N = sp.at([[0.5, 0.1], [0.25, 0.1], [0.75, 0.1]])
    # deep in the minigap at the centre, DOS ~ 0 (up to discretisation)
    assert abs(N[0, 0]) < 1e-2
    # mirror symmetry x -> 1 - x of the geometry
    assert abs(N[2, 1] - N[2, 2]) < 1e-2 * N[2, 1]


def test_locate_finds_the_same_element_as_the_exhaustive_search(monkeypatch):
    # the k-d tree candidates must give exactly the element of the exhaustive search (the most-inside
    # element, first on ties), for points inside elements, at nodes and on facet midpoints, also when
    # the exhaustive search runs in small blocks
    import usadel.fem as F

    m = usadel.meshes.cross(2.0, 0.4, n_width=4)
    dev = usadel.Device(m, {"cross": usadel.Material()})
    top, ops = dev.topology, dev.operators
    rng = np.random.default_rng(3)
    e = rng.integers(0, top.t.shape[1], 400)
    pts = np.einsum("pi,dip->pd", rng.dirichlet([1, 1, 1], e.size), top.p[:, top.t[:, e]])
    pts = np.vstack([pts, top.p.T[:60], (top.p[:, top.t[0, :60]] + top.p[:, top.t[1, :60]]).T / 2])
    rel = pts[:, None, :] - top.p[:, top.t[0]].T[None, :, :]
    lam = np.einsum("eid,ped->pei", ops.grad[:, 1:, :], rel)
    bary = np.concatenate([1.0 - lam.sum(-1, keepdims=True), lam], axis=-1)
    ref = np.argmax(np.min(bary, axis=-1), axis=1)
    monkeypatch.setattr(F, "LOCATE_BLOCK", 5 * top.t.shape[1])
    el, w = F.locate(dev, pts)
    assert np.array_equal(el, ref) and np.array_equal(w, bary[np.arange(len(pts)), ref].T)
    with pytest.raises(usadel.UsadelError, match="outside the mesh"):
        F.locate(dev, np.array([[10.0, 10.0]]))
