r"""Retarded Usadel equation (seed Eqs. 9-10) by Newton on the FEM mesh.

Formulation
-----------
The seed writes the retarded Green's function with a complex angle th and a
phase chi, g = [[cosh th, sinh th e^{i chi}], [-sinh th e^{-i chi}, -cosh th]]
(Nambu part of seed Eq. 3). In matrix form seed Eqs. 9-10 read

    D div(g grad g) + [i E tau3 + Delta_hat - (Gamma/2) tau3 g tau3, g] = 0,
    Delta_hat = [[0, -i Delta], [i Delta^*, 0]],   Gamma = 3/(4 tau_sf),

(with chi = const this is exactly Eq. 10; its tau3 part is Eq. 9). The th-chi
form is singular where sinh th -> 0 (phase pi), so we solve for the Riccati
amplitudes gamma, gamma~ instead (Schopohl-Maki),

    g = 1/(1 + gamma gamma~) [[1 - gamma gamma~, 2 gamma], [2 gamma~, -(1 - gamma gamma~)]],

so gamma = tanh(th/2) e^{i chi}, gamma~ = -tanh(th/2) e^{-i chi}; |gamma| <= 1
and everything is regular at any phase. Inserting this into the matrix
equation (derivation checked symbolically, see ``docs/derivations.md``):

    D [lap gamma  - 2 gamma~ (grad gamma)^2  / (1 + gamma gamma~)]
        = -2 i E gamma  - i Delta - i Delta^* gamma^2 + 2 Gamma gamma (1 - gamma gamma~)/(1 + gamma gamma~)
    D [lap gamma~ - 2 gamma (grad gamma~)^2 / (1 + gamma gamma~)]
        = -2 i E gamma~ + i Delta^* + i Delta gamma~^2 + 2 Gamma gamma~ (1 - gamma gamma~)/(1 + gamma gamma~)

with E -> E + i eta (Dynes). Weighted by the conductivity sigma, the flux in
the weak form is sigma grad gamma, which is continuous wherever sigma g grad g
is, so clean interfaces between regions need nothing special. The
Kupriyanov-Lukichev condition sigma_1 g_1 d_n g_1 = [g_1, g_2]/(2 r) becomes

    sigma_1 d_n gamma_1  = (gamma_2  - gamma_1 ) (1 + gamma_1 gamma~_2)/(r (1 + gamma_2 gamma~_2)),
    sigma_1 d_n gamma~_1 = (gamma~_2 - gamma~_1) (1 + gamma~_1 gamma_2)/(r (1 + gamma_2 gamma~_2)),

which for chi_1 = chi_2 is sigma_1 d_n th_1 = sinh(th_2 - th_1)/r (physics.md).
"""

import logging
from dataclasses import dataclass

import numpy as np

from .device import Device
from .errors import ConvergenceError, UsadelError
from .validate import choice, integer, real, real_array

__all__ = ["spectral", "SpectralResult", "bulk_gamma", "delta_weights"]

log = logging.getLogger(__name__)


def bulk_gamma(eps, delta):
    """Riccati amplitude of a homogeneous BCS superconductor.

    ``eps`` complex energy (E + i eta, Im >= 0), ``delta`` complex gap
    |Delta| e^{i phi}. Returns (gamma, gamma~) with |gamma| <= 1:
    gamma = -|Delta| e^{i phi} / (eps + sqrt(eps^2 - |Delta|^2)).
    """
    eps = np.asarray(eps, dtype=complex)
    delta = np.asarray(delta, dtype=complex)
    a = np.abs(delta)
    s = np.sqrt(eps * eps - a * a)
    # the branch with |gamma| <= 1; on the real axis below the gap (eta = 0) both have
    # |gamma| = 1 and the retarded one is the limit from the upper half plane, Im s > 0
    # (the sign of a zero imaginary part of eps^2 would otherwise pick the advanced one at E < 0)
    p, m = np.abs(eps + s), np.abs(eps - s)
    tie = np.abs(p - m) <= 1e-14 * (p + m)
    s = np.where(np.where(tie, np.imag(s) >= 0, p >= m), s, -s)
    with np.errstate(invalid="ignore", divide="ignore"):
        g0 = np.where(a > 0, -a / (eps + s), 0.0)
        ph = np.where(a > 0, delta / np.where(a > 0, a, 1.0), 1.0)
    return g0 * ph, -g0 * np.conj(ph)


