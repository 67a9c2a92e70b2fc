r"""Retarded Riccati equations with order-2 to 4 Lagrange elements on 1D wires.

The same weak equations as :class:`usadel.retarded.RetardedProblem` (module
docstring there; ``docs/derivations.md``, weak Riccati form): for every test
function phi_k,

    Int sigma [gamma' phi_k' + 2 gamma~ gamma'^2/(1 + gamma gamma~) phi_k] dx
      + Int (sigma/D) [-2 i (E + s h) gamma - i Delta - i Delta^* gamma^2
                       + 2 Gamma gamma (1 - gamma gamma~)/(1 + gamma gamma~)] phi_k dx
      - (Kupriyanov-Lukichev flux at barrier vertices) = 0,

and its tilde partner, now with every integral by Gauss quadrature on each
element (:func:`usadel.lagrange.line_element`: p + 2 points, exact for the bilinear
terms) instead of P1's lumping. Clean contacts fix the vertex dof to the
reservoir's bulk value; tunnel contacts and tunnel interfaces act on vertex
dofs through :func:`usadel.bulk.riccati_barrier`, as in P1 (the vertex
values of a Lagrange field are its point values). The state is u[E, dof, component]
(:mod:`usadel.state`, two components (gamma, gamma~): ``ncomp = 2``), the dofs numbered along the
chain (:class:`usadel.chain_dofs.ChainDofs`), so the Newton vector interleaves (gamma, gamma~) per dof;
every Newton step condenses the element-interior unknowns away and solves the vertex
system, which has the P1 pattern, with the P1 banded solver for the whole batch of
energies (:class:`usadel.condense.StaticCondensation`). Newton, the eta-homotopy and the
retries follow :mod:`usadel.retarded` with its constants.

The elements are those of ``device.coarse`` (the P1 device on the mesh itself); the nodes
of an order-p ``device`` are the dofs (``device.dof_node`` maps the dof numbering of
:class:`usadel.chain_dofs.ChainDofs` onto them), so the solution is reported at every dof
(``SpectralResult`` shape (n_E, n_dofs)) and per-node inputs (a gap field, a warm start)
are read at every dof.

The gap: a scalar or {region: value} is constant in each superconducting element; a
per-node array is the order-p Lagrange field of its dof values inside superconducting
elements (normal elements carry none, where P1's lumping gives a normal node next to a
superconductor its full nodal value).
"""

import functools

import numpy as np

from .bulk import bulk_gamma, riccati_barrier
from .chain_dofs import chain_dofs, element_integrals
from .newton import newton
from . import kernels
from .condense import StaticCondensation
from .eta_homotopy import finish, homotopy, warm_start
from .order import DofFields

__all__ = ["HighOrderProblem", "solve_chunk", "MAX_ELEMENT_ENTRIES"]

#: element-Jacobian entries per batch of energies (n_E x n_el x (2p+2)^2 complex; 4e6 is 64 MB per array)
MAX_ELEMENT_ENTRIES = 4e6


def _delta_fields(device, delta, dofs):
    """Delta per element at the Gauss points (n_el, nq) and at the local nodes (n_el, p+1), complex.

    ``device``: the coarse (P1) device. A scalar or {region: value} is constant per superconducting
    element; a per-dof array (dof numbering) is the Lagrange field of its values in each superconducting element.
    """
    top = device.topology
    sc = np.array([m.superconducting for m in device.region_material()])[top.region]
    names = device.region_names
    el = dofs.element
    if isinstance(delta, dict):
        per_el = np.array([complex(delta.get(r, 0.0)) for r in names])[top.region]
    elif np.ndim(delta) == 0:
        per_el = np.full(top.t.shape[1], complex(delta))
    else:
        loc = np.asarray(delta, dtype=complex)[dofs.L]
        return sc[:, None] * (loc @ dofs.phi.T), sc[:, None] * loc
    per_el = per_el * sc
    return (np.repeat(per_el[:, None], el.xq.size, axis=1), np.repeat(per_el[:, None], el.p + 1, axis=1))


