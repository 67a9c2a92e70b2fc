r"""Kinetic equations for hL, hT, hLS, hTS (seed Eqs. 4-7) as linear FEM problems.

Bulk (seed Eqs. 4, 7 with coefficients Eqs. 5-6, all from th of the spectral result):

    div jL  = 0                                     jL  = -DL grad hL  + Im(jE) hT
    div jT  = -2 |Delta| aTT hT                     jT  = -DT grad hT  + Im(jE) hL
    div jLS = -(2 |Delta| aTT + aLSLS/tau_sf) hLS   jLS = -DT grad hLS + Im(jE) hTS
    div jTS = -(aTSTS/tau_sf) hTS                   jTS = -DL grad hTS + Im(jE) hLS

Each equation is multiplied by sigma/D (so fluxes are continuous at clean
interfaces). The spin blocks s = +-1 carry (hL + s hTS, hT + s hLS): the bulk
equations without spin flip are the 2x2 Nambu kinetic equations in each block.

Contacts and interfaces: a clean reservoir fixes all four h (Dirichlet). A
tunnel barrier carries the Keldysh part of the matrix current
(Kupriyanov-Lukichev, spin-polarised form, kappa = s tau3 in block s):

    sigma_1 (g_1 d_n g_1) = 1/(4 r) [g_1, (1 + q) g_2 + P {kappa, g_2} + (1 - q) kappa g_2 kappa],  q = sqrt(1 - P^2)

with g^K = g^R h - h g^A, h = hL + hT tau3 in each block and g^A = -tau3 g^R+ tau3.
The flux of component L (T) out of side 1 is -(1/(8 r)) Tr[X^K] (Tr[tau3 X^K]),
normalised so that the normal state gives (hL1 - hL2)/r. In the normal state
this is G_up/down = G (1 +- P)/2 for spin-up/down electrons. The traces are
evaluated numerically from g^R on both sides (no hand-expanded coefficients).
Polarised barriers work on contacts and between mesh regions (each side sees
the other side's g modified as above; in the normal state this conserves charge
and spin current across the barrier).

Degenerate coefficients: below a BCS gap DL, aTSTS -> 0 and the L and TS
equations lose their diffusion term. Diffusion coefficients are floored at
``floor * D`` (default 1e-9): the degenerate modes are then fixed by their
boundary values, and observables (currents, which carry DL or DT) change by
O(floor). DL per element is the smaller of its centroid value and the harmonic
mean of its nodal values: at a clean S contact below the gap DL vanishes at the
contact node and grows as (x/xi_E)^2 inside, so the energy-mode resistance
diverges (Andreev mirror, ``test_andreev_mirror_blocks_subgap_energy_current``);
a centroid value alone leaked an O(h) subgap energy current.

Units: energies E, distributions dimensionless. Observables (``KineticResult``):
charge current I = -(sigma/(2D)) Int dE jT (so a normal wire has I = V/R_N with
mu = eV), energy current -(sigma/(2D)) Int dE E jL, spin current
-(sigma/(2D)) Int dE jTS, spin accumulation mu_s = -(1/2) Int dE hTS.
"""

import logging
from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceError, UsadelError
from .fem import flux_weight
from .quadrature import RTOL, even_integral
from .validate import real

__all__ = ["kinetic", "KineticResult", "reservoir_h", "fermi"]

log = logging.getLogger(__name__)

TAU3 = np.diag([1.0, -1.0]).astype(complex)


def fermi(E, T):
    """Fermi function 1/(exp(E/T) + 1), overflow-safe."""
    return 0.5 * (1.0 - np.tanh(np.asarray(E) / (2.0 * T)))


def reservoir_h(res, E):
    """(hL, hT, hLS, hTS) of a reservoir at energies E (physics.md definitions)."""
    E = np.asarray(E, float)
    if res.distribution is not None:
        fu = lambda e: _distribution(res, e)[0]
        fd = lambda e: _distribution(res, e)[1]
    else:
        if res.T is None:
            raise UsadelError("kinetic: every contact needs a temperature T (or a distribution)")
        fu = lambda e: fermi(e - res.mu - res.mu_s, res.T)
        fd = lambda e: fermi(e - res.mu + res.mu_s, res.T)
    fp, fm = 0.5 * (fu(E) + fd(E)), 0.5 * (fu(-E) + fd(-E))
    sp, sm = fu(E) - fd(E), fu(-E) - fd(-E)
    return np.stack([fm - fp, 1.0 - fp - fm, -0.5 * sp + 0.5 * sm, -0.5 * sp - 0.5 * sm], axis=-1)


