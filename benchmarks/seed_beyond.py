"""The seed's device beyond the BCS limit: where and by how much it departs from Fig. 2.

    python benchmarks/seed_beyond.py [--quick] [--workers 2]

Variants (seed parameters: l_sf = 1, R_I = R_sf^N, tau_sf = 1e4 so D = 1e-4 and
xi0 = sqrt(D/Delta0) = 0.0075 l_sf; detector at L = 6 l_sf in 1D):
  BCS    the seed's BCS limit, closed forms (Eq. 11 for (a), bcs.seed_probe_eq11 for (b)),
         with the seed's approximate Delta(T) and with the exact one (BCS gap equation
         with the device's weak spin-flip pair breaking), to separate that effect
  (i)    self-consistent Delta(x) (usadel.gap, equilibrium), 1D, with the seed's
         tunnel injector ("sc tunnel") and with a transparent injector, where the
         normal battery suppresses Delta over ~xi and the wire is proximitised
         ("sc transparent"); the S reservoir carries the bulk gap Delta(T). Also
         the transparent device with strong spin flip, tau_sf = 10/Tc (D = 0.1,
         xi ~ 0.25 l_sf, Abrikosov-Gor'kov pair breaking 0.075 Tc: gap and Tc
         suppressed, DOS smeared), far from the seed's assumptions
  (ii)   the nonequilibrium loop usadel.solve: the kinetic hL (the battery's
         double-step energy distribution) feeds back into Delta, tunnel injector;
         started from the equilibrium gap, and from the normal state where that
         does not converge (the table says which; 'growth' < 0 certifies that a
         normal result is stable)
  (iii)  2D: the shipped meshes/seed_fig1.msh (finite battery pad and detector
         contact, wire width 0.2, detector at L = 2 l_sf), uniform seed gap,
         against the same closed forms at L = 2
Each signal is divided by the same variant's normal-state value (T = 1.05 Tc);
the tables give the ratio for readings (a) and (b) and the difference from the
BCS-limit curve at the same T. A convergence table (mesh and energy grid x2)
follows for each variant at T = 0.6 Tc, eV = 3 Delta0. Writes out/seed_beyond.png.
Every run is independent: all go to a process pool (``--workers``, default 2) at once.
"""

import argparse
import pathlib
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import usadel
from usadel import bcs, seed
from usadel.observables import energy_grid

D0 = 1.76
G_SF = 3.0 / (4.0 * 1e4)  # spin-flip pair breaking of the seed device (tau_sf = 1e4)


def _grid(d, T, eVs, n_E):
    return energy_grid(max(d, 1e-3), T=T, e_max=max(eVs) / 2 + 30 * T + 2 * max(d, 1e-3), n=n_E,
                       mu=list(np.asarray(eVs) / 2))


def closed_forms(T, eVs, L, exact=False):
    d = float(bcs.homogeneous_gap(T, 1.0, G_SF) if exact else bcs.seed_delta_T(T, 1.0))
    return (np.array([bcs.seed_eq11(T, d, eV, L, 1, 1, 1) for eV in eVs]),
            np.array([bcs.seed_probe_eq11(T, d, eV, L, 1, 1, 1) for eV in eVs]))


def self_consistent(T, eVs, injector, n=1000, n_edge=200, n_E=600, tau_sf=1e4):
    """(i): gap() then one spectral solve and a kinetic solve per bias. Returns a, b, info."""
    db = bcs.homogeneous_gap(T, 1.0, 3.0 / (4.0 * tau_sf))
    dev, _ = seed.seed_device_1d(T, eVs[0], delta=db, injector=injector, edge=0.1, n_edge=n_edge, n=n,
                                 tau_sf=tau_sf)
    if db > 0:
        g = usadel.gap(dev, T)
        delta, its = g.delta, g.iterations
    else:
        delta, its = np.zeros(dev.operators.n), 0
    sp = usadel.spectral(dev, _grid(db, T, eVs, n_E), delta=delta, eta=1e-6 * max(db, 1.0))
    a, b = seed.readings(sp, T, eVs, [[6.0]], "left")
    return a[:, 0], b[:, 0], dict(gap_iterations=its, delta_min=float(np.min(np.abs(delta))),
                                  delta_L=float(np.abs(np.interp(6.0, sp.x[:, 0], delta))))


