"""2D (sparse LU) energy sweeps: LU slots, preconditioned GMRES, the sample check, memory, chunks (issue 16)."""

import pathlib

import numpy as np
import pytest
import scipy.sparse as sps

import usadel
from usadel import linsolve
from usadel.retarded import RetardedProblem, homotopy

TOL_SAME = 1e-8  # as tests/test_continuation.py: same branch to ~tol, a wrong one is off by O(0.1-1)


def sns_2d():
    m = usadel.meshes.load(pathlib.Path(__file__).parents[1] / "meshes" / "sns_2d.msh")
    S = usadel.Material(D=1.0, tc=1.0)
    return usadel.Device(m, {"S_left": S, "S_right": S, "N": usadel.Material(D=1.0)},
                         {"left": usadel.Reservoir(delta=20.0, phase=-0.5),
                          "right": usadel.Reservoir(delta=20.0, phase=0.5)})


def test_fgmres_solves_to_the_requested_true_residual():
    rng = np.random.default_rng(1)
    n = 200
    A = sps.random(n, n, density=0.02, random_state=2) * 0.3 + sps.eye(n) * (4.0 + 1j)
    A = A.tocsr().astype(complex)
    M = (A + sps.diags(0.05 * rng.standard_normal(n))).tocsc()  # a nearby matrix's LU as preconditioner
    lu = sps.linalg.splu(M)
    b = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    x, iters = linsolve.fgmres(A, b, lu.solve, 1e-12, 30)
    assert np.linalg.norm(A @ x - b) <= 1e-11 * np.linalg.norm(b) and iters < 15
    x0, it0 = linsolve.fgmres(A, np.zeros(n, complex), lu.solve, 1e-12, 30)
    assert it0 == 0 and not x0.any()


def test_homotopy_does_not_replace_the_sweeps_lu():
    # the sweep keeps its LU in its own slot: a homotopy in between (a lane start, a redo, the sample
    # check) factorises in its stages' slots, and the sweep's next solve needs no new LU
    dev = sns_2d()
    prob = RetardedProblem(dev, 20.0, 1e-6)
    solver = prob.solver
    assert not solver.banded
    eps = np.array([6.0, 5.9]) + 1e-6j
    u, ok, _ = homotopy(prob, eps[:1], 1e-10, 40)
    with solver.using("sweep"):
        prob.newton(eps[:1], u.copy(), 1e-10, 8)
    homotopy(prob, eps[1:], 1e-10, 40)
    lus = solver.stats["lu"]
    with solver.using("sweep"):
        u1, ok1, _ = prob.newton(eps[1:], u.copy(), 1e-10, 8)
    assert ok1.all() and solver.stats["lu"] == lus
    mem = solver.memory()
    assert mem["slots"] >= 2 and 0 < mem["lu_bytes"] <= mem["lu_bytes_peak"]


