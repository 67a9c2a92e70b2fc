"""FEM operators for P1 elements on a finalised device, assembled once.

Everything the Newton and kinetic solves need is precomputed here: P1
gradients and volumes, the sigma-weighted stiffness matrix (element blocks by
``Operators.local_stiffness``), lumped node weights per material parameter
(and of the gap, :func:`delta_weights`), a fixed CSR sparsity pattern with
scatter maps from element-local blocks (``Operators.assemble``), tagged
boundary and interface node weights, and a batched linear solver. Newton steps then only fill values on these
fixed patterns (reassembling with a BilinearForm each step costs 11-76x more;
``docs/conventions.md``, Numerical choices).

Geometry: on meshes of full-dimensional simplices (intervals, triangles,
tetrahedra) the P1 gradients and element volumes come from scikit-fem's
``CellBasis``, the facet measures of contacts and barriers from its
``FacetBasis`` (``usadel.boundary``; 1D point facets have measure 1), and
:func:`locate` asks the mesh's ``element_finder()`` for the element and the
affine mapping for the barycentric coordinates, with an exhaustive search for
points on element faces, outside or missed by the finder
(``usadel.skfem_geometry``). On wire networks (intervals embedded in 2D/3D,
which scikit-fem's affine mappings do not handle) the tangential gradients are
computed here and points are located by ``usadel.networks.locate_on_wires``.
What is assembled from the geometry (the fixed sparsity pattern, scatter maps,
lumped weights, the compiled rows of ``usadel.p1_kernels``) is this module's
own, not scikit-fem forms.

Discretisation: the stiffness term is exact for P1; pointwise source terms
are lumped (nodal quadrature); terms quadratic in gradients use one-point
(centroid) quadrature; boundary and interface fluxes are lumped on facets.
All of these are second-order accurate for P1.
"""

import functools
import math

import numpy as np
import scipy.sparse as sps
import scipy.sparse.linalg as spla

from . import skfem_geometry
from .boundary import facet_area, tag_nodes
from .errors import UsadelError
from .linsolve import MAX_BANDED, BlockSolver, threadpool_limits  # noqa: F401 (re-exported)
from .networks import locate_on_wires
from .skfem_geometry import cell_geometry, simplex_mesh
from .validate import real, real_array

__all__ = ["Operators", "p1_gradients", "real_product", "BlockSolver", "delta_weights", "delta_nodes", "locate", "flux_weight",
           "threadpool_limits"]

#: sparse products with vectors longer than this go one vector at a time (faster than one block product
#: with a transposed, non-contiguous block, measured on a 20k-node mesh); shorter ones (1D) in one call
FEW_VECTORS_SIZE = 20000
#: barycentric coordinates down to -LOCATE_SLACK count as inside (points on element faces)
LOCATE_SLACK = 1e-9
#: point-element pairs per block of the exhaustive search (memory: ~100 bytes each)
LOCATE_BLOCK = 2e6


def real_product(A, x):
    """A @ x for a real sparse matrix A and a complex x: two real products, without the complex copy of A
    that scipy makes for a mixed product (measured 3x faster, 20k-node mesh)."""
    if not np.iscomplexobj(x):
        return A @ x
    return A @ x.real + 1j * (A @ x.imag)


def p1_gradients(p, t):
    """Gradients of the P1 basis functions and element volumes.

    Returns ``grad`` of shape (n_el, d+1, dim) and ``vol`` of shape (n_el,). Full-dimensional simplices
    (intervals, triangles, tetrahedra): from scikit-fem's ``CellBasis`` (:func:`usadel.skfem_geometry.
    cell_geometry`). Wire networks (intervals embedded in 2D or 3D): the tangential gradients
    (J^T J)^-1 J^T and volumes sqrt(det J^T J)/d! computed here, since scikit-fem's affine mappings need
    square Jacobians.
    """
    mesh = simplex_mesh(p, t)
    if mesh is not None:
        grad, vol, _ = cell_geometry(mesh)
        return grad, vol
    d = t.shape[0] - 1
    X = p[:, t]
    J = np.moveaxis(X[:, 1:, :] - X[:, :1, :], -1, 0)  # n_el, dim, d
    G = np.einsum("eki,ekj->eij", J, J)  # metric J^T J
    inv = np.linalg.solve(G, np.swapaxes(J, 1, 2))  # (J^T J)^-1 J^T
    vol = np.sqrt(np.abs(np.linalg.det(G))) / math.factorial(d)
    grad = np.empty((t.shape[1], d + 1, p.shape[0]))
    grad[:, 1:, :] = inv
    grad[:, 0, :] = -inv.sum(axis=1)
    return grad, vol


