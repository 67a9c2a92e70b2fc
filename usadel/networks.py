"""Networks of thin wires joined at nodes: 1D elements embedded in 2D or 3D.

A network is the natural geometry of Andreev interferometers, multi-terminal
SNS junctions and nonlocal spin valves: each wire is a 1D diffusive conductor
(its cross-section only scales its conductance), and wires meet at junction
nodes, where the fields are continuous and the currents add up to zero (the
natural condition of the weak form, Kirchhoff's law). A network costs as
little as a 1D wire: its unknowns are numbered along the wires (reverse
Cuthill-McKee, as for every mesh), so the batched banded solver applies.

:func:`network` builds a :class:`NetworkMesh`, which carries what
:class:`usadel.Device` reads from a scikit-fem mesh (``p``, ``t``,
``subdomains``, ``boundaries``, ``facets``, ``f2t``) plus the cross-section of
every element and the area of every facet. Facets are points: each terminal
(a node with one wire) is one boundary facet tagged with the node's name;
at a node shared by k wires the k element ends are chained by k - 1 interior
facets, sorted by region, so two regions meeting there share exactly one
facet (an interface; a :class:`usadel.Barrier` in ``Device(interfaces=...)``
makes it a tunnel junction).

A barrier at a junction has the cross-section of the single wire on its
one-wire side ("a barrier between a wire and the junction"; between two
single wires, the thinner one's); where both sides have several wires its
area is ambiguous and a Device refuses the barrier.
Where three or more regions meet at one node, a barrier there is refused too
(splitting the node for one pair would cut the clean contact of the others).

Examples
--------
>>> import usadel
>>> m = usadel.meshes.network(nodes={"a": (0, 0), "c": (1, 0), "b": (2, 0), "d": (1, 1)},
...                           wires=[("a", "c", 10, "N"), ("c", "b", 10, "N"), ("c", "d", 5, "N", 0.5)])
>>> sorted(m.boundaries), m.t.shape[1], m.p.shape
(['a', 'b', 'd'], 25, (2, 26))
"""

import numpy as np

from .errors import UsadelError
from .validate import MAX_ABS, integer, real

__all__ = ["NetworkMesh", "network", "locate_on_wires"]

#: most elements along one wire (as for the other mesh builders)
MAX_ELEMENTS = 10_000_000
#: smallest wire length relative to the largest coordinate magnitude that float64 resolves per element
RESOLUTION = 1e-10


