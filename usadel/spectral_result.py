"""The result of :func:`usadel.spectral`: Riccati amplitudes per energy and node, with physics methods.

Spin-degenerate devices store one spin block (``gamma``, ``gamma_t``). With an
exchange field (``usadel.exchange``) the two spin blocks differ: ``gamma``,
``gamma_t`` then hold spin sigma = +1 and ``gamma_dn``, ``gamma_t_dn`` spin
sigma = -1, and every spin-summed observable (DOS, pair amplitude, matrix and
supercurrent) is the average over the blocks; :meth:`SpectralResult.block`
gives one block, and ``dos(spin=+-1)`` the spin-resolved DOS. :attr:`SpectralResult.state` is the
same numbers in the engine's layout u[E, node, component] (:mod:`usadel.state`: components
(gamma, gamma~) per spin block), and :meth:`SpectralResult.from_state` builds a result from it.
"""

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from .bulk import riccati_sqrt
from .coefficients import matrix_current, supercurrent_density
from .device import Device
from .errors import UsadelError
from .fem import locate
from . import results
from .state import blocks, from_blocks

__all__ = ["SpectralResult"]


@dataclass(repr=False)
class SpectralResult(results.ResultMixin):
    """Solution of the retarded equations at a set of energies.

    Attributes
    ----------
    energies : (n_E,) energies as given (real, or complex e.g. Matsubara i w_n)
    gamma, gamma_t : (n_E, n_nodes) Riccati amplitudes gamma, gamma~ (spin +1 if spin split)
    delta : (n_nodes,) effective complex gap per node used in the solve
    eta : Dynes broadening
    residuals : (n_E,) final residual norm of each energy's Newton solve (the larger of the two spins)
    gamma_dn, gamma_t_dn : (n_E, n_nodes) or None
        Spin -1 block of a device with an exchange field; None when the spins are degenerate.
    """

    device: Device
    energies: np.ndarray
    gamma: np.ndarray
    gamma_t: np.ndarray
    delta: np.ndarray
    eta: float
    residuals: np.ndarray
    gamma_dn: Optional[np.ndarray] = None
    gamma_t_dn: Optional[np.ndarray] = None

    @property
    def spin_split(self):
        """True if the two spin blocks are stored (a device with an exchange field)."""
        return self.gamma_dn is not None

    @classmethod
    def from_state(cls, device, energies, u, delta, eta, residuals):
        """The result of states ``u`` (n_E, n_nodes, ncomp): ncomp 2 one spin block, 4 both
        (:mod:`usadel.state`)."""
        (g, gt), *dn = blocks(u)
        dn = dn[0] if dn else (None, None)
        return cls(device=device, energies=energies, gamma=g, gamma_t=gt, delta=delta, eta=eta, residuals=residuals,
                   gamma_dn=dn[0], gamma_t_dn=dn[1])

    @property
    def state(self):
        """The solution in the engine's layout u[E, node, component] (:mod:`usadel.state`), a new array:
        (n_E, n_nodes, 2) components (gamma, gamma~), or (n_E, n_nodes, 4) (gamma_+, gamma~_+, gamma_-,
        gamma~_-) if spin split."""
        return from_blocks(self._blocks())

    def _blocks(self):
        if self.spin_split:
            return [(self.gamma, self.gamma_t), (self.gamma_dn, self.gamma_t_dn)]
        return [(self.gamma, self.gamma_t)]

    def _average(self, fn):
        vals = [fn(g, gt) for g, gt in self._blocks()]
        return vals[0] if len(vals) == 1 else 0.5 * (vals[0] + vals[1])

    def block(self, spin):
        """The spin block sigma = ``spin`` (+1 or -1) as a spin-degenerate-looking SpectralResult.

        Its G, F, theta, ... are those of that block (for a spin-degenerate
        result both blocks are the result itself).
        """
        if isinstance(spin, (bool, np.bool_)) or spin not in (1, -1):
            raise UsadelError(f"SpectralResult.block: spin must be +1 or -1, got {spin!r}")
        if not self.spin_split:
            return self
        g, gt = self._blocks()[0 if spin == 1 else 1]
        return replace(self, gamma=g, gamma_t=gt, gamma_dn=None, gamma_t_dn=None)

    def _one_block(self, what):
        if self.spin_split:
            raise UsadelError(f"SpectralResult.{what}: the result is spin split (exchange field); take one spin "
                              f"block first, e.g. sp.block(+1).{what}")

    @property
    def x(self):
        """Node coordinates (n_nodes, dim); split interface nodes appear twice."""
        return self.device.topology.p.T

    @property
    def G(self):
        """Normal Green's function cosh th (n_E, n_nodes); the spin average if spin split."""
        return self._average(lambda g, gt: (1.0 - g * gt) / (1.0 + g * gt))

    @property
    def F(self):
        """Anomalous function sinh th e^{i chi} (n_E, n_nodes); the spin average (singlet) if spin split."""
        return self._average(lambda g, gt: 2.0 * g / (1.0 + g * gt))

    @property
    def Ft(self):
        """Anomalous function -sinh th e^{-i chi} (the tilde component); the spin average if spin split."""
        return self._average(lambda g, gt: 2.0 * gt / (1.0 + g * gt))

    @property
    def theta(self):
        """Seed's complex angle th (n_E, n_nodes) (one spin block: see :meth:`block`).

        th and chi are defined up to (th, chi) -> (-th, chi + pi); we return
        the branch with Re chi in (-pi/2, pi/2], which is the seed's th for
        devices without phase differences (chi = 0).
        """
        self._one_block("theta")
        return 2.0 * np.arctanh(riccati_sqrt(self.gamma, self.gamma_t))

    @property
    def chi(self):
        """Complex phase chi in the branch of :attr:`theta` (one spin block: see :meth:`block`)."""
        self._one_block("chi")
        s = riccati_sqrt(self.gamma, self.gamma_t)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(s != 0, -1j * np.log(self.gamma / np.where(s != 0, s, 1.0)), 0.0)

    def dos(self, spin=None):
        """Density of states N(E, x) = Re cosh th per spin, normalised to the normal state.

        ``spin``: None for the spin average (N_up + N_dn)/2, +1 or -1 for the
        spin-resolved DOS (spin sigma sees E + sigma h); without an exchange field all three agree.
        """
        if spin is None:
            return np.real(self.G)
        return np.real(self.block(spin).G)

    def pair_amplitude(self):
        """Pair amplitude F = sinh th e^{i chi} (n_E, n_nodes); the spin average (singlet) if spin split."""
        return self.F

    def matrix_current(self):
        """Per-element (g grad g)_11, (n_E, n_el, dim): :func:`usadel.coefficients.matrix_current`; spin average."""
        ops = self.device.operators
        return self._average(lambda g, gt: matrix_current(ops, g, gt))

    def spectral_supercurrent(self):
        """Seed's spectral supercurrent jE = D q sinh^2 th per element (n_E, n_el, dim); spin average."""
        ops = self.device.operators
        return -1j * ops.D_e[None, :, None] * self.matrix_current()

    def supercurrent_density(self, T):
        """Equilibrium charge supercurrent density per element (n_el, dim): :func:`usadel.coefficients.supercurrent_density`."""
        return supercurrent_density(self, T)

    def at(self, points, field=None):
        """Interpolate a nodal field (default: DOS) at points (n_pts, dim)."""
        field = self.dos() if field is None else field
        el, bary = locate(self.device, np.atleast_2d(points))
        t = self.device.topology.t
        return np.einsum("...ke,ke->...e", field[..., t[:, el]], bary)

    def plot_dos(self, path=None, ax=None, **kw):
        """Plot the DOS (see :func:`usadel.plot.plot_dos`: N(x, E) in 1D, N at ``energy`` in 2D); returns the Axes."""
        from .plot import plot_dos

        return plot_dos(self, path=path, ax=ax, **kw)
