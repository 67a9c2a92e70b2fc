"""Equilibrium observables built on the spectral solver: supercurrent, minigap, energy grids (fixed and adaptive)."""

import logging

import numpy as np

from .device import Device
from .errors import ConvergenceError, UsadelError
from .fem import delta_weights, flux_weight
from .refine import refine_energies
from .retarded import spectral
from .validate import MAX_ABS, integer, real, real_array

__all__ = ["supercurrent", "current_flux", "matsubara_current", "minigap", "energy_grid", "refine_energies"]

log = logging.getLogger(__name__)


#: most energies energy_grid returns (and most Matsubara terms supercurrent sums explicitly)
MAX_POINTS = 10_000_000
#: most bisection rounds in minigap (each narrows the bracket 8-fold)
MAX_BISECTIONS = 200
#: largest accepted difference (gamma, gamma~; max norm) of the direct and the homotopy solution at the
#: lowest Matsubara frequency of a supercurrent (:func:`matsubara_current`)
MATSUBARA_CHECK_TOL = 1e-6


def _check_device(where, device):
    if not isinstance(device, Device):
        raise UsadelError(f"{where}: expected a usadel.Device, got {type(device).__name__}")


def supercurrent(device, T, delta=0.0, tag=None, *, n_head=64, rtol=1e-9):
    """Equilibrium charge supercurrent into the device through boundary ``tag``.

    Evaluated on the Matsubara axis (exact and cutoff-free for an equilibrium
    hL = tanh(E/2T)): closing the contour of
    I = -(sigma/(2D)) Int dE Im jE(E) tanh(E/2T) in the upper half plane gives
    the current density

        j = -2 pi T sum_{w_n > 0} sigma Im (g grad g)_11(i w_n).

    The first ``n_head`` terms are summed explicitly. The rest of the sum is a midpoint
    rule with step h = 2 pi T, so it equals the integral from a = w_head + pi T to infinity
    plus the Euler-Maclaurin correction (h^2/24) f'(a), next term of order h^4 times the
    third derivative. The integral is done by Gauss-Legendre in w = a + c s^2/(1-s)^2,
    doubled until it changes by less than ``rtol`` of the total (or, where the total
    vanishes, as at a 0-pi node of an SFS junction, of the sum of |terms|). With an
    exchange field the integrand is the average of the two spin blocks. The explicit terms,
    the slope and the first two quadratures are one batched solve (:func:`matsubara_current`).

    The total current is the volume-weighted flux -Int j . grad w (:func:`usadel.fem.flux_weight`,
    w the P1 function of the mesh's vertices). On an order-2 to 4 device (``Device(..., order=p)``) j
    is the current of the Lagrange solution (its derivatives at the elements' Gauss points): the
    same flux with far fewer unknowns for a given accuracy. ``tag`` defaults to the first contact.
    Sign: current flowing into the device from that contact's reservoir, with the prefactor that
    gives I = V/R_N when normal.

    T > 0, n_head >= 1 (within ``usadel.budget.MEMORY_BUDGET``), 0 < rtol <= 0.1,
    ``delta`` as in :func:`usadel.spectral`, ``tag`` a boundary tag: checked
    before any work (UsadelError). A non-finite current raises ConvergenceError.
    """
    from .budget import MEMORY_BUDGET, gib as _gib
    from .matsubara import BYTES_PER_POINT

    T = real("supercurrent: T", T, positive=True)
    n_head = integer("supercurrent: n_head", n_head, lo=1, hi=MAX_POINTS)
    rtol = real("supercurrent: rtol", rtol, positive=True, hi=0.1)
    _check_device("supercurrent", device)
    delta_weights(device, delta)  # the gap: scalar, {region: value} or per node, checked before any work
    if tag is None:
        if not device.contacts:
            raise UsadelError("supercurrent: the device has no contacts")
        tag = next(iter(device.contacts))
    tags = list(device.mesh.boundaries or {})
    if not isinstance(tag, str) or tag not in tags:
        raise UsadelError(f"supercurrent: tag must be a boundary tag of the mesh {tags}, got {tag!r}")
    need = (max(n_head, 256) + 98) * device.topology.n_nodes * BYTES_PER_POINT
    if need > MEMORY_BUDGET:
        raise UsadelError(f"supercurrent: {max(n_head, 256) + 98} Matsubara energies on {device.topology.n_nodes} "
                          f"nodes need about {_gib(need)}, over the memory budget of {_gib(MEMORY_BUDGET)}; "
                          f"lower n_head or use a coarser mesh")
    f = matsubara_current(device, delta, tag)
    return _matsubara_sum(f, T, n_head, rtol, device.operators.thouless_energy, tag)