def delta_weights(device, delta):
    """Lumped, sigma/D-weighted Delta on nodes (only superconducting elements).

    ``delta`` may be a scalar (every superconducting region), a dict
    {region: value} or an array with one (complex) value per node.
    Returns the complex node array sum_e (sigma/D) vol_e/(d+1) Delta_e(node).
    """
    ops = device.operators
    w = ops.w_el / ops.D_e * ops.sc_e
    names = device.region_names
    sc_names = [r for r in names if device.materials[r].superconducting]
    if isinstance(delta, dict):
        delta = {r: _gap_value(f"delta[{r!r}]", v) for r, v in delta.items()}
        for r, v in delta.items():
            if r not in names:
                raise UsadelError(f"delta: unknown region {r!r}; the device has {list(names)}")
            if v != 0 and r not in sc_names:
                raise UsadelError(f"delta: region {r!r} is a normal metal (Material.tc = 0) and cannot carry a gap")
        per_el = np.array([delta.get(r, 0.0) for r in names], dtype=complex)[ops.region]
        return ops.lump(w * per_el)
    if np.ndim(delta) == 0:
        arr = np.asarray(_gap_value("delta", delta))
    else:
        arr = real_array("delta", delta, allow_complex=True).astype(complex)
    if arr.ndim == 0:
        if arr != 0 and not sc_names:
            raise UsadelError("delta: a gap was given but no region is superconducting; set Material(tc=...) > 0")
        return ops.lump(w) * arr
    if arr.shape != (ops.n,):
        raise UsadelError(f"delta: per-node array must have shape ({ops.n},), got {arr.shape}")
    # a per-node gap is a P1 field, zero at nodes that touch no superconducting
    # element: with lumped quadrature every such node carries its full weight, so
    # the discrete pair amplitude tends to Delta_i/w at high Matsubara frequency
    # at every node (the gap loop's Matsubara tail relies on this)
    touch = ops.lump(w) > 0
    return np.where(touch, ops.lump_sd, 0.0) * arr


def _gap_value(name, v):
    """One gap value: a finite real or complex number (complex: |Delta| e^{i phi})."""
    if isinstance(v, (complex, np.complexfloating)):
        return complex(real(f"Re {name}", complex(v).real), real(f"Im {name}", complex(v).imag))
    return real(name, v)


def delta_nodes(device, delta):
    """Effective Delta per node (the pairing term divided by the node's sigma/D weight)."""
    ops = device.operators
    c = ops.lump_sd
    cd = delta_weights(device, delta)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c > 0, cd / np.where(c > 0, c, 1.0), 0.0)


