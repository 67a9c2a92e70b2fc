"""usadel: finite-element quasiclassical transport in diffusive superconductors.

Solves the retarded Usadel equation, the gap equation and the four kinetic
equations of Morten, Brataas and Belzig, PRB 70, 212508 (2004) on 1D and 2D
meshes. Units: hbar = k_B = e = 1.
"""

from . import meshes
from .device import Barrier, Device, Material, Reservoir
from .errors import ConvergenceError, UsadelError
from .retarded import SpectralResult, spectral
from .keldysh import KineticResult, kinetic
from . import bcs, observables
from .selfconsistency import critical_temperature, gap
from .transport import SolveResult, solve

__all__ = [
    "meshes", "bcs", "observables", "kinetic", "KineticResult", "gap", "critical_temperature", "solve", "SolveResult", "Device", "Material", "Reservoir", "Barrier", "spectral", "SpectralResult",
    "UsadelError", "ConvergenceError",
]
__version__ = "0.1.0"
