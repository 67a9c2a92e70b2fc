r"""Retarded Usadel equation (seed Eqs. 9-10) by Newton on the FEM mesh.

Formulation
-----------
The seed writes the retarded Green's function with a complex angle th and a
phase chi, g = [[cosh th, sinh th e^{i chi}], [-sinh th e^{-i chi}, -cosh th]]
(Nambu part of seed Eq. 3). In matrix form seed Eqs. 9-10 read

    D div(g grad g) + [i E tau3 + Delta_hat - (Gamma/2) tau3 g tau3, g] = 0,
    Delta_hat = [[0, -i Delta], [i Delta^*, 0]],   Gamma = 3/(4 tau_sf),

(with chi = const this is exactly Eq. 10; its tau3 part is Eq. 9). The th-chi
form is singular where sinh th -> 0 (phase pi), so we solve for the Riccati
amplitudes gamma, gamma~ instead (Schopohl-Maki),

    g = 1/(1 + gamma gamma~) [[1 - gamma gamma~, 2 gamma], [2 gamma~, -(1 - gamma gamma~)]],

so gamma = tanh(th/2) e^{i chi}, gamma~ = -tanh(th/2) e^{-i chi}; |gamma| <= 1
and everything is regular at any phase. Inserting this into the matrix
equation (derivation checked symbolically, see ``docs/derivations.md``):

    D [lap gamma  - 2 gamma~ (grad gamma)^2  / (1 + gamma gamma~)]
        = -2 i E gamma  - i Delta - i Delta^* gamma^2 + 2 Gamma gamma (1 - gamma gamma~)/(1 + gamma gamma~)
    D [lap gamma~ - 2 gamma (grad gamma~)^2 / (1 + gamma gamma~)]
        = -2 i E gamma~ + i Delta^* + i Delta gamma~^2 + 2 Gamma gamma~ (1 - gamma gamma~)/(1 + gamma gamma~)

with E -> E + i eta (Dynes). Weighted by the conductivity sigma, the flux in
the weak form is sigma grad gamma, which is continuous wherever sigma g grad g
is, so clean interfaces between regions need nothing special. The
Kupriyanov-Lukichev condition sigma_1 g_1 d_n g_1 = [g_1, g_2]/(2 r) becomes

    sigma_1 d_n gamma_1  = (gamma_2  - gamma_1 ) (1 + gamma_1 gamma~_2)/(r (1 + gamma_2 gamma~_2)),
    sigma_1 d_n gamma~_1 = (gamma~_2 - gamma~_1) (1 + gamma~_1 gamma_2)/(r (1 + gamma_2 gamma~_2)),

which for chi_1 = chi_2 is sigma_1 d_n th_1 = sinh(th_2 - th_1)/r (``docs/derivations.md``,
Kupriyanov-Lukichev tunnel interfaces).
"""

import logging

import numpy as np

from .bulk import bulk_gamma, check_gap_edges, riccati_barrier
from .chunking import chunk_bounds, default_workers, sweep_blocks
from .device import Device
from .errors import UsadelError
from .exchange import SPINS, exchange_weights, spin_mixing, spin_split
from .eta_homotopy import continuation, finish, homotopy, warm_start
from .fem import delta_nodes, delta_weights, real_product
# the shared loop and its constants (kept here by name: scripts read them from this module)
from .newton import ARMIJO, CHORD_STEP, CONTRACTION, LINE_SEARCH_HALVINGS, ROUNDING, STALL, newton  # noqa: F401
from .spectral_result import SpectralResult
from .state import flat, stack
from .sweep import smallest_gap, sweep
from .validate import choice, integer, real, real_array
from . import progress

__all__ = ["spectral", "SpectralResult", "RetardedProblem", "bulk_gamma", "delta_weights", "homotopy", "continuation"]

log = logging.getLogger(__name__)

CONTRACTION_SAFETY = 0.1  #: Newton (2D): the estimated error left must be below this fraction of tol
CHUNK_UNKNOWNS = 4e5  #: complex unknowns per chunk of energies (memory of one batched solve)


