r"""Order-p Lagrange dofs on triangle meshes (p = 2, 3): scikit-fem's bases, the lattice-refined mesh
whose nodes are the dofs, and the facet weights of tunnel contacts.

scikit-fem numbers the dofs of ``ElementTriP2`` vertices first, then one per facet (its midpoint),
and those of ``ElementTriP3`` vertices, then two per facet (at 1/3 and 2/3 of it, the first nearer
the facet's first vertex in the element's local order), then one per element (the centroid). The
two dofs of a P3 facet are shared correctly between its two elements only if both see the facet's
vertices in the same order: scikit-fem's triangle meshes sort every element's vertices (``sort_t``),
which gives that; :func:`tri_basis` checks it (every element's dofs at the element's own lattice
points) and raises otherwise.

The dofs of an order-p triangle sit at the points of the lattice (i/p, j/p), i + j <= p, of the
reference triangle; cutting every element along that lattice into p^2 similar triangles gives a P1
mesh whose nodes are exactly the dofs (:func:`lattice_mesh`; for p = 2 the once uniformly refined
mesh of ``mesh.refined()``, array for array). An order-p 2D device is built on that mesh
(``usadel.order.order_topology``), so its nodes are the dofs.

A tunnel contact's boundary integral is the closed Newton-Cotes rule on the p + 1 dofs of each
facet (:data:`NEWTON_COTES`: Simpson, 1/6 4/6 1/6, for P2; Simpson's 3/8 rule, 1/8 3/8 3/8 1/8,
for P3), with the nonlinear flux a function of the nodal values (as P1's lumping).
"""

import numpy as np
import skfem
from scipy.spatial import cKDTree

from .errors import UsadelError

__all__ = ["ELEMENTS", "INTORDER", "NEWTON_COTES", "BYTES_PER_ELEMENT", "BYTES_PER_ENERGY_NODE", "memory_need", "check_memory", "tri_basis", "lattice", "lattice_mesh", "dof_nodes",
           "facet_weights", "point_operators"]

#: scikit-fem's Lagrange element of every order built on triangles
ELEMENTS = {2: skfem.ElementTriP2, 3: skfem.ElementTriP3}
#: quadrature order of the cell integrals: exact for products of two order-p functions (degree 2p)
INTORDER = {2: 4, 3: 6}
#: closed Newton-Cotes rule on a facet's p + 1 equally spaced dofs: (numerators from end to end, denominator);
#: the weights are numerator x length / denominator
NEWTON_COTES = {2: ((1, 4, 1), 6), 3: ((1, 3, 3, 1), 8)}
#: peak bytes per mesh element of one spectral solve on an order-p triangle device (the basis, the sparse
#: point and assembly operators of nb^2 x nq entries per element, the Newton arrays, the LUs), up to ~40
#: energies: peak RSS above the built device on strips of 3200-7200 elements, P2 63-86 kB, P3 171-293 kB
BYTES_PER_ELEMENT = {2: 90e3, 3: 300e3}
#: and per energy and node beyond (the solutions kept in the block and in the result: 68-77 bytes measured
#: with tracemalloc from 160 to 640 energies; doubled for the copies of a block sent back from a worker)
BYTES_PER_ENERGY_NODE = 160


def memory_need(n_el, order, copies=1, n_energies=0, n_nodes=0):
    """Bytes that ``copies`` order-``order`` spectral solves at once on ``n_el`` triangles need, with the
    solutions at ``n_energies`` energies on the device's ``n_nodes`` nodes."""
    return BYTES_PER_ELEMENT[order] * n_el * copies + BYTES_PER_ENERGY_NODE * n_energies * n_nodes


def check_memory(n_el, order, copies=1, n_energies=0, n_nodes=0):
    """Raise UsadelError, before any work, if :func:`memory_need` exceeds ``usadel.budget.MEMORY_BUDGET``
    (``copies``: concurrent energy blocks, each with its own problem)."""
    from . import budget

    need = memory_need(n_el, order, copies, n_energies, n_nodes)
    if need > budget.MEMORY_BUDGET:
        each = f", {copies} energy blocks at once" if copies > 1 else ""
        raise UsadelError(f"order = {order} on {n_el} triangles: a spectral solve needs about {budget.gib(need)} "
                          f"({BYTES_PER_ELEMENT[order] / 1e3:.0f} kB per element{each}; {n_energies} energies), "
                          f"over the memory budget of {budget.gib(budget.MEMORY_BUDGET)} "
                          f"(usadel.budget.MEMORY_BUDGET): use a coarser mesh, a lower order or fewer workers")


def tri_basis(mesh, order):
    """scikit-fem's order-``order`` Lagrange basis on a triangle mesh (quadrature order ``INTORDER[order]``).

    Raises UsadelError if some element's dofs are not at that element's own lattice points (the facet
    dofs of two neighbours would not match: element vertices not sorted).
    """
    element = ELEMENTS[order]()
    basis = skfem.CellBasis(mesh, element, intorder=INTORDER[order])
    own = basis.mapping.F(element.doflocs.T)  # (2, n_el, nb): every element's lattice points
    shared = basis.doflocs[:, basis.element_dofs.T]  # (2, n_el, nb): where the global dofs are
    scale = np.max(np.ptp(mesh.p, axis=1))
    if np.max(np.abs(own - shared), initial=0.0) > 1e-9 * scale:
        raise UsadelError(f"Device: order = {order}: the facet dofs of neighbouring triangles do not match "
                          f"(element vertices not sorted: build the mesh with skfem.MeshTri(p, t), sort_t=True)")
    return basis


