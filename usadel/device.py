"""Device model: materials per region, contacts per boundary, interfaces.

A :class:`Device` is validated once on construction and finalised into a
:class:`Topology` (nodes, elements, tagged facets, tunnel interfaces with
split nodes) from which the FEM operators are built (``usadel.fem``).
"""

import logging
import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
from scipy.sparse import coo_matrix

from .boundary import build as build_boundary
from .errors import UsadelError
from .meshes import check as check_mesh
from .order import check_order, order_topology
from .ordering import rcm
from .validate import MIN_POSITIVE, callable_or_none, real

__all__ = ["Material", "Reservoir", "Barrier", "Device", "Topology"]

log = logging.getLogger(__name__)


def _coerce(obj, cls, **fields):
    """Replace each field of a frozen dataclass by its checked Python float (see usadel.validate.real).

    Positive (and nonzero nonnegative) parameters must also exceed ``MIN_POSITIVE``: below it their
    products underflow and the solvers would report infinite residuals
    instead of naming the parameter.
    """
    for name, kw in fields.items():
        v = real(f"{cls}.{name}", getattr(obj, name), **kw)
        if (kw.get("positive") or kw.get("nonnegative")) and v is not None and 0 < v < MIN_POSITIVE:
            raise UsadelError(f"{cls}.{name} = {v!r} is out of range (must be >= {MIN_POSITIVE:.0e}); "
                              f"rescale the units of the problem")
        object.__setattr__(obj, name, v)


@dataclass(frozen=True)
class Material:
    """Material of one region.

    Parameters
    ----------
    D : float
        Diffusion constant (length^2 x energy), > 0.
    tc : float
        Bulk critical temperature Tc0; 0 for a normal metal (no pairing).
    tau_sf : float or None
        Spin-flip time (seed's definition, l_sf = sqrt(D tau_sf)); None or
        inf for no spin-flip scattering. Enters Eq. 10 as 3/(4 tau_sf).
    sigma : float
        Normal-state conductivity, > 0 (a 1D wire has unit cross-section).
    h : float
        Exchange (or Zeeman) energy, collinear with the spin axis of mu_s, hLS/hTS
        and Barrier.polarization: spin sigma = +-1 sees E -> E + sigma h
        (``docs/conventions.md``, Exchange fields). Any sign; 0 for none.
    tau_so : float or None
        Spin-orbit scattering time, normalised like tau_sf (in the normal state
        1/tau_s = 1/tau_sf + 1/tau_so); None or inf for none. Not pair breaking
        at h = 0, so it leaves the spectral and gap equations unchanged there;
        in the kinetic equations it relaxes hLS with DT/tau_so and hTS with
        DL/tau_so (``usadel.coefficients``). With h != 0 it couples the spin blocks
        (``usadel.spin_mixing``), as tau_sf does.
    """

    D: float = 1.0
    tc: float = 0.0
    tau_sf: Optional[float] = None
    sigma: float = 1.0
    h: float = 0.0
    tau_so: Optional[float] = None

    def __post_init__(self):
        _coerce(self, "Material", D=dict(positive=True), tc=dict(nonnegative=True), sigma=dict(positive=True),
                tau_sf=dict(positive=True, allow_none=True, allow_inf=True), h={},
                tau_so=dict(positive=True, allow_none=True, allow_inf=True))

    @property
    def spin_flip_rate(self):
        """Gamma = 3/(4 tau_sf), the pair-breaking energy of seed Eq. 10."""
        if self.tau_sf is None or math.isinf(self.tau_sf):
            return 0.0
        return 3.0 / (4.0 * self.tau_sf)

    @property
    def superconducting(self):
        return self.tc > 0


@dataclass(frozen=True)
class Barrier:
    """Tunnel barrier (Kupriyanov-Lukichev), resistance per area ``r`` > 0.

    ``polarization`` in [-1, 1]: G_up/dn = G (1 +- P)/2. The retarded
    (spectral) equations use the spin-independent part only; the
    polarisation enters the kinetic equations.
    """

    r: float = 1.0
    polarization: float = 0.0

    def __post_init__(self):
        _coerce(self, "Barrier", r=dict(positive=True), polarization=dict(lo=-1.0, hi=1.0))


