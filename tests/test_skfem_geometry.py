"""P1 geometry, facet weights and point location from scikit-fem (usadel.skfem_geometry) against the
hand-written formulas the package used before (kept here as the reference, not in the package).

Tolerance 1e-13 relative throughout: both sides compute the same affine geometry in double precision
(scikit-fem inverts each Jacobian by its closed-form adjugate, the reference by LU), so they may differ
by a few units of rounding (measured: <= 3e-16 on gradients, 2e-15 on volumes), never more.
"""

import dataclasses
import math
import pathlib

import numpy as np
import pytest
import scipy.sparse as sps
import skfem

import usadel
import usadel.fem as F
from usadel.skfem_geometry import cell_geometry, facet_measure, locate, simplex_mesh

MESHES = pathlib.Path(__file__).parents[1] / "meshes"
TOL = 1e-13


# ---------------------------------------------------------------- the hand-written reference
def ref_gradients(p, t):
    """P1 gradients (n_el, d+1, dim) and volumes of full-dimensional simplices, as usadel.fem had them."""
    d = t.shape[0] - 1
    X = p[:, t]
    J = np.moveaxis(X[:, 1:, :] - X[:, :1, :], -1, 0)  # n_el, dim, d
    inv = np.linalg.inv(J)
    grad = np.empty((t.shape[1], d + 1, p.shape[0]))
    grad[:, 1:, :] = inv
    grad[:, 0, :] = -inv.sum(axis=1)
    return grad, np.abs(np.linalg.det(J)) / math.factorial(d)


def ref_facet_measure(p, nodes):
    """1 (points), lengths or areas of facets given by their nodes (d, n_facets), as usadel.boundary had them."""
    d = nodes.shape[0]
    if d == 1:
        return np.ones(nodes.shape[1])
    if d == 2:
        return np.linalg.norm(p[:, nodes[1]] - p[:, nodes[0]], axis=0)
    e1, e2 = p[:, nodes[1]] - p[:, nodes[0]], p[:, nodes[2]] - p[:, nodes[0]]
    return 0.5 * np.linalg.norm(np.cross(e1.T, e2.T), axis=1)


def ref_lumped(p, nodes, meas):
    """Unique nodes of facets and their lumped weights (facet measure / nodes per facet)."""
    w = np.bincount(nodes.ravel(), weights=np.tile(meas / nodes.shape[0], nodes.shape[0]), minlength=p.shape[1])
    u = np.unique(nodes)
    return u, w[u]


def ref_locate(p, t, pts):
    """Exhaustive search: the element where the smallest barycentric coordinate is largest (first on ties),
    its barycentric coordinates (n, d+1) and that smallest coordinate, with the reference gradients."""
    grad, _ = ref_gradients(p, t)
    rel = pts[:, None, :] - p[:, t[0]].T[None, :, :]
    lam = np.einsum("eid,ped->pei", grad[:, 1:, :], rel)
    bary = np.concatenate([1.0 - lam.sum(-1, keepdims=True), lam], axis=-1)
    small = bary.min(axis=-1)
    el = np.argmax(small, axis=1)
    rows = np.arange(len(pts))
    return el, bary[rows, el], small[rows, el]


# ---------------------------------------------------------------- devices
def _jiggle(mesh, amount, seed):
    """The mesh with its nodes moved at random (by up to ``amount`` of the smallest edge): generic simplices."""
    rng = np.random.default_rng(seed)
    edges = mesh.p[:, mesh.facets] if mesh.p.shape[0] == 2 else mesh.p[:, mesh.edges]
    h = np.min(np.linalg.norm(edges[:, 1] - edges[:, 0], axis=0))
    return dataclasses.replace(mesh, doflocs=mesh.p + amount * h * rng.uniform(-1, 1, mesh.p.shape))


def wire_1d():
    m = usadel.meshes.wire([("S", 0.3, 7), ("N", 1.1, 13), ("S", 0.4, 5)], x0=-0.2)
    return usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()},
                         {"left": usadel.Reservoir(delta=1.0),
                          "right": usadel.Reservoir(barrier=usadel.Barrier(r=3.0))},
                         interfaces={("S", "N"): usadel.Barrier(r=0.7)})  # split nodes


