"""File size and write/read times of usadel.io for the 2D seed device (meshes/seed_fig1.msh).

Solves the spectral and kinetic problems of the seed's Fig. 1 device in 2D
(usadel.seed.seed_device_2d, T = 0.5 Tc, eV = 1) on about 1000 energies, then
saves and loads the SpectralResult and the KineticResult (uncompressed, lzf
and gzip; best of 3, the file fsynced), checks that the loaded results give bit-equal observables, and compares
with pickle. Prints one table.

    python benchmarks/io_speed.py [--n-energies 1000]
"""

import argparse
import os
import pickle
import tempfile
import time

import numpy as np

import usadel
from usadel import io
from usadel.observables import energy_grid
from usadel.seed import seed_device_2d


def best_of(fun, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fun()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-energies", type=int, default=1000, help="n of usadel.observables.energy_grid")
    args = ap.parse_args()
    T, eV = 0.5, 1.0
    dev, d = seed_device_2d(T, eV)
    E = energy_grid(d, T=T, e_max=eV / 2 + 30 * T + 2 * d, n=args.n_energies, mu=[eV / 2])
    print(f"{dev!r}".splitlines()[0])
    print(f"{E.size} energies, {dev.topology.n_nodes} nodes, {dev.topology.t.shape[1]} elements, usadel "
          f"{usadel.__version__}")
    t0 = time.perf_counter()
    sp = usadel.spectral(dev, E, delta=d, eta=1e-6 * max(d, 1.0))
    t_sp = time.perf_counter() - t0
    t0 = time.perf_counter()
    k = usadel.kinetic(sp)
    t_k = time.perf_counter() - t0
    print(f"solve: spectral {t_sp:.1f} s, kinetic {t_k:.1f} s")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, res in (("SpectralResult", sp), ("KineticResult", k)):
            for comp in (None, "lzf", "gzip"):
                path = os.path.join(tmp, f"{name}-{comp}.h5")
                t_w, _ = best_of(lambda: io.save(res, path, compression=comp))
                t_r, back = best_of(lambda: io.load(path))
                rows.append((name, f"hdf5 {comp or 'raw'}", os.path.getsize(path), t_w, t_r))
                if name == "KineticResult":
                    assert back.current("reservoir", "spin", rtol=None) == res.current("reservoir", "spin", rtol=None)
                    assert np.array_equal(back.spin_accumulation(), res.spin_accumulation())
                else:
                    assert np.array_equal(back.dos(), res.dos())
            path = os.path.join(tmp, f"{name}.pkl")

            def dump():
                with open(path, "wb") as f:
                    pickle.dump(res, f, protocol=pickle.HIGHEST_PROTOCOL)

            def undump():
                with open(path, "rb") as f:
                    return pickle.load(f)

            t_w, _ = best_of(dump)
            t_r, _ = best_of(undump)
            rows.append((name, "pickle", os.path.getsize(path), t_w, t_r))
        path = os.path.join(tmp, "KineticResult-None.h5")
        import h5py

        def partial():
            with h5py.File(path, "r") as f:
                return f["result/spectral/gamma"][:, 100]
        t_p, _ = best_of(partial)
        vtu = os.path.join(tmp, "k.vtu")
        t_v, names = best_of(lambda: io.export_vtu(k, vtu, energies=[0.5 * d, 1.2 * d, 2 * d, eV / 2, 5 * d]), 1)
        vtu_size = os.path.getsize(vtu)
    print(f"{'result':<15} {'format':<12} {'size MB':>9} {'write s':>8} {'read s':>8}")
    for name, fmt, size, t_w, t_r in rows:
        print(f"{name:<15} {fmt:<12} {size / 1e6:9.2f} {t_w:8.3f} {t_r:8.3f}")
    print(f"partial read of one node's gamma (h5py, {E.size} values): {1e3 * t_p:.2f} ms")
    print(f"export_vtu of the KineticResult at 5 energies ({len(names)} fields): {t_v:.2f} s, "
          f"{vtu_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
