r"""Homogeneous (bulk) physics shared by the solvers: numpy only, no mesh, no Device.

Everything here is a pointwise function of energies, Riccati amplitudes or
reservoir parameters, so every solver (retarded, kinetic, gap, transport) and
every boundary condition reads the same formulas:

- bulk BCS Riccati amplitudes (:func:`bulk_gamma`), the retarded branch of
  tanh(th/2) = sqrt(-gamma gamma~) (:func:`riccati_sqrt`), the coarse test that a
  solution is on the retarded branch (:func:`on_retarded_branch`) and the check
  for energies on a reservoir's gap edge (:func:`check_gap_edges`);
- reservoir distributions (:func:`fermi`, :func:`reservoir_h`, the check of a
  prescribed distribution, :func:`prescribed_distribution`) and the energy
  windows an integration grid must sample where reservoirs differ
  (:func:`check_windows`);
- the retarded and advanced Nambu matrices (:func:`retarded_matrix`,
  :func:`advanced_matrix`) and the traces of the Keldysh tunnel matrix current
  (:func:`tunnel_flux_matrices`), the retarded tunnel flux of the Riccati
  amplitudes (:func:`riccati_barrier`), and the zero-current condition of a normal
  tunnel probe (:func:`probe_zero_current`).

Conventions (signs, the definitions of hL, hT, hLS, hTS) are those of
``docs/conventions.md``; the tunnel boundary condition is derived in
``docs/derivations.md`` (Kinetic boundary conditions).
"""

import numpy as np

from .errors import UsadelError
from .quadrature import RTOL

__all__ = ["TAU3", "COMPONENTS", "SPIN_BLOCKS", "bulk_gamma", "riccati_sqrt", "on_retarded_branch", "check_gap_edges",
           "riccati_barrier", "fermi", "reservoir_h", "prescribed_distribution", "check_windows", "retarded_matrix",
           "advanced_matrix", "tunnel_flux_matrices", "probe_zero_current"]

TAU3 = np.diag([1.0, -1.0]).astype(complex)

#: the four kinetic distribution components, in the order of every (..., 4) array
COMPONENTS = ("L", "T", "LS", "TS")
#: spin block s = +-1 carries the Nambu distribution (hL + s hTS) 1 + (hT + s hLS) tau3:
#: entry j is (spin-even, spin-odd) component index of Nambu component j (0: 1, 1: tau3)
SPIN_BLOCKS = ((0, 3), (1, 2))

BRANCH_TIE_RTOL = 1e-14  #: |eps + s| = |eps - s| to rounding: both branches on |gamma| = 1 (real axis below the gap)
OCCUPATION_SLACK = 1e-12  #: rounding slack of a prescribed occupation number outside [0, 1]
PHYSICAL_SLACK = 1e-2  #: slack of |gamma| <= 1 and DOS >= 0: O(h^2) discretisation error; wrong branches are O(1) off
GAP_EDGE_RTOL = 1e-12  #: with eta = 0, energies this close (relative) to a reservoir gap edge are rejected
PROBE_GRID_STEP = 0.01  #: probe_zero_current: fine energy grid step in units of the probe temperature
PROBE_MARGIN = 10.0  #: probe_zero_current: mu_P is bracketed within the grid minus this many probe temperatures
PROBE_XTOL, PROBE_RTOL = 1e-14, 1e-12  #: probe_zero_current: root tolerances (absolute x max(1, T), relative)
WINDOW_REACH = 1e4  #: check_windows: reservoirs compared up to this multiple of their largest energy scale
WINDOW_LOW = 1e-6  #: check_windows: lowest energy of the logarithmic comparison grid, relative to its top
WINDOW_SAMPLES = 4000  #: check_windows: samples of each (log and linear) comparison grid
WINDOW_LEVEL = 1e-2  #: check_windows: a distribution difference counts above this fraction of rtol
EDGE_POINTS, EDGE_WIDTH = 3, 3.0  #: check_windows: energies needed within EDGE_WIDTH temperatures of a Fermi edge