def current_flux(device, tag):
    """The flux weight of the matrix current: ``flux(sp)`` = Int sigma (g grad g)_11 . grad w dx per energy.

    w is the P1 flux weight of ``tag`` on the mesh's vertices (:func:`usadel.fem.flux_weight`), so that
    -Int j . grad w dx is the current into the device through ``tag`` (:func:`supercurrent`). Returns a
    function of a :class:`usadel.SpectralResult` of ``device`` giving a complex array (n_E,), the spin
    average if the result is spin split. Order 1: the P1 element (centroid) values; order p > 1 (1D wires):
    the Lagrange solution and its derivatives at the Gauss points of the mesh's elements
    (``usadel.chain_dofs.ChainDofs`` of ``device.coarse``), as accurate as the solution itself.
    The Matsubara current integrand is Im of it; the real-axis one, -Re of it times tanh(E/2T).
    """
    if getattr(device, "order", 1) == 1:
        ops = device.operators
        _, gw = ops.element_values(flux_weight(ops, tag))
        weight = (ops.sigma_e * ops.vol)[:, None] * gw
        return lambda sp: np.einsum("wed,ed->w", sp.matrix_current(), weight)
    if device.mesh.p.shape[0] == 2:  # P2/P3 triangles
        from .highorder_tri import current_flux as tri_flux
        return tri_flux(device, tag)
    from .chain_dofs import ChainDofs

    ops = device.coarse.operators
    dofs = ChainDofs(device.coarse, device.order)
    _, gw = ops.element_values(flux_weight(ops, tag))
    # sigma dw/dx |dx/dxi| w_q per element and Gauss point
    weight = (ops.sigma_e * gw[:, 0])[:, None] * np.abs(dofs.jac)[:, None] * dofs.element.wq[None, :]
    node = device.dof_node

    def flux(sp):
        out = [_lagrange_flux(dofs, weight, b.gamma[:, node], b.gamma_t[:, node])
               for b in ((sp.block(1), sp.block(-1)) if sp.spin_split else (sp,))]
        return sum(out) / len(out)
    return flux


def _lagrange_flux(dofs, weight, g, gt):
    gq, dg = dofs.at_quadrature(g)
    tq, dt = dofs.at_quadrature(gt)
    return np.einsum("weq,eq->w", 2.0 * (gq * dt - tq * dg) / (1.0 + gq * tq) ** 2, weight)


def matsubara_current(device, delta, tag):
    """The current integrand f(w) = Im :func:`current_flux` at i w, for an array of frequencies w > 0.

    One batched Newton solve from the local bulk guess (``spectral(..., method="direct")``, which redoes
    by the eta-homotopy every frequency that fails or leaves the retarded branch: |gamma| <= 1, Re g_11
    >= 0); then the lowest frequency, the one nearest the real axis where other branches live (P1 on
    100 elements: a direct Newton there found |gamma| = 1.03), is solved by the homotopy as well, and
    if the two differ by more than ``MATSUBARA_CHECK_TOL`` every frequency is redone by the homotopy
    (tests/test_supercurrent_order.py: direct = homotopy to 1e-8 at every frequency of low-T sums).
    """
    flux = current_flux(device, tag)

    def f(omega):
        E = 1j * np.asarray(omega, dtype=float)
        sp = spectral(device, E, delta=delta, eta=0.0, method="direct")
        k = int(np.argmin(omega))
        ref = spectral(device, E[k:k + 1], delta=delta, eta=0.0, method="homotopy")
        diff = max(np.max(np.abs(a[k] - b[0])) for a, b in ((sp.gamma, ref.gamma), (sp.gamma_t, ref.gamma_t)))
        if sp.spin_split:
            diff = max(diff, np.max(np.abs(sp.gamma_dn[k] - ref.gamma_dn[0])),
                       np.max(np.abs(sp.gamma_t_dn[k] - ref.gamma_t_dn[0])))
        if not np.isfinite(diff) and not (np.all(np.isfinite(ref.gamma)) and np.all(np.isfinite(ref.gamma_t))):
            raise ConvergenceError(f"supercurrent: non-finite current: the homotopy's solution at w = {omega[k]:.6g} "
                                   f"is not finite")
        if not diff <= MATSUBARA_CHECK_TOL:
            log.warning("supercurrent: direct Newton at w = %.3g differs from the homotopy by %.2e; all %d "
                        "frequencies redone by the homotopy", omega[k], diff, E.size)
            sp = spectral(device, E, delta=delta, eta=0.0, method="homotopy")
        return np.imag(flux(sp))
    return f