class _Problem:
    """Residual and Jacobian of the Riccati equations for a batch of energies."""

    def __init__(self, device, delta, eta):
        self.dev = device
        self.ops = ops = device.operators
        self.eta = eta
        self.c = ops.lump_sd
        self.cG = ops.lump(ops.w_el / ops.D_e * ops.gamma_e)
        self.cD = delta_weights(device, delta)
        self.cDc = np.conj(self.cD)
        self.delta_node = np.divide(self.cD, self.c, out=np.zeros_like(self.cD), where=self.c > 0)
        self.gamma_node = np.divide(self.cG, self.c, out=np.zeros_like(self.c), where=self.c > 0)
        # contacts, from the device's boundary model
        self.dirichlet = [(c.nodes, c.reservoir) for c in device.boundary.clean]
        self.tunnel = [(c.nodes, c.weights, c.reservoir) for c in device.boundary.tunnel]
        self.dir_nodes = device.boundary.dirichlet_nodes
        self.dir_rows = np.concatenate([2 * self.dir_nodes, 2 * self.dir_nodes + 1])
        self.solver = ops.solver(2, symmetric_pivoting=True)

    @staticmethod
    def reservoir_gamma(res, eps):
        return bulk_gamma(eps, res.delta * np.exp(1j * res.phase))

    def initial(self, eps):
        """Local bulk guess with reservoir values imposed."""
        e = eps[:, None] + 1j * self.gamma_node[None, :]
        g, gt = bulk_gamma(e, self.delta_node[None, :])
        return self.impose(eps, g, gt)

    def impose(self, eps, g, gt):
        for nodes, res in self.dirichlet:
            gr, gtr = self.reservoir_gamma(res, eps)
            g[:, nodes] = gr[:, None]
            gt[:, nodes] = gtr[:, None]
        return g, gt

    def residual(self, eps, g, gt, jac=False):
        ops = self.ops
        b = g.shape[0]
        epsc = eps[:, None]
        Fg = (ops.K @ g.T).T
        Ft = (ops.K @ gt.T).T
        gb, dg = ops.element_values(g)
        gtb, dgt = ops.element_values(gt)
        den = 1.0 + gb * gtb
        sg = np.sum(dg * dg, axis=-1)
        st = np.sum(dgt * dgt, axis=-1)
        w = ops.w_el
        Fg += (ops.incidence @ (w * 2.0 * gtb * sg / den).T).T
        Ft += (ops.incidence @ (w * 2.0 * gb * st / den).T).T
        p = g * gt
        dn = 1.0 + p
        c, cG, cD, cDc = self.c, self.cG, self.cD, self.cDc
        Fg += c * (-2j * epsc * g) - 1j * (cD + cDc * g * g) + cG * 2.0 * g * (1.0 - p) / dn
        Ft += c * (-2j * epsc * gt) + 1j * (cD * gt * gt + cDc) + cG * 2.0 * gt * (1.0 - p) / dn
        if jac:
            blocks = np.zeros((b, 2, 2, ops.nnz), dtype=complex)
            d1 = ops.d + 1
            den2 = den * den
            # element blocks: value depends on column vertex only
            Al = (-2.0 * gtb * gtb * sg / den2)[..., None] / d1 + np.einsum("bed,ejd->bej", 4.0 * gtb[..., None] * dg / den[..., None], ops.grad)
            Bl = np.broadcast_to((2.0 * sg / den2)[..., None] / d1, Al.shape)
            Cl = np.broadcast_to((2.0 * st / den2)[..., None] / d1, Al.shape)
            Dl = (-2.0 * gb * gb * st / den2)[..., None] / d1 + np.einsum("bed,ejd->bej", 4.0 * gb[..., None] * dgt / den[..., None], ops.grad)
            for (i, j), L in (((0, 0), Al), ((0, 1), Bl), ((1, 0), Cl), ((1, 1), Dl)):
                loc = np.broadcast_to((w[:, None] * L)[:, :, None, :], (b, ops.n_el, d1, d1))
                blocks[:, i, j] = (ops.scatter @ loc.reshape(b, -1).T).T
            blocks[:, 0, 0] += ops.K_data
            blocks[:, 1, 1] += ops.K_data
            dn2 = dn * dn
            hp = 2.0 * (1.0 - p) / dn - 4.0 * p / dn2
            blocks[:, 0, 0, ops.diag] += c * (-2j * epsc) - 2j * cDc * g + cG * hp
            blocks[:, 0, 1, ops.diag] += cG * (-4.0 * g * g / dn2)
            blocks[:, 1, 1, ops.diag] += c * (-2j * epsc) + 2j * cD * gt + cG * hp
            blocks[:, 1, 0, ops.diag] += cG * (-4.0 * gt * gt / dn2)
        # tunnel contacts to reservoirs
        for nodes, wts, res in self.tunnel:
            gr, gtr = self.reservoir_gamma(res, eps)
            gr, gtr = gr[:, None], gtr[:, None]
            a, bb = g[:, nodes], gt[:, nodes]
            q = 1.0 + gr * gtr
            k = wts / res.barrier.r
            Fg[:, nodes] -= k * (gr - a) * (1.0 + a * gtr) / q
            Ft[:, nodes] -= k * (gtr - bb) * (1.0 + bb * gr) / q
            if jac:
                blocks[:, 0, 0, ops.diag[nodes]] += k * (2 * a * gtr - gr * gtr + 1.0) / q
                blocks[:, 1, 1, ops.diag[nodes]] += k * (2 * bb * gr - gr * gtr + 1.0) / q
        # tunnel interfaces between regions
        for (pa, pb, wts, bar), (pab, pba) in zip(ops.pairs, ops.pair_pos):
            k = wts / bar.r
            for ia, ib, pos_ab in ((pa, pb, pab), (pb, pa, pba)):
                da_ = ops.diag[ia]
                a, bb, cc, dd = g[:, ia], gt[:, ia], g[:, ib], gt[:, ib]
                q = 1.0 + cc * dd
                Fg[:, ia] -= k * (cc - a) * (1.0 + a * dd) / q
                Ft[:, ia] -= k * (dd - bb) * (1.0 + bb * cc) / q
                if jac:
                    q2 = q * q
                    blocks[:, 0, 0, da_] += k * (2 * a * dd - cc * dd + 1.0) / q
                    blocks[:, 0, 0, pos_ab] -= k * (a * dd + 1.0) ** 2 / q2
                    blocks[:, 0, 1, pos_ab] -= k * (-(a - cc) ** 2) / q2
                    blocks[:, 1, 1, da_] += k * (2 * bb * cc - cc * dd + 1.0) / q
                    blocks[:, 1, 0, pos_ab] -= k * (-(bb - dd) ** 2) / q2
                    blocks[:, 1, 1, pos_ab] -= k * (bb * cc + 1.0) ** 2 / q2
        Fg[:, self.dir_nodes] = 0.0
        Ft[:, self.dir_nodes] = 0.0
        F = np.empty((b, 2 * ops.n), dtype=complex)
        F[:, 0::2], F[:, 1::2] = Fg, Ft
        if not jac:
            return F
        data = self.solver.fix_rows(self.solver.full_data(blocks), self.dir_rows)
        return F, data

    def newton(self, eps, g, gt, tol, maxiter, scale=None):
        """Damped Newton for every energy in the batch; returns (g, gt, ok, res).

        Converged when the update is below ``tol`` (max norm; |gamma| <= 1) or
        the residual is below ``tol`` times that energy's own operator scale.
        """
        cmax = np.max(np.abs(self.c))
        kmax = np.max(np.abs(self.ops.K_data[self.ops.diag]))
        dmax = np.max(np.abs(self.delta_node), initial=0.0) + np.max(self.gamma_node, initial=0.0)
        scale_all = kmax + cmax * (1.0 + np.abs(eps) + dmax)
        b = eps.size
        ok = np.zeros(b, bool)
        res = np.full(b, np.inf)
        act = np.arange(b)
        for it in range(maxiter):
            e, ga, gta, scale = eps[act], g[act], gt[act], scale_all[act]
            F, data = self.residual(e, ga, gta, jac=True)
            f0 = np.linalg.norm(F, axis=1)
            dx = self.solver.solve(data, -F)
            lam = np.ones(act.size)
            bad = ~np.all(np.isfinite(dx), axis=1)
            dx[bad] = 0.0
            for _ in range(12):
                gn = ga + lam[:, None] * dx[:, 0::2]
                gtn = gta + lam[:, None] * dx[:, 1::2]
                f1 = np.linalg.norm(self.residual(e, gn, gtn), axis=1)
                worse = ~(f1 <= (1.0 - 1e-4 * lam) * f0) & (f0 > tol * scale)
                if not worse.any():
                    break
                lam = np.where(worse, 0.5 * lam, lam)
            g[act], gt[act] = gn, gtn
            step = lam * np.max(np.abs(dx), axis=1)
            res[act] = f1
            done = ((step < tol) | (f1 < tol * scale)) & np.isfinite(f1) & ~bad
            ok[act[done]] = True
            act = act[~done & np.isfinite(f1)]
            if act.size == 0:
                break
        return g, gt, ok, res


