"""The seed's nonlocal spin device with a spin-split superconducting wire: detector signal against field.

The seed's 1D device (usadel.seed.seed_device_1d: spin battery, tunnel barrier R_I = R_sf^N,
superconducting wire of length 14 l_sf ending in an S reservoir, spin flip with l_sf = 1) with a
Zeeman field h along the wire and in its reservoir (a thin film in an in-plane field, as in
Huebler et al., PRL 109, 207001 (2012)). The wire's gap is the seed's uniform BCS value at T, the
field enters both spin blocks (E -> E + sigma h) and spin flip couples them (usadel.spin_mixing in
the spectra, usadel.spin_relaxation in the kinetic equations).

Printed: readings (a) (2 P_D mu_s(L), the seed's Eq. 11 quantity) and (b) (a polarised tunnel
probe's potential, usadel.seed.detector_readings) at detector distances L from the injector, for
several fields, with the decay length between the last detectors. At h = 0 both decay over
l_sf^S (the spin mode relaxes by spin flip). With h the battery's nonequilibrium energy mode hL,
which spin flip cannot relax, reaches the detector, and a polarised probe on spin-split spectra
reads it through N_- = (N_up - N_dn)/2: reading (b) becomes long range (Huebler et al.; Silaev
et al., PRL 114, 167002 (2015)), while the spin accumulation (a) itself stays short range.

Run: ``python benchmarks/spin_split_signal.py`` (about a minute on 2 cores); output in
benchmarks/results/spin_split_signal.txt, figure in out/spin_split_signal.png.
"""

import os
import time

import numpy as np

import usadel
from usadel.bcs import seed_delta_T
from usadel.linsolve import threadpool_limits
from usadel.observables import energy_grid
from usadel.seed import detector_readings

T, EV, N_ELEMENTS, N_E = 0.1, 3.0, 700, 300
FIELDS = (0.0, 0.15, 0.3)  # in units of Delta(T)
DETECTORS = (1.0, 2.0, 4.0, 8.0, 12.0)  # distance from the injector, units of l_sf


def device(h, delta):
    dev, _ = usadel.seed.seed_device_1d(T, EV, delta=delta, n=N_ELEMENTS)
    mats = {"wire": usadel.Material(D=dev.materials["wire"].D, tc=1.0, tau_sf=dev.materials["wire"].tau_sf, h=h)}
    res = dict(dev.contacts, right=usadel.Reservoir(delta=delta, h=h, T=T))
    return usadel.Device(dev.mesh, mats, res)


def main():
    delta = float(seed_delta_T(T, 1.0))
    rows, t_all = [], time.perf_counter()
    for hr in FIELDS:
        h = hr * delta
        dev = device(h, delta)
        edges = [delta] if h == 0 else [delta - h, delta + h]  # the blocks' gap edges
        E = energy_grid(edges, T=T, e_max=EV / 2 + 30 * T + 2 * delta + h, n=N_E, mu=[EV / 2])
        t0 = time.perf_counter()
        with threadpool_limits(1):
            sp = usadel.spectral(dev, E, delta=delta, eta=1e-6 * delta)
            t1 = time.perf_counter()
            k = usadel.kinetic(sp)
        t2 = time.perf_counter()
        sig_a, sig_b = detector_readings(k, [[x] for x in DETECTORS], T)
        ell = [(DETECTORS[-1] - DETECTORS[-3]) / np.log(abs(s[-3] / s[-1])) for s in (sig_a, sig_b)]
        rows.append((hr, sig_a, sig_b, ell, t1 - t0, t2 - t1))
    lines = [f"Seed device with a spin-split wire: T = {T} Tc, eV = {EV} Tc, Delta(T) = {delta:.4f}, "
             f"{N_ELEMENTS} elements, {N_E} energies; detector distances L = {DETECTORS} l_sf",
             "reading (a) = 2 mu_s(L) (spin accumulation, the seed's Eq. 11 quantity);",
             "reading (b) = mu_P(+1) - mu_P(-1) of a fully polarised tunnel probe at T (with the probe's own",
             "thermoelectric term, P N_- hL, which the spin-split DOS adds): the signal Huebler et al. measure.",
             "decay length: between the last two-but-one and last detectors"]
    for name, col in (("(a)", 1), ("(b)", 2)):
        lines.append(f"reading {name}: h/Delta | " + " | ".join(f"L={L:g}" for L in DETECTORS) + " | decay length")
        for r in rows:
            lines.append(f"{r[0]:7.2f} | " + " | ".join(f"{v:+.3e}" for v in r[col]) + f" | {r[3][col - 1]:8.3f}")
    lines.append("h/Delta | spectral s | kinetic s")
    lines += [f"{r[0]:7.2f} | {r[4]:6.2f} | {r[5]:6.2f}" for r in rows]
    lines.append(f"total {time.perf_counter() - t_all:.1f} s")
    print("\n".join(lines))
    os.makedirs("out", exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for hr, sig_a, sig_b, *_ in rows:
        line, = ax.semilogy(DETECTORS, np.abs(sig_b), "o-", label=f"(b), h = {hr:g} Delta")
        ax.semilogy(DETECTORS, np.abs(sig_a), "x--", color=line.get_color(), label=f"(a), h = {hr:g} Delta")
    ax.set_xlabel("detector distance L / l_sf")
    ax.set_ylabel("|signal| / Tc")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig("out/spin_split_signal.png", dpi=120)


if __name__ == "__main__":
    main()