def test_lu_memory_stays_within_the_budget(monkeypatch):
    # slots beyond the budget drop the least recently used LU (one is always kept)
    dev = sns_2d()
    prob = RetardedProblem(dev, 20.0, 1e-6)
    eps = np.array([3.0]) + 1e-6j
    homotopy(prob, eps, 1e-10, 40)
    one = max(prob.solver.memory()["lu_bytes"] // max(prob.solver.memory()["slots"], 1), 1)
    monkeypatch.setattr(linsolve, "LU_MEMORY_BUDGET", int(1.5 * one))
    fresh = RetardedProblem(sns_2d(), 20.0, 1e-6)
    u, ok, _ = homotopy(fresh, eps, 1e-10, 40)
    mem = fresh.solver.memory()
    assert ok.all() and mem["slots"] == 1 and mem["lu_bytes_peak"] <= 1.5 * one


def test_sparse_sample_check_catches_a_wrong_energy(caplog):
    # 2D solves sample SWEEP_SAMPLES_SPARSE evenly spread energies per batch (each costs a homotopy), the
    # last at the batch's end (a wrong branch is followed to the end of its lane, where it enters the
    # minigap): a sampled energy off the homotopy's solution (perturbed by 1e-3) makes the whole batch redone
    from usadel import sweep as sw

    dev = sns_2d()
    prob = RetardedProblem(dev, 20.0, 1e-6)
    eps = np.linspace(0.0, 25.0, 40).astype(complex) + 1e-6j
    u, ok, res = sw.sweep(prob, eps, 1e-10, 40, start=homotopy)
    ref = usadel.spectral(dev, eps.real, delta=20.0, method="homotopy")
    assert np.max(np.abs(u[..., 0] - ref.gamma)) < TOL_SAME
    pos = sw.sample_positions(eps.size, sparse=True)
    assert pos.size == sw.SWEEP_SAMPLES_SPARSE and 0 < pos[0] and pos[-1] == eps.size - 1
    bad = u.copy()
    bad[pos[1], :, 0] += 1e-3
    with caplog.at_level("WARNING", logger="usadel.sweep"):
        redone = sw._sample_check(prob, eps, bad, ok, res, 1e-10, 40, homotopy)
    assert "redone by the homotopy" in caplog.text
    assert np.max(np.abs(redone[0][..., 0] - ref.gamma)) < TOL_SAME


def test_sparse_sweep_over_a_process_pool_equals_one_sweep():
    # with an executor a 2D sweep is cut into one contiguous block per worker, each a sweep of its own
    from concurrent.futures import ProcessPoolExecutor

    dev = sns_2d()
    E = np.linspace(0.0, 25.0, 24)
    one = usadel.spectral(dev, E, delta=20.0)
    with ProcessPoolExecutor(2) as ex:
        two = usadel.spectral(dev, E, delta=20.0, executor=ex)
    assert np.max(np.abs(one.gamma - two.gamma)) < TOL_SAME
    assert np.max(np.abs(one.dos() - two.dos())) < TOL_SAME


@pytest.mark.parametrize("accept", [1e-6, 1e-11])
def test_newton_result_does_not_depend_on_the_gmres_acceptance(monkeypatch, accept):
    # the continuation's GMRES solves are inexact (SWEEP_GMRES_ACCEPT); Newton's fixed point is not:
    # the sweep agrees with the homotopy to the same level either way
    from usadel import sweep as sw

    monkeypatch.setattr(sw, "SWEEP_GMRES_ACCEPT", accept)
    dev = sns_2d()
    E = np.linspace(0.0, 25.0, 31)
    a = usadel.spectral(dev, E, delta=20.0)
    b = usadel.spectral(dev, E, delta=20.0, method="homotopy")
    assert np.max(np.abs(a.gamma - b.gamma)) < TOL_SAME and np.max(np.abs(a.dos() - b.dos())) < TOL_SAME


def test_contraction_stop_and_chord_steps_stay_within_tol():
    # 2D Newton also stops on quadratic contraction (error left <= 0.1 tol by Deuflhard's estimate) and keeps
    # the Jacobian after small full steps: the solution moves by less than tol against plain Newton
    # (which runs until the update itself is below tol)
    dev = sns_2d()
    eps = np.linspace(0.5, 24.5, 7) + 1e-6j
    out = []
    for contraction in (True, False):
        prob = RetardedProblem(dev, 20.0, 1e-6)
        assert prob.contraction_stop  # sparse problems use it
        prob.contraction_stop = contraction
        u, ok, _ = homotopy(prob, eps, 1e-10, 40)
        assert ok.all()
        out.append((u[..., 0], u[..., 1]))
    assert np.max(np.abs(out[0][0] - out[1][0])) < 1e-10 and np.max(np.abs(out[0][1] - out[1][1])) < 1e-10


def test_a_stagnating_gmres_is_not_taken_for_a_tiny_update(monkeypatch):
    # the absolute acceptance (relative residual x max|x| below xtol) must not accept an x that solves
    # nothing: with a useless preconditioner GMRES stays near x = 0, and the solve refactorises instead
    rng = np.random.default_rng(3)
    n = 120
    A = (sps.random(n, n, density=0.05, random_state=4) + sps.eye(n) * 3.0).tocsr().astype(complex)
    b = rng.standard_normal(n) + 0j
    x, _ = linsolve.fgmres(A, b, lambda v: 1e-30 * v, 1e-12, 1, xtol=1.0)
    rel = np.linalg.norm(A @ x - b) / np.linalg.norm(b)
    assert rel > linsolve.XTOL_MAX_RESIDUAL  # one step with a useless preconditioner: no progress
    data = sps.csr_matrix(A)
    solver = linsolve.BlockSolver(data.indptr, data.indices, n, 1, symmetric_pivoting=True)
    solver.banded = False
    full = data.data[None, :]
    with solver.using("s", accept=1e-6, xtol=1.0):
        solver.solve(full, b[None, :])  # factorises
        monkeypatch.setattr(linsolve, "GMRES_MAXITER", 1)
        monkeypatch.setattr(linsolve, "fgmres", lambda A, b, M, rtol, maxiter, xtol=0.0: (np.zeros_like(b), 1))
        out = solver.solve(full, b[None, :])  # GMRES "returns" 0: refused, a fresh LU solves it
    assert np.linalg.norm(A @ out[0] - b) < 1e-10 * np.linalg.norm(b) and solver.stats["lu"] == 2


def test_sweep_blocks_cut_at_equal_estimated_cost():
    # energies below SWEEP_HEAVY_RANGE E_Th weigh SWEEP_HEAVY_WEIGHT: the benchmark's 200 energies in [0, 10] E_Th
    # go 69 / 131 to two blocks; every block is contiguous and has an energy; no heavy range: equal halves
    from usadel.chunking import chunk_bounds, sweep_blocks

    E = np.linspace(0.0, 10.0, 200)
    assert sweep_blocks(E, 2, 1.0) == [0, 69, 200]
    assert sweep_blocks(E, 2, 1e-6) == [0, 100, 200] and sweep_blocks(E, 1, 1.0) == [0, 200]
    b = sweep_blocks(E, 7, 1.0)
    w = np.where(E < 3.1, 2.0, 1.0)
    costs = [w[i:j].sum() for i, j in zip(b[:-1], b[1:])]
    assert len(b) == 8 and max(costs) - min(costs) <= 2.0
    assert sweep_blocks(E[:3], 5, 1.0) == [0, 1, 2, 3]
    assert chunk_bounds(10, 4) == [0, 4, 8, 10]


class _CountingExecutor:
    """An executor with nothing but ``map`` (no private worker count to read): runs the jobs here, counts them."""

    def __init__(self):
        self.jobs = 0

    def map(self, fn, *args):
        self.jobs += len(args[0])
        return map(fn, *args)


def test_2d_sweep_chunks_follow_the_workers_argument(monkeypatch):
    # one block per worker (given, or by default the CPUs this process may use), once the energies exceed
    # a chunk of CHUNK_UNKNOWNS (so many here: a small device's blocks would be longer)
    from usadel import retarded

    monkeypatch.setattr(retarded, "CHUNK_UNKNOWNS", 1.0)
    dev = sns_2d()
    E = np.linspace(0.0, 25.0, 24)
    one = usadel.spectral(dev, E, delta=20.0)
    for workers in (1, 3):
        ex = _CountingExecutor()
        out = usadel.spectral(dev, E, delta=20.0, executor=ex, workers=workers)
        assert ex.jobs == workers and np.max(np.abs(out.gamma - one.gamma)) < TOL_SAME
    ex = _CountingExecutor()
    usadel.spectral(dev, E, delta=20.0, executor=ex)  # default: the CPUs this process may use
    assert ex.jobs == min(E.size, usadel.chunking.default_workers(ex))


def test_single_precision_lu_solves_as_the_double_one():
    # the spectral solver keeps its LUs in single precision (GMRES preconditioners, refined when fresh):
    # the solution agrees with the double LU's, and the Dirichlet (identity) rows are solved exactly
    dev = sns_2d()
    prob = RetardedProblem(dev, 20.0, 1e-6)
    eps = np.array([20.0, 19.5]) + 1e-6j
    u = prob.impose(eps, prob.initial(eps + 0.3j))
    F, data = prob.residual(eps, u, jac=True)
    out = []
    for single in (False, True):
        solver = dev.operators.solver(2, True)
        solver.single = single
        solver._lus.clear()
        with solver.using("test", 1e-6, 1e-13):
            x0 = solver.solve(data[:1], -F[:1])  # fresh LU
            x1 = solver.solve(data[1:], -F[1:])  # the first energy's LU preconditions GMRES
        assert not x0[:, prob.dir_rows].any() and not x1[:, prob.dir_rows].any()
        out.append(np.concatenate([x0, x1]))
    A = [sps.csr_matrix((data[k], prob.solver.indices, prob.solver.indptr), shape=(prob.solver.N,) * 2)
         for k in range(2)]
    for x in out:
        assert max(np.linalg.norm(A[k] @ x[k] + F[k]) / np.linalg.norm(F[k]) for k in range(2)) <= 1e-6


@pytest.mark.parametrize("steps", [0, 1])
def test_single_precision_lu_with_few_refinement_steps(monkeypatch, steps):
    # with no refinement step (or one) a fresh single-precision LU's solve is still checked, and one that misses
    # the acceptance gives way to a double LU (REFINE_STEPS = 0 used to raise UnboundLocalError: a review)
    from usadel import linsolve

    monkeypatch.setattr(linsolve, "REFINE_STEPS", steps)
    dev = sns_2d()
    prob = RetardedProblem(dev, 20.0, 1e-6)
    eps = np.array([20.0]) + 1e-6j
    u = prob.impose(eps, prob.initial(eps + 0.3j))
    F, data = prob.residual(eps, u, jac=True)
    solver = dev.operators.solver(2, True)
    solver._lus.clear()
    with solver.using("test", 1e-10, 0.0):
        x = solver.solve(data, -F)
    A = sps.csr_matrix((data[0], prob.solver.indices, prob.solver.indptr), shape=(prob.solver.N,) * 2)
    assert np.linalg.norm(A @ x[0] + F[0]) / np.linalg.norm(F[0]) <= 1e-9
