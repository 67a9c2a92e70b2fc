"""The seed's spin-injection device (Morten, Brataas, Belzig 2004, Fig. 1) in 1D.

A spin battery (prescribed spin-resolved distribution, the seed's Df_N) is
tunnel-coupled (R_I, unpolarised) to a superconducting wire x in (0, L_S) that
ends in an equilibrium S reservoir; a polarised detector at x = L reads

    (a) the seed's Delta mu = -Int dE P_D hTS(L, E), over the quasiparticle states
        |E| > Delta(L) only. Below the gap DL, aTSTS and the tunnel injection all
        vanish with the Dynes eta, so hTS there is an undetermined ratio of vanishing
        terms (measured O(1), 500x the signal); it multiplies zero density of states
        in every physical observable, which is what the seed's "hTS = 0 below the
        gap" expresses. Restricting to the quasiparticle states
        (``KineticResult.spin_accumulation``: DL/D > 1e-6) is that statement, made
        robust; reading (a) is 2 P_D mu_s(L).

Units: Tc = 1, l_sf = 1, sigma = 1 (so R_sf^N = l_sf/sigma = 1).
"""

from dataclasses import dataclass

import numpy as np

from .bcs import seed_delta_T
from .bulk import fermi
from .device import Barrier, Device, Material, Reservoir
from .keldysh import kinetic
from .errors import UsadelError
from .meshes import interval, wire
from .observables import energy_grid
from .retarded import spectral

__all__ = ["SpinBattery", "spin_battery", "seed_device_1d", "seed_device_2d", "seed_signal", "seed_readings",
           "readings", "detector_readings", "fig2", "fig2_table", "format_fig2", "plot_fig2"]


@dataclass(frozen=True)
class SpinBattery:
    """Distribution E -> (f_up, f_dn) of the seed's F1/N/F2 battery (seed Fig. 1; docs/conventions.md).

    f_up/dn = (f(E - eV/2) + f(E + eV/2))/2 +- P_FN (f(E - eV/2) - f(E + eV/2))/2 at
    temperature T. A module-level callable (not a closure), so that devices holding it
    pickle (multiprocessing, caching).
    """

    eV: float
    T: float
    P_FN: float = 1.0

    def __call__(self, E):
        eV, T = self.eV, self.T
        s = 0.5 * (fermi(E - eV / 2, T) + fermi(E + eV / 2, T))
        d = 0.5 * self.P_FN * (fermi(E - eV / 2, T) - fermi(E + eV / 2, T))
        return s + d, s - d


def spin_battery(eV, T, P_FN=1.0):
    """Distribution E -> (f_up, f_dn) of the seed's F1/N/F2 battery (a picklable :class:`SpinBattery`)."""
    return SpinBattery(eV, T, P_FN)


def seed_device_1d(T, eV, *, delta=None, L_S=14.0, n=1400, l_sf=1.0, tau_sf=1e4, R_I=1.0, P_FN=1.0, tc=1.0,
                   injector="tunnel", edge=0.0, n_edge=0):
    """1D Fig. 1 device with a uniform gap (default: the seed's approximate Delta(T)).

    D = l_sf^2/tau_sf with tau_sf large, so that the spin-flip pair breaking
    3/(4 tau_sf) is negligible next to Delta, as the seed assumes. The S reservoir
    has the gap ``delta``.

    injector : "tunnel" (the seed's R_I) or "transparent" (clean contact: the
        battery is a normal electrode in direct contact, proximity effect).
    edge, n_edge : if edge > 0, the first and last ``edge`` of the wire get
        ``n_edge`` elements each (to resolve xi = sqrt(D/Delta) for a
        self-consistent gap; the rest gets ``n``).
    """
    if injector not in ("tunnel", "transparent"):
        raise UsadelError(f"seed_device_1d: injector must be 'tunnel' or 'transparent', got {injector!r}")
    d = float(seed_delta_T(T, tc)) if delta is None else float(delta)
    if edge > 0:
        mesh = wire([("wire", edge, n_edge), ("wire", L_S - 2 * edge, n), ("wire", edge, n_edge)])
    else:
        mesh = interval(L_S, n)
    bar = Barrier(r=R_I) if injector == "tunnel" else None
    dev = Device(mesh, {"wire": Material(D=l_sf**2 / tau_sf, tc=tc, tau_sf=tau_sf)},
                 {"left": Reservoir(distribution=spin_battery(eV, T, P_FN), barrier=bar),
                  "right": Reservoir(delta=d, T=T)})
    return dev, d


