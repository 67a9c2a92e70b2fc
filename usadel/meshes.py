"""Meshes: 1D wires built here, 2D meshes loaded from gmsh files.

A usadel mesh is a :class:`skfem.Mesh` whose ``subdomains`` name the regions
(element index arrays) and whose ``boundaries`` name the tagged boundaries
(facet index arrays). Region and boundary names are what
:class:`usadel.Device` refers to.

Examples
--------
>>> import usadel
>>> m = usadel.meshes.interval(2.0, 10)
>>> sorted(m.subdomains), sorted(m.boundaries)
(['wire'], ['left', 'right'])
>>> m = usadel.meshes.wire([("S", 1.0, 20), ("N", 3.0, 60)])
>>> sorted(m.subdomains)
['N', 'S']
"""

import logging

import numpy as np
import skfem

from .errors import UsadelError

__all__ = ["interval", "wire", "strip", "load", "refined"]

log = logging.getLogger(__name__)


def _tag_ends(mesh, x0, x1):
    facets = mesh.boundary_facets()
    xf = mesh.p[0, mesh.facets[0, facets]]
    left = facets[np.isclose(xf, x0)]
    right = facets[np.isclose(xf, x1)]
    return mesh.with_boundaries({"left": left, "right": right})


def interval(length, n):
    """Uniform 1D wire on (0, length) with ``n`` elements.

    Region ``"wire"``; boundaries ``"left"`` (x = 0) and ``"right"`` (x = length).
    """
    if not np.isfinite(length) or length <= 0:
        raise UsadelError(f"interval: length must be positive, got {length!r}")
    if int(n) != n or n < 1:
        raise UsadelError(f"interval: n must be a positive integer, got {n!r}")
    return wire([("wire", float(length), int(n))])


def wire(segments, x0=0.0):
    """1D wire made of consecutive regions.

    Parameters
    ----------
    segments : sequence of (name, length, n)
        Region name, its length and its number of elements, left to right.
        The same name may appear more than once (e.g. S-N-S with two "S").
    x0 : float
        Coordinate of the left end. Elements are uniform within each segment.

    Returns
    -------
    skfem.MeshLine1
        With subdomains per region name and boundaries ``"left"``/``"right"``.
        The points where two different regions meet are interfaces; a
        :class:`usadel.Device` can make them tunnel barriers.
    """
    if len(segments) == 0:
        raise UsadelError("wire: need at least one segment")
    pts = [np.array([x0])]
    names = []
    x = float(x0)
    for seg in segments:
        try:
            name, length, n = seg
        except (TypeError, ValueError):
            raise UsadelError(f"wire: segment {seg!r} is not (name, length, n)") from None
        if not isinstance(name, str) or not name:
            raise UsadelError(f"wire: region name must be a non-empty string, got {name!r}")
        if not np.isfinite(length) or length <= 0:
            raise UsadelError(f"wire: segment {name!r} has non-positive length {length!r}")
        if int(n) != n or n < 1:
            raise UsadelError(f"wire: segment {name!r} needs a positive integer n, got {n!r}")
        pts.append(x + np.linspace(0.0, length, int(n) + 1)[1:])
        names += [name] * int(n)
        x += length
    p = np.concatenate(pts)[None, :]
    nel = p.shape[1] - 1
    t = np.vstack([np.arange(nel), np.arange(1, nel + 1)])
    mesh = skfem.MeshLine1(p, t)
    names = np.array(names)
    sub = {str(nm): np.nonzero(names == nm)[0] for nm in dict.fromkeys(names.tolist())}
    mesh = mesh.with_subdomains(sub)
    return _tag_ends(mesh, x0, x)


def strip(length, width, nx, ny, region="wire"):
    """2D rectangle (0, length) x (0, width) of triangles.

    Boundaries ``"left"``, ``"right"`` (the contacts) and ``"bottom"``,
    ``"top"``. Used to check that 2D meshes reproduce the 1D answer.
    """
    if length <= 0 or width <= 0:
        raise UsadelError("strip: length and width must be positive")
    m = skfem.MeshTri.init_tensor(np.linspace(0, length, nx + 1), np.linspace(0, width, ny + 1))
    m = m.with_subdomains({region: np.arange(m.t.shape[1])})
    return m.with_boundaries({
        "left": lambda x: np.isclose(x[0], 0.0),
        "right": lambda x: np.isclose(x[0], length),
        "bottom": lambda x: np.isclose(x[1], 0.0),
        "top": lambda x: np.isclose(x[1], width),
    })


def refined(mesh, times=1):
    """Uniformly refined copy of a mesh, keeping region and boundary tags."""
    return mesh.refined(times)


def load(path):
    """Load a gmsh (or any meshio-readable) mesh with named physical groups.

    Physical surfaces (2D) / lines (1D) become regions, physical curves /
    points on the boundary or between regions become boundary tags.
    gmsh's bookkeeping subdomain ``gmsh:bounding_entities`` is dropped.
    """
    import meshio
    from skfem.io.meshio import from_meshio

    try:
        m = meshio.read(str(path))
    except Exception as exc:  # meshio raises many types
        raise UsadelError(f"load: cannot read mesh {path!s}: {exc}") from exc
    if not m.field_data:
        raise UsadelError(f"load: {path!s} has no named physical groups; name them in gmsh")
    mesh = from_meshio(m)
    sub = {k: v for k, v in (mesh.subdomains or {}).items() if not k.startswith("gmsh:")}
    if not sub:
        raise UsadelError(f"load: {path!s} defines no named regions (physical surfaces/lines)")
    bnd = {k: v for k, v in (mesh.boundaries or {}).items() if not k.startswith("gmsh:")}
    import dataclasses

    return dataclasses.replace(mesh, _subdomains=sub, _boundaries=bnd)
