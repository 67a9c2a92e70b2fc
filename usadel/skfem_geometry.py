"""P1 geometry, facet measures and point location from scikit-fem (issue 16).

For a mesh of full-dimensional simplices (intervals on a line, triangles in the plane, tetrahedra in
space) the P1 geometry comes from scikit-fem's affine mappings instead of hand-written formulas:

- :func:`cell_geometry`: the P1 basis gradients (constant per element) and the element volumes from
  ``skfem.CellBasis(mesh, ElementLineP1/ElementTriP1/ElementTetP1)`` with the one-point centroid
  rule (:func:`centroid_rule`): the gradient of basis function i is ``basis.basis[i][0].grad`` at
  that point, the volume ``basis.dx`` there (weight 1/d! times |det J|);
- :func:`facet_measure`: lengths (2D) and areas (3D) of facets as ``skfem.FacetBasis(...).dx`` at
  the facet's centroid, on the small mesh of the facets' own elements (so a contact of a few facets
  costs no facet numbering of the whole mesh); the point facets of a 1D mesh have measure 1;
- :func:`locate`: the element holding each point from the mesh's ``element_finder()`` and its
  barycentric coordinates from the mapping's ``invF`` (reference coordinates X: barycentric
  (1 - sum X, X)).

Meshes are built with the device's own vertex order (``sort_t=False``): the local basis function
i of an element is its vertex ``t[i]``, as the rest of the package expects.

Not from scikit-fem: wire networks (1-simplices embedded in 2D or 3D, ``t.shape[0] - 1 < dim``),
whose tangential gradients scikit-fem's affine mappings do not provide (their Jacobians are not
square: ``usadel.fem.p1_gradients`` keeps the hand-written (J^T J)^-1 J^T there, networks carry their
facet areas, and ``usadel.networks.locate_on_wires`` locates points); the measure 1 of 1D point
facets; and the rule that decides a point on an element face or outside (:func:`locate`: scikit-fem's
finder only proposes an element). The mesh checks before a Device is built (``usadel.meshes.check``
and the volumes in ``usadel.device``) stay hand-written.
"""

import math

import numpy as np
import skfem

from .errors import UsadelError

__all__ = ["simplex_mesh", "centroid_rule", "cell_geometry", "facet_measure", "locate"]

#: scikit-fem mesh and P1 element per dimension of a full-dimensional simplex mesh
_KINDS = {1: (skfem.MeshLine1, skfem.ElementLineP1), 2: (skfem.MeshTri, skfem.ElementTriP1),
          3: (skfem.MeshTet, skfem.ElementTetP1)}


def centroid_rule(d):
    """One-point quadrature on the reference d-simplex: its centroid, weight = its volume 1/d!. Exact for
    P1 gradients (constant) and volumes; given to CellBasis directly, as scikit-fem's own rule for lines
    is computed afresh (Gauss-Legendre) for every basis."""
    return np.full((d, 1), 1.0 / (d + 1)), np.array([1.0 / math.factorial(d)])


def simplex_mesh(p, t):
    """The scikit-fem mesh with nodes ``p`` (dim, n) and elements ``t`` (d+1, n_el) in this order, or None
    when the elements are not full-dimensional (wire networks) or the dimension has no P1 simplex."""
    p, t = np.asarray(p), np.asarray(t)
    if t.shape[0] - 1 != p.shape[0] or p.shape[0] not in _KINDS:
        return None
    mesh_type = _KINDS[p.shape[0]][0]
    # sort_t=False: scikit-fem's triangles would otherwise sort each element's vertices (the local basis
    # order must stay t's); validate=False: split nodes of tunnel interfaces are duplicated coordinates
    return mesh_type(np.ascontiguousarray(p, dtype=float), np.ascontiguousarray(t, dtype=np.int32),
                     sort_t=False, validate=False)


def _element(mesh):
    return _KINDS[mesh.p.shape[0]][1]()


def cell_geometry(mesh):
    """P1 gradients (n_el, d+1, dim), element volumes (n_el,) and the affine mapping of a scikit-fem mesh
    (from :func:`simplex_mesh`), from ``skfem.CellBasis``."""
    basis = skfem.CellBasis(mesh, _element(mesh), quadrature=centroid_rule(mesh.p.shape[0]))
    grad = np.stack([b[0].grad[:, :, 0] for b in basis.basis], axis=1)  # dim, d+1, n_el
    return np.ascontiguousarray(grad.transpose(2, 1, 0)), basis.dx.sum(axis=1), basis.mapping