def lattice(order):
    """The ``order``^2 sub-triangles of the reference triangle's lattice, as triples of local dofs (p^2, 3):
    the upward ones (i, j), (i+1, j), (i, j+1) for i + j < p, then the downward ones, each j-major (for p = 2
    the order of ``mesh.refined()``: the corners at vertices 0, 1, 2, then the middle one)."""
    p = order
    index = {tuple(ij): k for k, ij in enumerate(np.rint(ELEMENTS[p].doflocs * p).astype(int).tolist())}
    up = [(index[i, j], index[i + 1, j], index[i, j + 1]) for j in range(p) for i in range(p - j)]
    down = [(index[i + 1, j], index[i, j + 1], index[i + 1, j + 1]) for j in range(p - 1) for i in range(p - 1 - j)]
    return np.array(up + down)


def lattice_mesh(mesh, basis, order):
    """The P1 triangle mesh of the lattice points of every element of ``mesh`` (nodes: the dofs of ``basis``,
    same numbering), with the mesh's boundaries and subdomains carried over (elements sorted, sub-triangle
    major: sub-triangle s of element e is element s n_el + e)."""
    p, dofs = order, basis.element_dofs  # (nb, n_el)
    n_el = dofs.shape[1]
    # node coordinates from the barycentric lattice coordinates (integers / p), summed in one fixed order,
    # so the point a facet's two elements give is the same to the bit (and p = 2 gives refined()'s midpoints)
    bary = np.rint(ELEMENTS[p].doflocs * p).astype(int)
    lam = np.stack([p - bary.sum(axis=1), bary[:, 0], bary[:, 1]], axis=1)  # (nb, 3)
    v = mesh.p[:, mesh.t]  # (2, 3, n_el)
    xy = np.empty((2, basis.N))
    for k in range(dofs.shape[0]):
        xy[:, dofs[k]] = (lam[k, 0] * v[:, 0] + lam[k, 1] * v[:, 1] + lam[k, 2] * v[:, 2]) / p
    xy[:, :mesh.p.shape[1]] = mesh.p
    t = np.sort(dofs[lattice(p)].transpose(1, 0, 2).reshape(3, -1), axis=0)
    subs = np.arange(p * p)[:, None] * n_el
    fine = skfem.MeshTri(xy, t)
    keys = fine.facets[0].astype(np.int64) * basis.N + fine.facets[1]  # facets are sorted (lexicographic)
    boundaries = {}
    for tag, f in (mesh.boundaries or {}).items():
        chain = _facet_dofs(mesh, basis, np.asarray(f))  # (p + 1, n_f) along each facet
        a, b = np.sort(np.stack([chain[:-1], chain[1:]]), axis=0).reshape(2, -1)
        boundaries[tag] = np.sort(np.searchsorted(keys, a.astype(np.int64) * basis.N + b))
    subdomains = {name: np.sort((subs + np.asarray(e)[None, :]).ravel()) for name, e in (mesh.subdomains or {}).items()}
    return skfem.MeshTri(xy, t, boundaries, subdomains)


def _facet_dofs(mesh, basis, f):
    """The p + 1 dofs of each facet ``f`` from its first vertex to its second, (p + 1, n_f)."""
    inner = basis.dofs.facet_dofs[:, f]  # (p - 1, n_f)
    a, b = mesh.facets[:, f]
    if inner.shape[0] > 1:  # order the inner dofs by their distance from the first vertex
        d = np.linalg.norm(basis.doflocs[:, inner] - mesh.p[:, a][:, None], axis=0)
        inner = np.take_along_axis(inner, np.argsort(d, axis=0), axis=0)
    return np.vstack([a, inner, b])


def facet_weights(mesh, basis, order, f):
    """Dofs on the facets ``f`` and their Newton-Cotes weights summed over the facets: (dofs, weights)."""
    chain = _facet_dofs(mesh, basis, f)
    length = np.linalg.norm(mesh.p[:, chain[-1]] - mesh.p[:, chain[0]], axis=0)
    num, den = NEWTON_COTES[order]
    # ends first, then the inner dofs (for P2 the sums of the earlier code, bit for bit)
    rows = [0, len(num) - 1, *range(1, len(num) - 1)]
    d = np.concatenate([chain[r] for r in rows])
    w = np.bincount(d, np.concatenate([num[r] * length / den for r in rows]), minlength=basis.N)
    nodes = np.unique(d)
    return nodes, w[nodes]


def dof_nodes(basis, fine_p, order):
    """Node of the lattice-refined device (coordinates ``fine_p``, (2, n)) at every dof of ``basis``."""
    locs = basis.doflocs
    dist, node = cKDTree(fine_p.T).query(locs.T)
    scale = np.max(np.ptp(fine_p, axis=1))
    if np.max(dist, initial=0.0) > 1e-9 * scale or np.unique(node).size != node.size:
        raise UsadelError(f"Device: order = {order}: the refined mesh's nodes are not the P{order} dofs of the mesh")
    return node


def point_operators(basis):
    """Sparse (Q, n) operators from dof values to values, x and y derivatives at the Q = n_el x nq
    quadrature points of ``basis`` (element-major)."""
    import scipy.sparse as sps

    dofs = basis.element_dofs
    nb, n_el = dofs.shape
    nq = basis.dx.shape[1]
    rows = np.repeat(np.arange(n_el * nq), nb)
    cols = np.repeat(dofs.T[:, None, :], nq, axis=1).ravel()

    def op(vals):  # (nb, n_el, nq) -> (Q, n)
        return sps.csr_matrix((vals.transpose(1, 2, 0).ravel(), (rows, cols)), shape=(n_el * nq, basis.N))
    return (op(np.stack([np.asarray(b[0]) for b in basis.basis])),
            *(op(np.stack([b[0].grad[d] for b in basis.basis])) for d in (0, 1)))
