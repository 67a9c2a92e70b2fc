"""Argument checks shared by every public function: coerce once, fail early.

Every public parameter goes through one of these functions before any
numerical work. They return plain Python (or numpy float64) values, so a
NumPy complex scalar, a float32, a string or a bool never reaches the solvers
as something other than what the check accepted. Each raises
:class:`usadel.UsadelError` naming the parameter.

Examples
--------
>>> real("Material.D", 2, positive=True)
2.0
>>> real("T", "0.5")
Traceback (most recent call last):
...
usadel.errors.UsadelError: T must be a real number, got '0.5' (str)
"""

import math
import numbers

import numpy as np

from .errors import UsadelError

__all__ = ["real", "integer", "real_array", "choice", "callable_or_none", "MAX_ABS", "MIN_POSITIVE"]

#: largest magnitude accepted for any energy-like, length-like or material
#: parameter: beyond it squares overflow float64 (1e154^2 = 1e308) and every
#: solver would return inf/NaN instead of a number
MAX_ABS = 1e150
#: smallest positive material or barrier parameter (D, sigma, r, tau_sf, T): below
#: it products such as D/L^2 or 1/r underflow or overflow float64
MIN_POSITIVE = 1e-150


def _describe(value):
    return f"{value!r} ({type(value).__name__})"


def real(name, value, *, positive=False, nonnegative=False, lo=None, hi=None, allow_none=False,
         allow_inf=False, max_abs=MAX_ABS):
    """``value`` as a Python float, checked.

    Accepts Python and NumPy real scalars (ints, floats of any width; a 0-d
    array of one) and NumPy complex scalars only when their imaginary part is
    exactly zero. Rejects strings, bools, complex values, NaN, inf (unless
    ``allow_inf``), and magnitudes above ``max_abs``.
    """
    if value is None:
        if allow_none:
            return None
        raise UsadelError(f"{name} is required (got None)")
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise UsadelError(f"{name} must be a real number, got {_describe(value)}")
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise UsadelError(f"{name} must be a real scalar, got an array of shape {value.shape}")
        value = value[()]
    if isinstance(value, (complex, np.complexfloating)):
        if complex(value).imag != 0:
            raise UsadelError(f"{name} must be real, got the complex value {complex(value)!r}"
                              + (" (for a gap use abs() and put the phase in `phase`)" if "delta" in name else ""))
        value = complex(value).real
    if not isinstance(value, numbers.Real):
        raise UsadelError(f"{name} must be a real number, got {_describe(value)}")
    v = _as_float(name, value, max_abs)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise UsadelError(f"{name} must be finite, got {value!r}")
    if math.isfinite(v) and abs(v) > max_abs:
        raise UsadelError(f"{name} = {v!r} is out of range (|{name}| <= {max_abs:.0e}); "
                          f"rescale the units of the problem")
    if positive and not v > 0:
        raise UsadelError(f"{name} must be positive, got {v!r}")
    if nonnegative and not v >= 0:
        raise UsadelError(f"{name} must be >= 0, got {v!r}")
    return _in_range(name, v, lo, hi, "")


def integer(name, value, *, lo=1, hi=None, allow_none=False):
    """``value`` as a Python int in [lo, hi] (integral floats such as 10.0 are accepted)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise UsadelError(f"{name} must be an integer, got {_describe(value)}")
    f = _as_float(name, value, MAX_ABS)
    if not (math.isfinite(f) and f == int(value)):
        raise UsadelError(f"{name} must be an integer, got {value!r}")
    return _in_range(name, int(value), lo, hi, "an integer ")


def _as_float(name, value, max_abs):
    """float(value), with a Python int too large for float64 reported as out of range."""
    try:
        return float(value)
    except OverflowError:
        raise UsadelError(f"{name} is out of range (|{name}| <= {max_abs:.0e}); rescale the units "
                          f"of the problem") from None


def _in_range(name, v, lo, hi, kind):
    """``v`` if lo <= v <= hi (either bound may be None), else a UsadelError saying which bound."""
    if lo is not None and hi is not None and not lo <= v <= hi:
        raise UsadelError(f"{name} must lie in [{lo:g}, {hi:g}], got {v!r}")
    if lo is not None and v < lo:
        raise UsadelError(f"{name} must be {kind}>= {lo!r}, got {v!r}")
    if hi is not None and v > hi:
        raise UsadelError(f"{name} must be {kind}<= {hi!r}, got {v!r}")
    return v


def real_array(name, value, *, ndim=None, shape=None, allow_complex=False, nonempty=True, max_abs=MAX_ABS):
    """``value`` as a float64 (or complex128) numpy array of finite numbers."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged sequences and the like
        raise UsadelError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype.kind not in "biufc":
        raise UsadelError(f"{name} must contain numbers, got dtype {arr.dtype} (e.g. {arr.ravel()[:1].tolist()})")
    if arr.dtype.kind == "b":
        raise UsadelError(f"{name} must contain numbers, not booleans")
    if arr.dtype.kind == "c":
        if allow_complex:
            arr = arr.astype(complex)
        elif np.any(arr.imag != 0):
            raise UsadelError(f"{name} must be real, got complex values")
        else:
            arr = arr.real.astype(float)
    else:
        arr = arr.astype(float)
    if ndim is not None and arr.ndim != ndim:
        raise UsadelError(f"{name} must be a {ndim}-dimensional array, got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise UsadelError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise UsadelError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise UsadelError(f"{name} contains non-finite values (NaN or inf)")
    if arr.size and np.max(np.abs(arr)) > max_abs:
        raise UsadelError(f"{name} has values out of range (|x| <= {max_abs:.0e}); rescale the units")
    return arr


def choice(name, value, options):
    """``value`` if it is one of ``options`` (compared with ==), else a UsadelError listing them."""
    try:
        ok = any(value == o and type(value) is type(o) for o in options)
    except Exception:
        ok = False
    if not ok:
        raise UsadelError(f"{name} must be one of {list(options)}, got {value!r}")
    return value


def callable_or_none(name, value):
    if value is not None and not callable(value):
        raise UsadelError(f"{name} must be callable (or None), got {_describe(value)}")
    return value