class HighOrderProblem(DofFields):
    """Residual, Jacobian and damped Newton of the Riccati equations on order-p elements (batched).

    Interface of :class:`usadel.retarded.RetardedProblem` (``ncomp``, ``state_size``, ``initial``, ``impose``,
    ``residual``, ``newton``, ``energy_scale``, ``ops.thouless_energy``) on states u (b, n, 2) of
    :mod:`usadel.state` over the dofs of :class:`usadel.chain_dofs.ChainDofs` of ``device.coarse``; ``nodes`` and
    ``from_nodes`` map dof fields and states to and from the nodes of the order-p ``device`` (one per dof,
    ``device.dof_node``).
    """

    #: components per dof: (gamma, gamma~) of one spin block
    ncomp = 2

    def __init__(self, device, delta, eta, spin=0, compiled=None):
        self.node = device.dof_node
        if not isinstance(delta, dict) and np.ndim(delta) > 0:
            delta = np.asarray(delta, dtype=complex)[self.node]  # per node -> per dof
        order, device = device.order, device.coarse  # the elements: the P1 device on the mesh itself
        self.ops = ops = device.operators  # P1 operators on the vertices: boundary model, Thouless energy
        self.dofs = dofs = chain_dofs(device, order)
        self.eta, self.spin = eta, spin
        reg = device.topology.region
        el = dofs.element
        h = spin * np.array([m.h for m in device.region_material()])[reg] if spin else np.zeros(reg.size)
        #: sigma dx, (sigma/D) dx at the Gauss points (n_el, nq); stiffness blocks Int sigma phi_k' phi_l'
        self.S, self.M, gam, self.K_loc = element_integrals(device, dofs)
        self.gamma_q = np.repeat(gam[:, None], el.xq.size, axis=1)
        self.h_q = np.repeat(h[:, None], el.xq.size, axis=1)
        self.delta_q, delta_loc = _delta_fields(device, delta, dofs)
        #: phi_k phi_l and phi_k phi_l' at the Gauss points, (nq, (p+1)^2)
        self.PP = np.einsum("qk,ql->qkl", dofs.phi, dofs.phi).reshape(el.xq.size, -1)
        self.PD = np.einsum("qk,ql->qkl", dofs.phi, dofs.dphi).reshape(el.xq.size, -1)
        # per-dof local parameters (initial guess, energy scale)
        self.delta_dof = np.zeros(dofs.n, complex)
        self.delta_dof[dofs.L] = delta_loc
        self.gamma_dof = np.zeros(dofs.n)
        self.gamma_dof[dofs.L] = gam[:, None]
        self.h_dof = np.zeros(dofs.n)
        self.h_dof[dofs.L] = h[:, None]
        bnd = device.boundary
        self.dirichlet = [(dofs.vertex[c.nodes], c.reservoir) for c in bnd.clean]
        self.tunnel = [(dofs.vertex[c.nodes], c.weights, c.reservoir) for c in bnd.tunnel]
        #: tunnel contacts and interfaces: dof rows with their P1 (vertex) pattern positions
        self.tunnel_pos = [ops.diag[c.nodes] for c in bnd.tunnel]
        self.links = [(dofs.vertex[pa], dofs.vertex[pb], ops.diag[pa], ops.diag[pb], pab, pba, w, bar)
                      for (pa, pb, w, bar), (pab, pba) in zip(ops.pairs, ops.pair_pos)]
        self.dir_dofs = dofs.vertex[bnd.dirichlet_nodes]
        self.condensation = StaticCondensation(device, dofs)
        p1 = el.p + 1
        self.mass_diag = dofs.assemble_vector((self.M @ self.PP).reshape(-1, p1, p1).diagonal(axis1=1, axis2=2)[None])[0]
        self.mass_max = np.max(self.mass_diag)
        #: bulk terms and element condensation by the compiled kernels (usadel.kernels; None: where numba is there)
        self.compiled = kernels.AVAILABLE if compiled is None else bool(compiled)
        self.tables = tuple(np.ascontiguousarray(a) for a in (
            dofs.L, dofs.phi, dofs.dphi, 1.0 / dofs.jac, self.S, self.M, self.h_q.astype(float),
            self.delta_q.astype(complex), self.gamma_q.astype(float), self.K_loc))
        #: largest assembled stiffness diagonal (the 1/h part of the operator scale)
        self.stiffness_max = np.max(dofs.assemble_vector(self.K_loc.diagonal(axis1=1, axis2=2)[None])[0], initial=0.0)

    @property
    def state_size(self):
        """Length of one energy's state arrays: one value per dof."""
        return self.dofs.n

    @functools.cached_property
    def energy_scale(self):
        """Largest local gap plus pair-breaking rate (plus |h| in a spin block) of the device (fixed fields:
        computed once; the homotopy, the sweep and every Newton call read it)."""
        return (np.max(np.abs(self.delta_q), initial=0.0) + np.max(self.gamma_q, initial=0.0)
                + np.max(np.abs(self.h_q), initial=0.0))

    @functools.cached_property
    def smallest_gap(self):
        """Smallest local gap edge |Delta| - |h| at the quadrature points of superconducting elements (None: no
        gap); with :attr:`energy_scale` the range of the device's local gap edges (``usadel.sweep.max_steps``)."""
        from .sweep import smallest_gap

        return smallest_gap(self.delta_q, self.h_q)

    def reservoir_gamma(self, res, eps):
        """Bulk (gamma, gamma~) of a reservoir at complex energies ``eps`` (spin block: at eps + spin h)."""
        if self.spin and res.h:
            eps = eps + self.spin * res.h
        return bulk_gamma(eps, res.delta * np.exp(1j * res.phase))

    def impose(self, eps, u):
        """Set the clean-contact vertex dofs of the state u (b, n, 2) to their reservoirs' bulk values, in place;
        returns u (contacts to equal reservoirs share one evaluation)."""
        done = {}
        for d, res in self.dirichlet:
            key = (res.delta, res.phase, res.h)
            if key not in done:
                done[key] = self.reservoir_gamma(res, eps)
            gr, gtr = done[key]
            u[:, d, 0] = gr[:, None]
            u[:, d, 1] = gtr[:, None]
        return u

    def residual(self, eps, u, jac=False):
        """Residual (b, 2 n) of the state u (b, n, 2) at energies ``eps`` (b,), rows in the order of the Newton
        vector (:func:`usadel.state.flat`); with ``jac`` also the Jacobian (A, vb).

        A: element Jacobians (b, n_el, 2(p+1), 2(p+1)), or with ``compiled`` the condensed element
        data (Sc, corr, X, y) of :func:`usadel.kernels.bulk`; vb: barrier terms (b, 2, 2, nnz) on the
        P1 vertex pattern (:meth:`step` solves with both).
        """
        if self.compiled:
            F, A = kernels.bulk(eps, u, self.tables, jac)
        else:
            F, A = self._bulk(eps, u, jac)
        Fu = F.reshape(u.shape)  # (a view: the rows per dof and component)
        vb = np.zeros((u.shape[0], 2, 2, self.ops.nnz), dtype=complex) if jac else None
        for (d, wts, res), pos in zip(self.tunnel, self.tunnel_pos):
            gr, gtr = self.reservoir_gamma(res, eps)
            _barrier(Fu, vb, d, u[:, d, 0], u[:, d, 1], gr[:, None], gtr[:, None], wts / res.barrier.r, pos)
        for da, db, diag_a, diag_b, pab, pba, wts, bar in self.links:
            for ia, ib, diag, pos in ((da, db, diag_a, pab), (db, da, diag_b, pba)):
                _barrier(Fu, vb, ia, u[:, ia, 0], u[:, ia, 1], u[:, ib, 0], u[:, ib, 1], wts / bar.r, diag, pos)
        Fu[:, self.dir_dofs] = 0.0
        return (F, (A, vb)) if jac else F

    def _bulk(self, eps, u, jac):
        """Bulk residual F (b, 2 n) of the state u, and with ``jac`` the element Jacobians (b, n_el, 2(p+1), 2(p+1))."""
        dofs, S, M = self.dofs, self.S, self.M
        el = dofs.element
        gq, dg = dofs.at_quadrature(u[..., 0])
        tq, dt = dofs.at_quadrature(u[..., 1])
        pp = gq * tq
        den = 1.0 + pp
        sg, st = dg * dg, dt * dt
        e = eps[:, None, None] + self.h_q
        D, Dc, G = self.delta_q, np.conj(self.delta_q), self.gamma_q
        frac = (1.0 - pp) / den
        vg = S * 2.0 * tq * sg / den + M * (-2j * e * gq - 1j * (D + Dc * gq * gq) + 2.0 * G * gq * frac)
        vt = S * 2.0 * gq * st / den + M * (-2j * e * tq + 1j * (D * tq * tq + Dc) + 2.0 * G * tq * frac)
        jinv = 1.0 / dofs.jac[:, None]
        b = u.shape[0]
        F = np.empty((b, 2 * dofs.n), dtype=complex)
        F[:, 0::2] = dofs.assemble_vector(vg @ dofs.phi + (S * dg * jinv) @ dofs.dphi)
        F[:, 1::2] = dofs.assemble_vector(vt @ dofs.phi + (S * dt * jinv) @ dofs.dphi)
        if not jac:
            return F, None
        den2 = den * den
        hp = 2.0 * frac - 4.0 * pp / den2
        a_pp = S * (-2.0 * tq * tq * sg / den2) + M * (-2j * e - 2j * Dc * gq + G * hp)
        d_pp = S * (-2.0 * gq * gq * st / den2) + M * (-2j * e + 2j * D * tq + G * hp)
        b_pp = S * 2.0 * sg / den2 + M * (-4.0 * G * gq * gq / den2)
        c_pp = S * 2.0 * st / den2 + M * (-4.0 * G * tq * tq / den2)
        X = np.stack([a_pp, b_pp, c_pp, d_pp], axis=1)  # (b, 4, n_el, nq): the phi_k phi_l parts of the 2x2 blocks
        loc = X @ self.PP
        loc[:, 0] += (S * 4.0 * tq * dg * jinv / den) @ self.PD  # phi_k phi_l' parts (gradient terms)
        loc[:, 3] += (S * 4.0 * gq * dt * jinv / den) @ self.PD
        kl = self.K_loc.reshape(dofs.n_el, -1)
        loc[:, 0] += kl
        loc[:, 3] += kl
        p1 = el.p + 1
        A = loc.reshape(b, 2, 2, dofs.n_el, p1, p1).transpose(0, 3, 4, 1, 5, 2).reshape(b, dofs.n_el, 2 * p1, 2 * p1)
        return F, A

    @property
    def compiled_newton(self):
        """Whether :meth:`newton` runs compiled (:func:`usadel.kernels.newton`: a chain with clean contacts only;
        the energy sweep's steps then run compiled too, :mod:`usadel.sweep_chain`)."""
        return self.compiled and self.condensation.chain is not None and not (self.tunnel or self.links)

    @property
    def serial_newton(self):
        """Whether :meth:`newton` solves the energies one by one (the compiled loop, ``compiled_newton``'s
        problems), so that batching energies gains nothing: the energy sweep then takes one lane
        (:func:`usadel.sweep.sweep`) whether its steps run compiled or in its Python loop."""
        return self.compiled and self.condensation.chain is not None and not (self.tunnel or self.links)

    def operator_scale(self, eps):
        """Largest Jacobian diagonal per energy (b,): stiffness plus mass times 1 + |E| + the device's energy
        scale, the scale of the rounding floor of :func:`usadel.newton.newton`."""
        return self.stiffness_max + self.mass_max * (1.0 + np.abs(eps) + self.energy_scale)

    def newton(self, eps, u, tol, maxiter):
        """Damped Newton for every energy in the batch from the state u (b, n, 2), updated in place; returns
        (u, ok, res).

        :func:`usadel.newton.newton` (the loop and stopping rule of
        :meth:`usadel.retarded.RetardedProblem.newton`: the full update below ``tol`` in max norm, or
        the residual stagnated at rounding level) with the condensed step
        (:meth:`usadel.condense.StaticCondensation.step`); on chains with clean contacts only (the problems
        of the compiled loop, :func:`usadel.kernels.newton`) with its contraction stop and chord steps.
        """
        if self.compiled_newton:
            return kernels.newton(eps, u, tol, maxiter, self.operator_scale(eps), self.tables,
                                  self.condensation.chain, self.dir_dofs)  # the same loop, compiled
        chain = self.condensation.chain is not None and not (self.tunnel or self.links)  # (kernels.newton's problems)
        return newton(self.residual, self.step, eps, u, tol, maxiter, self.operator_scale(eps), contraction=chain)

    def solve_stages(self, E, tols, u, maxiter):
        """The eta-homotopy's stages (:func:`usadel.eta_homotopy.homotopy`: energies E (K, b), tolerances tols
        (K,)) from the state u (b, n, 2), updated in place, in one compiled call (:func:`usadel.kernels.homotopy`; ``compiled_newton``
        problems): the contact values imposed and Newton to each stage's tolerance, energy by energy, as the
        stage loop there. Returns (u, ok, res): ok where every stage converged, res of the last."""
        K, b = E.shape
        bu = self.impose(E.ravel(), np.zeros((K * b,) + u.shape[1:], complex)).reshape((K,) + u.shape)
        return kernels.homotopy(E, tols, bu, u, maxiter, self.operator_scale(E),
                                self.tables, self.condensation.chain, self.dir_dofs)

    def step(self, J, F):
        """Newton update dx (b, 2 n) solving J dx = -F, J = (A, vb) from :meth:`residual` (condensed solve)."""
        A, vb = J
        if self.compiled:
            return self.condensation.solve_condensed(*A, vb, F, compiled=True)
        return self.condensation.step(A, vb, F)


