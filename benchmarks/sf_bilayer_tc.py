"""S/F bilayer: critical temperature against the ferromagnet's thickness (non-monotonic).

An S layer (Tc0 = 1, D = 1, thickness 1.2 = 3 xi_S with xi_S = sqrt(D/(2 pi Tc0))) on an F layer
(D = 1, h = 10 Tc0, xi_F = sqrt(D/h) = 0.316) through a barrier r, insulating outer faces, from
``usadel.critical_temperature`` (the linearised gap equation with the exchange field in F). The
pair amplitude oscillates in F, so Tc first drops, passes a minimum near d_F ~ xi_F and recovers
to a plateau as the reflected amplitude's phase turns (Fominov, Chtchelkatchev, Golubov,
PRB 66, 014507 (2002); Buzdin, Rev. Mod. Phys. 77, 935 (2005), Sec. IV). Printed: Tc(d_F) for two
barriers, the minimum and its depth below the thick-F plateau, and the mesh check (twice the
elements) at the minimum.

Run: ``python benchmarks/sf_bilayer_tc.py`` (under a minute); last output in benchmarks/results/.
"""

import time

import numpy as np

import usadel

D_S, H = 1.2, 10.0
XI_F = np.sqrt(1.0 / H)


def tc(d_f, r, per=40):
    m = usadel.meshes.wire([("S", D_S, int(20 * D_S * per / 20)), ("F", d_f, max(4, int(per * d_f)))])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(h=H)},
                        interfaces={("S", "F"): usadel.Barrier(r=r)})
    return usadel.critical_temperature(dev)


def main():
    t0 = time.perf_counter()
    d = np.r_[0.02, np.arange(0.05, 1.26, 0.05)]
    print(f"S/F bilayer: d_S = {D_S:g}, h = {H:g} Tc0, xi_F = {XI_F:.3f}")
    rows = {r: np.array([tc(x, r) for x in d]) for r in (0.3, 1.0)}
    print(f"{'d_F/xi_F':>9} " + " ".join(f"{'Tc (r = ' + format(r, 'g') + ')':>14}" for r in rows))
    for i, x in enumerate(d):
        print(f"{x / XI_F:9.3f} " + " ".join(f"{rows[r][i]:14.6f}" for r in rows))
    for r, v in rows.items():
        k = int(np.argmin(v))
        fine = tc(d[k], r, per=80)
        print(f"r = {r:g}: minimum Tc = {v[k]:.6f} at d_F = {d[k] / XI_F:.2f} xi_F (mesh x2: {fine:.6f}); "
              f"plateau {v[-1]:.6f}, dip {v[-1] - v[k]:.4f} Tc0; thin-F limit {v[0]:.6f}")
    print(f"time {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
