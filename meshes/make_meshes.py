"""Generate the shipped 2D meshes with gmsh (pip install gmsh); writes MSH 4.1.

    python meshes/make_meshes.py [--size-factor 1.0]

Every region is a named physical surface and every contact a named physical
curve (MSH 2.2 drops interior groups in some readers; unnamed groups cannot be referred to).
Lengths are in units of the junction/wire length scale used in the docs.

- sns_2d.msh: N wire (1 x 0.2) between two wider S banks.
  Regions "S_left", "N", "S_right"; contacts "left", "right".
- cross_spin_valve.msh: nonlocal spin valve. Superconducting channel "S"
  (x in (0, 3), width 0.2) crossed by two normal arms "arm_inj" (x = 1) and
  "arm_det" (x = 2). Contacts "inj", "det" (arm ends), "left", "right" (channel ends).
- seed_fig1.msh: the seed's Fig. 1 in 2D. Spin-battery pad "N" (x in (-0.3, 0))
  tunnel-coupled to the S wire "S" (x in (0, 8), width 0.2); the S wire ends in
  the S reservoir "reservoir" at x = 8; a finite-width detector contact
  "detector" on the top edge around x = 2; the battery pad's far edge "battery".
"""

import argparse
import pathlib

import gmsh

HERE = pathlib.Path(__file__).parent


def _finish(name, regions, curves, size):
    occ = gmsh.model.occ
    occ.synchronize()
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", size)
    for rname, tags in regions.items():
        gmsh.model.addPhysicalGroup(2, tags, name=rname)
    for cname, test in curves.items():
        found = []
        for dim, tag in gmsh.model.getEntities(1):
            x0, y0, _, x1, y1, _ = gmsh.model.getBoundingBox(dim, tag)
            if test(x0, y0, x1, y1):
                found.append(tag)
        if not found:
            raise RuntimeError(f"{name}: no curve for contact {cname!r}")
        gmsh.model.addPhysicalGroup(1, found, name=cname)
    gmsh.model.mesh.generate(2)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(HERE / name))


def _rects(specs):
    """Fragment rectangles (x, y, w, h) and return the surface tags per spec in order."""
    occ = gmsh.model.occ
    tags = [occ.addRectangle(x, y, 0, w, h) for x, y, w, h in specs]
    _, children = occ.fragment([(2, t) for t in tags], [])
    occ.synchronize()
    return [[c[1] for c in ch] for ch in children]


def close(a, b, tol=1e-5):
    return abs(a - b) < tol


def sns(size):
    gmsh.model.add("sns_2d")
    t = _rects([(-0.3, -0.3, 0.3, 0.8), (0.0, 0.0, 1.0, 0.2), (1.0, -0.3, 0.3, 0.8)])
    _finish("sns_2d.msh", {"S_left": t[0], "N": [s for s in t[1] if s not in t[0] + t[2]], "S_right": t[2]},
            {"left": lambda x0, y0, x1, y1: close(x0, -0.3) and close(x1, -0.3),
             "right": lambda x0, y0, x1, y1: close(x0, 1.3) and close(x1, 1.3)}, size)


def cross(size):
    gmsh.model.add("cross")
    w = 0.2
    t = _rects([(0.0, 0.0, 3.0, w), (1.0 - w / 2, w, w, 1.0), (2.0 - w / 2, w, w, 1.0)])
    _finish("cross_spin_valve.msh", {"S": t[0], "arm_inj": t[1], "arm_det": t[2]},
            {"left": lambda x0, y0, x1, y1: close(x0, 0) and close(x1, 0),
             "right": lambda x0, y0, x1, y1: close(x0, 3) and close(x1, 3),
             "inj": lambda x0, y0, x1, y1: close(y0, w + 1) and close(y1, w + 1) and x1 < 1.5,
             "det": lambda x0, y0, x1, y1: close(y0, w + 1) and close(y1, w + 1) and x0 > 1.5}, size)


def seed_fig1(size):
    gmsh.model.add("seed_fig1")
    w, L, LS, wd = 0.2, 2.0, 8.0, 0.2
    t = _rects([(-0.3, -0.1, 0.3, 0.4), (0.0, 0.0, L - wd / 2, w), (L - wd / 2, 0.0, wd, w), (L + wd / 2, 0.0, LS - L - wd / 2, w)])
    _finish("seed_fig1.msh", {"N": t[0], "S": t[1] + t[2] + t[3]},
            {"battery": lambda x0, y0, x1, y1: close(x0, -0.3) and close(x1, -0.3),
             "reservoir": lambda x0, y0, x1, y1: close(x0, LS) and close(x1, LS),
             "detector": lambda x0, y0, x1, y1: close(y0, w) and close(y1, w) and close(x0, L - wd / 2) and close(x1, L + wd / 2)},
            size)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-factor", type=float, default=1.0)
    a = ap.parse_args(argv)
    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        sns(0.04 * a.size_factor)
        cross(0.05 * a.size_factor)
        seed_fig1(0.05 * a.size_factor)
    finally:
        gmsh.finalize()


if __name__ == "__main__":
    main()
