"""Networks cost what 1D wires cost: the Andreev interferometer as a network and as 2D crosses.

The interferometer of examples/andreev_interferometer.py (arms of length 1/2 from the
centre, E_Th = 1 for the S-S length, probes on normal reservoirs at T = 2 E_Th) is solved
as a network and as 2D crosses (``usadel.meshes.cross``) of arm width w, whose answer tends
to the network's as O(w). For each: nodes, time of the spectral solve (200 energies) and of
the kinetic solve, and the largest DOS difference to the network at the centre, at
(-1/4, 0) and (0, 1/4). Then the voltage-controlled pi junction of examples/pi_junction.py
(control wire 20 times the arm's length), which in 2D would need a mesh resolving a wire
of width 0.02 over a length of 10.

Run: ``python benchmarks/network_speed.py`` (about a minute); prints a table (its last
output: benchmarks/results/network_speed.txt). Times are wall-clock, best of 2, BLAS on
one thread.
"""

import time

import numpy as np

import usadel

DELTA, T, PHI = 1e4, 2.0, 0.0
TAGS = {"left": "S1", "right": "S2", "top": "N1", "bottom": "N2"}


def contacts(tags):
    c = {"S1": usadel.Reservoir(delta=DELTA, phase=-PHI / 2, T=T), "S2": usadel.Reservoir(delta=DELTA, phase=PHI / 2, T=T),
         "N1": usadel.Reservoir(T=T, mu=0.01), "N2": usadel.Reservoir(T=T, mu=-0.01)}
    return {t: c[TAGS.get(t, t)] for t in tags}


def network():
    nodes = {"S1": (-0.5, 0.0), "c": (0.0, 0.0), "S2": (0.5, 0.0), "N1": (0.0, 0.5), "N2": (0.0, -0.5)}
    wires = [("S1", "c", 40, "cross"), ("c", "S2", 40, "cross"), ("N1", "c", 40, "cross"), ("c", "N2", 40, "cross")]
    return usadel.Device(usadel.meshes.network(nodes, wires), {"cross": usadel.Material()}, contacts(["S1", "S2", "N1", "N2"]))


def cross(w):
    return usadel.Device(usadel.meshes.cross(0.5, w), {"cross": usadel.Material(sigma=1.0 / w)}, contacts(TAGS))


def timed(f, repeat=2):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    E = usadel.observables.energy_grid(e_th=1.0, T=T, e_max=40 * T, n=200, mu=[0.01])
    pts = [[0.0, 0.0], [-0.25, 0.0], [0.0, 0.25]]
    rows, ref = [], None
    for name, make in [("network", network)] + [(f"2D cross, w = {w:g}", (lambda w=w: cross(w))) for w in (0.1, 0.05)]:
        dev = make()
        dev.operators  # assembled once per device: not part of the solve times
        t_sp, sp = timed(lambda: usadel.spectral(dev, E))
        t_k, k = timed(lambda: usadel.kinetic(sp))
        dos = sp.at(pts)
        ref = dos if ref is None else ref
        rows.append((name, dev.topology.n_nodes, t_sp, t_k, np.max(np.abs(dos - ref)), k.current(
            "N1" if "N1" in dev.contacts else "top") / 0.02))
    print(f"Andreev interferometer, {E.size} energies, T = {T:g} E_Th, phi = 0")
    print(f"{'mesh':>20} {'nodes':>6} {'spectral s':>11} {'kinetic s':>10} {'x network':>10} "
          f"{'max |dN|':>9} {'G (probes)':>10}")
    for name, n, ts, tk, dn, G in rows:
        print(f"{name:>20} {n:6d} {ts:11.3f} {tk:10.3f} {(ts + tk) / (rows[0][2] + rows[0][3]):10.1f} "
              f"{dn:9.2e} {G:10.5f}")
    # the controlled pi junction of examples/pi_junction.py: arm 1, control wire 2 x 5, cross-section 0.02
    nodes = {"S1": (-0.5, 0), "c": (0, 0), "S2": (0.5, 0), "N1": (0, 5), "N2": (0, -5), "u": (0, 0.5), "d": (0, -0.5)}
    wires = [("S1", "c", 30, "arm"), ("c", "S2", 30, "arm"), ("c", "u", 10, "ctl", 0.02), ("u", "N1", 30, "ctl", 0.02),
             ("c", "d", 10, "ctl", 0.02), ("d", "N2", 30, "ctl", 0.02)]
    dev = usadel.Device(usadel.meshes.network(nodes, wires), {"arm": usadel.Material(), "ctl": usadel.Material()},
                        {"S1": usadel.Reservoir(delta=DELTA, phase=-np.pi / 4, T=0.1),
                         "S2": usadel.Reservoir(delta=DELTA, phase=np.pi / 4, T=0.1),
                         "N1": usadel.Reservoir(T=0.1, mu=8.0), "N2": usadel.Reservoir(T=0.1, mu=-8.0)})
    E = usadel.observables.energy_grid(e_th=1.0, T=0.1, e_max=150.0, n=500, mu=[8.0])
    t_sp, sp = timed(lambda: usadel.spectral(dev, E), repeat=1)
    t_k, k = timed(lambda: usadel.kinetic(sp))
    print(f"\ncontrolled pi junction (network, {dev.topology.n_nodes} nodes, {E.size} energies, eV = 16 E_Th): "
          f"spectral {t_sp:.2f} s, kinetic {t_k:.2f} s, I = {k.current('S1'):.4f}")


if __name__ == "__main__":
    main()
