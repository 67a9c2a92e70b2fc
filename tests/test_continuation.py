"""Newton stopping, the homotopy's start and continuation along the energy axis (issue 16)."""

import pathlib

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


def slow_path(dev, E, delta, steps=200):
    """Reference: follow the energies from E + 60 i to E + i eta in many small steps of Im E."""
    prob = RetardedProblem(dev, delta, 1e-6)
    u = prob.initial(E + 60j)
    for im in np.geomspace(60.0, 1e-6, steps):  # factor 1.1 per step
        e = E + 1j * im
        u = prob.impose(e, u)
        u, ok, _ = prob.newton(e, u, 1e-12, 40)
        assert ok.all()
    return u[..., 0], u[..., 1]


def test_homotopy_starts_above_the_reservoir_gaps():
    # Im E started at 2 max(|E|, 0.2, E_Th = 1): far below the reservoirs' gap 30, and the
    # homotopy landed on a wrong branch in the minigap: DOS 1.22-1.38 at the centre for
    # 0.05 <= E <= 0.5 where a slow path from E + 60 i gives 8e-4-9e-4 (-> 0 with the mesh:
    # 6e-5 at n = 160). Reference: that slow path (200 geometric steps in Im E).
    dev = s_wire_between_strong_reservoirs()
    E = np.array([0.05, 0.2, 0.35, 0.5])
    sp = usadel.spectral(dev, E, delta=0.2)
    g, gt = slow_path(dev, E, 0.2)
    assert np.max(np.abs(sp.gamma - g)) < 1e-8 and np.max(np.abs(sp.gamma_t - gt)) < 1e-8
    dos = sp.dos()
    assert np.all(dos >= 0.0) and np.max(dos[:, 20]) < 1e-3


# ---------------------------------------------------------------------------
# method="sweep": continuation along the energy axis against the homotopy
#
# Both routes stop Newton once the full update is below tol = 1e-10 (max norm), and
# Newton converges quadratically there, so each is within ~1e-10 of the same discrete
# solution when both are on the same branch; 1e-8 leaves room for the conditioning
# near gap edges (measured differences 4e-15 to 2e-13), while a wrong branch is off
# by O(0.1-1).

TOL_SAME = 1e-8


def assert_same(a, b):
    assert np.max(np.abs(a.gamma - b.gamma)) < TOL_SAME
    assert np.max(np.abs(a.gamma_t - b.gamma_t)) < TOL_SAME
    assert np.max(np.abs(a.dos() - b.dos())) < TOL_SAME


def both(dev, E, **kw):
    return usadel.spectral(dev, E, method="sweep", **kw), usadel.spectral(dev, E, **kw)


@pytest.mark.parametrize("phase", [0.0, np.pi / 2, 0.8 * np.pi])
def test_sweep_equals_homotopy_on_the_sns_junction(phase):
    # long SNS junction (tests/test_sns.py), minigap 3.1 E_Th at phase 0, closing with phase;
    # negative energies by the symmetry, plus a dense grid across the minigap edge
    E = np.r_[np.linspace(-10.0, 10.0, 161), np.linspace(2.0, 3.5, 61)]
    assert_same(*both(sns_device(100.0, phase, 100), E))


def test_sweep_equals_homotopy_through_zero_energy_without_symmetry():
    # one sweep through E = 0 into negative energies, eta = 0 (the reservoir-branch case of
    # tests/test_robust_inputs.py: the advanced branch once appeared at E < 0)
    dev = usadel.Device(usadel.meshes.interval(1.0, 30), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=3.0), "right": usadel.Reservoir(delta=3.0)})
    E = np.linspace(-4.0, 4.0, 80)  # not on the gap edges (eta = 0)
    a, b = both(dev, E, eta=0.0, symmetric=False)
    assert_same(a, b)
    np.testing.assert_allclose(a.dos()[::-1], a.dos(), atol=1e-9)


@pytest.mark.filterwarnings("error")
def test_sweep_with_repeated_energies():
    # without the symmetry nothing merges equal energies; the predictor divided by 0 (a
    # RuntimeWarning, NaN predictions redone by the homotopy): now a repeat reuses its solution
    dev = sns_device(100.0, 1.0, 40)
    E = np.array([5.0, 1.0, 5.0, 3.0, 3.0, 3.0, 2.0, 0.5, 0.5, 4.0] * 2)
    a, b = both(dev, E, symmetric=False)
    assert_same(a, b)


