r"""Batched block-tridiagonal solves for the kinetic equations on chains (1D wires in node order).

On a 1D wire whose nodes are numbered along it, the kinetic matrix of one energy couples node i
only to i - 1 and i + 1: a block-tridiagonal matrix of c x c blocks (c = 4 distribution modes).
Block elimination along the chain (the block Thomas algorithm: Schur complements
S_i = D_i - L_i S_{i-1}^{-1} U_{i-1}, each solved by LU with partial pivoting) costs ~O(n c^3) per
energy and needs no packing into LAPACK's band storage. Banded LAPACK (``usadel.linsolve``, gbsv)
took most of the time of ``usadel.kinetic`` on the seed device (701 nodes, 300-450 energies: 0.5 s
in gbsv and ~0.3 s packing the band, per call), which the nonequilibrium loop calls at every
outer iteration.

Unlike gbsv, block elimination does not pivot between nodes. The kinetic matrices are
diffusion operators (weakly diagonally dominant) plus sinks and the supercurrent couplings,
and elimination along them is stable in practice, but a floored diffusion coefficient (hL below
a gap) next to a supercurrent coupling is not dominant. So every solution is checked: its
residual r = f - A x, relative to |A| |x| + |f| (max norms), must be below ``CHECK_TOL``; energies
that fail (or give a non-finite x) are returned flagged, and the caller solves them again with
banded LAPACK. The check is on max norms over the whole system, so it cannot see a badly scaled
row on its own (hL in a minigap, where DL is floored: there the two solvers differ by rounding
amplified by that row's condition, 3.6e-7 measured; ``tests/test_block_chain.py``).
"""

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; callers keep a numpy/LAPACK path
    numba = None

__all__ = ["AVAILABLE", "chain_positions", "block_positions", "full_positions", "solve_chain", "CHECK_TOL"]

#: True where the compiled elimination can be used (without numba the callers keep banded LAPACK)
AVAILABLE = numba is not None

#: largest accepted relative residual max|f - A x| / (max|A| max|x| + max|f|) of a block-elimination solve
CHECK_TOL = 1e-12


def chain_positions(indptr, indices, n):
    """Positions (lo, di, up), each (n,) int, of the entries (i, i-1), (i, i), (i, i+1) in the CSR data of
    the node pattern (-1 where absent), or None if some node couples to a node other than i -+ 1
    (not a chain in this numbering: networks, 2D meshes)."""
    rows = np.repeat(np.arange(n), np.diff(indptr))
    off = np.asarray(indices) - rows
    if off.size == 0 or np.any(np.abs(off) > 1):
        return None
    out = np.full((3, n), -1, np.int64)
    out[off + 1, rows] = np.arange(off.size)
    if np.any(out[1] < 0):
        return None
    return out[0], out[1], out[2]


def block_positions(chain, c, nnz):
    """Index map (n, 3, c, c) of the blocks (i, i-1), (i, i), (i, i+1) into ``blocks.reshape(B, -1)`` for blocks
    shaped (B, c, c, nnz) on the node pattern (-1: absent); ``chain`` from :func:`chain_positions`."""
    lo, di, up = chain
    p = np.stack([lo, di, up], axis=1)  # (n, 3)
    ab = (np.arange(c)[:, None] * c + np.arange(c)[None, :]) * nnz  # (c, c)
    return np.where(p[:, :, None, None] >= 0, ab[None, None] + p[:, :, None, None], -1).astype(np.int64)


def full_positions(fr, fc, c, n):
    """Index map (n, 3, c, c) into the interleaved ("full") data of ``usadel.linsolve.BlockSolver`` (entries at
    rows ``fr``, columns ``fc``, unknown node * c + component), or None if it is not a chain in node order."""
    nr, nc = fr // c, fc // c
    t = nc - nr + 1
    if np.any((t < 0) | (t > 2)):
        return None
    pos = np.full((n, 3, c, c), -1, np.int64)
    pos[nr, t, fr % c, fc % c] = np.arange(fr.size)
    if np.any(pos[:, 1] < 0):
        return None
    return pos


def _lu_solve(S, B):
    """In place: S (c, c) := its LU with partial pivoting, B (c, k) := S^-1 B. Returns False if singular."""
    c, k = S.shape[0], B.shape[1]
    for j in range(c):
        p = j
        big = abs(S[j, j])
        for r in range(j + 1, c):
            if abs(S[r, j]) > big:
                big, p = abs(S[r, j]), r
        if big == 0.0:
            return False
        if p != j:
            for q in range(c):
                S[j, q], S[p, q] = S[p, q], S[j, q]
            for q in range(k):
                B[j, q], B[p, q] = B[p, q], B[j, q]
        for r in range(j + 1, c):
            m = S[r, j] / S[j, j]
            if m != 0.0:
                for q in range(j + 1, c):
                    S[r, q] -= m * S[j, q]
                for q in range(k):
                    B[r, q] -= m * B[j, q]
    for j in range(c - 1, -1, -1):
        for q in range(k):
            v = B[j, q]
            for r in range(j + 1, c):
                v -= S[j, r] * B[r, q]
            B[j, q] = v / S[j, j]
    return True