@dataclass(frozen=True)
class Reservoir:
    """Bulk electrode attached to a tagged boundary.

    Parameters
    ----------
    delta : float
        Gap of the electrode (0: normal electrode). BCS bulk solution.
    phase : float
        Superconducting phase of the electrode.
    T : float or None
        Temperature (> 0), needed by the kinetic equations.
    mu, mu_s : float
        Charge potential (e V) and spin accumulation.
    barrier : Barrier or None
        None: clean contact (Dirichlet). Otherwise a tunnel contact.
    distribution : callable or None
        ``E -> (f_up, f_dn)`` prescribing spin-resolved distributions
        instead of the thermal ones (e.g. the seed's spin battery).
    h : float
        Exchange energy of the electrode: a spin-split BCS electrode whose spin
        sigma = +-1 has the bulk functions at E + sigma h (same convention as Material.h).
    """

    delta: float = 0.0
    phase: float = 0.0
    T: Optional[float] = None
    mu: float = 0.0
    mu_s: float = 0.0
    barrier: Optional[Barrier] = None
    distribution: Optional[Callable] = None
    h: float = 0.0

    def __post_init__(self):
        _coerce(self, "Reservoir", delta=dict(nonnegative=True), phase={}, mu={}, mu_s={},
                T=dict(positive=True, allow_none=True), h={})
        if self.barrier is not None and not isinstance(self.barrier, Barrier):
            raise UsadelError(f"Reservoir.barrier must be a usadel.Barrier, got {self.barrier!r}")
        callable_or_none("Reservoir.distribution (E -> (f_up, f_dn))", self.distribution)


@dataclass(frozen=True)
class Topology:
    """Finalised mesh data (after splitting nodes at tunnel interfaces).

    Attributes
    ----------
    p : (dim, n_nodes) node coordinates (split nodes share coordinates)
    t : (dim+1, n_el) elements
    region : (n_el,) region index into ``region_names``
    boundary : {tag: (nodes (dim, nf), owner (nf,))} facet nodes per tag
    interfaces : {(a, b): (nodes_a, nodes_b, owner_a, owner_b)} facets between regions
    """

    p: np.ndarray
    t: np.ndarray
    region: np.ndarray
    region_names: tuple
    boundary: dict
    interfaces: dict
    #: networks (usadel.meshes.network): cross-section per element, else None (unit)
    cross_section: np.ndarray = None
    #: networks: facet areas {tag or interface key: (n_facets,)}, else None (facet measure from p)
    facet_area: dict = None

    @property
    def dim(self):
        return self.p.shape[0]

    @property
    def n_nodes(self):
        return self.p.shape[1]


def _simplex_volumes(p, t, embedded=False):
    d = t.shape[0] - 1
    X = p[:, t]  # dim, d+1, n_el
    J = np.moveaxis(X[:, 1:, :] - X[:, :1, :], -1, 0)  # n_el, dim, d
    if J.shape[1] != J.shape[2]:
        if not embedded:
            raise UsadelError(f"mesh of {d}-simplices embedded in {J.shape[1]}D is not supported "
                              f"(wires in 2D or 3D: usadel.meshes.network)")
        return np.sqrt(np.abs(np.linalg.det(np.einsum("eki,ekj->eij", J, J)))) / math.factorial(d)
    return np.abs(np.linalg.det(J)) / math.factorial(d)


def _topology(mesh, region_names, barrier_pairs):
    """Extract arrays from a skfem mesh and split nodes at tunnel interfaces."""
    p = np.asarray(mesh.p, dtype=float)
    t = np.asarray(mesh.t).copy()
    n_el = t.shape[1]
    region = np.full(n_el, -1)
    for k, name in enumerate(region_names):
        region[mesh.subdomains[name]] = k
    facets = mesh.facets
    f2t = mesh.f2t
    area = getattr(mesh, "facet_area", None)  # networks only
    facet_area = None if area is None else {}
    boundary = {}
    for tag, fidx in (mesh.boundaries or {}).items():
        fidx = np.asarray(fidx)
        boundary[tag] = (facets[:, fidx].copy(), f2t[0, fidx].copy())
        if area is not None:
            facet_area[tag] = area[fidx]
    interior = np.nonzero(f2t[1] >= 0)[0]
    ra, rb = region[f2t[0, interior]], region[f2t[1, interior]]
    interfaces = {}
    for i in range(len(region_names)):
        for j in range(i + 1, len(region_names)):
            sel = ((ra == i) & (rb == j)) | ((ra == j) & (rb == i))
            if not sel.any():
                continue
            f = interior[sel]
            e0, e1 = f2t[0, f], f2t[1, f]
            swap = region[e0] != i
            own_a = np.where(swap, e1, e0)
            own_b = np.where(swap, e0, e1)
            interfaces[(region_names[i], region_names[j])] = [facets[:, f].copy(), facets[:, f].copy(), own_a, own_b]
            if area is not None:
                facet_area[(region_names[i], region_names[j])] = area[f]
    # split nodes of tunnel interfaces: region b's elements get fresh copies
    for key in barrier_pairs:
        nodes_a, _, own_a, own_b = interfaces[key]
        kb = region_names.index(key[1])
        shared = np.unique(nodes_a)
        new = p.shape[1] + np.arange(shared.size)
        remap = np.arange(p.shape[1] + shared.size)
        remap[shared] = new
        p = np.hstack([p, p[:, shared]])
        in_b = region == kb
        t[:, in_b] = remap[t[:, in_b]]
        interfaces[key][1] = remap[nodes_a]
        for tag, (fn, own) in boundary.items():
            ob = region[own] == kb
            fn[:, ob] = remap[fn[:, ob]]
        for other, val in interfaces.items():
            if other == key:
                continue
            for side, own_idx in ((0, 2), (1, 3)):
                ob = region[val[own_idx]] == kb
                val[side][:, ob] = remap[val[side][:, ob]]
    p, t, boundary, interfaces, _ = renumber(p, t, boundary, interfaces, barrier_pairs)
    cs = getattr(mesh, "cross_section", None)
    return Topology(p=p, t=t, region=region, region_names=tuple(region_names),
                    boundary=boundary, interfaces=interfaces,
                    cross_section=None if cs is None else np.asarray(cs, float), facet_area=facet_area)


