r"""Gap self-consistency (seed Eq. 8), in and out of equilibrium: gap(), delta_of_T, the outer loop.

    Delta ln(Tc0/T) = 2 pi T sum_{w_n > 0} [Delta/w_n - f_n] - delta_neq

(``docs/conventions.md``, Gap equation). The pieces live in their own modules:

- ``usadel.matsubara``: the equilibrium map G(Delta) on the Matsubara axis (pair
  sums, automatic cutoff, band quadrature at low T, nonlinear tail, its exact
  Jacobian), ``usadel.linear_response``: its exact linear tail;
- ``usadel.nonequilibrium``: delta_neq from the real axis on a grid co-moving
  with the gap (``gap(hL=...)`` and ``usadel.solve``);
- ``usadel.nonlinear``: Newton-Krylov and safeguarded Anderson acceleration;
- ``usadel.stability``: the growth rate of small gaps where the result is normal,
  and the restart along a growing mode;
- ``usadel.tc``: the critical temperature from the linearised equation;
- ``usadel.highorder_gap``: the map on order 2-4 wires (``HighOrderGapMap``: Delta the order-p field of
  its dof values, the gap equation collocated at the dofs, the order-p tail and Jacobian).

:func:`converge` is the one outer loop that :func:`gap` and ``usadel.solve`` run:
Newton-Krylov with exact Jacobian-vector products on the equilibrium map (~5
outer iterations at S/N interfaces), or Anderson acceleration on Delta(x), with
the equilibrium Jacobian as preconditioner for the nonequilibrium map (plain
fixed point is far too slow near Tc); every spectral solve is warm-started from
the previous iteration. The converged result is checked for stability where it
is normal and against Matsubara solutions continued from large w (a warm start
can follow a wrong root); every argument is checked before any numerical work.
"""

import inspect
import logging
from dataclasses import dataclass, field

import numpy as np

from .device import Device
from .errors import ConvergenceError, UsadelError
from .highorder_gap import HighOrderGapMap
from .matsubara import GapMap
from .exchange import spin_split
from .nonequilibrium import NonequilibriumMap, comoving_grid
from .nonlinear import anderson, gmres_step, newton_krylov
from .stability import stable_solution
from .validate import callable_or_none, choice, integer, real, real_array
from .results import ResultMixin
from . import progress

__all__ = ["gap", "GapResult", "delta_of_T", "gap_map", "converge", "loop_args", "node_array", "energy_array", "MAX_ITER"]

log = logging.getLogger(__name__)

#: largest accepted maxiter (every outer loop is bounded by it)
MAX_ITER = 100_000
#: gap(hL=...) calls hL on HL_PROBE_POINTS energies from HL_PROBE[0] T to HL_PROBE[1] T before any work
HL_PROBE = (1e-3, 1e3)
HL_PROBE_POINTS = 16


@dataclass(repr=False)
class GapResult(ResultMixin):
    """Self-consistent gap.

    Attributes
    ----------
    delta : (n_nodes,) complex gap per node (0 in normal metals)
    T : temperature
    iterations : outer iterations used
    history : residual norm (max |G(Delta) - Delta|) per iteration
    n_matsubara : number of Matsubara frequencies solved: the explicit ones, plus at low T
        the quadrature nodes of the band up to the cutoff (``usadel.matsubara``)
    spectral : the Matsubara SpectralResult at the solution
    normal_growth : linear growth rate of small gaps where the solution is normal,
        in ln(Tc/T) units (< 0: that normal state is stable), None if it is
        nowhere normal or unchecked (see ``usadel.stability.normal_state_growth``)
    """

    device: Device
    delta: np.ndarray
    T: float
    iterations: int
    history: list
    n_matsubara: int
    spectral: object = field(repr=False, default=None)
    normal_growth: float = None

    @property
    def x(self):
        return self.device.topology.p.T

    def at(self, points):
        from .fem import locate

        el, bary = locate(self.device, np.atleast_2d(points))
        t = self.device.topology.t
        return np.einsum("ke,ke->e", self.delta[t[:, el]], bary)


def converge(name, T, prob, fun, d0, **kw):
    """The outer loop of the gap equation (see :func:`_converge`), with a progress bar of its maps."""
    counted = progress.counted(fun, f"{name} (T = {T}): outer maps")
    try:
        return _converge(name, T, prob, counted, d0, **kw)
    finally:  # also when it raises: no bar left open
        getattr(counted, "close", lambda: None)()


