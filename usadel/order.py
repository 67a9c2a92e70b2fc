"""Lagrange element order of a device: validation and the solvers that refuse order > 1.

``usadel.Device(mesh, ..., order=...)`` chooses the Lagrange order of the
retarded (spectral) solve: 1 (P1, every solver), or 2 to 4 on 1D wires
(a single chain of line elements, one or several regions; ``usadel.highorder``), and 2 or 3 on
triangle meshes (``usadel.highorder_tri``).
An order-p device's nodes are its Lagrange dofs (``usadel.chain_dofs.refine``; on triangles the
nodes of the mesh cut along every element's lattice into p^2 triangles, which are scikit-fem's
P2 or P3 dofs, ``usadel.tri_dofs``), so
every per-node array holds one value per dof; everything downstream of the spectral
solve runs on the device's P1 operators on that chain of dofs (``docs/conventions.md``,
Element order), except the gap equation and Tc, which have order-p equations of their own on 1D
wires (``usadel.highorder_gap``, ``usadel.highorder_tc``); solvers that build P1 equations of
their own refuse order > 1 by :func:`require_order1`.
"""

import math

import numpy as np

from .errors import UsadelError

__all__ = ["ORDERS", "TRIANGLE_ORDERS", "DEFAULT_ORDER", "check_order", "require_order1", "order_topology", "DofFields"]

#: element orders that are built
ORDERS = (1, 2, 3, 4)
#: element orders above 1 built on triangle meshes (usadel.highorder_tri)
TRIANGLE_ORDERS = (2, 3)
#: default order per mesh dimension (P1 everywhere: the existing tests and tolerances are P1's)
DEFAULT_ORDER = {1: 1, 2: 1}


def check_order(mesh, order, materials=None, contacts=None):
    """The validated element order of a device on ``mesh`` (None: the default for its dimension).

    Raises UsadelError for anything but an integer 1..4, for order > 1 on anything but a
    1D chain of line elements (networks and 2D meshes), and for order > 1 with spin mixing
    (an exchange field together with tau_sf or tau_so: the coupled 4x4 problem,
    ``usadel.spin_mixing``, is built for P1 only). ``materials`` {region: Material},
    ``contacts`` {tag: Reservoir}.
    """
    dim = int(np.asarray(mesh.p).shape[0])
    if order is None:
        return DEFAULT_ORDER.get(dim, 1)
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, (int, np.integer)):
        raise UsadelError(f"Device: order must be an integer in {list(ORDERS)} (Lagrange element order), "
                          f"got {order!r}")
    order = int(order)
    if order not in ORDERS:
        raise UsadelError(f"Device: order = {order} is not built; Lagrange element orders {list(ORDERS)} are")
    if order == 1:
        return order
    t = np.asarray(mesh.t)
    network = hasattr(mesh, "cross_section")
    if not network and dim == 2 and t.shape[0] == 3:  # triangles: P2, P3 (usadel.highorder_tri)
        if order not in TRIANGLE_ORDERS:
            raise UsadelError(f"Device: order = {order} on triangles is not built; 2D triangle meshes take order "
                              f"{', '.join(map(str, (1,) + TRIANGLE_ORDERS))}")
    elif network or dim != 1 or t.shape[0] != 2 or not _is_chain(t, np.asarray(mesh.p).shape[1]):
        what = "a wire network" if network else f"a {dim}D mesh" if dim != 1 else "a 1D mesh that is not a chain"
        raise UsadelError(f"Device: order = {order}: orders 2-4 are built for 1D wires (a chain of line elements, "
                          f"usadel.meshes.interval or wire) and orders 2-3 for triangle meshes; this is {what}: "
                          f"use order=1")
    mats, res = list((materials or {}).values()), list((contacts or {}).values())
    if any(m.h for m in mats) or any(c.h for c in res):
        mixing = [r for r, m in materials.items() if _finite(m.tau_sf) or _finite(m.tau_so)]
        if mixing:
            raise UsadelError(f"Device: order = {order} with an exchange field and spin-flip or spin-orbit scattering "
                              f"(regions {mixing}) is not built: the coupled spin blocks (usadel.spin_mixing) are "
                              f"solved with P1 only; use order=1")
    return order