def seed_device_2d(T, eV, *, delta=None, mesh=None, l_sf=1.0, tau_sf=1e4, r_I=None, sigma_pad=100.0,
                   P_FN=1.0, tc=1.0):
    """The shipped 2D Fig. 1 device (meshes/seed_fig1.msh) with a uniform gap.

    Battery pad "N" (normal, conductivity ``sigma_pad`` and no spin flip, so that
    it acts as an electrode: with the wire's tau_sf its spin relaxation would
    lower the injected accumulation by 4%; its far edge "battery" carries the
    battery distribution),
    tunnel-coupled to the S wire (width w = 0.2, sigma = 1, length 8, detector
    contact "detector" of width 0.2 on the top edge at x = 2, S reservoir at
    x = 8). Default barrier r_I = l_sf/sigma (per unit length of the interface of
    width w), i.e. R_I = r_I/w = l_sf/(sigma w) = R_sf^N as in Fig. 2.
    """
    import pathlib

    from .meshes import load

    if mesh is None:
        path = pathlib.Path(__file__).resolve().parents[1] / "meshes" / "seed_fig1.msh"
        if not path.exists():
            raise UsadelError(f"seed_device_2d: the shipped mesh {path} is not there (installed without the "
                              f"repository?); pass mesh=usadel.meshes.load(<path to seed_fig1.msh>)")
        mesh = load(path)
    d = float(seed_delta_T(T, tc)) if delta is None else float(delta)
    D = l_sf**2 / tau_sf
    r = l_sf if r_I is None else r_I
    dev = Device(mesh, {"S": Material(D=D, tc=tc, tau_sf=tau_sf),
                        "N": Material(D=D, tc=0.0, tau_sf=None, sigma=sigma_pad)},
                 {"battery": Reservoir(distribution=spin_battery(eV, T, P_FN)),
                  "reservoir": Reservoir(delta=d, T=T)},
                 interfaces={("N", "S"): Barrier(r=r)})
    return dev, d


def detector_readings(k, where, T, P_D=1.0):
    """Readings (a) and (b) of detectors at ``where`` (points and/or boundary tags) from a KineticResult.

    (a) 2 P_D mu_s averaged over the detector (``KineticResult.spin_accumulation``:
        the seed's -P_D Int dE hTS over the quasiparticle states);
    (b) mu_P(P_D) - mu_P(-P_D) of a weakly coupled polarised tunnel probe at the
        temperature T (``KineticResult.probe_potential``).
    """
    a, b = [], []
    for x in where:  # mu_s integrated (and its energy grid checked) at the detector's nodes only
        nodes, w = k.probe_weights(x)
        a.append(2.0 * P_D * float(k.spin_accumulation(nodes=nodes) @ w))
        b.append(k.probe_potential(x, P_D, T) - k.probe_potential(x, -P_D, T))
    return np.array(a), np.array(b)


def readings(sp, T, eVs, where, battery, *, P_D=1.0, P_FN=1.0):
    """Readings (a), (b) (shape (len(eVs), len(where))) for several battery biases on one spectral result.

    ``battery``: the contact tag of the spin battery; only its distribution changes.
    """
    res = sp.device.contacts[battery]
    a = np.empty((len(eVs), len(where)))
    b = np.empty_like(a)
    for i, eV in enumerate(eVs):
        k = kinetic(sp, contacts={battery: Reservoir(distribution=spin_battery(eV, T, P_FN), barrier=res.barrier)})
        a[i], b[i] = detector_readings(k, where, T, P_D)
    return a, b


def seed_readings(T, eVs, L, *, P_D=1.0, n_E=400, eta=1e-6, **kw):
    """Readings (a) and (b) at detector positions ``L`` for several battery biases.

    One spectral solve (it does not depend on the bias) on an energy grid that
    resolves every bias edge eV/2, then one kinetic solve per bias
    (:func:`readings`).

    Returns (a, b, delta): arrays of shape (len(eVs), len(L)) and the gap used.
    """
    eVs = np.atleast_1d(np.asarray(eVs, float))
    L = np.atleast_1d(np.asarray(L, float))
    dev, d = seed_device_1d(T, float(eVs[0]), **kw)
    E = energy_grid(max(d, 1e-3), T=T, e_max=eVs.max() / 2 + 30 * T + 2 * d, n=n_E, mu=list(eVs / 2))
    sp = spectral(dev, E, delta=d, eta=eta * max(d, 1.0))
    a, b = readings(sp, T, eVs, [[x] for x in L], "left", P_D=P_D, P_FN=kw.get("P_FN", 1.0))
    return a, b, d


def seed_signal(T, eV, L, *, P_D=1.0, n_E=400, eta=1e-6, **kw):
    """Reading (a) at detector positions ``L`` (array) from the full FEM pipeline."""
    a, _, d = seed_readings(T, [eV], L, P_D=P_D, n_E=n_E, eta=eta, **kw)
    return a[0], d


#: Fig. 2 parameters of the seed: eV in units of Delta(T = 0) and L/l_sf
FIG2_BIASES = (0.1, 3.0, 10.0)
FIG2_LENGTHS = (6.0, 7.0)
FIG2_TEMPERATURES = (0.15, 0.3, 0.45, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.05)


