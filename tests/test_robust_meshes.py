"""Mesh builders, loader and check(): bad input raises UsadelError before any
work, and boundary tags do not depend on the length unit or on the distance
from the origin (issue "wrong numbers without an error")."""

import meshio
import numpy as np
import pytest
import skfem

import usadel
from usadel import UsadelError
from usadel.meshes import check, interval, load, refined, strip, wire


def end_nodes(m):
    """{tag: node indices of its facets} of a 1D mesh."""
    return {k: m.facets[0, v].tolist() for k, v in m.boundaries.items()}


# ---- 1. boundary tags at any scale -------------------------------------------------------------

@pytest.mark.parametrize("length", [1e-9, 3e-8, 1e-6, 1.0, 1e4])
def test_interval_tags_one_end_each_at_any_scale(length):
    m = interval(length, 20)
    assert end_nodes(m) == {"left": [0], "right": [20]}
    assert m.p[0, 0] == 0.0 and m.p[0, 20] == length


@pytest.mark.parametrize("x0", [1e5, 1e8, -1e8, 1e-6])
def test_wire_far_from_origin_tags_one_end_each(x0):
    m = wire([("S", 0.5, 20), ("N", 0.5, 30)], x0=x0)
    assert end_nodes(m) == {"left": [0], "right": [50]}
    assert m.p[0, 0] == x0 and np.all(np.diff(m.p[0]) > 0)
    assert {k: len(v) for k, v in m.subdomains.items()} == {"S": 20, "N": 30}


def test_wire_si_units_far_from_origin():
    m = wire([("S", 1e-7, 10), ("N", 2e-7, 10)], x0=1e-3)
    assert end_nodes(m) == {"left": [0], "right": [20]}


@pytest.mark.parametrize("length, width, nx, ny", [
    (1e-9, 1e-9, 4, 2), (1e-6, 1e-7, 7, 3), (1e-9, 1e-6, 3, 5), (1.0, 0.1, 160, 2), (1e3, 1e-9, 2, 2)])
def test_strip_tags_have_exactly_their_edge_facets(length, width, nx, ny):
    m = strip(length, width, nx, ny)
    b = m.boundaries
    assert {k: len(v) for k, v in b.items()} == {"left": ny, "right": ny, "bottom": nx, "top": nx}
    mid = m.p[:, m.facets].mean(axis=1)  # facet midpoints
    assert np.all(mid[0, b["left"]] == 0.0) and np.all(mid[0, b["right"]] == length)
    assert np.all(mid[1, b["bottom"]] == 0.0) and np.all(mid[1, b["top"]] == width)
    assert sorted(np.concatenate(list(b.values()))) == sorted(m.boundary_facets())


def test_refined_keeps_one_facet_per_end():
    m = refined(interval(1e-9, 4), 2)
    assert {k: len(v) for k, v in m.boundaries.items()} == {"left": 1, "right": 1}
    check(m)


