"""Batched linear solvers behind one small seam, and the BLAS thread pin.

:class:`BlockSolver` solves batches of sparse systems that share one sparsity
pattern (one per energy): a single banded LAPACK call for 1D chains, SuperLU
per member otherwise, with an old factorisation reused as a GMRES
preconditioner (kept in single precision for the spectral matrices).
:func:`threadpool_limits` pins BLAS to one thread around
factorisations (``docs/conventions.md``, BLAS threads).

Reused factorisations live in named *slots* (:meth:`BlockSolver.using`): the
energy sweep keeps its LU in one slot while the eta-homotopy that starts lanes
and checks samples keeps one per homotopy stage, so neither trashes the other's
preconditioner. The LUs held are bounded (``LU_MEMORY_BUDGET``, least recently
used slot dropped first) and reported by :meth:`BlockSolver.memory`.
"""

import contextlib
import logging
import threading

import numpy as np
import scipy.linalg
import scipy.sparse as sps
import scipy.sparse.linalg as spla
from threadpoolctl import ThreadpoolController

__all__ = ["BlockSolver", "threadpool_limits", "MAX_BANDED", "fgmres", "GMRES_ACCEPT", "GMRES_MAXITER",
           "GMRES_REFRESH", "LU_MEMORY_BUDGET", "XTOL_MAX_RESIDUAL", "REFINE_STEPS", "solver_slot"]

log = logging.getLogger(__name__)