def _distribution(res, E):
    """(f_up, f_dn) of a prescribed distribution, checked: a pair of finite arrays in [0, 1] shaped like E."""
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
        bad = ~np.isfinite(f) | (f < -1e-12) | (f > 1 + 1e-12)
        if bad.any():
            raise UsadelError(f"Reservoir.distribution: {name} must be finite occupation numbers in [0, 1]; "
                              f"got {f[bad][:3].tolist()} at E = {np.broadcast_to(E, f.shape)[bad][:3].tolist()}")
    return np.broadcast_to(fu, E.shape).astype(float), np.broadcast_to(fd, E.shape).astype(float)


def _gR(g, gt):
    """Retarded 2x2 Nambu matrices from Riccati amplitudes, shape (..., 2, 2)."""
    n = 1.0 / (1.0 + g * gt)
    out = np.empty(g.shape + (2, 2), complex)
    out[..., 0, 0] = (1.0 - g * gt) * n
    out[..., 0, 1] = 2.0 * g * n
    out[..., 1, 0] = 2.0 * gt * n
    out[..., 1, 1] = -out[..., 0, 0]
    return out


def _gA(gR):
    return -TAU3 @ np.conj(np.swapaxes(gR, -1, -2)) @ TAU3


def tunnel_flux_matrices(g1, gt1, g2, gt2, r, P=0.0):
    """4x4 matrices (A, B): flux out of side 1 = A h1 + B h2, h = (hL, hT, hLS, hTS).

    Arrays broadcast over leading dimensions. See the module docstring.
    """
    R1, R2 = _gR(g1, gt1), _gR(g2, gt2)
    A1, A2 = _gA(R1), _gA(R2)
    q = np.sqrt(1.0 - P * P)
    shape = np.broadcast_shapes(R1.shape, R2.shape)[:-2]
    A = np.zeros(shape + (4, 4))
    B = np.zeros(shape + (4, 4))
    basis = [np.eye(2, dtype=complex), TAU3]  # h = hL * 1 + hT * tau3
    for s in (1.0, -1.0):
        k = s * TAU3
        mod = lambda X: 0.5 * ((1 + q) * X + P * (k @ X + X @ k) + (1 - q) * (k @ X @ k))
        R2m, A2m = mod(R2), mod(A2)
        # block components: L^s = hL + s hTS (idx 0, 3), T^s = hT + s hLS (idx 1, 2)
        comp = [(0, 3), (1, 2)]
        for j, hb in enumerate(basis):  # unit distribution in component j of block s
            K1 = R1 @ hb - hb @ A1
            K2m = mod(R2 @ hb - hb @ A2)
            X1 = K1 @ A2m - R2m @ K1  # terms with g1^K (h1)
            X2 = (R1 @ K2m - K2m @ A1)                      # terms with g2^K (h2)
            for i, w in enumerate(basis):  # flux component i: Tr[w X]
                f1 = -np.real(np.trace(w @ X1, axis1=-2, axis2=-1)) / (8 * r)
                f2 = -np.real(np.trace(w @ X2, axis1=-2, axis2=-1)) / (8 * r)
                # flux_i^s = f1 * h1_j^s + f2 * h2_j^s; map blocks to the 4 components
                ri, si = comp[i]
                cj, sj = comp[j]
                for row, rs in ((ri, 0.5), (si, 0.5 * s)):
                    for col, cs in ((cj, 1.0), (sj, s)):
                        A[..., row, col] += rs * cs * f1
                        B[..., row, col] += rs * cs * f2
    return A, B


def _harmonic_el(ops, v):
    """Harmonic mean over each element's nodes of nodal values v (..., n) > 0."""
    return (ops.d + 1) / np.sum(1.0 / v[..., ops.t], axis=-2)


def _coefficients(g, gt):
    """Seed Eqs. 5-6 coefficients from (gamma, gamma~) at points: dict of arrays."""
    p = g * gt
    sig = np.sqrt(-p + 0j)
    sig = np.where(np.real(sig * np.conj(g)) >= 0, sig, -sig)
    c = (1 + sig * sig) / (1 - sig * sig)  # cosh th
    s = 2 * sig / (1 - sig * sig)  # sinh th
    rc, rs, is_ = np.real(c), np.real(s), np.imag(s)
    return dict(DL=rc**2 - rs**2, DT=rc**2 + is_**2, aTT=is_, aLSLS=rc**2 - is_**2, aTSTS=rc**2 + rs**2)


