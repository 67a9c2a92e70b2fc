r"""Free energy of a uniform superconductor with an exchange field, to locate first-order transitions.

With an exchange (Zeeman) field h the gap equation of a uniform superconductor has
several solutions at low T (the BCS branch, Sarma's unstable branch and Delta = 0),
and :func:`usadel.gap` finds one of them; which is stable follows from the free
energy. For a uniform BCS superconductor (no pair breaking) the difference between
the superconducting and the normal grand potential at the same T and h, per unit
volume and in units of the normal density of states per spin N0, is on the
Matsubara axis (w_n = pi T (2n + 1), w~ = w_n + i h, Re sqrt > 0)

    Omega(Delta) = Delta^2 ln(T/Tc0) + 2 pi T sum_{n>=0} [Delta^2/w_n - 2 Re(sqrt(w~^2 + Delta^2) - w~)].

Its stationary points are the solutions of the gap equation
Delta ln(Tc0/T) = 2 pi T sum [Delta/w_n - Re Delta/sqrt(w~^2 + Delta^2)] (the one
:func:`usadel.gap` solves, spin-averaged), its Delta^2 coefficient vanishes on the
second-order line ln(Tc0/Tc) = Re psi(1/2 + i h/(2 pi Tc)) - psi(1/2), and at T -> 0,
h < Delta0 it is -Delta0^2/2 + h^2 (condensation energy N0 Delta0^2/2 against the
Pauli energy N0 h^2 of the normal state): Clogston-Chandrasekhar h = Delta0/sqrt(2).
The sum is explicit up to w = ``CUTOFF`` max(Delta, |h|, T) and its tail is the
closed form of the leading term Delta^2 (h^2 + Delta^2/4)/w^3 (next term O(w^-5):
relative error below 1e-9 at that cutoff).
"""

import numpy as np

from .errors import UsadelError
from .validate import real

__all__ = ["free_energy", "CUTOFF", "MAX_TERMS"]

#: the explicit Matsubara sum runs up to CUTOFF x max(Delta, |h|, T); the tail is a closed form
CUTOFF = 400.0
#: most explicit Matsubara terms (T below ~1e-5 max(Delta, |h|) would need more)
MAX_TERMS = 20_000_000


def free_energy(delta, T, *, tc=1.0, h=0.0):
    """(Omega_S - Omega_N)/N0 of a uniform BCS superconductor with gap ``delta`` and exchange field ``h``.

    Parameters
    ----------
    delta : float
        Gap, >= 0 (any value, not only a solution of the gap equation: the
        stationary points of this function are the solutions).
    T : float
        Temperature, > 0.
    tc : float
        Bulk critical temperature Tc0 at h = 0, > 0.
    h : float
        Exchange (Zeeman) energy; spin sigma sees E + sigma h (``Material.h``).

    Returns
    -------
    float
        Free-energy difference per volume in units of N0 (normal density of
        states per spin): negative where the superconducting state is the lower.
        Pair breaking (tau_sf) and inhomogeneous gaps are not covered.
    """
    delta = real("free_energy: delta", delta, nonnegative=True)
    T = real("free_energy: T", T, positive=True)
    tc = real("free_energy: tc", tc, positive=True)
    h = real("free_energy: h", h)
    top = CUTOFF * max(delta, abs(h), T)
    n = int(np.ceil(top / (2 * np.pi * T)))
    if n > MAX_TERMS:
        raise UsadelError(f"free_energy: T = {T:g} needs {n} Matsubara terms (more than {MAX_TERMS}); T is below "
                          f"1e-5 of max(delta, |h|), which is T = 0 for every purpose: use a larger T")
    w = np.pi * T * (2 * np.arange(n) + 1)
    wt = w + 1j * h
    d2 = delta * delta
    s = np.sqrt(wt * wt + d2)
    s = np.where(s.real < 0, -s, s)  # the branch with Re > 0 (continuous from w~ at Delta = 0)
    # sqrt(w~^2 + D^2) - w~ = D^2/(sqrt + w~): no cancellation at large w
    terms = d2 / w - 2.0 * np.real(d2 / (s + wt))
    a = 2 * np.pi * T * n  # the tail sum_{m>=n} 2 pi T c/w_m^3 -> Int_a^inf c/w^3 dw (midpoint rule)
    tail = d2 * (h * h + d2 / 4) / (2 * a * a)
    return float(d2 * np.log(T / tc) + 2 * np.pi * T * np.sum(terms) + tail)
