"""Batched linear solvers behind one small seam, and the BLAS thread pin.

:class:`BlockSolver` solves batches of sparse systems that share one sparsity
pattern (one per energy): a single banded LAPACK call for 1D chains, SuperLU
per member otherwise, with an old factorisation reused as a GMRES
preconditioner. :func:`threadpool_limits` pins BLAS to one thread around
factorisations (``docs/conventions.md``, BLAS threads).
"""

import threading

import numpy as np
import scipy.linalg
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from threadpoolctl import ThreadpoolController

__all__ = ["BlockSolver", "threadpool_limits", "MAX_BANDED"]

#: above this half-bandwidth the batched banded solver gives way to SuperLU
MAX_BANDED = 48
#: GMRES restart length with an old LU as preconditioner (one cycle, then refactorise)
GMRES_RESTART = 8
#: GMRES tolerance, well below the Newton tolerances the solves serve
GMRES_RTOL = 1e-12
#: relative residual at which a preconditioned GMRES solution is accepted instead of a fresh LU
GMRES_ACCEPT = 1e-11

class _BlasLimit:
    """Process-wide "BLAS on one thread" context, safe under threads and nesting.

    ``threadpoolctl``'s own context restores the limits it found on entry, so
    two threads that overlap restore out of order and can leave the whole
    process on one BLAS thread. Worse, OpenBLAS (pthreads build, as shipped
    with numpy and scipy) ignores thread-count changes made from other threads
    once the main thread has made one (measured here with OpenBLAS 0.3.30;
    threadpoolctl documents that it is designed for calls from the main thread
    only). So the limit is set and restored by the main thread alone, the first
    entrant setting it and the last one out restoring it (a counter under a
    lock); in other threads the context does nothing, and their solves run
    with whatever the process has (set OPENBLAS_NUM_THREADS=1 for thread pools,
    or use process pools). The library scan of ``ThreadpoolController`` is done
    once per process (~3 ms a call otherwise: 27% of a small gap solve's time).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._depth = 0
        self._ctx = None
        self._controller = None

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        with self._lock:
            if self._depth == 0:
                if self._controller is None:
                    self._controller = ThreadpoolController()
                self._ctx = self._controller.limit(limits=1, user_api="blas")
            self._depth += 1
        return self

    def __exit__(self, *exc):
        if threading.current_thread() is not threading.main_thread():
            return False
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                ctx, self._ctx = self._ctx, None
                ctx.restore_original_limits()
        return False


_BLAS_LIMIT = _BlasLimit()


def threadpool_limits(limits=1, user_api="blas"):
    """Context that pins BLAS to one thread around sparse factorisations (thread-safe, nestable)."""
    if limits != 1 or user_api != "blas":
        raise ValueError("usadel only pins BLAS to one thread")
    return _BLAS_LIMIT


class BlockSolver:
    """Solve batches of sparse systems with ``ncomp`` interleaved unknowns per node.

    The matrix is given as ``ncomp**2`` blocks of data on the node pattern,
    shaped (batch, ncomp, ncomp, nnz). If the interleaved bandwidth is small
    (1D devices), the whole batch is one banded LAPACK solve (energies are
    independent diagonal blocks of one banded matrix); otherwise each member
    of the batch is factorised with SuperLU. BLAS is pinned to one thread
    around factorisations (``docs/conventions.md``, BLAS threads).
    """

    def __init__(self, indptr, indices, n, ncomp, symmetric_pivoting=False):
        self.n, self.c = n, ncomp
        # SuperLU: MMD on A^T + A with diagonal pivoting is ~25% faster for the
        # spectral Jacobian (healthy diagonal); for the kinetic matrices, whose
        # diagonal nearly vanishes in a minigap (floored DL), it caused 25x fill
        # (measured 6.6M vs 0.3M entries), so they use COLAMD with partial pivoting.
        self.lu_kw = (dict(permc_spec="MMD_AT_PLUS_A", options=dict(SymmetricMode=True)) if symmetric_pivoting
                      else dict(permc_spec="COLAMD"))
        rows = np.repeat(np.arange(n), np.diff(indptr))
        fr = (rows[None, None, :] * ncomp + np.arange(ncomp)[:, None, None]) + 0 * np.arange(ncomp)[None, :, None]
        fc = (indices[None, None, :] * ncomp + np.arange(ncomp)[None, :, None]) + 0 * np.arange(ncomp)[:, None, None]
        fr, fc = fr.ravel(), fc.ravel()
        order = np.lexsort((fc, fr))
        self.perm = order  # full data = blocks.reshape(b, -1)[:, perm]
        self.fr, self.fc = fr[order], fc[order]
        self.N = n * ncomp
        self.indices = self.fc.astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(self.fr, minlength=self.N))]).astype(np.int32)
        self.bw = int(np.max(np.abs(self.fr - self.fc)))
        self.banded = self.bw <= MAX_BANDED
        self._lu = None
        self.gmres_iters = GMRES_RESTART
        self.stats = {"lu": 0, "gmres": 0}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_lu"] = None  # SuperLU objects do not pickle; the next solve refactorises
        return state

    def full_data(self, blocks):
        b = blocks.shape[0]
        return blocks.reshape(b, -1)[:, self.perm]

    def matvec(self, data, u):
        """A_b u_b for every b; data (b, nnz_full), u (b, N)."""
        return np.stack([sps.csr_matrix((data[k], self.indices, self.indptr), shape=(self.N, self.N)) @ u[k]
                         for k in range(data.shape[0])])

    def fix_rows(self, data, rows):
        """Replace the given full rows by identity rows (Dirichlet)."""
        if rows.size == 0:
            return data
        mask = np.isin(self.fr, rows)
        data[:, mask] = 0.0
        data[:, mask & (self.fr == self.fc)] = 1.0
        return data

    def solve(self, data, rhs):
        """Solve A_b x_b = rhs_b for every b; data (b, nnz_full), rhs (b, N).

        A singular or non-finite member gives a NaN row (the callers treat it as
        failed at that energy) instead of losing the whole batch.
        """
        b = data.shape[0]
        fine = np.all(np.isfinite(data), axis=1) & np.all(np.isfinite(rhs), axis=1)
        if not fine.all():
            out = np.full(rhs.shape, np.nan, dtype=np.result_type(data, rhs))
            if fine.any():
                out[fine] = self.solve(data[fine], rhs[fine])
            return out
        try:
            return self._solve(data, rhs)
        except (np.linalg.LinAlgError, RuntimeError):  # SuperLU: "Factor is exactly singular"
            if b == 1:
                return np.full(rhs.shape, np.nan, dtype=np.result_type(data, rhs))
            return np.concatenate([self.solve(data[k:k + 1], rhs[k:k + 1]) for k in range(b)])

    def _solve(self, data, rhs):
        b = data.shape[0]
        with threadpool_limits(limits=1, user_api="blas"):
            if self.banded:
                bw, N = self.bw, self.N
                ab = np.zeros((2 * bw + 1, b * N), dtype=np.result_type(data, rhs))
                col = (np.arange(b)[:, None] * N + self.fc[None, :])
                ab[(bw + self.fr - self.fc)[None, :], col] = data
                x = scipy.linalg.solve_banded((bw, bw), ab, rhs.reshape(-1), overwrite_ab=True,
                                              overwrite_b=False, check_finite=False)
                return x.reshape(b, N)
            out = np.empty_like(rhs, dtype=np.result_type(data, rhs))
            for k in range(b):
                A = sps.csr_matrix((data[k], self.indices, self.indptr), shape=(self.N, self.N)).tocsc()
                out[k] = self._sparse_solve(A, rhs[k])
            return out

    def factorize(self, data):
        """Factorise every matrix of the batch once; returns ``solve(rhs)`` for (b, N) right-hand sides.

        For repeated solves with the same matrices (Jacobian-vector products of
        the gap equation's Newton-Krylov iteration). Banded: one LAPACK gbtrf of
        the block-diagonal batch; otherwise one SuperLU factorisation per member.
        """
        b = data.shape[0]
        with threadpool_limits(limits=1, user_api="blas"):
            if self.banded:
                from scipy.linalg.lapack import get_lapack_funcs

                bw, N = self.bw, self.N
                ab = np.zeros((3 * bw + 1, b * N), dtype=complex)
                col = (np.arange(b)[:, None] * N + self.fc[None, :])
                ab[(2 * bw + self.fr - self.fc)[None, :], col] = data
                gbtrf, gbtrs = get_lapack_funcs(("gbtrf", "gbtrs"), (ab,))
                lu, piv, info = gbtrf(ab, bw, bw)
                if info != 0:
                    raise np.linalg.LinAlgError(f"banded LU failed (info = {info})")

                def solve(rhs):
                    with threadpool_limits(limits=1, user_api="blas"):
                        x, _ = gbtrs(lu, bw, bw, np.asarray(rhs, complex).reshape(-1), piv)
                    return x.reshape(b, N)
                return solve
            lus = [spla.splu(sps.csr_matrix((data[k], self.indices, self.indptr), shape=(self.N, self.N)).tocsc(),
                             **self.lu_kw) for k in range(b)]

        def solve_sparse(rhs):
            return np.stack([lus[k].solve(np.asarray(rhs[k], complex)) for k in range(b)])
        return solve_sparse

    def _sparse_solve(self, A, rhs):
        """GMRES preconditioned by the last LU factorisation, refactorising when it stalls.

        Newton steps and neighbouring energies change only diagonal-like terms,
        so an old LU is a strong preconditioner (measured: halves a 2D sweep).
        The solution is accepted at relative residual ``GMRES_ACCEPT``; otherwise A is
        factorised afresh (SuperLU, options in ``lu_kw``).
        """
        if self._lu is not None and self._lu.shape == A.shape:
            M = spla.LinearOperator(A.shape, matvec=self._lu.solve, dtype=A.dtype)
            x, _ = spla.gmres(A, rhs, M=M, rtol=GMRES_RTOL, atol=0.0, restart=self.gmres_iters, maxiter=1)
            # judged on the true residual alone: GMRES's own flag reports failure when nearly converged
            if np.linalg.norm(A @ x - rhs) <= GMRES_ACCEPT * np.linalg.norm(rhs):
                self.stats["gmres"] += 1
                return x
        self._lu = spla.splu(A, **self.lu_kw)
        self.stats["lu"] += 1
        return self._lu.solve(rhs)
