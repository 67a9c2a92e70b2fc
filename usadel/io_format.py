"""The file format of usadel results: layout constants and helpers shared by writing and reading
(see :mod:`usadel.io` for the layout)."""

import dataclasses
import importlib
import json

import numpy as np

from .errors import UsadelError

__all__ = ["FORMAT", "FORMAT_VERSION", "RESULT_ATTRIBUTES", "RESULT_MODULES", "COMPRESS_MIN", "require_h5py",
           "result_class", "result_name", "attributes", "class_path", "import_path", "key_json", "key_from_json",
           "child_name", "is_real_number"]

FORMAT = "usadel-result"
#: version of the file layout; bump it on an incompatible change (load refuses newer files)
FORMAT_VERSION = 1

#: What is stored per result class (public name in ``usadel``): its dataclass fields and the
#: private state its methods read. Fields of the class missing here are stored too (so a field
#: added in a refactor is not lost) and names missing on an object are skipped; keep this table
#: equal to the classes (``tests/test_io.py::test_attribute_table_matches_the_result_classes``).
RESULT_ATTRIBUTES = {
    "SpectralResult": ("device", "energies", "gamma", "gamma_t", "delta", "eta", "residuals", "gamma_dn", "gamma_t_dn"),
    "KineticResult": ("spectral", "h", "coeff_el", "coeff_node", "jS_el", "floor", "contacts",
                      "_state"),  # _state: tunnel-contact and interface flux matrices, sinks (KineticResult.current)
    "GapResult": ("device", "delta", "T", "iterations", "history", "n_matsubara", "spectral", "normal_growth"),
    "SolveResult": ("device", "delta", "spectral", "kinetic", "iterations", "history", "normal_growth"),
}

#: arrays with at least this many elements are compressed when ``save(..., compression=...)`` is given
COMPRESS_MIN = 4096


def require_h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise UsadelError("usadel.io needs h5py: python -m pip install h5py") from None
    return h5py


#: where the result classes may live (the first that has the name wins); refactors move them
RESULT_MODULES = ("usadel", "usadel.retarded", "usadel.spectral_result", "usadel.keldysh", "usadel.selfconsistency", "usadel.matsubara",
                   "usadel.transport")


def result_class(name, module=None):
    """The result class called ``name``: from the module it was stored from, ``usadel``, or the modules above."""
    for mod in ((module,) if module else ()) + RESULT_MODULES:
        try:
            cls = getattr(importlib.import_module(mod), name, None)
        except ImportError:
            continue
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            return cls
    return None


def result_name(obj):
    """The table name of a usadel result object, or None."""
    cls = type(obj)
    if cls.__name__ in RESULT_ATTRIBUTES and cls.__module__.split(".")[0] == "usadel" and dataclasses.is_dataclass(cls):
        return cls.__name__
    return None


def attributes(obj, name):
    """Names to store for a result: the table's, then any dataclass field the table lacks."""
    names = list(RESULT_ATTRIBUTES[name])
    names += [f.name for f in dataclasses.fields(obj) if f.name not in names]
    return [n for n in names if hasattr(obj, n)]


def class_path(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def import_path(path):
    """The object named by a dotted path ``module.qualname`` (the longest importable module prefix)."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except AttributeError:
            return None
        return obj
    return None


def key_json(key, where):
    def enc(k):
        if isinstance(k, bool) or not isinstance(k, (str, int, tuple)):
            raise UsadelError(f"save: {where} has a key {key!r} that cannot be stored (str, int or tuples of them)")
        return {"tuple": [enc(x) for x in k]} if isinstance(k, tuple) else k
    return json.dumps(enc(key))


def key_from_json(text):
    def dec(k):
        return tuple(dec(x) for x in k["tuple"]) if isinstance(k, dict) else k
    return dec(json.loads(text))


def child_name(key, i):
    """A readable HDF5 name for a dict key (the key itself is in attr ``key``): "S", "N|S", else item<i>."""
    if isinstance(key, tuple) and key and all(isinstance(k, str) for k in key):
        key = "|".join(key)
    if isinstance(key, str) and key and "/" not in key and key not in (".", ".."):
        return key
    return f"item{i}"


def is_real_number(v):
    return isinstance(v, (float, np.floating)) or (isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)))


