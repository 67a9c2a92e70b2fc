r"""Kinetic equations for hL, hT, hLS, hTS (seed Eqs. 4-7) as linear FEM problems.

Bulk (seed Eqs. 4, 7 with coefficients Eqs. 5-6, all from th of the spectral result):

    div jL  = 0                                     jL  = -DL grad hL  + Im(jE) hT
    div jT  = -2 |Delta| aTT hT                     jT  = -DT grad hT  + Im(jE) hL
    div jLS = -(2 |Delta| aTT + aLSLS/tau_sf + DT/tau_so) hLS   jLS = -DT grad hLS + Im(jE) hTS
    div jTS = -(aTSTS/tau_sf + DL/tau_so) hTS                   jTS = -DL grad hTS + Im(jE) hLS

(DL, DT in the sinks in units of D.) Spin-orbit scattering (``Material.tau_so``, at
h = 0) relaxes each spin mode with that mode's own diffusion coefficient, spin flip
with aLSLS, aTSTS; in the normal state both give 1/tau_s = 1/tau_sf + 1/tau_so
(``docs/derivations.md``, Spin relaxation in the kinetic equations;
``docs/derive_spinorbit.py``). Each equation is multiplied by sigma/D (so fluxes are
continuous at clean interfaces). The spin blocks s = +-1 carry (hL + s hTS, hT + s hLS): the bulk
equations without spin flip are the 2x2 Nambu kinetic equations in each block.
With an exchange field (a spin-split spectral result) each block has its own
coefficients, which couples hL with hTS and hT with hLS, and spin flip or spin-orbit
scattering add a 4x4 sink coupling the blocks (``usadel.spin_relaxation``); such
results are solved in the block basis (``usadel.spin_kinetics``,
``usadel.kinetic_assembly``) and h is returned in (L, T, LS, TS).

Contacts and interfaces: a clean reservoir fixes all four h (Dirichlet), except
that a superconducting reservoir below its gap fixes only hT and hLS (an
Andreev mirror: ``usadel.kinetic_solve``). A
tunnel barrier, on a contact or between mesh regions, carries the Keldysh part of
the spin-polarised Kupriyanov-Lukichev matrix current: the flux out of side 1 is
A h1 + B h2 with the 4x4 matrices of ``usadel.bulk.tunnel_flux_matrices``
(evaluated numerically from g^R on both sides; ``docs/derivations.md``, Kinetic
boundary conditions). In the normal state this is G_up/dn = G (1 +- P)/2 for
spin-up/down electrons, and charge and spin currents are conserved across it.

Coefficients: seed Eqs. 5-6 from the retarded solution, with the floor of the
degenerate diffusion coefficients and the Andreev-mirror rule for DL, are the
coefficients stage (``usadel.coefficients``); which coefficient, partner mode and
sink each equation has is its table ``MODES``, read by the assembly
(``usadel.kinetic_assembly``), the current densities and the interface rows here.

Observables (``KineticResult``; units and prefactors in ``docs/conventions.md``):
charge current I = -(sigma/(2D)) Int dE jT (a normal wire has I = V/R_N with mu = eV),
energy current -(sigma/(2D)) Int dE E jL, spin current -(sigma/(2D)) Int dE jTS,
spin accumulation mu_s = -(1/2) Int dE hTS.
"""

from dataclasses import dataclass

import numpy as np

from .bulk import check_windows, fermi, probe_zero_current, reservoir_h, tunnel_flux_matrices
from .coefficients import MODES, N_MODES
from .errors import UsadelError
from .fem import flux_weight, locate
from .kinetic_assembly import (bulk_blocks, check_finite, contact_rows, interface_rows, mode_coefficients, mode_view,
                               to_solve)
from .kinetic_solve import released_modes, solve_modes
from .spin_kinetics import BASIS, split_probe_potential
from .boundary import kinetic_reservoirs
from .quadrature import RTOL, even_integral
from .retarded import SpectralResult
from .validate import real
from .results import ResultMixin

__all__ = ["kinetic", "KineticResult", "check_windows", "reservoir_h", "fermi", "tunnel_flux_matrices"]

DEFAULT_FLOOR = 1e-9  #: default relative floor of DL, DT (``usadel.coefficients``): currents change by O(floor)
MAX_FLOOR = 1e-2  #: largest accepted floor: above it the floored coefficients would change currents visibly
STATES_THRESHOLD = 1e-6  #: DL/D above which quasiparticles propagate: O((eta/Delta)^2) below a BCS gap, 1 above


