"""Meshes: 1D wires built here, 2D meshes loaded from gmsh files.

A usadel mesh is a :class:`skfem.Mesh` whose ``subdomains`` name the regions
(element index arrays) and whose ``boundaries`` name the tagged boundaries
(facet index arrays). Region and boundary names are what
:class:`usadel.Device` refers to. Every builder checks its arguments before
any work, tags boundaries independently of the length unit and of the
distance from the origin, and :func:`check` validates any mesh.

Examples
--------
>>> import usadel
>>> m = usadel.meshes.interval(2.0, 10)
>>> sorted(m.subdomains), sorted(m.boundaries)
(['wire'], ['left', 'right'])
>>> m = usadel.meshes.wire([("S", 1.0, 20), ("N", 3.0, 60)])
>>> sorted(m.subdomains)
['N', 'S']
>>> m = usadel.meshes.interval(1e-9, 20)   # SI units: still one facet per end
>>> {k: len(v) for k, v in sorted(m.boundaries.items())}
{'left': 1, 'right': 1}
"""

import contextlib
import io
import logging
import os

import numpy as np
import skfem

from .errors import UsadelError
from .networks import NetworkMesh, network
from .validate import MAX_ABS, integer, real, real_array

__all__ = ["interval", "wire", "strip", "cross", "network", "load", "refined", "describe", "check"]

log = logging.getLogger(__name__)

#: smallest cell size relative to the largest coordinate magnitude: below it
#: float64 rounding of the node coordinates (2e-16 |x|) changes cell sizes
#: by more than 1e-6
RESOLUTION = 1e-10
#: most elements along one direction of a builder: beyond it the operators alone exceed the memory budget
MAX_ELEMENTS = 10_000_000

_SIMPLEX = {1: "line", 2: "triangle", 3: "tetra"}
_MESH = {1: skfem.MeshLine1, 2: skfem.MeshTri, 3: skfem.MeshTet}
_GROUP = {0: "physical point", 1: "physical curve", 2: "physical surface", 3: "physical volume"}


def _count(name, value):
    """``value`` as a positive int (the number of elements along a direction), at most ``MAX_ELEMENTS``."""
    v = integer(name, value, lo=None)
    if v < 1:
        raise UsadelError(f"{name} must be a positive integer, got {v}")
    if v > MAX_ELEMENTS:
        raise UsadelError(f"{name} = {v} is more elements than any solver here can hold (at most "
                          f"{MAX_ELEMENTS:.0e}: every element costs hundreds of bytes in the FEM operators "
                          f"and the 4 GB memory budget, usadel.budget, would be exceeded)")
    return v


def _name(name, value):
    if not isinstance(value, str) or not value:
        raise UsadelError(f"{name} must be a non-empty string, got {value!r}")
    return value


def interval(length, n):
    """Uniform 1D wire on (0, length) with ``n`` elements.

    Parameters
    ----------
    length : float
        Length of the wire, > 0 (any unit: 1.0 or 1e-9 alike).
    n : int
        Number of elements, >= 1.

    Returns
    -------
    skfem.MeshLine1
        Region ``"wire"``; boundaries ``"left"`` (x = 0) and ``"right"``
        (x = length), one facet each.
    """
    length = real("interval: length", length, positive=True)
    n = _count("interval: n", n)
    return wire([("wire", length, n)])


