r"""Assembly of the kinetic equations (seed Eqs. 4-7) in the basis the solver uses.

Spin-degenerate results are solved for h = (hL, hT, hLS, hTS) directly, each
row with the coefficient the table ``usadel.coefficients.MODES`` names. A
spin-split result (exchange field) is solved for the block distributions
u = (a_+, b_+, b_-, a_-) of ``usadel.spin_kinetics``: the same four row types, each
with the coefficients of its spin block, plus with spin relaxation a 4x4 sink per
node (``usadel.spin_relaxation``); barrier fluxes and
reservoir values are transformed to that basis (``to_solve_basis``) and the
solution back (h = BASIS u). :class:`ModeCoefficients` is the per-row view of
both cases.
"""

from dataclasses import dataclass

import numpy as np

from .bulk import bulk_gamma, reservoir_h, tunnel_flux_matrices
from .coefficients import MODES, N_MODES, kinetic_coefficients
from .errors import ConvergenceError
from .exchange import spin_mixing
from .spin_kinetics import BASIS_INV, MODE_SPIN, block_coefficients, spin_average, to_solve_basis
from .spin_relaxation import block_relaxation

__all__ = ["ModeCoefficients", "mode_coefficients", "mode_view", "bulk_blocks", "contact_rows", "interface_rows",
           "check_finite", "to_solve"]


@dataclass
class ModeCoefficients:
    """Per-row coefficients of the solve basis.

    diff[i] (n_E, n_el) floored diffusion coefficient of row i; jS[i] (n_E, n_el, dim)
    Im jE/D coupling row i to ``MODES[i].partner``; sink (n_E, n_nodes, 4) lumped sinks;
    DL_node[i] (n_E, n_nodes) unfloored DL of row i's block (the states mask);
    split: True for the spin-block basis (h = BASIS u).
    """

    diff: tuple
    jS: tuple
    sink: np.ndarray
    DL_node: tuple
    split: bool
    relax: np.ndarray = None  #: spin mixing: lumped relaxation (n_E, n_nodes, 4, 4) in the solve basis

    def apply_sink(self, u, nodes=slice(None)):
        """Lumped sink times the solve-basis distributions ``u`` (n_E, n_nodes, 4) at ``nodes``."""
        out = self.sink[:, nodes] * u[:, nodes]
        if self.relax is not None:
            out = out + np.einsum("enij,enj->eni", self.relax[:, nodes], u[:, nodes])
        return out


def mode_view(el, node, jS, sink, blocks=None):
    """ModeCoefficients from stored coefficients: spin-degenerate (el, node, jS, sink) or ``blocks``.

    ``blocks``: dict(el=[el_+, el_-], node=[...], jS=[...], sink=[...], and with spin mixing
    relax=(n_E, n_nodes, 4, 4)) of a spin-split result.
    """
    if blocks is None:
        return ModeCoefficients(diff=tuple(el[m.diffusion] for m in MODES), jS=(jS,) * N_MODES, sink=sink,
                                DL_node=(node["DL"],) * N_MODES, split=False)
    b = [0 if s == 1 else 1 for s in MODE_SPIN]
    sink = np.stack([blocks["sink"][b[i]][..., i] for i in range(N_MODES)], axis=-1)
    return ModeCoefficients(diff=tuple(blocks["el"][b[i]][m.diffusion] for i, m in enumerate(MODES)),
                            jS=tuple(blocks["jS"][b[i]] for i in range(N_MODES)), sink=sink,
                            DL_node=tuple(blocks["node"][b[i]]["DL"] for i in range(N_MODES)), split=True,
                            relax=blocks.get("relax"))


def mode_coefficients(sp, floor):
    """(ModeCoefficients, stored) of a spectral result; ``stored`` = (el, node, jS, sink, blocks) to keep.

    Spin split: el, node, jS, sink are spin averages (for users; the solver reads ``blocks``).
    """
    if not sp.spin_split:
        co = kinetic_coefficients(sp, floor)
        return mode_view(co.el, co.node, co.jS, co.sink), (co.el, co.node, co.jS, co.sink, None)
    cos = block_coefficients(sp, floor)
    blocks = dict(el=[c.el for c in cos], node=[c.node for c in cos], jS=[c.jS for c in cos],
                  sink=[c.sink for c in cos])
    if spin_mixing(sp.device):  # spin-flip and spin-orbit scattering couple the blocks: a 4x4 sink per node
        blocks["relax"] = block_relaxation(sp)
    el, node, jS = spin_average(cos)
    return mode_view(None, None, None, None, blocks), (el, node, jS, 0.5 * (cos[0].sink + cos[1].sink), blocks)


def to_solve(split, h):
    """Distribution components h (..., 4) in the solve basis (u = BASIS_INV h if ``split``)."""
    return h @ BASIS_INV.T if split else h


