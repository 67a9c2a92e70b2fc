r"""The equilibrium gap equation and Tc on order-p (p = 2-4) Lagrange elements of 1D wires.

Discretisation (``docs/conventions.md``, Element order):

- Delta is the order-p Lagrange field of its values at the dofs (the order-p device's nodes), and
  pairs only inside superconducting elements (the convention of :mod:`usadel.highorder`); a dof
  that a clean contact fixes, inside a superconducting element, carries the reservoir's gap
  cutoff-free (the only value for which the sum with f = f_res converges), and with ``omega_D`` is
  collocated like any other dof, with f_res and the exact local tail (:mod:`usadel.contact_gap`, shared
  with P1);
- the Matsubara pair amplitudes f_n are the order-p retarded solutions at E = i w_n
  (:func:`usadel.retarded.spectral` on the order-p device);
- the gap equation is collocated at the dofs of superconducting elements (the sums of
  :class:`usadel.matsubara.GapMap` per dof, with no lumping share: ``ps`` = 1);
- the exact linear tail beyond the explicit frequencies is the Matsubara sum of the order-p
  linearised equation (K' + 2 w M) f = 2 (B Delta - M Delta_res) - K' Delta_res / w with the order-p
  stiffness K (and the same barrier and pair-breaking terms as P1), the consistent sigma/D mass M
  and B, M restricted to superconducting elements, all from the element integrals of
  :mod:`usadel.highorder` (``element_matrices``); dense generalised eigenmodes K' V = M V Lambda.

With a consistent mass the order-p pair amplitude at w -> infinity is f -> M^-1 (B Delta)/w, not
Delta/w, wherever the pairing field has an edge inside the finite-element space (a free dof shared by a
superconducting and a non-superconducting element: a transparent S/N interface; a clean contact to a
superconducting reservoir on a normal element). There sum_n (Delta/w_n - f_n) diverges logarithmically
(the cutoff-free continuum itself is singular at such an edge; P1 regularises it by lumping, which moves
the edge by half a cell). The cutoff-free gap equation at order p is therefore built only where there
is no such edge (superconducting wires with clean or tunnel contacts, tunnel interfaces, S/S' junctions)
and needs the Debye regulator ``omega_D`` where there is one; it raises UsadelError otherwise.
"""

import numpy as np
import scipy.sparse as sps

from .chain_dofs import chain_dofs, element_integrals
from .coefficients import anomalous_change
from .contact_gap import clean_contacts, contact_jv, reservoir_gaps
from .errors import UsadelError
from .exchange import SPINS
from .linear_response import mode_sum
from .matsubara import MAX_DENSE_TAIL, MAX_NEWTON_STORAGE, GapMap

__all__ = ["check_wire", "element_matrices", "linear_operators_p", "modes_p", "HighOrderGapMap", "HighOrderTail",
           "pairing_edges"]

#: relative size of a row of (M - B) on the paired dofs below which it counts as no pairing edge (rounding)
EDGE_TOL = 1e-12


def check_wire(where, device):
    """Raise unless ``device`` is an order-p device on a 1D wire (the gap machinery of this module)."""
    if device.dim != 1:
        raise UsadelError(f"{where}: the device has Lagrange order {device.order} on a {device.dim}D mesh; the gap "
                          f"equation, Tc and the nonequilibrium loop are built for orders 2-4 on 1D wires only "
                          f"(usadel.highorder_gap): use order=1")


def element_matrices(device):
    """(K, M, B, C_Gamma): order-p matrices over the nodes of the order-p ``device`` (CSR, n x n).

    K = Int sigma phi_k' phi_l', M = Int (sigma/D) phi_k phi_l, B the same over superconducting elements,
    C_Gamma = Int (sigma/D) Gamma phi_k phi_l (spin-flip pair breaking), with the Gauss rule of
    :mod:`usadel.highorder` (p + 2 points: exact for these polynomials).
    """
    coarse, p = device.coarse, device.order
    dofs = chain_dofs(coarse, p)
    sc = np.array([m.superconducting for m in coarse.region_material()], float)[coarse.topology.region]
    _, m_q, gam, k_loc = element_integrals(coarse, dofs)  # (usadel.highorder's element integrals)
    m_loc = np.einsum("eq,qk,ql->ekl", m_q, dofs.phi, dofs.phi)
    node = np.asarray(device.dof_node)[dofs.L]  # (n_el, p+1) node of every local dof
    rows = np.repeat(node, p + 1, axis=1).ravel()
    cols = np.tile(node, (1, p + 1)).ravel()
    n = device.topology.n_nodes

    def assemble(loc):
        return sps.csr_matrix((loc.ravel(), (rows, cols)), shape=(n, n))
    return (assemble(k_loc), assemble(m_loc), assemble(m_loc * sc[:, None, None]),
            assemble(m_loc * gam[:, None, None]))


