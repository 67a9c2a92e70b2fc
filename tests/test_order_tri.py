"""P2 triangles (Device(2D mesh, order=2), usadel.highorder_tri) against converged 1D solutions.

A strip with contacts on its short sides is translation invariant across its width, so its exact
2D solution is the 1D wire's; the references are P3 on 64 elements (usadel.highorder, below 1e-8 of
the limit by the rates of tests/test_order.py). The meshes have square cells (y resolved as finely
as x): a mesh one cell wide would test nothing about 2D.
"""

import pickle

import numpy as np
import pytest
import skfem

import usadel

E = np.array([0.5, 2.0, 3.1, 5.0, 10.0])


def contacts(phase, barrier=None):
    return {"left": usadel.Reservoir(delta=100.0, phase=-phase / 2, barrier=barrier),
            "right": usadel.Reservoir(delta=100.0, phase=phase / 2, barrier=barrier)}


def halves(m):
    """The mesh with regions "a" (x < 1/2) and "b" instead of its own."""
    return skfem.MeshTri(m.p, m.t).with_subdomains({"a": lambda x: x[0] < 0.5, "b": lambda x: x[0] > 0.5}) \
        .with_boundaries(dict(m.boundaries))


def strip(nx, mats=None, phase=np.pi / 2, barrier=None, order=2):
    m = usadel.meshes.strip(1.0, 0.25, nx, nx // 4)
    if mats is not None:
        m = halves(m)
    return usadel.Device(m, mats or {"wire": usadel.Material()}, contacts(phase, barrier), order=order)


def centre_dos(dev, **kw):
    sp = usadel.spectral(dev, E, **kw)
    p = dev.topology.p
    i = np.argmin((p[0] - 0.5) ** 2 + (p[1] - 0.125) ** 2)
    assert np.hypot(p[0, i] - 0.5, p[1, i] - 0.125) < 1e-12  # a vertex of the coarse mesh
    return sp.dos()[:, i]


def wire_dos(segments, phase=np.pi / 2, barrier=None):
    dev = usadel.Device(usadel.meshes.wire([s[:3] for s in segments]), {s[0]: s[3] for s in segments},
                        contacts(phase, barrier), order=3)
    sp = usadel.spectral(dev, E)
    i = np.argmin(np.abs(dev.topology.p[0] - 0.5))
    return sp.dos()[:, i]


@pytest.mark.parametrize("phase, barrier, tol", [(np.pi / 2, None, 1e-4), (0.0, usadel.Barrier(r=0.3), 1e-5)])
def test_p2_strip_converges_to_the_wire(phase, barrier, tol):
    # clean contacts at phase pi/2 (minigap ~2) and tunnel contacts (Simpson weights on the facets):
    # the centre vertex converges like h^4 (vertex superconvergence; measured 7.7e-4, 2.3e-5, 1.4e-6
    # clean and 3.4e-5, 2.1e-6, 1.3e-7 tunnel for 8, 16, 32 cells along); tolerances: 16 cells, with
    # 4x margin over the measured error, and a rate of at least h^3
    ref = wire_dos([("wire", 1.0, 64, usadel.Material())], phase, barrier)
    e8 = np.max(np.abs(centre_dos(strip(8, phase=phase, barrier=barrier)) - ref))
    e16 = np.max(np.abs(centre_dos(strip(16, phase=phase, barrier=barrier)) - ref))
    assert e16 < tol
    assert e8 / e16 > 8.0


def test_p2_regions_with_different_materials_meet_cleanly():
    # a clean interface at x = 1/2 between D = 1, sigma = 1 and D = 0.5, sigma = 2: flux sigma grad gamma
    # continuous, nothing else (the same weak form as P1); against the 1D two-region wire (measured 5.4e-4,
    # 2.4e-5, 1.5e-6 for 8, 16, 32 cells along: tolerance 4x the 16-cell error)
    a, b = usadel.Material(), usadel.Material(D=0.5, sigma=2.0)
    ref = wire_dos([("a", 0.5, 32, a), ("b", 0.5, 32, b)])
    assert np.max(np.abs(centre_dos(strip(16, {"a": a, "b": b})) - ref)) < 1e-4


def test_p2_sweep_equals_the_homotopy_and_pickles():
    dev = strip(8)
    Es = np.linspace(0.05, 10.0, 60)
    sw, hom = usadel.spectral(dev, Es), usadel.spectral(dev, Es, method="homotopy")
    assert np.max(np.abs(sw.gamma - hom.gamma)) < 1e-8 and np.max(np.abs(sw.dos() - hom.dos())) < 1e-8
    again = pickle.loads(pickle.dumps(dev))
    assert np.array_equal(usadel.spectral(again, Es[:5]).gamma, usadel.spectral(dev, Es[:5]).gamma)


def test_p2_superconducting_strip_is_bcs_and_a_node_array_gap_is_the_scalar_one():
    # a superconducting strip between reservoirs of its own gap: uniform BCS everywhere (to rounding);
    # the gap given per node of the order-2 device (the P2 dofs) gives the same solution as the scalar
    m = usadel.meshes.strip(1.0, 0.25, 8, 2)
    res = {"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir(delta=1.0)}
    dev = usadel.Device(m, {"wire": usadel.Material(tc=1.0)}, res, order=2)
    Es = np.array([0.3, 0.9, 1.1, 2.0])
    sp = usadel.spectral(dev, Es, delta=1.0, eta=1e-3)
    bcs = np.real((Es + 1e-3j) / np.sqrt((Es + 1e-3j) ** 2 - 1.0))
    assert np.max(np.abs(sp.dos() - bcs[:, None])) < 1e-9
    arr = usadel.spectral(dev, Es, delta=np.ones(dev.topology.n_nodes), eta=1e-3)
    assert np.max(np.abs(arr.gamma - sp.gamma)) < 1e-12


def test_p2_normal_strip_obeys_ohm_through_the_kinetic_equations():
    # downstream of the spectral solve everything runs on the refined mesh's P1 operators (measured 4.4e-5;
    # tolerance: the energy integral's accuracy, as tests/test_properties.py)
    m = usadel.meshes.strip(2.0, 0.5, 8, 2)
    dev = usadel.Device(m, {"wire": usadel.Material(sigma=3.0)},
                        {"left": usadel.Reservoir(T=0.1, mu=0.5), "right": usadel.Reservoir(T=0.1, mu=-0.5)}, order=2)
    k = usadel.kinetic(usadel.spectral(dev, usadel.observables.energy_grid(T=0.1, e_max=5.0, mu=[0.5], n=200)))
    assert k.current("left") == pytest.approx(1.0 / (2.0 / (3.0 * 0.5)), rel=2e-3)


def test_p2_refusals_are_clear():
    m = halves(usadel.meshes.strip(1.0, 0.25, 8, 2))
    mats = {"a": usadel.Material(), "b": usadel.Material()}
    with pytest.raises(usadel.UsadelError, match="tunnel interfaces between regions"):
        usadel.Device(m, mats, interfaces={("a", "b"): usadel.Barrier(r=1.0)}, order=2)
    dev = usadel.Device(m, {"a": usadel.Material(tc=1.0), "b": usadel.Material(tc=1.0)},
                        {"left": usadel.Reservoir(delta=1.0, T=0.1)}, order=2)
    with pytest.raises(usadel.UsadelError, match="gap: the device has Lagrange order 2"):
        usadel.gap(dev, T=0.1)


def test_p2_results_save_load_and_solve_again_bit_for_bit(tmp_path):
    # the file stores the coarse mesh and the order; loading rebuilds the same dof numbering (the
    # refined mesh is made canonical, whatever the element node order of the mesh it came from)
    from usadel.io import load, save

    dev = strip(8)
    Es = np.linspace(0.0, 5.0, 12)
    sp = usadel.spectral(dev, Es)
    save(sp, tmp_path / "p2.h5")
    back = load(tmp_path / "p2.h5")
    assert back.device.order == 2 and np.array_equal(back.gamma, sp.gamma)
    assert np.array_equal(usadel.spectral(back.device, Es).gamma, sp.gamma)


def test_p2_exchange_field_spin_blocks_follow_the_wire():
    # a ferromagnetic strip (h = 3) between a spin-split and a plain superconducting reservoir at phase 1:
    # each spin block E -> E + s h against the 1D P3 wire (measured 3.1e-5 and 2.4e-5 on 16 x 4 cells)
    Es = np.array([0.5, 2.0, 5.0])
    res = {"left": usadel.Reservoir(delta=10.0, h=1.0), "right": usadel.Reservoir(delta=10.0, phase=1.0)}
    mat = {"wire": usadel.Material(h=3.0)}
    d1 = usadel.Device(usadel.meshes.interval(1.0, 64), mat, res, order=3)
    s1 = usadel.spectral(d1, Es)
    i1 = np.argmin(np.abs(d1.topology.p[0] - 0.5))
    d2 = usadel.Device(usadel.meshes.strip(1.0, 0.25, 16, 4), mat, res, order=2)
    s2 = usadel.spectral(d2, Es)
    p = d2.topology.p
    i2 = np.argmin((p[0] - 0.5) ** 2 + (p[1] - 0.125) ** 2)
    for s in (1, -1):
        assert np.max(np.abs(s1.dos(spin=s)[:, i1] - s2.dos(spin=s)[:, i2])) < 1e-4


def test_p2_supercurrent_is_the_wire_current_times_the_width():
    # Matsubara supercurrent of the SNS strip (phase difference 2, T = 0.1) from the P2 solution and its
    # gradients at the quadrature points (usadel.highorder_tri.current_flux): the 1D P3 wire's current
    # times the width 0.25 (measured 2.3e-5 on 8 x 2 cells, 6.5e-6 on 16 x 4; P1 on 64 x 16: 4.6e-4)
    res = {"left": usadel.Reservoir(delta=100.0, phase=-1.0), "right": usadel.Reservoir(delta=100.0, phase=1.0)}
    d1 = usadel.Device(usadel.meshes.interval(1.0, 12), {"wire": usadel.Material()}, res, order=3)
    d2 = usadel.Device(usadel.meshes.strip(1.0, 0.25, 8, 2), {"wire": usadel.Material()}, res, order=2)
    i1 = usadel.observables.supercurrent(d1, 0.1)
    assert usadel.observables.supercurrent(d2, 0.1) == pytest.approx(0.25 * i1, rel=1e-4)
