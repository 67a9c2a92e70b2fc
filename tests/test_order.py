"""Element order of the retarded solve (Device(order=...), usadel.highorder): validation, exactness on
uniform wires, convergence rates against converged references, P1 unchanged, and the files."""

import pickle

import numpy as np
import pytest

import usadel
from usadel import bcs
from usadel.matsubara import GapMap

E_SNS = np.linspace(0.0, 10.0, 101)


def sns(n, order, phase=0.0):
    """Long SNS junction of issue 16: L = D = 1, reservoir gaps 100, clean contacts."""
    m = usadel.meshes.interval(1.0, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                         contacts={"left": usadel.Reservoir(delta=100.0),
                                   "right": usadel.Reservoir(delta=100.0, phase=phase)}, order=order)


def dos_at(dev, E, x, **kw):
    sp = usadel.spectral(dev, E, eta=1e-6, **kw)
    i = np.argmin(np.abs(sp.x[:, 0] - x))
    assert abs(sp.x[i, 0] - x) < 1e-12  # a mesh vertex: the vertex values are the Lagrange solution there
    return sp.dos()[:, i]


@pytest.fixture(scope="module")
def sns_reference():
    """P3 on 40 elements (121 unknowns per component): below 1e-8 of the limit by the P3 rate measured below."""
    return {ph: dos_at(sns(40, 3, ph), E_SNS, 0.5) for ph in (0.0, np.pi / 2)}


# ---------------------------------------------------------------- validation
def test_order_default_storage_and_repr():
    m = usadel.meshes.interval(1.0, 4)
    mats = {"wire": usadel.Material()}
    assert usadel.Device(m, mats).order == 1
    dev = usadel.Device(m, mats, order=3)
    assert dev.order == 3 and "order 3" in repr(dev)
    assert "order" not in repr(usadel.Device(m, mats, order=1))
    assert pickle.loads(pickle.dumps(dev)).order == 3


@pytest.mark.parametrize("bad", [0, 5, -1, 2.0, 1.5, "2", True])
def test_order_must_be_an_integer_1_to_4(bad):
    with pytest.raises(usadel.UsadelError, match="order"):
        usadel.Device(usadel.meshes.interval(1.0, 4), {"wire": usadel.Material()}, order=bad)


def test_order_above_1_is_refused_on_networks_and_order_4_on_triangles():
    strip = usadel.meshes.strip(1.0, 0.25, 4, 2)
    net = usadel.meshes.network(nodes={"a": (0.0, 0.0), "b": (1.0, 0.0), "c": (0.0, 1.0)},
                                wires=[("a", "b", 4, "w"), ("a", "c", 4, "w")])
    for mesh, region in ((strip, "wire"), (net, "w")):
        usadel.Device(mesh, {region: usadel.Material()}, order=1)  # P1 stays available
    for order in (2, 3, 4):
        with pytest.raises(usadel.UsadelError, match="orders 2-4 are built for 1D wires"):
            usadel.Device(net, {"w": usadel.Material()}, order=order)
    for order in (2, 3):  # P2, P3 triangles (test_order_tri)
        assert usadel.Device(strip, {"wire": usadel.Material()}, order=order).order == order
    with pytest.raises(usadel.UsadelError, match="order = 4 on triangles is not built"):
        usadel.Device(strip, {"wire": usadel.Material()}, order=4)


def test_gap_tc_and_solve_refuse_order_2_on_triangles():
    # gap, critical_temperature and solve are built for order 2-4 on 1D wires (usadel.highorder_gap,
    # tests/test_gap_order.py), not for P2 triangles; the P1 Matsubara map refuses any order > 1 device
    strip = usadel.meshes.strip(1.0, 0.25, 4, 2)
    dev = usadel.Device(strip, {"wire": usadel.Material(tc=1.0)}, order=2)
    calls = {"gap": lambda: usadel.gap(dev, T=0.5), "solve": lambda: usadel.solve(dev, T=0.5),
             "critical_temperature": lambda: usadel.critical_temperature(dev)}
    for name, call in calls.items():
        with pytest.raises(usadel.UsadelError, match=f"{name}: the device has Lagrange order 2 on a 2D mesh"):
            call()
    wire = usadel.Device(usadel.meshes.interval(1.0, 4), {"wire": usadel.Material(tc=1.0)}, order=2)
    with pytest.raises(usadel.UsadelError, match="gap: the device has Lagrange order 2"):
        GapMap(wire, 0.5, 60.0, None)


