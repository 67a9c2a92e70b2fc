r"""Compiled (numba) kernels of the order-p Riccati equations on 1D chains.

:func:`bulk` computes what :meth:`usadel.highorder.HighOrderProblem._bulk` and the element part
of :meth:`usadel.condense.StaticCondensation.step` compute with numpy, in passes over energies and
elements, from the state u (b, n, 2) of :mod:`usadel.state`: the bulk residual F (b, 2 n) on the dofs
(rows in the order of the Newton vector, 2 dof + component) and, with the Jacobian, each element's condensed
data: the Schur complement on its four vertex unknowns, the correction A_VI A_II^-1 r_I of the vertex
residual, and A_II^-1 A_IV, A_II^-1 r_I for the back-substitution (the element-interior rows are the
element's own: barriers and clean contacts act on vertices only). The same formulas as the numpy
path and the same dense solve (LU with partial pivoting, as LAPACK's gesv): the results agree to
rounding (``tests/test_kernels.py``). :func:`newton` runs the whole damped Newton loop, energy by
energy, without allocations; :func:`homotopy` the eta-homotopy's stages, :func:`run_lanes` the
continued steps of the energy sweep (:mod:`usadel.sweep_chain`). Small problems are where numpy's per-call overhead dominates (issue 16:
a P3 sweep at ~50 unknowns). The compiled functions are in :mod:`usadel.kernels_jit`.

numba is imported with this module (by ``usadel.highorder``, at the first order > 1 solve;
``import usadel`` does not load it); :data:`AVAILABLE` is False without it and the numpy path is
used. Kernels are compiled on first use and cached on disk (``cache=True``).
"""

import numpy as np

from .kernels_jit import AVAILABLE, bulk_kernel, chain_kernel, condense_kernel, homotopy_kernel, lanes_kernel, \
    newton_kernel

__all__ = ["AVAILABLE", "bulk", "chain_solve", "newton", "run_lanes", "homotopy"]


def chain_solve(Sc, corr, X, y, vb, F, chain):
    """Newton update dx (b, 2 n) on a chain from the condensed element data (as
    :meth:`usadel.condense.StaticCondensation.solve_condensed`) with the vertex system solved by 2x2 block
    elimination in node order. ``chain``: (vrow, vcol, t0, t1, vdof, loc, dirm) of
    :class:`usadel.condense.StaticCondensation` (its pattern has node bandwidth 1)."""
    dx = np.empty_like(F)
    nv = chain[4].shape[0] // 2
    chain_kernel(Sc, corr, X, y, np.ascontiguousarray(vb), *chain[:2], np.ascontiguousarray(F), *chain[2:], dx,
                 np.zeros((nv, 3, 2, 2), complex), np.zeros((nv, 2), complex))
    return dx


def bulk(eps, u, tables, jac):
    """Bulk residual F (b, 2 n) of the state u (b, n, 2) (rows 2 dof + component, the Newton vector's order), and
    with ``jac`` the condensed element data (Sc, corr, X, y).

    ``tables``: (L, phi, dphi, 1/jac, S, M, h_q, Delta_q, Gamma_q, K_loc) of a
    :class:`usadel.highorder.HighOrderProblem` (local, vertex-first order). Sc (b, n_el, 4, 4) and corr
    (b, n_el, 4) on the vertex unknowns (end, component) and X (b, n_el, 2(p-1), 4), y (b, n_el, 2(p-1)),
    as :meth:`usadel.condense.StaticCondensation.step` uses them.
    """
    L, n_el, p1 = tables[0], tables[0].shape[0], tables[0].shape[1]
    b, n = u.shape[:2]
    ni = 2 * (p1 - 2)
    F = np.zeros((b, 2 * n), complex)
    shape = (b, n_el) if jac else (0, n_el)  # without the Jacobian A is not touched
    A, rl = np.zeros(shape + (2 * p1, 2 * p1), complex), np.zeros((b, n_el, 2 * p1), complex)
    work = np.zeros((6, tables[1].shape[0]), complex), np.zeros((4, p1)), np.zeros(8)  # (cf, nod, at of the kernel)
    bulk_kernel(np.ascontiguousarray(eps, complex), np.ascontiguousarray(u, complex), *tables, int(jac), F, A, rl,
                *work)
    if not jac:
        return F, None
    Sc, corr = np.empty((b, n_el, 4, 4), complex), np.empty((b, n_el, 4), complex)
    X, y = np.empty((b, n_el, ni, 4), complex), np.empty((b, n_el, ni), complex)
    condense_kernel(A, rl, Sc, corr, X, y, np.zeros((ni, 5), complex), np.zeros((b, n_el, ni, ni), complex),
              np.zeros((b, n_el, ni), np.int64))
    return F, (Sc, corr, X, y)


def newton(eps, u, tol, maxiter, scale, tables, chain, dir_dofs):
    """The damped Newton of :func:`usadel.newton.newton`, compiled, for an order-p chain without barriers
    (clean contacts only; ``chain``: :attr:`usadel.condense.StaticCondensation.chain`, ``dir_dofs`` their
    dofs). Same steps, line search and stopping rule (with ``contraction=True``: its contraction stop and chord
    steps), energy by energy; returns (u, ok, res), the state u (b, n, 2) updated in place."""
    from .newton import CONSTANTS

    ok, res = np.zeros(eps.size, bool), np.full(eps.size, np.inf)
    u2 = np.ascontiguousarray(u, complex)
    newton_kernel(np.ascontiguousarray(eps, complex), u2, float(tol), int(maxiter), np.asarray(scale, float),
                  tables, chain, np.asarray(dir_dofs, np.int64), np.array(CONSTANTS), ok, res)
    if u2 is not u:
        u[...] = u2
    return u, ok, res


def run_lanes(*args):
    """The continued steps of :func:`usadel.sweep.sweep` (arguments: :class:`usadel.sweep_chain.Lanes`)."""
    return lanes_kernel(*args)


def homotopy(E, tols, bu, u, maxiter, scale, tables, chain, dir_dofs):
    """The stages of :func:`usadel.eta_homotopy.homotopy` (energies E (K, b), Newton tolerances tols (K,)) from
    the state u (b, n, 2), updated in place, energy by energy as :func:`newton`; bu (K, b, n, 2): states holding
    the clean-contact values at every stage (dofs ``dir_dofs``), ``scale`` (K, b) the operator scale. Returns
    (u, ok, res)."""
    from .newton import CONSTANTS

    ok, res = np.zeros(u.shape[0], bool), np.full(u.shape[0], np.inf)
    u2 = np.ascontiguousarray(u, complex)
    homotopy_kernel(np.ascontiguousarray(E, complex), np.asarray(tols, float), np.ascontiguousarray(bu, complex), u2,
                    int(maxiter), np.ascontiguousarray(scale, float), tables, chain, np.asarray(dir_dofs, np.int64),
                    np.array(CONSTANTS), ok, res)
    if u2 is not u:
        u[...] = u2
    return u, ok, res