def _converge(name, T, prob, fun, d0, *, tol, maxiter, check_normal, newton, exact_jacobian, failure,
              hint=None, after_run=None):
    """The outer loop of the gap equation: Delta = fun(Delta)[0] from ``d0``; returns (Delta, history, extra, growth).

    ``prob``: the Matsubara map (``usadel.matsubara.GapMap``); ``d0`` is set to 0 off ``prob.sc``; ``fun(x)`` ->
    (G(x), Matsubara solution): ``prob.update`` itself, or a map built on it.
    With ``newton`` (and the Jacobian factorisations within
    ``usadel.matsubara.MAX_NEWTON_STORAGE``) the map's exact Jacobian drives
    Newton-Krylov if it is the Jacobian of ``fun`` (``exact_jacobian``), else it
    preconditions Anderson; otherwise plain Anderson. Convergence: max|G - Delta|
    < ``tol`` x the largest Tc0, in at most ``maxiter`` maps per run. A normal
    result is checked for stability (``check_normal``, ``usadel.stability``),
    and one that the warm-started Matsubara solves reached on a wrong branch is
    iterated again with cold starts. ``after_run()`` is called after each run
    (before the stability check's extra maps). If it does not converge:
    ConvergenceError with ``failure`` (the message's start), a note if the
    residual became non-finite, the history and ``hint(history)``; a non-finite
    result raises too. ``growth``: ``GapResult.normal_growth``.
    """
    scale = prob.tc_max
    use_jacobian = newton and prob.newton_fits()
    if use_jacobian and exact_jacobian:
        run = lambda x0: newton_krylov(fun, prob.jacobian, x0, tol * scale, maxiter, prob.sc)
    else:
        pre = (lambda x, r, msp: gmres_step(prob.jacobian(x, msp), r, prob.sc)) if use_jacobian else None
        run = lambda x0: anderson(fun, x0, tol * scale, maxiter, precondition=pre)
    if after_run is not None:
        bare = run

        def run(x0):
            out = bare(x0)
            after_run()
            return out

    G = lambda x: fun(x)[0]
    where = f"{name} (T = {T})"
    # Delta is 0 off the superconducting nodes, which the loop never updates (``mask``): a start there would
    # stay in the residual for ever (a uniform delta0 on an S/N bilayer stalled at 3e-1)
    d0 = np.where(prob.sc, d0, 0.0)
    d, hist, ok, extra, growth = stable_solution(run, G, d0, prob, check_normal, where)
    if ok and (jump := prob.branch_error(d)) > tol * scale:
        log.warning("%s: the warm-started Matsubara solutions left the physical branch (pair sum off by "
                    "%.2e at the result); iterating again with every solve continued from large w", where, jump)
        prob.cold = True
        d, h2, ok, extra, growth = stable_solution(run, G, d, prob, check_normal, where)
        hist = hist + h2
    if not ok:
        note = " (the residual became non-finite: NaN or inf)" if any(not np.isfinite(h) for h in hist) else ""
        raise ConvergenceError(f"{failure}{note}; residual history {['%.2e' % h for h in hist]}"
                               f"{hint(hist) if hint else ''}", history=hist, residuals=np.array(hist))
    bad = np.nonzero(~np.isfinite(d))[0]
    if bad.size:
        raise ConvergenceError(f"{name}: the self-consistent Delta is not finite at {bad.size} nodes "
                               f"(e.g. {bad[:5].tolist()}) at T = {T}, after {len(hist)} outer iterations; "
                               f"residual history {['%.2e' % h for h in hist]}", history=hist, residuals=np.array(hist))
    return d, hist, extra, growth