# ---------------------------------------------------------------- exactness and rates
@pytest.mark.parametrize("order", [2, 3, 4])
def test_uniform_wire_is_the_bulk_solution(order):
    """Insulated S wire: Abrikosov-Gor'kov DOS (tau_sf), and spin-split BCS N(E + sigma h); closed forms, 1e-9."""
    m = usadel.meshes.interval(2.0, 3)
    E = np.linspace(0.0, 2.5, 26)
    dev = usadel.Device(m, {"wire": usadel.Material(tc=1.0, tau_sf=4.0)}, order=order)
    sp = usadel.spectral(dev, E, delta=1.0, eta=1e-3, tol=1e-12)  # E + h = 1 hits the gap edge: Newton tight
    assert np.max(np.abs(sp.dos() - bcs.ag_dos(E, 1.0, 0.75 / 4.0, eta=1e-3)[:, None])) < 1e-9
    per_node = usadel.spectral(dev, E, delta=np.ones(dev.topology.n_nodes), eta=1e-3, tol=1e-12)  # a P1 gap field
    assert np.max(np.abs(per_node.gamma - sp.gamma)) < 1e-12
    dev = usadel.Device(m, {"wire": usadel.Material(tc=1.0, h=0.3)}, order=order)
    sp = usadel.spectral(dev, E, delta=1.0, eta=1e-3, tol=1e-12)
    for s in (1, -1):
        assert np.max(np.abs(sp.dos(spin=s) - bcs.bcs_dos(E + s * 0.3, 1.0, eta=1e-3)[:, None])) < 1e-9


def test_sns_dos_converges_like_h_to_the_2p(sns_reference):
    """Vertex DOS at x = 1/2 (a mesh vertex) of the long SNS junction, max over 101 energies in [0, 10].

    Measured ratios on halving h: P2 16.8, 16.3 (h^4 = h^(2p)); P3 262, 58.5 (tending to 64 = 2^(2p),
    nodal superconvergence of 1D Lagrange elements; the h^(p+1) of the L2 error would be 16).
    P3 on 16 elements (49 unknowns per component): 4.1e-7 at phase 0, 4.4e-7 at pi/2 (issue 16's
    prototype: 1.1e-6 / 1.3e-6 at 200 energies). P4 on 4, 8 elements: 1.7e-4, 3.9e-7 (ratio 425; 6, 12: 4.9e-6,
    1.1e-8, 450; 2^(2p) = 256); at pi/2 8.9e-4, 5.8e-6 (152) and 6.9e-5, 1.0e-7 (690).
    """
    ref = sns_reference[0.0]
    e2 = [np.max(np.abs(dos_at(sns(n, 2), E_SNS, 0.5) - ref)) for n in (8, 16, 32)]
    assert 13.0 < e2[0] / e2[1] < 20.0 and 13.0 < e2[1] / e2[2] < 20.0
    e3 = [np.max(np.abs(dos_at(sns(n, 3), E_SNS, 0.5) - ref)) for n in (8, 16)]
    assert e3[0] / e3[1] > 40.0
    assert e3[1] < 1e-6
    e3p = np.max(np.abs(dos_at(sns(16, 3, np.pi / 2), E_SNS, 0.5) - sns_reference[np.pi / 2]))
    assert e3p < 1e-6
    e4 = [np.max(np.abs(dos_at(sns(n, 4), E_SNS, 0.5) - ref)) for n in (4, 8)]
    assert e4[0] / e4[1] > 200.0 and e4[1] < 1e-6
    e4p = [np.max(np.abs(dos_at(sns(n, 4, np.pi / 2), E_SNS, 0.5) - sns_reference[np.pi / 2])) for n in (6, 12)]
    assert e4p[0] / e4p[1] > 200.0 and e4p[1] < 3e-7
    # P1 converges to the same limit, at its own rate
    assert np.max(np.abs(dos_at(sns(64, 1), E_SNS, 0.5) - ref)) < 1e-2


