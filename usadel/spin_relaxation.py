r"""Spin relaxation in the kinetic equations of a spin-split device (exchange field with tau_sf, tau_so).

With a collinear field the retarded function and the distribution are block diagonal in
the spin projections s = +-1 (``usadel.spin_kinetics``: block s carries
h_s = a_s + b_s tau3 with a_s = hL + s hTS, b_s = hT + s hLS). Spin-flip and spin-orbit
scattering keep that structure but couple the blocks: block s of the self-energies is

    Sigma_s[X] = (a/2) tau3 X_s tau3 + a tau3 X_-s tau3 + b X_-s,    a = 1/(4 tau_sf), b = 1/(4 tau_so),

for X = G^R, G^A and G^K alike (``usadel.spin_mixing``, ``docs/derivations.md``, Spin mixing).
The local term of block s's kinetic equations is the Keldysh part of the commutator,

    C_s = Sigma_s[G^R] G^K_s + Sigma_s[G^K] G^A_s - G^R_s Sigma_s[G^K] - G^K_s Sigma_s[G^A],
    G^K_s = G^R_s h_s - h_s G^A_s,   G^A_s = -tau3 (G^R_s)^+ tau3,

projected on the rows of the solve basis u = (a_+, b_+, b_-, a_-) as Tr(1 C_s)/4 (a rows) and
Tr(tau3 C_s)/4 (b rows). It is linear in u, so each (energy, node) has a 4x4 matrix R with
div j_u = -(S_pairing + R) u; :func:`relaxation_matrix` builds R column by column from the
two blocks' retarded functions. At h = 0 it reduces to the diagonal sinks of
``usadel.coefficients.MODES`` (aLSLS/tau_sf + DT/tau_so on hLS, aTSTS/tau_sf + DL/tau_so on
hTS, nothing on hL, hT; checked in tests/test_kinetic_mixing.py against docs/derive_spinorbit.py's
result), and in the normal state to 1/tau_sf + 1/tau_so on both spin modes. With h != 0
it couples all four modes.
"""

import numpy as np

from .exchange import SPINS

__all__ = ["relaxation_matrix", "block_relaxation", "nambu", "ROWS"]

#: rows/columns of the solve basis u = (a_+, b_+, b_-, a_-): (spin block, 0 = a / 1 = b)
ROWS = ((1, 0), (1, 1), (-1, 1), (-1, 0))
_T3 = np.diag([1.0, -1.0]).astype(complex)
_UNIT = (np.eye(2, dtype=complex), _T3)


def nambu(G, F, Ft):
    """The Nambu matrix g^R = [[G, F], [F~, -G]] (..., 2, 2) of a block's G, F, F~ (``SpectralResult``)."""
    return np.stack([np.stack([G, F], axis=-1), np.stack([Ft, -G], axis=-1)], axis=-2)


def _sigma(X, s, a, b):
    """Block s of the spin-relaxation self-energy of a block-diagonal X = {+1: X_+, -1: X_-}."""
    return a / 2 * (_T3 @ X[s] @ _T3) + a * (_T3 @ X[-s] @ _T3) + b * X[-s]


def relaxation_matrix(gR, a, b):
    """R (..., 4, 4) on u = (a_+, b_+, b_-, a_-) from the blocks' g^R = {+1: (..., 2, 2), -1: ...}.

    ``a`` = 1/(4 tau_sf), ``b`` = 1/(4 tau_so) (scalars). Column j is the local term of every
    row for the unit distribution u_j.
    """
    gA = {s: -_T3 @ np.conj(np.swapaxes(gR[s], -1, -2)) @ _T3 for s in SPINS}
    sR, sA = ({s: _sigma(X, s, a, b) for s in SPINS} for X in (gR, gA))
    R = np.zeros(gR[1].shape[:-2] + (4, 4))
    for j, (sj, kj) in enumerate(ROWS):
        zero = np.zeros_like(gR[1])
        GK = {s: zero for s in SPINS}
        GK[sj] = gR[sj] @ _UNIT[kj] - _UNIT[kj] @ gA[sj]
        sK = {s: _sigma(GK, s, a, b) for s in SPINS}
        for i, (si, ki) in enumerate(ROWS):
            C = sR[si] @ GK[si] + sK[si] @ gA[si] - gR[si] @ sK[si] - GK[si] @ sA[si]
            R[..., i, j] = np.real(np.trace(_UNIT[ki] @ C, axis1=-2, axis2=-1)) / 4
    return R


def block_relaxation(sp):
    """Lumped relaxation matrices (n_E, n_nodes, 4, 4) of a spin-split result, with the sigma/D weights
    of the kinetic equations (as the sinks of ``usadel.coefficients.kinetic_coefficients``)."""
    ops = sp.device.operators
    gR = {s: nambu(sp.block(s).G, sp.block(s).F, sp.block(s).Ft) for s in SPINS}
    w_sf = ops.lump(ops.w_el / ops.D_e * ops.tau_sf_inv_e)  # (sigma/D) / tau_sf per node
    w_so = ops.lump(ops.w_el / ops.D_e * ops.tau_so_inv_e)
    R = np.zeros(gR[1].shape[:-2] + (4, 4))
    if np.any(w_sf):
        R += w_sf[None, :, None, None] * relaxation_matrix(gR, 0.25, 0.0)
    if np.any(w_so):
        R += w_so[None, :, None, None] * relaxation_matrix(gR, 0.0, 0.25)
    return R
