r"""Critical temperature of a device from the linearised gap equation (no full loop at trial T).

With gamma -> 0 the Matsubara solution is f_n = 2 A_n^{-1} M Delta,
A_n = K' + 2 w_n C (``usadel.linear_response``), so Tc is the highest T where the
largest eigenvalue of the symmetrised
2 pi T sum [2 M^{1/2} A_n^{-1} M^{1/2} - 1/w_n] - ln(Tc0/T) crosses zero. Contacts
count as normal at Tc (a superconducting reservoir has no bifurcation).
"""

import logging

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .device import Device
from .errors import UsadelError
from .exchange import spin_mixing, spin_split
from .exchange_tc import ExchangeModes
from .linear_response import linear_modes, mode_sum, psi_reg, regulated_sum
from .matsubara import PairingData
from .spin_mixing import mixing_mode_sum, relaxation_rates_e
from .validate import real

__all__ = ["critical_temperature", "exchange_mode_sum", "MAX_DENSE_TC"]

log = logging.getLogger(__name__)

#: largest mesh for critical_temperature: it needs a dense generalised eigendecomposition (O(n^3))
MAX_DENSE_TC = 7500
#: smallest rtol accepted: brentq refuses anything below 4 machine epsilons
MIN_RTOL = 4 * np.finfo(float).eps
#: largest rtol accepted (a coarser Tc is not worth a root search)
MAX_RTOL = 0.1
#: the root search starts at this fraction of the largest Tc0; a Tc below it is reported as 0
TC_FLOOR = 1e-6
#: the bracket's top lies this far (relative) above the largest Tc0, so that a device at its bulk
#: Tc0 (largest eigenvalue 0 up to rounding there) still brackets
TC_MARGIN = 1e-9
#: temperatures scanned (log-spaced, TC_FLOOR to 1) for the top of the unstable range with an exchange field
EXCHANGE_SCAN = 200


def critical_temperature(device, *, rtol=1e-6, omega_D=None):
    """Tc of a device from the linearised gap equation (no full loop at trial T).

    Linearising the gap equation around Delta = 0 with the same discrete
    operator as the gap loop (``usadel.linear_response.linear_modes``; a per-node
    Delta is a P1 field with the full lumped weight C), the Matsubara sum over
    all w_n is exact:
    sum_n 2 pi T (Delta/w_n - f_n) = V diag(psi(1/2 + l/(4 pi T)) - psi(1/2)) V^T C Delta.
    Tc is the highest T where the largest eigenvalue of the symmetrised
    M(T) = ln(Tc0/T) - C^(1/2) V diag(...) V^T C^(1/2) (on superconducting,
    non-Dirichlet nodes) crosses zero, found by brentq to ``rtol``
    (``MIN_RTOL`` <= rtol <= ``MAX_RTOL``). Contacts count as normal at Tc (a
    superconducting reservoir has no bifurcation). With ``omega_D`` (see
    ``usadel.gap``) ln(Tc0/T) becomes Psi(omega_D/2 pi T) - Psi(omega_D/2 pi Tc0)
    and the mode sums carry the regulator (``mode_sum`` with N = 0). Meshes up to
    ``MAX_DENSE_TC`` nodes; a Tc below ``TC_FLOOR`` x Tc0 is returned as 0.

    With an exchange field each mode sum is the spin average (:func:`exchange_mode_sum` for one h
    everywhere, ``usadel.exchange_tc`` where h varies; with spin relaxation
    ``usadel.spin_mixing.mixing_mode_sum``, for one h, tau_sf, tau_so everywhere) and the result is the highest T of the normal
    state's instability, the second-order line. Below the tricritical point (uniform
    superconductor: T* = 0.5615 Tc0, h* = 0.6082 Delta0) the real transition is first order,
    at a higher T, and superconductivity survives at low T up to h = Delta0/sqrt(2) where this
    returns 0 for h > 0.61 Delta0: compare free energies (:func:`usadel.free_energy`).

    On an order 2-4 wire the linearised equation is the order-p one of the gap loop, collocated at the
    dofs (:mod:`usadel.highorder_tc`; one h everywhere; a transparent S/N interface needs ``omega_D``).
    """
    rtol = real("critical_temperature: rtol", rtol, lo=MIN_RTOL, hi=MAX_RTOL)
    omega_D = real("critical_temperature: omega_D", omega_D, positive=True, allow_none=True)
    if not isinstance(device, Device):
        raise UsadelError(f"critical_temperature: expected a usadel.Device, got {type(device).__name__}")
    if device.operators.n > MAX_DENSE_TC:
        raise UsadelError(f"critical_temperature: the linearised gap equation is solved by a dense "
                          f"eigendecomposition, limited to {MAX_DENSE_TC} nodes (this device has "
                          f"{device.operators.n}); use a coarser mesh, or gap()/delta_of_T near Tc")
    if device.order > 1:  # the order-p linearised gap equation (usadel.highorder_tc)
        from .highorder_tc import order_p_eigenvalue
        largest_eig, fields, tcmax, pairs = order_p_eigenvalue(device, omega_D)
    else:
        largest_eig, fields, tcmax, pairs = _p1_eigenvalue(device, omega_D)
    return _transition(largest_eig, fields, tcmax, pairs, rtol)


