"""One-off costs of a device's P1 geometry (issue 16: gradients, volumes, facet weights and point location
from scikit-fem): Device construction (boundary model with its facet weights), the P1 operators (gradients
and volumes), and point location, on the 20k-node strip of ``benchmarks/sweep_2d.py`` and on 1D wires.

    python benchmarks/geometry_setup.py [--repeat 7]

Prints the minimum over ``--repeat`` runs of each step (wall milliseconds, one BLAS thread). Run it with
PYTHONPATH pointing at two checkouts to compare them (that table uses only the public API). A second
table times the geometry alone, interleaved in one process (less exposed to a shared machine's load):
the hand-written formulas usadel used before (kept here) against ``usadel.skfem_geometry``.
"""

import argparse
import math
import time

import numpy as np

import usadel
from usadel.fem import Operators, locate
from usadel.linsolve import threadpool_limits


def best(f, repeat):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        out.append(time.perf_counter() - t0)
    return min(out)


def cases():
    strip = usadel.meshes.strip(1.0, 0.25, 400, 50)
    sns = {"left": usadel.Reservoir(delta=100.0, phase=-0.5), "right": usadel.Reservoir(delta=100.0, phase=0.5)}
    yield "strip 400 x 50 (2D)", lambda: usadel.Device(strip, {"wire": usadel.Material()}, sns)
    for n in (24, 100, 3200):
        wire = usadel.meshes.interval(1.0, n)
        yield f"interval n = {n} (1D)", lambda wire=wire: usadel.Device(wire, {"wire": usadel.Material()}, sns)
    snsw = usadel.meshes.wire([("S", 1.0, 50), ("N", 1.0, 100), ("S", 1.0, 50)])
    yield "S-N-S wire, tunnel interfaces (1D)", lambda: usadel.Device(
        snsw, {"S": usadel.Material(tc=1.0), "N": usadel.Material()}, {"left": usadel.Reservoir(delta=1.0)},
        interfaces={("S", "N"): usadel.Barrier(r=1.0)})


def hand_gradients(p, t):
    """P1 gradients and volumes of full-dimensional simplices by hand (usadel.fem before scikit-fem)."""
    d = t.shape[0] - 1
    X = p[:, t]
    J = np.moveaxis(X[:, 1:, :] - X[:, :1, :], -1, 0)
    inv = np.linalg.inv(J)
    grad = np.empty((t.shape[1], d + 1, p.shape[0]))
    grad[:, 1:, :] = inv
    grad[:, 0, :] = -inv.sum(axis=1)
    return grad, np.abs(np.linalg.det(J)) / math.factorial(d)


def hand_facets(p, nodes):
    """Facet measures by hand (usadel.boundary before scikit-fem; 1D: 1, 2D: lengths)."""
    if nodes.shape[0] == 1:
        return np.ones(nodes.shape[1])
    return np.linalg.norm(p[:, nodes[1]] - p[:, nodes[0]], axis=0)


def interleaved(repeat):
    try:
        from usadel.skfem_geometry import cell_geometry, facet_measure, simplex_mesh
    except ImportError:
        return
    print(f"\ngeometry alone, interleaved in one process (min of {repeat}), ms: hand-written / scikit-fem")
    print(f"{'case':38s} {'gradients+volumes':>22s} {'facet measures':>20s}")
    for name, make in cases():
        top = make().topology
        fn, own = top.boundary["left"]
        hand_g, sk_g, hand_f, sk_f = [], [], [], []
        for _ in range(repeat):
            hand_g.append(best(lambda: hand_gradients(top.p, top.t), 1))
            sk_g.append(best(lambda: cell_geometry(simplex_mesh(top.p, top.t)), 1))
            hand_f.append(best(lambda: hand_facets(top.p, fn), 1))
            sk_f.append(best(lambda: facet_measure(top.p, top.t, fn, own), 1))
        print(f"{name:38s} {1e3 * min(hand_g):10.3f} / {1e3 * min(sk_g):9.3f} {1e3 * min(hand_f):8.3f} / "
              f"{1e3 * min(sk_f):9.3f}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    a = ap.parse_args(argv)
    print(f"usadel from {usadel.__file__}; min of {a.repeat} runs, ms")
    print(f"{'case':38s} {'nodes':>6s} {'Device':>8s} {'Operators':>9s} {'locate 1':>9s} {'locate 1000':>11s} "
          f"{'200 on faces':>12s}")
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for name, make in cases():
            dev = make()
            top = dev.topology
            t_dev = best(make, a.repeat)
            t_ops = best(lambda: Operators(dev), a.repeat)
            e = rng.integers(0, top.t.shape[1], 1000)
            lam = rng.dirichlet(np.full(top.t.shape[0], 2.0), e.size)
            inner = np.einsum("pi,dip->pd", lam, top.p[:, top.t[:, e]])
            faces = top.p[:, top.t[:-1, e[:200]]].mean(axis=1).T  # facet midpoints: the exhaustive fallback
            locate(dev, inner[:1])  # the operators and the finder are built once per device
            t1 = best(lambda: locate(dev, inner[:1]), a.repeat)
            t1000 = best(lambda: locate(dev, inner), a.repeat)
            tf = best(lambda: locate(dev, faces), a.repeat)
            print(f"{name:38s} {top.n_nodes:6d} {1e3 * t_dev:8.3f} {1e3 * t_ops:9.3f} {1e3 * t1:9.3f} "
                  f"{1e3 * t1000:11.3f} {1e3 * tf:12.3f}", flush=True)
        interleaved(a.repeat)


if __name__ == "__main__":
    main()
