r"""The critical temperature of an order-p (p = 2-4) device on a 1D wire: the linearised gap equation of
:mod:`usadel.highorder_gap`, collocated at the dofs of superconducting elements.

Linearised around Delta = 0 (contacts count as normal at Tc, as for P1: ``usadel.tc``), the order-p
Matsubara amplitude is f_n = 2 (K' + 2 w_n M)^-1 B Delta (``usadel.highorder_gap.linear_operators_p``);
with K' V = M V Lambda, V^T M V = 1, the sum over all w_n >= 0 is exact:

    sum_n 2 pi T g_n (Delta/w_n - f_n) = V S0 V^T B Delta + Psi(omega_D/2 pi T) (Delta - V V^T B Delta)

at the free dofs (S0 = :func:`usadel.linear_response.mode_sum` with N = 0; the second term is only there
with the Debye regulator g_n, ``omega_D``, and vanishes without a pairing edge, which the cutoff-free form
requires: ``usadel.highorder_gap``). Tc is the highest T where the largest real part of the eigenvalues
of ln(Tc0/T) - (that operator) on the superconducting free dofs crosses zero (the collocated operator is
not symmetric). An exchange field is built for one h in every region (``usadel.tc.exchange_mode_sum``).
"""

import numpy as np
import scipy.linalg

from .errors import UsadelError
from .highorder_gap import check_wire, linear_operators_p, pairing_edges
from .linear_response import mode_sum, psi_reg
from .matsubara import PairingData

__all__ = ["order_p_eigenvalue"]


def order_p_eigenvalue(device, omega_D=None):
    """(largest_eig(T), exchange fields, largest Tc0, whether any free dof pairs) of an order-p device.

    ``largest_eig(T)`` > 0 below Tc (the least pair-broken mode grows), < 0 above.
    """
    from .exchange import spin_split
    from .tc import exchange_mode_sum

    check_wire("critical_temperature", device)
    fields = sorted({m.h for m in device.materials.values()}) if spin_split(device) else [0.0]
    if len(fields) > 1:
        raise UsadelError(f"critical_temperature: order {device.order} with exchange fields that differ between "
                          f"regions ({fields}) is not built; use order=1")
    h = fields[0]
    K, M, B, fixed = linear_operators_p(device)
    edges = pairing_edges(device, M, B, fixed, np.zeros(fixed.size))
    if omega_D is None and edges.size:
        raise UsadelError(
            f"critical_temperature: order {device.order}: the pairing field has an edge inside the element space "
            f"near x = {device.topology.p[0, edges[0]]:.6g} (a transparent interface between a superconducting "
            f"and a normal element); there the cutoff-free Matsubara sum of the order-p pair amplitude diverges "
            f"(docs/conventions.md, Element order). Pass the Debye energy omega_D, use a tunnel interface, "
            f"or order=1")
    pairing = PairingData(device, omega_D)
    free = np.nonzero(~fixed)[0]
    lam, V = scipy.linalg.eigh(K.toarray()[np.ix_(free, free)], M.toarray()[np.ix_(free, free)])
    lam = np.maximum(lam, 0.0)
    keep = pairing.sc[free]
    VB = V.T @ B[free][:, free[keep]].toarray()  # (modes, superconducting free dofs)
    Vk = V[keep]
    P = Vk @ VB  # V V^T B on the superconducting free dofs
    ln_tc = pairing.ln_tc[free][keep]

    def largest_eig(T):
        S0 = mode_sum(lam, T, 0, omega_D)[0] if h == 0 else exchange_mode_sum(lam, T, h, omega_D)
        A = (Vk * S0) @ VB
        if omega_D is None:
            L = np.diag(ln_tc - np.log(T)) - A
        else:
            psi = psi_reg(omega_D / (2 * np.pi * T))
            L = np.diag(psi - psi_reg(omega_D / (2 * np.pi * np.exp(ln_tc)))) - A - psi * (np.eye(P.shape[0]) - P)
        return float(np.max(np.linalg.eigvals(L).real))

    return largest_eig, fields, pairing.tc_max, bool(keep.any())