def test_sweep_equals_homotopy_on_an_s_wire_between_reservoirs():
    # the homotopy-start case above over the whole spectrum, where the discrete DOS dips
    # to -0.07 at E ~ 1.25 (an O(h^2) error: -3e-4 at n = 640) and every continued energy
    # there fails the branch check and is redone by the homotopy
    a, b = both(s_wire_between_strong_reservoirs(), np.linspace(0.0, 40.0, 201), delta=0.2)
    assert_same(a, b)
    assert np.max(a.dos()[a.energies < 0.5, 20]) < 1e-3


@pytest.mark.parametrize("h, tau_sf", [(0.0, 5.0), (0.3, None)])
def test_sweep_equals_homotopy_with_tunnel_contacts_pair_breaking_or_exchange(h, tau_sf):
    # S/N bilayer with a tunnel contact, a tunnel interface and either spin-flip pair
    # breaking or a spin-split reservoir (both spin blocks swept)
    m = usadel.meshes.wire([("S", 0.5, 20), ("N", 0.5, 20)])
    dev = usadel.Device(m, {"S": usadel.Material(tc=1.0, tau_sf=tau_sf), "N": usadel.Material(tau_sf=tau_sf)},
                        {"left": usadel.Reservoir(delta=2.0, barrier=usadel.Barrier(r=0.5)),
                         "right": usadel.Reservoir(delta=1.0, phase=1.0, h=h)},
                        interfaces={("S", "N"): usadel.Barrier(r=0.2)})
    a, b = both(dev, np.linspace(-3.0, 3.0, 121), delta={"S": 0.5})
    assert_same(a, b)
    assert a.spin_split == (h != 0)
    if h:
        assert np.max(np.abs(a.gamma_dn - b.gamma_dn)) < TOL_SAME


def test_sweep_equals_homotopy_on_the_matsubara_axis():
    w = np.pi * 0.1 * (2 * np.arange(40) + 1)
    assert_same(*both(sns_device(20.0, 2.0, 60), 1j * w))


def test_sweep_equals_homotopy_on_a_2d_mesh():
    # the shipped 2D SNS mesh (614 nodes): sparse LU with GMRES reuse, one lane
    m = usadel.meshes.load(pathlib.Path(__file__).parents[1] / "meshes" / "sns_2d.msh")
    S = usadel.Material(D=1.0, tc=1.0)
    dev = usadel.Device(m, {"S_left": S, "S_right": S, "N": usadel.Material(D=1.0)},
                        {"left": usadel.Reservoir(delta=20.0, phase=-0.5), "right": usadel.Reservoir(delta=20.0, phase=0.5)})
    assert not dev.operators.solver(2, True).banded
    assert_same(*both(dev, np.linspace(0.0, 25.0, 21), delta=20.0))


def test_sweep_in_chunks_and_over_a_process_pool_equals_one_sweep():
    from concurrent.futures import ProcessPoolExecutor

    dev, E = sns_device(100.0, 1.0, 60), np.linspace(0.0, 10.0, 60)
    one = usadel.spectral(dev, E, method="sweep")
    assert_same(one, usadel.spectral(dev, E, method="sweep", chunk=7))
    with ProcessPoolExecutor(2) as ex:
        assert_same(one, usadel.spectral(dev, E, method="sweep", chunk=30, executor=ex))


