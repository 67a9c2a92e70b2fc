"""The seed's spin-injection device (Morten, Brataas, Belzig 2004, Fig. 1) in 1D.

A spin battery (prescribed spin-resolved distribution, the seed's Df_N) is
tunnel-coupled (R_I, unpolarised) to a superconducting wire x in (0, L_S) that
ends in an equilibrium S reservoir; a polarised detector at x = L reads

    (a) the seed's Delta mu = -Int dE P_D hTS(L, E), over the quasiparticle states
        |E| > Delta(L) only. Below the gap DL, aTSTS and the tunnel injection all
        vanish with the Dynes eta, so hTS there is an undetermined ratio of vanishing
        terms (measured O(1), 500x the signal); it multiplies zero density of states
        in every physical observable, which is what the seed's "hTS = 0 below the
        gap" expresses. Restricting to |E| > Delta is that statement, made robust.

Units: Tc = 1, l_sf = 1, sigma = 1 (so R_sf^N = l_sf/sigma = 1).
"""

import numpy as np

from .bcs import seed_delta_T
from .device import Barrier, Device, Material, Reservoir
from .kinetic import fermi, kinetic
from .meshes import interval
from .observables import energy_grid
from .spectral import spectral

__all__ = ["spin_battery", "seed_device_1d", "seed_signal"]


def spin_battery(eV, T, P_FN=1.0):
    """Distribution E -> (f_up, f_dn) of the seed's F1/N/F2 battery (physics.md)."""
    def dist(E):
        s = 0.5 * (fermi(E - eV / 2, T) + fermi(E + eV / 2, T))
        d = 0.5 * P_FN * (fermi(E - eV / 2, T) - fermi(E + eV / 2, T))
        return s + d, s - d
    return dist


def seed_device_1d(T, eV, *, delta=None, L_S=14.0, n=1400, l_sf=1.0, tau_sf=1e4, R_I=1.0, P_FN=1.0, tc=1.0):
    """1D Fig. 1 device with a uniform gap (default: the seed's approximate Delta(T)).

    D = l_sf^2/tau_sf with tau_sf large, so that the spin-flip pair breaking
    3/(4 tau_sf) is negligible next to Delta, as the seed assumes.
    """
    d = float(seed_delta_T(T, tc)) if delta is None else float(delta)
    dev = Device(interval(L_S, n), {"wire": Material(D=l_sf**2 / tau_sf, tc=tc, tau_sf=tau_sf)},
                 {"left": Reservoir(distribution=spin_battery(eV, T, P_FN), barrier=Barrier(r=R_I)),
                  "right": Reservoir(delta=d, T=T)})
    return dev, d


def seed_signal(T, eV, L, *, P_D=1.0, n_E=400, eta=1e-6, **kw):
    """Reading (a) at detector positions ``L`` (array) from the full FEM pipeline."""
    dev, d = seed_device_1d(T, eV, **kw)
    E = energy_grid(max(d, 1e-3), T=T, e_max=eV / 2 + 30 * T + 2 * d, n=n_E, mu=[eV / 2])
    k = kinetic(spectral(dev, E, delta=d, eta=eta * max(d, 1.0)))
    out = []
    for x in np.atleast_1d(L):
        h = k.distribution([x])[:, 3]
        out.append(-2.0 * P_D * np.trapezoid(np.where(E > d, h, 0.0), E))  # hTS even in E
    return np.array(out), d