def bulk_gamma(eps, delta):
    r"""Riccati amplitudes of a homogeneous BCS superconductor.

    .. math:: \gamma = -\frac{|\Delta| e^{i\phi}}{\epsilon + s},\quad
              \tilde\gamma = \frac{|\Delta| e^{-i\phi}}{\epsilon + s},\quad
              s = \sqrt{\epsilon^2 - |\Delta|^2}

    on the branch with :math:`|\gamma| \le 1` (``docs/conventions.md``, Bulk BCS).

    Parameters
    ----------
    eps : array_like
        Complex energies E + i eta, Im >= 0.
    delta : array_like
        Complex gap |Delta| e^{i phi}; broadcasts with ``eps``.

    Returns
    -------
    gamma, gamma_t : ndarray
        gamma and gamma~; both 0 where Delta = 0.
    """
    eps = np.asarray(eps, dtype=complex)
    delta = np.asarray(delta, dtype=complex)
    a = np.abs(delta)
    s = np.sqrt(eps * eps - a * a)
    # the branch with |gamma| <= 1; on the real axis below the gap (eta = 0) both have
    # |gamma| = 1 and the retarded one is the limit from the upper half plane, Im s > 0
    # (the sign of a zero imaginary part of eps^2 would otherwise pick the advanced one at E < 0)
    p, m = np.abs(eps + s), np.abs(eps - s)
    tie = np.abs(p - m) <= BRANCH_TIE_RTOL * (p + m)
    s = np.where(np.where(tie, np.imag(s) >= 0, p >= m), s, -s)
    with np.errstate(invalid="ignore", divide="ignore"):
        g0 = np.where(a > 0, -a / (eps + s), 0.0)
        ph = np.where(a > 0, delta / np.where(a > 0, a, 1.0), 1.0)
    return g0 * ph, -g0 * np.conj(ph)


def riccati_sqrt(g, gt):
    r"""tanh(th/2) = sqrt(-gamma gamma~) on the branch of the seed's angle th.

    With gamma = tanh(th/2) e^{i chi}, gamma~ = -tanh(th/2) e^{-i chi}, the pair
    (th, chi) is defined up to (th, chi) -> (-th, chi + pi); the branch returned
    has Re(s conj(gamma)) >= 0, i.e. Re chi in (-pi/2, pi/2], which is the seed's
    th for devices without phase differences (chi = 0). Then cosh th =
    (1 + s^2)/(1 - s^2) and sinh th = 2 s/(1 - s^2) (seed Eq. 3).

    Parameters
    ----------
    g, gt : ndarray
        Riccati amplitudes gamma, gamma~ (same shape).

    Returns
    -------
    ndarray
        s = tanh(th/2), complex.
    """
    s = np.sqrt(-g * gt + 0j)
    return np.where(np.real(s * np.conj(g)) >= 0, s, -s)


def on_retarded_branch(g, gt, slack=PHYSICAL_SLACK):
    """Coarse retarded-branch test per energy: |gamma|, |gamma~| <= 1 and Re cosh th >= 0.

    The slack absorbs the O(h^2) discretisation error of these bounds
    (measured: min DOS -3e-4 below an SNS minigap with 200 elements); wrong
    Newton branches violate them by O(1) (``docs/derivations.md``, Selecting
    the retarded branch).

    Parameters
    ----------
    g, gt : ndarray
        gamma, gamma~ of shape (n_E, n_nodes).
    slack : float
        Tolerance of the bounds.

    Returns
    -------
    ndarray
        (n_E,) bool.
    """
    p = g * gt
    dos = np.real((1.0 - p) / (1.0 + p))
    return (np.all(np.abs(g) <= 1 + slack, axis=1) & np.all(np.abs(gt) <= 1 + slack, axis=1)
            & np.all(dos >= -slack, axis=1) & np.all(np.isfinite(p), axis=1))


def check_gap_edges(contacts, E, eta):
    """Reject real energies on a reservoir's gap edge when eta = 0.

    There the BCS functions diverge (1 + gamma gamma~ = 0 at |E| = Delta).

    Parameters
    ----------
    contacts : dict
        {tag: Reservoir}.
    E : ndarray
        Energies (complex ones pass).
    eta : float
        Dynes broadening; > 0 passes.

    Raises
    ------
    UsadelError
        Naming the reservoir and the energies within ``GAP_EDGE_RTOL`` of its gap.
    """
    if eta > 0 or np.iscomplexobj(E):
        return
    for tag, res in contacts.items():
        h = getattr(res, "h", 0.0)  # a spin-split electrode: spin sigma's edges at |E + sigma h| = Delta
        hit = np.any([np.abs(np.abs(E + s * h) - res.delta) <= GAP_EDGE_RTOL * res.delta for s in (1, -1)], axis=0)
        if res.delta > 0 and hit.any():
            raise UsadelError(f"spectral: with eta = 0 the BCS Green's function of reservoir {tag!r} diverges at "
                              f"its gap edge |E + sigma h| = {res.delta:g} (h = {h:g}), and energies "
                              f"{E[hit][:3].tolist()} lie on it; use eta > 0 or move those energies off the edge")