def _p1_eigenvalue(device, omega_D):
    """(largest_eig(T), exchange fields, largest Tc0, whether any free node pairs) on the P1 operators."""
    cM, uniform = _mixing(device, omega_D)  # lumped (sigma/D)(a - b) per node with spin relaxation and h, else None
    pairing = PairingData(device, omega_D)
    K, c, free, lam, V = linear_modes(device)
    fields = sorted({m.h for m in device.materials.values()}) if spin_split(device) else [0.0]
    closed = len(fields) == 1 and (cM is None or uniform)  # one h (and M) everywhere: closed-form mode sums
    h = fields[0] if closed else 0.0
    xm = None if closed else ExchangeModes(device, free, lam, V, cM)  # h or M varying in space
    mix = None if cM is None or not closed else float(cM[np.argmax(c)] / np.max(c))  # the one a - b
    keep = pairing.sc[free]  # superconducting free nodes, in the order of ``free``
    ps = pairing.ps
    W = np.sqrt(c[free] * ps[free])[:, None] * V  # (C ps)^(1/2) V
    W = W[keep]
    ps_k = ps[free][keep]
    ln_tc = pairing.ln_tc[free][keep]
    tcmax = pairing.tc_max

    def largest_eig(T):
        """Largest eigenvalue of M(T): > 0 below Tc (the least pair-broken mode), < 0 above."""
        S0 = mode_sum(lam, T, 0, omega_D)[0] if h == 0 else exchange_mode_sum(lam, T, h, omega_D) if mix is None else \
            mixing_mode_sum(lam, T, h, mix)
        if omega_D is None:
            ln_ratio = ln_tc - np.log(T)
        else:
            psi = psi_reg(omega_D / (2 * np.pi * T))
            ln_ratio = psi - psi_reg(omega_D / (2 * np.pi * np.exp(ln_tc))) - psi * (1 - ps_k)
        M = np.diag(ln_ratio) - (W * S0) @ W.T
        if xm is not None:
            M -= W @ xm.correction(T) @ W.T
        return float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])
    return largest_eig, fields, tcmax, bool(keep.any())


def _transition(largest_eig, fields, tcmax, pairs, rtol):
    """The highest T below which the normal state is unstable (``largest_eig`` > 0), by brentq to ``rtol``."""
    if not pairs:
        return 0.0
    lo, hi = TC_FLOOR * tcmax, tcmax * (1 + TC_MARGIN)
    if largest_eig(hi) >= 0:
        return tcmax
    if fields != [0.0]:  # the second-order line T(h) is reentrant (two crossings for Delta0/2 < h < 0.6082 Delta0)
        log.info("critical_temperature: h = %s: the second-order line; below T* = 0.56 Tc0 the transition is "
                 "first order (usadel.free_energy)", fields)
        lo = _highest_unstable(largest_eig, lo, hi)
        if lo is None:
            return 0.0
    elif largest_eig(lo) <= 0:
        return 0.0
    return brentq(largest_eig, lo, hi, rtol=rtol)