@dataclass
class KineticResult:
    """Distribution functions h[:, :, k] for k = (L, T, LS, TS), shape (n_E, n_nodes, 4)."""

    spectral: object
    h: np.ndarray
    coeff_el: dict
    coeff_node: dict
    jS_el: np.ndarray
    floor: float
    contacts: dict = None  # the reservoirs the distributions were solved with (kinetic(contacts=...) included)

    @property
    def hL(self):
        return self.h[..., 0]

    @property
    def hT(self):
        return self.h[..., 1]

    @property
    def hLS(self):
        return self.h[..., 2]

    @property
    def hTS(self):
        return self.h[..., 3]

    @property
    def energies(self):
        return np.real(self.spectral.energies)

    def _integrate(self, f, what, rtol, scale=None):
        """Int dE f over the whole axis for an even integrand f (a one-signed grid is folded).

        The grid is checked twice (``rtol=None`` skips both): it must sample every
        window where the reservoirs are out of equilibrium with each other
        (:func:`check_windows`), and the estimated truncation and resolution
        errors of the integral itself must stay below ``rtol`` (:func:`usadel.quadrature.even_integral`).
        """
        if rtol is not None:
            check_windows(self.energies, self.contacts, what, rtol)
        return even_integral(self.energies, f, scale=scale, what=what, rtol=rtol)

    def spectral_currents(self):
        """Per-element (sigma/D) j for L, T, LS, TS: shape (n_E, n_el, 4, dim)."""
        ops = self.spectral.device.operators
        hb, gh = ops.element_values(np.moveaxis(self.h, -1, 0))  # (4, n_E, n_el), (4, n_E, n_el, dim)
        DL, DT = self.coeff_el["DL"], self.coeff_el["DT"]
        jS = self.jS_el  # n_E, n_el, dim (Im jE / D)
        sd = ops.sigma_e[None, :, None]
        j = np.empty(gh.shape[1:3] + (4, gh.shape[-1]))
        j[..., 0, :] = sd * (-DL[..., None] * gh[0] + jS * hb[1][..., None])
        j[..., 1, :] = sd * (-DT[..., None] * gh[1] + jS * hb[0][..., None])
        j[..., 2, :] = sd * (-DT[..., None] * gh[2] + jS * hb[3][..., None])
        j[..., 3, :] = sd * (-DL[..., None] * gh[3] + jS * hb[2][..., None])
        return j

    def current(self, tag, kind="charge", *, rtol=RTOL):
        """Total current through a contact, a boundary tag or an interface.

        ``tag``: a contact (current into the device from its reservoir), any
        other boundary tag (insulating: 0), or a region pair ``(a, b)`` (current
        from region a into region b across their interface).
        kind: "charge" (-(sigma/2D) Int jT), "energy" (-(sigma/2D) Int E jL),
        "spin" (-(sigma/2D) Int jTS), "spin_energy" (-(sigma/2D) Int E jLS).
        Tunnel contacts and interfaces use the barrier flux itself (exact for the
        discrete system); clean contacts the volume-weighted flux
        -Int J.grad w - Int S w; clean interfaces the discrete reaction flux.
        The energy integral checks its grid to ``rtol`` (see ``_integrate``).
        """
        kinds = {"charge": (1, None, "even"), "energy": (0, "E", "even"),
                 "spin": (3, None, "even"), "spin_energy": (2, "E", "even")}
        if not isinstance(kind, str) or kind not in kinds:
            raise UsadelError(f"current: kind must be one of {list(kinds)}, got {kind!r}")
        if not (isinstance(tag, str) or (isinstance(tag, tuple) and all(isinstance(r, str) for r in tag))):
            raise UsadelError(f"current: tag must be a boundary tag (str) or a pair of region names (tuple), "
                              f"got {tag!r}")
        comp, weight, parity = kinds[kind]
        dev = self.spectral.device
        ops = dev.operators
        E = self.energies
        what = f"current({tag!r}, kind={kind!r})"
        ew = np.abs(E) if weight == "E" else np.ones(E.size)
        if isinstance(tag, tuple):
            f = self._interface_flux(tag)[..., comp] * (E if weight == "E" else 1.0)  # from tag[0] into tag[1]
            return -0.5 * self._integrate(f, what, rtol, scale=self._conductance(tag) * ew)
        if tag not in dev.contacts:
            if tag in (dev.mesh.boundaries or {}):
                return 0.0  # insulating boundary: no current of any kind (natural condition)
            raise UsadelError(f"current: {tag!r} is neither a contact, a boundary tag nor an interface "
                              f"(region pair); contacts are {list(dev.contacts)}")
        res = dev.contacts[tag]
        if res.barrier is not None:
            spec = -self._contact_flux(tag)[..., comp]  # into the device, n_E
        else:
            w = flux_weight(ops, tag)
            _, gw = ops.element_values(w)
            j = self.spectral_currents()[..., comp, :]
            S = self._sources()[..., comp]  # lumped div J per node, n_E x n
            spec = -np.einsum("eld,ld->e", j, ops.vol[:, None] * gw) - S @ w
        f = spec * (E if weight == "E" else 1.0)
        # spec is the flux of (sigma/D) j into the device; I = -(sigma/2D) Int dE j
        return -0.5 * self._integrate(f, what, rtol, scale=self._conductance(tag) * ew)

    def _conductance(self, tag):
        """Normal-state conductance scale of a contact or interface: the flux per unit h difference.

        Sets the noise floor of the current integrals (an integrand that is
        rounding noise next to it is zero, however rough it looks).
        """
        dev = self.spectral.device
        ops = dev.operators
        if isinstance(tag, tuple):
            canon = tuple(sorted(tag, key=dev.region_names.index))
            for link in dev.boundary.barriers:
                if link.regions == canon:
                    return float(np.sum(link.weights)) / link.barrier.r
            nodes = np.unique(dev.topology.interfaces[canon][0])
            return float(np.sum(np.abs(ops.K_data[ops.diag[nodes]])))
        contact = dev.boundary.contacts[tag]
        if not contact.clean:
            return contact.conductance
        w = flux_weight(ops, tag)
        return float(w @ (ops.K @ w))

    def _interface_flux(self, key):
        """Spectral flux of (sigma/D) j (4 components) from region key[0] into key[1], (n_E, 4).

        Tunnel interfaces: the barrier flux itself. Clean interfaces: the
        consistent (reaction) flux, i.e. the part of the discrete equations at
        the interface nodes assembled from region key[1]'s elements, which is
        exactly conservative for the discrete solution.
        """
        dev = self.spectral.device
        ops = dev.operators
        names = dev.region_names
        if len(key) != 2 or any(r not in names for r in key):
            raise UsadelError(f"current: interface {key!r} must be a pair of region names from {list(names)}")
        a, b = key
        canon = tuple(sorted(key, key=names.index))
        st = self._state
        if canon in dev.interfaces:
            k = list(dev.interfaces).index(canon)
            pa, pb, wts, sides = st["iface"][k]
            ia, ib, A, B = sides[0]  # flux out of the canonical first region
            f = np.einsum("enij,enj->eni", A, self.h[:, ia]) + np.einsum("enij,enj->eni", B, self.h[:, ib])
            out_first = np.einsum("eni,n->ei", f, wts)
            return out_first if a == canon[0] else -out_first
        na, nb, _, _ = dev.topology.interfaces.get(canon, (None, None, None, None))
        if na is None:
            raise UsadelError(f"current: regions {a!r} and {b!r} do not touch")
        nodes = np.unique(na)
        kb = names.index(b)
        # sum_i row_i (region b only) = -Int_{dB} J . n_out(b) = flux into b through the interface
        return self._region_rows(kb, nodes).sum(axis=1)

    def _region_rows(self, kreg, nodes):
        """Rows of the discrete operator at ``nodes`` assembled from region ``kreg`` only, times h.

        By parts, sum over the nodes = -Int J . n_out over that region's boundary
        there (sink terms cancel): the flux into the region. Shape (n_E, len(nodes), 4).
        """
        sp = self.spectral
        dev = sp.device
        ops = dev.operators
        mask = (ops.region == kreg).astype(float)
        d1 = ops.d + 1
        nE = self.h.shape[0]
        gg = np.einsum("eid,ejd->eij", ops.grad, ops.grad) * (mask * ops.sigma_e * ops.vol)[:, None, None]
        DL, DT = self.coeff_el["DL"], self.coeff_el["DT"]
        sel = np.isin(ops.t, nodes)  # d+1, n_el: local rows at the nodes
        out = np.zeros((nE, len(nodes), 4))
        pos = {n: i for i, n in enumerate(nodes)}
        cj = -np.einsum("Eed,eid->Eei", self.jS_el, ops.grad) * (ops.w_el * mask)[None, :, None]
        els = np.nonzero(sel.any(axis=0) & (mask > 0))[0]
        ht = self.h[:, ops.t[:, els], :]  # nE, d+1, nels, 4
        pair = {0: 1, 1: 0, 2: 3, 3: 2}
        for li in range(d1):
            rows_here = sel[li, els]
            if not rows_here.any():
                continue
            e_sel = els[rows_here]
            idx = np.array([pos[n] for n in ops.t[li, e_sel]])
            for c in range(4):
                Dc = DL if c in (0, 3) else DT
                stiff = np.einsum("Ee,ej,Eej->Ee", Dc[:, e_sel], gg[e_sel, li, :], ht[:, :, rows_here, c].transpose(0, 2, 1))
                conv = cj[:, e_sel, li] * ht[:, :, rows_here, pair[c]].sum(axis=1)
                for q, node_i in enumerate(idx):
                    out[:, node_i, c] += stiff[:, q] + conv[:, q]
        # lumped sinks from region kreg's elements at these nodes
        wreg = ops.incidence @ (ops.w_el / ops.D_e * mask)
        sink_full = self._state["sink"]
        lump_all = ops.lump_sd
        frac = np.divide(wreg, lump_all, out=np.zeros_like(lump_all), where=lump_all > 0)
        out += (sink_full[:, nodes] * frac[nodes][None, :, None]) * self.h[:, nodes]
        return out

    def _contact_flux(self, tag):
        """Barrier flux out of the device through tunnel contact ``tag`` (n_E, 4)."""
        if tag not in self._state["tunnel"]:
            raise UsadelError(f"{tag!r} is not a tunnel contact")
        nodes, wts, A, B, hres = self._state["tunnel"][tag]
        f = np.einsum("enij,enj->eni", A, self.h[:, nodes]) + np.einsum("enij,ej->eni", B, hres)
        return np.einsum("eni,n->ei", f, wts)

    def _sources(self):
        """Lumped div(sigma/D j) per node and component (the bulk sink terms)."""
        st = self._state
        return -st["sink"] * self.h

    def _states(self, states_only):
        """Mask of (E, node) where quasiparticles propagate (DL/D > 1e-6).

        Below a gap DL, aTSTS and the tunnel injection all vanish with the Dynes
        eta, so hT/hTS there are undetermined ratios of vanishing terms (measured
        O(1) in the seed device) and multiply zero density of states in every
        physical observable: they are excluded, which is the seed's hTS = 0 below
        the gap. DL/D is O((eta/Delta)^2) below a BCS gap and 1 above it, so the
        threshold separates the two cleanly (a DOS threshold does not: the Dynes
        DOS near the edge is itself ~eta). Normal metals: DL = D, nothing changes.
        """
        return (self.coeff_node["DL"] > 1e-6) if states_only else 1.0

    def spin_accumulation(self, states_only=True, *, rtol=RTOL):
        """mu_s(x) = -(1/2) Int dE hTS per node (over energies with states, see ``_states``).

        The energy grid is checked to ``rtol`` (see ``_integrate``); distributions
        are O(1), so the noise floor is set by |h| <= 1.
        """
        return -0.5 * self._integrate(self.hTS * self._states(states_only), "spin_accumulation", rtol,
                                      scale=np.ones_like(self.hTS))

    def charge_imbalance(self, states_only=True, *, rtol=RTOL):
        """Charge-imbalance potential -(1/2) Int dE hT per node (over energies with states, grid checked)."""
        return -0.5 * self._integrate(self.hT * self._states(states_only), "charge_imbalance", rtol,
                                      scale=np.ones_like(self.hT))

    def probe_weights(self, where):
        """(nodes, weights summing to 1) of a point (P1 interpolation) or a boundary tag (facet measure)."""
        if isinstance(where, str):
            nodes, w = self.spectral.device.operators.boundary_nodes(where)
            return nodes, w / w.sum()
        from .fem import locate

        el, bary = locate(self.spectral.device, np.atleast_2d(where))
        return self.spectral.device.topology.t[:, el[0]], bary[:, 0]

    def probe_potential(self, where, polarization=0.0, T=None, states_only=True):
        """Zero-current potential mu_P of a weakly coupled tunnel probe.

        ``where``: a point, or a boundary tag for a finite contact (the tunnel
        currents add up over its area, so N and N h are averaged over it).

        The probe is a normal (ferromagnetic) electrode in equilibrium,
        f0(E - mu_P) at temperature ``T``, with spin conductances
        G_up/dn = G (1 +- P)/2. Its spin-sigma tunnel current is the Nambu (1,1)
        trace of the Keldysh matrix current (the probe has no pair amplitude),

            I_sigma ~ G_sigma Int dE N(E) [hT_P(E) - hT(E) - sigma hTS(E)],
            hT_P = 1 - f0(E - mu_P) - f0(-E - mu_P),

        with N, hT, hTS of the device at the point (``test_probe_formula_is_the_tunnel_current``
        checks this against the kinetic solver's own barrier flux). Zero current:

            Int dE N hT_P(mu_P) = Int dE N (hT + P hTS).

        In the normal state the left side is -2 mu_P exactly, so mu_P(P) - mu_P(-P)
        is the seed's -P Int dE hTS; in a superconductor it is weighted by N and
        normalised by the thermally weighted DOS (small-signal limit
        mu_P = -Int N (hT + P hTS) / (2 Int N (-df0/dE))), and it is nonlinear once
        mu_P is comparable with T. Energies without propagating states (see
        ``_states``) are left out: there N ~ eta, and the subgap hTS, which relaxes
        only through O(eta^2) terms, approaches the injected value, so they would
        add an O(eta) error that is not small next to the exponentially small
        thermal weight at low T (measured: 28% of the signal at T = 0.5 Tc,
        eta = 1e-6 Delta in the seed device).
        The left side is integrated on a grid fine on the scale T (N interpolated
        linearly), with the N = 1 tail beyond the last energy in closed form.
        """
        from scipy.optimize import brentq

        if T is None or not np.isfinite(T) or T <= 0:
            raise UsadelError(f"probe_potential: the probe temperature T must be positive, got {T!r}")
        if not -1.0 <= polarization <= 1.0:
            raise UsadelError(f"probe_potential: polarization must be in [-1, 1], got {polarization!r}")
        E = self.energies
        full = not np.all(E >= 0)
        nodes, w = self.probe_weights(where)
        Nn = self.spectral.dos()[:, nodes]
        if states_only:
            Nn = Nn * self._states(True)[:, nodes]
        N = Nn @ w
        hn = self.h[:, nodes]
        rhs = np.trapezoid((Nn * (hn[..., 1] + polarization * hn[..., 3])) @ w, E)
        e_top = E.max()
        Ef = np.union1d(E, np.linspace(E.min(), e_top, int(np.ceil((e_top - E.min()) / (0.01 * T))) + 2))
        Nf = np.interp(Ef, E, N)

        def tail(mu):  # Int_{e_top}^inf [f0(E + mu) - f0(E - mu)] dE, N = 1 there
            return T * (np.logaddexp(0.0, -(e_top + mu) / T) - np.logaddexp(0.0, -(e_top - mu) / T))

        def lhs(mu):
            hP = fermi(Ef + mu, T) - fermi(Ef - mu, T)
            return np.trapezoid(Nf * hP, Ef) + (2 if full else 1) * N[-1] * tail(mu)

        span = e_top - 10.0 * T
        if span <= 0 or (lhs(-span) - rhs) * (lhs(span) - rhs) > 0:
            raise UsadelError(f"probe_potential: no zero-current potential within the energy grid "
                              f"(|mu_P| < {max(span, 0):.3g}); extend the grid to higher energies")
        return brentq(lambda m: lhs(m) - rhs, -span, span, xtol=1e-14 * max(1.0, T), rtol=1e-12)

    def distribution(self, point):
        """(hL, hT, hLS, hTS) at a point, shape (n_E, 4)."""
        from .fem import locate

        el, bary = locate(self.spectral.device, np.atleast_2d(point))
        t = self.spectral.device.topology.t
        return np.einsum("kn,ekc->ec", bary[:, :1], self.h[:, t[:, el[0]]])


