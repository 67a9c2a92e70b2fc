"""Block elimination along chains (usadel.block_chain) against banded LAPACK, and its use in kinetic."""

import numpy as np
import pytest
import scipy.sparse as sps

import usadel
from usadel import block_chain


def _chain_system(rng, n, c, b, dominant=True):
    """Random block-tridiagonal batch on the CSR pattern of a chain: (indptr, indices, data (b, c, c, nnz))."""
    rows = np.repeat(np.arange(n), 3)
    cols = rows + np.tile([-1, 0, 1], n)
    keep = (cols >= 0) & (cols < n)
    rows, cols = rows[keep], cols[keep]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    data = rng.standard_normal((b, c, c, rows.size))
    if dominant:
        diag = np.nonzero(rows == cols)[0]
        data[:, np.arange(c), np.arange(c)][..., diag] += 8.0 * c
    return indptr, cols, data


def _dense(indptr, indices, data, fixed):
    n, c = indptr.size - 1, data.shape[1]
    rows = np.repeat(np.arange(n), np.diff(indptr))
    A = np.zeros((n * c, n * c))
    for a in range(c):
        for bb in range(c):
            A[rows * c + a, indices * c + bb] = data[a, bb]
    fx = np.nonzero(fixed.ravel())[0]
    A[fx] = 0.0
    A[fx, fx] = 1.0
    return A


@pytest.mark.parametrize("dominant", [True, False])
def test_chain_solve_equals_dense(dominant):
    """Against a dense LU solve, with identity (fixed) rows; random blocks of either kind. Tolerance: a few
    hundred ulps of the condition number's scale (random matrices, n c = 160)."""
    rng = np.random.default_rng(1)
    n, c, b = 40, 4, 5
    indptr, indices, data = _chain_system(rng, n, c, b, dominant)
    fixed = np.zeros((n, c), bool)
    fixed[0, [1, 2]] = fixed[-1, :] = fixed[17, 3] = True
    f = rng.standard_normal((b, n, c))
    pos = block_chain.block_positions(block_chain.chain_positions(indptr, indices, n), c, indices.size)
    x, ok = block_chain.solve_chain(data.reshape(b, -1), f, fixed, pos)
    for k in range(b):
        A = _dense(indptr, indices, data[k], fixed)
        ref = np.linalg.solve(A, f[k].ravel())
        if ok[k]:
            assert np.max(np.abs(x[k].ravel() - ref)) <= 1e-10 * np.linalg.cond(A) * np.max(np.abs(ref))
    assert ok.all() if dominant else True


def test_chain_solve_flags_what_needs_pivoting():
    """A zero diagonal block that only pivoting across nodes can handle is flagged (ok False), not returned."""
    n, c = 3, 2
    indptr, indices, data = _chain_system(np.random.default_rng(2), n, c, 1)
    diag = np.nonzero(np.repeat(np.arange(n), np.diff(indptr)) == indices)[0]
    data[0][..., diag[0]] = 0.0  # node 0's block singular; the full matrix is not
    f = np.ones((1, n, c))
    A = _dense(indptr, indices, data[0], np.zeros((n, c), bool))
    assert abs(np.linalg.det(A)) > 1e-8
    pos = block_chain.block_positions(block_chain.chain_positions(indptr, indices, n), c, indices.size)
    x, ok = block_chain.solve_chain(data.reshape(1, -1), f, None, pos)
    assert not ok[0]


def test_chain_positions_rejects_other_patterns():
    """A node coupled beyond its neighbours (a ring, a junction) is not a chain."""
    A = sps.csr_matrix(np.ones((4, 4)))
    assert block_chain.chain_positions(A.indptr, A.indices, 4) is None
    T = sps.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(5, 5)).tocsr()
    lo, di, up = block_chain.chain_positions(T.indptr, T.indices, 5)
    assert lo[0] == -1 and up[-1] == -1 and np.all(di >= 0)


def _lapack_only(monkeypatch, dev):
    """Switch block elimination off: kinetic's own path, and every solver the device made or will make."""
    monkeypatch.setattr(block_chain, "chain_positions", lambda *a: None)
    monkeypatch.setattr(block_chain, "full_positions", lambda *a: None)
    for solver in dev.operators._solvers.values():
        monkeypatch.setattr(solver, "chain", None)