def riccati_barrier(a, bb, cc, dd, k, jac=False, other=False):
    r"""Kupriyanov-Lukichev flux of the Riccati amplitudes into side 1 of a barrier, and its derivatives.

    .. math:: f = k (\gamma_2 - \gamma_1)(1 + \gamma_1 \tilde\gamma_2)/(1 + \gamma_2 \tilde\gamma_2),\quad
              \tilde f = k (\tilde\gamma_2 - \tilde\gamma_1)(1 + \tilde\gamma_1 \gamma_2)/(1 + \gamma_2 \tilde\gamma_2)

    with k = facet weight / r (``docs/derivations.md``, Kupriyanov-Lukichev tunnel interfaces).

    Parameters
    ----------
    a, bb : ndarray
        gamma_1, gamma~_1.
    cc, dd : ndarray
        gamma_2, gamma~_2 (broadcast with a, bb).
    k : ndarray or float
        Barrier conductance weight.
    jac : bool
        Also return the derivatives.
    other : bool
        With ``jac``: also the derivatives by side 2's amplitudes.

    Returns
    -------
    f, ft : ndarray
        The fluxes.
    own, other : dict
        {(i, j): value}: d(-f_i)/d u_j by side 1's amplitudes u = (gamma_1, gamma~_1),
        and d(f_i)/d u_j by side 2's (empty unless requested; entries that vanish omitted).
    """
    q = 1.0 + cc * dd
    f = k * (cc - a) * (1.0 + a * dd) / q
    ft = k * (dd - bb) * (1.0 + bb * cc) / q
    own, oth = {}, {}
    if jac:
        own = {(0, 0): k * (2 * a * dd - cc * dd + 1.0) / q, (1, 1): k * (2 * bb * cc - cc * dd + 1.0) / q}
    if jac and other:
        q2 = q * q
        oth = {(0, 0): k * (a * dd + 1.0) ** 2 / q2, (0, 1): k * (-(a - cc) ** 2) / q2,
               (1, 0): k * (-(bb - dd) ** 2) / q2, (1, 1): k * (bb * cc + 1.0) ** 2 / q2}
    return f, ft, own, oth


def fermi(E, T):
    """Fermi function 1/(exp(E/T) + 1), overflow-safe (written with tanh)."""
    return 0.5 * (1.0 - np.tanh(np.asarray(E) / (2.0 * T)))


def reservoir_h(res, E):
    """Distribution components (hL, hT, hLS, hTS) of a reservoir.

    With f = (f_up + f_dn)/2 (``docs/conventions.md``, Distribution functions):
    hL = f(-E) - f(E), hT = 1 - f(E) - f(-E),
    hLS = -(f_up - f_dn)(E)/2 + (f_up - f_dn)(-E)/2,
    hTS = -(f_up - f_dn)(E)/2 - (f_up - f_dn)(-E)/2, where
    f_sigma(E) = f0(E - mu - sigma mu_s) at temperature T, or the reservoir's
    prescribed ``distribution`` (checked by :func:`prescribed_distribution`).

    Parameters
    ----------
    res : Reservoir
    E : array_like
        Real energies.

    Returns
    -------
    ndarray
        Shape E.shape + (4,), components in the order :data:`COMPONENTS`.
    """
    E = np.asarray(E, float)
    if res.distribution is not None:
        fu = lambda e: prescribed_distribution(res, e)[0]
        fd = lambda e: prescribed_distribution(res, e)[1]
    else:
        if res.T is None:
            raise UsadelError("kinetic: every contact needs a temperature T (or a distribution)")
        fu = lambda e: fermi(e - res.mu - res.mu_s, res.T)
        fd = lambda e: fermi(e - res.mu + res.mu_s, res.T)
    fp, fm = 0.5 * (fu(E) + fd(E)), 0.5 * (fu(-E) + fd(-E))
    sp, sm = fu(E) - fd(E), fu(-E) - fd(-E)
    return np.stack([fm - fp, 1.0 - fp - fm, -0.5 * sp + 0.5 * sm, -0.5 * sp - 0.5 * sm], axis=-1)


