"""The boundary model of a device: contacts and barriers, built once with the Device.

Every solver (retarded, kinetic, gap, Tc, current weights) reads the same
description of where the device meets the outside world and where its regions
meet each other through a barrier:

- a :class:`Contact` per tag with a reservoir: its nodes and their lumped facet
  weights (the facet measure shared equally among a facet's nodes), the
  reservoir, and whether it is clean (Dirichlet) or a tunnel contact;
  facet measures come from scikit-fem's ``FacetBasis`` on the tagged facets
  (:func:`usadel.skfem_geometry.facet_measure`), or, on wire networks, from the
  stored facet areas (wire cross-sections);
- a :class:`BarrierLink` per tunnel interface between regions: the pairs of
  split nodes facing each other, their lumped facet weights and the barrier.

Its checks (clean contacts sharing a node) run once, in ``Device``. The model
knows nothing of the number of unknowns per node, so a solver with two or
four retarded components, or another backend, reads it unchanged.
"""

from dataclasses import dataclass, replace

import numpy as np

from .errors import UsadelError
from .skfem_geometry import facet_measure

__all__ = ["Contact", "BarrierLink", "Boundary", "facet_area", "tag_nodes", "build",
           "kinetic_reservoirs"]


@dataclass(frozen=True)
class Contact:
    """A reservoir attached to a tagged boundary: its nodes and lumped facet weights."""

    tag: str
    reservoir: object
    nodes: np.ndarray
    weights: np.ndarray

    @property
    def clean(self):
        """True for a clean (Dirichlet) contact, False for a tunnel contact."""
        return self.reservoir.barrier is None

    @property
    def conductance(self):
        """Normal-state conductance of a tunnel contact, Sum(weights)/r (None if clean)."""
        return None if self.clean else float(np.sum(self.weights)) / self.reservoir.barrier.r


@dataclass(frozen=True)
class BarrierLink:
    """A tunnel barrier between two regions: facing split nodes (a, b) and their facet weights."""

    regions: tuple
    nodes_a: np.ndarray
    nodes_b: np.ndarray
    weights: np.ndarray
    barrier: object


@dataclass(frozen=True)
class Boundary:
    """All contacts (by tag, in the device's order) and barrier links of a device."""

    contacts: dict
    barriers: tuple

    @property
    def clean(self):
        return tuple(c for c in self.contacts.values() if c.clean)

    @property
    def tunnel(self):
        return tuple(c for c in self.contacts.values() if not c.clean)

    @property
    def dirichlet_nodes(self):
        """Nodes fixed by clean contacts (each belongs to exactly one)."""
        nodes = [c.nodes for c in self.clean]
        return np.concatenate(nodes) if nodes else np.zeros(0, int)

    def with_reservoirs(self, reservoirs):
        """The same geometry with some reservoirs replaced ({tag: Reservoir})."""
        return replace(self, contacts={t: (replace(c, reservoir=reservoirs[t]) if t in reservoirs else c)
                                       for t, c in self.contacts.items()})


def tag_nodes(p, facet_nodes, area):
    """Unique nodes of a set of facets and their lumped weights (facet measure ``area`` / nodes per facet)."""
    meas = np.asarray(area, float) / facet_nodes.shape[0]
    w = np.bincount(facet_nodes.ravel(), weights=np.tile(meas, facet_nodes.shape[0]), minlength=p.shape[1])
    nodes = np.unique(facet_nodes)
    return nodes, w[nodes]


def facet_area(topology, key):
    """Measure of each facet of a boundary tag or (side a of) an interface key: the stored areas on networks,
    else from scikit-fem's ``FacetBasis`` on the facets (:func:`usadel.skfem_geometry.facet_measure`)."""
    if topology.facet_area is not None:
        return topology.facet_area[key]
    if key in topology.boundary:
        nodes, owners = topology.boundary[key]
    else:
        nodes, _, owners, _ = topology.interfaces[key]
    return facet_measure(topology.p, topology.t, nodes, owners)


def build(topology, contacts, interfaces):
    """Boundary model from a finalised topology, {tag: Reservoir} and {(a, b): Barrier}.

    Raises UsadelError if two clean contacts share a node (the reservoir
    there would be ambiguous).
    """
    p = topology.p
    out = {}
    owner = {}
    for tag, res in contacts.items():
        nodes, w = tag_nodes(p, topology.boundary[tag][0], facet_area(topology, tag))
        c = Contact(tag=tag, reservoir=res, nodes=nodes, weights=w)
        if c.clean:
            for node in nodes:
                if node in owner:
                    raise UsadelError(f"Device: clean contacts {owner[node]!r} and {tag!r} share node {int(node)} "
                                      f"at x = {p[:, node].tolist()}: the reservoir there is ambiguous; "
                                      f"make one of them a tunnel contact or separate them")
                owner[node] = tag
        out[tag] = c
    links = []
    n = p.shape[1]
    for key, bar in interfaces.items():
        na, nb, _, _ = topology.interfaces[key]
        meas = facet_area(topology, key) / na.shape[0]
        pk = na.ravel().astype(np.int64) * n + nb.ravel()
        uk, inv = np.unique(pk, return_inverse=True)
        w = np.bincount(inv, weights=np.tile(meas, na.shape[0]))
        links.append(BarrierLink(regions=key, nodes_a=uk // n, nodes_b=uk % n, weights=w, barrier=bar))
    return Boundary(contacts=out, barriers=tuple(links))


def kinetic_reservoirs(dev, contacts):
    """The device's reservoirs with some replaced ({tag: Reservoir}), checked: only kinetic data may change."""
    from .device import Reservoir  # device builds the boundary model: import at call time

    out = dict(dev.contacts)
    for tag, res in (contacts or {}).items():
        if tag not in dev.contacts:
            raise UsadelError(f"kinetic: contacts: {tag!r} is not a contact of the device "
                              f"(contacts: {sorted(dev.contacts)})")
        if not isinstance(res, Reservoir):
            raise UsadelError(f"kinetic: contacts[{tag!r}] must be a Reservoir, got {type(res).__name__}")
        old = dev.contacts[tag]
        if (res.delta != old.delta or res.phase != old.phase or res.barrier != old.barrier  # Barrier: (r, P)
                or res.h != old.h):
            raise UsadelError(f"kinetic: contacts[{tag!r}] changes delta, phase or barrier or the exchange field h, which the "
                              f"spectral solution depends on; solve the spectral problem again instead")
        out[tag] = res
    return out