# ---- 2. argument checks -------------------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: strip(1.0, 1.0, 0, 2), "strip: nx must be a positive integer"),
    (lambda: strip(1.0, 1.0, 2, -1), "strip: ny must be a positive integer"),
    (lambda: strip(1.0, 1.0, 2.5, 2), "strip: nx must be an integer"),
    (lambda: strip(1.0, 1.0, 2, True), "strip: ny must be an integer"),
    (lambda: strip(1.0, 1.0, "4", 2), "strip: nx must be an integer"),
    (lambda: strip(np.nan, 1.0, 2, 2), "strip: length must be finite"),
    (lambda: strip(1.0, np.inf, 2, 2), "strip: width must be finite"),
    (lambda: strip("1", 1.0, 2, 2), "strip: length must be a real number"),
    (lambda: strip(1.0, 0.0, 2, 2), "strip: width must be positive"),
    (lambda: strip(1e300, 1.0, 2, 2), "strip: length .* out of range"),
    (lambda: strip(1.0, 1.0, 2, 2, region=3), "strip: region must be a non-empty string"),
    (lambda: interval(1e300, 5), "interval: length .* out of range"),
    (lambda: interval(np.inf, 5), "interval: length must be finite"),
    (lambda: interval(np.nan, 5), "interval: length must be finite"),
    (lambda: interval("1", 5), "interval: length must be a real number"),
    (lambda: interval(1j, 5), "interval: length must be real"),
    (lambda: interval(1.0, "5"), "interval: n must be an integer"),
    (lambda: interval(1.0, True), "interval: n must be an integer"),
    (lambda: interval(1.0, 3.5), "interval: n must be an integer"),
    (lambda: interval(1.0, np.nan), "interval: n must be an integer"),
    (lambda: wire([("w", 1.0, 2)], x0=np.inf), "wire: x0 must be finite"),
    (lambda: wire([("w", 1.0, 2)], x0="0"), "wire: x0 must be a real number"),
    (lambda: wire([("w", 1.0, 2)], x0=1e200), "wire: x0 .* out of range"),
    (lambda: wire("S"), "wire: segments must be a list"),
    (lambda: wire(None), "wire: segments must be a list"),
    (lambda: wire([]), "wire: need at least one segment"),
    (lambda: wire([("w", 1.0)]), r"is not \(name, length, n\)"),
    (lambda: wire(["abc"]), r"is not \(name, length, n\)"),
    (lambda: wire([("w", 1.0, 2, 3)]), r"is not \(name, length, n\)"),
    (lambda: wire([5]), r"is not \(name, length, n\)"),
    (lambda: wire([("", 1.0, 2)]), "wire: region name must be a non-empty string"),
    (lambda: wire([(None, 1.0, 2)]), "wire: region name must be a non-empty string"),
    (lambda: wire([("w", "1", 2)]), "wire: length of segment 'w' must be a real number"),
    (lambda: wire([("w", np.nan, 2)]), "wire: length of segment 'w' must be finite"),
    (lambda: wire([("w", -1.0, 2)]), "wire: length of segment 'w' must be positive"),
    (lambda: wire([("w", 1.0, 0)]), "wire: n of segment 'w' must be a positive integer"),
    (lambda: wire([("w", 1.0, False)]), "wire: n of segment 'w' must be an integer"),
    (lambda: wire([("w", 1.0, 2.5)]), "wire: n of segment 'w' must be an integer"),
    (lambda: wire([("a", 1e150, 2), ("b", 1e150, 2)]), "wire: the right end .* out of range"),
    (lambda: refined(interval(1.0, 2), -1), "refined: times must be an integer >= 0"),
    (lambda: refined("mesh"), "refined: mesh must be a skfem.Mesh"),
])
def test_bad_builder_arguments_raise(make, match):
    with pytest.raises(UsadelError, match=match):
        make()


@pytest.mark.parametrize("segments, x0", [
    ([("w", 1e-9, 10)], 1e8),           # 1e-10 elements at 1e8: nodes collapse
    ([("w", 1e-9, 10)], 1e5),
    ([("S", 1.0, 10), ("N", 1e-6, 100)], 1e6),  # one segment unresolvable
])
def test_wire_unresolvable_in_float64_rejected(segments, x0):
    with pytest.raises(UsadelError, match="cannot be resolved in float64"):
        wire(segments, x0=x0)


def test_wire_just_resolvable_accepted():
    m = wire([("w", 2e-9, 10)], x0=1.0)  # elements 2e-10 of |x|
    assert np.all(np.diff(m.p[0]) > 0)
    check(m)


def test_builders_accept_numpy_scalars():
    m = wire([("w", np.float32(0.5), np.int64(4))], x0=np.float64(-1.0))
    assert m.t.shape == (2, 4) and m.p[0, 0] == -1.0
    assert strip(np.float64(1.0), 1, np.int32(3), 2.0).t.shape[1] == 12


# ---- 3. load ------------------------------------------------------------------------------------

ELTYPE = {0: 15, 1: 1, 2: 2, "quad": 3}
NNODES = {15: 1, 1: 2, 2: 3, 3: 4}


