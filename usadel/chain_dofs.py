"""Degrees of freedom of order-p Lagrange elements on the 1D chain of a device.

Every element of the finalised topology of the P1 device on the mesh
(``Device.coarse.topology`` of an order-p device; tunnel interfaces already split
their node) gets p + 1 local dofs: its two vertices (shared with the neighbouring
element) and p - 1 interior ones. The dofs are numbered along the chain (reverse
Cuthill-McKee on the dof graph, tunnel pairs included). The Newton steps condense
the interior dofs away (:mod:`usadel.condense`), so only the vertex system is ever
factorised.
:func:`refine` builds the topology of the order-p device itself: the chain whose nodes
are the dofs (so its per-node arrays hold one value per dof).
"""

import weakref

import numpy as np
import scipy.sparse as sps

from .device import Topology, renumber
from .lagrange import line_element
from .ordering import rcm

__all__ = ["ChainDofs", "chain_dofs", "element_integrals", "refine"]

#: ChainDofs per (device, order, nq), kept while the device lives (a pure function of its topology)
_CACHE = weakref.WeakKeyDictionary()


def chain_dofs(device, order, nq=None):
    """:class:`ChainDofs` of ``device`` (a P1 device on a chain), built once per device, order and
    quadrature (the order-p device builds it for its nodes, and every spectral solve on it again).
    Shared: do not modify it."""
    per = _CACHE.setdefault(device, {})
    key = (int(order), nq)
    if key not in per:
        per[key] = ChainDofs(device, order, nq)
    return per[key]


class ChainDofs:
    """Dof numbering and quadrature geometry of order ``order`` Lagrange elements on ``device``'s chain.

    Local dofs are in vertex-first order: 0 at ``t[0]`` (xi = -1), 1 at ``t[1]`` (xi = +1), then
    the interior Gauss-Lobatto nodes in ascending xi (:mod:`usadel.condense` relies on it).

    Attributes
    ----------
    order : element order p
    element : :class:`usadel.lagrange.LineElement` (tables in ascending node order)
    local_nodes, phi, dphi : reference nodes (p+1,) and basis tables (nq, p+1) in local (vertex-first) order
    n : number of dofs; ``L`` (n_el, p+1) local-to-global map; ``vertex`` (n_nodes,) dof of each mesh vertex
    x : (n,) dof coordinates; ``jac`` (n_el,) signed dx/dxi; ``xq`` (n_el, nq) quadrature points
    """

    def __init__(self, device, order, nq=None):
        top = device.topology
        nv, t = top.n_nodes, np.asarray(top.t)
        ne = t.shape[1]
        p = int(order)
        el = line_element(p, nq)
        self.order, self.element = p, el
        perm = np.r_[0, p, 1:p]
        self.local_nodes, self.phi, self.dphi = el.nodes[perm], el.phi[:, perm], el.dphi[:, perm]
        L0 = np.empty((ne, p + 1), dtype=np.int64)
        L0[:, 0], L0[:, 1] = t[0], t[1]
        L0[:, 2:] = nv + np.arange(ne * (p - 1)).reshape(ne, p - 1)
        n = nv + ne * (p - 1)
        r = [np.broadcast_to(L0[:, :, None], (ne, p + 1, p + 1)).ravel()]
        c = [np.broadcast_to(L0[:, None, :], (ne, p + 1, p + 1)).ravel()]
        for lk in device.boundary.barriers:
            r += [lk.nodes_a, lk.nodes_b]
            c += [lk.nodes_b, lk.nodes_a]
        r, c = np.concatenate(r), np.concatenate(c)
        perm = rcm(r, c, n, summed=False)  # (cached per graph: usadel.ordering)
        inv = np.empty(n, dtype=np.int64)
        inv[perm] = np.arange(n)  # numbered along the chain
        self.n, self.n_el = n, ne
        self.L = inv[L0]
        self.vertex = inv[np.arange(nv)]
        xa, xb = top.p[0, t[0]], top.p[0, t[1]]
        self.jac = 0.5 * (xb - xa)
        mid = 0.5 * (xa + xb)
        self.x = np.empty(n)
        self.x[self.L] = mid[:, None] + self.jac[:, None] * self.local_nodes[None, :]
        self.x[self.vertex] = top.p[0]  # the vertices exactly (not mid + jac xi)
        self.xq = mid[:, None] + self.jac[:, None] * el.xq[None, :]
        #: (n, n_el (p+1)): element vectors onto dofs
        self.gather_t = sps.csr_matrix((np.ones(ne * (p + 1)), (self.L.ravel(), np.arange(ne * (p + 1)))),
                                       shape=(n, ne * (p + 1)))

    def assemble_vector(self, local):
        """Sum element vectors (b, n_el, p+1) onto dofs, (b, n)."""
        b = local.shape[0]
        return (self.gather_t @ local.reshape(b, -1).T).T

    def at_quadrature(self, u):
        """Values and x-derivatives of dof fields ``u`` (b, n) at the Gauss points, each (b, n_el, nq)."""
        ul = u[:, self.L]
        return ul @ self.phi.T, (ul @ self.dphi.T) / self.jac[:, None]