def wire(segments, x0=0.0):
    """1D wire made of consecutive regions.

    Parameters
    ----------
    segments : sequence of (name, length, n)
        Region name, its length (> 0) and its number of elements (>= 1),
        left to right. The same name may appear more than once (e.g. S-N-S
        with two "S").
    x0 : float
        Coordinate of the left end. Elements are uniform within each segment.

    Returns
    -------
    skfem.MeshLine1
        With subdomains per region name and boundaries ``"left"`` (the first
        node, x = x0) and ``"right"`` (the last node), one facet each. The
        points where two different regions meet are interfaces; a
        :class:`usadel.Device` can make them tunnel barriers.

    Raises
    ------
    UsadelError
        For a malformed segment or ``x0``, and when float64 cannot resolve
        the elements at the wire's coordinates (element lengths below
        1e-10 of the largest |x|, e.g. 1 nm elements at x0 = 1e8).
    """
    if isinstance(segments, (str, bytes, dict)) or not hasattr(segments, "__iter__"):
        raise UsadelError(f"wire: segments must be a list of (name, length, n), got {segments!r}")
    segments = list(segments)
    if not segments:
        raise UsadelError("wire: need at least one segment")
    x = x0 = real("wire: x0", x0)
    pts = [np.array([x0])]
    names = []
    for seg in segments:
        try:
            if isinstance(seg, (str, bytes)):
                raise TypeError
            name, length, n = seg
        except (TypeError, ValueError):
            raise UsadelError(f"wire: segment {seg!r} is not (name, length, n)") from None
        name = _name("wire: region name", name)
        length = real(f"wire: length of segment {name!r}", length, positive=True)
        n = _count(f"wire: n of segment {name!r}", n)
        pts.append(x + np.linspace(0.0, length, n + 1)[1:])
        names += [name] * n
        x = float(pts[-1][-1])
    p = np.concatenate(pts)
    if not abs(x) <= MAX_ABS:
        raise UsadelError(f"wire: the right end x = {x!r} is out of range (|x| <= {MAX_ABS:.0e}); "
                          f"rescale the units")
    h, xmax = np.diff(p), np.max(np.abs(p))
    if not np.all(h > RESOLUTION * xmax):
        raise UsadelError(f"wire: elements of length {np.min(np.abs(h)):.3g} at |x| up to {xmax:.3g} cannot be "
                          f"resolved in float64 (node coordinates must increase by at least {RESOLUTION:g} of "
                          f"max|x|); move x0 closer to 0 or use fewer elements")
    nel = p.size - 1
    mesh = skfem.MeshLine1(p[None, :], np.vstack([np.arange(nel), np.arange(1, nel + 1)]))
    names = np.array(names)
    sub = {nm: np.flatnonzero(names == nm) for nm in dict.fromkeys(names.tolist())}
    # the ends are the first and the last node: no coordinate comparison
    node = mesh.facets[0]
    return mesh.with_subdomains(sub).with_boundaries({
        "left": np.flatnonzero(node == 0), "right": np.flatnonzero(node == nel)})


def strip(length, width, nx, ny, region="wire"):
    """2D rectangle (0, length) x (0, width) of triangles.

    Parameters
    ----------
    length, width : float
        Sides of the rectangle, > 0 (any unit).
    nx, ny : int
        Numbers of cells along x and y, >= 1 (each rectangle is cut into
        two triangles).
    region : str
        Name of the single region.

    Returns
    -------
    skfem.MeshTri
        Boundaries ``"left"``, ``"right"`` (the contacts; ``ny`` facets each)
        and ``"bottom"``, ``"top"`` (``nx`` facets each). Used to check that
        2D meshes reproduce the 1D answer.
    """
    length = real("strip: length", length, positive=True)
    width = real("strip: width", width, positive=True)
    nx, ny = _count("strip: nx", nx), _count("strip: ny", ny)
    region = _name("strip: region", region)
    m = skfem.MeshTri.init_tensor(np.linspace(0, length, nx + 1), np.linspace(0, width, ny + 1))
    m = m.with_subdomains({region: np.arange(m.t.shape[1])})
    # facet midpoints: a quarter cell away from an edge is unambiguous at any scale
    hx, hy = length / nx / 4, width / ny / 4
    return m.with_boundaries({
        "left": lambda x: x[0] < hx,
        "right": lambda x: x[0] > length - hx,
        "bottom": lambda x: x[1] < hy,
        "top": lambda x: x[1] > width - hy,
    })