class RetardedProblem:
    """Residual and Jacobian of the weak Riccati equations for a batch of energies.

    State u (b, n, 2) per node (gamma, gamma~) (:mod:`usadel.state`); rows are the sigma/D-weighted
    equations of the module docstring. ``device``; ``delta`` as for :func:`spectral`;
    ``eta`` the Dynes broadening (kept for callers: the energies passed in contain it).
    Node weights: ``c`` lumped sigma/D, ``cD`` pairing (:func:`delta_weights`), ``cG`` pair breaking,
    ``ch`` the exchange term of spin block ``spin`` (+1/-1: E -> E + spin h; None for ``spin`` 0, the
    spin-degenerate problem, whose code path is unchanged).
    """

    def __init__(self, device, delta, eta, spin=0):
        self.ops = ops = device.operators
        self.eta = eta
        self.spin = spin
        #: lumped (sigma/D) x spin x h per node (usadel.exchange), None for the spin-degenerate problem
        wh = exchange_weights(device) if spin else None
        self.ch = None if wh is None else spin * wh
        #: exchange field h per node (0.0 for the spin-degenerate problem)
        self.h_node = 0.0 if wh is None else np.divide(wh, ops.lump_sd, out=np.zeros(ops.n), where=ops.lump_sd > 0)
        self.c = ops.lump_sd
        #: lumped (sigma/D) x pair-breaking rate Gamma = 3/(4 tau_sf) per node
        self.cG = ops.lump(ops.w_el / ops.D_e * ops.pair_breaking_e)
        self.cD = delta_weights(device, delta)
        self.cDc = np.conj(self.cD)
        self.delta_node = np.divide(self.cD, self.c, out=np.zeros_like(self.cD), where=self.c > 0)
        #: pair-breaking rate Gamma per node (cG / c)
        self.pair_breaking_node = np.divide(self.cG, self.c, out=np.zeros_like(self.c), where=self.c > 0)
        # contacts, from the device's boundary model
        self.dirichlet = [(c.nodes, c.reservoir) for c in device.boundary.clean]
        self.tunnel = [(c.nodes, c.weights, c.reservoir) for c in device.boundary.tunnel]
        self.dir_nodes = device.boundary.dirichlet_nodes
        self.dir_rows = np.concatenate([2 * self.dir_nodes, 2 * self.dir_nodes + 1])
        self.solver = ops.solver(2, symmetric_pivoting=True)
        #: Newton also stops on quadratic contraction (:meth:`newton`): sparse (2D) solves only
        self.contraction_stop = not self.solver.banded
        from . import kernels, p1_kernels  # numba: loaded at the first solve, not by ``import usadel``
        #: the bulk rows compiled (``usadel.p1_kernels``); None: the numpy path of :meth:`_bulk`
        self.compiled = p1_kernels.P1Bulk(self) if kernels.AVAILABLE else None

    #: components per node of the state u[E, node, component]: (gamma, gamma~)
    ncomp = 2

    @property
    def state_size(self):
        """Dofs of one energy's state (the nodes); the state is (b, state_size, ncomp)."""
        return self.ops.n

    def reservoir_gamma(self, res, eps):
        """Bulk (gamma, gamma~) of a reservoir at complex energies ``eps`` (spin block: at eps + spin h)."""
        if self.spin and res.h:
            eps = eps + self.spin * res.h
        return bulk_gamma(eps, res.delta * np.exp(1j * res.phase))

    @property
    def energy_scale(self):
        """Largest local gap plus pair-breaking rate (plus |h| in a spin block) of the device (not its reservoirs)."""
        scale = np.max(np.abs(self.delta_node), initial=0.0) + np.max(self.pair_breaking_node, initial=0.0)
        return scale if self.ch is None else scale + np.max(np.abs(self.h_node), initial=0.0)

    @property
    def smallest_gap(self):
        """Smallest local gap edge |Delta| - |h| at nodes inside superconducting material (None: no gap there);
        with :attr:`energy_scale` the range of the device's local gap edges (``usadel.sweep.max_steps``)."""
        ops = self.ops
        inside = ops.lump(ops.w_el * ~ops.sc_e) <= 0  # no normal-metal element at the node
        h = 0.0 if self.ch is None else np.broadcast_to(self.h_node, inside.shape)[inside]
        return smallest_gap(self.delta_node[inside], h)

    def initial(self, eps):
        """Local bulk guess with reservoir values imposed."""
        e = eps[:, None] + 1j * self.pair_breaking_node[None, :]
        if self.ch is not None:
            e = e + self.spin * self.h_node
        return self.impose(eps, stack(*bulk_gamma(e, self.delta_node[None, :])))

    def impose(self, eps, u):
        """Set the clean-contact (Dirichlet) nodes of the state ``u`` to their reservoirs' bulk values, in place."""
        for nodes, res in self.dirichlet:
            gr, gtr = self.reservoir_gamma(res, eps)
            u[:, nodes, 0] = gr[:, None]
            u[:, nodes, 1] = gtr[:, None]
        return u

    def residual(self, eps, u, jac=False):
        """Residual (b, 2 n) at energies ``eps`` (b,) and states ``u`` (b, n, 2), rows in the order of the state;
        with ``jac`` also the Jacobian data on the solver's pattern."""
        Fg, Ft, blocks = self.residual_blocks(eps, u, jac)
        Fg[:, self.dir_nodes] = Ft[:, self.dir_nodes] = 0.0
        F = flat(stack(Fg, Ft))
        if not jac:
            return F
        return F, self.solver.fix_rows(self.solver.full_data(blocks), self.dir_rows)

    def residual_blocks(self, eps, u, jac=False):
        """Rows (Fg, Ft), each (b, n), bulk plus barriers, before the Dirichlet rows are fixed; with ``jac``
        the Jacobian blocks (b, 2, 2, nnz) on the node pattern (else None)."""
        Fg, Ft, blocks = self._bulk(eps, u, jac)
        g, gt = u[..., 0], u[..., 1]
        diag = self.ops.diag
        for nodes, wts, res in self.tunnel:  # tunnel contacts to reservoirs
            gr, gtr = self.reservoir_gamma(res, eps)
            _barrier(Fg, Ft, blocks, nodes, g[:, nodes], gt[:, nodes], gr[:, None], gtr[:, None],
                     wts / res.barrier.r, diag[nodes])
        for (pa, pb, wts, bar), (pab, pba) in zip(self.ops.pairs, self.ops.pair_pos):  # tunnel interfaces
            for ia, ib, pos_ab in ((pa, pb, pab), (pb, pa, pba)):
                _barrier(Fg, Ft, blocks, ia, g[:, ia], gt[:, ia], g[:, ib], gt[:, ib], wts / bar.r, diag[ia], pos_ab)
        return Fg, Ft, blocks

    def _bulk(self, eps, u, jac):
        """Bulk residual (Fg, Ft), each (b, n), and with ``jac`` the Jacobian blocks (b, 2, 2, nnz)."""
        if self.compiled is not None:
            return self.compiled(eps, u, jac)
        ops = self.ops
        g, gt = u[..., 0], u[..., 1]
        epsc = eps[:, None]
        Fg = real_product(ops.K, g.T).T
        Ft = real_product(ops.K, gt.T).T
        gb, dg = ops.element_values(g)
        gtb, dgt = ops.element_values(gt)
        den = 1.0 + gb * gtb
        sg = np.sum(dg * dg, axis=-1)
        st = np.sum(dgt * dgt, axis=-1)
        w = ops.w_el
        Fg += real_product(ops.incidence, (w * 2.0 * gtb * sg / den).T).T
        Ft += real_product(ops.incidence, (w * 2.0 * gb * st / den).T).T
        p = g * gt
        dn = 1.0 + p
        c, cG, cD, cDc = self.c, self.cG, self.cD, self.cDc
        Fg += c * (-2j * epsc * g) - 1j * (cD + cDc * g * g) + cG * 2.0 * g * (1.0 - p) / dn
        Ft += c * (-2j * epsc * gt) + 1j * (cD * gt * gt + cDc) + cG * 2.0 * gt * (1.0 - p) / dn
        if self.ch is not None:  # spin block: E -> E + spin h(x), lumped like the energy term
            Fg += -2j * self.ch * g
            Ft += -2j * self.ch * gt
        if not jac:
            return Fg, Ft, None
        b = g.shape[0]
        d1 = ops.d + 1
        cols = np.empty((b, 2, 2, ops.n_el, d1), dtype=complex)  # each block's value depends on its column vertex
        wd = w / den
        for i, (u, du, s) in enumerate(((gtb, dg, sg), (gb, dgt, st))):
            blk = cols[:, i, i]  # -2 w u^2 s / den^2 / (d+1) + 4 w u (du . grad_j) / den
            blk[...] = (-2.0 * wd * u * u * s / (den * d1))[..., None]
            for k in range(ops.grad.shape[-1]):
                blk += (4.0 * wd * u * du[..., k])[..., None] * ops.grad[None, :, :, k]
            cols[:, i, 1 - i] = (2.0 * wd * s / (den * d1))[..., None]
        blocks = ops.assemble_columns(cols.reshape(4 * b, ops.n_el, d1)).reshape(b, 2, 2, ops.nnz)
        blocks[:, 0, 0] += ops.K_data
        blocks[:, 1, 1] += ops.K_data
        dn2 = dn * dn
        hp = 2.0 * (1.0 - p) / dn - 4.0 * p / dn2
        blocks[:, 0, 0, ops.diag] += c * (-2j * epsc) - 2j * cDc * g + cG * hp
        blocks[:, 0, 1, ops.diag] += cG * (-4.0 * g * g / dn2)
        blocks[:, 1, 1, ops.diag] += c * (-2j * epsc) + 2j * cD * gt + cG * hp
        blocks[:, 1, 0, ops.diag] += cG * (-4.0 * gt * gt / dn2)
        if self.ch is not None:
            blocks[:, 0, 0, ops.diag] += -2j * self.ch
            blocks[:, 1, 1, ops.diag] += -2j * self.ch
        return Fg, Ft, blocks

    def newton(self, eps, u, tol, maxiter):
        """Damped Newton for every energy in the batch from the states ``u``; returns (u, ok, res), u updated in place:
        the shared loop :func:`usadel.newton.newton` with this problem's banded (1D) or sparse (2D) solve.

        Converged when the full Newton update is below ``tol`` (max norm; |gamma| <= 1),
        or when the residual has stagnated at rounding level: below ``ROUNDING`` times
        the operator scale times max|gamma| (max norm) before and after a step that
        did not reduce it by ``STALL`` (near a bifurcation the update of a converged
        solution is amplified rounding and need never fall below a tiny ``tol``).
        The step is halved (at most ``LINE_SEARCH_HALVINGS`` times) until the
        residual decreases by the Armijo fraction ``ARMIJO`` of the step.

        Sparse (2D) problems (``contraction_stop``) also stop once two full steps in a row contract
        quadratically: with theta = |dx_k| / |dx_k-1| <= ``CONTRACTION``, the error left after step k is
        at most theta |dx_k| / (1 - theta) (Deuflhard's estimate; about theta^2 |dx_k| when quadratic),
        accepted below ``CONTRACTION_SAFETY`` tol. This saves the last step, whose update is already
        far below tol (there one step costs a Jacobian and a preconditioned solve). After a full step no
        longer than ``CHORD_STEP`` they also keep the Jacobian (a chord step: its error is ~|dx_k-1| times
        the Newton step's, so the contraction estimate above still bounds the error left), and the line
        search's residual at the new point is the next right-hand side (energy by energy).
        """
        cmax = np.max(np.abs(self.c))
        kmax = np.max(np.abs(self.ops.K_data[self.ops.diag]))
        scale = kmax + cmax * (1.0 + np.abs(eps) + self.energy_scale)
        return newton(self.residual, lambda J, F: self.solver.solve(J, -F), eps, u, tol, maxiter, scale,
                      contraction=getattr(self, "contraction_stop", False),  # (also run on spin-mixed problems)
                      safety=CONTRACTION_SAFETY)