def write_msh(path, points, blocks, names):
    """Write an ASCII MSH 4.1 file by hand.

    points : (n, 2 or 3); blocks : [(dim, physical tags, cells (k, m) 0-based, element type or None)],
    one geometric entity per block; names : {(dim, physical tag): name} ($PhysicalNames).
    """
    pts = np.asarray(points, float)
    pts = np.hstack([pts, np.zeros((len(pts), 3 - pts.shape[1]))])
    out = ["$MeshFormat", "4.1 0 8", "$EndMeshFormat"]
    if names:
        out += ["$PhysicalNames", str(len(names))]
        out += [f'{d} {tag} "{name}"' for (d, tag), name in names.items()]
        out += ["$EndPhysicalNames"]
    count = [sum(1 for b in blocks if b[0] == d) for d in range(4)]
    out += ["$Entities", " ".join(map(str, count))]
    for k, (dim, phys, cells, _) in sorted(enumerate(blocks), key=lambda kb: kb[1][0]):  # by dimension
        box = "0 0 0" if dim == 0 else "0 0 0 1 1 0"
        tail = "" if dim == 0 else " 0"
        out.append(f"{k + 1} {box} {len(phys)} {' '.join(map(str, phys))}{tail}".replace("  ", " "))
    out += ["$EndEntities", "$Nodes", f"1 {len(pts)} 1 {len(pts)}", f"{blocks[0][0]} 1 0 {len(pts)}"]
    out += [str(i + 1) for i in range(len(pts))] + [" ".join(map(repr, p)) for p in pts.tolist()]
    out += ["$EndNodes"]
    n_el = sum(len(b[2]) for b in blocks)
    out += ["$Elements", f"{len(blocks)} {n_el} 1 {n_el}"]
    tag = 1
    for k, (dim, _, cells, etype) in enumerate(blocks):
        etype = etype or ELTYPE[dim]
        out.append(f"{dim} {k + 1} {etype} {len(cells)}")
        for c in np.asarray(cells).reshape(len(cells), NNODES[etype]):
            out.append(" ".join(map(str, [tag, *(np.asarray(c) + 1)])))
            tag += 1
    out += ["$EndElements"]
    path.write_text("\n".join(out) + "\n")
    return path


# unit square, 4 triangles around the centre node 4; left edge (0, 3), right edge (1, 2)
SQ = [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]]
TRI = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
NAMES = {(2, 1): "A", (2, 2): "B", (1, 3): "left", (1, 4): "right", (1, 5): "AB"}


def square(tmp_path, name="sq.msh", points=SQ, blocks=None, names=NAMES):
    blocks = blocks or [(2, [1], TRI[:2], None), (2, [2], TRI[2:], None),
                        (1, [3], [[3, 0]], None), (1, [4], [[1, 2]], None), (1, [5], [[2, 4]], None)]
    return write_msh(tmp_path / name, points, blocks, names)


def test_handwritten_msh_loads(tmp_path):
    m = load(square(tmp_path))
    assert {k: v.tolist() for k, v in m.subdomains.items()} == {"A": [0, 1], "B": [2, 3]}
    assert {k: len(v) for k, v in m.boundaries.items()} == {"left": 1, "right": 1, "AB": 1}
    assert m.p.shape == (2, 5)


def test_msh22_keeps_interior_curves(tmp_path):
    # from_meshio's MSH 2.2 path keeps boundary facets only: the interface curve "AB" was dropped
    m41 = meshio.read(square(tmp_path))
    meshio.write(tmp_path / "sq22.msh", m41, file_format="gmsh22", binary=False)
    m = load(tmp_path / "sq22.msh")
    assert {k: len(v) for k, v in m.boundaries.items()} == {"left": 1, "right": 1, "AB": 1}
    assert {k: v.tolist() for k, v in m.subdomains.items()} == {"A": [0, 1], "B": [2, 3]}


def test_shipped_mesh_roundtrip_through_msh22(tmp_path):
    import pathlib

    src = pathlib.Path(usadel.__file__).parents[1] / "meshes" / "cross_spin_valve.msh"
    ref = load(src)
    meshio.write(tmp_path / "x22.msh", meshio.read(src), file_format="gmsh22", binary=False)
    m = load(tmp_path / "x22.msh")
    assert {k: len(v) for k, v in m.boundaries.items()} == {k: len(v) for k, v in ref.boundaries.items()}
    assert {k: len(v) for k, v in m.subdomains.items()} == {k: len(v) for k, v in ref.subdomains.items()}