def test_upward_sweep_meets_the_mirror_branch_and_the_check_repairs_it(monkeypatch):
    # Issue 16: continuing from low to high energy jumps to the mirror solution just above
    # the minigap (measured min DOS -0.30 at E = 3.065, n = 100). The branch check must
    # catch it, redo that energy by the homotopy and restart the predictor there.
    from usadel import sweep as SW
    from usadel.bulk import on_retarded_branch

    dev = sns_device(100.0, 0.0, 100)
    prob = RetardedProblem(dev, 0.0, 1e-6)
    eps = np.linspace(0.0, 10.0, 200) + 1e-6j
    ref = usadel.spectral(dev, eps.real)
    started = []

    def start(p, e, tol, maxiter):  # the homotopy, recording where it is called
        started.extend(e.real)
        sp = usadel.spectral(dev, e.real, tol=tol, maxiter=maxiter, symmetric=False)
        return sp.state, np.ones(e.size, bool), sp.residuals

    monkeypatch.setattr(SW, "SWEEP_LANES", 1)
    u, ok, _ = SW.sweep(prob, eps, 1e-10, 40, start, descending=False)
    g, gt = u[..., 0], u[..., 1]
    assert started[0] == 0.0 and any(3.0 < e < 3.2 for e in started[1:])
    assert ok.all() and on_retarded_branch(g, gt).all()
    assert np.max(np.abs(g - ref.gamma)) < TOL_SAME and np.max(np.abs(gt - ref.gamma_t)) < TOL_SAME


