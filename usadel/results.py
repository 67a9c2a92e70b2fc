"""What every result object can do: be saved, become labelled arrays, print briefly.

:class:`ResultMixin` gives :class:`~usadel.SpectralResult`,
:class:`~usadel.KineticResult`, :class:`~usadel.GapResult` and
:class:`~usadel.SolveResult` their ``save(path)`` (one HDF5 file, see
:mod:`usadel.io`; ``usadel.load(path)`` gives the same kind back),
``to_xarray()``, ``export_vtu(path)`` and a short ``repr`` (shapes and ranges,
not the arrays).
"""

import dataclasses

import numpy as np

__all__ = ["ResultMixin"]


class ResultMixin:
    """Mixin for the result dataclasses (declare them with ``@dataclass(repr=False)``)."""

    def save(self, path, **kw):
        """Write this result, its device and its nested results to one HDF5 file (atomic); see :func:`usadel.io.save`."""
        from .io import save

        return save(self, path, **kw)

    def to_xarray(self):
        """Labelled arrays (dims energy, node[, component]; coordinates x, y, region); needs xarray."""
        from .export import to_xarray

        return to_xarray(self)

    def export_vtu(self, path, energies=None, **kw):
        """Nodal fields for ParaView (VTU through meshio); see :func:`usadel.export.export_vtu`."""
        from .export import export_vtu

        return export_vtu(self, path, energies=energies, **kw)

    def __repr__(self):
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "device":
                continue
            if isinstance(v, np.ndarray):
                text = f"array{v.shape}"
                if f.name == "energies" and v.size:
                    E = np.real(v)
                    text += f" in [{E.min():.4g}, {E.max():.4g}]" + (" (complex)" if np.iscomplexobj(v) else "")
                parts.append(f"{f.name}={text}")
            elif isinstance(v, (int, float, str, type(None), np.number)):
                parts.append(f"{f.name}={v!r}")
            elif isinstance(v, (list, tuple)):
                parts.append(f"{f.name}=[{len(v)} items]")
            elif isinstance(v, dict):
                parts.append(f"{f.name}={{{', '.join(map(str, v))}}}")
            else:
                parts.append(f"{f.name}={type(v).__name__}")
        dev = getattr(self, "device", None) or getattr(getattr(self, "spectral", None), "device", None)
        head = f"{type(self).__name__}({', '.join(parts)})"
        return head if dev is None else f"{head}\n  on {repr(dev).splitlines()[0]}"
