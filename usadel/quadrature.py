"""Energy integrals that check their grid.

Every observable of the kinetic equations is an integral over the whole energy
axis of an integrand known only on the user's grid. A trapezoid rule on a grid
that is unsorted, stops short of a bias or thermal window, starts above zero or
steps over a Fermi edge returns a wrong number that looks fine. The integral
here sorts the grid and estimates what it cannot see, and raises
:class:`usadel.UsadelError` naming the missing range when that is more than
``rtol`` of the result:

- the ends: beyond the last energy (and, for a grid of one sign, between 0 and
  the first energy) the integrand is extrapolated from the last two points
  (exponential decay where it decays, constant otherwise);
- the resolution: the trapezoid rule on every second point against the full
  rule (Richardson: the error of the full rule is about a third of their
  difference for a smooth integrand, and the difference itself at kinks).

All integrands here are even in E (charge, energy, spin currents and spin
accumulation: see the kinetic module). A grid of one sign is therefore folded:
Int over the axis = 2 Int_0^inf. A grid with both signs is integrated as it
stands and must reach far enough on both sides.
"""

import numpy as np

from .errors import UsadelError

__all__ = ["even_integral", "RTOL"]

#: default relative accuracy an energy integral must be able to vouch for
RTOL = 1e-3
#: absolute floor, relative to the integral of the integrand's term magnitudes:
#: below it the integrand is rounding noise of cancelling terms
NOISE = 1e-9


def _trapz(E, f):
    return np.trapezoid(f, E, axis=0)


def _end_estimate(E, f, span):
    """Magnitude of the integral beyond the last point of (E, f), per column."""
    f1, f0 = np.abs(f[-1]), np.abs(f[-2])
    dE = abs(E[-1] - E[-2])
    with np.errstate(divide="ignore", invalid="ignore"):
        length = np.where((f0 > f1) & (f1 > 0), dE / np.log(f0 / np.where(f1 > 0, f1, 1.0)), span)
    return f1 * np.minimum(length, span)


def even_integral(E, f, *, scale=None, what="energy integral", rtol=RTOL):
    """Int dE f(E) over the whole axis for an integrand even in E, with a checked grid.

    Parameters
    ----------
    E : (n,) real energies, any order (duplicates allowed)
    f : (n, ...) integrand at E
    scale : (n, ...) or None
        Magnitude of the terms that make up f (for the noise floor); default |f|.
    what : str
        Name of the integral for error messages.
    rtol : float or None
        Largest acceptable estimated error relative to Int |f|; None skips the checks.

    Raises
    ------
    UsadelError
        If the grid has fewer than 3 distinct energies or its estimated
        truncation or resolution error exceeds ``rtol``.
    """
    E = np.asarray(E, float)
    f = np.asarray(f)
    if E.ndim != 1 or E.size == 0 or f.shape[:1] != E.shape:
        raise UsadelError(f"{what}: needs a 1D grid of energies and one integrand value per energy, got "
                          f"shapes {E.shape} and {f.shape}")
    if rtol is not None and not (np.all(np.isfinite(E)) and np.all(np.isfinite(f))):
        raise UsadelError(f"{what}: the energies or the integrand are not finite")
    scale = np.abs(f) if scale is None else np.broadcast_to(np.abs(np.asarray(scale)), f.shape)
    order = np.argsort(E, kind="stable")
    E, f, scale = E[order], f[order], scale[order]
    half = E[0] >= 0 or E[-1] <= 0
    if half and E[-1] <= 0:
        E, f, scale = -E[::-1], f[::-1], scale[::-1]
    if np.unique(E).size < 3:
        raise UsadelError(f"{what}: needs at least 3 distinct energies, got {np.unique(E).tolist()}")
    value = (2.0 if half else 1.0) * _trapz(E, f)
    if rtol is None:
        return value
    span = E[-1] - E[0]
    size = (2.0 if half else 1.0) * _trapz(E, np.abs(f))
    noise = NOISE * (2.0 if half else 1.0) * _trapz(E, scale)
    allowed = rtol * np.max(size) + np.max(noise)
    fold = 2.0 if half else 1.0
    errs = {"above": fold * np.max(_end_estimate(E, f, span))}
    if half:
        errs["below"] = fold * np.max(np.abs(f[0]) * E[0])
    else:
        errs["below"] = np.max(_end_estimate(-E[::-1], f[::-1], span))
    coarse = np.r_[np.arange(0, E.size - 1, 2), E.size - 1]
    errs["resolution"] = fold * np.max(np.abs(_trapz(E, f) - _trapz(E[coarse], f[coarse]))) / 3.0
    worst = max(errs, key=errs.get)
    if errs[worst] > allowed:
        rel = errs[worst] / max(np.max(size), 1e-300)
        lo, hi = (0.0, E[-1]) if half else (E[0], E[-1])
        where = {"above": f"beyond |E| = {E[-1]:.4g}, where the integrand has not decayed "
                          f"(extend the grid to higher energies)",
                 "below": (f"between E = 0 and the grid's first energy {E[0]:.4g} (start the grid at 0)" if half else
                           f"below E = {E[0]:.4g}, where the integrand has not decayed (extend the grid to "
                           f"negative energies, or use energies >= 0 only)"),
                 "resolution": "inside the grid: it is too coarse for the integrand (refine it, e.g. near Fermi "
                               "edges and gap edges)"}[worst]
        raise UsadelError(f"{what}: the energy grid ({E.size} energies in [{lo:.4g}, {hi:.4g}]"
                          f"{', folded by parity' if half else ''}) misses about {rel:.1%} of the integral "
                          f"{where}; see usadel.observables.energy_grid (or pass rtol=None to skip this check)")
    return value
