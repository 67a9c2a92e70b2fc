r"""Kinetic equations of a spin-split device: the spin-block basis.

With a collinear exchange field the 4x4 Keldysh problem is block diagonal in the
spin projections s = +-1 (``docs/conventions.md``, Exchange fields). Block s carries
the Nambu distribution

    h^s = a_s 1 + b_s tau3,    a_s = hL + s hTS,    b_s = hT + s hLS,

and without spin relaxation obeys the spin-degenerate 2x2 kinetic equations (seed
Eqs. 4, 7 without tau_sf) with the coefficients DL_s, DT_s, aTT_s, Im jE_s of its own
retarded function g_s (E -> E + s h):

    div j_a^s = 0,                    j_a^s = -DL_s grad a_s + Im(jE_s) b_s
    div j_b^s = -2 |Delta| aTT_s b_s,  j_b^s = -DT_s grad b_s + Im(jE_s) a_s.

Spin-flip and spin-orbit scattering add a 4x4 sink per node that couples the blocks
(``usadel.spin_relaxation``).

The solver works in the basis u = (a_+, b_+, b_-, a_-) (:data:`BASIS`: h = BASIS u),
whose four rows have exactly the structure of the table ``usadel.coefficients.MODES``
(DL, DT, DT, DL; partners 1, 0, 3, 2; pairing sinks on rows 1 and 2), each row
with the coefficients of its own block (:data:`MODE_SPIN`). Written back in the
component basis (L, T, LS, TS) this is one 4x4 system with off-diagonal
diffusion, supercurrent and sink terms (:func:`component_matrices`;
``docs/derivations.md``, Kinetic equations with an exchange field): the splitting
couples the energy mode hL with the spin mode hTS and the charge mode hT with
the spin-energy mode hLS.

A clean superconducting contact below its gap releases the DL mode of each
block separately, at |E + s h| < Delta: rows 0 (a_+) and 3 (a_-), which is
``usadel.kinetic_solve.ANDREEV_MODES`` (hL and hTS) when h = 0.
"""

import numpy as np

from .coefficients import MODES, kinetic_coefficients
from .errors import UsadelError
from .exchange import SPINS

__all__ = ["BASIS", "BASIS_INV", "MODE_SPIN", "to_solve_basis", "block_coefficients", "spin_average",
           "component_matrices", "split_probe_potential"]

#: h = BASIS u for u = (a_+, b_+, b_-, a_-), h = (hL, hT, hLS, hTS)
BASIS = 0.5 * np.array([[1.0, 0.0, 0.0, 1.0],
                        [0.0, 1.0, 1.0, 0.0],
                        [0.0, 1.0, -1.0, 0.0],
                        [1.0, 0.0, 0.0, -1.0]])
#: u = BASIS_INV h: a_s = hL + s hTS, b_s = hT + s hLS
BASIS_INV = np.array([[1.0, 0.0, 0.0, 1.0],
                      [0.0, 1.0, 1.0, 0.0],
                      [0.0, 1.0, -1.0, 0.0],
                      [1.0, 0.0, 0.0, -1.0]])
#: spin block of each row of the solve basis
MODE_SPIN = (1, 1, -1, -1)
assert np.array_equal(BASIS @ BASIS_INV, np.eye(4))
assert all(MODES[i].diffusion == MODES[3 - i].diffusion for i in range(4))  # the block rows mirror MODES


def to_solve_basis(A):
    """A 4x4 operator on h (..., 4, 4) written on u: BASIS_INV A BASIS (rows are block equations)."""
    return np.einsum("ij,...jk,kl->...il", BASIS_INV, A, BASIS)


def block_coefficients(sp, floor):
    """[coefficients of block +1, of block -1] (``usadel.coefficients.kinetic_coefficients`` of ``sp.block(s)``).

    Each block carries its pairing sinks only: spin-flip and spin-orbit scattering (which need h with
    tau_sf or tau_so, spin mixing) couple the blocks, and their relaxation is the 4x4 matrix of
    ``usadel.spin_relaxation.block_relaxation``.
    """
    return [kinetic_coefficients(sp.block(s), floor, relaxation=False) for s in SPINS]


def spin_average(cos):
    """(el, node, jS) averaged over the two blocks' coefficients (the spin-summed, diagonal part)."""
    el = {k: 0.5 * (cos[0].el[k] + cos[1].el[k]) for k in cos[0].el}
    node = {k: 0.5 * (cos[0].node[k] + cos[1].node[k]) for k in cos[0].node}
    return el, node, 0.5 * (cos[0].jS + cos[1].jS)


