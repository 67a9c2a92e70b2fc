"""Newton stopping, the homotopy's start and continuation along the energy axis (issue 16)."""

import numpy as np
import pytest

import usadel
from conftest import sns_device
from usadel.retarded import RetardedProblem


def test_default_tolerance_converges_newton_on_a_fine_mesh():
    # The residual test scaled like 1/h, so on fine meshes Newton stopped early: at n = 800
    # the default tol = 1e-10 gave DOS 1.3e-6 away from tol = 1e-14 (3.9e-6 at n = 3200).
    # Stopping on the update, the two agree to rounding (measured 0 to 8e-13); 1e-9 = 10 tol.
    dev = sns_device(100.0, 0.0, 800)
    E = np.linspace(0.0, 10.0, 41)
    a = usadel.spectral(dev, E).dos()
    b = usadel.spectral(dev, E, tol=1e-14).dos()
    assert np.max(np.abs(a - b)) < 1e-9


def s_wire_between_strong_reservoirs(n=40):
    # S wire (Delta = 0.2) between reservoirs of gap 30, phase difference 2.5
    return usadel.Device(usadel.meshes.interval(1.0, n), {"wire": usadel.Material(tc=1.0)},
                         {"left": usadel.Reservoir(delta=30.0, phase=-1.25),
                          "right": usadel.Reservoir(delta=30.0, phase=1.25)})


def slow_path(dev, E, delta, steps=400):
    """Reference: follow each energy from E + 60 i to E + i eta in many small steps of Im E."""
    prob = RetardedProblem(dev, delta, 1e-6)
    out = []
    for e0 in E:
        g, gt = prob.initial(np.array([e0 + 60j]))
        for im in np.geomspace(60.0, 1e-6, steps):
            e = np.array([e0 + 1j * im])
            g, gt = prob.impose(e, g, gt)
            g, gt, ok, _ = prob.newton(e, g, gt, 1e-12, 40)
            assert ok[0]
        out.append((g[0], gt[0]))
    return np.array([o[0] for o in out]), np.array([o[1] for o in out])


def test_homotopy_starts_above_the_reservoir_gaps():
    # Im E started at 2 max(|E|, 0.2, E_Th = 1): far below the reservoirs' gap 30, and the
    # homotopy landed on a wrong branch in the minigap: DOS 1.22-1.38 at the centre for
    # 0.05 <= E <= 0.5 where a slow path from E + 60 i gives 8e-4-9e-4 (-> 0 with the mesh:
    # 6e-5 at n = 160). Reference: that slow path (400 geometric steps in Im E).
    dev = s_wire_between_strong_reservoirs()
    E = np.array([0.05, 0.2, 0.35, 0.5])
    sp = usadel.spectral(dev, E, delta=0.2)
    g, gt = slow_path(dev, E, 0.2)
    assert np.max(np.abs(sp.gamma - g)) < 1e-8 and np.max(np.abs(sp.gamma_t - gt)) < 1e-8
    dos = sp.dos()
    assert np.all(dos >= 0.0) and np.max(dos[:, 20]) < 1e-3
