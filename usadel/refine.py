"""Adaptive real-energy grids for supercurrents: refine where the integrand needs it.

A real-axis supercurrent I = sigma Int_0^inf dE Re(g grad g)_11 tanh(E/2T) has sharp
structure where no fixed grid can know it in advance: the minigap edge (a square-root
onset whose position depends on the phase and the geometry), the reservoirs' gap edges,
and slow oscillations of a long junction's tail (Re(g grad g)_11 ~ exp(-L sqrt(E/E_Th))).
A fixed grid of 200 energies was 2% off for a long SNS junction (Delta = 100 E_Th,
T = 0.1 E_Th). :func:`refine_energies` starts from a grid, solves the spectral problem
there, estimates the trapezoid error of every interval from the quadratic through it
and a neighbour, and bisects the intervals that hold most of the error, solving only the
new energies, until the estimated error of the integral is below ``rtol`` of
Int |integrand|.
"""

import numpy as np

from .errors import UsadelError
from .retarded import spectral
from .validate import integer, real, real_array

__all__ = ["refine_energies"]

#: intervals shorter than this many Dynes widths are not split (edges are rounded on that scale)
MIN_WIDTH_ETA = 10.0


def _integrand(device, E, T, delta, eta):
    """Re(g grad g)_11 tanh(E/2T) per element and direction, (n_E, n_el * dim)."""
    sp = spectral(device, E, delta=delta, eta=eta)
    m11 = np.real(sp.matrix_current())
    w = device.operators.sigma_e[None, :, None] * np.tanh(E / (2 * T))[:, None, None]
    return (m11 * w).reshape(E.size, -1)


def _interval_errors(E, f):
    """Estimated trapezoid error of each interval [E_i, E_i+1], max over columns: (n - 1,).

    h_i^3 |f''| / 12 with f'' from the three-point formula at either end of the interval
    (the larger; at the grid's ends the one available).
    """
    h = np.diff(E)
    second = 2.0 * ((f[2:] - f[1:-1]) / h[1:, None] - (f[1:-1] - f[:-2]) / h[:-1, None]) / (h[:-1] + h[1:])[:, None]
    s = np.max(np.abs(second), axis=1)  # at interior points 1 .. n-2
    at_left = np.r_[s[:1], s]  # interval i: point i (point 0 borrows point 1)
    at_right = np.r_[s, s[-1:]]  # interval i: point i + 1 (the last borrows n - 2)
    return h ** 3 * np.maximum(at_left, at_right) / 12.0


def refine_energies(device, energies, T, delta=0.0, eta=1e-6, rtol=1e-4, max_energies=20000):
    """Energies >= 0 on which the real-axis supercurrent integral is accurate to ``rtol``.

    Parameters
    ----------
    device : Device
    energies : array
        Starting grid, real and >= 0, at least 3 energies, sorted or not (e.g.
        ``usadel.observables.energy_grid(delta, T=T, e_th=E_Th)``); its largest energy
        is kept as the end of the grid (the kinetic integrals check the tail).
    T : float
        Temperature of the equilibrium distribution tanh(E/2T), > 0.
    delta, eta
        As for :func:`usadel.spectral`.
    rtol : float
        Target of the summed interval error estimates relative to Int |integrand| (the
        largest over elements and directions), in (0, 0.1].
    max_energies : int
        Upper bound on the grid's size; UsadelError if the target needs more.

    Returns
    -------
    ndarray
        Sorted energies (a superset of ``energies``); solve ``usadel.spectral`` on them.
    """
    E = np.unique(real_array("refine_energies: energies", energies))
    if E.size < 3 or E[0] < 0:
        raise UsadelError("refine_energies: need at least 3 energies, all >= 0")
    T = real("refine_energies: T", T, positive=True)
    eta = real("refine_energies: eta", eta, positive=True)
    rtol = real("refine_energies: rtol", rtol, positive=True, hi=0.1)
    max_energies = integer("refine_energies: max_energies", max_energies, lo=E.size)
    f = _integrand(device, E, T, delta, eta)
    while True:
        scale = np.max(np.trapezoid(np.abs(f), E, axis=0))
        err = _interval_errors(E, f)
        splittable = np.diff(E) > MIN_WIDTH_ETA * eta
        total = err.sum()
        if total <= rtol * scale or not (splittable & (err > 0)).any():
            return E
        # split the intervals holding the largest errors until the rest is below half the target
        order = np.argsort(err * splittable)[::-1]
        keep = np.cumsum(err[order]) < total - 0.5 * rtol * scale
        pick = order[:max(1, int(keep.sum()) + 1)]
        pick = pick[splittable[pick]]
        if E.size + pick.size > max_energies:
            raise UsadelError(f"refine_energies: reaching rtol = {rtol:g} needs more than max_energies = "
                              f"{max_energies} energies (estimated error {total / scale:.2e} of the integral with "
                              f"{E.size}); raise max_energies or rtol")
        new = 0.5 * (E[pick] + E[pick + 1])
        fn = _integrand(device, new, T, delta, eta)
        E = np.concatenate([E, new])
        f = np.concatenate([f, fn])
        order = np.argsort(E)
        E, f = E[order], f[order]