def nonequilibrium(T, eVs, n=500, n_edge=100, n_E=300):
    """(ii): usadel.solve per bias, from the equilibrium gap. Returns a, b, info.

    If the loop does not converge from the equilibrium gap (the map is nonsmooth
    where quasiparticles are trapped between regions of different gap, and
    Anderson can wander), it is run again from the normal state (Delta = 0; the
    stability check of usadel.solve then tells whether that normal state is
    stable). Both outcomes are recorded: info rows are
    (eV/D0, start, outer iterations, time, Delta(L), growth, failed-run note).
    """
    db = bcs.homogeneous_gap(T, 1.0, G_SF)
    a, b, info = [], [], []
    for eV in eVs:
        dev, _ = seed.seed_device_1d(T, eV, delta=db, edge=0.1, n_edge=n_edge, n=n)
        note = ""
        if db > 0:
            g = usadel.gap(dev, T)
            E = _grid(db, T, [eV], n_E)
            r = None
            for start, d0 in (("eq. gap", g.delta), ("normal", np.zeros(dev.operators.n))):
                t0 = time.perf_counter()
                try:
                    r = usadel.solve(dev, T, energies=E, delta0=d0, maxiter=80)
                    break
                except usadel.ConvergenceError as exc:
                    h = exc.history
                    note = (f"from the {start}: not converged in {len(h)} outer iterations "
                            f"({time.perf_counter() - t0:.0f} s), last residuals {' '.join(f'{v:.1e}' for v in h[-5:])}")
                    print(f"(ii) T = {T}, eV = {eV / D0:g} D0: {note}")
            if r is None:
                a.append(np.nan)
                b.append(np.nan)
                info.append((eV / D0, "none", 0, 0.0, np.nan, None, note))
                continue
            k, its, dt, grow = r.kinetic, r.iterations, time.perf_counter() - t0, r.normal_growth
            x = r.spectral.x[:, 0]
            dL = float(np.abs(np.interp(6.0, x, r.delta)))
        else:
            sp = usadel.spectral(dev, _grid(0.0, T, [eV], n_E), eta=1e-6)
            k, its, dt, dL, grow, start = usadel.kinetic(sp), 0, 0.0, 0.0, None, "-"
        aa, bb = seed.detector_readings(k, [[6.0]], T)
        a.append(aa[0])
        b.append(bb[0])
        info.append((eV / D0, start, its, dt, dL, grow, note))
    return np.array(a), np.array(b), info


def two_d(T, eVs, mesh=None, n_E=300):
    """(iii): the shipped 2D device, uniform seed gap; detector contact averaged."""
    dev, d = seed.seed_device_2d(T, eVs[0], mesh=mesh)
    sp = usadel.spectral(dev, _grid(d, T, eVs, n_E), delta={"S": d, "N": 0.0}, eta=1e-6 * max(d, 1.0))
    a, b = seed.readings(sp, T, eVs, ["detector"], "battery")
    return a[:, 0], b[:, 0], dict(nodes=dev.operators.n)