def test_kinetic_chain_equals_banded(monkeypatch):
    """usadel.kinetic on a biased SNS wire with a supercurrent (phase pi/2: hL and hT coupled), superconducting
    contacts and a minigap: block elimination equals banded LAPACK to 1e-11 wherever the wire has states
    (DOS > 0.05 at every node). In the minigap the floored DL (1e-9 of D) makes the hL rows ill-conditioned
    (condition ~1e9), so two backward-stable solvers may differ by ~1e-9 x 1e-16 x scale; measured 3.6e-7, bounded
    by 1e-6 there. hT is well conditioned everywhere (1e-11)."""
    m = usadel.meshes.interval(1.0, 80)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                        contacts={"left": usadel.Reservoir(delta=5.0, phase=0.0, T=0.5, mu=0.3),
                                  "right": usadel.Reservoir(delta=5.0, phase=np.pi / 2, T=0.5, mu=-0.3)})
    sp = usadel.spectral(dev, np.linspace(0.0, 12.0, 121), method="homotopy")
    k1 = usadel.kinetic(sp)
    _lapack_only(monkeypatch, dev)
    k2 = usadel.kinetic(sp)
    states = sp.dos().min(axis=1) > 0.05
    assert 20 < states.sum() < 121
    dL = np.max(np.abs(k1.hL - k2.hL), axis=1)
    assert np.max(dL[states]) < 1e-11
    assert np.max(dL) < 1e-6
    assert np.max(np.abs(k1.hT - k2.hT)) < 1e-11


def test_kinetic_fallback_for_flagged_energies(monkeypatch):
    """Energies whose elimination is flagged are solved again by banded LAPACK: with every other energy
    flagged, the result equals the all-LAPACK one (to rounding) at those energies."""
    m = usadel.meshes.interval(1.0, 40)
    dev = usadel.Device(m, {"wire": usadel.Material(D=1.0)},
                        contacts={"left": usadel.Reservoir(T=0.3, mu=0.2), "right": usadel.Reservoir(T=0.3)})
    sp = usadel.spectral(dev, np.linspace(0.0, 2.0, 21))
    real = block_chain.solve_chain

    def flagging(*a, **k):
        x, ok = real(*a, **k)
        x[::2] = np.nan  # garbage the caller must not use
        ok[::2] = False
        return x, ok
    monkeypatch.setattr(block_chain, "solve_chain", flagging)
    k1 = usadel.kinetic(sp)
    _lapack_only(monkeypatch, dev)
    k2 = usadel.kinetic(sp)
    assert np.all(np.isfinite(k1.hL))
    assert np.max(np.abs(k1.h - k2.h)) < 1e-12


def test_spectral_chain_equals_banded(monkeypatch):
    """The retarded Newton's solves (complex 2 x 2 blocks, usadel.linsolve.BlockSolver) by block elimination
    equal banded LAPACK's: the same converged solution to 1e-12 (both stop on the same update rule), on a wire
    with a tunnel contact, a superconducting region and a phase."""
    m = usadel.meshes.wire([("N", 1.0, 60), ("S", 1.0, 60)])
    dev = usadel.Device(m, {"N": usadel.Material(D=1.0), "S": usadel.Material(D=1.0, tc=1.5)},
                        contacts={"left": usadel.Reservoir(delta=3.0, phase=1.0, barrier=usadel.Barrier(r=2.0)),
                                  "right": usadel.Reservoir(delta=2.0)})
    E = np.linspace(0.0, 5.0, 41)
    sp1 = usadel.spectral(dev, E, delta={"S": 2.0, "N": 0.0})
    assert dev.operators.solver(2, symmetric_pivoting=True).chain is not None
    _lapack_only(monkeypatch, dev)
    sp2 = usadel.spectral(dev, E, delta={"S": 2.0, "N": 0.0})
    assert np.max(np.abs(sp1.gamma - sp2.gamma)) < 1e-12