def component_matrices(cos, where="el"):
    r"""The 4x4 coefficient matrices of the kinetic equations in the basis (L, T, LS, TS).

    With X_pm = (X_+ +- X_-)/2 of the two blocks' coefficients:

        j = -Dm grad h + Cm h,   div j = -Sm h,

        Dm = [[DL_p, 0, 0, DL_m], [0, DT_p, DT_m, 0], [0, DT_m, DT_p, 0], [DL_m, 0, 0, DL_p]]
        Cm = jS_p (L<->T, LS<->TS) + jS_m (L<->LS, T<->TS)
        Sm = 2 |Delta| [[0, 0, 0, 0], [0, aTT_p, aTT_m, 0], [0, aTT_m, aTT_p, 0], [0, 0, 0, 0]]

    (``docs/derivations.md``). ``cos``: the two blocks' coefficients
    (:func:`block_coefficients`); ``where``: "el" (per element, floored
    diffusion coefficients) or "node". Returns dict(D=..., S=...) with D of shape
    (n_E, n, 4, 4) and S the lumped sink per node (n_E, n_nodes, 4, 4), and
    C = (n_E, n_el, dim, 4, 4) for ``where="el"``.
    """
    co = [c.el if where == "el" else c.node for c in cos]
    p = {k: 0.5 * (co[0][k] + co[1][k]) for k in ("DL", "DT")}
    m = {k: 0.5 * (co[0][k] - co[1][k]) for k in ("DL", "DT")}
    D = np.zeros(p["DL"].shape + (4, 4))
    for (i, j), v in {(0, 0): p["DL"], (3, 3): p["DL"], (0, 3): m["DL"], (3, 0): m["DL"], (1, 1): p["DT"],
                      (2, 2): p["DT"], (1, 2): m["DT"], (2, 1): m["DT"]}.items():
        D[..., i, j] = v
    # per-row sinks S_i of the blocks (rows 1, 2 of the solve basis carry 2|Delta| aTT_s, lumped)
    sink = np.zeros(cos[0].sink.shape + (4,))
    for i, s in enumerate(MODE_SPIN):
        sink[..., i, i] = cos[0 if s == 1 else 1].sink[..., i]
    out = dict(D=D, S=np.einsum("ij,...jk,kl->...il", BASIS, sink, BASIS_INV))
    if where == "el":
        jp, jm = 0.5 * (cos[0].jS + cos[1].jS), 0.5 * (cos[0].jS - cos[1].jS)
        C = np.zeros(jp.shape + (4, 4))
        for (i, j), v in {(0, 1): jp, (1, 0): jp, (2, 3): jp, (3, 2): jp, (0, 2): jm, (2, 0): jm, (1, 3): jm,
                          (3, 1): jm}.items():
            C[..., i, j] = v
        out["C"] = C
    return out


def split_probe_potential(E, N, Na, Nb, P, T, full):
    r"""Zero-current potential mu_P of a normal (ferromagnetic) tunnel probe on a spin-split device.

    The spin-sigma electrons at E see N_sigma(E) (block sigma) and the distribution
    1 - 2 f_sigma = a_sigma + b_sigma, so with G_sigma = G (1 + sigma P)/2 the probe current is
    Sum_sigma (1 + sigma P) Int dE N_sigma [t_P - a_sigma - b_sigma], t_P = 1 - 2 f0(E - mu_P).
    Folding E -> -E (which exchanges the blocks: N_s(-E) = N_-s(E), a_s(-E) = -a_-s(E),
    b_s(-E) = b_-s(E)) and halving, zero current is

        Int dE [N_p hT_P + P N_m hL_P] = (1/2) Int dE Sum_s N_s (s P a_s + b_s),

    hT_P = f0(E + mu) - f0(E - mu), hL_P = 1 - f0(E - mu) - f0(E + mu), N_p/m = (N_+ +- N_-)/2.
    For N_+ = N_- this is ``usadel.bulk.probe_zero_current``'s condition; the new term P N_m hL_P is
    the probe's own thermoelectric (F/I/S) current. Its mu-independent part P N_m tanh(E/2T) is
    moved to the right and integrated on the device's grid with the distributions, so that a
    device in equilibrium at the probe's temperature gives mu_P = 0 exactly; the rest is
    localised within a few T of |mu| and integrated on a fine grid like the N_p term.

    ``N``, ``Na``, ``Nb``: [block +1, block -1] arrays over E of N_s, N_s a_s and N_s b_s at the
    probe. Returns mu_P; raises UsadelError if no root lies inside the grid.
    """
    from scipy.optimize import brentq

    from .bulk import PROBE_GRID_STEP, PROBE_MARGIN, PROBE_RTOL, PROBE_XTOL, fermi

    Np, Nm = 0.5 * (N[0] + N[1]), 0.5 * (N[0] - N[1])
    th = np.tanh(E / (2 * T))
    rhs = np.trapezoid(0.5 * (P * (Na[0] - Na[1]) + Nb[0] + Nb[1]) - P * Nm * th, E)
    e_top = E.max()
    Ef = np.union1d(E, np.linspace(E.min(), e_top, int(np.ceil((e_top - E.min()) / (PROBE_GRID_STEP * T))) + 2))
    Npf, Nmf = np.interp(Ef, E, Np), np.interp(Ef, E, Nm)

    def lhs(mu):
        hT = fermi(Ef + mu, T) - fermi(Ef - mu, T)
        hL = 1.0 - fermi(Ef - mu, T) - fermi(Ef + mu, T) - np.tanh(Ef / (2 * T))
        tail = T * (np.logaddexp(0.0, -(e_top + mu) / T) - np.logaddexp(0.0, -(e_top - mu) / T))
        return np.trapezoid(Npf * hT + P * Nmf * hL, Ef) + (2 if full else 1) * Np[-1] * tail

    span = e_top - PROBE_MARGIN * T
    if span <= 0 or (lhs(-span) - rhs) * (lhs(span) - rhs) > 0:
        raise UsadelError(f"probe_potential: no zero-current potential within the energy grid "
                          f"(|mu_P| < {max(span, 0):.3g}); extend the grid to higher energies")
    return brentq(lambda m: lhs(m) - rhs, -span, span, xtol=PROBE_XTOL * max(1.0, T), rtol=PROBE_RTOL)