def cross(length, width, n_width=4, region="cross"):
    """2D cross: arms (-length, length) along x and y, each ``width`` wide, of square cells.

    The 2D counterpart of a four-terminal network (:func:`network`): as ``width``
    shrinks at fixed conductance per length (``sigma * width``) it tends to the
    network of four wires meeting at the origin, with O(width) corrections.

    Parameters
    ----------
    length : float
        Distance from the centre to each arm's end, > width/2.
    width : float
        Arm width, > 0.
    n_width : int
        Square cells across an arm (each cut into two triangles), >= 1.

    Returns
    -------
    skfem.MeshTri
        One region; boundaries ``"left"``, ``"right"``, ``"bottom"``, ``"top"``: the arms' ends.
    """
    length = real("cross: length", length, positive=True)
    width = real("cross: width", width, positive=True)
    n_width = _count("cross: n_width", n_width)
    region = _name("cross: region", region)
    n = 2 * int(round(n_width * length / width))
    if not width < length or n > MAX_ELEMENTS:
        raise UsadelError(f"cross: need width < length and at most {MAX_ELEMENTS:.0e} cells along an arm, "
                          f"got length {length:g}, width {width:g}, n_width {n_width}")
    half = np.linspace(-length, length, n + 1)
    m = skfem.MeshTri.init_tensor(half, half)
    c = m.p[:, m.t].mean(axis=1)
    keep = (np.abs(c[1]) < width / 2) | (np.abs(c[0]) < width / 2)
    used = np.unique(m.t[:, keep])
    new = np.full(m.p.shape[1], -1)
    new[used] = np.arange(used.size)
    m = skfem.MeshTri(np.ascontiguousarray(m.p[:, used]), np.ascontiguousarray(new[m.t[:, keep]]))
    q = length / n / 2  # facet midpoints: half a cell from an arm's end is unambiguous at any scale
    return m.with_subdomains({region: np.arange(m.t.shape[1])}).with_boundaries({
        "left": lambda x: x[0] < -length + q, "right": lambda x: x[0] > length - q,
        "bottom": lambda x: x[1] < -length + q, "top": lambda x: x[1] > length - q})


def refined(mesh, times=1):
    """Uniformly refined copy of a mesh, keeping region and boundary tags.

    Parameters
    ----------
    mesh : skfem.Mesh or NetworkMesh
    times : int
        Number of refinements, >= 0 (each halves the element size).
    """
    times = integer("refined: times", times, lo=0)
    if isinstance(mesh, NetworkMesh):  # every wire with 2**times as many elements
        nodes, wires = mesh.spec
        return network(nodes, [(a, b, n * 2**times, reg, cs) for a, b, n, reg, cs in wires])
    if not isinstance(mesh, skfem.Mesh):
        raise UsadelError(f"refined: mesh must be a skfem.Mesh or a NetworkMesh, got {type(mesh).__name__}")
    return mesh.refined(times)


def _check_index(what, name, idx, size, item):
    idx = np.asarray(idx)
    if idx.ndim != 1 or idx.size == 0:
        raise UsadelError(f"mesh {what} {name!r} has no {item}s")
    if idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= size:
        raise UsadelError(f"mesh {what} {name!r} must hold {item} indices in [0, {size}), "
                          f"got {idx.dtype} values in [{idx.min()}, {idx.max()}]")
    if np.unique(idx).size != idx.size:
        raise UsadelError(f"mesh {what} {name!r} lists some {item}s more than once")