def prescribed_distribution(res, E):
    """(f_up, f_dn) of a reservoir's prescribed distribution, checked.

    Parameters
    ----------
    res : Reservoir
        With ``res.distribution`` a callable E -> (f_up, f_dn).
    E : ndarray
        Real energies.

    Returns
    -------
    f_up, f_dn : ndarray
        Float arrays shaped like ``E``.

    Raises
    ------
    UsadelError
        Unless the callable returns a pair of real, finite arrays in [0, 1]
        (to ``OCCUPATION_SLACK``) that broadcast to ``E``.
    """
    try:
        out = res.distribution(E)
        fu, fd = (np.asarray(x) for x in out)
    except UsadelError:
        raise
    except (TypeError, ValueError) as exc:
        raise UsadelError(f"Reservoir.distribution must return a pair (f_up, f_dn) of arrays; calling it on "
                          f"{E.size} energies gave {type(exc).__name__}: {exc}") from None
    for name, f in (("f_up", fu), ("f_dn", fd)):
        if f.dtype.kind not in "iuf":
            raise UsadelError(f"Reservoir.distribution: {name} must be real numbers, got dtype {f.dtype}")
        try:
            f = np.broadcast_to(f, E.shape)
        except ValueError:
            raise UsadelError(f"Reservoir.distribution: {name} has shape {f.shape}, expected {E.shape} "
                              f"(one value per energy)") from None
        bad = ~np.isfinite(f) | (f < -OCCUPATION_SLACK) | (f > 1 + OCCUPATION_SLACK)
        if bad.any():
            raise UsadelError(f"Reservoir.distribution: {name} must be finite occupation numbers in [0, 1]; "
                              f"got {f[bad][:3].tolist()} at E = {np.broadcast_to(E, f.shape)[bad][:3].tolist()}")
    return np.broadcast_to(fu, E.shape).astype(float), np.broadcast_to(fd, E.shape).astype(float)


def check_windows(E, contacts, what="energy integral", rtol=RTOL):
    """The grid must sample every energy window where the reservoirs are out of equilibrium with each other.

    An integrand that vanishes at every grid point says nothing about the
    windows between them: a grid 1, 2, 3, ... misses a bias window [0, 0.5] at
    low T completely and integrates to 0. So, where reservoirs differ (in T,
    mu, mu_s or a prescribed distribution), the grid must reach past every
    energy where their distributions differ by more than ``rtol``/100 (beyond
    it the missing part is below rtol of a window's integral), and every Fermi
    edge E = |mu +- mu_s| of a thermal reservoir with a differing neighbour
    must have at least ``EDGE_POINTS`` energies within ``EDGE_WIDTH`` T of it (on
    either sign for a grid of both signs).

    Parameters
    ----------
    E : array_like
        The energy grid.
    contacts : dict
        {tag: Reservoir}.
    what : str
        Name of the integral, for the error message.
    rtol : float
        Relative accuracy the integral must vouch for.

    Raises
    ------
    UsadelError
        Naming the missing range or the unresolved Fermi edge.
    """
    res = list(contacts.values())
    if all(r.distribution is None and r.mu == 0 and r.mu_s == 0 and r.T == res[0].T for r in res):
        return  # a common equilibrium: no window to cover
    E = np.asarray(E, float)
    top = WINDOW_REACH * max([abs(r.mu) + abs(r.mu_s) + (r.T or 0.0) for r in res] + [np.max(np.abs(E))])
    s = np.unique(np.r_[np.geomspace(WINDOW_LOW * top, top, WINDOW_SAMPLES), np.linspace(0, top, WINDOW_SAMPLES)])
    hs = [reservoir_h(r, s) for r in res]
    # nonthermal parts (hT, hLS, hTS) of each reservoir and hL differences between reservoirs
    dev = np.max([np.max(np.abs(h[..., 1:]), axis=-1) for h in hs]
                 + [np.abs(h[..., 0] - hs[0][..., 0]) for h in hs[1:]], axis=0)
    off = dev > WINDOW_LEVEL * rtol
    if off[-1]:
        raise UsadelError(f"{what}: the reservoirs' distributions still differ at E = {top:.3g}; "
                          f"energy integrals need them thermal at high energy")
    if not off.any():
        return
    reach = float(s[off].max())
    one_signed = E.min() >= 0 or E.max() <= 0
    a = np.abs(E) if one_signed else E
    if a.max() < reach or (not one_signed and a.min() > -reach):
        have = f"[{E.min():.4g}, {E.max():.4g}]"
        need = f"[0, {reach:.4g}]" if one_signed else f"[{-reach:.4g}, {reach:.4g}]"
        raise UsadelError(f"{what}: the energy grid {have} misses part of the window where the reservoirs are out "
                          f"of equilibrium; it must cover {need} (see usadel.observables.energy_grid with mu=...)")
    for r in res:
        if r.distribution is not None:
            continue
        for edge in {abs(r.mu + r.mu_s), abs(r.mu - r.mu_s)}:
            for sign in ((1,) if one_signed else (1, -1)):
                if np.count_nonzero(np.abs(a - sign * edge) <= EDGE_WIDTH * r.T) < EDGE_POINTS:
                    raise UsadelError(f"{what}: the energy grid does not resolve the Fermi edge at "
                                      f"E = {sign * edge:.4g} (T = {r.T:.3g}): fewer than {EDGE_POINTS} energies within {EDGE_WIDTH:g} T of "
                                      f"it; refine the grid there (usadel.observables.energy_grid with mu=...)")


