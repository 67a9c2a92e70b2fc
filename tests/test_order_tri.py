"""P2 and P3 triangles (Device(2D mesh, order=2 or 3), usadel.highorder_tri) against converged 1D solutions.

A strip with contacts on its short sides is translation invariant across its width, so its exact
2D solution is the 1D wire's; the references are P4 on 64 elements (usadel.highorder; P4 on 32 and
64 elements differ by 2.4e-12 on the clean SNS strip's centre DOS). The meshes have square cells (y
resolved as finely as x): a mesh one cell wide would test nothing about 2D for P1, and for P2/P3 the
cells of a 4 x 1 mesh still hold dofs at 1/2 or 1/3 and 2/3 of their height.
"""

import pickle

import numpy as np
import pytest
import skfem

import usadel
from usadel.tri_dofs import facet_weights, lattice_mesh, tri_basis

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
                        contacts(phase, barrier), order=4)
    sp = usadel.spectral(dev, E)
    i = np.argmin(np.abs(dev.topology.p[0] - 0.5))
    return sp.dos()[:, i]


@pytest.mark.parametrize("order, phase, barrier, tol, rate", [
    (2, np.pi / 2, None, 1e-4, 8.0), (2, 0.0, usadel.Barrier(r=0.3), 1e-5, 8.0),
    (3, np.pi / 2, None, 6e-6, 11.0), (3, 0.0, usadel.Barrier(r=0.3), 1.2e-6, 11.0)])
def test_strip_converges_to_the_wire(order, phase, barrier, tol, rate):
    # clean contacts at phase pi/2 (minigap ~2) and tunnel contacts (Newton-Cotes weights on the facets):
    # P2's centre vertex converges like h^4 (vertex superconvergence of even orders; measured 7.7e-4, 2.3e-5,
    # 1.4e-6 clean and 3.4e-5, 2.1e-6, 1.3e-7 tunnel for 8, 16, 32 cells along); P3's like h^4 too, not the 1D
    # h^6: Schatz, Sloan, Wahlbin (1996) prove vertex-value superconvergence in 2D for even orders only; P3
    # measures none (unchanged with quadrature of order 10), so
    # h^(p+1) (measured 3.1e-3, 2.4e-5, 1.5e-6, 1.0e-7 clean and 2.2e-5, 5.1e-6, 3.0e-7, 1.8e-8 tunnel for 4,
    # 8, 16, 32: ratios 16.2, 15.0 and 17.2, 16.3). Tolerances: 16 cells with 4x margin over the measured
    # error; rates: P2 at least h^3, P3 at least h^3.5 (a P2-like h^3 fails it)
    ref = wire_dos([("wire", 1.0, 64, usadel.Material())], phase, barrier)
    e8 = np.max(np.abs(centre_dos(strip(8, phase=phase, barrier=barrier, order=order)) - ref))
    e16 = np.max(np.abs(centre_dos(strip(16, phase=phase, barrier=barrier, order=order)) - ref))
    assert e16 < tol
    assert e8 / e16 > rate


@pytest.mark.slow
def test_p3_strip_rate_holds_at_32_cells():
    # the h^4 of P3's centre vertex one halving further (measured 1.5e-6 -> 1.0e-7 clean, ratio 15.0; 3.0e-7
    # -> 1.8e-8 tunnel, 16.3): at least h^3.5 again, so the rate above is not a pre-asymptotic accident
    for phase, barrier in ((np.pi / 2, None), (0.0, usadel.Barrier(r=0.3))):
        ref = wire_dos([("wire", 1.0, 64, usadel.Material())], phase, barrier)
        e16, e32 = (np.max(np.abs(centre_dos(strip(n, phase=phase, barrier=barrier, order=3)) - ref)) for n in (16, 32))
        assert e16 / e32 > 11.0


