r"""The state layout of the retarded engine: one array u[E, dof, component].

Every retarded problem (P1 :class:`usadel.retarded.RetardedProblem`, the spin-mixed
:class:`usadel.spin_mixing.SpinMixedProblem`, the order-p chains and triangles) keeps its
unknowns at a batch of energies as one complex array ``u`` of shape (b, n, ncomp):
b energies, n dofs (``prob.state_size``), ``prob.ncomp`` components per dof. The components are
the Riccati amplitudes of each spin block in turn,

    ncomp = 2:  (gamma, gamma~)                          spin degenerate, or one spin block
    ncomp = 4:  (gamma_+, gamma~_+, gamma_-, gamma~_-)   both spin blocks, coupled by spin relaxation

so ``u[..., 0::2]`` are all gammas and ``u[..., 1::2]`` all gamma~s. ``u.reshape(b, n * ncomp)`` is
the Newton vector: residual rows and Newton updates are in that order (dof-major, components
interleaved), which is the order of the linear solvers' blocks (``BlockSolver(ncomp)``).

The drivers (:func:`usadel.newton.newton`, :mod:`usadel.eta_homotopy`, :func:`usadel.sweep.sweep`,
the chunk solvers of :func:`usadel.retarded.spectral`) see only this array and ``ncomp``; what a
component means is known only to the problems and to :func:`blocks`, which hands the spin blocks
to :class:`usadel.spectral_result.SpectralResult`.

The problem interface (``docs/conventions.md``, State layout):

    prob.ncomp, prob.state_size                   components per dof, dofs
    prob.initial(eps) -> u                        local bulk guess, contacts imposed
    prob.impose(eps, u) -> u                      clean-contact dofs set to the reservoirs', in place
    prob.residual(eps, u, jac=False) -> F         (b, n ncomp); with jac (F, J)
    prob.newton(eps, u, tol, maxiter) -> (u, ok, res)   u updated in place
"""

import numpy as np

from .bulk import PHYSICAL_SLACK, on_retarded_branch

__all__ = ["empty", "stack", "flat", "amplitudes", "blocks", "from_blocks", "on_branch", "spin_blocks"]


def empty(b, n, ncomp):
    """A zero state (b, n, ncomp), complex."""
    return np.zeros((b, n, ncomp), complex)


def stack(*components):
    """The state (b, n, ncomp) of the component arrays (each (b, n)), in the order given."""
    return np.stack(components, axis=-1).astype(complex, copy=False)


def flat(u):
    """The Newton vector (b, n ncomp) of a state: a view."""
    return u.reshape(u.shape[0], -1)


def amplitudes(u):
    """(gamma, gamma~) of a state, each (b, n ncomp / 2): every spin block's gammas, dof-major (views)."""
    b = u.shape[0]
    return u[..., 0::2].reshape(b, -1), u[..., 1::2].reshape(b, -1)


def spin_blocks(ncomp):
    """The number of spin blocks in a state of ``ncomp`` components."""
    return ncomp // 2


def blocks(u):
    """[(gamma, gamma~), ...] per spin block, each (b, n): copies, contiguous."""
    return [(np.ascontiguousarray(u[..., 2 * k]), np.ascontiguousarray(u[..., 2 * k + 1]))
            for k in range(spin_blocks(u.shape[-1]))]


def from_blocks(pairs):
    """The state of spin blocks [(gamma, gamma~), ...] (the inverse of :func:`blocks`)."""
    return stack(*(x for pair in pairs for x in pair))


def on_branch(u, slack=PHYSICAL_SLACK):
    """:func:`usadel.bulk.on_retarded_branch` per energy (b,) on every spin block of the state."""
    return on_retarded_branch(*amplitudes(u), slack=slack)