def retarded_matrix(g, gt):
    r"""Retarded Nambu matrix g^R from Riccati amplitudes (Schopohl-Maki).

    .. math:: g^R = \frac{1}{1 + \gamma\tilde\gamma}
              \begin{pmatrix} 1 - \gamma\tilde\gamma & 2\gamma \\
              2\tilde\gamma & -(1 - \gamma\tilde\gamma) \end{pmatrix}

    (``docs/derivations.md``, Riccati parametrisation). Shape g.shape + (2, 2).
    """
    n = 1.0 / (1.0 + g * gt)
    out = np.empty(g.shape + (2, 2), complex)
    out[..., 0, 0] = (1.0 - g * gt) * n
    out[..., 0, 1] = 2.0 * g * n
    out[..., 1, 0] = 2.0 * gt * n
    out[..., 1, 1] = -out[..., 0, 0]
    return out


def advanced_matrix(gR):
    """Advanced Nambu matrix g^A = -tau3 (g^R)^dagger tau3, shape of ``gR`` (..., 2, 2)."""
    return -TAU3 @ np.conj(np.swapaxes(gR, -1, -2)) @ TAU3


def tunnel_flux_matrices(g1, gt1, g2, gt2, r, P=0.0, down=None):
    r"""Kinetic flux through a (spin-polarised) tunnel barrier as 4x4 matrices.

    Kupriyanov-Lukichev condition in spin block s (kappa = s tau3,
    q = sqrt(1 - P^2)):

    .. math:: \sigma_1 (g_1 \partial_n g_1) = \frac{1}{4r}
              [g_1, (1 + q) g_2 + P \{\kappa, g_2\} + (1 - q) \kappa g_2 \kappa]

    with g^K = g^R h - h g^A and h = (hL + s hTS) 1 + (hT + s hLS) tau3 in block
    s (:data:`SPIN_BLOCKS`). The flux of Nambu component 1 (tau3) out of side 1
    is -(1/(8 r)) Tr[X^K] (Tr[tau3 X^K]), normalised so that the normal state
    gives (hL1 - hL2)/r, i.e. G_up/dn = G (1 +- P)/2 (``docs/derivations.md``,
    Kinetic boundary conditions). The traces are evaluated numerically from
    g^R on both sides.

    Parameters
    ----------
    g1, gt1, g2, gt2 : ndarray
        Riccati amplitudes on side 1 and side 2; broadcast over leading dimensions.
    r : float
        Barrier resistance per area.
    P : float
        Barrier spin polarisation in [-1, 1].
    down : tuple, optional
        (g1, gt1, g2, gt2) of block s = -1 of spin-split sides (exchange field; the first
        four are then block +1); None: spin degenerate. Without spin mixing the matrix
        current is block diagonal: block s sees its own g^R on both sides.

    Returns
    -------
    A, B : ndarray
        Shape (..., 4, 4): flux out of side 1 = A h1 + B h2, h = (hL, hT, hLS, hTS).
    """
    up = (retarded_matrix(g1, gt1), retarded_matrix(g2, gt2))
    dn = up if down is None else (retarded_matrix(down[0], down[1]), retarded_matrix(down[2], down[3]))
    q = np.sqrt(1.0 - P * P)
    shape = np.broadcast_shapes(*(R.shape for R in up + dn))[:-2]
    A = np.zeros(shape + (4, 4))
    B = np.zeros(shape + (4, 4))
    basis = [np.eye(2, dtype=complex), TAU3]  # h = hL * 1 + hT * tau3
    for s, (R1, R2) in ((1.0, up), (-1.0, dn)):
        A1, A2 = advanced_matrix(R1), advanced_matrix(R2)
        k = s * TAU3
        mod = lambda X: 0.5 * ((1 + q) * X + P * (k @ X + X @ k) + (1 - q) * (k @ X @ k))
        R2m, A2m = mod(R2), mod(A2)
        for j, hb in enumerate(basis):  # unit distribution in Nambu component j of block s
            K1 = R1 @ hb - hb @ A1
            K2m = mod(R2 @ hb - hb @ A2)
            X1 = K1 @ A2m - R2m @ K1  # terms with g1^K (h1)
            X2 = (R1 @ K2m - K2m @ A1)                      # terms with g2^K (h2)
            for i, w in enumerate(basis):  # flux component i: Tr[w X]
                f1 = -np.real(np.trace(w @ X1, axis1=-2, axis2=-1)) / (8 * r)
                f2 = -np.real(np.trace(w @ X2, axis1=-2, axis2=-1)) / (8 * r)
                # flux_i^s = f1 * h1_j^s + f2 * h2_j^s; map blocks to the 4 components
                ri, si = SPIN_BLOCKS[i]
                cj, sj = SPIN_BLOCKS[j]
                for row, rs in ((ri, 0.5), (si, 0.5 * s)):
                    for col, cs in ((cj, 1.0), (sj, s)):
                        A[..., row, col] += rs * cs * f1
                        B[..., row, col] += rs * cs * f2
    return A, B