def _barrier(Fg, Ft, blocks, ia, a, bb, cc, dd, k, diag, off=None):
    """Add the barrier flux :func:`usadel.bulk.riccati_barrier` into rows ``ia`` (and its Jacobian), in place.

    (a, bb): gamma, gamma~ at ``ia``; (cc, dd): the other side (a reservoir, or the
    facing nodes, whose Jacobian columns are at the pattern positions ``off``).
    """
    fg, ft, own, other = riccati_barrier(a, bb, cc, dd, k, jac=blocks is not None, other=off is not None)
    Fg[:, ia] -= fg
    Ft[:, ia] -= ft
    for (i, j), v in own.items():
        blocks[:, i, j, diag] += v
    for (i, j), v in other.items():
        blocks[:, i, j, off] -= v


def _as_energies(energies):
    E = real_array("energies", np.atleast_1d(energies) if np.ndim(energies) == 0 else energies,
                   ndim=1, allow_complex=True)
    if np.iscomplexobj(E) and np.any(E.imag < 0):
        raise UsadelError("energies: complex energies must lie in the upper half plane (Im E >= 0) "
                          "for the retarded (or Matsubara, Im E > 0) functions")
    return E


def spectral(device, energies, delta=0.0, eta=1e-6, *, symmetric=True, tol=1e-10, maxiter=40,
             method="sweep", guess=None, executor=None, chunk=None, workers=None):
    """Solve the retarded Usadel equation (seed Eq. 10, Eq. 9) at all energies.

    Parameters
    ----------
    device : Device
    energies : array_like
        Real energies, or complex ones (e.g. Matsubara ``1j * w_n``).
    delta : float, dict or array
        Gap: scalar for every superconducting region, {region: value}, or one
        complex value per node (``len == device.topology.n_nodes``).
    eta : float
        Dynes broadening, E -> E + i eta; >= 0.
    symmetric : bool
        Solve only |E| for real energies and use gamma(-E) = gamma~(E)^*,
        gamma~(-E) = gamma(E)^* (i.e. th^*(-E) = -th(E), chi^*(-E) = chi(E)).
        An exchange field (``Material.h``, ``Reservoir.h``; spin sigma sees E + sigma h) makes
        the result spin split (``SpectralResult.block``, ``dos(spin=...)``); the map then
        exchanges the blocks (spin sigma at -E is spin -sigma at |E|, conjugated).
    tol : float
        Newton tolerance on the update (max norm) of gamma, gamma~.
    maxiter : int
        Newton iterations per stage and energy.
    method : {"homotopy", "direct", "sweep"}
        "sweep" (default): continuation along E, high to low, per chunk (:mod:`usadel.sweep`; ~5x
        fewer Newton steps), lanes started by the homotopy, every energy's branch checked and a
        sample compared with the homotopy. "homotopy" follows each energy from E + i Omega down.
        "direct" starts Newton from the local bulk solution and falls back to
        the homotopy only where the result is grossly unphysical; faster, but
        near bifurcations (e.g. just above a minigap) it can return a wrong
        branch that no threshold detects.
    guess : SpectralResult or None
        Warm start (same energies, e.g. the previous outer iteration of the
        gap loop): Newton starts from it; energies where that fails or lands
        on an unphysical branch are redone by the homotopy.
    executor : concurrent.futures.Executor or None
        Energies are split into chunks and mapped over the executor.
    chunk, workers : int or None
        Energies per chunk (default: ``CHUNK_UNKNOWNS`` complex unknowns per chunk; a 2D sweep: one block per
        worker of equal estimated cost, :func:`usadel.chunking.sweep_blocks`); workers of ``executor`` (default:
        :func:`usadel.chunking.default_workers`, the CPUs this process may use; 1 without an executor).

    Raises
    ------
    ConvergenceError
        With the energies and residual norms that did not converge.
    """
    if not isinstance(device, Device):
        raise UsadelError(f"spectral: expected a usadel.Device, got {type(device).__name__}")
    E = _as_energies(energies)
    choice("spectral: method", method, ("homotopy", "direct", "sweep"))
    eta = real("spectral: eta", eta, nonnegative=True)
    tol = real("spectral: tol", tol, positive=True)
    maxiter = integer("spectral: maxiter", maxiter, lo=1)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise UsadelError(f"spectral: symmetric must be True or False, got {symmetric!r}")
    delta_weights(device, delta)  # validate before any work
    check_gap_edges(device.contacts, E, eta)
    spins = SPINS if spin_split(device) else (0,)
    mixed = spin_mixing(device)  # spin relaxation couples the blocks: one solve with both (usadel.spin_mixing)
    if guess is not None:
        if not isinstance(guess, SpectralResult) or guess.gamma.shape != (E.size, device.operators.n) or \
                guess.spin_split != (spins != (0,)):
            raise UsadelError("guess must be a SpectralResult of this device at the same energies")
        symmetric = False
    if symmetric and not np.iscomplexobj(E):
        Eu, inv = np.unique(np.abs(E), return_inverse=True)
    else:
        Eu, inv = E, np.arange(E.size)
    bounds = _chunks(device, Eu, chunk, workers, mixed, method, executor)
    u, res = _solve_blocks(executor, bounds, Eu, inv, guess, spins, mixed, device, delta, eta, tol, maxiter, method)
    if symmetric and not np.iscomplexobj(E):
        neg = E < 0  # gamma_s(-E) = gamma~_-s(E)^*, gamma~_s(-E) = gamma_-s(E)^*: components reversed, conjugated
        u[neg] = np.conj(u[neg][..., ::-1])  # (docs/conventions.md, State layout)
    return SpectralResult.from_state(device, E, u, delta_nodes(device, delta), eta, res)