def gap(device, T, *, delta0=None, tol=1e-8, maxiter=60, cutoff=60.0, n_matsubara=None, neq=None,
        hL=None, u_grid=None, eta=1e-6, omega_D=None, method="newton", check_normal=True):
    """Self-consistent Delta(x) at temperature T (equilibrium unless ``neq`` or ``hL`` is given).

    Parameters
    ----------
    device : Device
        With an exchange field several solutions coexist at low T: compare :func:`usadel.free_energy`.
    T : float
        Temperature, > 0 (any T: at low T the Matsubara sum up to the cutoff is a
        band quadrature, ``usadel.matsubara``).
    delta0 : array or None
        Starting gap per node, shape (n_nodes,), finite (default: the bulk gap of each material);
        ignored (taken as 0) off the superconducting nodes, ``GapMap.sc``, where Delta is no unknown.
    tol : float
        Convergence on max |G(Delta) - Delta|, in units of the largest Tc0; > 0.
    maxiter : int
        Outer iterations at most, >= 1.
    cutoff : float
        Matsubara cutoff in units of max(Tc0, E_Th, reservoir gaps) (exact tail beyond); > 0,
        and the sum must reach 2 x the largest gap or pair-breaking scale (``MIN_CUTOFF_RATIO``).
    n_matsubara : int or None
        Explicit Matsubara frequencies instead of the cutoff (>= 1; within the memory budget and the same reach).
    neq : array or None
        A fixed nonequilibrium correction delta_neq per node (or one value for all).
    hL : callable or None
        Prescribed distribution ``hL(E)`` -> shape (n_E,) or (n_E, n_nodes), finite:
        delta_neq is recomputed from the real-axis F^R(E; Delta) at every outer
        iteration, on the energies E = max|Delta| u (``u_grid``, default
        ``usadel.nonequilibrium.comoving_grid``); checked on a few energies first.
        With an exchange field it is a spin-independent distribution (hTS = 0);
        ``usadel.solve`` pairs each spin block with the kinetic hL + s hTS.
    eta : float
        Dynes broadening of the real-axis solves, in units of the grid's scale (``hL`` only).
    omega_D : float or None
        Debye energy: regulate the pairing interaction instead of the cutoff-free form
        (``usadel.matsubara``). Needed where omega_D matters (Cooper limit).
    method : "newton" or "anderson"
        Equilibrium outer iteration: Newton-Krylov with exact Jacobian-vector products
        (when the factorisations fit in memory, else Anderson), or Anderson (m = 20).
        With ``hL``, Anderson preconditioned by the equilibrium Jacobian ("newton") or plain.
    check_normal : bool
        Where the solution is normal (|Delta| < 1e-3 Tc0) in a superconductor, check that
        small gaps there shrink (``usadel.stability``); if they grow, restart once along
        the growing mode, and raise if that fails too. The rate is ``GapResult.normal_growth``.

    Raises
    ------
    UsadelError
        For an invalid argument (naming it, before any work), or a request beyond the
        memory budget / ``MAX_REAL_ENERGIES`` (stating the size it would need).
    ConvergenceError
        With the residual history if the outer iteration does not converge in
        ``maxiter``, or if the result is not finite.
    """
    T, tol, maxiter, cutoff, eta, check_normal = loop_args("gap", device, T, tol, maxiter, cutoff, eta, check_normal)
    n = device.topology.n_nodes
    n_matsubara = integer("gap: n_matsubara", n_matsubara, lo=1, allow_none=True)
    omega_D = real("gap: omega_D", omega_D, positive=True, allow_none=True)
    method = choice("gap: method", method, ("newton", "anderson"))
    hL = callable_or_none("gap: hL", hL)
    delta0 = None if delta0 is None else node_array("gap: delta0", delta0, n)
    neq = None if neq is None else _neq_array(neq, n)
    u_grid = None if u_grid is None else energy_array("gap: u_grid", u_grid)
    if hL is not None:  # shape and values, before any work
        _hL_values("gap: hL", hL, np.geomspace(HL_PROBE[0] * T, HL_PROBE[1] * T, HL_PROBE_POINTS), n)
    prob = gap_map(device, T, cutoff, n_matsubara, omega_D)
    d0 = prob.initial_delta() if delta0 is None else delta0
    if hL is not None:
        u = comoving_grid() if u_grid is None else u_grid
        fun = NonequilibriumMap(prob, T, lambda E, sp: _hL_values("gap: hL", hL, E, n), u, eta,
                                deviations=[lambda E: _hL_values("gap: hL", hL, E, n) - np.tanh(E / (2 * T))[:, None]],
                                comoving_edges=u_grid is None and spin_split(device))
    else:
        fun = lambda d, neq_arr=0.0 if neq is None else neq: prob.update(d, neq_arr)
    d, hist, sp, growth = converge(
        "gap", T, prob, fun, d0, tol=tol, maxiter=maxiter, check_normal=check_normal, newton=method == "newton",
        exact_jacobian=hL is None, failure=f"gap: the outer iteration did not converge in {maxiter} steps at T = {T}")
    return GapResult(device=device, delta=d, T=T, iterations=len(hist), history=hist, n_matsubara=prob.N, spectral=sp,
                     normal_growth=growth)


_GAP_KEYWORDS = tuple(k for k, p in inspect.signature(gap).parameters.items() if p.kind is p.KEYWORD_ONLY)


