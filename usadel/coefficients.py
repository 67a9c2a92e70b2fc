r"""Coefficients stage of the kinetic equations: from a retarded solution to seed Eqs. 5-6 on the mesh.

The four kinetic equations (seed Eqs. 4, 7; written out in ``usadel/keldysh.py``)
share one structure per mode m,

    div j_m = -S_m h_m,    j_m = -D_m grad h_m + Im(jE) h_{p(m)},

and differ only in which diffusion coefficient D_m they use, which mode p(m)
their supercurrent term couples to, and which sink S_m they have. That is data,
the table :data:`MODES`, read by the assembly, by the current densities and by
the interface rows (``usadel.keldysh``); a model with another number of
unknowns per node is another table.

The coefficients (seed Eqs. 5-6) follow from th = 2 artanh(s),
s = sqrt(-gamma gamma~) (:func:`usadel.bulk.riccati_sqrt`), with
c = cosh th, s_h = sinh th:

    DL = (Re c)^2 - (Re s_h)^2,   DT = (Re c)^2 + (Im s_h)^2,   aTT = Im s_h,
    aLSLS = (Re c)^2 - (Im s_h)^2,   aTSTS = (Re c)^2 + (Re s_h)^2,

all in units of D. Spin relaxation (``docs/derivations.md``, Spin relaxation in the
kinetic equations; checked by ``docs/derive_spinorbit.py``): spin flip relaxes hLS
with aLSLS/tau_sf and hTS with aTSTS/tau_sf, spin-orbit scattering hLS with
DT/tau_so and hTS with DL/tau_so (the diffusion coefficient of the same mode), so
in the normal state both spin modes relax at 1/tau_sf + 1/tau_so. Degenerate coefficients (``docs/conventions.md``, Degenerate
kinetic coefficients): below a BCS gap DL, aTSTS -> 0, so diffusion
coefficients are floored at ``floor`` (relative to D); DL per element is the
smaller of its centroid value and the harmonic mean of its nodal values: at a
clean S contact below the gap DL vanishes at the contact node and grows as
(x/xi_E)^2 inside, so the energy-mode resistance diverges (the Andreev
mirror, ``tests/test_kinetic.py::test_andreev_mirror_blocks_subgap_energy_current``);
a centroid value alone leaked an O(h) subgap energy current.

The spectral supercurrent enters through the matrix current (g grad g)_11 per
element (:func:`matrix_current`): Im(jE)/D = -Re (g grad g)_11, and in
equilibrium it gives the supercurrent density (:func:`supercurrent_density`).
"""

from dataclasses import dataclass

import numpy as np

from .bulk import COMPONENTS, riccati_sqrt
from .errors import UsadelError
from .validate import real

__all__ = ["Mode", "MODES", "N_MODES", "local_coefficients", "matrix_current", "supercurrent_density", "harmonic_el",
           "KineticCoefficients", "kinetic_coefficients",
           "pairing_rows", "anomalous_change"]


@dataclass(frozen=True)
class Mode:
    """How one kinetic mode couples (one row of :data:`MODES`).

    Attributes
    ----------
    name : str
        Component name, as in :data:`usadel.bulk.COMPONENTS`.
    diffusion : str
        Key of its diffusion coefficient ("DL" or "DT").
    partner : int
        Index of the mode its supercurrent term Im(jE) h couples to.
    sinks : tuple of (coefficient, rate)
        Sink S = Sum rate x coefficient; rates are "pairing" (2 |Delta|),
        "spin_flip" (1/tau_sf) and "spin_orbit" (1/tau_so), coefficients keys of
        :func:`local_coefficients` (unfloored nodal values).
    current : str
        Name of the current this mode carries (``KineticResult.current(kind=...)``).
    energy_weighted : bool
        Whether that current integrates E j (energy currents) rather than j.
    """

    name: str
    diffusion: str
    partner: int
    sinks: tuple
    current: str
    energy_weighted: bool


#: seed Eqs. 4 and 7: the couplings of the modes hL, hT, hLS, hTS; spin-orbit sinks from docs/derive_spinorbit.py
MODES = (
    Mode("L", "DL", 1, (), "energy", True),
    Mode("T", "DT", 0, (("aTT", "pairing"),), "charge", False),
    Mode("LS", "DT", 3, (("aTT", "pairing"), ("aLSLS", "spin_flip"), ("DT", "spin_orbit")), "spin_energy", True),
    Mode("TS", "DL", 2, (("aTSTS", "spin_flip"), ("DL", "spin_orbit")), "spin", False),
)
#: unknowns per node of the kinetic problem
N_MODES = len(MODES)
assert tuple(m.name for m in MODES) == COMPONENTS


def local_coefficients(g, gt):
    """Seed Eqs. 5-6 coefficients at points from the Riccati amplitudes.

    Parameters
    ----------
    g, gt : ndarray
        gamma, gamma~ at any set of points (same shape).

    Returns
    -------
    dict
        DL, DT, aTT, aLSLS, aTSTS (formulas in the module docstring), each
        shaped like ``g``, in units of D.
    """
    sig = riccati_sqrt(g, gt)
    c = (1 + sig * sig) / (1 - sig * sig)  # cosh th
    s = 2 * sig / (1 - sig * sig)  # sinh th
    rc, rs, is_ = np.real(c), np.real(s), np.imag(s)
    return dict(DL=rc**2 - rs**2, DT=rc**2 + is_**2, aTT=is_, aLSLS=rc**2 - is_**2, aTSTS=rc**2 + rs**2)