def _finite(tau):
    return tau is not None and not math.isinf(tau)


def _is_chain(t, n):
    """True if every node belongs to at most two line elements (a chain, possibly several pieces)."""
    return bool(np.bincount(t.ravel(), minlength=n).max(initial=0) <= 2)


def require_order1(where, device):
    """Raise for solvers that are built on P1 operators only, naming the solver and the device's order."""
    order = getattr(device, "order", 1)
    if order != 1:
        raise UsadelError(f"{where}: the device has Lagrange order {order}, and {where} is built on P1 operators: "
                          f"build the device with order=1 (usadel.Device(..., order=1)); on 1D wires usadel.gap, "
                          f"critical_temperature and solve take order 2-4 (usadel.highorder_gap)")


def order_topology(mesh, materials, contacts, interfaces, order, coarse=None):
    """(coarse P1 device on ``mesh``, topology whose nodes are the order-``order`` dofs, node of every dof).

    ``coarse``: that P1 device if built already (``Device(mesh, materials, contacts, interfaces, order=1)``).

    1D chains: :func:`usadel.chain_dofs.refine`. Triangles (order 2, 3): the mesh cut along every element's
    lattice into order^2 triangles (:func:`usadel.tri_dofs.lattice_mesh`; for order 2 the once uniformly
    refined mesh), whose nodes are scikit-fem's P2 or P3 dofs; tunnel interfaces between regions are not
    built there (UsadelError).
    """
    from .device import Device  # the device module calls this one

    if coarse is None:
        coarse = Device(mesh, materials, contacts, interfaces, order=1)
    if np.asarray(mesh.p).shape[0] == 1:
        from .chain_dofs import chain_dofs, refine
        topology, node = refine(coarse.topology, chain_dofs(coarse, order), list(interfaces))
        return coarse, topology, node
    if interfaces:
        raise UsadelError(f"Device: order = {order} on triangles with tunnel interfaces between regions "
                          f"({sorted(interfaces)}) is not built: use order=1")
    from .tri_dofs import check_memory, dof_nodes, lattice_mesh, tri_basis
    check_memory(np.asarray(mesh.t).shape[1], order)
    basis = tri_basis(mesh, order)
    fine = Device(lattice_mesh(mesh, basis, order), materials, contacts, order=1)  # element nodes sorted: canonical
    return coarse, fine.topology, dof_nodes(basis, fine.topology.p, order)


class DofFields:
    """What the order-p retarded problems (``usadel.highorder``, ``usadel.highorder_tri``) share: the map of
    their dofs onto the order-p device's nodes (``self.node``), and the local bulk start at every dof from
    the per-dof ``gamma_dof`` (pair breaking), ``h_dof`` (exchange field) and ``delta_dof`` (gap)."""

    def nodes(self, u):
        """Dof fields ``u`` (b, n) or states (b, n, ncomp) as arrays over the order-p device's nodes (dof axis 1)."""
        out = np.empty_like(u)
        out[:, self.node] = u
        return out

    def from_nodes(self, u):
        """Dof fields (or states) of arrays ``u`` (b, n) or (b, n, ncomp) over the order-p device's nodes."""
        return np.asarray(u, complex)[:, self.node]

    def initial(self, eps):
        """Local bulk guess at every dof with reservoir values imposed: the state (b, n, 2) (:mod:`usadel.state`)."""
        from .bulk import bulk_gamma
        from .state import stack

        e = eps[:, None] + 1j * self.gamma_dof[None, :] + self.h_dof[None, :]
        return self.impose(eps, stack(*bulk_gamma(e, self.delta_dof[None, :])))