#: above this half-bandwidth the batched banded solver gives way to SuperLU
MAX_BANDED = 48
#: relative true residual at which a preconditioned GMRES solution is accepted instead of a fresh LU
GMRES_ACCEPT = 1e-11
#: GMRES iterations (one LU solve and one product each) tried with an old LU before refactorising
GMRES_MAXITER = 16
#: a solve that needed more iterations than this marks its slot's LU stale: the next solve refactorises
GMRES_REFRESH = 6
#: the absolute criterion (relative residual x max|x| below xtol) needs at least this relative residual, so
#: that x is the solution to a few digits (a stagnating GMRES with x ~ 0 must not pass as a tiny update)
XTOL_MAX_RESIDUAL = 1e-2
#: bytes of SuperLU factors kept across solves (all slots); least recently used slots are dropped beyond
LU_MEMORY_BUDGET = 512 * 2**20
#: refinement steps with a fresh single-precision LU (:meth:`BlockSolver._sparse_solve`) before a double one
REFINE_STEPS = 4
#: single precision of each type of matrix: the LUs of symmetric-pivoting (spectral) solvers are kept in it
_SINGLE = {np.dtype(complex): np.dtype(np.complex64), np.dtype(float): np.dtype(np.float32)}

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
        #: sparse LUs (preconditioners of GMRES, refined when fresh) in single precision: the triangular solves,
        #: 70% of a 2D sweep, stream half the bytes (measured on the 20k-node strip: 9.1 vs 12.4 ms a solve,
        #: factorisation 0.19 vs 0.23 s). Symmetric-pivoting (spectral) matrices only, whose diagonal is healthy.
        self.single = bool(symmetric_pivoting)
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
        # a chain in node order (1D wires): block elimination along it (usadel.block_chain), LAPACK as fallback
        self.chain = _chain_positions(self.fr, self.fc, ncomp, n) if self.banded else None
        # CSC layout of the full pattern (SuperLU's input): data[:, csc_perm] with csc_indices, csc_indptr
        order_csc = np.lexsort((self.fr, self.fc))
        self.csc_perm = order_csc
        self.csc_indices = self.fr[order_csc].astype(np.int32)
        self.csc_indptr = np.concatenate([[0], np.cumsum(np.bincount(self.fc, minlength=self.N))]).astype(np.int32)
        # slot -> [SuperLU, stale flag, bytes, matrix dtype, LU dtype]; insertion order = least recently used first
        self._lus = {}
        self._lock, self._local = threading.Lock(), threading.local()  # LU slots shared; contexts per thread
        self._fixed = {}  # Dirichlet row sets -> (mask, diagonal mask) on the full pattern
        self.stats = {"lu": 0, "gmres": 0, "gmres_iterations": 0, "lu_bytes_peak": 0}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_lus"] = {}  # SuperLU objects do not pickle; the next solve refactorises
        del state["_lock"], state["_local"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock, self._local = threading.Lock(), threading.local()

    def _context(self):
        """This thread's (slot, accept, xtol, refresh), as set by :meth:`using` (threads share the LUs)."""
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = self._local.ctx = ("main", GMRES_ACCEPT, 0.0, GMRES_REFRESH)
        return ctx

    @contextlib.contextmanager
    def using(self, slot, accept=None, xtol=0.0, refresh=None):
        """Context in which sparse solves reuse (and store) the LU of ``slot`` instead of the current one,
        accepting GMRES solutions at relative residual ``accept`` (default ``GMRES_ACCEPT``) or once the
        relative residual times max|x| is below ``xtol`` (an absolute error level of the solution: a Newton
        update far below the Newton tolerance needs few digits). A solve needing more than ``refresh``
        iterations (default ``GMRES_REFRESH``) marks the LU stale: worth it when the next matrix is closer
        to this one than to the LU's (a sweep), not for a batch of unrelated energies (the homotopy).
        The context is per thread; the slots' LUs are shared (any LU is only a preconditioner)."""
        prev = self._context()
        self._local.ctx = (slot, GMRES_ACCEPT if accept is None else accept, xtol,
                           GMRES_REFRESH if refresh is None else refresh)
        try:
            yield self
        finally:
            self._local.ctx = prev

    def memory(self):
        """Memory of the factorisations held: {"slots", "lu_nnz", "lu_bytes", "lu_bytes_peak", "budget"}.

        ``lu_bytes`` counts SuperLU's L and U (complex values and int32 row indices) and its
        permutations; ``lu_bytes_peak`` is the most held at once since the solver was made.
        """
        with self._lock:
            nnz = sum(lu.nnz for lu, *_ in self._lus.values())
            return {"slots": len(self._lus), "lu_nnz": nnz, "lu_bytes": self._held(),
                    "lu_bytes_peak": self.stats["lu_bytes_peak"], "budget": LU_MEMORY_BUDGET}

    def _held(self):
        return sum(entry[2] for entry in self._lus.values())

    def _take(self, slot):
        """The entry [LU, stale, bytes, dtype, LU dtype] of ``slot`` (now the most recently used), or None."""
        with self._lock:
            entry = self._lus.pop(slot, None)
            if entry is not None:
                self._lus[slot] = entry
            return entry

    def _store(self, slot, lu, dtype, lu_dtype):
        """Keep ``lu`` (of a matrix of ``dtype``, with values of ``lu_dtype``) in ``slot`` (most recently used),
        dropping the least recently used beyond the budget."""
        with self._lock:
            self._lus.pop(slot, None)
            self._lus[slot] = [lu, False, _lu_bytes(lu, lu_dtype.itemsize), dtype, lu_dtype]
            log.debug("BlockSolver: LU in slot %r, %.1f MB", slot, self._lus[slot][2] / 2**20)
            while len(self._lus) > 1 and self._held() > LU_MEMORY_BUDGET:
                dropped = next(iter(self._lus))
                del self._lus[dropped]
                log.debug("BlockSolver: LU of slot %r dropped (memory budget %d MB)", dropped, LU_MEMORY_BUDGET >> 20)
            self.stats["lu_bytes_peak"] = max(self.stats["lu_bytes_peak"], self._held())

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
        key = rows.tobytes()
        if key not in self._fixed:
            mask = np.isin(self.fr, rows)
            self._fixed = {key: (np.nonzero(mask)[0], np.nonzero(mask & (self.fr == self.fc))[0])}
        off, diag = self._fixed[key]
        data[:, off] = 0.0
        data[:, diag] = 1.0
        return data

    def _identity_rows(self, data):
        """Rows of the last :meth:`fix_rows` that are identity rows in ``data`` (one member's, (nnz_full,))."""
        for off, diag in self._fixed.values():
            if np.all(data[diag] == 1.0) and np.count_nonzero(data[off]) == diag.size:
                return self.fr[diag]
        return np.zeros(0, int)

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
            if self.chain is not None:  # block elimination; energies failing its residual check by LAPACK
                from .block_chain import solve_chain

                x, ok = solve_chain(data, rhs.reshape(b, self.n, self.c), None, self.chain)
                x = x.reshape(b, self.N)
                if not ok.all():
                    log.debug("BlockSolver: block elimination failed its check at %d of %d members; banded LAPACK",
                              int(np.sum(~ok)), b)
                    x[~ok] = self._solve_banded(data[~ok], rhs[~ok])
                return x
            if self.banded:
                return self._solve_banded(data, rhs)
            out = np.empty_like(rhs, dtype=np.result_type(data, rhs))
            for k in range(b):
                A = sps.csc_matrix((data[k][self.csc_perm], self.csc_indices, self.csc_indptr), shape=(self.N, self.N))
                out[k] = self._sparse_solve(A, rhs[k])
                rows = self._identity_rows(data[k])
                out[k, rows] = rhs[k, rows]  # exactly: GMRES with a single-precision LU leaves ~rel |x| there
            return out

    def _solve_banded(self, data, rhs):
        """The batch as one banded LAPACK solve (gbsv on the block-diagonal band)."""
        b, bw, N = data.shape[0], self.bw, self.N
        with threadpool_limits(limits=1, user_api="blas"):
            ab = np.zeros((2 * bw + 1, b * N), dtype=np.result_type(data, rhs))
            col = (np.arange(b)[:, None] * N + self.fc[None, :])
            ab[(bw + self.fr - self.fc)[None, :], col] = data
            x = scipy.linalg.solve_banded((bw, bw), ab, rhs.reshape(-1), overwrite_ab=True,
                                          overwrite_b=False, check_finite=False)
            return x.reshape(b, N)

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
        """GMRES preconditioned by the current slot's LU, refactorising when it stalls.

        Newton steps and neighbouring energies change only diagonal-like terms,
        so an old LU is a strong preconditioner (measured: halves a 2D sweep).
        The GMRES solution is accepted at relative true residual ``GMRES_ACCEPT`` within
        ``GMRES_MAXITER`` iterations; a solve that needed more than ``GMRES_REFRESH`` marks the
        LU stale (the slot's next solve factorises its own matrix); one that failed factorises
        A afresh at once (SuperLU, options in ``lu_kw``; in single precision if ``single``: :meth:`_factor_solve`).
        """
        if not np.any(rhs):  # a converged Newton row: the exact solution, no factorisation (and no 0/0 below)
            return np.zeros(rhs.shape, dtype=np.result_type(A.dtype, rhs))
        name, accept, xtol, refresh = self._context()
        slot = self._take(name)
        if slot is not None and slot[0].shape == A.shape and slot[3] == A.dtype and not slot[1]:
            x, iters = fgmres(A, rhs, _preconditioner(slot[0], slot[4]), 0.5 * accept, GMRES_MAXITER, 0.5 * xtol)
            # judged on the true residual
            rel = np.linalg.norm(A @ x - rhs) / np.linalg.norm(rhs)
            log.debug("BlockSolver: GMRES in slot %r: %d iterations, relative residual %.1e", name, iters, rel)
            if rel <= accept or (rel <= XTOL_MAX_RESIDUAL and rel * np.max(np.abs(x)) <= xtol):
                self.stats["gmres"] += 1
                self.stats["gmres_iterations"] += iters
                slot[1] = iters > refresh
                return x
        return self._factor_solve(name, A, rhs, accept)

    def _factor_solve(self, name, A, rhs, accept):
        """Factorise ``A`` into slot ``name`` and solve. A single-precision LU (``single``) is refined (at most
        ``REFINE_STEPS`` steps, to the GMRES acceptance); one that does not get there gives way to a double one."""
        dtype = _SINGLE.get(A.dtype, A.dtype) if self.single else A.dtype
        lu = spla.splu(A if dtype == A.dtype else A.astype(dtype), **self.lu_kw)
        self.stats["lu"] += 1
        self._store(name, lu, A.dtype, dtype)
        M = _preconditioner(lu, dtype)
        x = M(rhs).astype(np.result_type(A.dtype, rhs))
        if dtype == A.dtype:
            return x
        for step in range(REFINE_STEPS + 1):  # to GMRES_ACCEPT at least, as near a direct solve as the old LUs' GMRES
            r = rhs - A @ x
            rel = np.linalg.norm(r) / np.linalg.norm(rhs)
            if rel <= min(accept, GMRES_ACCEPT):
                return x
            if step < REFINE_STEPS:  # the last refinement step is checked too
                x += M(r)
        log.debug("BlockSolver: single-precision LU refined to %.1e only; factorising in double", rel)
        lu = spla.splu(A, **self.lu_kw)
        self.stats["lu"] += 1
        self._store(name, lu, A.dtype, A.dtype)
        return lu.solve(rhs)


def _chain_positions(fr, fc, c, n):
    """:func:`usadel.block_chain.full_positions` (imported here lazily: it loads numba)."""
    from .block_chain import AVAILABLE, full_positions

    return full_positions(fr, fc, c, n) if AVAILABLE else None


def solver_slot(problem, slot, accept=None, xtol=0.0, refresh=None):
    """Context: ``problem.solver`` (a :class:`BlockSolver`, if it has one) reuses the LU of ``slot``
    (:meth:`BlockSolver.using`)."""
    solver = getattr(problem, "solver", None)
    return solver.using(slot, accept, xtol, refresh) if isinstance(solver, BlockSolver) else contextlib.nullcontext()


def _preconditioner(lu, dtype):
    """``v -> lu.solve(v)`` for an LU with values of ``dtype`` (a single-precision LU solves in its precision)."""
    return lambda v: lu.solve(np.asarray(v, dtype=dtype))


def _lu_bytes(lu, itemsize):
    """Bytes of a SuperLU factorisation: values and row indices of L and U (``lu.nnz``), column pointers and
    permutations (SuperLU's supernodal storage adds a little)."""
    return lu.nnz * (itemsize + 4) + 4 * 4 * lu.shape[0]


def fgmres(A, b, M, rtol, maxiter, xtol=0.0):
    """Right-preconditioned (flexible) GMRES from x = 0: (x, iterations) with |b - A x| <= rtol |b| if reached
    (or with |b - A x| / |b| <= ``XTOL_MAX_RESIDUAL`` and times max|x| <= ``xtol``).

    ``M(v)`` applies the preconditioner (an old LU's solve). With right preconditioning the
    least-squares residual is the true one (up to rounding), so the iteration stops on what the
    caller checks; the preconditioned directions are kept, so x needs no extra M application.
    Classical Gram-Schmidt with one reorthogonalisation (two matrix products per step).
    """
    beta = np.linalg.norm(b)
    x = np.zeros(b.shape, dtype=np.result_type(A.dtype, b.dtype))
    if beta == 0.0:
        return x, 0
    V = np.empty((maxiter + 1, b.size), dtype=x.dtype)
    Z = np.empty((maxiter, b.size), dtype=x.dtype)
    H = np.zeros((maxiter + 1, maxiter), dtype=x.dtype)
    e1 = np.zeros(maxiter + 1, dtype=x.dtype)
    e1[0] = beta
    V[0] = b / beta
    y, k = np.zeros(0, dtype=x.dtype), 0
    for k in range(1, maxiter + 1):
        j = k - 1
        Z[j] = M(V[j])
        w = A @ Z[j]
        for _ in range(2):
            h = (V[:k] @ w.conj()).conj()  # V^H w without a conjugated copy of V
            w -= h @ V[:k]
            H[:k, j] += h
        H[k, j] = np.linalg.norm(w)
        y, *_ = np.linalg.lstsq(H[:k + 1, :k], e1[:k + 1], rcond=None)
        rel = np.linalg.norm(H[:k + 1, :k] @ y - e1[:k + 1]) / beta
        if H[k, j] == 0.0 or rel <= rtol or (rel <= XTOL_MAX_RESIDUAL and rel * np.max(np.abs(y @ Z[:k])) <= xtol):
            break
        V[k] = w / H[k, j]
    return y @ Z[:k], k
