"""Bandwidth-reducing node orderings (reverse Cuthill-McKee), cached by graph.

The ordering is a pure function of a mesh's graph, and building a device computes it for the mesh's
nodes (``usadel.device.renumber``) and, at order p > 1, for the Lagrange dofs and the chain of dof
points (``usadel.chain_dofs``): a few hundred microseconds of scipy calls on a small 1D mesh, paid
again for every device on an equal mesh (parameter scans, the work-precision benchmark). Graphs of
at most ``CACHE_MAX_ENTRIES`` entries are kept by their entries (at most ``CACHE_SIZE`` graphs).
"""

import numpy as np
import scipy.sparse as sps
from scipy.sparse.csgraph import reverse_cuthill_mckee

__all__ = ["rcm", "CACHE_MAX_ENTRIES", "CACHE_SIZE"]

CACHE_MAX_ENTRIES = 20000  #: graphs with more entries (r, c pairs) are not cached
CACHE_SIZE = 64  #: graphs kept (the oldest goes first)

_CACHE = {}


def rcm(r, c, n, summed=True):
    """``reverse_cuthill_mckee`` (symmetric mode) of the n x n graph with entries (r, c) (arrays, repeats
    allowed); ``summed``: of ``coo_matrix(...).tocsr()`` (repeats summed), else of ``csr_matrix((data, (r, c)))``
    (as each caller built it). A new array each call."""
    key = None
    if r.size <= CACHE_MAX_ENTRIES:
        key = (int(n), bool(summed), np.asarray(r, np.int64).tobytes(), np.asarray(c, np.int64).tobytes())
        if key in _CACHE:
            return _CACHE[key].copy()
    data = (np.ones(r.size), (r, c))
    adj = sps.coo_matrix(data, shape=(n, n)).tocsr() if summed else sps.csr_matrix(data, shape=(n, n))
    perm = reverse_cuthill_mckee(adj, symmetric_mode=True)
    if key is not None:
        while len(_CACHE) >= CACHE_SIZE:  # threads may evict at once: an entry gone already is fine
            try:
                _CACHE.pop(next(iter(_CACHE)), None)
            except (StopIteration, RuntimeError):  # emptied, or changed size while iterating
                break
        _CACHE[key] = perm.copy()
    return perm
