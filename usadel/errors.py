"""Exceptions raised by usadel.

Every problem with user input raises :class:`UsadelError` (a ``ValueError``)
naming what is wrong, before any numerical work starts. Solvers that fail to
converge raise :class:`ConvergenceError` with the energies and residuals
involved, never a silent NaN.
"""

__all__ = ["UsadelError", "ConvergenceError"]


class UsadelError(ValueError):
    """Invalid input to a usadel function (unknown tag, bad parameter, ...)."""


class ConvergenceError(RuntimeError):
    """A nonlinear solve did not converge.

    Attributes
    ----------
    energies : ndarray
        The (complex) energies that failed.
    residuals : ndarray
        The last residual norm at each failed energy.
    """

    def __init__(self, message, energies=None, residuals=None, history=None):
        super().__init__(message)
        self.energies = energies
        self.residuals = residuals
        self.history = history