def _tunnel_wire(n, order):
    m = usadel.meshes.interval(1.0, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                         contacts={"left": usadel.Reservoir(delta=1.0, barrier=usadel.Barrier(r=0.5)),
                                   "right": usadel.Reservoir()}, order=order)


def _sn_barrier(n, order):
    m = usadel.meshes.wire([("S", 0.5, n), ("N", 1.0, 2 * n)])
    return usadel.Device(m, {"S": usadel.Material(D=1.0, tc=1.0), "N": usadel.Material(D=2.0, sigma=2.0, tau_sf=5.0)},
                         contacts={"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir()},
                         interfaces={("S", "N"): usadel.Barrier(r=0.3)}, order=order)


@pytest.mark.parametrize("build, x, delta, tol16", [(_tunnel_wire, 0.5, 0.0, 1e-7), (_sn_barrier, 1.0, 1.0, 1e-8)],
                         ids=["N wire, tunnel contact", "S-N wire, tunnel interface, tau_sf"])
def test_barriers_converge_to_the_p1_limit(build, x, delta, tol16):
    """Against Richardson-extrapolated P1 (128 and 256 elements per unit length; P1's own error there is
    7.6e-5 and 1.0e-5). Measured P3 on 2, 4, 8, 16: 5.8e-3, 5.3e-5, 1.3e-6, 2.5e-8 (tunnel contact) and
    2.0e-4, 2.3e-6, 3.4e-8, 2.7e-10 (tunnel interface, at its N side); P2 on 16: 3.9e-6 and 3.5e-6."""
    E = np.linspace(0.0, 3.0, 31)
    a, b = dos_at(build(128, 1), E, x, delta=delta), dos_at(build(256, 1), E, x, delta=delta)
    rich = (4.0 * b - a) / 3.0
    e3 = [np.max(np.abs(dos_at(build(n, 3), E, x, delta=delta) - rich)) for n in (4, 8, 16)]
    assert e3[0] / e3[1] > 20.0 and e3[1] / e3[2] > 30.0 and e3[2] < tol16
    assert np.max(np.abs(dos_at(build(16, 2), E, x, delta=delta) - rich)) < 1e-5


def test_matsubara_energies_match_fine_p1():
    """Complex (Matsubara) energies through the same solve: P3 on 16 elements against P1 on 128/256 (Richardson)."""
    w = 1j * np.pi * 0.1 * (2 * np.arange(20) + 1)

    def gamma_mid(dev):
        sp = usadel.spectral(dev, w, eta=0.0)
        return sp.gamma[:, np.argmin(np.abs(sp.x[:, 0] - 0.5))]
    rich = (4.0 * gamma_mid(sns(256, 1, np.pi / 2)) - gamma_mid(sns(128, 1, np.pi / 2))) / 3.0
    assert np.max(np.abs(gamma_mid(sns(16, 3, np.pi / 2)) - rich)) < 1e-7


def test_direct_and_warm_start_paths_agree_with_the_homotopy():
    dev = sns(12, 3, np.pi / 3)
    a = usadel.spectral(dev, E_SNS, eta=1e-6)
    b = usadel.spectral(dev, E_SNS, eta=1e-6, method="direct")
    c = usadel.spectral(dev, E_SNS, eta=1e-6, guess=a)
    assert np.max(np.abs(b.gamma - a.gamma)) < 1e-9 and np.max(np.abs(c.gamma - a.gamma)) < 1e-9
    assert a.gamma.shape == (E_SNS.size, dev.topology.n_nodes)


# ---------------------------------------------------------------- P1 unchanged, kinetic, files
def test_order_1_takes_the_p1_path_unchanged():
    """order=None, order=1 and a device from before the option (no ``order`` attribute) give identical bits."""
    m = usadel.meshes.interval(1.0, 20)
    kw = dict(materials={"wire": usadel.Material()},
              contacts={"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir(delta=1.0, phase=1.0)})
    E = np.linspace(0.0, 2.0, 15)
    old = usadel.Device(m, **kw)
    del old.order
    ref = usadel.spectral(old, E)
    for order in (None, 1):
        sp = usadel.spectral(usadel.Device(m, order=order, **kw), E)
        assert np.array_equal(sp.gamma, ref.gamma) and np.array_equal(sp.gamma_t, ref.gamma_t)


def test_kinetic_runs_p1_on_the_dof_points():
    """kinetic on an order-3 spectral result: P1 kinetic equations on the chain of dof points (a finer P1
    solve with the dof coefficients); its current agrees with P1 on 256 elements to 1e-5 (measured 3.1e-7 with
    97 dofs; P1 on 96 elements 1.6e-7, on 32 1.7e-6)."""
    E = np.linspace(-3.0, 3.0, 121)

    def current(n, order):
        m = usadel.meshes.interval(1.0, n)
        dev = usadel.Device(m, {"wire": usadel.Material()}, order=order,
                            contacts={"left": usadel.Reservoir(delta=1.0, T=0.1, barrier=usadel.Barrier(r=0.5)),
                                      "right": usadel.Reservoir(T=0.1, mu=0.5)})
        k = usadel.kinetic(usadel.spectral(dev, E, eta=1e-3))
        assert k.hL.shape == (E.size, dev.topology.n_nodes)
        return k.current("left")
    ref = current(256, 1)
    assert abs(current(32, 3) - ref) < 1e-5 and abs(current(24, 4) - ref) < 1e-5  # (P4: 97 dofs as well)


def test_order_survives_save_and_load(tmp_path):
    pytest.importorskip("h5py")
    sp = usadel.spectral(sns(6, 3), E_SNS[:7], eta=1e-6)
    path = tmp_path / "p3.h5"
    sp.save(path)
    back = usadel.load(path)
    assert back.device.order == 3 and np.array_equal(back.gamma, sp.gamma) and np.array_equal(back.x, sp.x)
    again = usadel.spectral(back.device, E_SNS[:7], eta=1e-6)
    assert np.array_equal(again.gamma, sp.gamma)


def test_device_spectral_and_kinetic_results_of_order_3_survive_save_and_load(tmp_path):
    """The S-N wire with a tunnel interface: the spectral and the kinetic result with their device (its dof chain)."""
    pytest.importorskip("h5py")
    dev = _sn_barrier(4, 3)
    dev = usadel.Device(dev.mesh, dev.materials, interfaces=dev.interfaces, order=3,
                        contacts={"left": usadel.Reservoir(delta=1.0, T=0.2), "right": usadel.Reservoir(T=0.2, mu=0.3)})
    sp = usadel.spectral(dev, np.linspace(-3.0, 3.0, 41), delta=1.0, eta=1e-2)
    k = usadel.kinetic(sp)
    sp.save(tmp_path / "sp.h5")
    k.save(tmp_path / "k.h5")
    sp2, k2 = usadel.load(tmp_path / "sp.h5"), usadel.load(tmp_path / "k.h5")
    for d in (sp2.device, k2.spectral.device):
        assert d.order == 3 and np.array_equal(d.topology.p, dev.topology.p) and np.array_equal(d.topology.t, dev.topology.t)
        assert np.array_equal(d.dof_node, dev.dof_node)
    assert np.array_equal(sp2.gamma, sp.gamma) and np.array_equal(k2.hL, k.hL) and np.array_equal(k2.hT, k.hT)
    assert k2.current("left") == pytest.approx(k.current("left"), rel=1e-12)


# ---------------------------------------------------------------- one value per dof
#: gamma of _sn_barrier(4, 3)-like device (below) at E = 0.5, 1.2, 2.5 and x = 0.25, 0.375 (S), 7/6 (N), from the
#: branch before the nodes became the dofs (ea7d123, vertex values only)
VERTEX_GAMMA = np.array(
    [[-0.2301111582196154 - 0.2564639809802407j, -0.2518741383484056 - 0.3518352927453979j,
      -0.4594891847797367 - 0.6970840299159534j],
     [-0.34786270775260936 - 0.02494941258113147j, -0.3080011534877851 - 0.04019924133777694j,
      -0.11176266082878294 - 0.1777736670061009j],
     [-0.13015129235690326 + 0.01827587484837588j, -0.11193324165695127 + 0.01129625684129234j,
      -0.03063063389618115 - 0.07998583779744953j]])


def _sn_two_contacts(order):
    m = usadel.meshes.wire([("S", 0.5, 4), ("N", 1.0, 6)])
    return usadel.Device(m, {"S": usadel.Material(D=1.0, tc=1.0), "N": usadel.Material(D=2.0, sigma=2.0, tau_sf=5.0)},
                         contacts={"left": usadel.Reservoir(delta=1.0, barrier=usadel.Barrier(r=0.4)),
                                   "right": usadel.Reservoir(delta=0.5, phase=1.0)},
                         interfaces={("S", "N"): usadel.Barrier(r=0.3)}, order=order)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_nodes_are_the_dofs(order):
    """n_nodes = dofs (vertices, split interface vertex, p - 1 Gauss-Lobatto points per element); sp.x the
    dof coordinates in ascending order; regions, contacts at the chain ends, the interface at the vertex x = 1/2."""
    from usadel.lagrange import line_element

    dev = _sn_two_contacts(order)
    top, ne = dev.topology, 10
    assert top.n_nodes == ne * order + 2 == dev.coarse.topology.n_nodes + ne * (order - 1)
    assert top.t.shape[1] == ne * order and dev.operators.n == top.n_nodes
    sp = usadel.spectral(dev, [0.5, 1.5], delta=1.0, eta=1e-3)
    x = sp.x[:, 0]
    assert sp.gamma.shape == sp.gamma_t.shape == sp.dos().shape == (2, top.n_nodes) and sp.x.shape == (top.n_nodes, 1)
    assert np.all(np.diff(x) >= 0)
    gl = 0.5 * (1.0 + line_element(order).nodes)  # Gauss-Lobatto points on [0, 1]
    want = np.sort(np.r_[np.concatenate([0.125 * (k + gl[:-1]) for k in range(4)]), 0.5,
                         np.concatenate([0.5 + (k + gl[:-1]) / 6.0 for k in range(6)]), 1.5])
    assert np.allclose(x, want, rtol=0, atol=1e-15)
    assert np.array_equal(np.sort(top.p[0, top.boundary["left"][0].ravel()]), [0.0])
    assert np.array_equal(np.sort(top.p[0, top.boundary["right"][0].ravel()]), [1.5])
    na, nb, oa, ob = top.interfaces[("S", "N")]
    assert top.p[0, na.ravel()] == top.p[0, nb.ravel()] == 0.5 and na.ravel()[0] != nb.ravel()[0]
    assert top.region_names[top.region[oa[0]]] == "S" and top.region_names[top.region[ob[0]]] == "N"
    xs = 0.5 * (top.p[0, top.t[0]] + top.p[0, top.t[1]])
    assert np.array_equal(top.region == top.region_names.index("S"), xs < 0.5)


def test_values_at_the_vertices_are_those_before_the_dof_layout():
    """Order 3 (tunnel contact, tunnel interface, tau_sf): vertex values equal those of the vertex-only
    results (ea7d123) to rounding, and the nodes nearest to the vertices are the vertices."""
    sp = usadel.spectral(_sn_two_contacts(3), np.linspace(0.0, 3.0, 31)[[5, 12, 25]], delta=1.0, eta=1e-3, tol=1e-12)
    idx = [np.argmin(np.abs(sp.x[:, 0] - x)) for x in (0.25, 0.375, 7.0 / 6.0)]
    assert np.max(np.abs(sp.gamma[:, idx] - VERTEX_GAMMA)) < 1e-12


def test_nearest_point_picking_sees_the_lagrange_solution():
    """Picking the node nearest to x (not a vertex) on P3 with 16 elements: the dof there is within h/4 of x
    and its DOS (and sp.at there) agrees with Richardson-extrapolated P1 (2048 and 4096 elements, interpolated
    to that dof) to 1e-5 (measured 1.5e-7 to 5.8e-6; the interior dofs converge like h^4, not h^6: 2.6e-3,
    1.5e-5 to 2.8e-4 on 4 and 8 elements)."""
    E = E_SNS[::10]
    a, b = (usadel.spectral(sns(n, 1, np.pi / 2), E, eta=1e-6) for n in (2048, 4096))
    sp = usadel.spectral(sns(16, 3, np.pi / 2), E, eta=1e-6)
    for x in (0.3, 0.66, 0.9):
        i = np.argmin(np.abs(sp.x[:, 0] - x))
        xi = sp.x[i, 0]
        assert abs(xi - x) < 0.0625 / 4 and np.min(np.abs(xi - np.arange(17) / 16)) > 0.01  # an interior dof
        ref = [(4.0 * np.interp(xi, b.x[:, 0], db) - np.interp(xi, a.x[:, 0], da)) / 3.0
               for da, db in zip(a.dos(), b.dos())]
        assert np.max(np.abs(sp.dos()[:, i] - ref)) < 1e-5
        assert np.max(np.abs(sp.at([[xi]])[:, 0] - ref)) < 1e-5


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("spin", [0, 1])
def test_jacobian_matches_finite_differences(order, spin, compiled):
    """The Newton step (analytic Jacobian, condensed solve) against central differences of the residual at a
    random state: every term (gradients, energy, complex gap, pair breaking or exchange field, tunnel contacts
    and a tunnel interface) enters; relative 1e-7. Both paths: numpy, and the compiled kernels (usadel.kernels)."""
    from usadel.highorder import HighOrderProblem
    from usadel import kernels
    from usadel.state import stack

    if compiled and not kernels.AVAILABLE:
        pytest.skip("numba is not installed")

    m = usadel.meshes.wire([("S", 0.7, 3), ("N", 1.1, 4)])
    extra = dict(h=0.4) if spin else dict(tau_sf=3.0)
    dev = usadel.Device(m, {"S": usadel.Material(D=1.3, tc=1.0, sigma=0.8, **extra), "N": usadel.Material(D=0.7, sigma=1.5)},
                        contacts={"left": usadel.Reservoir(delta=1.2, phase=0.4, barrier=usadel.Barrier(r=0.6)),
                                  "right": usadel.Reservoir(delta=0.5, barrier=None if spin else usadel.Barrier(r=1.7))},
                        interfaces={("S", "N"): usadel.Barrier(r=0.9)}, order=order)  # spin 1: a clean (Dirichlet) end
    prob = HighOrderProblem(dev, 0.8 * np.exp(0.3j), 1e-3, spin, compiled=compiled)
    rng = np.random.default_rng(1)
    n = prob.dofs.n
    g, gt = (0.5 * (rng.normal(size=(2, n)) + 1j * rng.normal(size=(2, n))))[:, None, :]
    eps = np.array([0.7 + 0.05j])
    u = prob.impose(eps, stack(g, gt))
    F, J = prob.residual(eps, u, jac=True)
    dx = prob.step(J, F).reshape(u.shape)  # the Newton step: J dx = -F, interiors condensed (state layout)
    d = 1e-6
    Fp = prob.residual(eps, u + d * dx)
    Fm = prob.residual(eps, u - d * dx)
    fd = (Fp - Fm)[0] / (2 * d)
    assert np.linalg.norm(fd + F[0]) < 1e-7 * np.linalg.norm(F[0])


def test_batches_and_neighbour_retry_give_the_same_solution(monkeypatch):
    """Energies split into several batches (memory bound) and energies recovered from converged neighbours
    (the fallback after the homotopy) agree with one batch to 1e-9."""
    from usadel import highorder
    from usadel.retarded import continuation, homotopy  # the drivers the order-p solve shares with P1

    dev = sns(8, 2, np.pi / 2)
    E = E_SNS[::5]
    one = usadel.spectral(dev, E, eta=1e-6)
    monkeypatch.setattr(highorder, "MAX_ELEMENT_ENTRIES", 3 * 8 * 36)  # three energies per batch
    many = usadel.spectral(dev, E, eta=1e-6)
    assert np.max(np.abs(many.gamma - one.gamma)) < 1e-9
    prob = highorder.HighOrderProblem(dev, 0.0, 1e-6)
    eps = E.astype(complex) + 1e-6j
    u, ok, res = homotopy(prob, eps, 1e-10, 40)
    lost = np.arange(1, E.size, 3)
    u[lost, :, 0], u[lost, :, 1], ok[lost] = 0.9, -0.9, False
    u, ok, res = continuation(prob, eps, u, ok, res, 1e-10, 40)
    assert ok.all() and np.max(np.abs(prob.nodes(u)[..., 0] - one.gamma)) < 1e-9


def test_process_pool_gives_the_serial_numbers():
    """An order-3 device (used before, so its P1 operators are cached) pickles into a process pool; same numbers."""
    from concurrent.futures import ProcessPoolExecutor

    dev = sns(8, 3, 1.0)
    E = np.linspace(-5.0, 5.0, 12)
    serial = usadel.spectral(dev, E, eta=1e-6)
    with ProcessPoolExecutor(2) as ex:
        par = usadel.spectral(dev, E, eta=1e-6, executor=ex, chunk=3)
    assert np.max(np.abs(par.gamma - serial.gamma)) < 1e-12 and np.max(np.abs(par.gamma_t - serial.gamma_t)) < 1e-12


def test_element_orientation_does_not_matter():
    """Elements stored right-to-left (as a gmsh file may have them) give the same solution to rounding."""
    import skfem

    m = usadel.meshes.interval(1.0, 8)
    t = m.t.copy()
    t[:, ::2] = t[::-1, ::2]
    flipped = skfem.MeshLine1(m.p, t, m.boundaries, m.subdomains, sort_t=False)
    E = np.linspace(0.0, 10.0, 30)
    a, b = (usadel.spectral(usadel.Device(mesh, {"wire": usadel.Material()}, order=3,
                                          contacts={"left": usadel.Reservoir(delta=100.0),
                                                    "right": usadel.Reservoir(delta=100.0, phase=1.0)}), E)
            for mesh in (m, flipped))
    ia, ib = np.argsort(a.x[:, 0]), np.argsort(b.x[:, 0])
    assert np.max(np.abs(a.gamma[:, ia] - b.gamma[:, ib])) < 1e-12


def test_order_above_1_with_spin_mixing_is_refused():
    """An exchange field with tau_sf or tau_so couples the spin blocks (usadel.spin_mixing, P1 only)."""
    m = usadel.meshes.interval(1.0, 4)
    for mat in (usadel.Material(tc=1.0, h=0.2, tau_sf=5.0), usadel.Material(tc=1.0, h=0.2, tau_so=5.0)):
        usadel.Device(m, {"wire": mat}, order=1)
        with pytest.raises(usadel.UsadelError, match="spin-flip or spin-orbit"):
            usadel.Device(m, {"wire": mat}, order=3)
    usadel.Device(m, {"wire": usadel.Material(tc=1.0, tau_sf=5.0)}, order=3)  # no field: spin degenerate


@pytest.mark.parametrize("order", [2, 3, 4])
def test_energy_sweep_on_lagrange_elements_equals_the_homotopy(order):
    # method="sweep" continues the order-p dof state along the energy axis (usadel.sweep, condensed
    # banded solves); it must agree with the homotopy to the Newton tolerance (1e-10; 1e-8 asked,
    # measured 2.4e-12 for P3 on 16 elements), at phase 0 and pi/2.
    E = np.linspace(0.0, 10.0, 120)
    for phase in (0.0, np.pi / 2):
        dev = sns(16, order, phase)
        a = usadel.spectral(dev, E, method="homotopy")
        b = usadel.spectral(dev, E, method="sweep")
        assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8 and np.max(np.abs(a.gamma_t - b.gamma_t)) < 1e-8
