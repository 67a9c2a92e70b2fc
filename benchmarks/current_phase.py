"""Current-phase scan of a long SNS junction: critical current, time, and the real-axis route.

    python benchmarks/current_phase.py [--n 100 200] [--order 1]

Long SNS junction, L = D = 1 (E_Th = 1), reservoir gaps 100, T = 0.1 E_Th. For each mesh:
20 phases k pi/20 (k = 1..20) with ``usadel.observables.supercurrent`` (Matsubara axis),
then the maximum refined by a bounded scalar search around the best scan point. The
critical current is compared with the converged value of the engine issue,
e R_N I_c = 10.003232 E_Th at phase 0.63855 pi (usadel1, Virtanen's collocation code,
needed 16.7-19.7 s for its 20-phase scan on 750 real energies on this machine; the goal
here is under 2 s at 1e-4 relative). The real-axis route at the critical phase:
``refine_energies`` (rtol 1e-4) and the trapezoid of the element-averaged spectral current,
against the Matsubara value on the same mesh.
"""

import argparse
import time

import numpy as np
from scipy.optimize import minimize_scalar

import usadel
from usadel.linsolve import threadpool_limits
from usadel.coefficients import matrix_current
from usadel.observables import energy_grid, refine_energies, supercurrent

IC_REF, PHASE_REF = 10.003232, 0.63855 * np.pi
USADEL1 = (16.7, 19.7)
T = 0.1


def sns(n, phase, order=None):
    kw = {} if order is None else {"order": order}
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=100.0, phase=-phase / 2, T=T),
                          "right": usadel.Reservoir(delta=100.0, phase=phase / 2, T=T)}, **kw)


def scan(n, order):
    """(I_c, phase, seconds, number of supercurrent evaluations)."""
    t = time.perf_counter()
    phases = np.pi * np.arange(1, 21) / 20
    current = np.array([supercurrent(sns(n, ph, order), T) for ph in phases])
    k = int(np.argmax(current))
    r = minimize_scalar(lambda ph: -supercurrent(sns(n, ph, order), T), bounds=(phases[k - 1], phases[k + 1]),
                        method="bounded", options={"xatol": 1e-4})
    return -r.fun, r.x, time.perf_counter() - t, 20 + r.nfev


def real_axis(n, order, phase):
    """(I from the refined real-axis grid, number of energies, seconds)."""
    dev = sns(n, phase, order)
    t = time.perf_counter()
    E = refine_energies(dev, energy_grid(100.0, T=T, e_th=1.0, n=200), T, rtol=1e-4)
    sp = usadel.spectral(dev, E)
    m11 = np.mean(np.real(matrix_current(dev.operators, sp.gamma, sp.gamma_t)[..., 0]), axis=1)
    return np.trapezoid(m11 * np.tanh(E / (2 * T)), E), E.size, time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[100, 200])
    ap.add_argument("--order", type=int, default=None)
    ap.add_argument("--no-real-axis", action="store_true")
    a = ap.parse_args(argv)
    print(f"Long SNS junction, E_Th = 1, reservoir gaps 100, T = {T}; reference e R_N I_c = {IC_REF} at "
          f"{PHASE_REF / np.pi:.5f} pi; usadel1 {USADEL1[0]}-{USADEL1[1]} s per scan")
    print(f"{'elements':>8} {'order':>5} {'I_c':>11} {'rel. error':>10} {'phase/pi':>9} {'evals':>5} "
          f"{'time [s]':>8} {'usadel1/usadel':>14}")
    with threadpool_limits(limits=1, user_api="blas"):
        for n in a.n:
            ic, ph, dt, nev = scan(n, a.order)
            print(f"{n:8d} {a.order or 1:5d} {ic:11.6f} {abs(ic - IC_REF) / IC_REF:10.1e} {ph / np.pi:9.5f} "
                  f"{nev:5d} {dt:8.2f} {USADEL1[0] / dt:6.1f}-{USADEL1[1] / dt:.1f}")
        if not a.no_real_axis:
            n = a.n[-1]
            i_m = supercurrent(sns(n, PHASE_REF, a.order), T)
            i_r, ne, dt = real_axis(n, a.order, PHASE_REF)
            print(f"\nreal axis at phase {PHASE_REF / np.pi:.5f} pi, {n} elements: refine_energies (rtol 1e-4) chose "
                  f"{ne} energies, {dt:.2f} s; I = {i_r:.6f} against Matsubara {i_m:.6f} on the same mesh "
                  f"(relative difference {abs(i_r - i_m) / i_m:.1e})")


if __name__ == "__main__":
    main()