class Operators:
    """Precomputed P1 operators of a :class:`usadel.Device`."""

    def __init__(self, device):
        top = device.topology
        p, t = top.p, top.t
        self.device = device
        self.p, self.t = p, t
        self.n = n = top.n_nodes
        self.d = d = t.shape[0] - 1
        self.n_el = ne = t.shape[1]
        #: the scikit-fem mesh of the device's nodes and elements and its affine mapping (None on wire networks)
        self.skfem_mesh = simplex_mesh(p, t)
        if self.skfem_mesh is None:
            self.grad, self.vol = p1_gradients(p, t)
            self.mapping = None
        else:
            self.grad, self.vol, self.mapping = cell_geometry(self.skfem_mesh)
        if top.cross_section is not None:  # network wires: every volume integral scales with the cross-section
            self.vol = self.vol * top.cross_section
        mats = device.region_material()
        reg = top.region
        self.region = reg
        self.sigma_e = np.array([m.sigma for m in mats])[reg]
        self.D_e = np.array([m.D for m in mats])[reg]
        #: pair-breaking rate Gamma = 3/(4 tau_sf) per element (seed Eq. 10)
        self.pair_breaking_e = np.array([m.spin_flip_rate for m in mats])[reg]
        #: spin-flip and spin-orbit rates 1/tau_sf, 1/tau_so per element (0 without; kinetic sinks)
        self.tau_sf_inv_e = np.array([0.0 if m.tau_sf is None else 1.0 / float(m.tau_sf) for m in mats])[reg]
        self.tau_so_inv_e = np.array([0.0 if m.tau_so is None else 1.0 / float(m.tau_so) for m in mats])[reg]
        self.sc_e = np.array([m.superconducting for m in mats])[reg]
        #: sigma*vol/(d+1): weight of an element-constant term on each of its nodes
        self.w_el = self.sigma_e * self.vol / (d + 1)
        # ---- sparsity pattern -------------------------------------------------
        rows = np.broadcast_to(t.T[:, :, None], (ne, d + 1, d + 1)).ravel()
        cols = np.broadcast_to(t.T[:, None, :], (ne, d + 1, d + 1)).ravel()
        #: tunnel interfaces as (nodes_a, nodes_b, weights, barrier), from device.boundary
        pairs = [(L.nodes_a, L.nodes_b, L.weights, L.barrier) for L in device.boundary.barriers]
        self.pairs = pairs
        extra_r = [np.arange(n)] + [np.concatenate([pa, pb]) for pa, pb, _, _ in pairs]
        extra_c = [np.arange(n)] + [np.concatenate([pb, pa]) for pa, pb, _, _ in pairs]
        allr = np.concatenate([rows] + extra_r)
        allc = np.concatenate([cols] + extra_c)
        keys = np.unique(allr.astype(np.int64) * n + allc)
        self.nnz = keys.size
        self.indices = (keys % n).astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // n, minlength=n))]).astype(np.int32)
        self._pos_el = np.searchsorted(keys, rows.astype(np.int64) * n + cols)  # pattern position of each block entry
        self.diag = np.searchsorted(keys, np.arange(n, dtype=np.int64) * (n + 1))
        self.pair_pos = [
            (np.searchsorted(keys, pa.astype(np.int64) * n + pb), np.searchsorted(keys, pb.astype(np.int64) * n + pa))
            for pa, pb, _, _ in pairs
        ]
        self._solvers = {}
        self._scatter_columns = None  # assemble_columns' product, built on first use
        self._centroid_maps = None  # element_values' product, built on first use

    # the incidence, the pattern's scatter map and the stiffness matrix: built on first use (an order-p solve
    # needs none of them)
    @functools.cached_property
    def incidence(self):
        """Node-element incidence with unit weights, (n, n_el)."""
        ne, d1 = self.n_el, self.d + 1
        return sps.csr_matrix((np.ones(ne * d1), (self.t.ravel(), np.tile(np.arange(ne), d1))), shape=(self.n, ne))

    @functools.cached_property
    def lump_sd(self):
        """sigma/D lumped mass on the nodes, (n,)."""
        return self.lump(self.w_el / self.D_e)

    @property
    def element_positions(self):
        """(n_el, d+1, d+1) position in the node pattern's CSR data of each element-local entry (row vertex i,
        column vertex j): where :meth:`assemble` sums it (the compiled P1 rows, ``usadel.p1_kernels``)."""
        d1 = self.d + 1
        return self._pos_el.reshape(self.n_el, d1, d1)

    @functools.cached_property
    def scatter(self):
        """(nnz, n_el (d+1)^2) map summing element-local block entries onto the node pattern."""
        pos = self._pos_el
        return sps.csr_matrix((np.ones(pos.size), (pos, np.arange(pos.size))), shape=(self.nnz, pos.size))

    @functools.cached_property
    def grad_grad(self):
        """grad_i . grad_j of the P1 basis per element, (n_el, d+1, d+1)."""
        return np.einsum("eid,ejd->eij", self.grad, self.grad)

    @functools.cached_property
    def K_data(self):
        """Values of the sigma-weighted stiffness matrix on the node pattern, (nnz,)."""
        return self.scatter @ self.local_stiffness(self.sigma_e * self.vol).ravel()

    @functools.cached_property
    def K(self):
        """The sigma-weighted stiffness matrix (CSR on the node pattern)."""
        return sps.csr_matrix((self.K_data, self.indices, self.indptr), shape=(self.n, self.n))

    @functools.cached_property
    def thouless_energy(self):
        """E_Th = max D / L^2 with L the largest side of the bounding box: the device's own energy scale
        (fixed by the mesh and materials: computed once)."""
        return np.max(self.D_e) / np.ptp(self.p, axis=1).max() ** 2

    # ------------------------------------------------------------------ helpers
    def local_stiffness(self, weight):
        """Element stiffness blocks weight_e grad_i . grad_j, shape (..., n_el, d+1, d+1).

        ``weight`` (..., n_el) is the element-constant factor times the element
        volume (e.g. sigma vol, or a coefficient times sigma vol per energy).
        """
        return weight[..., None, None] * self.grad_grad

    def assemble(self, local):
        """Sum element-local blocks (b, n_el, d+1, d+1) into values on the node pattern, (b, nnz)."""
        b = local.shape[0]
        return (self.scatter @ local.reshape(b, -1).T).T

    def assemble_columns(self, values):
        """Sum element-local blocks whose value depends on the column vertex only, ``values`` (b, n_el, d+1)
        (block[e, i, j] = values[e, j] for every row vertex i), into values on the node pattern, (b, nnz).

        The same sum as :meth:`assemble` of the broadcast blocks, with a (d+1)-times smaller product.
        """
        if self._scatter_columns is None:
            d1 = self.d + 1
            cols = np.arange(self.n_el * d1 * d1)
            e, j = cols // (d1 * d1), cols % d1
            fold = sps.csr_matrix((np.ones(cols.size), (cols, e * d1 + j)), shape=(cols.size, self.n_el * d1))
            self._scatter_columns = (self.scatter @ fold).tocsr()
        flat = values.reshape(values.shape[0], -1)
        if flat.shape[0] <= 4 or flat.shape[1] > FEW_VECTORS_SIZE:  # large vectors (2D): one product each,
            return np.stack([real_product(self._scatter_columns, v) for v in flat])  # ~10x faster (20k nodes)
        return real_product(self._scatter_columns, flat.T).T  # many small vectors (1D lanes): one call

    def lump(self, per_element):
        """Sum an element-constant weight (already divided by d+1) onto nodes."""
        return self.incidence @ per_element

    def element_values(self, u):
        """Centroid values (..., n_el) and gradients (..., n_el, dim) of nodal fields ``u`` (..., n).

        One sparse product with the stacked centroid and gradient maps (built on first use; for a
        single field ~5x faster than gathering the element values and an einsum, 20k-node mesh).
        """
        if self._centroid_maps is None:
            d1, dim, ne = self.d + 1, self.grad.shape[-1], self.n_el
            rows = np.arange(ne)[None, :] + ne * np.arange(1 + dim)[:, None, None]  # (1 + dim, 1, ne)
            vals = np.concatenate([np.full((1, d1, ne), 1.0 / d1), np.moveaxis(self.grad, (0, 1, 2), (2, 1, 0))])
            rows = np.broadcast_to(rows, vals.shape)
            cols = np.broadcast_to(self.t[None, :, :], vals.shape)
            self._centroid_maps = sps.csr_matrix((vals.ravel(), (rows.ravel(), cols.ravel())),
                                                 shape=((1 + dim) * ne, self.n))
        lead, flat = u.shape[:-1], u.reshape(-1, self.n)
        if flat.shape[0] <= 2 or flat.shape[1] > FEW_VECTORS_SIZE:
            out = np.stack([real_product(self._centroid_maps, v) for v in flat])
        else:
            out = real_product(self._centroid_maps, flat.T).T
        out = out.reshape(lead + (-1, self.n_el))
        return out[..., 0, :], np.moveaxis(out[..., 1:, :], -2, -1)

    @functools.cached_property
    def element_finder(self):
        """scikit-fem's element finder of :attr:`skfem_mesh` (made once: it keeps a k-d tree of the
        centroids); None on wire networks."""
        return None if self.skfem_mesh is None else self.skfem_mesh.element_finder(mapping=self.mapping)

    def boundary_nodes(self, tag):
        """Nodes of any tagged boundary and their lumped facet weights (contacts: see device.boundary)."""
        contact = self.device.boundary.contacts.get(tag)
        if contact is not None:
            return contact.nodes, contact.weights
        top = self.device.topology
        return tag_nodes(self.p, top.boundary[tag][0], facet_area(top, tag))

    def solver(self, ncomp, symmetric_pivoting=False):
        """Batched solver for systems with ``ncomp`` unknowns per node (cached per kind)."""
        key = (ncomp, symmetric_pivoting)
        if key not in self._solvers:
            self._solvers[key] = BlockSolver(self.indptr, self.indices, self.n, ncomp, symmetric_pivoting)
        return self._solvers[key]