@pytest.mark.parametrize("order, n, tol", [(2, 16, 1e-4), (3, 8, 6e-5)])
def test_regions_with_different_materials_meet_cleanly(order, n, tol):
    # a clean interface at x = 1/2 between D = 1, sigma = 1 and D = 0.5, sigma = 2: flux sigma grad gamma
    # continuous, nothing else (the same weak form as P1); against the 1D two-region wire (measured P2 5.4e-4,
    # 2.4e-5, 1.5e-6 for 8, 16, 32 cells along, P3 1.4e-5, 1.4e-6 for 8, 16: tolerance 4x the error of the
    # mesh used)
    a, b = usadel.Material(), usadel.Material(D=0.5, sigma=2.0)
    ref = wire_dos([("a", 0.5, 32, a), ("b", 0.5, 32, b)])
    assert np.max(np.abs(centre_dos(strip(n, {"a": a, "b": b}, order=order)) - ref)) < tol


def test_p3_tunnel_contacts_that_vary_along_their_facets():
    # tunnel contacts on the left side and on the bottom (reservoirs at phases 0 and pi/2, r = 0.5, Robin
    # conditions meeting at a corner): gamma varies along every contact facet, so the facet rule (3/8 rule on
    # P3's four facet dofs, Simpson on P2's three) matters, unlike on the translation-invariant strip. P3 on
    # 16 x 4 cells against P2 on 32 x 8 (other elements, other facet rule): measured 2.6e-6 apart; their
    # errors against P3 on 64 x 16 are 1.6e-6 and 2.3e-6 (P3 8, 16, 32: 2.8e-5, 1.6e-6, 1.2e-7, ~h^4).
    # Tolerance 1e-5: ~2.5x the sum of the two errors; P3 with P1's lumping of the facet integral on the
    # sub-facets (weights 1/6, 2/6, 2/6, 1/6, not the P3 basis functions' integrals) is 1.0e-2 off
    res = {"left": usadel.Reservoir(delta=100.0, barrier=usadel.Barrier(r=0.5)),
           "bottom": usadel.Reservoir(delta=100.0, phase=np.pi / 2, barrier=usadel.Barrier(r=0.5))}
    out = []
    for order, n in ((3, 16), (2, 32)):
        dev = usadel.Device(usadel.meshes.strip(1.0, 0.25, n, n // 4), {"wire": usadel.Material()}, res, order=order)
        sp, p = usadel.spectral(dev, E), dev.topology.p
        pts = [np.argmin((p[0] - x) ** 2 + (p[1] - y) ** 2) for x, y in ((0.5, 0.125), (0.25, 0.0), (0.75, 0.25))]
        out.append(sp.dos()[:, pts])
    assert np.max(np.abs(out[0] - out[1])) < 1e-5


@pytest.mark.parametrize("order", [2, 3])
def test_facet_rules_integrate_cubics_exactly(order):
    # the tunnel contacts' boundary integral: Simpson (P2) and the 3/8 rule (P3) on each facet's dofs are
    # exact for cubics along the facet; on a graded bottom side (x -> x + 0.3 x^2, facets of 8 lengths)
    # sum w f(x) = Int_0^1.3 f dx to rounding (1e-13 on values ~1)
    m = usadel.meshes.strip(1.0, 0.25, 8, 2)
    m = skfem.MeshTri(np.array([m.p[0] + 0.3 * m.p[0] ** 2, m.p[1]]), m.t, dict(m.boundaries))
    basis = tri_basis(m, order)
    nodes, w = facet_weights(m, basis, order, np.asarray(m.boundaries["bottom"]))
    x = basis.doflocs[0, nodes]
    assert np.max(np.abs(basis.doflocs[1, nodes])) == 0.0 and nodes.size == 8 * order + 1
    f = lambda x: 1.0 - 2.0 * x + 3.0 * x ** 2 - 1.5 * x ** 3  # noqa: E731
    F = lambda x: x - x ** 2 + x ** 3 - 0.375 * x ** 4  # noqa: E731
    assert abs(w @ f(x) - (F(1.3) - F(0.0))) < 1e-13


def test_lattice_meshes_carry_the_mesh_over():
    # order 2: the once uniformly refined mesh (element nodes sorted), array for array, so P2 devices keep
    # their node numbering; order 3: 9 triangles of a ninth of the area per element, three facets per
    # contact facet, the regions' elements, and the nodes at the P3 dofs (vertices, 1/3 and 2/3 of every
    # facet, centroids)
    m = halves(usadel.meshes.strip(1.0, 0.25, 4, 2))
    r = m.refined()
    two = lattice_mesh(m, tri_basis(m, 2), 2)
    assert np.array_equal(two.p, r.p) and np.array_equal(two.t, np.sort(r.t, axis=0))
    for a, b in ((two.boundaries, r.boundaries), (two.subdomains, r.subdomains)):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    basis = tri_basis(m, 3)
    three = lattice_mesh(m, basis, 3)
    n_el = m.t.shape[1]
    assert three.t.shape[1] == 9 * n_el
    assert three.p.shape[1] == m.p.shape[1] + 2 * m.facets.shape[1] + n_el == basis.N

    def area(mm):
        (x0, x1, x2), (y0, y1, y2) = mm.p[:, mm.t]
        return np.abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)) / 2
    assert np.allclose(area(three).reshape(9, n_el), area(m)[None] / 9, rtol=1e-12, atol=0)
    nv, nf = m.p.shape[1], m.facets.shape[1]
    a, b = m.p[:, m.facets[0]], m.p[:, m.facets[1]]
    fd = three.p[:, basis.dofs.facet_dofs]  # (2, 2, nf): the two dofs of every facet
    one, two = (2 * a + b) / 3, (a + 2 * b) / 3
    off = np.minimum(np.abs(fd[:, 0] - one).max(axis=0) + np.abs(fd[:, 1] - two).max(axis=0),
                     np.abs(fd[:, 0] - two).max(axis=0) + np.abs(fd[:, 1] - one).max(axis=0))
    assert np.max(off) < 1e-15 and basis.dofs.facet_dofs.min() == nv
    assert np.allclose(three.p[:, nv + 2 * nf:], m.p[:, m.t].mean(axis=1), rtol=0, atol=1e-15)  # centroids
    for tag, f in m.boundaries.items():
        assert three.boundaries[tag].size == 3 * len(f)
    for name, e in m.subdomains.items():
        assert np.array_equal(three.subdomains[name], np.sort((np.arange(9)[:, None] * n_el + e).ravel()))
    unsorted = skfem.MeshTri(m.p, m.t[[1, 0, 2]], sort_t=False)
    tri_basis(unsorted, 2)  # one dof per facet: any vertex order matches
    with pytest.raises(usadel.UsadelError, match="facet dofs of neighbouring triangles do not match"):
        tri_basis(unsorted, 3)