def _highest_unstable(largest_eig, lo, hi):
    """The highest of ``EXCHANGE_SCAN`` log-spaced temperatures in [lo, hi] where the normal state is unstable.

    With an exchange field the largest eigenvalue is not monotonic in T (it is
    negative again at low T for h > Delta0/2), so the bracket's bottom is found by a scan
    from the top, and where no scanned temperature is unstable, by maximising the eigenvalue
    around the scan's best point; None if even that maximum is negative.
    """
    Ts = np.geomspace(hi, lo, EXCHANGE_SCAN)
    vals = [largest_eig(hi)]
    for T in Ts[1:]:
        vals.append(largest_eig(T))
        if vals[-1] > 0:
            return T
    # an unstable window narrower than the scan's step (h just below the line's largest h): the
    # eigenvalue's maximum over T, bracketed by the scan's best point
    i = int(np.argmax(vals))
    a, b = np.log(Ts[min(i + 1, Ts.size - 1)]), np.log(Ts[max(i - 1, 0)])
    best = minimize_scalar(lambda u: -largest_eig(np.exp(u)), bounds=(a, b), method="bounded",
                           options=dict(xatol=1e-10))
    return float(np.exp(best.x)) if -best.fun > 0 else None


def _mixing(device, omega_D=None):
    """(cM, uniform): the lumped (sigma/D)(a - b) per node of a spin-mixed device and whether every region
    shares one (h, tau_sf, tau_so); (None, True) without spin mixing. Raises for a spin-split reservoir
    with spin mixing (its linear response is not built) and for ``omega_D`` with spin mixing or with an
    h that differs between regions (only the uniform regulated mode sum is built)."""
    if omega_D is not None and spin_split(device) and (spin_mixing(device) or
                                                       len({m.h for m in device.materials.values()}) > 1):
        raise UsadelError("critical_temperature: omega_D together with an exchange field is built for one h in "
                          "every region without spin relaxation")
    if not spin_mixing(device):
        return None, True
    split = {t: c.h for t, c in device.contacts.items() if c.h != 0}
    if split:
        raise UsadelError(f"critical_temperature: spin mixing (h with tau_sf or tau_so) together with spin-split "
                          f"reservoirs {split} is not built")
    ops = device.operators
    a_e, b_e = relaxation_rates_e(device)
    kinds = {(m.h, m.tau_sf, m.tau_so) for m in device.materials.values()}
    return ops.lump(ops.w_el / ops.D_e * (a_e - b_e)), len(kinds) == 1


def exchange_mode_sum(lam, T, h, omega_D=None):
    """S1 with an exchange field h: the spin average Re psi(1/2 + (l + 2 i h)/(4 pi T)) - psi(1/2) per mode l.

    Each spin block has w_n -> w_n -+ i h, so (K' + 2 w C) becomes K' + 2 (w -+ i h) C and a mode
    of eigenvalue l contributes sum_n 2 pi T (1/w_n - 2/(l + 2 w_n -+ 2 i h)); the two spins are
    complex conjugates. For one h in every region (``usadel.exchange_tc`` handles an h that varies).
    With the Debye regulator g_n = a^2/(z^2 + a^2) (z = n + 1/2, a = omega_D/(2 pi T)) the summand is
    a^2 x/((z^2 + a^2) z (z + x)) with complex x = (l + 2 i h)/(4 pi T), summed in closed form by
    :func:`usadel.linear_response.regulated_sum`; its real part is the spin average.
    """
    from scipy.special import digamma

    x = (lam + 2j * h) / (4 * np.pi * T)
    if omega_D is None:
        return np.real(digamma(0.5 + x)) - digamma(0.5)
    return np.real(regulated_sum(x, omega_D / (2 * np.pi * T)))