def check(mesh):
    """Validate a mesh before any solver sees it.

    Checks that the node coordinates are finite and at most 1e150 in
    magnitude; the cells are simplices (1D lines, triangles, tetrahedra)
    whose node indices exist; every node belongs to a cell (an orphan node
    leaves the FEM matrices singular); no cell is degenerate or too small for
    float64 to resolve at its coordinates (all tolerances are relative to
    the cells' own size and to max|x|, never absolute, so meshes in SI units
    pass); no two nodes coincide (the cells meeting there would not be
    connected); region and boundary tags are non-empty arrays of distinct,
    valid element / facet indices.

    Parameters
    ----------
    mesh : skfem.Mesh

    Returns
    -------
    skfem.Mesh
        ``mesh`` itself.

    Raises
    ------
    UsadelError
        Naming the problem, how many nodes or cells have it and an example.

    Examples
    --------
    >>> import numpy as np, skfem
    >>> check(interval(1e-9, 10)).t.shape
    (2, 10)
    >>> check(skfem.MeshLine1(np.array([[0.0, 1.0, 2.0, 5.0]]), np.array([[0, 1], [1, 2]])))
    Traceback (most recent call last):
    ...
    usadel.errors.UsadelError: mesh has 1 orphan nodes (used by no cell), e.g. node 3 at [5.0]; they make the FEM matrices singular: remove them
    """
    if isinstance(mesh, NetworkMesh):  # checked by its builder, usadel.meshes.network
        return mesh
    if not isinstance(mesh, skfem.Mesh):
        raise UsadelError(f"mesh must be a skfem.Mesh or a NetworkMesh (e.g. from usadel.meshes), "
                          f"got {type(mesh).__name__}")
    p = real_array("mesh node coordinates", mesh.p, ndim=2)
    t = np.asarray(mesh.t)
    dim, n = p.shape
    if t.ndim != 2 or t.shape[0] != dim + 1 or t.shape[1] == 0 or t.dtype.kind not in "iu":
        raise UsadelError(f"mesh cells must be {dim}D simplices ({dim + 1} nodes each, e.g. "
                          f"skfem.{_MESH.get(dim, skfem.MeshTri).__name__}), got cells of shape {t.shape}")
    if t.min() < 0 or t.max() >= n:
        raise UsadelError(f"mesh cells refer to nodes outside 0..{n - 1} (found {t.min()}..{t.max()})")
    used = np.zeros(n, bool)
    used[t.ravel()] = True
    if not used.all():
        orphan = np.flatnonzero(~used)
        raise UsadelError(f"mesh has {orphan.size} orphan nodes (used by no cell), e.g. node {orphan[0]} at "
                          f"{p[:, orphan[0]].tolist()}; they make the FEM matrices singular: remove them")
    _check_cells(p, t)
    for name, idx in (mesh.subdomains or {}).items():
        _check_index("region", name, idx, t.shape[1], "element")
    for name, idx in (mesh.boundaries or {}).items():
        _check_index("boundary tag", name, idx, mesh.facets.shape[1], "facet")
    return mesh


def _check_cells(p, t):
    """No degenerate, unresolvable or disconnected cells (tolerances relative to the cells' own size)."""
    from scipy.spatial import cKDTree

    dim = p.shape[0]
    X = p[:, t]  # dim, dim + 1, n_el
    hmax = np.max([np.linalg.norm(X[:, a] - X[:, b], axis=0) for a in range(dim + 1) for b in range(a)], axis=0)
    scale = np.max(np.abs(p))
    tiny = np.flatnonzero(~(hmax > RESOLUTION * scale))
    if tiny.size:
        raise UsadelError(f"mesh has {tiny.size} degenerate or unresolvable cells, e.g. cell {tiny[0]} of size "
                          f"{hmax[tiny[0]]:.3g}: cells must be larger than {RESOLUTION:g} of max|x| = {scale:.3g} "
                          f"for float64 to resolve them (move the origin closer to the device?)")
    detJ = np.abs(np.linalg.det(np.moveaxis(X[:, 1:] - X[:, :1], -1, 0)))
    # a flat cell, allowing for the rounding of coordinates as large as max|x|
    floor = 1e-10 * hmax ** dim + 8 * np.finfo(float).eps * scale * hmax ** (dim - 1)
    flat = np.flatnonzero(~(detJ > floor))
    if flat.size:
        raise UsadelError(f"mesh has {flat.size} degenerate cells (zero volume relative to their size), "
                          f"e.g. cells {flat[:5].tolist()}")
    radius = 0.5 * RESOLUTION * hmax.min() + 8 * np.finfo(float).eps * scale
    pairs = cKDTree(p.T).query_pairs(radius, output_type="ndarray")
    if len(pairs):
        i, j = pairs[0]
        raise UsadelError(f"mesh has {len(pairs)} pairs of coincident nodes, e.g. nodes {i} and {j} at "
                          f"{p[:, i].tolist()}: the cells meeting there are not connected (a non-conforming "
                          f"mesh; fragment the geometry in gmsh). Tunnel interfaces need no split nodes")