def fig2(temperatures=FIG2_TEMPERATURES, biases=FIG2_BIASES, lengths=FIG2_LENGTHS, *, n=1000, n_E=1200,
         log=None, **kw):
    """The seed's Fig. 2 from the full FEM pipeline and from the closed forms, both readings.

    Units of the seed: Tc = 1, l_sf = 1, R_sf^N = R_I = 1, P_D = P_FN = 1,
    Delta(T) the seed's approximate BCS gap (uniform), eV = ``biases`` x 1.76.
    Returns a dict with arrays of shape (n_T, n_bias, n_L): ``fem_a``, ``ref_a``
    (Eq. 11), ``fem_b``, ``ref_b`` (``bcs.seed_probe_eq11``), all divided by the
    normal-state signal (Eq. 11 at Delta = 0, the textbook F/N injection result,
    which both readings equal above Tc), plus ``T``, ``biases``, ``lengths``.
    """
    from .bcs import seed_eq11, seed_probe_eq11

    Ts = np.asarray(temperatures, float)
    eVs = 1.76 * np.asarray(biases, float)
    Ls = np.asarray(lengths, float)
    normal = np.array([[seed_eq11(1.0, 0.0, eV, L, 1.0, 1.0, 1.0) for L in Ls] for eV in eVs])
    out = {k: np.empty((Ts.size, eVs.size, Ls.size)) for k in ("fem_a", "ref_a", "fem_b", "ref_b")}
    for i, T in enumerate(Ts):
        a, b, d = seed_readings(T, eVs, Ls, n=n, n_E=n_E, **kw)
        out["fem_a"][i], out["fem_b"][i] = a / normal, b / normal
        out["ref_a"][i] = [[seed_eq11(T, d, eV, L, 1.0, 1.0, 1.0) for L in Ls] for eV in eVs] / normal
        out["ref_b"][i] = [[seed_probe_eq11(T, d, eV, L, 1.0, 1.0, 1.0) for L in Ls] for eV in eVs] / normal
        if log:
            log(f"  T/Tc = {T:.3g} done")
    # closed forms on a dense temperature grid for the plot's lines
    Td = np.unique(np.concatenate([np.linspace(0.1, 1.0, 46)[:-1], np.linspace(0.95, 1.0, 11), [1.05]]))
    dd = seed_delta_T(Td, 1.0)
    for key, f in (("dense_a", seed_eq11), ("dense_b", seed_probe_eq11)):
        out[key] = np.array([[[f(T, float(d), eV, L, 1.0, 1.0, 1.0) for L in Ls] for eV in eVs]
                             for T, d in zip(Td, dd)]) / normal
    out.update(T=Ts, T_dense=Td, biases=np.asarray(biases, float), lengths=Ls, n=n, n_E=n_E)
    return out


def fig2_table(res):
    """Rows (eV/Delta0, L/l_sf, max|FEM-Eq.11|/normal for (a), max relative |FEM-ref|/ref for (b),
    (b)/(a) at the lowest temperature)."""
    rows = []
    for j, k in enumerate(res["biases"]):
        for l, L in enumerate(res["lengths"]):
            da = np.max(np.abs(res["fem_a"][:, j, l] - res["ref_a"][:, j, l]))
            rb = res["ref_b"][:, j, l]
            db = np.max(np.abs(res["fem_b"][:, j, l] - rb) / np.abs(rb))
            rows.append((k, L, da, db, res["ref_b"][0, j, l] / res["ref_a"][0, j, l]))
    return rows


def format_fig2(res):
    lines = [f"{'eV/Delta0':>9} {'L/l_sf':>6} {'(a) max|FEM-Eq11|/normal':>25} "
             f"{'(b) max|FEM-ref|/ref':>21} {'(b)/(a) at T=' + format(res['T'][0], 'g'):>16}"]
    for k, L, da, db, ratio in fig2_table(res):
        lines.append(f"{k:9.1f} {L:6.1f} {da:25.2e} {db:21.2e} {ratio:16.3g}")
    return "\n".join(lines)


def plot_fig2(res, path=None):
    """Two panels: reading (a) (the seed's Fig. 2) and reading (b); lines closed forms, dots FEM."""
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, 2, figsize=(11, 4.5))
    Ts = res["T"]
    for ax, key, title in ((axs[0], "a", r"(a) detector reading $-P_D\int dE\, h_{TS}$ (Eq. 11)"),
                           (axs[1], "b", "(b) polarised tunnel probe at zero current")):
        for j, k in enumerate(res["biases"]):
            for l, L in enumerate(res["lengths"]):
                line, = ax.plot(res["T_dense"], res["dense_" + key][:, j, l], "-" if L == res["lengths"][-1] else ":",
                                label=rf"$eV = {k:g}\,\Delta_0$, $L/l_{{sf}} = {L:g}$")
                ax.plot(Ts, res["fem_" + key][:, j, l], "o", color=line.get_color(), ms=3.5)
        ax.set_xlabel(r"$T/T_c$")
        ax.set_ylabel(r"$\Delta\mu(T)\,/\,\Delta\mu(T \geq T_c)$")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    axs[1].set_yscale("log")
    fig.suptitle(f"Spin signal of Morten, Brataas, Belzig, PRB 70, 212508 (2004), Fig. 2: lines closed forms, "
                 f"dots finite elements ({res['n']} elements, {res['n_E']} energies)", fontsize=10)
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