def bulk_blocks(ops, md):
    """Bulk matrix blocks (n_E, N_MODES, N_MODES, nnz) of the sigma/D-weighted kinetic equations.

    Row i: stiffness Int sigma diff_i grad u_i . grad v, supercurrent coupling
    -Int (sigma/D) jS_i u_partner . grad v (local [i, j] = -(sigma vol/(d+1)) jS . grad_i)
    and the lumped sink S_i u_i. Coefficient arrays shared by rows are assembled once.
    """
    nE = md.jS[0].shape[0]
    d1 = ops.d + 1
    gg = ops.local_stiffness(ops.sigma_e * ops.vol)
    stiff, conv = {}, {}
    blocks = np.zeros((nE, N_MODES, N_MODES, ops.nnz))
    for i, mode in enumerate(MODES):
        D, jS = md.diff[i], md.jS[i]
        if id(D) not in stiff:
            stiff[id(D)] = ops.assemble(D[:, :, None, None] * gg[None])
        if id(jS) not in conv:
            cj = -np.einsum("Eed,eid->Eei", jS, ops.grad) * ops.w_el[None, :, None]
            conv[id(jS)] = ops.assemble(np.broadcast_to(cj[..., None], (nE, ops.n_el, d1, d1)))
        blocks[:, i, i] += stiff[id(D)]
        blocks[:, i, mode.partner] += conv[id(jS)]
        blocks[:, i, i, ops.diag] += md.sink[..., i]
    if md.relax is not None:
        blocks[..., ops.diag] += np.moveaxis(md.relax, 1, -1)
    return blocks


def _reservoir_gammas(sp, res, E):
    """Bulk amplitudes of a reservoir per spin block: [(g, g~)] (one entry if spin degenerate)."""
    spins = (1, -1) if sp.spin_split else (0,)
    return [bulk_gamma(E + s * res.h + 1j * sp.eta, res.delta * np.exp(1j * res.phase)) for s in spins]


def contact_rows(sp, contacts, blocks, rhs, split):
    """Add the tunnel contacts' barrier fluxes to ``blocks`` and ``rhs`` (in place; solve basis).

    Returns ({tag: (nodes, weights, A, B, h_res)} of the tunnel contacts, with A, B and h_res in the
    component basis (flux out of the device = A h + B h_res), keyed by tag since one Reservoir object
    may serve several contacts, and {tag: (nodes, u_res)} of the clean ones, in the solve basis).
    """
    ops = sp.device.operators
    E = np.real(sp.energies)
    tunnel, h_fixed = {}, {}
    for tag, c in sp.device.boundary.with_reservoirs(contacts).contacts.items():
        nodes, wts, res = c.nodes, c.weights, c.reservoir
        hres = reservoir_h(res, E)  # nE x 4
        if res.barrier is None:
            h_fixed[tag] = (nodes, to_solve(split, hres))
            continue
        gam = _reservoir_gammas(sp, res, E)
        down = None if not split else (sp.gamma_dn[:, nodes], sp.gamma_t_dn[:, nodes], gam[1][0][:, None],
                                        gam[1][1][:, None])
        A, B = tunnel_flux_matrices(sp.gamma[:, nodes], sp.gamma_t[:, nodes], gam[0][0][:, None], gam[0][1][:, None],
                                    res.barrier.r, res.barrier.polarization, down=down)
        Au, Bu = (to_solve_basis(A), to_solve_basis(B)) if split else (A, B)
        blocks[..., ops.diag[nodes]] += wts * np.moveaxis(Au, 1, -1)
        rhs[:, nodes] -= np.einsum("n,enab,eb->ena", wts, Bu, to_solve(split, hres))
        tunnel[tag] = (nodes, wts, A, B, hres)
    return tunnel, h_fixed


def interface_rows(sp, blocks, split):
    """Add the tunnel interfaces' barrier fluxes to ``blocks`` (in place; solve basis).

    Returns [(nodes_a, nodes_b, weights, [(ia, ib, A, B) per side])] per interface, A and B in
    the component basis.
    """
    ops = sp.device.operators
    iface = []
    for (pa, pb, wts, bar), (pab, pba) in zip(ops.pairs, ops.pair_pos):
        sides = []
        for ia, ib, pos_ab in ((pa, pb, pab), (pb, pa, pba)):
            down = None if not split else (sp.gamma_dn[:, ia], sp.gamma_t_dn[:, ia], sp.gamma_dn[:, ib],
                                            sp.gamma_t_dn[:, ib])
            A, B = tunnel_flux_matrices(sp.gamma[:, ia], sp.gamma_t[:, ia], sp.gamma[:, ib], sp.gamma_t[:, ib],
                                        bar.r, bar.polarization, down=down)
            Au, Bu = (to_solve_basis(A), to_solve_basis(B)) if split else (A, B)
            blocks[..., ops.diag[ia]] += wts * np.moveaxis(Au, 1, -1)
            blocks[..., pos_ab] += wts * np.moveaxis(Bu, 1, -1)
            sides.append((ia, ib, A, B))
        iface.append((pa, pb, wts, sides))
    return iface


def check_finite(E, arr, what):
    """Raise naming the energies where ``arr`` (n_E, ...) is not finite (never return NaN)."""
    bad = ~np.all(np.isfinite(arr.reshape(E.size, -1)), axis=1)
    if bad.any():
        raise ConvergenceError(f"kinetic: {what} are not finite at {int(bad.sum())} of {E.size} energies, "
                               f"e.g. E = {E[bad][:5].tolist()} (a gap edge with eta = 0?)", energies=E[bad])