def _matsubara_sum(f, T, n_head, rtol, e_th, tag):
    """2 pi T sum_{n >= 0} f(w_n): ``n_head`` explicit terms, the rest a Gauss-Legendre integral plus the
    Euler-Maclaurin correction (:func:`supercurrent`); the first solve holds the head, the slope's two
    points and the 32- and 64-point quadratures."""
    h = 2 * np.pi * T
    wn = np.pi * T * (2 * np.arange(n_head) + 1)
    a = wn[-1] + np.pi * T
    d = 0.25 * h
    c = max(a, e_th)

    def nodes(npts):
        s, ws = np.polynomial.legendre.leggauss(npts)
        s, ws = 0.5 * (s + 1), 0.5 * ws
        return a + c * (s / (1 - s)) ** 2, ws * c * 2 * s / (1 - s) ** 3

    (o32, w32), (o64, w64) = nodes(32), nodes(64)
    vals = f(np.concatenate([wn, [a + d, a - d], o32, o64]))
    terms, fp = vals[:n_head], (vals[n_head] - vals[n_head + 1]) / (2 * d)
    tails = {32: np.sum(w32 * vals[n_head + 2:n_head + 34]), 64: np.sum(w64 * vals[n_head + 34:])}
    head, floor = h * terms.sum(), h * np.abs(terms).sum()  # floor: the terms' scale, for a vanishing current
    prev = None
    for npts in (32, 64, 128, 256):
        if npts not in tails:
            om, ws = nodes(npts)
            tails[npts] = np.sum(ws * f(om))
        tail = tails[npts]
        if not (np.isfinite(head) and np.isfinite(tail) and np.isfinite(fp)):
            raise ConvergenceError(f"supercurrent: non-finite current through {tag!r} at T = {T} (explicit sum "
                                   f"{head!r} over {n_head} frequencies, tail {tail!r} with {npts} points, "
                                   f"Euler-Maclaurin slope {fp!r})")
        if prev is not None and (abs(tail - prev) <= rtol * max(abs(head + tail), 1e-300)
                                 or npts == 256 and abs(tail - prev) <= rtol * floor):  # (the latter used to raise)
            return head + tail + h * h / 24 * fp
        change = None if prev is None else abs(tail - prev)
        prev = tail
    raise ConvergenceError(f"supercurrent: tail integral not converged (last change {change:.3g}, T = {T})")


def minigap(device, point, delta=0.0, e_max=None, threshold=1e-3, tol=1e-5, eta=1e-9):
    """Spectral gap at ``point``: the lowest E where N(point, E) exceeds ``threshold``.

    Bracketed on a grid up to ``e_max`` (default: the largest reservoir gap or
    10 Thouless energies of the device), then bisected to ``tol``. The DOS
    rises like sqrt(E - E_g) at the edge, so the threshold biases E_g by
    ~threshold^2 in units of the edge curvature, negligible at 1e-3.

    ``point`` is one point inside the mesh (shape (dim,)); e_max, threshold and
    tol must be positive, eta >= 0 (UsadelError before any work). The bisection
    stops after ``MAX_BISECTIONS`` rounds or where floats cannot split the
    bracket any further (a tol below the float resolution of E_g).
    """
    e_max = real("minigap: e_max", e_max, positive=True, allow_none=True)
    threshold = real("minigap: threshold", threshold, positive=True)
    tol = real("minigap: tol", tol, positive=True)
    eta = real("minigap: eta", eta, nonnegative=True)
    _check_device("minigap", device)
    dim = device.topology.dim
    pt = real_array("minigap: point", point)
    if pt.shape not in ((dim,), (1, dim)) and not (dim == 1 and pt.shape == ()):
        raise UsadelError(f"minigap: point must be one point of shape ({dim},), got shape {pt.shape}")
    pt = pt.reshape(1, dim)
    from .fem import locate

    locate(device, pt)  # inside the mesh
    delta_weights(device, delta)
    if e_max is None:
        e_max = max([10 * device.operators.thouless_energy] + [r.delta for r in device.contacts.values()])
    dos = lambda E: spectral(device, np.atleast_1d(E), delta=delta, eta=eta).at(pt)[:, 0]
    grid = np.linspace(0, e_max, 41)
    N = dos(grid)
    above = np.nonzero(N > threshold)[0]
    if above.size == 0:
        raise UsadelError(f"minigap: DOS stays below {threshold} up to e_max = {e_max}")
    if above[0] == 0:
        return 0.0
    lo, hi = grid[above[0] - 1], grid[above[0]]
    for _ in range(MAX_BISECTIONS):  # 8-fold per round; stops where floats cannot split the bracket
        if hi - lo <= tol:
            break
        mids = np.linspace(lo, hi, 9)[1:-1]
        if not (lo < mids[0] and mids[-1] < hi):
            log.info("minigap: bracket [%r, %r] at float resolution, above tol = %g", lo, hi, tol)
            break
        Nm = dos(mids)
        k = np.argmax(Nm > threshold) if (Nm > threshold).any() else mids.size
        lo = mids[k - 1] if k > 0 else lo
        hi = mids[k] if k < mids.size else hi
    return 0.5 * (lo + hi)