def _groups(m, celltype, dim):
    """Named groups of a meshio mesh: {name: indices into ``m.cells_dict[celltype]``}.

    ``dim`` is the dimension of ``celltype``. From ``cell_sets`` (MSH 4.1
    and most formats) or, for MSH 2.2, from the ``gmsh:physical`` tags and
    ``field_data``.
    """
    if m.cell_sets:
        return {k: np.asarray(v[celltype], dtype=int) for k, v in m.cell_sets_dict.items()
                if not k.startswith("gmsh:") and len(v.get(celltype, ()))}
    tags = m.cell_data_dict.get("gmsh:physical", {}).get(celltype)
    if tags is None:
        return {}
    return {k: np.flatnonzero(tags == v[0]) for k, v in m.field_data.items()
            if len(v) == 2 and v[1] == dim and np.any(tags == v[0])}


def load(path):
    """Load a gmsh (or any meshio-readable) mesh with named physical groups.

    Physical surfaces (2D) / curves (1D) become regions, physical curves /
    points on the boundary or between regions become boundary tags.
    gmsh's bookkeeping subdomain ``gmsh:bounding_entities`` is dropped.

    Parameters
    ----------
    path : str or path-like
        MSH 4.1 (or 2.2) file; gmsh writes the former by default.

    Returns
    -------
    skfem.MeshTri or skfem.MeshLine1 (skfem.MeshTet for volumes)
        Validated with :func:`check`.

    Raises
    ------
    UsadelError
        When the file cannot be read; holds no first-order simplices of one
        kind (quads, second-order or mixed elements); lies outside the x-y
        plane (2D) or the x axis (1D), e.g. a file with only the lines of a
        2D geometry; has no named regions, elements in no named region (an
        unnamed physical surface) or in several; has boundary segments that
        are not facets of the mesh; or fails :func:`check` (orphan nodes, ...).
    """
    import meshio

    if not isinstance(path, (str, os.PathLike)):
        raise UsadelError(f"load: path must be a file name, got {path!r}")
    where = f"load: {os.fspath(path)}"
    if not os.path.isfile(path):
        raise UsadelError(f"{where}: no such file")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            m = meshio.read(os.fspath(path))
    except (Exception, SystemExit) as exc:  # meshio raises many types, and exits on a file it cannot parse
        why = str(exc) if isinstance(exc, Exception) else " ".join(printed.getvalue().split()) or "unknown format"
        raise UsadelError(f"{where}: cannot read mesh: {why}") from None
    if not m.field_data and not any(not k.startswith("gmsh:") for k in m.cell_sets):
        raise UsadelError(f"{where} has no named physical groups; name them in gmsh")
    dims = {c.type: c.dim for c in m.cells}
    dim = max(dims.values(), default=0)
    top = sorted(k for k, d in dims.items() if d == dim)
    if dim < 1 or top != [_SIMPLEX.get(dim)]:
        raise UsadelError(f"{where}: needs first-order simplices of one kind ({', '.join(_SIMPLEX.values())}), "
                          f"got {top or 'no cells'}; generate a first-order simplex mesh")
    kind, facet = top[0], {1: "vertex", 2: "line", 3: "triangle"}[dim]
    pts = np.asarray(m.points, float)
    extent = np.ptp(pts[:, :dim], axis=0).max()
    if pts.shape[1] > dim and np.ptp(pts[:, dim:], axis=0).max() > RESOLUTION * extent:
        raise UsadelError(f"{where}: the {kind} elements do not lie "
                          f"{'on the x axis' if dim == 1 else 'in the x-y plane'}"
                          + (f" (a file of {kind}s only where {_GROUP[dim + 1]}s were expected? mesh in "
                             f"{dim + 1}D: gmsh -{dim + 1})" if dim < 3 else ""))
    mesh = _MESH[dim](np.ascontiguousarray(pts[:, :dim].T), np.ascontiguousarray(m.cells_dict[kind].T))
    sub = _regions(m, mesh, kind, dim, where)
    bnd = _boundary_tags(m, mesh, kind, facet, dim, where)
    lower = sorted({k for ct, d in dims.items() if d < dim - 1 for k in _groups(m, ct, d)})
    if lower:
        log.warning("%s: ignoring groups of dimension < %d: %s", where, dim - 1, lower)
    return check(_MESH[dim](mesh.p, mesh.t, bnd or None, sub))