def delta_weights(device, delta):
    """Pairing term of the retarded equation: lumped, sigma/D-weighted Delta on nodes.

    Only superconducting elements carry a gap (``usadel.retarded``, module docstring).

    Parameters
    ----------
    device : Device
    delta : float, complex, dict or array
        A scalar (every superconducting region), a dict {region: value} or an
        array with one (complex) value per node.

    Returns
    -------
    ndarray
        Complex, per node: sum_e (sigma/D) vol_e/(d+1) Delta_e(node).

    Raises
    ------
    UsadelError
        For unknown regions, a gap on a normal metal or a wrongly shaped array.
    """
    names = device.region_names
    sc_names = [r for r in names if device.materials[r].superconducting]
    if not isinstance(delta, dict) and np.ndim(delta) == 0 and _gap_value("delta", delta) == 0:
        # no gap: zero weights (what ops.lump(w) * 0 gives), without assembling the operators (an order-p
        # spectral solve never uses this device's P1 operators otherwise)
        return np.zeros(device.topology.n_nodes, np.result_type(float, np.asarray(_gap_value("delta", delta))))
    ops = device.operators
    w = ops.w_el / ops.D_e * ops.sc_e
    if isinstance(delta, dict):
        delta = {r: _gap_value(f"delta[{r!r}]", v) for r, v in delta.items()}
        for r, v in delta.items():
            if r not in names:
                raise UsadelError(f"delta: unknown region {r!r}; the device has {list(names)}")
            if v != 0 and r not in sc_names:
                raise UsadelError(f"delta: region {r!r} is a normal metal (Material.tc = 0) and cannot carry a gap")
        per_el = np.array([delta.get(r, 0.0) for r in names], dtype=complex)[ops.region]
        return ops.lump(w * per_el)
    if np.ndim(delta) == 0:
        arr = np.asarray(_gap_value("delta", delta))
    else:
        arr = real_array("delta", delta, allow_complex=True).astype(complex)
    if arr.ndim == 0:
        if arr != 0 and not sc_names:
            raise UsadelError("delta: a gap was given but no region is superconducting; set Material(tc=...) > 0")
        return ops.lump(w) * arr
    if arr.shape != (ops.n,):
        raise UsadelError(f"delta: per-node array must have shape ({ops.n},), got {arr.shape}")
    # a per-node gap is a P1 field, zero at nodes that touch no superconducting
    # element: with lumped quadrature every such node carries its full weight, so
    # the discrete pair amplitude tends to Delta_i/w at high Matsubara frequency
    # at every node (the gap loop's Matsubara tail relies on this)
    touch = ops.lump(w) > 0
    return np.where(touch, ops.lump_sd, 0.0) * arr