def test_load_si_units_far_from_origin(tmp_path):
    pts = 1e8 + 1e-6 * np.asarray(SQ)  # 1 um square at 100 000 km: cells 5e-15 of |x|
    with pytest.raises(UsadelError, match="unresolvable"):
        load(square(tmp_path, points=pts))
    m = load(square(tmp_path, "si.msh", points=1e-3 + 1e-6 * np.asarray(SQ)))
    assert {k: len(v) for k, v in m.boundaries.items()} == {"left": 1, "right": 1, "AB": 1}


@pytest.mark.parametrize("case, match", [
    ("unnamed surface", r"2 elements \(physical tags \[2\]\) belong to no named region"),
    ("no physical group", "cannot read mesh"),  # meshio cannot read elements outside physical groups
    ("overlap", "belong to several regions"),
    ("orphan node", "1 orphan nodes .* node 5"),
    ("only lines", "do not lie on the x axis .* physical surfaces were expected"),
    ("no names", "no named physical groups"),
    ("no regions", r"no named regions \(physical surfaces\)"),
    ("not an edge", "1 of the 1 line cells of physical curve 'diag' are not facets"),
    ("quads", "needs first-order simplices"),
    ("mixed", "needs first-order simplices"),
    ("not planar", "do not lie in the x-y plane"),
])
def test_bad_msh_raises(tmp_path, case, match):
    A, B = (2, [1], TRI[:2], None), (2, [2], TRI[2:], None)
    left = (1, [3], [[3, 0]], None)
    blocks, names, points = [A, B, left], NAMES, SQ
    if case == "unnamed surface":
        names = {k: v for k, v in NAMES.items() if v != "B"}
    elif case == "no physical group":
        blocks = [A, (2, [], TRI[2:], None), left]
    elif case == "overlap":
        blocks = [A, (2, [1, 2], TRI[2:], None), left]
    elif case == "orphan node":
        points = SQ + [[2.0, 2.0]]
    elif case == "only lines":
        blocks = [(1, [1], [[0, 1], [1, 2], [2, 3]], None), (0, [3], [[0]], None)]
        names = {(1, 1): "wire", (0, 3): "left"}
    elif case == "no names":
        names = {}
    elif case == "no regions":
        names = {(1, 3): "left"}
    elif case == "not an edge":
        blocks = [A, B, (1, [6], [[0, 2]], None)]
        names = {**NAMES, (1, 6): "diag"}
    elif case == "quads":
        blocks = [(2, [1], [[0, 1, 2, 3]], 3)]
        points = SQ[:4]
    elif case == "mixed":
        blocks = [A, (2, [2], [[0, 1, 2, 3]], 3)]
    elif case == "not planar":
        points = [[*p, 0.0] for p in SQ[:4]] + [[0.5, 0.5, 0.3]]
    with pytest.raises(UsadelError, match=match):
        load(write_msh(tmp_path / "bad.msh", points, blocks, names))


def test_load_1d_msh_along_x(tmp_path):
    pts = [[0.0], [1e-9], [2e-9], [3e-9]]
    blocks = [(1, [1], [[0, 1], [1, 2]], None), (1, [2], [[2, 3]], None),
              (0, [3], [[0]], None), (0, [4], [[3]], None)]
    names = {(1, 1): "S", (1, 2): "N", (0, 3): "left", (0, 4): "right"}
    m = load(write_msh(tmp_path / "w.msh", pts, blocks, names))
    assert isinstance(m, skfem.MeshLine1)
    assert end_nodes(m) == {"left": [0], "right": [3]}
    assert {k: v.tolist() for k, v in m.subdomains.items()} == {"S": [0, 1], "N": [2]}


@pytest.mark.parametrize("content, match", [
    ("this is not a mesh\n", "cannot read mesh"),
    ("", "cannot read mesh"),
])
def test_load_unreadable(tmp_path, content, match):
    (tmp_path / "bad.msh").write_text(content)
    with pytest.raises(UsadelError, match=match):
        load(tmp_path / "bad.msh")


def test_load_bad_path(tmp_path):
    with pytest.raises(UsadelError, match="no such file"):
        load(tmp_path / "missing.msh")
    with pytest.raises(UsadelError, match="path must be a file name"):
        load(None)


# ---- 4. check -----------------------------------------------------------------------------------

