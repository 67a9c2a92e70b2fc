r"""The gap equation at clean contacts to superconducting reservoirs (P1 and order p).

Shared by :class:`usadel.matsubara.GapMap` (P1) and :class:`usadel.highorder_gap.HighOrderGapMap`
(order p). At a node (dof) that a clean contact fixes, inside a superconducting element, the pair
amplitude is the reservoir's f_res at every frequency, and the linear tails
(``usadel.linear_response``, ``usadel.highorder_gap.HighOrderTail``) have no rows there. The gap there
(``docs/conventions.md``, Gap equation and Tc at order p):

- cutoff-free, sum_n 2 pi T (Delta/w_n - f_res,n) converges only for Delta = Delta_res: the node carries
  the reservoir's gap, with its phase (0 for a normal reservoir), and is no unknown;
- with the Debye regulator ``omega_D`` the gap equation is collocated there with the exact tail
  sum_{n>=N} 2 pi T g_n (Delta/w_n - f_res,n) = psi_N (Delta - Delta_res) + Delta_res nl(Delta_res)
  (psi_N = ``psi_tail``, nl the map's local nonlinear tail), in place of the map's generic tail there,
  so Delta is the solution of the local equation Delta psi(omega_D/2 pi Tc0) = sum_n 2 pi T g_n f_res,n,
  whatever the cutoff.

At P1 the node's Delta does not act on the rest of the solution (its spectral rows are fixed and the
lumped linear tail has no row for it); at order p it enters the Lagrange field of the adjacent element.
"""

import numpy as np

__all__ = ["reservoir_gaps", "clean_contacts", "pin_contacts", "contact_values", "contact_jv", "free_of_contacts"]


def reservoir_gaps(device):
    """The complex gap of the reservoir at every clean-contact node (0 elsewhere)."""
    d = np.zeros(device.topology.n_nodes, complex)
    for contact in device.boundary.clean:
        res = contact.reservoir
        d[contact.nodes] = res.delta * np.exp(1j * res.phase)
    return d


def clean_contacts(gmap):
    """(nodes, collocate): the clean-contact nodes of superconducting elements (``gmap.sc``), and whether the
    gap equation is collocated there (with ``omega_D``; cutoff-free they carry the reservoir's gap)."""
    fixed = np.unique(np.asarray(gmap.device.boundary.dirichlet_nodes, dtype=int))
    return fixed[gmap.sc[fixed]], gmap.omega_D is not None


def pin_contacts(gmap, delta):
    """A complex copy of ``delta``, with the reservoirs' gaps at the clean contacts when they are not collocated."""
    delta = np.array(delta, complex)
    c, collocate = clean_contacts(gmap)
    if not collocate:
        delta[c] = gmap.d_res[c]
    return delta


def contact_values(gmap, delta, new):
    """``new`` = G(``delta``) of the map's generic update, corrected at the clean contacts (in place; returned):
    the reservoir's gap cutoff-free; with ``omega_D`` the generic tail there, delta nl(delta) + (delta - dp) psi_N
    (dp = delta ps, the pairing the spectral problem sees; the linear tail has no contact rows), replaced by the
    exact psi_N (delta - Delta_res) + Delta_res nl(Delta_res) (the pair amplitude there is f_res)."""
    c, collocate = clean_contacts(gmap)
    if not c.size:
        return new
    if not collocate:
        new[c] = gmap.d_res[c]
        return new
    k = gmap.sc
    pos = np.searchsorted(np.nonzero(k)[0], c)
    nl_c = gmap.nonlinear_tail(delta[k])[pos]
    nl_res = gmap.nonlinear_tail(gmap.d_res[k])[pos]
    res, dc = gmap.d_res[c], delta[c]
    generic = dc * nl_c + (dc - dc * gmap.ps[c]) * gmap.psi_tail
    exact = gmap.psi_tail * (dc - res) + res * nl_res
    new[c] -= (exact - generic) / gmap.lhs[c]
    return new


def contact_jv(gmap, v, out):
    """The rows of J v (J of F = G - Delta) at the clean contacts (in place; returned): -v cutoff-free (G is the
    reservoir's gap there); with ``omega_D`` -v (1 + psi_N/lhs), f there being the reservoir's (the local
    nonlinear tail's Delta-dependence left out, as everywhere in J)."""
    c, collocate = clean_contacts(gmap)
    out[c] = -v[c] * (1 + gmap.psi_tail / gmap.lhs[c]) if collocate else -v[c]
    return out


def free_of_contacts(gmap, low):
    """``low`` without the clean-contact nodes (a contact's gap is the reservoir's, or its local solution)."""
    low = np.array(low, bool)
    low[np.asarray(gmap.device.boundary.dirichlet_nodes, dtype=int)] = False
    return low