def element_integrals(device, dofs):
    """(S, M, gam, K_loc) on the elements of the P1 ``device`` (a chain; ``dofs`` its order-p
    :class:`ChainDofs`): sigma dx and (sigma/D) dx at the Gauss points (n_el, nq), the pair-breaking rate
    Gamma per element (n_el,), and the stiffness blocks Int sigma phi_k' phi_l' (n_el, p+1, p+1). The element
    integrals of the order-p retarded solve (``usadel.highorder``) and of its gap equation
    (``usadel.highorder_gap``)."""
    mats = device.region_material()
    reg = device.topology.region
    sigma, D, gam = (np.array([getattr(m, a) for m in mats])[reg] for a in ("sigma", "D", "spin_flip_rate"))
    w = np.abs(dofs.jac)[:, None] * dofs.element.wq[None, :]
    S = sigma[:, None] * w
    M = S / D[:, None]
    K_loc = np.einsum("eq,qk,ql->ekl", S / dofs.jac[:, None] ** 2, dofs.dphi, dofs.dphi)
    return S, M, gam, K_loc


def refine(coarse, dofs, barrier_pairs):
    """Topology of the chain whose nodes are the order-p Lagrange dofs of ``coarse`` (a P1 Topology).

    ``dofs``: :class:`usadel.chain_dofs.ChainDofs` of the coarse chain. Every coarse element becomes p
    fine elements between consecutive dofs (vertex, p - 1 Gauss-Lobatto interior points, vertex), with
    the coarse element's region; boundary tags and interfaces keep their (vertex) nodes, owned by the
    fine element at that end. Returns (fine Topology, node (n_dofs,): the fine node of every dof).
    """
    p = dofs.order
    srt = dofs.L[:, np.r_[0, 2:p + 1, 1]]  # dofs of each element in ascending xi (t[0] to t[1])
    t = np.stack([srt[:, :-1].ravel(), srt[:, 1:].ravel()])  # fine element e p + j: the j-th of element e
    region = np.repeat(coarse.region, p)

    def owner(nodes, own):  # the fine element of coarse element ``own`` that holds its vertex ``nodes``
        return own * p + np.where(nodes[0] == coarse.t[0, own], 0, p - 1)
    boundary = {k: (dofs.vertex[fn], owner(fn, own)) for k, (fn, own) in coarse.boundary.items()}
    interfaces = {k: (dofs.vertex[na], dofs.vertex[nb], owner(na, oa), owner(nb, ob))
                  for k, (na, nb, oa, ob) in coarse.interfaces.items()}
    x, t, boundary, interfaces, inv = renumber(dofs.x[None, :], t, boundary, interfaces, barrier_pairs)
    fine = Topology(p=x, t=t, region=region, region_names=coarse.region_names, boundary=boundary,
                    interfaces=interfaces)
    return fine, inv