def linear_operators_p(device):
    """(K', M, B, fixed): :func:`usadel.linear_response.linear_operators` with the order-p matrices."""
    K, M, B, CG = element_matrices(device)
    bnd = device.boundary
    n = K.shape[0]
    diag = np.zeros(n)
    for contact in bnd.tunnel:
        diag[contact.nodes] += contact.weights / contact.reservoir.barrier.r
    K = K + 2 * CG + sps.diags(diag)
    for link in bnd.barriers:
        pa, pb, k = link.nodes_a, link.nodes_b, link.weights / link.barrier.r
        K = K + sps.csr_matrix((np.r_[k, k, -k, -k], (np.r_[pa, pb, pa, pb], np.r_[pa, pb, pb, pa])), shape=K.shape)
    fixed = np.zeros(n, bool)
    fixed[bnd.dirichlet_nodes] = True
    return K.tocsr(), M.tocsr(), B.tocsr(), fixed


def modes_p(K, M, fixed):
    """(free dofs, Lambda >= 0, V): the generalised eigenmodes K' V = M V Lambda, V^T M V = 1, on the free dofs
    (dense; the order-p counterpart of :func:`usadel.linear_response.linear_modes`)."""
    import scipy.linalg

    free = np.nonzero(~fixed)[0]
    lam, V = scipy.linalg.eigh(K.toarray()[np.ix_(free, free)], M.toarray()[np.ix_(free, free)])
    return free, np.maximum(lam, 0.0), V


def pairing_edges(device, M, B, fixed, d_res):
    """Free nodes where the order-p pairing field has an edge inside the element space (see the module
    docstring): rows of (M - B) that reach a paired node (one of a superconducting element, or a clean
    contact to a superconducting reservoir)."""
    paired = np.asarray(abs(B).sum(axis=1)).ravel() > 0
    paired |= fixed & (np.abs(d_res) > 0)
    Q = abs(M - B)[:, paired]
    row = np.asarray(Q.sum(axis=1)).ravel()
    scale = np.asarray(abs(M).sum(axis=1)).ravel()
    return np.nonzero(~fixed & (row > EDGE_TOL * np.maximum(scale, 1e-300)))[0]