def timed(fn, *args, **kw):
    """(fn(*args, **kw), wall seconds) in a worker process, BLAS on one thread."""
    from usadel.linsolve import threadpool_limits

    t = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        out = fn(*args, **kw)
    return out, time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two temperatures, no convergence study")
    ap.add_argument("--out", default="out")
    ap.add_argument("--workers", type=int, default=2, help="processes for the independent runs (default 2)")
    a = ap.parse_args(argv)
    Ts = [0.6, 1.05] if a.quick else [0.3, 0.6, 0.8, 0.9, 1.05]
    Tneq = [0.6, 1.05] if a.quick else [0.3, 0.6, 0.9, 1.05]
    eVs = D0 * np.array([0.1, 3.0, 10.0])
    res = {}
    t0 = time.perf_counter()
    res["BCS (Eq. 11), L = 6"] = (Ts, [closed_forms(T, eVs, 6.0) for T in Ts])
    res["BCS (Eq. 11), L = 2"] = (Ts, [closed_forms(T, eVs, 2.0) for T in Ts])
    res["Eq. 11 with the exact Delta(T), L = 6"] = (Ts, [closed_forms(T, eVs, 6.0, exact=True) for T in Ts])
    variants = [(f"(i) sc {inj}" + ("" if tau == 1e4 else f", tau_sf = {tau:g}"), inj, tau)
                for inj, tau in (("tunnel", 1e4), ("transparent", 1e4), ("transparent", 10.0))]
    # every run is independent: all of them go to a process pool at once (the convergence study too)
    pool = ProcessPoolExecutor(max_workers=a.workers)
    jobs = {(key, T): pool.submit(timed, self_consistent, T, eVs, inj, tau_sf=tau) for key, inj, tau in variants
            for T in Ts}
    jobs.update({("(ii) neq tunnel", T): pool.submit(timed, nonequilibrium, T, eVs) for T in Tneq})
    jobs.update({("(iii) 2D, L = 2", T): pool.submit(timed, two_d, T, eVs) for T in Ts})
    conv = [] if a.quick else convergence_jobs(pool)
    timing = {}
    for key, _, _ in variants:
        out = [jobs[(key, T)].result() for T in Ts]
        timing[key] = sum(dt for _, dt in out)
        res[key] = (Ts, [(o[0], o[1]) for o, _ in out])
        for T, (o, _) in zip(Ts, out):
            print(f"{key:36s} T = {T:4.2f}: gap iterations {o[2]['gap_iterations']:3d}, "
                  f"min Delta {o[2]['delta_min']:.4f}, Delta(L) {o[2]['delta_L']:.4f}")
    out = [jobs[("(ii) neq tunnel", T)].result() for T in Tneq]
    timing["(ii) neq tunnel"] = sum(dt for _, dt in out)
    out = [o for o, _ in out]
    res["(ii) neq tunnel"] = (Tneq, [(o[0], o[1]) for o in out])
    print("\n(ii) full nonequilibrium self-consistent runs (usadel.solve, 700 elements, 300 energies; time "
          "includes the stability check of a normal result; 'growth' is the growth rate of small gaps where "
          "Delta is normal, ln(Tc/T) units, < 0: that normal state is stable; '-': nowhere normal):")
    print(f"{'T/Tc':>6} {'eV/D0':>6} {'start':>8} {'outer its':>9} {'time':>7} {'Delta(L)':>9} {'eq. Delta':>9} "
          f"{'growth':>8}")
    notes = []
    for T, o in zip(Tneq, out):
        for eVk, start, its, dt, dL, grow, note in o[2]:
            gs = "-" if grow is None else f"{grow:.3f}"
            print(f"{T:6.2f} {eVk:6.1f} {start:>8} {its:9d} {dt:6.1f}s {dL:9.4f} "
                  f"{bcs.homogeneous_gap(T, 1.0, G_SF):9.4f} {gs:>8}")
            if note:
                notes.append(f"  T = {T}, eV = {eVk:g} D0: {note}")
    if notes:
        print("runs that did not converge from the equilibrium gap (the row above is the normal start):")
        print("\n".join(notes))
    out = [jobs[("(iii) 2D, L = 2", T)].result() for T in Ts]
    timing["(iii) 2D"] = sum(dt for _, dt in out)
    out = [o for o, _ in out]
    res["(iii) 2D, L = 2"] = (Ts, [(o[0], o[1]) for o in out])
    print(f"\n(iii) 2D mesh: {out[0][2]['nodes']} nodes")
    print(f"\ntimes (run time of each group's runs, summed; {a.workers} processes): "
          + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items()))

    # tables: ratio to the variant's own normal state, and difference from the BCS curve
    def ratios(key):
        Tv, vals = res[key]
        A = np.array([v[0] for v in vals])
        B = np.array([v[1] for v in vals])
        return np.array(Tv), A / A[-1], B / B[-1]

    print("\nDelta mu(T)/Delta mu(1.05 Tc): reading (a) | reading (b); [departure from the BCS curve]")
    for key in res:
        Tv, A, B = ratios(key)
        ref = "BCS (Eq. 11), L = 2" if "L = 2" in key else "BCS (Eq. 11), L = 6"
        _, Ar, Br = ratios(ref)
        sel = [Ts.index(T) for T in Tv]
        print(f"\n{key}")
        print(f"{'T/Tc':>6} " + " ".join(f"{'(a) eV=' + format(k, 'g') + 'D0':>14}" for k in eVs / D0) + " | "
              + " ".join(f"{'(b) eV=' + format(k, 'g') + 'D0':>14}" for k in eVs / D0))
        for i, T in enumerate(Tv):
            cells_a = [f"{A[i, j]:7.4f}[{A[i, j] - Ar[sel[i], j]:+.1e}]" for j in range(3)]
            cells_b = [f"{B[i, j]:7.3g}[{B[i, j] / Br[sel[i], j] - 1:+.0%}]" for j in range(3)]
            print(f"{T:6.2f} " + " ".join(f"{c:>14}" for c in cells_a) + " | " + " ".join(f"{c:>14}" for c in cells_b))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, 3, figsize=(15, 4.5))
    for j, ax in enumerate(axs):
        for key, style in zip(res, ["k-", "k:", "k--", "o-", "s-", "v-", "^-", "d--"]):
            Tv, A, B = ratios(key)
            ax.plot(Tv, A[:, j], style, label=key, ms=4)
        ax.set_title(f"reading (a), eV = {eVs[j] / D0:g} Delta0")
        ax.set_xlabel("T/Tc")
        ax.set_ylabel("Delta mu(T)/Delta mu(1.05 Tc)")
    axs[0].legend(fontsize=7)
    out_dir = pathlib.Path(a.out)
    out_dir.mkdir(exist_ok=True)
    fig.savefig(out_dir / "seed_beyond.png", dpi=110, bbox_inches="tight")
    print(f"\nwrote {out_dir / 'seed_beyond.png'}")

    if not a.quick:
        convergence_table(res, conv, eVs)
    pool.shutdown()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s wall ({a.workers} processes)")