def _entry(data, w, pos, i, t, a, b):
    p = pos[i, t, a, b]
    return data[w, p] if p >= 0 else 0.0


def _solve(data, members, f, fixed, pos, x, ok, tol):
    nb, n, c = f.shape[0], f.shape[1], f.shape[2]
    G = np.zeros((n, c, c), x.dtype)
    z = np.zeros((n, c), x.dtype)
    S = np.zeros((c, c), x.dtype)
    B = np.zeros((c, c + 1), x.dtype)
    for k in range(nb):
        w = members[k]
        good = True
        for i in range(n):
            for a in range(c):
                if fixed[i, a]:  # identity row: x = f
                    for b in range(c + 1):
                        B[a, b] = 0.0
                    for b in range(c):
                        S[a, b] = 0.0
                    S[a, a] = 1.0
                    B[a, c] = f[k, i, a]
                    continue
                for b in range(c):
                    S[a, b] = _entry(data, w, pos, i, 1, a, b)
                    B[a, b] = _entry(data, w, pos, i, 2, a, b) if i < n - 1 else 0.0
                B[a, c] = f[k, i, a]
                if i > 0:  # S -= L G_{i-1}, rhs -= L z_{i-1}
                    for q in range(c):
                        lq = _entry(data, w, pos, i, 0, a, q)
                        if lq != 0.0:
                            for b in range(c):
                                S[a, b] -= lq * G[i - 1, q, b]
                            B[a, c] -= lq * z[i - 1, q]
            if not _lu_solve(S, B):
                good = False
                break
            for a in range(c):
                for b in range(c):
                    G[i, a, b] = B[a, b]
                z[i, a] = B[a, c]
        if not good:
            ok[k] = False
            continue
        for a in range(c):
            x[k, n - 1, a] = z[n - 1, a]
        for i in range(n - 2, -1, -1):
            for a in range(c):
                v = z[i, a]
                for b in range(c):
                    v -= G[i, a, b] * x[k, i + 1, b]
                x[k, i, a] = v
        ok[k] = _check(data, w, f, fixed, pos, x, k, tol)


def _check(data, w, f, fixed, pos, x, k, tol):
    """Whether max|f - A x| <= tol (max|A| max|x| + max|f|) for member w of ``data``, solution k (fixed rows:
    x = f)."""
    n, c = f.shape[1], f.shape[2]
    rmax, amax, xmax, fmax = 0.0, 0.0, 0.0, 0.0
    for i in range(n):
        for a in range(c):
            xa = x[k, i, a]
            if not np.isfinite(xa):
                return False
            xmax = max(xmax, abs(xa))
            fmax = max(fmax, abs(f[k, i, a]))
            r = f[k, i, a] - xa
            if not fixed[i, a]:
                r = f[k, i, a]
                for t in range(3):
                    j = i - 1 + t
                    if j < 0 or j >= n:
                        continue
                    for b in range(c):
                        v = _entry(data, w, pos, i, t, a, b)
                        amax = max(amax, abs(v))
                        r -= v * x[k, j, b]
            rmax = max(rmax, abs(r))
    return rmax <= tol * (max(amax, 1.0 if fixed.any() else 0.0) * xmax + fmax)  # identity rows: |A| >= 1


if numba is not None:
    _lu_solve = numba.njit(cache=True)(_lu_solve)
    _entry = numba.njit(cache=True)(_entry)
    _check = numba.njit(cache=True)(_check)
    _solve = numba.njit(cache=True)(_solve)


def solve_chain(data, f, fixed, pos, tol=CHECK_TOL, members=None):
    """Solve a batch of block-tridiagonal systems; returns (x (b, n, c), ok (b,) bool).

    ``data`` (B, M): the matrices' entries, found through ``pos`` (n, 3, c, c) (:func:`block_positions`,
    :func:`full_positions`; -1: zero), of which ``members`` (b,) are solved (default: all, b = B; the others
    are not copied); ``f`` (b, n, c) right-hand sides; ``fixed`` (n, c) bool or None: rows replaced by identity
    rows (x = f there). Real or complex. Rows of energies with ``ok`` False (singular Schur complement,
    non-finite x or a residual above ``tol``) are not to be used.
    """
    b, n, c = f.shape
    dtype = np.result_type(data, f)
    data = np.ascontiguousarray(data, dtype)
    f = np.ascontiguousarray(f, dtype)
    fixed = np.zeros((n, c), bool) if fixed is None else np.ascontiguousarray(fixed, bool)
    x = np.zeros((b, n, c), dtype)
    ok = np.zeros(b, bool)
    members = np.arange(b) if members is None else np.ascontiguousarray(members, np.int64)
    _solve(data, members, f, fixed, np.ascontiguousarray(pos, np.int64), x, ok, float(tol))
    return x, ok