def probe_zero_current(E, N, rhs, T, full):
    r"""Potential mu_P of a normal tunnel probe at temperature T that draws no current.

    Solves Int dE N(E) hT_P(E; mu_P) = ``rhs`` with
    hT_P = 1 - f0(E - mu_P) - f0(-E - mu_P) = f0(E + mu_P) - f0(E - mu_P)
    (``usadel.keldysh.KineticResult.probe_potential`` derives it;
    ``docs/derivations.md``, A polarised tunnel probe). The left side is
    integrated on a grid fine on the scale T (``PROBE_GRID_STEP``; N interpolated
    linearly), with the N = 1 tail beyond the last energy in closed form.

    Parameters
    ----------
    E : ndarray
        Increasing real energies of N.
    N : ndarray
        Density of states seen by the probe at E.
    rhs : float
        Int dE N (hT + P hTS) of the device at the probe.
    T : float
        Probe temperature, > 0.
    full : bool
        E covers both signs (False: a grid E >= 0, whose tail counts once).

    Returns
    -------
    float
        mu_P.

    Raises
    ------
    UsadelError
        If no root lies within the grid minus ``PROBE_MARGIN`` T.
    """
    from scipy.optimize import brentq  # the only scipy use here: keep the import of this module light

    e_top = E.max()
    Ef = np.union1d(E, np.linspace(E.min(), e_top, int(np.ceil((e_top - E.min()) / (PROBE_GRID_STEP * T))) + 2))
    Nf = np.interp(Ef, E, N)

    def tail(mu):  # Int_{e_top}^inf [f0(E + mu) - f0(E - mu)] dE, N = 1 there
        return T * (np.logaddexp(0.0, -(e_top + mu) / T) - np.logaddexp(0.0, -(e_top - mu) / T))

    def lhs(mu):
        hP = fermi(Ef + mu, T) - fermi(Ef - mu, T)
        return np.trapezoid(Nf * hP, Ef) + (2 if full else 1) * N[-1] * tail(mu)

    span = e_top - PROBE_MARGIN * T
    if span <= 0 or (lhs(-span) - rhs) * (lhs(span) - rhs) > 0:
        raise UsadelError(f"probe_potential: no zero-current potential within the energy grid "
                          f"(|mu_P| < {max(span, 0):.3g}); extend the grid to higher energies")
    return brentq(lambda m: lhs(m) - rhs, -span, span, xtol=PROBE_XTOL * max(1.0, T), rtol=PROBE_RTOL)