def delta_of_T(device, temperatures, **kw):
    """Self-consistent Delta(x) along a list of temperatures (warm-started).

    ``kw`` are passed to :func:`gap` (a ``delta0`` there starts the first
    temperature); every temperature is checked before the first solve.
    """
    if not isinstance(device, Device):
        raise UsadelError(f"delta_of_T: expected a usadel.Device, got {type(device).__name__}")
    temps = real_array("delta_of_T: temperatures", temperatures, ndim=1)
    if np.any(temps <= 0):
        raise UsadelError(f"delta_of_T: temperatures must be positive, got {temps[temps <= 0][:3].tolist()}")
    unknown = sorted(set(kw) - set(_GAP_KEYWORDS))
    if unknown:
        raise UsadelError(f"delta_of_T: unknown keyword argument(s) {unknown}; gap() takes {list(_GAP_KEYWORDS)}")
    out = []
    d0 = kw.pop("delta0", None)
    with progress.bar(total=temps.size, desc="delta_of_T", unit="T") as bar:
        for T in temps.tolist():
            r = gap(device, T, delta0=d0, **kw)
            out.append(r)
            bar.update()
            d0 = r.delta if np.max(np.abs(r.delta)) > 0 else None
    return out


# ---------------------------------------------------------------------------- argument checks


def gap_map(device, T, cutoff, n_matsubara, omega_D=None, where="gap"):
    """The Matsubara map of ``device``'s element order: ``usadel.matsubara.GapMap`` (P1) or
    ``usadel.highorder_gap.HighOrderGapMap`` (order 2-4 wires)."""
    return (GapMap if device.order == 1 else HighOrderGapMap)(device, T, cutoff, n_matsubara, omega_D, where)


def loop_args(where, device, T, tol, maxiter, cutoff, eta, check_normal):
    """The arguments gap() and solve() share, checked (device type included) before any work (the element
    order: by the Matsubara map, ``usadel.matsubara.GapMap`` or ``usadel.highorder_gap.HighOrderGapMap``)."""
    T = real(f"{where}: T", T, positive=True)
    tol = real(f"{where}: tol", tol, positive=True)
    maxiter = integer(f"{where}: maxiter", maxiter, lo=1, hi=MAX_ITER)
    cutoff = real(f"{where}: cutoff", cutoff, positive=True)
    eta = real(f"{where}: eta", eta, nonnegative=True)
    if not isinstance(check_normal, (bool, np.bool_)):
        raise UsadelError(f"{where}: check_normal must be True or False, got {check_normal!r} "
                          f"({type(check_normal).__name__})")
    if not isinstance(device, Device):
        raise UsadelError(f"{where}: expected a usadel.Device, got {type(device).__name__}")
    return T, tol, maxiter, cutoff, eta, bool(check_normal)


def node_array(name, value, n):
    """One (complex) finite value per node."""
    arr = real_array(name, value, allow_complex=True)
    if arr.shape != (n,):
        raise UsadelError(f"{name} must hold one value per node, shape ({n},), got shape {arr.shape}")
    return arr.astype(complex)


def energy_array(name, value):
    """Increasing energies E >= 0 (1D, at least two)."""
    E = real_array(name, value, ndim=1)
    if E.size < 2 or np.any(E < 0) or np.any(np.diff(E) <= 0):
        raise UsadelError(f"{name} must be at least two increasing energies >= 0")
    return E


def _neq_array(neq, n):
    """delta_neq: a scalar (every node) or one value per node."""
    if np.ndim(neq) == 0:
        return complex(real_array("gap: neq", neq, allow_complex=True)[()])
    return node_array("gap: neq", neq, n)


def _hL_values(name, hL, E, n):
    """hL(E) as an (n_E, 1) or (n_E, n) float array, or a UsadelError naming ``name``."""
    h = hL(E)
    arr = np.asarray(h) if not isinstance(h, np.ndarray) else h
    if arr.dtype.kind in "biufc" and arr.shape[:1] == (E.size,):
        bad = ~np.all(np.isfinite(arr.reshape(E.size, -1)), axis=1)
        if bad.any():
            raise UsadelError(f"{name}(E) returned non-finite values (NaN or inf) at {int(bad.sum())} of {E.size} "
                              f"energies, e.g. E = {E[bad][:3].tolist()}")
    arr = real_array(f"{name}(E)", h)
    if arr.ndim == 1 and arr.shape == (E.size,):
        return arr[:, None]
    if arr.ndim == 2 and arr.shape[0] == E.size and arr.shape[1] in (1, n):
        return arr
    raise UsadelError(f"{name}(E) must return shape ({E.size},) or ({E.size}, {n}) (energies, or energies x nodes) "
                      f"for {E.size} energies, got shape {arr.shape}")
