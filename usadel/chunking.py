"""How :func:`usadel.spectral` cuts its energies into chunks, each one call of the chunk solver (mapped over
an executor if given).

Batched (1D) solves hold arrays of ``usadel.retarded.CHUNK_UNKNOWNS`` complex unknowns per chunk. A sparse
(2D) sweep solves one energy at a time and each chunk is a sweep of its own that starts with a homotopy
(its lane start and its sample check, ``usadel.sweep``), so it is cut into as few blocks as there are
workers, contiguous in energy, with equal estimated costs (:func:`sweep_blocks`).
"""

import os

import numpy as np

__all__ = ["chunk_bounds", "sweep_blocks", "default_workers", "SWEEP_HEAVY_RANGE", "SWEEP_HEAVY_WEIGHT"]

#: 2D sweep blocks: energies below this many Thouless energies (the proximity minigap of an SNS junction is
#: at most 3.1 E_Th, and its edge is where continued steps fail and are redone by the homotopy) ...
SWEEP_HEAVY_RANGE = 3.1
#: ... count this many times an energy above it (measured on the 20k-node strip of benchmarks/sweep_2d.py,
#: E_Th = 1, phase pi/2: ~0.24 s cpu an energy below 3 E_Th, redone ones included, ~0.12 s above; cut by
#: this weight, 69 and 131 of its 200 energies in [0, 10], the two blocks' work agrees to 1%, against 1.5x
#: for 100 and 100)
SWEEP_HEAVY_WEIGHT = 2.0


def default_workers(executor, workers=None):
    """Workers to cut a 2D sweep for: ``workers`` if given, 1 without an executor, else the CPUs this process
    may use (the default size of a process or thread pool; pass ``workers`` for another)."""
    if workers is not None:
        return int(workers)
    if executor is None:
        return 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def chunk_bounds(n, chunk):
    """Start indices of chunks of ``chunk`` of ``n`` energies, and ``n``: chunk k is [bounds[k], bounds[k+1])."""
    return list(range(0, n, chunk)) + [n]


def sweep_blocks(energies, blocks, thouless_energy):
    """Bounds (as :func:`chunk_bounds`) of ``blocks`` contiguous runs of ``energies`` of about equal estimated
    cost: an energy with |Re E| below ``SWEEP_HEAVY_RANGE`` Thouless energies weighs ``SWEEP_HEAVY_WEIGHT``,
    any other 1 (each block's fixed cost, the homotopy that starts its lane and checks its sample, is the
    same for every block). Every block has at least one energy."""
    n = len(energies)
    blocks = max(1, min(int(blocks), n))
    w = np.where(np.abs(np.real(energies)) < SWEEP_HEAVY_RANGE * thouless_energy, SWEEP_HEAVY_WEIGHT, 1.0)
    cum = np.concatenate([[0.0], np.cumsum(w)])
    bounds = [0]
    for k in range(1, blocks):
        target = cum[-1] * k / blocks
        i = int(np.searchsorted(cum, target))  # cum[i - 1] < target <= cum[i]: the nearer of the two
        i = i - 1 if i > 0 and target - cum[i - 1] < cum[i] - target else i
        bounds.append(min(max(i, bounds[-1] + 1), n - (blocks - k)))  # non-empty blocks
    return bounds + [n]
