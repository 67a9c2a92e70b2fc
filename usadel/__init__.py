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
from .selfconsistency import gap
from .tc import critical_temperature
from .condensation import free_energy
from .transport import SolveResult, solve
from .selfconsistency import GapResult
from . import io, progress
from .io import load
from .export import export_vtu, to_xarray

__all__ = [
    "meshes", "bcs", "observables", "kinetic", "KineticResult", "gap", "critical_temperature", "free_energy", "solve", "SolveResult", "Device", "Material", "Reservoir", "Barrier", "spectral", "SpectralResult",
    "UsadelError", "ConvergenceError", "GapResult", "io", "load", "export_vtu", "to_xarray", "progress",
]
__version__ = "0.1.0"
