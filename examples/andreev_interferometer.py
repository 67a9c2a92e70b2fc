"""Andreev interferometer: a normal cross between two superconductors with a phase difference.

Network (``usadel.meshes.network``): S1 (-1/2, 0) - c (0, 0) - S2 (1/2, 0) carries the
phase difference phi (S1 at -phi/2, S2 at +phi/2; E_Th = D/L^2 = 1 for the S-S length
L = 1); two normal probe wires N1 (0, 1/2) - c - N2 (0, -1/2) leave the middle. Every
wire has D = 1 and unit cross-section; the reservoir gaps are 1e4 E_Th.

- With insulated probe ends the cross has a hard minigap E_g(phi) at c, largest at
  phi = 0 and closed at phi = pi, where the pair amplitudes from S1 and S2 cancel at
  c by symmetry: N(c, E) = 1 at every energy (an exact check).
- With the probes on normal reservoirs the N1-N2 conductance G(phi), at T = 2 E_Th
  (near the reentrant maximum of the proximity correction), oscillates with period 2 pi,
  is even in phi, largest at 0 and smallest at pi, where the probes carry no pair
  amplitude at all (it vanishes at c and at the reservoirs) and G equals the normal
  conductance G_N exactly.

Run: ``python examples/andreev_interferometer.py`` (about 20 s); writes
``out/andreev_interferometer.png``. The tests run it too.
"""

import os

import numpy as np

import usadel

DELTA, T, V = 1e4, 2.0, 0.02


def interferometer(phi, probes=True, T=T):
    nodes = {"S1": (-0.5, 0.0), "c": (0.0, 0.0), "S2": (0.5, 0.0), "N1": (0.0, 0.5), "N2": (0.0, -0.5)}
    wires = [("S1", "c", 40, "arm"), ("c", "S2", 40, "arm"), ("N1", "c", 40, "probe"), ("c", "N2", 40, "probe")]
    contacts = {"S1": usadel.Reservoir(delta=DELTA, phase=-phi / 2, T=T),
                "S2": usadel.Reservoir(delta=DELTA, phase=phi / 2, T=T)}
    if probes:
        contacts.update(N1=usadel.Reservoir(T=T, mu=V / 2), N2=usadel.Reservoir(T=T, mu=-V / 2))
    return usadel.Device(usadel.meshes.network(nodes, wires), {"arm": usadel.Material(), "probe": usadel.Material()},
                         contacts)


# --- minigap at the junction, probes insulated ------------------------------------------
phis_gap = np.array([0.0, 0.5, 0.75, 1.0]) * np.pi
gaps = [usadel.observables.minigap(interferometer(p, probes=False), [0.0, 0.0], tol=1e-3) for p in phis_gap]
for p, g in zip(phis_gap, gaps):
    print(f"phi = {p / np.pi:.2f} pi: minigap at c {g:.4f} E_Th")
E_dos = np.linspace(0.0, 4.0, 81)
dos = {p: usadel.spectral(interferometer(p, probes=False), E_dos).at([[0.0, 0.0]])[:, 0] for p in (0.0, np.pi / 2, np.pi)}

# --- probe conductance against phase ------------------------------------------------------
E = usadel.observables.energy_grid(e_th=1.0, T=T, e_max=40 * T, n=300, mu=[V / 2])
normal = usadel.Device(usadel.meshes.network({"N1": (0.0, 0.5), "N2": (0.0, -0.5)}, [("N1", "N2", 80, "probe")]),
                       {"probe": usadel.Material()},
                       {"N1": usadel.Reservoir(T=T, mu=V / 2), "N2": usadel.Reservoir(T=T, mu=-V / 2)})
G_N = usadel.kinetic(usadel.spectral(normal, E)).current("N1") / V  # same grid: its quadrature error cancels
phis = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]) * np.pi
G = np.array([usadel.kinetic(usadel.spectral(interferometer(p), E)).current("N1") / V / G_N for p in phis])
for p, g in zip(phis, G):
    print(f"phi = {p / np.pi:.2f} pi: G/G_N = {g:.6f}")

if __name__ == "__main__":
    import matplotlib

    if not os.environ.get("DISPLAY"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for p, n in dos.items():
        a1.plot(E_dos, n, label=rf"$\varphi = {p / np.pi:.2g}\pi$")
    a1.set_xlabel(r"$E/E_\mathrm{Th}$")
    a1.set_ylabel(r"$N(c, E)/N_0$")
    a1.set_title("DOS at the junction (probes insulated)", fontsize=10)
    a1.legend()
    a2.plot(phis / np.pi, G, "o-", label=rf"$T = {T:g}\,E_\mathrm{{Th}}$")
    a2.set_xlabel(r"$\varphi/\pi$")
    a2.set_ylabel(r"$G(\varphi)/G_N$ (probe N1 to N2)")
    a2.legend()
    os.makedirs("out", exist_ok=True)
    fig.savefig("out/andreev_interferometer.png", dpi=120, bbox_inches="tight")
    print("wrote out/andreev_interferometer.png")

# exact: at phi = pi the pair amplitude vanishes at c (N = 1 at every energy to Newton's
# tolerance) and in the probes (G = G_N to the linear solver's rounding)
assert np.max(np.abs(dos[np.pi] - 1.0)) < 1e-8
assert gaps[-1] == 0.0 and abs(G[4] - 1.0) < 1e-8
# the minigap shrinks monotonically from phi = 0 to pi; G is 2 pi periodic, even, extremal at 0 and pi
assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
assert abs(G[6] - G[0]) < 1e-8 and abs(G[5] - G[2]) < 1e-8
assert np.all(np.diff(G[:5]) < 0) and G[0] - 1.0 > 0.01
