"""Linear solve of the kinetic equations with the clean contacts' conditions.

A clean (transparent) contact to a reservoir makes the Keldysh function
g^K = g^R h - h g^A continuous, h = hL + hT tau3 (+ the spin modes). Below a
superconducting reservoir's gap the reservoir has no quasiparticle states,
g^R - g^A = 0 there, so the parts of g^K that carry hL and hTS vanish at the
contact: the contact fixes hT and hLS only, and hL, hTS are free (no energy
or spin-energy current enters the reservoir: an Andreev mirror). Fixing hL to
the reservoir's tanh(E/2T) as well is harmless while nothing couples hL to the
other modes (DL vanishes at such a contact), but a supercurrent does couple
them (the Im(jE) terms of seed Eqs. 4-7): with a Dirichlet hL, a biased SNS
junction leaked energy into its S contacts through the supercurrent term and
relaxed its distribution toward equilibrium (measured: a cross-shaped
voltage-controlled pi junction gave 8.90 instead of ~7.0 at eV = 8 E_Th, the
error growing as the control wire's conductance fell).

Below the gap hL is then fixed by the other contacts (clean or tunnel) of the
same connected part of the device. Where there are none (an SNS junction
whose only contacts are superconducting, at energies below every gap) nothing
in the model determines hL (no inelastic scattering), and the superconducting
contacts keep fixing it to their equilibrium values, as before. A contact at
the end of a superconducting region (rather than a normal one) keeps fixing
hL too: see :func:`released_modes`.
"""

import logging

import numpy as np

from .coefficients import MODES, N_MODES
from .spin_kinetics import MODE_SPIN

log = logging.getLogger(__name__)

__all__ = ["released_modes", "solve_modes", "ANDREEV_MODES", "ANDREEV_SPINS"]

#: the modes a superconducting contact below its gap leaves free (diffusion coefficient DL: hL, hTS; with an
#: exchange field the rows a_+, a_- of the spin-block basis), and the spin block whose gap edge releases each
ANDREEV_MODES = np.array([i for i, m in enumerate(MODES) if m.diffusion == "DL"])
ANDREEV_SPINS = tuple(MODE_SPIN[i] for i in ANDREEV_MODES)
#: matrix entries of one batched solve (energies are solved in chunks below it)
BANDED_BATCH_ENTRIES = 2e7


def released_modes(device, contacts, E):
    """{tag: (n_E, N_MODES) bool}: the modes a clean contact leaves free, per energy.

    A clean contact to a superconducting reservoir (delta > 0) leaves the DL
    modes of ``ANDREEV_MODES`` free below its gap, if every element at the
    contact is a normal metal and another contact of the same connected part,
    clean or tunnel, carries quasiparticles at that energy (a normal reservoir,
    or a superconducting one at or above its gap). With an exchange field each
    spin block s has its own gap edge, |E + s h| = delta for a reservoir with h:
    the DL row of block s (row 0 for s = +1, row 3 for s = -1 of the spin-block
    basis, ``usadel.spin_kinetics``) is released where block s of the contact is
    below its gap and block s of another contact carries. Without exchange field
    both rows are hL and hTS and both blocks agree.

    A contact at the end of a superconducting region keeps fixing hL: below
    the region's own gap DL vanishes all along it (not only at the contact),
    so a free hL there would be set by the floor of DL alone (a review
    measured a 3e-3 change of a current between floors 1e-9 and 1e-7).
    """
    all_contacts = device.boundary.with_reservoirs(contacts).contacts
    ops = device.operators
    normal_node = ops.lump(ops.w_el * ~ops.sc_e) > 0  # nodes touching a normal-metal element
    sc_node = ops.lump(ops.w_el * ops.sc_e) > 0
    E = np.asarray(E, float)
    candidates = [t for t, c in all_contacts.items() if c.clean and c.reservoir.delta > 0
                  and normal_node[c.nodes].all() and not sc_node[c.nodes].any()]
    if not candidates:
        return {}
    lab = device.node_components()
    out = {tag: np.zeros((E.size, N_MODES), bool) for tag in candidates}
    for row, s in zip(ANDREEV_MODES, ANDREEV_SPINS):  # block s: normal reservoirs (delta = 0) always carry
        carries = {t: np.abs(E + s * c.reservoir.h) >= c.reservoir.delta for t, c in all_contacts.items()}
        for tag in candidates:
            part = lab[all_contacts[tag].nodes[0]]
            anchored = np.zeros(E.size, bool)
            for other, oc in all_contacts.items():
                if other != tag and lab[oc.nodes[0]] == part:
                    anchored |= carries[other]
            out[tag][:, row] = ~carries[tag] & anchored
    return out