def strip_2d():
    m = _jiggle(usadel.meshes.strip(1.0, 0.25, 24, 6), 0.2, 1)
    return usadel.Device(m, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=2.0),
                          "right": usadel.Reservoir(barrier=usadel.Barrier(r=2.0))})


def sns_msh():
    m = usadel.meshes.load(MESHES / "sns_2d.msh")
    mats = {"S_left": usadel.Material(tc=1.0), "N": usadel.Material(D=0.5, sigma=2.0),
            "S_right": usadel.Material(tc=1.0)}
    return usadel.Device(m, mats, {"left": usadel.Reservoir(delta=1.0, barrier=usadel.Barrier(r=1.0)),
                                   "right": usadel.Reservoir(delta=1.0, phase=1.0)},
                         interfaces={("S_left", "N"): usadel.Barrier(r=0.5)})  # split nodes in 2D


def cross_msh():
    m = usadel.meshes.load(MESHES / "cross_spin_valve.msh")
    mats = {"S": usadel.Material(tc=1.0), "arm_inj": usadel.Material(), "arm_det": usadel.Material()}
    return usadel.Device(m, mats, {"left": usadel.Reservoir(delta=1.0), "inj": usadel.Reservoir(
        barrier=usadel.Barrier(r=5.0, polarization=0.3))})


def tet_3d():
    m = skfem.MeshTet.init_tensor(np.linspace(0, 1, 5), np.linspace(0, 0.5, 3), np.linspace(0, 0.5, 3))
    m = m.with_subdomains({"A": lambda x: x[0] < 0.5, "B": lambda x: x[0] > 0.5})
    m = _jiggle(m.with_boundaries({"left": lambda x: x[0] == 0, "right": lambda x: x[0] == 1}), 0.15, 2)
    return usadel.Device(m, {"A": usadel.Material(), "B": usadel.Material()},
                         {"left": usadel.Reservoir(), "right": usadel.Reservoir(barrier=usadel.Barrier(r=2.0))},
                         interfaces={("A", "B"): usadel.Barrier(r=1.0)})


DEVICES = [wire_1d, strip_2d, sns_msh, cross_msh, tet_3d]


@pytest.fixture(scope="module", params=DEVICES, ids=[f.__name__ for f in DEVICES])
def dev(request):
    return request.param()


# ---------------------------------------------------------------- tests
def test_gradients_and_volumes_equal_the_hand_written_ones(dev):
    top, ops = dev.topology, dev.operators
    grad, vol = ref_gradients(top.p, top.t)
    scale = np.abs(grad).max(axis=(1, 2))[:, None, None]  # per element: a zero entry has no scale of its own
    assert np.all(np.abs(ops.grad - grad) <= TOL * scale)
    assert np.all(np.abs(ops.vol - vol) <= TOL * vol)
    g, v = F.p1_gradients(top.p, top.t)  # the public function: the same numbers
    assert np.array_equal(g, ops.grad) and np.array_equal(v, ops.vol)
    # scikit-fem kept the device's vertex order: local basis function i is vertex t[i]
    basis = skfem.CellBasis(ops.skfem_mesh, skfem.ElementTriP1() if top.dim == 2 else
                            (skfem.ElementLineP1() if top.dim == 1 else skfem.ElementTetP1()))
    assert np.array_equal(basis.element_dofs, top.t)