CONVERGENCE = {"tunnel": ((1000, 200, 600), (2000, 400, 600), (1000, 200, 1200)),
               "transparent": ((1000, 200, 600), (2000, 400, 600), (1000, 200, 1200)),
               "neq": ((1000, 200, 300), (500, 100, 600))}


def convergence_jobs(pool):
    """Futures of the convergence study at T = 0.6 Tc, eV = 3 Delta0 (mesh and energy grid doubled)."""
    T, e3 = 0.6, D0 * np.array([3.0])
    jobs = [pool.submit(timed, self_consistent, T, e3, inj, n=n, n_edge=ne, n_E=nE)
            for inj in ("tunnel", "transparent") for n, ne, nE in CONVERGENCE[inj]]
    jobs += [pool.submit(timed, nonequilibrium, T, e3, n=n, n_edge=ne, n_E=nE) for n, ne, nE in CONVERGENCE["neq"]]
    base = usadel.meshes.load(pathlib.Path(__file__).resolve().parents[1] / "meshes" / "seed_fig1.msh")
    jobs += [pool.submit(timed, two_d, T, e3, mesh=mesh, n_E=nE) for mesh, nE in ((base, 300), (base.refined(), 300),
                                                                                   (base, 600))]
    return jobs


def convergence_table(res, jobs, eVs):
    print("\nconvergence at T = 0.6 Tc, eV = 3 Delta0 (reading (a), (b) ratios to the normal state use the "
          "base normal values)")
    it = iter(jobs)
    for inj in ("tunnel", "transparent"):
        nA, nB = [np.array([v[k] for v in res[f"(i) sc {inj}"][1]])[-1, 1] for k in (0, 1)]
        for n, ne, nE in CONVERGENCE[inj]:
            (aa, bb, _), _ = next(it).result()
            print(f"(i) {inj:11s} n = {n:4d} + 2 x {ne:3d} edge, {nE:4d} energies: (a) {aa[0] / nA:.6f}  (b) {bb[0] / nB:.6f}")
    nA, nB = [np.array([v[k] for v in res["(ii) neq tunnel"][1]])[-1, 1] for k in (0, 1)]
    for n, ne, nE in CONVERGENCE["neq"]:
        (aa, bb, _), _ = next(it).result()
        print(f"(ii) n = {n:4d} + 2 x {ne:3d} edge, {nE:4d} energies: (a) {aa[0] / nA:.6f}  (b) {bb[0] / nB:.6f}")
    nA, nB = [np.array([v[k] for v in res["(iii) 2D, L = 2"][1]])[-1, 1] for k in (0, 1)]
    for label, nE in (("shipped", 300), ("refined x2", 300), ("shipped", 600)):
        (aa, bb, info), _ = next(it).result()
        print(f"(iii) {label:10s} mesh ({info['nodes']} nodes), {nE} energies: (a) {aa[0] / nA:.6f}  (b) {bb[0] / nB:.6f}")


if __name__ == "__main__":
    main()