def matrix_current(ops, g, gt):
    """Per-element (g grad g)_11 = 2 (gamma grad gamma~ - gamma~ grad gamma)/(1 + gamma gamma~)^2.

    Centroid values (one-point quadrature); Im jE / D = -Re of it (seed's
    spectral supercurrent jE = D q sinh^2 th). Shape (n_E, n_el, dim).
    """
    gb, dg = ops.element_values(g)
    gtb, dgt = ops.element_values(gt)
    return 2.0 * (gb[..., None] * dgt - gtb[..., None] * dg) / ((1.0 + gb * gtb) ** 2)[..., None]


def supercurrent_density(sp, T):
    """Equilibrium charge supercurrent density per element (n_el, dim) from real energies.

    j = -(sigma/(2D)) Int dE Im jE tanh(E/2T), the Im(jE) hL part of the
    charge current with the prefactor fixed by Ohm's law (``usadel.keldysh``).
    Needs a real, increasing energy grid from 0 up; uses Im jE(-E) = -Im jE(E),
    so only E >= 0 enter (trapezoid rule).

    Parameters
    ----------
    sp : SpectralResult
    T : float
        Temperature, > 0.
    """
    E = np.real(sp.energies)
    if np.any(np.iscomplex(sp.energies)) or np.any(np.diff(E) <= 0):
        raise UsadelError("supercurrent_density needs increasing real energies")
    T = real("supercurrent_density: T", T, positive=True)
    ops = sp.device.operators
    m11 = sp.matrix_current()  # Im jE / D = -Re m11 (the spin average if spin split)
    pos = E >= 0
    integrand = np.real(m11[pos]) * np.tanh(E[pos] / (2 * T))[:, None, None]
    return ops.sigma_e[:, None] * np.trapezoid(integrand, E[pos], axis=0)


def harmonic_el(ops, v):
    """Harmonic mean over each element's nodes of nodal values v (..., n) > 0; shape (..., n_el)."""
    return (ops.d + 1) / np.sum(1.0 / v[..., ops.t], axis=-2)


@dataclass
class KineticCoefficients:
    """Coefficients of the kinetic equations on the mesh, at every energy.

    Attributes
    ----------
    el : dict
        Per element (n_E, n_el): the coefficients at the centroid, with DL and DT
        floored (DL by the Andreev-mirror rule, see the module docstring).
    node : dict
        Per node (n_E, n_nodes), unfloored.
    jS : ndarray
        Im(jE)/D per element, (n_E, n_el, dim).
    sink : ndarray
        Lumped sink S_m per node and mode, (n_E, n_nodes, N_MODES), including the
        sigma/D weight of the equations.
    floor : float
        Relative floor of DL, DT.
    """

    el: dict
    node: dict
    jS: np.ndarray
    sink: np.ndarray
    floor: float


def kinetic_coefficients(sp, floor, relaxation=True):
    """Coefficients stage: seed Eqs. 5-6 from a spectral result, floored, with the lumped sinks.

    Parameters
    ----------
    sp : SpectralResult
        Retarded solution at real energies.
    floor : float
        Relative floor of DL, DT (module docstring).
    relaxation : bool
        Include the spin-flip and spin-orbit sinks of :data:`MODES` (False: pairing only, for
        the spin blocks of a spin-mixed result, whose relaxation ``usadel.spin_kinetics`` adds).

    Returns
    -------
    KineticCoefficients
    """
    if getattr(sp, "spin_split", False):
        raise UsadelError("kinetic_coefficients: the spectral result is spin split (exchange field); the 4x4 "
                          "kinetic coefficients are not supported yet")
    ops = sp.device.operators
    gb, _ = ops.element_values(sp.gamma)
    gtb, _ = ops.element_values(sp.gamma_t)
    ce = local_coefficients(gb, gtb)
    cn = local_coefficients(sp.gamma, sp.gamma_t)
    jS = np.real(matrix_current(ops, sp.gamma, sp.gamma_t)) * -1.0  # Im jE / D = -Re (g grad g)_11
    # DL per element: min(centroid, harmonic mean of the nodes), the Andreev-mirror rule
    # of the module docstring; for smooth DL both are O(h^2) accurate
    DL = np.maximum(np.min([ce["DL"], harmonic_el(ops, np.maximum(cn["DL"], floor))], axis=0), floor)
    DT = np.maximum(ce["DT"], floor)
    ce = dict(ce, DL=DL, DT=DT)
    rates = {"pairing": 2 * np.abs(sp.delta * ops.lump_sd),  # the pairing term of the spectral equation
             "spin_flip": ops.lump(ops.w_el / ops.D_e * ops.tau_sf_inv_e),
             "spin_orbit": ops.lump(ops.w_el / ops.D_e * ops.tau_so_inv_e)}
    sink = np.zeros(cn["DL"].shape + (N_MODES,))
    for i, mode in enumerate(MODES):
        for coef, rate in mode.sinks:
            if np.any(rates[rate]) and (relaxation or rate == "pairing"):  # an absent rate adds nothing
                sink[..., i] += rates[rate] * cn[coef]
    return KineticCoefficients(el=ce, node=cn, jS=jS, sink=sink, floor=floor)


def pairing_rows(cv, g, gt, dir_nodes):
    """Change of one block's rows (Fg, Ft) for a change of the lumped pairing weights by ``cv``
    (the rows are affine in Delta), with the Dirichlet rows ``dir_nodes`` zero."""
    dFg = -1j * (cv + np.conj(cv) * g * g)
    dFt = 1j * (cv * gt * gt + np.conj(cv))
    dFg[:, dir_nodes] = dFt[:, dir_nodes] = 0.0
    return dFg, dFt


def anomalous_change(dg, dgt, g, gt):
    """Change of F = 2 gamma/(1 + gamma gamma~) for changes (dg, dgt) of (gamma, gamma~)."""
    return (2.0 * dg - 2.0 * g * g * dgt) / (1.0 + g * gt) ** 2