class HighOrderTail:
    """Exact sum over w_n >= w_N of the order-p linearised response, per node (the interface of
    :class:`usadel.linear_response.LinearTail`: ``__call__`` with the reservoirs' lift, ``linear``).

    On the free nodes, with K' V = M V Lambda, V^T M V = 1 and psi_N = sum_{n>=N} 2 pi T g_n/w_n
    (``psi_tail``: finite with the Debye weight g_n, and only needed then):
    sum 2 pi T g_n (Delta/w_n - f_n) = V S1 V^T (B Delta - M_fD Delta_res) + psi_N M^-1 (M Delta~ - B Delta)
    - V S2 V^T R, S1, S2 of :func:`usadel.linear_response.mode_sum`, Delta~ = Delta with the reservoirs'
    gaps at the clean contacts, R the reservoirs' lift.
    """

    def __init__(self, device, T, N, omega_D, psi_tail, ops=None):
        from .linear_response import reservoir_source

        K, M, B, fixed = ops if ops is not None else linear_operators_p(device)
        free, lam, V = modes_p(K, M, fixed)
        self.free = free
        self.fixed = np.nonzero(fixed)[0]
        S1, S2 = mode_sum(lam, T, N, omega_D)
        self.V, self.S1, self.psi = V, S1, psi_tail
        self.Bf, self.Mff = B[free], M[free][:, free]
        d_res = reservoir_gaps(device)
        R = reservoir_source(device, K)[free]
        self.ones = np.ones_like(S1)
        self.res_mass = M[free][:, self.fixed] @ d_res[self.fixed]  # M_fD Delta_res
        self.lift = self._modes(S2, R)  # the superconducting reservoirs' lift through K'

    def _modes(self, S, x):
        op = lambda y: self.V @ (S * (self.V.T @ y))  # real V: two real products beat one complex
        return op(x.real) + 1j * op(x.imag)

    def _apply(self, delta, reservoirs):
        """The tail on the free nodes for the gap field ``delta`` (its values at clean contacts included)."""
        bd = self.Bf @ delta
        if reservoirs:
            bd = bd - self.res_mass
        out = self._modes(self.S1, bd)
        if self.psi:
            out += self.psi * (delta[self.free] - self._modes(self.ones, bd))
        return out

    def __call__(self, delta):
        out = np.zeros(np.shape(delta), complex)
        out[self.free] = self._apply(np.asarray(delta, complex), True) - self.lift
        return out

    def linear(self, delta, contacts=False):
        """The part linear in Delta (a per-node field; its values at clean contacts enter only with ``contacts``,
        where Delta there is an unknown of the gap equation: :class:`HighOrderGapMap` with ``omega_D``)."""
        d = np.array(delta, complex)
        if not contacts:
            d[self.fixed] = 0.0
        out = np.zeros(d.shape, complex)
        out[self.free] = self._apply(d, False)
        return out