def energy_grid(delta=0.0, T=None, e_max=None, n=200, e_th=None, mu=()):
    """Nonnegative energy grid that integrals can trust without hand tuning.

    Dense near 0 (minigaps, thermal window), graded towards every gap edge in
    ``delta`` (a value or a list; points cluster as sqrt(E - Delta) above the
    edge and symmetrically below), with a geometric tail up to ``e_max``
    (default 10 max(Delta, T, E_Th)), and dense thermal windows |E - |mu|| < 12 T
    around every reservoir potential in ``mu``. Returns a sorted array without
    the edges themselves (the BCS DOS diverges there).

    Checked before any work (UsadelError naming the argument): ``delta`` finite
    and >= 0, T and e_th finite and >= 0 (0 or None: no such scale), e_max > 0,
    20 <= n <= MAX_POINTS, ``mu`` finite.
    """
    d_arr = real_array("energy_grid: delta", delta, nonempty=False).ravel()
    if np.any(d_arr < 0):
        raise UsadelError(f"energy_grid: delta must be >= 0 (gap magnitudes), got {d_arr[d_arr < 0][:3].tolist()}")
    T = real("energy_grid: T", T, nonnegative=True, allow_none=True)
    e_th = real("energy_grid: e_th", e_th, nonnegative=True, allow_none=True)
    e_max = real("energy_grid: e_max", e_max, positive=True, allow_none=True)
    n = integer("energy_grid: n", n, lo=20, hi=MAX_POINTS)
    mu = real_array("energy_grid: mu", mu, nonempty=False).ravel()
    if mu.size * max(16, n // 8) + n > MAX_POINTS:
        raise UsadelError(f"energy_grid: {mu.size} potentials x {max(16, n // 8)} points each exceed "
                          f"{MAX_POINTS} energies")
    if mu.size and not T:
        raise UsadelError("energy_grid: mu needs the temperature T > 0 (the width of its thermal window)")
    deltas = sorted({float(d) for d in d_arr if d > 0})
    scales = [d for d in deltas] + ([T] if T else []) + ([e_th] if e_th else [])
    if not scales:
        raise UsadelError("energy_grid: give at least one of delta > 0, T or e_th")
    if e_max is None:
        e_max = 10 * max(scales)
        if not e_max <= MAX_ABS:
            raise UsadelError(f"energy_grid: the default e_max = 10 x {max(scales):.3g} is out of range")
    low = max(scales) if not deltas else deltas[0]
    pts = [low * np.linspace(0, 1, n // 4, endpoint=False) ** 1.5]  # dense near 0
    edges = deltas + [e_max]
    per = max(8, (n - n // 4) // (2 * len(deltas) + 1)) if deltas else n - n // 4
    prev = 0.0
    for a in deltas:
        s = np.linspace(0, 1, per, endpoint=False)[1:]
        pts.append(a - (a - prev) * s**3)  # below the edge, clustered at a (cubic: resolves eta-rounded peaks)
        nxt = edges[edges.index(a) + 1]
        pts.append(a + (nxt - a) * s**3)  # above the edge, clustered at a
        prev = a
    tail0 = deltas[-1] if deltas else low
    pts.append(np.geomspace(max(tail0, 1e-12) * 1.5, e_max, per))
    # thermal windows around the reservoir potentials (|mu|, both signs fold onto E >= 0)
    for m in mu:
        pts.append(abs(m) + 12 * T * np.linspace(-1, 1, max(16, n // 8)) ** 3)
    E = np.unique(np.concatenate(pts))
    return E[(E >= 0) & (E <= e_max) & ~np.isin(E, deltas)]
