"""The memory budget that every plan of the gap code is checked against before any work.

gap(), solve(), the Matsubara tail and ``usadel.observables.supercurrent`` estimate
the memory a request needs (from measured bytes per unknown, stated where each
estimate is made) and raise UsadelError with that size when it exceeds
``MEMORY_BUDGET``. The planners read the budget from this module when they run,
so changing it here changes every check.
"""

__all__ = ["MEMORY_BUDGET", "gib"]

#: memory (bytes) one gap()/solve() call may plan for; larger requests raise UsadelError before any work
MEMORY_BUDGET = 4e9


def gib(b):
    """A byte count as text in GB (for error messages)."""
    return f"{b / 1e9:.3g} GB"