def renumber(p, t, boundary, interfaces, barrier_pairs):
    """Bandwidth-reducing node numbering (reverse Cuthill-McKee; 1D chains come out in order); also new index per old node."""
    n = p.shape[1]
    r, c = [], []
    for a in range(t.shape[0]):
        for b in range(t.shape[0]):
            r.append(t[a])
            c.append(t[b])
    for key in barrier_pairs:
        na, nb = interfaces[key][0].ravel(), interfaces[key][1].ravel()
        r += [na, nb]
        c += [nb, na]
    r, c = np.concatenate(r), np.concatenate(c)
    perm = rcm(r, c, n)  # (cached per graph: usadel.ordering)
    if p.shape[0] == 1 and p[0, perm[0]] > p[0, perm[-1]]:
        perm = perm[::-1]
    inv = np.empty(n, dtype=int)
    inv[perm] = np.arange(n)
    p = p[:, perm]
    t = inv[t]
    boundary = {k: (inv[fn], own) for k, (fn, own) in boundary.items()}
    interfaces = {k: (inv[v[0]], inv[v[1]], v[2], v[3]) for k, v in interfaces.items()}
    return p, t, boundary, interfaces, inv


class Device:
    """A mesh with materials, contacts and interfaces; validated once.

    Parameters
    ----------
    mesh : skfem.Mesh or usadel.networks.NetworkMesh
        From :mod:`usadel.meshes` (``meshes.network`` for wire networks);
        ``subdomains`` are regions and ``boundaries`` are tags.
    materials : {region: Material}
        One material for every region of the mesh.
    contacts : {boundary tag: Reservoir}
        Untagged boundaries (and tags without a contact) are insulating.
    interfaces : {(region_a, region_b): Barrier}
        Tunnel interfaces between regions; unlisted region pairs that touch
        are clean interfaces (continuous th, sigma-weighted flux continuous).
    order : int or None
        Lagrange element order of the spectral solve: 1, 2 to 4 on 1D wires (``usadel.highorder``),
        2 or 3 on triangles (``usadel.highorder_tri``); None: the default per dimension (1). With
        order p > 1 the device's nodes (``topology``, and so every per-node array of its results) are
        the Lagrange dofs: the vertices and the p - 1 Gauss-Lobatto points inside each element in 1D,
        every triangle's lattice points (i/p, j/p) in 2D (``docs/conventions.md``); ``coarse`` is
        the P1 device on the mesh itself, whose elements the Lagrange solve uses.

    Examples
    --------
    >>> import usadel
    >>> m = usadel.meshes.wire([("S", 1.0, 10), ("N", 1.0, 10)])
    >>> dev = usadel.Device(m, materials={"S": usadel.Material(tc=1.0), "N": usadel.Material()},
    ...                     contacts={"left": usadel.Reservoir(delta=1.764), "right": usadel.Reservoir()},
    ...                     interfaces={("S", "N"): usadel.Barrier(r=0.5)})
    >>> dev.topology.n_nodes   # the interface node is split in two
    22
    """

    def __init__(self, mesh, materials, contacts=None, interfaces=None, order=None):
        contacts = dict(contacts or {})
        interfaces = dict(interfaces or {})
        subdomains = getattr(mesh, "subdomains", None)
        if not subdomains:
            raise UsadelError("Device: the mesh has no named regions (subdomains); "
                              "build it with usadel.meshes or name physical groups in gmsh")
        regions = list(subdomains)
        if not isinstance(materials, dict) or not materials:
            raise UsadelError("Device: materials must be a non-empty dict {region: Material}")
        for name, mat in materials.items():
            if name not in subdomains:
                raise UsadelError(f"Device: unknown region {name!r} in materials; the mesh has {regions}")
            if not isinstance(mat, Material):
                raise UsadelError(f"Device: materials[{name!r}] must be a usadel.Material, got {mat!r}")
        missing = [r for r in regions if r not in materials]
        if missing:
            raise UsadelError(f"Device: regions {missing} have no material")
        covered = np.zeros(mesh.t.shape[1], dtype=int)
        for name in regions:
            covered[np.asarray(subdomains[name])] += 1
        if (covered != 1).any():
            raise UsadelError(f"Device: {int((covered == 0).sum())} elements belong to no region and "
                              f"{int((covered > 1).sum())} to several; regions must partition the mesh")
        tags = list(mesh.boundaries or {})
        for tag, res in contacts.items():
            if tag not in tags:
                raise UsadelError(f"Device: unknown boundary tag {tag!r} in contacts; the mesh has {tags}")
            if not isinstance(res, Reservoir):
                raise UsadelError(f"Device: contacts[{tag!r}] must be a usadel.Reservoir, got {res!r}")
        # simplices of the mesh's own dimension (networks: lines in 2D or 3D)
        _simplex_volumes(np.asarray(mesh.p, float), np.asarray(mesh.t), embedded=hasattr(mesh, "cross_section"))
        check_mesh(mesh)  # finite coordinates, no orphan nodes, no degenerate cells (scale-free tolerances)
        #: Lagrange element order of the spectral solve (usadel.order)
        self.order = check_order(mesh, order, materials, contacts)
        self.mesh = mesh
        self.materials = dict(materials)
        self.contacts = contacts
        self.region_names = tuple(regions)
        touching = _touching_pairs(mesh, regions)
        canon = {}
        for key, bar in interfaces.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise UsadelError(f"Device: interface key must be a pair of region names, got {key!r}")
            for r in key:
                if r not in subdomains:
                    raise UsadelError(f"Device: unknown region {r!r} in interface {key!r}; the mesh has {regions}")
            if not isinstance(bar, Barrier):
                raise UsadelError(f"Device: interfaces[{key!r}] must be a usadel.Barrier, got {bar!r}")
            if key[0] == key[1]:
                raise UsadelError(f"Device: interface {key!r} joins a region to itself; a barrier lies between "
                                  f"two different regions")
            a, b = sorted(key, key=regions.index)
            if (a, b) not in touching:
                raise UsadelError(f"Device: regions {a!r} and {b!r} do not touch; no interface {key!r}")
            if (a, b) in canon and canon[(a, b)] != bar:
                raise UsadelError(f"Device: the interface between {a!r} and {b!r} is given twice with different "
                                  f"barriers ({canon[(a, b)]!r} and {bar!r}); give it once")
            canon[(a, b)] = bar
        problems = mesh.junction_problems(canon) if hasattr(mesh, "junction_problems") else []
        if problems:
            raise UsadelError("Device: " + "; ".join(problems))
        self.interfaces = canon
        self.topology = _topology(mesh, regions, list(canon))
        self._check_contacts()
        #: the contacts and barrier links every solver reads (see usadel.boundary)
        self.boundary = build_boundary(self.topology, self.contacts, self.interfaces)
        self._operators = None
        if self.order > 1:
            # the elements of the Lagrange solve: a P1 device on the mesh itself (usadel.highorder); this
            # device's nodes are its dofs (vertices and Gauss-Lobatto interior points), so every per-node
            # array and every solver downstream of the spectral solve sees one value per dof
            #: the P1 device on the mesh, and the node of this device of every dof (usadel.order.order_topology)
            self.coarse, self.topology, self.dof_node = order_topology(mesh, materials, contacts, canon, self.order,
                                                                       coarse=self._order1())
            self.boundary = build_boundary(self.topology, self.contacts, self.interfaces)

    def _order1(self):
        """What ``Device(mesh, materials, contacts, interfaces, order=1)`` builds, without validating again."""
        one = object.__new__(Device)
        one.__dict__.update(self.__dict__, order=1, materials=dict(self.materials), contacts=dict(self.contacts))
        return one

    def _check_contacts(self):
        """Contacts must lie on the outer boundary (clean contacts sharing nodes: usadel.boundary)."""
        outer = np.asarray(self.mesh.f2t[1]) < 0
        for tag, res in self.contacts.items():
            fidx = np.asarray(self.mesh.boundaries[tag])
            if fidx.size == 0:
                raise UsadelError(f"Device: boundary tag {tag!r} has no facets; a contact needs a boundary")
            if not outer[fidx].all():
                raise UsadelError(f"Device: contact {tag!r} lies inside the mesh ({int((~outer[fidx]).sum())} of its "
                                  f"{fidx.size} facets are between two elements); reservoirs attach to the outer "
                                  f"boundary (a barrier between regions goes in `interfaces`)")

    def node_components(self):
        """Label of the connected part of the device (tunnel interfaces connect) of every node, (n_nodes,)."""
        from scipy.sparse.csgraph import connected_components

        top = self.topology
        n = top.n_nodes
        r = [top.t[0]] * (top.t.shape[0] - 1)
        c = list(top.t[1:])
        for key in self.interfaces:
            na, nb, _, _ = top.interfaces[key]
            r.append(na.ravel())
            c.append(nb.ravel())
        r, c = np.concatenate(r), np.concatenate(c)
        return connected_components(coo_matrix((np.ones(r.size), (r, c)), shape=(n, n)), directed=False)[1]

    def components_without_contact(self):
        """Connected parts of the device (tunnel interfaces connect) that touch no contact.

        Their distribution functions are undetermined (no reservoir fixes them),
        so the kinetic equations refuse such devices. Returns a list of region
        name lists, one per floating part.
        """
        top = self.topology
        lab = self.node_components()
        touched = set()
        for c in self.boundary.contacts.values():
            touched.update(lab[c.nodes].tolist())
        used = np.unique(top.t)
        out = []
        for k in sorted(set(lab[used].tolist()) - touched):
            els = np.nonzero(np.isin(top.t, np.nonzero(lab == k)[0]).any(axis=0))[0]
            out.append(sorted({top.region_names[i] for i in top.region[els]}))
        return out

    def __getstate__(self):
        # the FEM operators cache factorisations (SuperLU objects do not pickle) and are
        # cheap to rebuild: drop them, so devices and results pickle for executors
        state = self.__dict__.copy()
        state["_operators"] = None
        return state

    @property
    def operators(self):
        """FEM operators, assembled once per device (see :mod:`usadel.fem`)."""
        if self._operators is None:
            from .fem import Operators
            self._operators = Operators(self)
        return self._operators

    @property
    def dim(self):
        return self.topology.dim

    def region_material(self):
        """List of materials in region-index order."""
        return [self.materials[r] for r in self.region_names]

    def __repr__(self):
        top, order = self.topology, getattr(self, "order", 1)
        if order != 1:  # nodes: the dofs; elements: the mesh's
            head = f"{top.n_nodes} nodes (dofs), {self.coarse.topology.t.shape[1]} elements, order {order})"
        else:
            head = f"{top.n_nodes} nodes, {top.t.shape[1]} elements)"
        lines = [f"Device({self.dim}D, " + head]
        lines += [f"  region {r!r}: {self.materials[r]}" for r in self.region_names]
        lines += [f"  contact {t!r} ({'clean' if c.barrier is None else 'tunnel'}): {c}" for t, c in self.contacts.items()]
        lines += [f"  interface {a!r}-{b!r}: {bar}" for (a, b), bar in self.interfaces.items()]
        untouched = sorted(set(self.mesh.boundaries or {}) - set(self.contacts))
        if untouched:
            lines.append(f"  insulating tags: {untouched}")
        return "\n".join(lines)


def _touching_pairs(mesh, regions):
    if hasattr(mesh, "touching_regions"):  # networks: every pair of regions meeting at a junction
        return mesh.touching_regions()
    region = np.full(mesh.t.shape[1], -1)
    for k, name in enumerate(regions):
        region[np.asarray(mesh.subdomains[name])] = k
    f2t = mesh.f2t
    interior = f2t[1] >= 0
    ra, rb = region[f2t[0, interior]], region[f2t[1, interior]]
    pairs = set()
    for a, b in zip(ra[ra != rb], rb[ra != rb]):
        i, j = sorted((a, b))
        pairs.add((regions[i], regions[j]))
    return pairs