def facet_measure(p, t, nodes, owners):
    """Measure of each facet given by its nodes (d, n_facets) and an element holding it (n_facets,): lengths
    or areas from ``skfem.FacetBasis`` on the mesh of the facets' own elements; 1 for the points of a 1D
    mesh (the counting measure, which is what FacetBasis gives there too, without building one: it would
    cost ~0.2 ms per contact, a few % of a whole 1D spectral solve in ``benchmarks/work_precision.py``).

    Raises UsadelError if the nodes of a facet are not a facet of its element.
    """
    nodes, owners = np.asarray(nodes), np.asarray(owners)
    if nodes.shape[0] == 1 and np.asarray(p).shape[0] == 1:
        return np.ones(nodes.shape[1])
    if nodes.shape[1] == 0:
        return np.zeros(0)
    own = np.unique(owners)
    sub = simplex_mesh(p, np.asarray(t)[:, own])
    if sub is None:
        raise UsadelError(f"facet measures need full-dimensional simplices, got elements of {t.shape[0]} nodes "
                          f"in {p.shape[0]}D")
    nsub = sub.facets.shape[1]
    both = np.hstack([sub.facets, np.sort(nodes, axis=0)]).T  # scikit-fem's facets are sorted columns
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.ravel()
    where = np.full(inv.max() + 1, -1)
    where[inv[:nsub]] = np.arange(nsub)
    idx = where[inv[nsub:]]
    if np.any(idx < 0):
        raise UsadelError(f"facet measure: nodes {nodes[:, idx < 0][:, 0].tolist()} are not a facet of the "
                          f"elements given")
    fb = skfem.FacetBasis(sub, _element(sub), facets=idx, quadrature=centroid_rule(sub.p.shape[0] - 1))
    return fb.dx.sum(axis=1)


def _barycentric(mapping, pts, cells):
    """Barycentric coordinates (n, d+1) of points ``pts`` (n, dim) in elements ``cells`` (n,), from the
    mapping's inverse (reference coordinates X; barycentric (1 - sum X, X))."""
    X = mapping.invF(pts.T[:, :, None], tind=cells)[:, :, 0].T  # n, d
    return np.concatenate([1.0 - X.sum(axis=1, keepdims=True), X], axis=1)


def _most_inside(mapping, n_el, pts, block):
    """Exhaustive search: for each point the element where its smallest barycentric coordinate is largest
    (the first such element on ties), that element's coordinates and that smallest coordinate. In blocks of
    at most ``block`` point-element pairs (~100 bytes each in 2D)."""
    n, dim = pts.shape
    el, bary, inside = np.zeros(n, int), np.zeros((n, dim + 1)), np.zeros(n)
    step = max(1, int(block // n_el))
    for i in range(0, n, step):
        q = pts[i:i + step]
        X = mapping.invF(np.broadcast_to(q.T[:, None, :], (dim, n_el, len(q))))  # d, n_el, points
        b = np.concatenate([1.0 - X.sum(axis=0, keepdims=True), X])
        small = b.min(axis=0)
        best = np.argmax(small, axis=0)
        cols = np.arange(len(q))
        el[i:i + step], bary[i:i + step], inside[i:i + step] = best, b[:, best, cols].T, small[best, cols]
    return el, bary, inside


def locate(mesh, mapping, pts, slack, block, finder=None):
    """Element index (n,) and barycentric weights (d+1, n) of points ``pts`` (n, dim) in a scikit-fem mesh.

    Each block of points goes to the mesh's ``element_finder()`` (``finder``, if given: the one made once
    for this mesh); the element it names is checked with the barycentric coordinates from the mapping. A
    point whose smallest coordinate there exceeds ``slack`` lies strictly inside that element, the only one
    holding it: done. The other points (on an element face or within ``slack`` of one, outside the mesh,
    or a block where the finder raised) are searched among all elements, as before scikit-fem was used:
    the element where the smallest barycentric coordinate is largest (the first such element on ties; on a
    face shared by two elements that is decided by rounding, so the choice is arbitrary but the P1 value
    the same, except across a tunnel interface, whose two sides differ: probe beside it). Points whose
    coordinates there are below -``slack`` are outside the mesh: UsadelError naming them.

    scikit-fem's finders are used only to propose an element, because (scikit-fem 12) they raise for a
    whole batch if one point is outside (a ValueError, or an IndexError beyond the right end of a 1D mesh),
    accept points within machine epsilon only, test every point of a batch against every nearest-centroid
    candidate of the batch (memory grows with the square of the batch: hence blocks of points), and in
    1D can miss points next to split nodes (tunnel interfaces: duplicated coordinates).
    """
    n_el = mesh.t.shape[1]
    finder = mesh.element_finder(mapping=mapping) if finder is None else finder
    n = len(pts)
    el = np.zeros(n, int)
    bary = np.zeros((n, mesh.t.shape[0]))
    inside = np.full(n, -np.inf)
    # the finder's first pass compares every point of a block with up to 10 candidates of each point
    step = max(1, int(min(block // n_el, math.sqrt(block / 10))))
    for i in range(0, n, step):
        q = pts[i:i + step]
        try:
            cells = np.asarray(finder(*q.T), dtype=int)
        except (ValueError, IndexError):  # a point outside the mesh or one the finder missed: searched below
            continue
        if cells.shape != (len(q),) or np.any((cells < 0) | (cells >= n_el)):
            continue
        b = _barycentric(mapping, q, cells)
        el[i:i + step], bary[i:i + step], inside[i:i + step] = cells, b, b.min(axis=1)
    redo = np.nonzero(inside <= slack)[0]
    if redo.size:
        el[redo], bary[redo], inside[redo] = _most_inside(mapping, n_el, pts[redo], block)
    if np.any(inside < -slack):
        raise UsadelError(f"points outside the mesh: {pts[inside < -slack][:5].tolist()}")
    return el, bary.T