def tri(p, t, **sub):
    m = skfem.MeshTri(np.asarray(p, float).T, np.asarray(t).T)
    return m.with_subdomains(sub) if sub else m


@pytest.mark.parametrize("mesh", [
    interval(1e-9, 10), wire([("S", 1e-7, 5), ("N", 1e-7, 5)], x0=1e-3), strip(1e-9, 1e-9, 4, 2),
    strip(1e-6, 1e-9, 50, 1), interval(1e30, 4),
    tri(1e-9 * np.array([[0, 0], [1, 0], [0, 1], [1e3, 1e3]]), [[0, 1, 2], [1, 3, 2]]),  # graded, SI
])
def test_check_accepts_good_meshes_in_any_unit(mesh):
    assert check(mesh) is mesh


def test_check_orphan_nodes():
    m = tri([[0, 0], [1, 0], [0, 1], [1, 1], [5, 5], [6, 6]], [[0, 1, 2], [1, 3, 2]])
    with pytest.raises(UsadelError, match=r"2 orphan nodes .* e\.g\. node 4 at \[5\.0, 5\.0\]"):
        check(m)


@pytest.mark.parametrize("value, match", [
    (np.nan, "non-finite"), (np.inf, "non-finite"), (1e200, "out of range")])
def test_check_bad_coordinates(value, match):
    p = np.array([[0.0, 1.0, 2.0]])
    p[0, 2] = value
    with pytest.raises(UsadelError, match=match):
        check(skfem.MeshLine1(p, np.array([[0, 1], [1, 2]])))


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e6])
def test_check_degenerate_cells_relative_to_size(scale):
    # collinear third triangle; at scale 1e-9 its area is 0 while good cells have area 5e-19
    p = scale * np.array([[0.0, 0], [1, 0], [0, 1], [2, 0]])
    m = tri(p, [[0, 1, 2], [1, 3, 2], [0, 1, 3]])
    with pytest.raises(UsadelError, match="1 degenerate cells .* cells \\[2\\]"):
        check(m)
    # a flat-ish but valid sliver (height 1e-6 of its length) passes
    check(tri(scale * np.array([[0.0, 0], [1, 0], [0.5, 1e-6]]), [[0, 1, 2]]))


def test_check_zero_length_1d_cell():
    with pytest.raises(UsadelError, match="degenerate or unresolvable"):
        check(skfem.MeshLine1(np.array([[0.0, 1e-9, 1e-9, 2e-9]]), np.array([[0, 1, 2], [1, 2, 3]])))


def test_check_unresolvable_far_from_origin():
    m = strip(1e-9, 1e-9, 2, 2)
    far = skfem.MeshTri(m.p + 1e8, m.t)
    with pytest.raises(UsadelError, match="unresolvable"):
        check(far)
    check(skfem.MeshTri(strip(1.0, 1.0, 2, 2).p + 1e8, m.t))  # 0.5 cells at 1e8: fine


def test_check_coincident_nodes():
    # two triangles meeting along x = 1 with their own copies of the shared nodes
    p = [[0, 0], [1, 0], [1, 1], [1, 0], [2, 0], [1, 1]]
    with pytest.raises(UsadelError, match="2 pairs of coincident nodes"):
        check(tri(p, [[0, 1, 2], [3, 4, 5]]))


def test_check_rejects_non_simplices_and_bad_indices():
    with pytest.raises(UsadelError, match="simplices"):
        check(skfem.MeshQuad())
    m = strip(1.0, 1.0, 2, 2)
    with pytest.raises(UsadelError, match="region 'a' must hold element indices"):
        check(m.with_subdomains({"a": np.array([-1, 0])}))
    with pytest.raises(UsadelError, match="region 'a' must hold element indices"):
        check(m.with_subdomains({"a": np.array([0, 99])}))
    with pytest.raises(UsadelError, match="boundary tag 'x' has no facets"):
        check(m.with_boundaries({"x": np.array([], dtype=int)}))
    with pytest.raises(UsadelError, match="boundary tag 'left' lists some facets more than once"):
        check(m.with_boundaries({"left": np.concatenate([m.boundaries["left"]] * 2)}))
    with pytest.raises(UsadelError, match="must be a skfem.Mesh"):
        check(np.zeros((2, 3)))