def _barrier(Fu, blocks, ia, a, bb, cc, dd, k, diag, off=None):
    """Barrier flux of :func:`usadel.bulk.riccati_barrier` into the rows of dofs ``ia`` (Fu (b, n, 2): the residual
    per dof and component) and its Jacobian (as in usadel.retarded)."""
    fg, ft, own, other = riccati_barrier(a, bb, cc, dd, k, jac=blocks is not None, other=off is not None)
    Fu[:, ia, 0] -= fg
    Fu[:, ia, 1] -= ft
    for (i, j), v in own.items():
        blocks[:, i, j, diag] += v
    for (i, j), v in other.items():
        blocks[:, i, j, off] -= v


def solve_chunk(device, E, delta, eta, tol, maxiter, method="homotopy", guess=None, spin=0):
    """One chunk of energies on an order > 1 device: (u, residuals), u (n_E, n_nodes, 2) the state at the
    device's nodes (one per dof; :mod:`usadel.state`).

    Called by :func:`usadel.retarded.spectral` (same arguments as its chunk solver), in
    batches of at most ``MAX_ELEMENT_ENTRIES`` element-Jacobian entries. ``guess``: None or a state at
    the device's nodes (n_E, n_nodes, 2); energies where the warm start (or
    ``method="direct"``) fails or leaves the retarded branch are redone by the homotopy, and
    energies that still fail are approached from converged neighbours (:func:`usadel.retarded.continuation`).
    """
    prob = HighOrderProblem(device, delta, eta, spin)
    eps = E.astype(complex) + 1j * eta
    per = max(1, int(MAX_ELEMENT_ENTRIES // (prob.dofs.n_el * (2 * device.order + 2) ** 2)))
    parts = []
    for i in range(0, eps.size, per):
        u0 = None if guess is None else guess[i:i + per]
        parts.append(_solve_batch(prob, eps[i:i + per], tol, maxiter, method, u0))
    u, ok, res = (np.concatenate(x) for x in zip(*parts))
    u, res = finish(prob, E, eps, u, ok, res, tol, maxiter, what=f"spectral (order {device.order})")
    return prob.nodes(u), res


def _solve_batch(prob, eps, tol, maxiter, method, guess):
    if method == "sweep" and guess is None:  # continuation along the energy axis (usadel.sweep)
        from .sweep import sweep
        return sweep(prob, eps, tol, maxiter, start=homotopy)
    if method == "direct" or guess is not None:
        u = prob.initial(eps) if guess is None else prob.impose(eps, prob.from_nodes(guess))
        return warm_start(prob, eps, u, tol, maxiter)
    return homotopy(prob, eps, tol, maxiter)
