"""SFS junctions: critical current against the ferromagnet's thickness, transparent and opaque interfaces.

S reservoirs (Delta = 1, T = 0.1 Delta) on both ends of a ferromagnetic wire (D = 1, exchange
energy h = 20 Delta, xi_F = sqrt(D/h)), either clean contacts or tunnel barriers r = 100.
I_c(d) is the largest |I(phi)| over phi in [0.3, 0.7] pi (Matsubara supercurrent; the current-phase
relation is close to sinusoidal except next to a 0-pi node), signed + in the 0 state and - in the pi
state (the sign of I at phi = pi/2). Printed against:

- transparent: Buzdin's long-junction form (Rev. Mod. Phys. 77, 935 (2005)) for h >> T,
  I_c ~ y e^{-y} (cos y + sin y), y = d/xi_F, one prefactor fitted on d > 3 xi_F;
- opaque: the linearised tunnel sum Sum_w F_S^2 Re Sum_sigma 1/(k_sigma sinh(k_sigma d)),
  k_sigma = sqrt(2 (w + i sigma h)/D) (tests/test_sfs.py), one prefactor fitted.

Run: ``python benchmarks/sfs_critical_current.py`` (about a minute); prints the table and the
0-pi nodes and writes out/sfs_critical_current.png (last output: benchmarks/results/).
"""

import os
import time

import numpy as np
from scipy.optimize import brentq

import usadel

H, D, T, DELTA, R = 20.0, 1.0, 0.1, 1.0, 100.0
XI = np.sqrt(D / H)
PHASES = np.linspace(0.3, 0.7, 5) * np.pi


def device(y, phi, r):
    bar = None if r is None else usadel.Barrier(r=r)
    return usadel.Device(usadel.meshes.interval(y * XI, max(60, int(40 * y))), {"wire": usadel.Material(D=D, h=H)},
                         {"left": usadel.Reservoir(delta=DELTA, phase=-phi / 2, barrier=bar),
                          "right": usadel.Reservoir(delta=DELTA, phase=phi / 2, barrier=bar)})


def critical_current(y, r):
    I = np.array([usadel.observables.supercurrent(device(y, p, r), T=T) for p in PHASES])
    return np.sign(I[2]) * np.max(np.abs(I))  # PHASES[2] = pi/2


def buzdin(y):
    return y * np.exp(-y) * (np.cos(y) + np.sin(y))


def tunnel_sum(y):
    w = np.pi * T * (2 * np.arange(20000) + 1)
    k = [np.sqrt(2 * (w + 1j * s * H) / D) for s in (1, -1)]
    return np.sum(DELTA**2 / (w**2 + DELTA**2) * sum(np.real(1 / (ks * np.sinh(ks * y * XI))) for ks in k))


def main():
    t0 = time.perf_counter()
    ys = np.linspace(0.5, 7.0, 27)
    clean = np.array([critical_current(y, None) for y in ys])
    opaque = np.array([critical_current(y, R) for y in ys])
    t = time.perf_counter() - t0
    far = ys > 3
    b = buzdin(ys)
    cb = np.sum(clean[far] * b[far]) / np.sum(b[far] ** 2)
    s = np.array([tunnel_sum(y) for y in ys])
    cs = np.sum(opaque * s) / np.sum(s * s)
    print(f"SFS, h = {H:g} Delta, T = {T:g} Delta, xi_F = sqrt(D/h); {2 * ys.size * PHASES.size} supercurrents "
          f"in {t:.1f} s")
    print(f"{'d/xi_F':>7} {'Ic clean':>12} {'Buzdin fit':>12} {'Ic opaque':>12} {'tunnel fit':>12}")
    for y, a, bb, c, ss in zip(ys, clean, cb * b, opaque, cs * s):
        print(f"{y:7.3f} {a:12.4e} {bb:12.4e} {c:12.4e} {ss:12.4e}")
    for name, f, ref in (("clean", lambda y: critical_current(y, None), buzdin), ("opaque", lambda y: critical_current(
            y, R), tunnel_sum)):
        vals = clean if name == "clean" else opaque
        for k in np.nonzero(np.diff(np.sign(vals)))[0]:
            node = brentq(f, ys[k], ys[k + 1], xtol=1e-3)
            try:
                nref = brentq(ref, ys[k] - 0.3, ys[k + 1] + 0.3)
            except ValueError:
                nref = float("nan")
            print(f"{name}: 0-pi node at d/xi_F = {node:.3f} (reference form: {nref:.3f})")
    import matplotlib

    if not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogy(ys, np.abs(clean) / np.abs(clean).max(), "o", label="transparent (FEM)")
    ax.semilogy(ys, np.abs(cb * b) / np.abs(clean).max(), "-", label=r"Buzdin $y e^{-y}(\cos y + \sin y)$")
    ax.semilogy(ys, np.abs(opaque) / np.abs(opaque).max(), "s", label=f"barriers r = {R:g} (FEM)")
    ax.semilogy(ys, np.abs(cs * s) / np.abs(opaque).max(), "--", label="linearised tunnel sum")
    ax.set_xlabel(r"$d/\xi_F$")
    ax.set_ylabel(r"$|I_c|$ (normalised; dips: 0-$\pi$ transitions)")
    ax.legend(fontsize=8)
    os.makedirs("out", exist_ok=True)
    fig.savefig("out/sfs_critical_current.png", dpi=120, bbox_inches="tight")
    print("wrote out/sfs_critical_current.png")


if __name__ == "__main__":
    main()