def _gap_value(name, v):
    """One gap value: a finite real or complex number (complex: |Delta| e^{i phi})."""
    if isinstance(v, (complex, np.complexfloating)):
        return complex(real(f"Re {name}", complex(v).real), real(f"Im {name}", complex(v).imag))
    return real(name, v)


def delta_nodes(device, delta):
    """Effective Delta per node: :func:`delta_weights` divided by the node's sigma/D weight (0 where none)."""
    cd = delta_weights(device, delta)
    if not np.any(cd):  # no gap anywhere: 0 at every node (as below), without the operators
        return np.zeros_like(cd)
    c = device.operators.lump_sd
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, cd / np.where(c > 0, c, 1.0), 0.0)


def locate(device, points):
    """Element index and barycentric weights (d+1, n_pts) of points in the device mesh.

    Meshes of full-dimensional simplices: :func:`usadel.skfem_geometry.locate`, i.e. scikit-fem's
    ``element_finder()`` proposes the element (blocks of points), the barycentric coordinates come from
    scikit-fem's affine mapping, and points that the finder cannot place strictly inside an element (points
    on element faces or within ``LOCATE_SLACK`` of one, points outside, a block the finder refuses) are
    searched among all elements (in blocks of at most ``LOCATE_BLOCK`` point-element pairs): the element
    where the smallest barycentric coordinate is largest (the first such element on ties), as before
    scikit-fem was used. Points whose coordinates are below -``LOCATE_SLACK`` in every element raise
    UsadelError naming them. Wire networks: :func:`usadel.networks.locate_on_wires` (scikit-fem has no
    finder for intervals embedded in 2D or 3D).
    """
    top = device.topology
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != top.dim:
        raise UsadelError(f"points must have shape (n, {top.dim}), got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise UsadelError(f"points must be finite, got {pts[~np.all(np.isfinite(pts), axis=1)][:5].tolist()}")
    ops = device.operators
    if ops.skfem_mesh is None:
        return locate_on_wires(top.p, top.t, pts, LOCATE_SLACK)
    return skfem_geometry.locate(ops.skfem_mesh, ops.mapping, pts, LOCATE_SLACK, LOCATE_BLOCK, ops.element_finder)


def flux_weight(ops, tag):
    """Harmonic P1 function w: 1 on ``tag``, 0 on the other contacts, K w = 0 elsewhere.

    The total flux of a divergence-free current j into the device through
    ``tag`` is I = -Int j . grad w dx (integrate div(w j) = j . grad w by
    parts). This volume form averages the current over the whole device and
    is far more accurate for P1 fields than facet fluxes from one element
    layer. Insulating edges need no condition (natural).
    """
    dev = ops.device
    if tag not in (dev.mesh.boundaries or {}):
        raise UsadelError(f"unknown boundary tag {tag!r}; the mesh has {list(dev.mesh.boundaries or {})}")
    fixed = np.zeros(ops.n, bool)
    w = np.zeros(ops.n)
    for other in dev.contacts:
        nodes, _ = ops.boundary_nodes(other)
        fixed[nodes] = True
    nodes, _ = ops.boundary_nodes(tag)
    fixed[nodes] = True
    w[nodes] = 1.0
    free = ~fixed
    if free.any():
        kloc = ops.local_stiffness(ops.vol)
        K = sps.csr_matrix((ops.scatter @ kloc.ravel(), ops.indices, ops.indptr), shape=(ops.n, ops.n))
        # tunnel interfaces conduct too: w is continuous across them, so the split
        # node pairs are merged exactly (P maps merged unknowns to nodes)
        rep = np.arange(ops.n)
        for pa, pb, _, _ in ops.pairs:
            rep[pb] = pa
        for _ in range(len(ops.pairs)):  # chains of interfaces
            rep = rep[rep]
        uniq, col = np.unique(rep, return_inverse=True)
        P = sps.csr_matrix((np.ones(ops.n), (np.arange(ops.n), col)), shape=(ops.n, uniq.size))
        Km = (P.T @ K @ P).tocsr()
        fixed_m = (P.T @ fixed.astype(float)) > 0
        wm = (P.T @ w) / np.maximum(P.T @ np.ones(ops.n), 1)
        free_m = ~fixed_m
        A = Km[free_m][:, free_m].tocsc()
        b = -Km[free_m][:, fixed_m] @ wm[fixed_m]
        wm[free_m] = spla.spsolve(A, b)
        w = P @ wm
    return w
