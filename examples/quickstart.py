"""Quickstart: the public API on small devices, each result checked against an independent number.

Run: ``python examples/quickstart.py`` (about 10 s). The tests run it too.
"""

import numpy as np

import usadel

# A long SNS junction: normal wire (L = D = 1, so E_Th = 1) between two clean BCS
# reservoirs with Delta = 20 E_Th and a phase difference of 1.
mesh = usadel.meshes.interval(1.0, 100)
sns = usadel.Device(mesh, materials={"wire": usadel.Material(D=1.0)},
                    contacts={"left": usadel.Reservoir(delta=20.0, phase=0.0, T=0.5),
                              "right": usadel.Reservoir(delta=20.0, phase=1.0, T=0.5)})

# Retarded functions on the real axis. The grid must cover what the integrals
# below need (here the supercurrent spectrum up to well above the gap);
# energy_grid grades it at the gap edge, and the integrals check it.
E = usadel.observables.energy_grid(20.0, T=0.5, e_max=200.0, n=800)
sp = usadel.spectral(sns, E, eta=1e-6)
N = sp.dos()                         # N(E, x), shape (n_E, n_nodes)
k = usadel.kinetic(sp)               # hL, hT, hLS, hTS: (n_E, n_nodes)
I_real = k.current("left", kind="charge")               # real-axis current into the device
I_matsubara = usadel.observables.supercurrent(sns, T=0.5)  # the same supercurrent on the Matsubara axis
print(f"SNS supercurrent: real axis {I_real:.5f}, Matsubara {I_matsubara:.5f}")

# Self-consistent gap of a uniform superconducting wire at T = Tc0/2, against the
# homogeneous BCS gap equation solved independently (usadel.bcs, reference only).
wire = usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material(tc=1.0)})
delta = usadel.gap(wire, T=0.5).delta.real.mean()
print(f"BCS gap at T = Tc0/2: {delta:.5f} Tc0")

# Normal wire between two biased normal reservoirs: Ohm's law, I = V/R_N.
ohm = usadel.Device(usadel.meshes.interval(2.0, 40), {"wire": usadel.Material(sigma=1.0)},
                    {"left": usadel.Reservoir(T=0.1, mu=0.25), "right": usadel.Reservoir(T=0.1, mu=-0.25)})
E_ohm = usadel.observables.energy_grid(T=0.1, e_max=5.0, mu=[0.25], n=400)
I_ohm = usadel.kinetic(usadel.spectral(ohm, E_ohm)).current("left")
print(f"normal wire: I = {I_ohm:.6f} (V/R_N = 0.25)")

# Checks (the tests run this file): real axis and Matsubara axis agree to the grid's accuracy
# (1e-2: the real-axis integral converges slowly in the number of energies, the Matsubara sum
# to 1e-9); the gap to the homogeneous equation within the Matsubara tail's accuracy; Ohm
# within the check tolerance of the energy integral.
assert abs(I_real - I_matsubara) < 1e-2 * abs(I_matsubara)
assert abs(delta - usadel.bcs.homogeneous_gap(0.5, 1.0)) < 1e-5
assert abs(I_ohm - 0.25) < 1e-3 * 0.25