def test_sweep_sample_check_redoes_a_batch_with_a_wrong_energy(caplog):
    # The sweep compares every SWEEP_SAMPLE-th energy with the homotopy: a batch in which one sampled
    # energy sits on another solution (here: perturbed by 1e-3, above SWEEP_SAMPLE_TOL) is redone by
    # the homotopy entirely, with a warning; a correct batch is returned as it is.
    from usadel import sweep as sw
    from usadel.retarded import homotopy  # the driver spectral passes as ``start``

    dev = sns_device(100.0, 0.0, 40)
    prob = RetardedProblem(dev, 0.0, 1e-6)
    eps = np.linspace(0.0, 10.0, 64).astype(complex) + 1e-6j
    u, ok, res = sw.sweep(prob, eps, 1e-10, 40, start=homotopy)
    same = sw._sample_check(prob, eps, u.copy(), ok, res, 1e-10, 40, homotopy)
    assert np.array_equal(same[0], u)
    bad = u.copy()
    bad[sw.SWEEP_SAMPLE // 2 + sw.SWEEP_SAMPLE, :, 0] += 1e-3
    with caplog.at_level("WARNING", logger="usadel.sweep"):
        redone = sw._sample_check(prob, eps, bad, ok, res, 1e-10, 40, homotopy)
    assert "redone by the homotopy" in caplog.text
    assert np.max(np.abs(redone[0] - u)) < 1e-8


@pytest.mark.parametrize("max_step, edge_step", [(None, None), (np.inf, None), (np.inf, np.inf)])
def test_sweep_does_not_continue_long_steps(monkeypatch, max_step, edge_step):
    # Found by refine_energies on the long SNS junction (reservoir gaps 100, phase 0.64 pi): a lane
    # started just below the reservoirs' gap edge and continued over a step of 13 E_Th landed on
    # another solution (DOS 1.010 for 0.994 at E = 32) that passed every local check. Steps longer
    # than SWEEP_MAX_STEP Thouless energies now start from the homotopy, and so do steps longer than
    # SWEEP_EDGE_STEP times the distance to a reservoir's gap edge; with the sample check off the sweep
    # must still equal the homotopy (1e-8), with either bound alone too. With both off (inf) it must
    # not, which shows the case is the one found.
    from usadel import sweep as sw

    monkeypatch.setattr(sw, "_sample_check", lambda prob, eps, u, ok, res, *a, **k: (u, ok, res))
    if max_step is not None:
        monkeypatch.setattr(sw, "SWEEP_MAX_STEP", max_step)
    if edge_step is not None:
        monkeypatch.setattr(sw, "SWEEP_EDGE_STEP", edge_step)
    dev = sns_device(100.0, 0.63855 * np.pi, 200)
    E = np.r_[114.13, 111.01, 108.39, 106.22, 104.47, 103.08, 100.02, 99.986, 86.72, 83.40, 77.69, 61.88, 57.95,
              56.72, 44.52, 41.61, 41.02, 32.90, 32.20, 29.69, 25.52, 25.06, 24.60, 24.13]
    a = usadel.spectral(dev, E, method="homotopy")
    b = usadel.spectral(dev, E, method="sweep", chunk=E.size)
    wrong = np.max(np.abs(a.gamma - b.gamma)) > 1e-2
    assert wrong == (edge_step is not None)
    if edge_step is None:
        assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8


def test_sweep_continues_on_a_long_superconducting_wire():
    # The seed device's bounding-box Thouless energy is ~5e-7 (D = 1e-4, L ~ 14): with the step bound in
    # E_Th alone every energy went to the homotopy. The bound also admits steps short next to |E| and to
    # the nearest gap edge (sweep.max_steps), so the sweep continues there, and must equal the homotopy
    # (1e-10; measured 1.5e-15 on 500 elements and 664 energies)
    from usadel import seed, sweep as sw
    from usadel.observables import energy_grid
    from usadel.retarded import RetardedProblem

    T, eV = 0.5, 3 * 1.76
    dev, d = seed.seed_device_1d(T, eV, n=200)
    E = energy_grid(d, T=T, e_max=eV / 2 + 30 * T + 2 * d, n=300, mu=[eV / 2])
    prob = RetardedProblem(dev, d, 1e-6)
    Es = np.sort(E)[::-1]
    steps = sw.max_steps(prob, Es[:-1], Es[1:])
    # most steps are continued (measured 67% on this grid; none before)
    assert prob.ops.thouless_energy < 1e-6 and np.mean(np.abs(np.diff(Es)) <= steps) > 0.5
    a = usadel.spectral(dev, E, delta=d, method="homotopy")
    b = usadel.spectral(dev, E, delta=d)
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-10


def test_sweep_does_not_continue_from_a_reservoir_gap_edge(monkeypatch):
    # An SNS wire between gap-5 reservoirs (E_Th = 1, phase pi/2) on 121 energies in [0, 12]: the lane below
    # the edge began at E = 5.0, on the edge, and a step of 0.1 E_Th (admitted by the E_Th bound) landed on
    # another solution from 4.9 down to 3.4 (DOS 1.48 at the centre for 1.28: positive, residual at rounding;
    # a careful eta-continuation at 4.3, 4.9 and 3.4 agrees with the homotopy to 6e-15). Only the sample check
    # caught it. Steps are now bounded by half the distance to a reservoir edge (sweep.max_steps): with the
    # sample check switched off the sweep must equal the homotopy (1e-8; measured 6e-15).
    from usadel import sweep as sw

    dev = usadel.Device(usadel.meshes.interval(1.0, 80), {"wire": usadel.Material(D=1.0)},
                        contacts={"left": usadel.Reservoir(delta=5.0), "right": usadel.Reservoir(delta=5.0,
                                                                                                 phase=np.pi / 2)})
    monkeypatch.setattr(sw, "_sample_check", lambda prob, eps, u, ok, res, *a, **k: (u, ok, res))
    E = np.linspace(0.0, 12.0, 121)
    a = usadel.spectral(dev, E, method="homotopy")
    b = usadel.spectral(dev, E)
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8


def test_sweep_does_not_cross_the_local_gap_edges_of_a_varying_gap(monkeypatch):
    # The seed device (T = 0.3 Tc, eV = 3 Delta0) during the nonequilibrium loop (benchmarks/seed_beyond.py,
    # (ii)): Delta(x) collapsing from the S reservoir's 1.76 to 0.14 at the battery (tests/data: that Delta,
    # rounded to 1e-6, and the loop's 416 co-moving energies). With the device's gap edges taken as its largest
    # |Delta| alone, the sweep stepped from E = 1.485 across the local gap edge 1.474 to another solution at
    # 1.471 (DOS 1.37 for 0.044 where the local gap is 1.474; a 600-stage eta continuation agrees with the
    # homotopy to 2e-15), caught only by the sample check, which then redid all 416 energies. The local gap
    # edges now fill the range of |Delta(x)| (sweep.max_steps): with the sample check off the sweep must equal
    # the homotopy (1e-8; measured 7e-15), and with the old rule it must not (measured 6.9e-2).
    import pathlib

    from usadel import seed, sweep as sw
    from usadel.retarded import RetardedProblem

    data = np.load(pathlib.Path(__file__).parent / "data" / "seed_collapsing_gap.npz")
    dev, _ = seed.seed_device_1d(0.3, 3 * 1.76, delta=1.7587420099151563, edge=0.1, n_edge=100, n=500)
    E, delta, eta = data["energies"], data["delta"], 1.7588e-6
    monkeypatch.setattr(sw, "_sample_check", lambda prob, eps, u, ok, res, *a, **k: (u, ok, res))
    a = usadel.spectral(dev, E, delta=delta, eta=eta, method="homotopy")
    b = usadel.spectral(dev, E, delta=delta, eta=eta)
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8
    monkeypatch.setattr(RetardedProblem, "smallest_gap", property(lambda prob: prob.energy_scale))
    c = usadel.spectral(dev, E, delta=delta, eta=eta)
    assert np.max(np.abs(a.gamma - c.gamma)) > 1e-2


def test_smallest_gap_of_every_problem():
    # The sweep's range of local gap edges (sweep.max_steps) needs each problem's smallest gap: S1 (Delta 1) -
    # F (h = 5, no gap) - S2 (Delta 2). The field in F does not lower the superconductors' edges (it did: every
    # energy below 6.76 then went to the homotopy, results unchanged); P1, P3, the spin-mixed blocks and P2
    # triangles all give 1 (a review found the last two without it: the sweep then fell back to the largest gap).
    from usadel.highorder import HighOrderProblem
    from usadel.highorder_tri import TriP2Problem
    from usadel.retarded import RetardedProblem
    from usadel.spin_mixing import SpinMixedProblem

    m = usadel.meshes.wire([("S1", 1.0, 10), ("F", 1.0, 10), ("S2", 1.0, 10)])
    contacts = {"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir(delta=2.0)}
    delta = {"S1": 1.0, "S2": 2.0, "F": 0.0}
    mats = {"S1": usadel.Material(tc=1.0), "F": usadel.Material(h=5.0), "S2": usadel.Material(tc=2.0)}
    for order, problem in ((1, RetardedProblem), (3, HighOrderProblem)):
        dev = usadel.Device(m, mats, contacts=contacts, order=order)
        for spin in (0, 1, -1):
            assert problem(dev, delta, 1e-6, spin).smallest_gap == pytest.approx(1.0, abs=1e-12)
    mixed = {r: usadel.Material(tc=mat.tc, h=mat.h, tau_sf=10.0) for r, mat in mats.items()}
    assert SpinMixedProblem(usadel.Device(m, mixed, contacts=contacts), delta, 1e-6).smallest_gap == \
        pytest.approx(1.0, abs=1e-12)
    strip = usadel.Device(usadel.meshes.strip(1.0, 0.25, 8, 2), {"wire": usadel.Material(tc=1.0)},
                          contacts={"left": usadel.Reservoir(delta=1.0), "right": usadel.Reservoir(delta=1.0)}, order=2)
    assert TriP2Problem(strip, 0.7, 1e-6).smallest_gap == pytest.approx(0.7, abs=1e-12)
    normal = usadel.Device(usadel.meshes.interval(1.0, 5), {"wire": usadel.Material()}, contacts=contacts)
    assert RetardedProblem(normal, 0.0, 1e-6).smallest_gap is None


def test_the_end_of_every_lane_is_sampled():
    # a wrong branch that passes the local checks is followed to the end of its lane, where lanes enter
    # minigaps: P2 on 8 elements between gap-1 reservoirs at phase pi/2, 200 energies in [0.5, 3]. The last
    # 9 continued energies (0.50-0.60) had DOS 2.0-4.6 where the homotopy and P4 x 32 give ~0 (max |gamma|
    # difference 0.86), all after the last every-16th sample, and nothing warned (found by a review once the
    # compiled chains swept in one lane). Each lane's last continued energy is now sampled, so the batch is
    # redone by the homotopy; sparse (2D) samples end at the lane's end too
    from usadel.sweep import sample_positions

    dev = usadel.Device(usadel.meshes.interval(1.0, 8), {"wire": usadel.Material(D=1.0)},
                        {"left": usadel.Reservoir(delta=1.0, phase=-np.pi / 4),
                         "right": usadel.Reservoir(delta=1.0, phase=np.pi / 4)}, order=2)
    E = np.linspace(0.5, 3.0, 200)
    a, b = usadel.spectral(dev, E), usadel.spectral(dev, E, method="homotopy")
    assert np.max(np.abs(a.gamma - b.gamma)) < 1e-8
    assert sample_positions(131, sparse=True)[-1] == 130
    assert sample_positions(5, sparse=True).size == len(set(sample_positions(5, sparse=True)))