@dataclass(repr=False)
class KineticResult(ResultMixin):
    """Distribution functions h[:, :, k] for k = (L, T, LS, TS), shape (n_E, n_nodes, 4)."""

    spectral: object
    h: np.ndarray
    coeff_el: dict
    coeff_node: dict
    jS_el: np.ndarray
    floor: float
    contacts: dict = None  # the reservoirs the distributions were solved with (kinetic(contacts=...) included)

    hL = property(lambda self: self.h[..., 0], doc="Energy mode hL (n_E, n_nodes).")
    hT = property(lambda self: self.h[..., 1], doc="Charge mode hT (n_E, n_nodes).")
    hLS = property(lambda self: self.h[..., 2], doc="Spin-energy mode hLS (n_E, n_nodes).")
    hTS = property(lambda self: self.h[..., 3], doc="Spin mode hTS (n_E, n_nodes).")

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
        rtol = real(f"{what}: rtol", rtol, positive=True, allow_none=True)
        if rtol is not None:
            check_windows(self.energies, self.contacts, what, rtol)
        return even_integral(self.energies, f, scale=scale, what=what, rtol=rtol)

    def _modes(self):
        """Per-row coefficients of the solve basis (``usadel.kinetic_assembly.ModeCoefficients``)."""
        st = self._state
        return mode_view(self.coeff_el, self.coeff_node, self.jS_el, st["sink"], st.get("blocks"))

    def _u(self, md):
        """The distributions in the solve basis of ``md`` (h itself unless spin split)."""
        return to_solve(md.split, self.h)

    @staticmethod
    def _to_h(md, x):
        """Solve-basis components (..., 4) back to (L, T, LS, TS)."""
        return x @ BASIS.T if md.split else x

    def spectral_currents(self):
        """Per-element (sigma/D) j_m = -(sigma/D) (D_m grad h_m - Im(jE) h_partner) per mode: (n_E, n_el, 4, dim).

        Spin split: the block currents of ``usadel.spin_kinetics``, written back in (L, T, LS, TS).
        """
        ops = self.spectral.device.operators
        md = self._modes()
        hb, gh = ops.element_values(np.moveaxis(self._u(md), -1, 0))  # (4, n_E, n_el), (4, n_E, n_el, dim)
        sd = ops.sigma_e[None, :, None]
        j = np.empty(gh.shape[1:3] + (N_MODES, gh.shape[-1]))
        for i, mode in enumerate(MODES):
            j[..., i, :] = sd * (-md.diff[i][..., None] * gh[i] + md.jS[i] * hb[mode.partner][..., None])
        return np.einsum("ij,...jd->...id", BASIS, j) if md.split else j

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
        kinds = {mode.current: (i, mode.energy_weighted) for i, mode in enumerate(MODES)}
        if not isinstance(kind, str) or kind not in kinds:
            raise UsadelError(f"current: kind must be one of {sorted(kinds)}, got {kind!r}")
        if not (isinstance(tag, str) or (isinstance(tag, tuple) and all(isinstance(r, str) for r in tag))):
            raise UsadelError(f"current: tag must be a boundary tag (str) or a pair of region names (tuple), "
                              f"got {tag!r}")
        comp, weighted = kinds[kind]
        dev = self.spectral.device
        ops = dev.operators
        E = self.energies
        what = f"current({tag!r}, kind={kind!r})"
        ew = np.abs(E) if weighted else np.ones(E.size)
        if isinstance(tag, tuple):
            f = self._interface_flux(tag)[..., comp] * (E if weighted else 1.0)  # from tag[0] into tag[1]
            return -0.5 * self._integrate(f, what, rtol, scale=self._conductance(tag) * ew)
        if tag not in dev.contacts:
            if tag in (dev.mesh.boundaries or {}):
                return 0.0  # insulating boundary: no current of any kind (natural condition)
            raise UsadelError(f"current: {tag!r} is neither a contact, a boundary tag nor an interface "
                              f"(region pair); contacts are {list(dev.contacts)}")
        contact = dev.boundary.contacts[tag]
        if not contact.clean:
            spec = -self._contact_flux(tag)[..., comp]  # into the device, n_E
            conductance = contact.conductance
        else:
            w = flux_weight(ops, tag)
            _, gw = ops.element_values(w)
            j = self.spectral_currents()[..., comp, :]
            md = self._modes()
            S = self._to_h(md, -md.apply_sink(self._u(md)))[..., comp]  # lumped div J per node (the sinks), n_E x n
            spec = -np.einsum("eld,ld->e", j, ops.vol[:, None] * gw) - S @ w
            conductance = float(w @ (ops.K @ w))
        f = spec * (E if weighted else 1.0)
        # spec is the flux of (sigma/D) j into the device; I = -(sigma/2D) Int dE j
        return -0.5 * self._integrate(f, what, rtol, scale=conductance * ew)

    def _conductance(self, tag):
        """Normal-state conductance scale of an interface (region pair): the flux per unit h difference.

        Sets the noise floor of the current integrals (an integrand that is
        rounding noise next to it is zero, however rough it looks); contacts
        compute theirs in ``current``.
        """
        dev = self.spectral.device
        ops = dev.operators
        canon = tuple(sorted(tag, key=dev.region_names.index))
        for link in dev.boundary.barriers:
            if link.regions == canon:
                return float(np.sum(link.weights)) / link.barrier.r
        nodes = np.unique(dev.topology.interfaces[canon][0])
        return float(np.sum(np.abs(ops.K_data[ops.diag[nodes]])))

    def _interface_flux(self, key):
        """Spectral flux of (sigma/D) j (4 components) from region key[0] into key[1], (n_E, 4).

        Tunnel interfaces: the barrier flux itself. Clean interfaces: the
        consistent (reaction) flux, i.e. the part of the discrete equations at
        the interface nodes assembled from region key[1]'s elements, which is
        exactly conservative for the discrete solution.
        """
        dev = self.spectral.device
        names = dev.region_names
        if len(key) != 2 or any(r not in names for r in key):
            raise UsadelError(f"current: interface {key!r} must be a pair of region names from {list(names)}")
        a, b = key
        canon = tuple(sorted(key, key=names.index))
        st = self._state
        if canon in dev.interfaces:
            k = list(dev.interfaces).index(canon)
            _, _, wts, sides = st["iface"][k]
            ia, ib, A, B = sides[0]  # flux out of the canonical first region
            f = np.einsum("enij,enj->eni", A, self.h[:, ia]) + np.einsum("enij,enj->eni", B, self.h[:, ib])
            out_first = np.einsum("eni,n->ei", f, wts)
            return out_first if a == canon[0] else -out_first
        na = dev.topology.interfaces.get(canon, (None,))[0]
        if na is None:
            raise UsadelError(f"current: regions {a!r} and {b!r} do not touch")
        nodes = np.unique(na)
        kb = names.index(b)
        # sum_i row_i (region b only) = -Int_{dB} J . n_out(b) = flux into b through the interface
        return self._region_rows(kb, nodes).sum(axis=1)

    def _region_rows(self, kreg, nodes):
        """Rows of the discrete operator at ``nodes`` assembled from region ``kreg`` only, times h.

        By parts, sum over the nodes = -Int J . n_out over that region's boundary
        there (sink terms cancel): the flux into the region. Shape (n_E, len(nodes), 4),
        in (L, T, LS, TS) (assembled in the solve basis, then transformed).
        """
        sp = self.spectral
        ops = sp.device.operators
        md = self._modes()
        u = self._u(md)
        mask = (ops.region == kreg).astype(float)
        gg = ops.local_stiffness(mask * ops.sigma_e * ops.vol)
        sel = np.isin(ops.t, nodes)  # d+1, n_el: local rows at the nodes
        out = np.zeros((u.shape[0], len(nodes), N_MODES))
        pos = {n: i for i, n in enumerate(nodes)}
        cj = {}
        for jS in md.jS:
            if id(jS) not in cj:
                cj[id(jS)] = -np.einsum("Eed,eid->Eei", jS, ops.grad) * (ops.w_el * mask)[None, :, None]
        els = np.nonzero(sel.any(axis=0) & (mask > 0))[0]
        ht = u[:, ops.t[:, els], :]  # nE, d+1, nels, 4
        for li in range(ops.d + 1):
            rows_here = sel[li, els]
            if not rows_here.any():
                continue
            e_sel = els[rows_here]
            idx = np.array([pos[n] for n in ops.t[li, e_sel]])
            for c, mode in enumerate(MODES):
                Dc = md.diff[c]
                stiff = np.einsum("Ee,ej,Eej->Ee", Dc[:, e_sel], gg[e_sel, li, :], ht[:, :, rows_here, c].transpose(0, 2, 1))
                conv = cj[id(md.jS[c])][:, e_sel, li] * ht[:, :, rows_here, mode.partner].sum(axis=1)
                for q, node_i in enumerate(idx):
                    out[:, node_i, c] += stiff[:, q] + conv[:, q]
        # lumped sinks from region kreg's elements at these nodes
        wreg = ops.incidence @ (ops.w_el / ops.D_e * mask)
        lump_all = ops.lump_sd
        frac = np.divide(wreg, lump_all, out=np.zeros_like(lump_all), where=lump_all > 0)
        out += frac[nodes][None, :, None] * md.apply_sink(u, nodes)
        return self._to_h(md, out)

    def _contact_flux(self, tag):
        """Barrier flux out of the device through tunnel contact ``tag`` (n_E, 4)."""
        if tag not in self._state["tunnel"]:
            raise UsadelError(f"{tag!r} is not a tunnel contact")
        nodes, wts, A, B, hres = self._state["tunnel"][tag]
        f = np.einsum("enij,enj->eni", A, self.h[:, nodes]) + np.einsum("enij,ej->eni", B, hres)
        return np.einsum("eni,n->ei", f, wts)

    def _states(self, states_only):
        """Mask of (E, node) where quasiparticles propagate (DL/D > ``STATES_THRESHOLD``).

        Below a gap DL, aTSTS and the tunnel injection all vanish with the Dynes
        eta, so hT/hTS there are undetermined ratios of vanishing terms (measured
        O(1) in the seed device) and multiply zero density of states in every
        physical observable: they are excluded, which is the seed's hTS = 0 below
        the gap. DL/D is O((eta/Delta)^2) below a BCS gap and 1 above it, so the
        threshold separates the two cleanly (a DOS threshold does not: the Dynes
        DOS near the edge is itself ~eta). Normal metals: DL = D, nothing changes.
        With an exchange field a distribution is kept where both spin blocks
        propagate (DL_s/D above the threshold for s = +-1): where only one block
        has states (Delta - |h| < |E| < Delta + |h| in a uniform spin-split BCS
        superconductor) the other block's a_s = hL - s hTS is such an undetermined
        ratio, so hL and hTS are not defined by the distributions alone there.
        """
        if not states_only:
            return 1.0
        md = self._modes()
        if not md.split:
            return self.coeff_node["DL"] > STATES_THRESHOLD
        return (md.DL_node[0] > STATES_THRESHOLD) & (md.DL_node[3] > STATES_THRESHOLD)

    def _masked_h(self, states_only):
        """h with the energies and nodes without propagating states zeroed (``_states``)."""
        return self.h * self._states(True)[..., None] if states_only else self.h

    def spin_accumulation(self, states_only=True, *, rtol=RTOL, nodes=None):
        """mu_s(x) = -(1/2) Int dE hTS per node (over energies with states, see ``_states``; per spin block if split).

        The energy grid is checked to ``rtol`` (see ``_integrate``); distributions
        are O(1), so the noise floor is set by |h| <= 1. ``nodes``: only at these nodes (index
        array), and the grid checked there only (a detector need not resolve every local gap
        edge of the device).
        """
        hTS = self._masked_h(states_only)[..., 3]
        if nodes is not None:
            hTS = hTS[:, np.asarray(nodes)]
        return -0.5 * self._integrate(hTS, "spin_accumulation", rtol, scale=np.ones_like(hTS))

    def charge_imbalance(self, states_only=True, *, rtol=RTOL):
        """Charge-imbalance potential -(1/2) Int dE hT per node (over energies with states, grid checked)."""
        hT = self._masked_h(states_only)[..., 1]
        return -0.5 * self._integrate(hT, "charge_imbalance", rtol, scale=np.ones_like(self.hT))

    def probe_weights(self, where):
        """(nodes, weights summing to 1) of a point (P1 interpolation) or a boundary tag (facet measure)."""
        if isinstance(where, str):
            nodes, w = self.spectral.device.operators.boundary_nodes(where)
            return nodes, w / w.sum()
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
        The left side is solved for mu_P by :func:`usadel.bulk.probe_zero_current`.
        A spin-split result uses the spin-resolved form (spin-sigma electrons see N_sigma, and
        the probe adds its own thermoelectric term): :func:`usadel.spin_kinetics.split_probe_potential`.
        """
        if T is None or not np.isfinite(T) or T <= 0:
            raise UsadelError(f"probe_potential: the probe temperature T must be positive, got {T!r}")
        if not -1.0 <= polarization <= 1.0:
            raise UsadelError(f"probe_potential: polarization must be in [-1, 1], got {polarization!r}")
        E = self.energies
        full = not np.all(E >= 0)
        nodes, w = self.probe_weights(where)
        md = self._modes()
        if md.split:  # per spin block: usadel.spin_kinetics.split_probe_potential
            u = self._u(md)[:, nodes]
            masks = [(md.DL_node[i][:, nodes] > STATES_THRESHOLD) if states_only else 1.0 for i in (0, 3)]
            dos = [self.spectral.dos(s)[:, nodes] * mk for s, mk in zip((1, -1), masks)]
            return split_probe_potential(E, [d @ w for d in dos], [(d * u[..., i]) @ w for d, i in zip(dos, (0, 3))],
                                         [(d * u[..., i]) @ w for d, i in zip(dos, (1, 2))], polarization, T, full)
        Nn = self.spectral.dos()[:, nodes]
        if states_only:
            Nn = Nn * self._states(True)[:, nodes]
        N = Nn @ w
        hn = self.h[:, nodes]
        rhs = np.trapezoid((Nn * (hn[..., 1] + polarization * hn[..., 3])) @ w, E)
        return probe_zero_current(E, N, rhs, T, full)

    def current_balance(self, kind="charge", *, rtol=RTOL):
        """Currents into the device through every contact, {tag: I}, and their sum.

        Solved with a self-consistent gap (``usadel.gap``/``usadel.solve``) the charge
        currents add up to zero. With a prescribed gap they need not: the kinetic
        equations convert quasiparticle current into supercurrent at a rate set by
        Delta, and a Delta that is not self-consistent does not conserve charge. The
        sum measures that (e.g. 0.299 in and 0.146 out of the shipped cross device).
        """
        currents = {tag: self.current(tag, kind, rtol=rtol) for tag in self.spectral.device.contacts}
        return currents, float(sum(currents.values()))

    def distribution(self, point):
        """(hL, hT, hLS, hTS) at a point, shape (n_E, 4)."""
        el, bary = locate(self.spectral.device, np.atleast_2d(point))
        t = self.spectral.device.topology.t
        return np.einsum("kn,ekc->ec", bary[:, :1], self.h[:, t[:, el[0]]])


def kinetic(sp, floor=DEFAULT_FLOOR, contacts=None):
    """Solve seed Eqs. 4-7 at every energy of a spectral result.

    Parameters
    ----------
    sp : SpectralResult
        Real energies; either all >= 0 (parity is used for integrals) or a
        grid symmetric enough to integrate over directly. A spin-split result
        (exchange field, with or without spin relaxation) is solved in the spin-block basis of
        ``usadel.spin_kinetics``; its ``coeff_el``/``coeff_node``/``jS_el`` are then spin averages.
    floor : float
        Relative floor of DL, DT (``usadel.coefficients``), in (0, ``MAX_FLOOR``].
    contacts : dict, optional
        Replacement reservoirs {tag: Reservoir} for some contacts, to solve other
        biases, temperatures or distributions on the same spectral result. Only
        the kinetic data (T, mu, mu_s, distribution) may differ: delta, phase, h and
        barrier must equal the device's, since the spectral solution depends on them.

    Returns
    -------
    KineticResult
    """
    if not isinstance(sp, SpectralResult):
        raise UsadelError(f"kinetic: expected a SpectralResult, got {type(sp).__name__}")
    if np.iscomplexobj(sp.energies) and np.any(np.imag(sp.energies) != 0):
        raise UsadelError("kinetic: needs real energies")
    floor = real("kinetic: floor", floor, positive=True, hi=MAX_FLOOR)
    dev = sp.device
    if not dev.contacts:
        raise UsadelError("kinetic: the device has no contacts; without a reservoir the distribution "
                          "functions are undetermined")
    floating = dev.components_without_contact()
    if floating:
        raise UsadelError(f"kinetic: parts of the device touch no contact (regions {floating}); their "
                          f"distribution functions are undetermined: attach a reservoir to each part")
    E = np.real(sp.energies)
    contacts = kinetic_reservoirs(dev, contacts)
    for tag, res in contacts.items():
        if res.T is None and res.distribution is None:
            raise UsadelError(f"kinetic: contact {tag!r} needs a temperature T (or a distribution)")
    md, (el, node, jS, sink, blocks_co) = mode_coefficients(sp, floor)
    blocks = bulk_blocks(dev.operators, md)
    rhs = np.zeros((E.size, dev.operators.n, N_MODES))
    tunnel, h_fixed = contact_rows(sp, contacts, blocks, rhs, md.split)
    iface = interface_rows(sp, blocks, md.split)
    check_finite(E, blocks, "the kinetic coefficients")
    x = solve_modes(dev.operators, blocks, rhs, h_fixed, released_modes(dev, contacts, E))
    if md.split:
        x = x @ BASIS.T  # back from the spin blocks to (hL, hT, hLS, hTS)
    check_finite(E, x, "the distribution functions")
    kr = KineticResult(spectral=sp, h=x, coeff_el=el, coeff_node=node, jS_el=jS, floor=floor, contacts=contacts)
    kr._state = dict(tunnel=tunnel, sink=sink, iface=iface)
    if blocks_co is not None:
        kr._state["blocks"] = blocks_co
    return kr