def kinetic(sp, floor=1e-9, contacts=None):
    """Solve seed Eqs. 4-7 at every energy of a spectral result.

    Parameters
    ----------
    sp : SpectralResult
        Real energies; either all >= 0 (parity is used for integrals) or a
        grid symmetric enough to integrate over directly.
    floor : float
        Relative floor of DL, DT (see module docstring).
    contacts : dict, optional
        Replacement reservoirs {tag: Reservoir} for some contacts, to solve other
        biases, temperatures or distributions on the same spectral result. Only
        the kinetic data (T, mu, mu_s, distribution) may differ: delta, phase and
        barrier must equal the device's, since the spectral solution depends on them.
    """
    from .retarded import SpectralResult, bulk_gamma

    if not isinstance(sp, SpectralResult):
        raise UsadelError(f"kinetic: expected a SpectralResult, got {type(sp).__name__}")
    if np.iscomplexobj(sp.energies) and np.any(np.imag(sp.energies) != 0):
        raise UsadelError("kinetic: needs real energies")
    floor = real("kinetic: floor", floor, positive=True, hi=1e-2)
    dev = sp.device
    if not dev.contacts:
        raise UsadelError("kinetic: the device has no contacts; without a reservoir the distribution "
                          "functions are undetermined")
    floating = dev.components_without_contact()
    if floating:
        raise UsadelError(f"kinetic: parts of the device touch no contact (regions {floating}); their "
                          f"distribution functions are undetermined: attach a reservoir to each part")
    ops = dev.operators
    E = np.real(sp.energies)
    contacts = _replace_contacts(dev, contacts)
    for tag, res in contacts.items():
        if res.T is None and res.distribution is None:
            raise UsadelError(f"kinetic: contact {tag!r} needs a temperature T (or a distribution)")
    nE, n = E.size, ops.n
    # coefficients at element centroids (diffusion, jS) and nodes (sinks)
    gb, _ = ops.element_values(sp.gamma)
    gtb, _ = ops.element_values(sp.gamma_t)
    ce = _coefficients(gb, gtb)
    cn = _coefficients(sp.gamma, sp.gamma_t)
    jS = np.real(sp.matrix_current()) * -1.0  # Im jE / D = -Re (g grad g)_11
    # DL per element: min(centroid, harmonic mean of the nodes), see the module docstring
    # (Andreev mirror); for smooth DL both are O(h^2) accurate
    DL = np.maximum(np.min([ce["DL"], _harmonic_el(ops, np.maximum(cn["DL"], floor))], axis=0), floor)
    DT = np.maximum(ce["DT"], floor)
    ce = dict(ce, DL=DL, DT=DT)
    sd = ops.lump_sd  # sigma/D lumped
    cD = np.abs(_delta_lumped(sp))
    csf = ops.lump(ops.w_el / ops.D_e * ops.tau_sf_inv_e)
    sink = np.zeros((nE, n, 4))
    sink[..., 1] = 2 * cD * cn["aTT"]
    sink[..., 2] = 2 * cD * cn["aTT"] + csf * cn["aLSLS"]
    sink[..., 3] = csf * cn["aTSTS"]
    d1 = ops.d + 1
    blocks = np.zeros((nE, 4, 4, ops.nnz))
    gg = np.einsum("eid,ejd->eij", ops.grad, ops.grad) * (ops.sigma_e * ops.vol)[:, None, None]
    kL = (ops.scatter @ (DL[:, :, None, None] * gg[None]).reshape(nE, -1).T).T
    kT = (ops.scatter @ (DT[:, :, None, None] * gg[None]).reshape(nE, -1).T).T
    # -Int (sigma/D) jS h_j grad v_i : local[i, j] = -(sigma vol/(d+1)) jS . grad_i
    cj = -np.einsum("Eed,eid->Eei", jS, ops.grad) * ops.w_el[None, :, None]
    cloc = np.broadcast_to(cj[..., None], (nE, ops.n_el, d1, d1))
    C = (ops.scatter @ cloc.reshape(nE, -1).T).T
    for i, k in ((0, kL), (1, kT), (2, kT), (3, kL)):
        blocks[:, i, i] = k
    for i, j in ((0, 1), (1, 0), (2, 3), (3, 2)):
        blocks[:, i, j] = C
    for c in range(4):
        blocks[:, c, c, ops.diag] += sink[..., c]
    rhs = np.zeros((nE, n, 4))
    # tunnel contacts
    tunnel = {}  # by tag: one Reservoir object may serve several contacts
    h_fixed = {}
    for tag, c in dev.boundary.with_reservoirs(contacts).contacts.items():
        nodes, wts, res = c.nodes, c.weights, c.reservoir
        hres = reservoir_h(res, E)  # nE x 4
        if res.barrier is None:
            h_fixed[tag] = (nodes, hres)
            continue
        gr, gtr = bulk_gamma(E + 1j * sp.eta, res.delta * np.exp(1j * res.phase))
        A, B = tunnel_flux_matrices(sp.gamma[:, nodes], sp.gamma_t[:, nodes], gr[:, None], gtr[:, None],
                                    res.barrier.r, res.barrier.polarization)
        for a in range(4):
            for b in range(4):
                blocks[:, a, b, ops.diag[nodes]] += wts * A[..., a, b]
        rhs[:, nodes] -= np.einsum("n,enab,eb->ena", wts, B, hres)
        tunnel[tag] = (nodes, wts, A, B, hres)
    # tunnel interfaces between regions
    iface = []
    for (pa, pb, wts, bar), (pab, pba) in zip(ops.pairs, ops.pair_pos):
        sides = []
        for ia, ib, pos_ab in ((pa, pb, pab), (pb, pa, pba)):
            A, B = tunnel_flux_matrices(sp.gamma[:, ia], sp.gamma_t[:, ia], sp.gamma[:, ib], sp.gamma_t[:, ib],
                                        bar.r, bar.polarization)
            for a in range(4):
                for b in range(4):
                    blocks[:, a, b, ops.diag[ia]] += wts * A[..., a, b]
                    blocks[:, a, b, pos_ab] += wts * B[..., a, b]
            sides.append((ia, ib, A, B))
        iface.append((pa, pb, wts, sides))
    _check_finite(E, blocks, "the kinetic coefficients")
    solver = ops.solver(4)
    rows = []
    u0 = np.zeros((nE, n, 4))
    for tag, (nodes, hres) in h_fixed.items():
        u0[:, nodes] = hres[:, None, :]
        rows.append((4 * nodes[:, None] + np.arange(4)).ravel())
    rows = np.concatenate(rows) if rows else np.zeros(0, int)
    # move known Dirichlet values to the right-hand side, then identity rows;
    # energies in chunks (the banded batch solve of all energies at once needs
    # ~(2 bw + 1) x n_E x 4 n complex entries: 7 GB for 2400 energies x 2000 nodes)
    full = rhs.reshape(nE, -1).copy()
    x = np.empty((nE, 4 * n))
    chunk = max(1, int(2e7 // ((2 * solver.bw + 1) * solver.N + 16 * ops.nnz)))
    for s in range(0, nE, chunk):
        sl = slice(s, min(nE, s + chunk))
        data = solver.full_data(blocks[sl].astype(complex)).real
        if rows.size:
            full[sl] -= solver.matvec(data, u0[sl].reshape(data.shape[0], -1))
            full[sl, rows] = 0.0
            data = solver.fix_rows(data, rows)
        x[sl] = solver.solve(data, full[sl]).real
    x = x.reshape(nE, n, 4) + u0
    _check_finite(E, x, "the distribution functions")
    kr = KineticResult(spectral=sp, h=x, coeff_el=ce, coeff_node=cn, jS_el=jS, floor=floor, contacts=contacts)
    kr._state = dict(tunnel=tunnel, sink=sink, iface=iface)
    return kr


def _check_finite(E, arr, what):
    """Raise naming the energies where ``arr`` (n_E, ...) is not finite (never return NaN)."""
    bad = ~np.all(np.isfinite(arr.reshape(E.size, -1)), axis=1)
    if bad.any():
        raise ConvergenceError(f"kinetic: {what} are not finite at {int(bad.sum())} of {E.size} energies, "
                               f"e.g. E = {E[bad][:5].tolist()} (a gap edge with eta = 0?)", energies=E[bad])


def check_windows(E, contacts, what="energy integral", rtol=RTOL):
    """The grid must sample every energy window where the reservoirs are out of equilibrium with each other.

    An integrand that vanishes at every grid point says nothing about the
    windows between them: a grid 1, 2, 3, ... misses a bias window [0, 0.5] at
    low T completely and integrates to 0. So, where reservoirs differ (in T,
    mu, mu_s or a prescribed distribution), the grid must reach past every
    energy where their distributions differ by more than ``rtol``/100 (beyond
    it the missing part is below rtol of a window's integral), and every Fermi
    edge E = |mu +- mu_s| of a thermal reservoir with a differing neighbour
    must have at least 3 energies within 3 T of it (on either sign for a grid
    of both signs).
    """
    res = list(contacts.values())
    if all(r.distribution is None and r.mu == 0 and r.mu_s == 0 and r.T == res[0].T for r in res):
        return  # a common equilibrium: no window to cover
    E = np.asarray(E, float)
    top = 1e4 * max([abs(r.mu) + abs(r.mu_s) + (r.T or 0.0) for r in res] + [np.max(np.abs(E))])
    s = np.unique(np.r_[np.geomspace(1e-6 * top, top, 4000), np.linspace(0, top, 4000)])
    hs = [reservoir_h(r, s) for r in res]
    # nonthermal parts (hT, hLS, hTS) of each reservoir and hL differences between reservoirs
    dev = np.max([np.max(np.abs(h[..., 1:]), axis=-1) for h in hs]
                 + [np.abs(h[..., 0] - hs[0][..., 0]) for h in hs[1:]], axis=0)
    off = dev > 1e-2 * rtol
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
                if np.count_nonzero(np.abs(a - sign * edge) <= 3 * r.T) < 3:
                    raise UsadelError(f"{what}: the energy grid does not resolve the Fermi edge at "
                                      f"E = {sign * edge:.4g} (T = {r.T:.3g}): fewer than 3 energies within 3 T of "
                                      f"it; refine the grid there (usadel.observables.energy_grid with mu=...)")


def _replace_contacts(dev, contacts):
    from .device import Reservoir

    out = dict(dev.contacts)
    for tag, res in (contacts or {}).items():
        if tag not in dev.contacts:
            raise UsadelError(f"kinetic: contacts: {tag!r} is not a contact of the device "
                              f"(contacts: {sorted(dev.contacts)})")
        if not isinstance(res, Reservoir):
            raise UsadelError(f"kinetic: contacts[{tag!r}] must be a Reservoir, got {type(res).__name__}")
        old = dev.contacts[tag]
        same_bar = (old.barrier is None) == (res.barrier is None) and (
            old.barrier is None or (old.barrier.r == res.barrier.r
                                    and old.barrier.polarization == res.barrier.polarization))
        if res.delta != old.delta or res.phase != old.phase or not same_bar:
            raise UsadelError(f"kinetic: contacts[{tag!r}] changes delta, phase or barrier, which the "
                              f"spectral solution depends on; solve the spectral problem again instead")
        out[tag] = res
    return out


def _delta_lumped(sp):
    from .retarded import delta_weights

    ops = sp.device.operators
    return sp.delta * ops.lump_sd  # the pairing term of the spectral equation