def test_facet_weights_equal_the_hand_written_ones(dev):
    top, p = dev.topology, dev.topology.p
    assert dev.boundary.contacts and (dev.boundary.barriers or top.dim == 2)
    for tag, c in dev.boundary.contacts.items():
        nodes, w = ref_lumped(p, top.boundary[tag][0], ref_facet_measure(p, top.boundary[tag][0]))
        assert np.array_equal(c.nodes, nodes)
        assert np.all(np.abs(c.weights - w) <= TOL * w)
    for link in dev.boundary.barriers:
        na, nb = top.interfaces[link.regions][:2]
        meas = ref_facet_measure(p, na) / na.shape[0]
        n = p.shape[1]
        uk, inv = np.unique(na.ravel().astype(np.int64) * n + nb.ravel(), return_inverse=True)
        w = np.bincount(inv.ravel(), weights=np.tile(meas, na.shape[0]))
        assert np.array_equal(link.nodes_a, uk // n) and np.array_equal(link.nodes_b, uk % n)
        assert np.all(np.abs(link.weights - w) <= TOL * w)
    for tag, (fn, _) in top.boundary.items():  # every tag, also those without a contact (flux weights)
        nodes, w = dev.operators.boundary_nodes(tag)
        rn, rw = ref_lumped(p, fn, ref_facet_measure(p, fn))
        assert np.array_equal(nodes, rn) and np.all(np.abs(w - rw) <= TOL * rw)


def test_points_inside_elements_are_located_as_before(dev):
    top = dev.topology
    rng = np.random.default_rng(5)
    e = rng.integers(0, top.t.shape[1], 300)
    lam = rng.dirichlet(np.full(top.t.shape[0], 2.0), e.size)
    lam = lam[lam.min(axis=1) > 1e-3]  # strictly inside: one element holds each point
    e = e[:len(lam)]
    pts = np.einsum("pi,dip->pd", lam, top.p[:, top.t[:, e]])
    el, w = F.locate(dev, pts)
    rel, rbary, _ = ref_locate(top.p, top.t, pts)
    assert np.array_equal(el, e) and np.array_equal(rel, e)
    assert np.max(np.abs(w.T - rbary)) <= TOL  # barycentric coordinates are O(1)
    assert np.max(np.abs(w.T - lam)) <= 1e-12  # and they are the weights the points were made with (x ~ 1)


def _face_points(top, rng):
    """Nodes, facet midpoints and random points on facets of the device's elements."""
    d1 = top.t.shape[0]
    e = rng.integers(0, top.t.shape[1], 80)
    on_face = rng.dirichlet(np.ones(d1 - 1), e.size) if d1 > 2 else np.ones((e.size, 1))
    face = np.einsum("pi,dip->pd", on_face, top.p[:, top.t[:d1 - 1, e]])  # the face opposite the last vertex
    mid = top.p[:, top.t[:d1 - 1, e[:40]]].mean(axis=1).T
    return np.vstack([top.p.T[rng.permutation(top.n_nodes)[:80]], face, mid])


def test_points_on_faces_and_vertices_are_located_as_before(dev):
    # on a face the old rule (most inside, first on ties) is kept; two elements sharing the face hold the
    # point to rounding, so which one wins may differ from the reference by rounding: then both must hold
    # the point, and the P1 value (weights on the nodes) must be the same unless the face is a tunnel
    # interface (its two sides are different nodes)
    top = dev.topology
    pts = _face_points(top, np.random.default_rng(7))
    el, w = F.locate(dev, pts)
    rel, rbary, _ = ref_locate(top.p, top.t, pts)
    same = el == rel
    assert np.max(np.abs(w.T[same] - rbary[same])) <= TOL
    # where the choice differs, both elements hold the point (to rounding)
    assert np.all(np.min(w.T[~same], axis=1) >= -1e-12) and np.all(rbary[~same].min(axis=1) >= -1e-12)
    n = top.n_nodes
    W = sps.csr_matrix((w.ravel(), (np.tile(np.arange(len(pts)), w.shape[0]), top.t[:, el].ravel())), (len(pts), n))
    R = sps.csr_matrix((rbary.T.ravel(), (np.tile(np.arange(len(pts)), w.shape[0]), top.t[:, rel].ravel())),
                       (len(pts), n))
    split = np.zeros(n, bool)
    for link in dev.boundary.barriers:
        split[link.nodes_a] = split[link.nodes_b] = True
    keep = ~(((W != 0).astype(int) @ split) | ((R != 0).astype(int) @ split)).astype(bool)
    assert np.max(np.abs((W - R)[keep].toarray()), initial=0.0) <= TOL
    assert np.max(np.abs(W @ top.p.T - pts)) <= TOL * np.ptp(top.p, axis=1).max()  # the points themselves


def test_points_outside_are_named_and_points_within_the_slack_are_found(dev):
    top = dev.topology
    lo, hi = top.p.min(axis=1), top.p.max(axis=1)
    far = hi + 0.5 * (hi - lo)
    inside = top.p[:, top.t[:, 0]].mean(axis=1)
    with pytest.raises(usadel.UsadelError, match=r"points outside the mesh: \[\[" + f"{far[0]}"):
        F.locate(dev, np.vstack([inside, far, inside]))
    corner = top.p[:, np.argmin(top.p.sum(axis=0))]  # a node on the boundary, pushed out by 1e-12 of the extent
    el, w = F.locate(dev, (corner - 1e-12 * (hi - lo))[None, :])  # within LOCATE_SLACK: found, as before
    assert np.all(w >= -F.LOCATE_SLACK) and abs(w.sum() - 1) <= TOL
    with pytest.raises(usadel.UsadelError, match="finite"):
        F.locate(dev, np.full((1, top.dim), np.nan))


def test_scikit_fem_finders_need_the_fallback():
    # what scikit-fem 12's element finders do, and why usadel.skfem_geometry.locate only takes their proposal:
    # a 1D mesh with split nodes (a tunnel interface at x = 2; the right copy numbered first) ...
    p = np.array([[0.0, 1.0, 2.0, 2.0, 3.0]])
    t = np.array([[0, 1, 2], [1, 3, 4]])
    finder = simplex_mesh(p, t).element_finder()
    with pytest.raises(ValueError):
        finder(np.array([1.5]))  # ... is missed by the finder,
    with pytest.raises((ValueError, IndexError)):
        simplex_mesh(p[:, [0, 1, 2, 4]], np.array([[0, 1, 2], [1, 2, 3]])).element_finder()(np.array([3.5]))
    tri = simplex_mesh(*(lambda m: (m.p, m.t))(skfem.MeshTri()))
    with pytest.raises(ValueError):  # a whole batch fails for one point outside, without naming it
        tri.element_finder()(np.array([0.5, 2.0]), np.array([0.5, 2.0]))
    mesh = simplex_mesh(p, t)
    _, _, mapping = cell_geometry(mesh)
    x = np.array([[1.5], [2.5], [0.0], [3.0], [2.0]])
    el, w = locate(mesh, mapping, x, F.LOCATE_SLACK, F.LOCATE_BLOCK)  # ... but not by usadel's locate
    assert np.array_equal(el[:4], [1, 2, 0, 2]) and el[4] in (1, 2)
    assert np.max(np.abs(np.einsum("ip,ip->p", w, p[0, t[:, el]]) - x[:, 0])) <= TOL


def test_facet_measure_refuses_nodes_that_are_not_a_facet():
    m = usadel.meshes.strip(1.0, 1.0, 2, 2)
    with pytest.raises(usadel.UsadelError, match="not a facet"):
        facet_measure(m.p, m.t, np.array([[0], [8]]), np.array([0]))


def test_wire_networks_keep_the_tangential_path():
    net = usadel.meshes.network({"a": (0.0, 0.0), "b": (3.0, 4.0), "c": (3.0, 0.0)},
                                [("a", "b", 5, "N"), ("b", "c", 4, "N")])
    dev = usadel.Device(net, {"N": usadel.Material()})
    ops = dev.operators
    assert ops.skfem_mesh is None and ops.element_finder is None
    # tangential gradients: along each wire, of length 1/h (h = 1 on both wires)
    assert np.allclose(np.linalg.norm(ops.grad, axis=-1), 1.0, rtol=0, atol=TOL) and np.allclose(ops.vol, 1.0, atol=TOL)
    el, w = F.locate(dev, np.array([[1.5, 2.0], [3.0, 2.5]]))
    top = dev.topology
    assert np.allclose(np.einsum("ip,dip->pd", w, top.p[:, top.t[:, el]]), [[1.5, 2.0], [3.0, 2.5]], atol=TOL)


def test_point_facets_of_a_line_have_measure_one():
    # facet_measure returns 1 for 1D point facets without building a FacetBasis; this is what FacetBasis gives
    p, t = np.array([[0.0, 0.3, 1.0]]), np.array([[0, 1], [1, 2]])
    fb = skfem.FacetBasis(simplex_mesh(p, t), skfem.ElementLineP1(), facets=np.array([0, 1, 2]))
    assert np.array_equal(fb.dx.sum(axis=1), np.ones(3))
    assert np.array_equal(facet_measure(p, t, np.array([[0, 2]]), np.array([0, 1])), np.ones(2))