class NetworkMesh:
    """Wires between named nodes, as 1D elements in 2D or 3D (see the module docstring).

    Attributes
    ----------
    p : (dim, n_nodes) node coordinates, dim 2 or 3
    t : (2, n_el) elements (each runs from a wire's first node towards its second)
    subdomains : {region: element indices}
    boundaries : {terminal name: facet indices}
    facets : (1, n_facets) the node of each facet
    f2t : (2, n_facets) the two elements a facet joins (-1: a terminal)
    cross_section : (n_el,) cross-section of each element's wire
    facet_area : (n_facets,) area of each facet (NaN: ambiguous, see the module docstring)
    node_index : {node name: mesh node}
    wire_elements : list of element index arrays, one per wire, in the order given
    spec : (nodes, wires) as given, normalised (for saving and rebuilding)
    """

    def __init__(self, nodes, wires):
        self.spec = (nodes, wires)
        names = list(nodes)
        dim = len(next(iter(nodes.values())))
        self.node_index = {name: k for k, name in enumerate(names)}
        pts = [np.array([nodes[n] for n in names], float).reshape(len(names), dim)]
        t, region, area, self.wire_elements = [], [], [], []
        n_pts, n_el = len(names), 0
        for a, b, n, reg, cs in wires:
            xa, xb = np.asarray(nodes[a], float), np.asarray(nodes[b], float)
            inner = xa + np.linspace(0.0, 1.0, n + 1)[1:-1, None] * (xb - xa)
            ids = np.concatenate([[self.node_index[a]], n_pts + np.arange(n - 1), [self.node_index[b]]])
            pts.append(inner)
            n_pts += n - 1
            t.append(np.vstack([ids[:-1], ids[1:]]))
            region += [reg] * n
            area.append(np.full(n, cs))
            self.wire_elements.append(n_el + np.arange(n))
            n_el += n
        self.p = np.ascontiguousarray(np.concatenate(pts).T)
        self.t = np.concatenate(t, axis=1)
        self.cross_section = np.concatenate(area)
        region = np.array(region)
        self.region_names = list(dict.fromkeys(region.tolist()))
        self.subdomains = {r: np.nonzero(region == r)[0] for r in self.region_names}
        self._facets(region)

    def _facets(self, region):
        """Point facets: one per terminal, k - 1 per node of k element ends (chained by region)."""
        n_el = self.t.shape[1]
        node = self.t.T.ravel()
        el = np.repeat(np.arange(n_el), 2)
        rank = {r: k for k, r in enumerate(self.region_names)}
        order = np.lexsort((el, [rank[r] for r in region[el]], node))
        node, el = node[order], el[order]
        starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
        ends = np.r_[starts[1:], node.size]
        fn, f0, f1, fa = [], [], [], []
        wire_of = np.empty(n_el, int)
        for k, els in enumerate(self.wire_elements):
            wire_of[els] = k
        self.multi_region = {}
        for s, e in zip(starts, ends):
            v, els = node[s], el[s:e]
            if e - s == 1:
                fn.append(v), f0.append(els[0]), f1.append(-1), fa.append(self.cross_section[els[0]])
                continue
            regs = region[els]
            if len(set(regs.tolist())) >= 3:
                self.multi_region[int(v)] = sorted(set(regs.tolist()))
            for i in range(e - s - 1):
                fn.append(v), f0.append(els[i]), f1.append(els[i + 1])
                fa.append(self._junction_area(els, regs, i, wire_of))
        self.facets = np.array([fn], dtype=np.int64)
        self.f2t = np.array([f0, f1], dtype=np.int64)
        self.facet_area = np.array(fa, float)
        name_of = {v: k for k, v in self.node_index.items()}
        self.boundaries = {name_of[int(v)]: np.array([f]) for f, (v, other) in enumerate(zip(fn, f1))
                           if other < 0}

    def _junction_area(self, els, regs, i, wire_of):
        """Area of the facet between element ends i and i + 1 at one node."""
        if regs[i] == regs[i + 1]:
            return min(self.cross_section[els[i]], self.cross_section[els[i + 1]])
        single = [side for side in (els[regs == regs[i]], els[regs == regs[i + 1]])
                  if np.unique(wire_of[side]).size == 1]
        if not single:
            return np.nan
        return float(min(self.cross_section[side].sum() for side in single))

    def dim(self):
        """Dimension of the embedding space (scikit-fem's ``Mesh.dim()``)."""
        return self.p.shape[0]

    @property
    def nelements(self):
        return self.t.shape[1]

    @property
    def nvertices(self):
        return self.p.shape[1]

    def touching_regions(self):
        """Pairs of regions (in ``subdomains`` order) that meet at some node."""
        order = list(self.subdomains)
        reg = np.empty(self.t.shape[1], int)
        for k, idx in enumerate(self.subdomains.values()):
            reg[idx] = k
        at = {}
        for e, (a, b) in enumerate(self.t.T):
            at.setdefault(a, set()).add(reg[e])
            at.setdefault(b, set()).add(reg[e])
        return {(order[i], order[j]) for regs in at.values() for i in regs for j in regs if i < j}

    def junction_problems(self, interfaces):
        """Reasons why tunnel interfaces ``{(a, b): Barrier}`` cannot be placed on this network ([] if none)."""
        out = []
        inner = self.f2t[1] >= 0
        reg = np.empty(self.t.shape[1], object)
        for r, idx in self.subdomains.items():
            reg[idx] = r
        for key in interfaces:
            pair = set(key)
            for v, regs in self.multi_region.items():
                if pair <= set(regs):
                    out.append(f"interface {key!r}: {len(regs)} regions {regs} meet at node "
                               f"{self.p[:, v].tolist()}; a barrier there would cut the clean contact of the "
                               f"others (join at most two regions at a junction with a barrier)")
            sel = inner & np.array([{reg[a], reg[b]} == pair for a, b in self.f2t.T])
            if np.isnan(self.facet_area[sel]).any():
                v = self.facets[0, sel][np.isnan(self.facet_area[sel])][0]
                out.append(f"interface {key!r}: both sides have several wires at node {self.p[:, v].tolist()}, "
                           f"so the barrier's area is ambiguous; give one side a single wire there")
        return out

    def __repr__(self):
        return (f"NetworkMesh({self.dim()}D, {len(self.spec[0])} nodes, {len(self.spec[1])} wires, "
                f"{self.t.shape[1]} elements)")


def _wire(k, w, nodes):
    """One wire spec, checked: (a, b, n, region, cross_section)."""
    if isinstance(w, (str, bytes)) or not hasattr(w, "__len__") or len(w) not in (4, 5):
        raise UsadelError(f"network: wires[{k}] must be (node_a, node_b, n_elements, region[, cross_section]), "
                          f"got {w!r}")
    a, b, n, reg = w[:4]
    for end in (a, b):
        if not isinstance(end, str) or end not in nodes:
            raise UsadelError(f"network: wires[{k}] names node {end!r}, which is not in nodes {list(nodes)}")
    if a == b:
        raise UsadelError(f"network: wires[{k}] joins node {a!r} to itself; a wire needs two different nodes")
    n = integer(f"network: wires[{k}] number of elements", n, lo=None)
    if not 1 <= n <= MAX_ELEMENTS:
        raise UsadelError(f"network: wires[{k}] needs 1 to {MAX_ELEMENTS:.0e} elements, got {n}")
    if not isinstance(reg, str) or not reg:
        raise UsadelError(f"network: wires[{k}] region must be a non-empty string, got {reg!r}")
    cs = real(f"network: wires[{k}] cross_section", w[4], positive=True) if len(w) == 5 else 1.0
    length = float(np.linalg.norm(np.subtract(nodes[b], nodes[a])))
    scale = max(float(np.max(np.abs(nodes[a]))), float(np.max(np.abs(nodes[b]))), length)
    if length <= RESOLUTION * n * scale:
        raise UsadelError(f"network: wires[{k}] from {a!r} to {b!r} has length {length:g}: too short for "
                          f"{n} elements at these coordinates (nodes at the same place?)")
    return (a, b, n, reg, cs)