def solve_modes(ops, blocks, rhs, h_fixed, released):
    """Solve the assembled systems with clean-contact values ``h_fixed``; (n_E, n, N_MODES).

    ``h_fixed``: {tag: (nodes, h_res (n_E, N_MODES))} in the basis of ``blocks``; ``released``:
    {tag: (n_E, N_MODES) bool} from :func:`released_modes`. Energies that share the same fixed
    rows are solved together; the known values move to the right-hand side, then identity rows.
    Energies are solved in chunks (the banded batch solve of all energies at once needs
    ~(2 bw + 1) x n_E x 4 n complex entries: 7 GB for 2400 energies x 2000 nodes).
    """
    nE, n = rhs.shape[:2]
    tags = list(h_fixed)
    key = np.concatenate([released.get(t, np.zeros((nE, N_MODES), bool)) for t in tags]
                         + [np.zeros((nE, 1), bool)], axis=1)
    x = np.empty((nE, n, N_MODES))
    pos = _chain_blocks(ops, blocks)
    for pattern in np.unique(key, axis=0):
        sel = np.nonzero(np.all(key == pattern, axis=1))[0]
        fixed = {t: (nodes, hres[sel], np.nonzero(pattern[k * N_MODES:(k + 1) * N_MODES])[0])
                 for k, (t, (nodes, hres)) in enumerate(h_fixed.items())}
        x[sel] = _solve_group(ops, blocks, sel, rhs[sel], fixed, pos)
    return x


def _chain_blocks(ops, blocks):
    """Index map of ``blocks`` for block elimination (:func:`usadel.block_chain.block_positions`), or None where
    the nodes are not a chain in their numbering (networks, 2D), the blocks are complex or numba is missing."""
    from .block_chain import AVAILABLE, block_positions, chain_positions  # numba: at the first solve

    chain = chain_positions(ops.indptr, ops.indices, ops.n) if AVAILABLE and not np.iscomplexobj(blocks) else None
    return None if chain is None else block_positions(chain, N_MODES, blocks.shape[-1])


def _solve_group(ops, blocks, sel, rhs, fixed, pos):
    """Solve the energies ``sel`` of ``blocks`` (their right-hand sides ``rhs``), which share their fixed rows:
    by block elimination along a chain (``pos``: :func:`_chain_blocks`; ``blocks`` is not copied), with banded
    LAPACK or SuperLU otherwise and for any energy whose elimination fails its check."""
    from .block_chain import solve_chain

    nE, n = rhs.shape[:2]
    rows = []
    u0 = np.zeros((nE, n, N_MODES))
    for nodes, hres, free in fixed.values():
        modes = np.setdiff1d(np.arange(N_MODES), free)
        u0[:, nodes[:, None], modes[None, :]] = hres[:, None, modes]
        rows.append((N_MODES * nodes[:, None] + modes[None, :]).ravel())
    rows = np.concatenate(rows) if rows else np.zeros(0, int)
    if pos is None:
        return _solve_sparse(ops, blocks[sel], rhs, u0, rows)
    mask = np.zeros(n * N_MODES, bool)
    mask[rows] = True
    f = rhs.reshape(nE, -1).copy()
    f[:, mask] = u0.reshape(nE, -1)[:, mask]  # identity rows: x = u0 there
    x, ok = solve_chain(blocks.reshape(blocks.shape[0], -1), f.reshape(nE, n, N_MODES), mask.reshape(n, N_MODES), pos,
                        members=sel)
    if not ok.all():
        log.debug("kinetic: block elimination failed its check at %d of %d energies; BlockSolver there",
                  int(np.sum(~ok)), nE)
        x[~ok] = _solve_sparse(ops, blocks[sel[~ok]], rhs[~ok], u0[~ok], rows)
    return x


def _solve_sparse(ops, blocks, rhs, u0, rows):
    """The batched ``usadel.linsolve.BlockSolver`` solve (banded LAPACK in 1D, SuperLU otherwise): the known
    values move to the right-hand side, then identity rows."""
    nE, n = rhs.shape[:2]
    solver = ops.solver(N_MODES)
    full = rhs.reshape(nE, -1).copy()
    x = np.empty((nE, N_MODES * n))
    chunk = max(1, int(BANDED_BATCH_ENTRIES // ((2 * solver.bw + 1) * solver.N + N_MODES ** 2 * ops.nnz)))
    for s in range(0, nE, chunk):
        sl = slice(s, min(nE, s + chunk))
        data = solver.full_data(blocks[sl].astype(complex)).real
        if rows.size:
            full[sl] -= solver.matvec(data, u0[sl].reshape(data.shape[0], -1))
            full[sl, rows] = 0.0
            data = solver.fix_rows(data, rows)
        x[sl] = solver.solve(data, full[sl]).real
    return x.reshape(nE, n, N_MODES) + u0
