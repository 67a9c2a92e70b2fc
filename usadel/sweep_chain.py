r"""The continued steps of the energy sweep (:func:`usadel.sweep.sweep`), compiled, on order-p chains.

Where the whole damped Newton runs compiled (:meth:`usadel.highorder.HighOrderProblem.newton` on a
chain with clean contacts only: :attr:`~usadel.highorder.HighOrderProblem.compiled_newton`), the
sweep's lanes advance here instead of in its Python loop: per lane and step the prediction
(:func:`usadel.sweep.predict`: the same Lagrange weights, the same fallbacks), the clean-contact
values (:meth:`~usadel.highorder.HighOrderProblem.impose`, evaluated once for all energies), Newton
from the prediction (the loop of :func:`usadel.kernels.newton`, at most ``SWEEP_MAXITER`` iterations) and the
same checks (converged, :func:`usadel.bulk.on_retarded_branch`, correction at most ``SWEEP_JUMP``).
The order is the Python loop's (step by step, lane by lane); after a step where some lane needs the
homotopy (a lane without history, or a failed check) control returns to :func:`usadel.sweep.sweep`,
which solves those energies together as before. The Newton solves of different energies are
independent (energy by energy in the compiled loop), so the results are the Python loop's to rounding
(``tests/test_continuation.py``). Issue 16: the Python loop cost ~10 ms of a 17 ms P3 x 8 solve.
"""

import numpy as np

from . import kernels
from .bulk import PHYSICAL_SLACK

__all__ = ["Lanes"]

class Lanes:
    """The sweep's lanes on a compiled chain problem ``prob`` at energies ``eps`` with outputs
    ``out`` = (u, ok, res) (u: the states (n_E, n, 2) of :mod:`usadel.state`), filled in place; ``lanes``: index
    arrays, ``pre``: energies solved beforehand."""

    def __init__(self, prob, eps, lanes, pre, out, tol, maxiter, constants):
        from .newton import CONSTANTS

        order, jump, max_weight = constants  # SWEEP_ORDER, SWEEP_JUMP, PREDICT_MAX_WEIGHT
        self.prob, self.eps, self.out, self.pre, self.order = prob, eps, out, pre, order
        self.sizes = np.array([lane.size for lane in lanes], np.int64)
        self.lanes = np.full((len(lanes), max(self.sizes)), -1, np.int64)
        for k, lane in enumerate(lanes):
            self.lanes[k, :lane.size] = lane
        self.hist, self.hc = np.zeros((len(lanes), order + 1), np.int64), np.zeros(len(lanes), np.int64)
        self.bu = prob.impose(eps, np.zeros_like(out[0]))  # the contact values at every energy
        self.args = (np.asarray(prob.dir_dofs, np.int64), float(tol), int(maxiter), prob.operator_scale(eps),
                     prob.tables, prob.condensation.chain, np.array(CONSTANTS),
                     np.array([jump, PHYSICAL_SLACK, max_weight]), int(order))
        self.continued = np.zeros(eps.size, bool)

    def run(self, step0):
        """Advance from step ``step0``; returns (step, lane numbers needing the homotopy there, energies
        redone). At the end: step = the number of steps and no lanes."""
        need = np.zeros(self.sizes.size, bool)
        u, ok, res = self.out
        step, redone = kernels.run_lanes(step0, self.lanes, self.sizes, self.pre, self.hist, self.hc, self.eps, u, ok,
                                         res, self.bu, *self.args, self.continued, need)
        return step, np.nonzero(need)[0], redone

    def restart(self, k, i):
        """Lane k continues from energy row i (solved afresh): its history is i if converged, else empty."""
        self.hc[k] = 0
        if self.out[1][i]:
            self.hist[k, 0], self.hc[k] = i, 1
