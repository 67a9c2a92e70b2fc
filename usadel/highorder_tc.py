r"""The critical temperature of an order-p (p = 2-4) device on a 1D wire: the linearised gap equation of
:mod:`usadel.highorder_gap`, collocated at the dofs of superconducting elements.

Linearised around Delta = 0 (contacts count as normal at Tc, as for P1: ``usadel.tc``; with ``omega_D`` the gap
equation collocated at a clean contact's dof, ``usadel.highorder_gap``, decouples there, f = 0: its eigenvalue is
-Psi(omega_D/2 pi Tc0) < 0 and that dof stays at 0, so Tc is the one with the dof fixed), the order-p
Matsubara amplitude is f_n = 2 (K' + 2 w_n M)^-1 B Delta (``usadel.highorder_gap.linear_operators_p``);
with K' V = M V Lambda, V^T M V = 1, the sum over all w_n >= 0 is exact:

    sum_n 2 pi T g_n (Delta/w_n - f_n) = V S0 V^T B Delta + Psi(omega_D/2 pi T) (Delta - V V^T B Delta)

at the free dofs (S0 = :func:`usadel.linear_response.mode_sum` with N = 0; the second term is only there
with the Debye regulator g_n, ``omega_D``, and vanishes without a pairing edge, which the cutoff-free form
requires: ``usadel.highorder_gap``). Tc is the highest T where the largest real part of the eigenvalues
of ln(Tc0/T) - (that operator) on the superconducting free dofs crosses zero (the collocated operator is
not symmetric; with one Tc0 it is similar to a symmetric one, :func:`order_p_eigenvalue`). An exchange field is built for one h in every region (``usadel.tc.exchange_mode_sum``).
"""

import numpy as np
import scipy.linalg

from .errors import UsadelError
from .highorder_gap import check_wire, linear_operators_p, modes_p, pairing_edges
from .linear_response import mode_sum, psi_reg
from .matsubara import PairingData

__all__ = ["order_p_eigenvalue"]


def order_p_eigenvalue(device, omega_D=None, symmetric=None):
    """(largest_eig(T), exchange fields, largest Tc0, whether any free dof pairs) of an order-p device.

    ``largest_eig(T)`` > 0 below Tc (the least pair-broken mode grows), < 0 above. With one Tc0 on every
    superconducting dof (``symmetric`` None: detected) the collocated operator L is similar to a symmetric
    one, Bkk^(1/2) L Bkk^(-1/2) (Bkk: B on the superconducting free dofs), whose eigenvalues are real and
    come from a symmetric solver; otherwise the largest real part of L's eigenvalues.
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
    free, lam, V = modes_p(K, M, fixed)
    keep = pairing.sc[free]
    k = free[keep]
    Bkk = B[k][:, k].toarray()  # B's rows of free dofs are those of superconducting elements: V^T B = Vk^T Bkk
    Vk = V[keep]
    ln_tc = pairing.ln_tc[k]
    if symmetric is None:
        symmetric = bool(keep.any()) and np.ptp(ln_tc) == 0
    if symmetric:  # one Tc0: Bkk^(1/2) L Bkk^(-1/2) is symmetric
        mu, Q = scipy.linalg.eigh(Bkk)
        left, right = (Q * np.sqrt(mu)) @ Q.T @ Vk, None
    else:
        left, right = Vk, Vk.T @ Bkk  # L = ln_ratio - Vk S0 Vk^T Bkk - psi (1 - Vk Vk^T Bkk)
    P = left @ (left.T if symmetric else right)

    def largest_eig(T):
        S0 = mode_sum(lam, T, 0, omega_D)[0] if h == 0 else exchange_mode_sum(lam, T, h, omega_D)
        L = -(left * S0) @ (left.T if symmetric else right)
        if omega_D is None:
            L += np.diag(ln_tc - np.log(T))
        else:
            psi = psi_reg(omega_D / (2 * np.pi * T))
            L += np.diag(psi - psi_reg(omega_D / (2 * np.pi * np.exp(ln_tc)))) - psi * (np.eye(P.shape[0]) - P)
        if symmetric:
            return float(scipy.linalg.eigvalsh(0.5 * (L + L.T))[-1])
        return float(np.max(np.linalg.eigvals(L).real))

    return largest_eig, fields, pairing.tc_max, bool(keep.any())
