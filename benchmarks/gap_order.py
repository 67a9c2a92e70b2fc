"""Accuracy per dof and time of gap() and critical_temperature() on P1-P4 wires (usadel.highorder_gap).

    python benchmarks/gap_order.py

S/N bilayer (S and N of length 1, D = sigma = 1, free ends, Debye regulator omega_D = 20, which a
transparent S/N interface needs at order p): Tc, and Delta at the free S end at T = 0.5 Tc0, on P1
with 8-128 elements per region and P2-P4 with 2-16. Errors against P4 on 16 elements per region
(its last halving changed Tc by < 1e-8). Prints dofs, value, error, the rate per halving and cpu
seconds (process time, one call each, after one warm-up call for the compiled kernels).
"""

import time

import numpy as np

import usadel

OMEGA_D = 20.0
T_GAP = 0.5
RUNS = {1: (8, 16, 32, 64, 128), 2: (2, 4, 8, 16), 3: (2, 4, 8, 16), 4: (2, 4, 8)}


def device(n, order):
    m = usadel.meshes.wire([("S", 1.0, n), ("N", 1.0, n)])
    return usadel.Device(m, {"S": usadel.Material(tc=1.0), "N": usadel.Material()}, order=order)


def measure(n, order):
    dev = device(n, order)
    t = time.process_time()
    tc = usadel.critical_temperature(dev, omega_D=OMEGA_D, rtol=1e-13)
    t_tc = time.process_time() - t
    t = time.process_time()
    r = usadel.gap(dev, T_GAP, omega_D=OMEGA_D, tol=1e-11)
    t_gap = time.process_time() - t
    return dev.topology.n_nodes, tc, r.delta[np.argmin(np.abs(r.x[:, 0]))].real, t_tc, t_gap


def main():
    measure(2, 3)  # compile the kernels
    ref_tc, ref_gap = measure(16, 4)[1:3]
    print(f"S/N bilayer, omega_D = {OMEGA_D}: reference (P4 x 16) Tc = {ref_tc:.12f}, "
          f"Delta(0; T = {T_GAP}) = {ref_gap:.12f}")
    print(f"{'order':>5} {'n':>4} {'dofs':>5} {'Tc error':>10} {'rate':>5} {'gap error':>10} {'rate':>5} "
          f"{'Tc s':>6} {'gap s':>6}")
    for order, ns in RUNS.items():
        prev = None
        for n in ns:
            dofs, tc, d, t_tc, t_gap = measure(n, order)
            e = (abs(tc - ref_tc), abs(d - ref_gap))
            rates = ["%5.2f" % np.log2(p / c) if prev and c > 0 else "     " for p, c in zip(prev or e, e)]
            print(f"{order:>5} {n:>4} {dofs:>5} {e[0]:10.2e} {rates[0]} {e[1]:10.2e} {rates[1]} {t_tc:6.2f} {t_gap:6.2f}",
                  flush=True)
            prev = e


if __name__ == "__main__":
    main()