def _regions(m, mesh, kind, dim, where):
    """Named regions of a meshio mesh: every element in exactly one."""
    sub = _groups(m, kind, dim)
    if not sub:
        raise UsadelError(f"{where} defines no named regions ({_GROUP[dim]}s)")
    covered = np.zeros(mesh.t.shape[1], int)
    for idx in sub.values():
        covered[idx] += 1
    if (covered == 0).any():
        phys = m.cell_data_dict.get("gmsh:physical", {}).get(kind)
        which = "" if phys is None else f" (physical tags {np.unique(phys[covered == 0]).tolist()})"
        raise UsadelError(f"{where}: {int((covered == 0).sum())} elements{which} belong to no named region; "
                          f"give every {_GROUP[dim]} a name in gmsh")
    if (covered > 1).any():
        raise UsadelError(f"{where}: {int((covered > 1).sum())} elements belong to several regions; "
                          f"a region is one named {_GROUP[dim]} and regions must not overlap")
    return sub


def _boundary_tags(m, mesh, kind, facet, dim, where):
    """Named facet groups of a meshio mesh as facet indices of the skfem mesh."""
    lookup = {f: i for i, f in enumerate(map(tuple, np.sort(mesh.facets, axis=0).T.tolist()))}
    bnd = {}
    for name, idx in _groups(m, facet, dim - 1).items():
        cells = np.sort(m.cells_dict[facet][idx], axis=1).tolist()
        found = [lookup.get(tuple(c), -1) for c in cells]
        if -1 in found:
            raise UsadelError(f"{where}: {found.count(-1)} of the {len(found)} {facet} cells of {_GROUP[dim - 1]} "
                              f"{name!r} are not facets of the {kind}s (a curve not fragmented with the "
                              f"surfaces?)")
        bnd[name] = np.unique(found)
    return bnd


def describe(mesh):
    """Text listing a mesh's regions (with element counts) and boundary tags (with facet counts).

    Examples
    --------
    >>> print(describe(wire([("S", 1.0, 4), ("N", 2.0, 6)])))
    MeshLine1: 11 nodes, 10 elements, extent 3
      regions: S (4 elements), N (6 elements)
      boundary tags: left (1 facet), right (1 facet)
    """
    check(mesh)

    def items(groups, what):
        out = []
        for name, idx in (groups or {}).items():
            k = int(np.size(idx))
            out.append(f"{name} ({k} {what}{'' if k == 1 else 's'})")
        return ", ".join(out) or "none"

    extent = float(np.ptp(mesh.p, axis=1).max())
    return (f"{type(mesh).__name__}: {mesh.p.shape[1]} nodes, {mesh.t.shape[1]} elements, extent {extent:.4g}\n"
            f"  regions: {items(mesh.subdomains, 'element')}\n"
            f"  boundary tags: {items(mesh.boundaries, 'facet')}")
