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
    g, gt, ok, _ = homotopy(prob, eps[:1], 1e-10, 40)
    with solver.using("sweep"):
        prob.newton(eps[:1], g.copy(), gt.copy(), 1e-10, 8)
    homotopy(prob, eps[1:], 1e-10, 40)
    lus = solver.stats["lu"]
    with solver.using("sweep"):
        g1, gt1, ok1, _ = prob.newton(eps[1:], g.copy(), gt.copy(), 1e-10, 8)
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
    g, gt, ok, _ = homotopy(fresh, eps, 1e-10, 40)
    mem = fresh.solver.memory()
    assert ok.all() and mem["slots"] == 1 and mem["lu_bytes_peak"] <= 1.5 * one


def test_sparse_sample_check_catches_a_wrong_energy(caplog):
    # 2D solves sample SWEEP_SAMPLES_SPARSE evenly spread energies per batch (each costs a homotopy):
    # a sampled energy off the homotopy's solution (perturbed by 1e-3) makes the whole batch redone
    from usadel import sweep as sw

    dev = sns_2d()
    prob = RetardedProblem(dev, 20.0, 1e-6)
    eps = np.linspace(0.0, 25.0, 40).astype(complex) + 1e-6j
    g, gt, ok, res = sw.sweep(prob, eps, 1e-10, 40, start=homotopy)
    ref = usadel.spectral(dev, eps.real, delta=20.0, method="homotopy")
    assert np.max(np.abs(g - ref.gamma)) < TOL_SAME
    pos = sw.sample_positions(eps.size, sparse=True)
    assert pos.size == sw.SWEEP_SAMPLES_SPARSE and 0 < pos[0] and pos[-1] < eps.size - 1
    bad = g.copy()
    bad[pos[1]] += 1e-3
    with caplog.at_level("WARNING", logger="usadel.sweep"):
        redone = sw._sample_check(prob, eps, bad, gt.copy(), ok, res, 1e-10, 40, homotopy)
    assert "redone by the homotopy" in caplog.text
    assert np.max(np.abs(redone[0] - ref.gamma)) < TOL_SAME


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
        g, gt, ok, _ = homotopy(prob, eps, 1e-10, 40)
        assert ok.all()
        out.append((g, gt))
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