@pytest.mark.parametrize("order, n", [(2, 8), (3, 4)])
def test_sweep_equals_the_homotopy_and_pickles(order, n):
    dev = strip(n, order=order)
    Es = np.linspace(0.05, 10.0, 60)
    sw, hom = usadel.spectral(dev, Es), usadel.spectral(dev, Es, method="homotopy")
    assert np.max(np.abs(sw.gamma - hom.gamma)) < 1e-8 and np.max(np.abs(sw.dos() - hom.dos())) < 1e-8
    again = pickle.loads(pickle.dumps(dev))
    assert np.array_equal(usadel.spectral(again, Es[:5]).gamma, usadel.spectral(dev, Es[:5]).gamma)


@pytest.mark.parametrize("order", [2, 3])
def test_superconducting_strip_is_bcs_and_a_node_array_gap_is_the_scalar_one(order):
    # a superconducting strip between reservoirs of its own gap: uniform BCS everywhere (to rounding);
    # the gap given per node of the order-p device (the dofs) gives the same solution as the scalar
    m = usadel.meshes.strip(1.0, 0.25, 8, 2)
    res = {"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir(delta=1.0)}
    dev = usadel.Device(m, {"wire": usadel.Material(tc=1.0)}, res, order=order)
    Es = np.array([0.3, 0.9, 1.1, 2.0])
    sp = usadel.spectral(dev, Es, delta=1.0, eta=1e-3)
    bcs = np.real((Es + 1e-3j) / np.sqrt((Es + 1e-3j) ** 2 - 1.0))
    assert np.max(np.abs(sp.dos() - bcs[:, None])) < 1e-9
    arr = usadel.spectral(dev, Es, delta=np.ones(dev.topology.n_nodes), eta=1e-3)
    assert np.max(np.abs(arr.gamma - sp.gamma)) < 1e-12


@pytest.mark.parametrize("order, nx, ny", [(2, 8, 2), (3, 4, 1)])
def test_normal_strip_obeys_ohm_through_the_kinetic_equations(order, nx, ny):
    # downstream of the spectral solve everything runs on the lattice mesh's P1 operators (measured 4.4e-5
    # for both orders; tolerance: the energy integral's accuracy, as tests/test_properties.py)
    m = usadel.meshes.strip(2.0, 0.5, nx, ny)
    dev = usadel.Device(m, {"wire": usadel.Material(sigma=3.0)},
                        {"left": usadel.Reservoir(T=0.1, mu=0.5), "right": usadel.Reservoir(T=0.1, mu=-0.5)},
                        order=order)
    k = usadel.kinetic(usadel.spectral(dev, usadel.observables.energy_grid(T=0.1, e_max=5.0, mu=[0.5], n=200)))
    assert k.current("left") == pytest.approx(1.0 / (2.0 / (3.0 * 0.5)), rel=2e-3)


@pytest.mark.parametrize("order", [2, 3])
def test_refusals_are_clear(order):
    m = halves(usadel.meshes.strip(1.0, 0.25, 8, 2))
    mats = {"a": usadel.Material(), "b": usadel.Material()}
    with pytest.raises(usadel.UsadelError, match="tunnel interfaces between regions"):
        usadel.Device(m, mats, interfaces={("a", "b"): usadel.Barrier(r=1.0)}, order=order)
    dev = usadel.Device(m, {"a": usadel.Material(tc=1.0), "b": usadel.Material(tc=1.0)},
                        {"left": usadel.Reservoir(delta=1.0, T=0.1)}, order=order)
    with pytest.raises(usadel.UsadelError, match=f"gap: the device has Lagrange order {order}"):
        usadel.gap(dev, T=0.1)
    with pytest.raises(usadel.UsadelError, match="spin-flip or spin-orbit"):
        usadel.Device(m, {"a": usadel.Material(h=1.0, tau_sf=2.0), "b": usadel.Material()}, order=order)


def test_order_4_on_triangles_is_refused_with_the_orders_that_are_built():
    with pytest.raises(usadel.UsadelError, match=r"order = 4 on triangles is not built; 2D triangle meshes take "
                                                 r"order 1, 2, 3"):
        usadel.Device(usadel.meshes.strip(1.0, 0.25, 4, 1), {"wire": usadel.Material()}, order=4)


@pytest.mark.parametrize("order, n", [(2, 8), (3, 4)])
def test_results_save_load_and_solve_again_bit_for_bit(order, n, tmp_path):
    # the file stores the coarse mesh and the order; loading rebuilds the same dof numbering (the
    # lattice mesh is made canonical, whatever the element node order of the mesh it came from)
    from usadel.io import load, save

    dev = strip(n, order=order)
    Es = np.linspace(0.0, 5.0, 12)
    sp = usadel.spectral(dev, Es)
    save(sp, tmp_path / "tri.h5")
    back = load(tmp_path / "tri.h5")
    assert back.device.order == order and np.array_equal(back.gamma, sp.gamma)
    assert np.array_equal(back.device.topology.p, dev.topology.p)
    assert np.array_equal(usadel.spectral(back.device, Es).gamma, sp.gamma)


@pytest.mark.parametrize("order, n, tol", [(2, 16, 1e-4), (3, 8, 8e-5)])
def test_exchange_field_spin_blocks_follow_the_wire(order, n, tol):
    # a ferromagnetic strip (h = 3) between a spin-split and a plain superconducting reservoir at phase 1:
    # each spin block E -> E + s h against the 1D P4 wire (measured P2 3.1e-5 and 2.4e-5 on 16 x 4 cells,
    # P3 1.9e-5 and 2.0e-5 on 8 x 2, 1.7e-6 and 2.9e-6 on 16 x 4; tolerance ~4x the mesh's error)
    Es = np.array([0.5, 2.0, 5.0])
    res = {"left": usadel.Reservoir(delta=10.0, h=1.0), "right": usadel.Reservoir(delta=10.0, phase=1.0)}
    mat = {"wire": usadel.Material(h=3.0)}
    d1 = usadel.Device(usadel.meshes.interval(1.0, 64), mat, res, order=4)
    s1 = usadel.spectral(d1, Es)
    i1 = np.argmin(np.abs(d1.topology.p[0] - 0.5))
    d2 = usadel.Device(usadel.meshes.strip(1.0, 0.25, n, n // 4), mat, res, order=order)
    s2 = usadel.spectral(d2, Es)
    p = d2.topology.p
    i2 = np.argmin((p[0] - 0.5) ** 2 + (p[1] - 0.125) ** 2)
    for s in (1, -1):
        assert np.max(np.abs(s1.dos(spin=s)[:, i1] - s2.dos(spin=s)[:, i2])) < tol


@pytest.mark.parametrize("order, nx, ny, rel", [(2, 8, 2, 1e-4), (3, 4, 1, 3e-4)])
def test_supercurrent_is_the_wire_current_times_the_width(order, nx, ny, rel):
    # Matsubara supercurrent of the SNS strip (phase difference 2, T = 0.1) from the order-p solution and its
    # gradients at the quadrature points (usadel.highorder_tri.current_flux): the 1D P3 wire's current
    # times the width 0.25 (measured P2 2.3e-5 on 8 x 2 cells, 6.5e-6 on 16 x 4; P3 7.7e-5 on 4 x 1, 7.8e-6 on
    # 8 x 2; P1 on 64 x 16: 4.6e-4; tolerance ~4x the mesh's error)
    res = {"left": usadel.Reservoir(delta=100.0, phase=-1.0), "right": usadel.Reservoir(delta=100.0, phase=1.0)}
    d1 = usadel.Device(usadel.meshes.interval(1.0, 12), {"wire": usadel.Material()}, res, order=3)
    d2 = usadel.Device(usadel.meshes.strip(1.0, 0.25, nx, ny), {"wire": usadel.Material()}, res, order=order)
    i1 = usadel.observables.supercurrent(d1, 0.1)
    assert usadel.observables.supercurrent(d2, 0.1) == pytest.approx(0.25 * i1, rel=rel)


@pytest.mark.parametrize("order", [2, 3])
def test_spectral_memory_is_bounded_by_its_stated_size_and_checked_before_work(order, monkeypatch):
    # the operators of an order-p problem grow like nb^2 x nq entries per element (P3: ~1200): the stated
    # need must bound what a spectral solve allocates (tracemalloc peak of numpy's arrays; SuperLU's LUs are
    # not traced, the constant's RSS measurements include them) and not overstate it by more than 3x (the
    # peak depends on the lanes: with reservoir gaps 100 outside the range it was 0.46 of the need), and a
    # device or a request over the budget is refused before any work
    import tracemalloc

    from usadel import budget
    from usadel.tri_dofs import memory_need

    # reservoir gaps 3 inside the energy range (edge bounds, more homotopy starts): the constants' case
    dev = usadel.Device(usadel.meshes.strip(1.0, 0.25, 20, 5), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=3.0), "right": usadel.Reservoir(delta=3.0, phase=1.0)},
                        order=order)
    n_el, nodes, Es = dev.coarse.topology.t.shape[1], dev.topology.n_nodes, np.linspace(0.0, 6.0, 40)
    usadel.spectral(dev, Es[:3])  # numba and caches compiled outside the trace
    tracemalloc.start()
    try:
        usadel.spectral(dev, Es)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    need = memory_need(n_el, order, 1, Es.size, nodes)
    assert need / 3 < peak <= need
    monkeypatch.setattr(budget, "MEMORY_BUDGET", 1.5 * need)
    with pytest.raises(usadel.UsadelError, match=f"order = {order} on {n_el} triangles: .* 2 energy blocks at once"):
        usadel.spectral(dev, Es, workers=2, executor=__import__("concurrent.futures").futures.ThreadPoolExecutor(2))
    monkeypatch.setattr(budget, "MEMORY_BUDGET", 0.9 * memory_need(n_el, order))
    with pytest.raises(usadel.UsadelError, match=f"order = {order} on {n_el} triangles: .* memory budget"):
        strip(20, order=order)


def test_sweep_runs_as_one_block_per_worker_and_blocks_agree_with_one_sweep():
    # order-p triangles sweep like P1 meshes: one problem and one lane per worker's block (they were cut
    # into chunks of MAX_ELEMENT_ENTRIES, each rebuilding the problem and starting with a homotopy);
    # blocks start their own lanes, so they agree with one sweep to the sweep's accuracy (~1e-11)
    from concurrent.futures import ThreadPoolExecutor

    from usadel.retarded import _chunks  # noqa: PLC2701 (the chunk plan is what is tested)

    dev = strip(8, order=3)
    Es = np.linspace(0.0, 6.0, 60)
    assert len(_chunks(dev, Es, None, None, False, "sweep", None)) == 2  # bounds [0, 60]: one block
    one = usadel.spectral(dev, Es)
    with ThreadPoolExecutor(2) as ex:
        two = usadel.spectral(dev, Es, executor=ex, workers=2)
    assert np.max(np.abs(one.gamma - two.gamma)) < 1e-9


@pytest.mark.parametrize("order, tol", [(2, 1.3e-4), (3, 1e-5)])
def test_jittered_strip_with_permuted_node_numbers(order, tol):
    # the facet dofs of P3 are shared correctly only if neighbouring elements agree on each facet's
    # orientation: a strip with its interior vertices moved by up to h/4 and its nodes numbered at random
    # (so facets meet in arbitrary vertex orders) must converge to the wire like the regular strip.
    # Measured (16 cells along, clean contacts, phase pi/2): P2 3.2e-5, P3 2.4e-6 (8 cells: 4.4e-4, 4.5e-5):
    # tolerance 4x the error
    rng = np.random.default_rng(1)
    m = usadel.meshes.strip(1.0, 0.25, 16, 4)
    p, h = m.p.copy(), 1.0 / 16
    inner = (p[0] > 1e-12) & (p[0] < 1 - 1e-12) & (p[1] > 1e-12) & (p[1] < 0.25 - 1e-12)
    move = inner & (np.hypot(p[0] - 0.5, p[1] - 0.125) > 1e-12)  # the centre vertex stays where it is probed
    p[:, move] += rng.uniform(-0.25, 0.25, (2, move.sum())) * h
    edge = ((p[1] < 1e-12) | (p[1] > 0.25 - 1e-12)) & (p[0] > 1e-12) & (p[0] < 1 - 1e-12)
    p[0, edge] += rng.uniform(-0.25, 0.25, edge.sum()) * h
    perm = rng.permutation(p.shape[1])
    mm = skfem.MeshTri(p[:, perm], np.argsort(perm)[m.t])
    mm = mm.with_boundaries({"left": lambda x: x[0] < 1e-12, "right": lambda x: x[0] > 1 - 1e-12})
    mm = skfem.MeshTri(mm.p, mm.t, dict(mm.boundaries), {"wire": np.arange(mm.t.shape[1])})
    ref = wire_dos([("wire", 1.0, 64, usadel.Material())])
    dev = usadel.Device(mm, {"wire": usadel.Material()}, contacts(np.pi / 2), order=order)
    assert np.max(np.abs(centre_dos(dev) - ref)) < tol


def test_memory_check_counts_concurrent_blocks_only(monkeypatch):
    # without an executor the blocks of workers=2 run one after the other: one problem at a time, so a
    # budget that fits one (and not two) is enough
    from usadel import budget
    from usadel.tri_dofs import memory_need

    dev = strip(8, order=3)
    n_el, Es = dev.coarse.topology.t.shape[1], np.linspace(0.0, 6.0, 20)
    monkeypatch.setattr(budget, "MEMORY_BUDGET", 1.2 * memory_need(n_el, 3, 1, Es.size, dev.topology.n_nodes))
    usadel.spectral(dev, Es, workers=2)