def network(nodes, wires):
    """Network of 1D wires between named nodes.

    Parameters
    ----------
    nodes : {name: (x, y) or (x, y, z)}
        Coordinates of the wires' ends (all in 2D or all in 3D); they give
        the wires' lengths and the layout of plots.
    wires : sequence of (a, b, n, region) or (a, b, n, region, cross_section)
        A straight wire from node ``a`` to node ``b`` with ``n`` uniform
        elements in the named region. ``cross_section`` (default 1) scales
        its conductance per length (and every other volume integral).

    Returns
    -------
    NetworkMesh
        Regions as named; a node with one wire is a terminal and its name a
        boundary tag for contacts; a node with several wires is a junction
        (fields continuous, currents conserved). Every node must carry a wire.

    Raises
    ------
    UsadelError
        For malformed nodes or wires, unknown node names, wires of zero
        length, nodes without wires.
    """
    if not isinstance(nodes, dict) or not nodes:
        raise UsadelError(f"network: nodes must be a non-empty dict {{name: (x, y)}}, got {nodes!r}")
    clean = {}
    for name, xy in nodes.items():
        if not isinstance(name, str) or not name:
            raise UsadelError(f"network: node names must be non-empty strings, got {name!r}")
        try:
            arr = np.asarray(xy, dtype=float)
        except (TypeError, ValueError):
            raise UsadelError(f"network: node {name!r} has coordinates {xy!r}, not numbers") from None
        if arr.ndim != 1 or arr.size not in (2, 3):
            raise UsadelError(f"network: node {name!r} needs 2 or 3 coordinates, got {xy!r}")
        clean[name] = tuple(real(f"network: coordinate of node {name!r}", v) for v in arr.tolist())
        if max(abs(v) for v in clean[name]) > MAX_ABS:
            raise UsadelError(f"network: node {name!r} is out of range (|x| <= {MAX_ABS:.0e})")
    dims = {len(v) for v in clean.values()}
    if len(dims) != 1:
        raise UsadelError("network: all nodes need the same number of coordinates (all 2D or all 3D)")
    if isinstance(wires, (str, bytes, dict)) or not hasattr(wires, "__iter__"):
        raise UsadelError(f"network: wires must be a list of (a, b, n, region[, cross_section]), got {wires!r}")
    wires = [_wire(k, w, clean) for k, w in enumerate(wires)]
    if not wires:
        raise UsadelError("network: need at least one wire")
    unused = sorted(set(clean) - {w[0] for w in wires} - {w[1] for w in wires})
    if unused:
        raise UsadelError(f"network: nodes {unused} carry no wire")
    return NetworkMesh(clean, wires)


def locate_on_wires(p, t, pts, slack):
    """Element and barycentric weights (2, n_pts) of points on wire elements ``t`` (2, n_el).

    :func:`usadel.fem.locate` on a network: the nearest point of the nearest
    element. A point counts as on a wire within ``slack`` times that element's
    length (wires have no width in the model; their cross-section is a conductance).
    A junction split by a tunnel barrier has a value on each side; a point there
    gets the side of the first element found, so probe just beside it instead.
    """
    a, b = p[:, t[0]].T, p[:, t[1]].T  # n_el, dim
    ab = b - a
    ll = np.einsum("ed,ed->e", ab, ab)
    s = np.clip(np.einsum("ped,ed->pe", pts[:, None, :] - a[None], ab) / ll, 0.0, 1.0)  # n_pts, n_el
    dist = np.linalg.norm(pts[:, None, :] - (a[None] + s[..., None] * ab[None]), axis=-1)
    el = np.argmin(dist, axis=1)  # nearest in absolute distance; at a junction any element there (fields are
    k = np.arange(len(pts))       # continuous, except across a barrier: then the first element's side)
    off = dist[k, el] > slack * np.sqrt(ll[el])
    if off.any():
        raise UsadelError(f"points not on any wire of the network: {pts[off][:5].tolist()}")
    return el, np.vstack([1.0 - s[k, el], s[k, el]])