@dataclass
class SpectralResult:
    """Solution of the retarded equations at a set of energies.

    Attributes
    ----------
    energies : (n_E,) energies as given (real, or complex e.g. Matsubara i w_n)
    gamma, gamma_t : (n_E, n_nodes) Riccati amplitudes gamma, gamma~
    delta : (n_nodes,) effective complex gap per node used in the solve
    eta : Dynes broadening
    iterations : Newton iterations used
    """

    device: Device
    energies: np.ndarray
    gamma: np.ndarray
    gamma_t: np.ndarray
    delta: np.ndarray
    eta: float
    residuals: np.ndarray

    @property
    def x(self):
        """Node coordinates (n_nodes, dim); split interface nodes appear twice."""
        return self.device.topology.p.T

    @property
    def G(self):
        """Normal Green's function cosh th (n_E, n_nodes)."""
        p = self.gamma * self.gamma_t
        return (1.0 - p) / (1.0 + p)

    @property
    def F(self):
        """Anomalous function sinh th e^{i chi} (n_E, n_nodes)."""
        return 2.0 * self.gamma / (1.0 + self.gamma * self.gamma_t)

    @property
    def Ft(self):
        """Anomalous function -sinh th e^{-i chi} (the tilde component)."""
        return 2.0 * self.gamma_t / (1.0 + self.gamma * self.gamma_t)

    def _s(self):
        s = np.sqrt(-self.gamma * self.gamma_t + 0j)
        return np.where(np.real(s * np.conj(self.gamma)) >= 0, s, -s)

    @property
    def theta(self):
        """Seed's complex angle th (n_E, n_nodes).

        th and chi are defined up to (th, chi) -> (-th, chi + pi); we return
        the branch with Re chi in (-pi/2, pi/2], which is the seed's th for
        devices without phase differences (chi = 0).
        """
        return 2.0 * np.arctanh(self._s())

    @property
    def chi(self):
        """Complex phase chi in the branch of :attr:`theta`."""
        s = self._s()
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(s != 0, -1j * np.log(self.gamma / np.where(s != 0, s, 1.0)), 0.0)

    def dos(self):
        """Density of states per spin N(E, x) = Re cosh th, normalised to the normal state."""
        return np.real(self.G)

    def pair_amplitude(self):
        """Pair amplitude F = sinh th e^{i chi} (n_E, n_nodes)."""
        return self.F

    def matrix_current(self):
        """Per-element (g grad g)_11 = 2 (gamma grad gamma~ - gamma~ grad gamma)/(1+gamma gamma~)^2.

        Shape (n_E, n_el, dim).
        """
        ops = self.device.operators
        gb, dg = ops.element_values(self.gamma)
        gtb, dgt = ops.element_values(self.gamma_t)
        return 2.0 * (gb[..., None] * dgt - gtb[..., None] * dg) / ((1.0 + gb * gtb) ** 2)[..., None]

    def spectral_supercurrent(self):
        """Seed's spectral supercurrent jE = D q sinh^2 th per element (n_E, n_el, dim)."""
        ops = self.device.operators
        return -1j * ops.D_e[None, :, None] * self.matrix_current()

    def supercurrent_density(self, T):
        """Equilibrium charge supercurrent density per element (n_el, dim) from real energies.

        j = -(sigma/(2D)) Int dE Im jE tanh(E/2T), the Im(jE) hL part of the
        charge current with the prefactor fixed by Ohm's law (see kinetic).
        Needs a real, symmetric-completed energy grid from 0 up; uses
        Im jE(-E) = -Im jE(E) so only E >= 0 enter (trapezoid rule).
        """
        E = np.real(self.energies)
        if np.any(np.iscomplex(self.energies)) or np.any(np.diff(E) <= 0):
            raise UsadelError("supercurrent_density needs increasing real energies")
        T = real("supercurrent_density: T", T, positive=True)
        ops = self.device.operators
        m11 = self.matrix_current()  # Im jE / D = -Re m11
        pos = E >= 0
        integrand = np.real(m11[pos]) * np.tanh(E[pos] / (2 * T))[:, None, None]
        return ops.sigma_e[:, None] * np.trapezoid(integrand, E[pos], axis=0)

    def at(self, points, field=None):
        """Interpolate a nodal field (default: DOS) at points (n_pts, dim)."""
        from .fem import locate

        field = self.dos() if field is None else field
        el, bary = locate(self.device, np.atleast_2d(points))
        t = self.device.topology.t
        return np.einsum("...ke,ke->...e", field[..., t[:, el]], bary)

    def plot_dos(self, path=None, ax=None):
        """Plot N(x, E): a colour map for 1D devices, DOS maps at a few energies in 2D."""
        from .plot import plot_dos

        return plot_dos(self, path=path, ax=ax)