class HighOrderGapMap(GapMap):
    """:class:`usadel.matsubara.GapMap` on an order-p device (module docstring): the same outer map,
    collocated at the dofs, with the order-p tail and the Jacobian-vector products through the order-p
    retarded Jacobian (:class:`usadel.highorder.HighOrderProblem`, the element Jacobians kept per frequency)."""

    def _check_order(self, device, omega_D, where):
        from .exchange import spin_mixing

        check_wire(where, device)
        if spin_mixing(device):  # refused by Device already; kept as a guard
            raise UsadelError(f"{where}: spin mixing at order {device.order} is not built; use order=1")
        if device.topology.n_nodes > MAX_DENSE_TAIL:
            raise UsadelError(f"{where}: the order-{device.order} Matsubara tail is a dense eigendecomposition, "
                              f"limited to {MAX_DENSE_TAIL} dofs (this device has {device.topology.n_nodes}); "
                              f"use fewer elements or order=1")
        self._ops_p = ops = linear_operators_p(device)
        self.d_res = reservoir_gaps(device)
        edges = pairing_edges(device, ops[1], ops[2], ops[3], self.d_res)
        if omega_D is None and edges.size:
            x = device.topology.p[0, edges]
            raise UsadelError(
                f"{where}: order {device.order}: the pairing field has an edge inside the element space at "
                f"x = {np.round(x[:4], 6).tolist()} (a transparent interface between a superconducting and a "
                f"normal element, or a clean contact to a superconducting reservoir on a normal element); there "
                f"the cutoff-free Matsubara sum of the order-p pair amplitude diverges logarithmically "
                f"(docs/conventions.md, Element order). Pass the Debye energy omega_D, use a tunnel interface, "
                f"or order=1")

    def _pairing_share(self):
        return np.ones(self.ops.n)  # the order-p solve restricts Delta to superconducting elements itself

    def _linear_tail(self, device, T, omega_D):
        return HighOrderTail(device, T, self.n_tail, omega_D, self.psi_tail if omega_D is not None else 0.0,
                             ops=self._ops_p)

    def growth_metric(self, low):
        """(nodes, Gram matrix, lower bound) of ``usadel.stability.normal_state_growth``: the normal free dofs
        (a clean contact's dof is the reservoir's gap, not perturbed) in the consistent pairing mass B on them.
        The collocated linearised map is Delta -> D^-1 (ln(Tc0/T) - V S V^T B) Delta on the superconducting
        free dofs (``usadel.highorder_tc``), self-adjoint in B when Tc0 (so D = lhs) is one number; the top
        Ritz value is then a lower bound if every such dof is normal (the whole operator, not a block of it)."""
        low = low & ~np.isin(np.arange(low.size), self.linear_tail.fixed)
        gram = self._ops_p[2][low][:, low].tocsr()
        sc_free = self.sc.copy()
        sc_free[self.linear_tail.fixed] = False
        bound = bool(np.array_equal(low, sc_free)) and np.ptp(self.ln_tc[self.sc]) == 0
        return low, gram, bound

    def newton_fits(self):
        """True if the element Jacobians of all N frequencies (and spin blocks) fit in ``MAX_NEWTON_STORAGE``."""
        coarse = self.device.coarse
        blocks = 2 if self.h_node is not None else 1
        per = coarse.topology.t.shape[1] * (2 * self.device.order + 2) ** 2
        return blocks * self.N * per < MAX_NEWTON_STORAGE

    def jacobian(self, delta, sp):
        """v -> J v (:meth:`usadel.matsubara.GapMap.jacobian`) with the order-p retarded Jacobian: per spin block
        the element Jacobians at the Matsubara solution, and per product one condensed solve for all frequencies
        (dgamma = -A^-1 (dR/dDelta) v; R is affine in Delta and Delta^*)."""
        from .highorder import HighOrderProblem

        eps = 1j * self.w
        delta = np.array(delta, complex)
        fixed = self.linear_tail.fixed
        c, collocate = clean_contacts(self)
        if not collocate:
            delta[c] = self.d_res[c]
        pinned = fixed if not collocate else fixed[~self.sc[fixed]]
        coarse = self.device.coarse
        sc_el = np.array([m.superconducting for m in coarse.region_material()])[coarse.topology.region]
        blocks = []
        for s in SPINS if sp.spin_split else (0,):
            prob = HighOrderProblem(self.device, delta, 0.0, s, compiled=False)
            b = sp.block(s or 1)
            u = prob.from_nodes(b.state)
            _, J = prob.residual(eps, u, jac=True)
            blocks.append((prob, u, J))
        lhs, k = self.lhs, self.sc

        def jv(v):
            v0 = np.asarray(v)
            v = np.array(v, complex)
            v[pinned] = 0.0  # G is the reservoir's gap there (or 0 off superconducting elements): dG = 0
            dF = []
            for prob, u, J in blocks:
                dx = prob.step(J, _pair_rows(prob, sc_el, prob.from_nodes(v[None])[0], u))
                dF.append(prob.nodes(anomalous_change(dx[:, 0::2], dx[:, 1::2], u[..., 0], u[..., 1])))
            dF = dF[0] if len(dF) == 1 else 0.5 * (dF[0] + dF[1])
            dS = 2 * np.pi * self.T * (self.debye_weight @ (-1j * dF))
            dtail = self.linear_tail.linear(v, collocate)[k]
            if self.h_node is not None:  # the exchange field's local tail correction is linear in Delta
                dtail = dtail + v[k] * self._tail_exchange(np.zeros(np.count_nonzero(k)))
            out = -v
            out[k] += (dS[k] - dtail) / lhs[k]
            out[pinned] = -v0[pinned]
            return contact_jv(self, v0, out)
        return jv


def _pair_rows(prob, sc, v, u):
    """dR/dDelta v (b, 2 n) of the order-p residual at the state u (b, n, 2) for a gap change ``v`` per dof
    (Lagrange field in superconducting elements ``sc``; clean-contact rows zero, as in the residual)."""
    dofs = prob.dofs
    dq = sc[:, None] * (v[dofs.L] @ dofs.phi.T)  # (n_el, nq)
    gq, _ = dofs.at_quadrature(u[..., 0])
    tq, _ = dofs.at_quadrature(u[..., 1])
    M = prob.M
    vg = M * (-1j * (dq + np.conj(dq) * gq * gq))
    vt = M * (1j * (dq * tq * tq + np.conj(dq)))
    Fg = dofs.assemble_vector(vg @ dofs.phi)
    Ft = dofs.assemble_vector(vt @ dofs.phi)
    Fg[:, prob.dir_dofs] = Ft[:, prob.dir_dofs] = 0.0
    F = np.empty((u.shape[0], 2 * dofs.n), complex)
    F[:, 0::2], F[:, 1::2] = Fg, Ft
    return F