def _chunks(device, E, chunk, workers, mixed, method, executor):
    """Chunk bounds (:func:`usadel.chunking.chunk_bounds`) of ``chunk`` energies each, by default: batched (1D)
    solves hold arrays of ``CHUNK_UNKNOWNS`` complex unknowns.

    A sparse (2D, P1 or order-p triangles) sweep solves one energy at a time, and each chunk is a lane of its
    own that starts with a homotopy, so its chunks are as long as the workers allow: one block per worker
    (:func:`usadel.chunking.default_workers`), of equal estimated cost (:func:`usadel.chunking.sweep_blocks`).
    Memory: solutions no more than the result's, homotopies in batches, LUs within ``LU_MEMORY_BUDGET``."""
    chunk = integer("spectral: chunk", chunk, lo=1, allow_none=True)
    workers = integer("spectral: workers", workers, lo=1, allow_none=True)
    if chunk:
        return chunk_bounds(E.size, chunk)
    ncomp, n = (4 if mixed else 2), E.size
    chunk = max(1, min(n, int(CHUNK_UNKNOWNS // (ncomp * device.topology.n_nodes))))
    tri = getattr(device, "order", 1) > 1 and device.dim == 2  # order-p triangles: one problem per block
    if method == "sweep" and (tri or getattr(device, "order", 1) == 1
                              and not device.operators.solver(ncomp, True).banded):
        w = default_workers(executor, workers)
        blocks = -(-n // max(1 if tri else chunk, -(-n // w)))
        if tri:  # each concurrent block holds one order-p problem (usadel.tri_dofs.check_memory)
            from .tri_dofs import check_memory
            copies = min(blocks, w) if executor else 1  # without an executor the blocks run one by one
            check_memory(device.coarse.topology.t.shape[1], device.order, copies, n, device.topology.n_nodes)
        return sweep_blocks(E, blocks, device.operators.thouless_energy)
    return chunk_bounds(n, chunk)


def _homotopy_batches(prob, eps, tol, maxiter):
    """:func:`homotopy` in batches of at most ``CHUNK_UNKNOWNS`` complex unknowns (bounded memory)."""
    size = max(1, int(CHUNK_UNKNOWNS // (prob.ncomp * prob.state_size)))
    if eps.size <= size:
        return homotopy(prob, eps, tol, maxiter)
    parts = [homotopy(prob, eps[i:i + size], tol, maxiter) for i in range(0, eps.size, size)]
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))


def _solve_blocks(executor, bounds, Eu, inv, guess, spins, mixed, *args):
    """(u, residuals) at the energies ``Eu[inv]``: states (n_E, n_nodes, 2 per spin block), the blocks' largest residuals.

    Independent blocks (``spins``) are solved one after the other, each a state of 2 components; coupled ones
    (``mixed``: spin relaxation with an exchange field, :mod:`usadel.spin_mixing`) together, one state of 4.
    """
    if mixed:
        u, r = _map_chunks(executor, bounds, Eu, None if guess is None else guess.state, *args, spin="mixed")
        return u[inv], r[inv]
    out = [_map_chunks(executor, bounds, Eu, None if guess is None else guess.block(s or 1).state, *args, spin=s)
           for s in spins]
    return np.concatenate([u for u, _ in out], axis=-1)[inv], np.max([r for _, r in out], axis=0)[inv]


def _map_chunks(executor, bounds, E, guess, *args, spin=0):
    """Solve the energies ``E`` in chunks [bounds[k], bounds[k+1]) (over ``executor`` if given) from the states
    ``guess`` (or None); concatenated (u, residuals)."""
    parts = list(zip(bounds[:-1], bounds[1:]))
    gs = [None if guess is None else guess[a:b] for a, b in parts]
    jobs = [(args[0], E[a:b]) + args[1:] + (g0, spin) for (a, b), g0 in zip(parts, gs)]
    solved = (map if executor is None else executor.map)(_solve_chunk, *zip(*jobs))
    outs = []  # results arrive in order, chunk by chunk
    with progress.bar(total=E.size, desc="spectral", unit="energy", enabled=None if len(jobs) > 1 else False) as bar:
        for job, out in zip(jobs, solved):
            outs.append(out)
            bar.update(job[1].size)
    return tuple(np.concatenate([o[k] for o in outs]) for k in range(2))


def _solve_chunk(device, E, delta, eta, tol, maxiter, method="homotopy", guess=None, spin=0):
    """Solve one chunk of energies (picklable for process pools) in spin block ``spin`` from the states ``guess``
    at the nodes (or None); (u, residuals), u the states at the nodes (:mod:`usadel.state`)."""
    if getattr(device, "order", 1) > 1:  # Lagrange elements: P2/P3 triangles (usadel.highorder_tri) or 1D P2-P4
        if device.mesh.p.shape[0] == 2:
            from .highorder_tri import solve_chunk
        else:
            from .highorder import solve_chunk
        return solve_chunk(device, E, delta, eta, tol, maxiter, method, guess, spin)
    if spin == "mixed":
        from .spin_mixing import SpinMixedProblem  # imports this module
        prob = SpinMixedProblem(device, delta, eta)
    else:
        prob = RetardedProblem(device, delta, eta, spin)
    eps = E.astype(complex) + 1j * eta
    if method == "direct" or guess is not None:
        u = prob.initial(eps) if guess is None else prob.impose(eps, np.array(guess, complex))
        u, ok, res = warm_start(prob, eps, u, tol, maxiter)
    elif method == "sweep":
        u, ok, res = sweep(prob, eps, tol, maxiter, start=_homotopy_batches)
    else:
        u, ok, res = homotopy(prob, eps, tol, maxiter)
    u, res = finish(prob, E, eps, u, ok, res, tol, maxiter)
    if not prob.solver.banded:  # sparse LU: the memory this chunk held (BlockSolver.memory)
        mem = prob.solver.memory()
        log.info("spectral: chunk of %d energies, %d unknowns: LU factors %.0f MB (at most %.0f MB held, %d slots; "
                 "budget %.0f MB), solutions %.0f MB", E.size, prob.solver.N, mem["lu_bytes"] / 2**20,
                 mem["lu_bytes_peak"] / 2**20, mem["slots"], mem["budget"] / 2**20, u.nbytes / 2**20)
    return u, res