def _as_energies(energies):
    E = real_array("energies", np.atleast_1d(energies) if np.ndim(energies) == 0 else energies,
                   ndim=1, allow_complex=True)
    if np.iscomplexobj(E) and np.any(E.imag < 0):
        raise UsadelError("energies: complex energies must lie in the upper half plane (Im E >= 0) "
                          "for the retarded (or Matsubara, Im E > 0) functions")
    return E


def _check_gap_edges(device, E, eta):
    """With eta = 0 a reservoir's BCS functions diverge at |E| = Delta (1 + gamma gamma~ = 0)."""
    if eta > 0 or np.iscomplexobj(E):
        return
    for tag, res in device.contacts.items():
        hit = np.abs(np.abs(E) - res.delta) <= 1e-12 * res.delta
        if res.delta > 0 and hit.any():
            raise UsadelError(f"spectral: with eta = 0 the BCS Green's function of reservoir {tag!r} diverges at "
                              f"its gap edge |E| = {res.delta:g}, and energies {E[hit][:3].tolist()} lie on it; use eta > 0 or move "
                              f"those energies off the edge")


def spectral(device, energies, delta=0.0, eta=1e-6, *, symmetric=True, tol=1e-10, maxiter=40,
             method="homotopy", guess=None, executor=None, chunk=None):
    """Solve the retarded Usadel equation (seed Eq. 10, Eq. 9) at all energies.

    Parameters
    ----------
    device : Device
    energies : array_like
        Real energies, or complex ones (e.g. Matsubara ``1j * w_n``).
    delta : float, dict or array
        Gap: scalar for every superconducting region, {region: value}, or one
        complex value per node (``len == device.topology.n_nodes``).
    eta : float
        Dynes broadening, E -> E + i eta; >= 0.
    symmetric : bool
        Solve only |E| for real energies and use gamma(-E) = gamma~(E)^*,
        gamma~(-E) = gamma(E)^* (i.e. th^*(-E) = -th(E), chi^*(-E) = chi(E)).
    tol : float
        Newton tolerance on the update (max norm) of gamma, gamma~.
    method : {"homotopy", "direct"}
        "homotopy" (default) follows each solution from E + i Omega down to
        the real axis, which selects the retarded branch by construction.
        "direct" starts Newton from the local bulk solution and falls back to
        the homotopy only where the result is grossly unphysical; faster, but
        near bifurcations (e.g. just above a minigap) it can return a wrong
        branch that no threshold detects.
    guess : SpectralResult or None
        Warm start (same energies, e.g. the previous outer iteration of the
        gap loop): Newton starts from it; energies where that fails or lands
        on an unphysical branch are redone by the homotopy.
    executor : concurrent.futures.Executor or None
        Energies are split into chunks and mapped over the executor.

    Raises
    ------
    ConvergenceError
        With the energies and residual norms that did not converge.
    """
    if not isinstance(device, Device):
        raise UsadelError(f"spectral: expected a usadel.Device, got {type(device).__name__}")
    E = _as_energies(energies)
    choice("spectral: method", method, ("homotopy", "direct"))
    eta = real("spectral: eta", eta, nonnegative=True)
    tol = real("spectral: tol", tol, positive=True)
    maxiter = integer("spectral: maxiter", maxiter, lo=1)
    chunk = integer("spectral: chunk", chunk, lo=1, allow_none=True)
    if not isinstance(symmetric, (bool, np.bool_)):
        raise UsadelError(f"spectral: symmetric must be True or False, got {symmetric!r}")
    delta_weights(device, delta)  # validate before any work
    _check_gap_edges(device, E, eta)
    if guess is not None:
        if not isinstance(guess, SpectralResult) or guess.gamma.shape != (E.size, device.operators.n):
            raise UsadelError("guess must be a SpectralResult of this device at the same energies")
        symmetric = False
    if symmetric and not np.iscomplexobj(E):
        Eu, inv = np.unique(np.abs(E), return_inverse=True)
    else:
        Eu, inv = E, np.arange(E.size)
    n = device.operators.n
    if chunk is None:
        chunk = max(1, min(Eu.size, int(4e5 // (2 * n))))
    pieces = [Eu[i:i + chunk] for i in range(0, Eu.size, chunk)]
    gs = [None if guess is None else (guess.gamma[i:i + chunk], guess.gamma_t[i:i + chunk]) for i in range(0, Eu.size, chunk)]
    args = [(device, piece, delta, eta, tol, maxiter, method, g0) for piece, g0 in zip(pieces, gs)]
    if executor is None:
        outs = [_solve_chunk(*a) for a in args]
    else:
        outs = list(executor.map(_solve_chunk, *zip(*args)))
    g = np.concatenate([o[0] for o in outs])
    gt = np.concatenate([o[1] for o in outs])
    res = np.concatenate([o[2] for o in outs])
    g, gt, res = g[inv], gt[inv], res[inv]
    if symmetric and not np.iscomplexobj(E):
        neg = E < 0
        g[neg], gt[neg] = np.conj(gt[neg]), np.conj(g[neg])
    return SpectralResult(device=device, energies=E, gamma=g, gamma_t=gt,
                          delta=delta_nodes(device, delta), eta=eta, residuals=res)


def _physical(g, gt, slack=1e-2):
    """Coarse retarded-branch test: |gamma|, |gamma~| <= 1 and Re cosh th >= 0.

    The slack absorbs the O(h^2) discretisation error of these bounds
    (measured: min DOS -3e-4 below an SNS minigap with 200 elements); wrong
    Newton branches violate them by O(1).
    """
    p = g * gt
    dos = np.real((1.0 - p) / (1.0 + p))
    return (np.all(np.abs(g) <= 1 + slack, axis=1) & np.all(np.abs(gt) <= 1 + slack, axis=1)
            & np.all(dos >= -slack, axis=1) & np.all(np.isfinite(p), axis=1))


def _solve_chunk(device, E, delta, eta, tol, maxiter, method="homotopy", guess=None):
    prob = _Problem(device, delta, eta)
    eps = E.astype(complex) + 1j * eta
    scale = None
    if method == "direct" or guess is not None:
        g, gt = prob.initial(eps) if guess is None else prob.impose(eps, guess[0].copy(), guess[1].copy())
        g, gt, ok, res = prob.newton(eps, g, gt, tol, maxiter, scale)
        redo = ~(ok & _physical(g, gt))
        if redo.any():
            idx = np.nonzero(redo)[0]
            log.debug("spectral: %d energies via eta-homotopy", idx.size)
            g[idx], gt[idx], ok[idx], res[idx] = _homotopy(prob, eps[idx], tol, maxiter, scale)
    else:
        g, gt, ok, res = _homotopy(prob, eps, tol, maxiter, scale)
    if not ok.all():
        g, gt, ok, res = _continuation(prob, eps, g, gt, ok, res, tol, maxiter, scale)
    ok &= np.all(np.isfinite(g), axis=1) & np.all(np.isfinite(gt), axis=1)
    bad = np.nonzero(~ok)[0]
    if bad.size:
        raise ConvergenceError(
            f"spectral: Newton did not converge at {bad.size} of {E.size} energies, "
            f"e.g. E = {E[bad[:5]].tolist()} with residuals {res[bad[:5]].tolist()}",
            energies=E[bad], residuals=res[bad])
    return g, gt, res


def _homotopy(prob, eps, tol, maxiter, scale, factor=0.1):
    """Follow the retarded solution from E + i Omega down to E + i eta.

    The retarded Green's function is analytic in the upper half plane and the
    solution far from the real axis is unique, so continuation in Im E picks
    the physical branch where Newton from a bulk guess may converge to an
    unphysical one (measured: negative DOS just above an SNS minigap).
    Intermediate stages are solved loosely; only the last one to ``tol``.
    """
    ops = prob.ops
    span = np.ptp(ops.p, axis=1).max()
    e_th = np.max(ops.D_e) / span ** 2
    # the device's own scales; reservoir gaps enter only as boundary values
    dmax = np.max(np.abs(prob.delta_node), initial=0.0) + np.max(prob.gamma_node, initial=0.0)
    omega0 = 2.0 * np.maximum(np.abs(eps.real), max(dmax, e_th))
    eta = eps.imag
    g, gt = prob.initial(eps.real + 1j * (eta + omega0))
    ok = np.ones(eps.size, bool)
    k = 0
    while True:
        om = omega0 * factor ** k
        # stages small next to the energy's own Im part (Matsubara) change nothing
        om = np.where(om < 0.1 * eta, 0.0, om)
        last = bool(np.all((om < 1e-4 * omega0) | (om == 0)))
        e = eps.real + 1j * (eta + np.where(last, 0.0, om))
        g, gt = prob.impose(e, g, gt)
        g, gt, oki, res = prob.newton(e, g, gt, tol if last else max(tol, 1e-4), maxiter, scale)
        ok &= oki
        if last:
            return g, gt, ok, res
        k += 1


def _continuation(prob, eps, g, gt, ok, res, tol, maxiter, scale):
    """Retry failed energies by stepping from the nearest converged energy."""
    for _ in range(3):
        if not ok.any() or ok.all():
            break
        good = np.nonzero(ok)[0]
        for i in np.nonzero(~ok)[0]:
            j = good[np.argmin(np.abs(eps[good] - eps[i]))]
            gi, gti = g[j:j + 1].copy(), gt[j:j + 1].copy()
            for nsub in (1, 4, 16, 64):
                path = eps[j] + (eps[i] - eps[j]) * np.arange(1, nsub + 1) / nsub
                ga, gta, fine = gi.copy(), gti.copy(), True
                for e in path:
                    ga, gta = prob.impose(np.array([e]), ga, gta)
                    ga, gta, oki, ri = prob.newton(np.array([e]), ga, gta, tol, maxiter, scale)
                    if not oki[0]:
                        fine = False
                        break
                if fine:
                    g[i], gt[i], ok[i], res[i] = ga[0], gta[0], True, ri[0]
                    break
    return g, gt, ok, res
