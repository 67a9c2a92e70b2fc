"""Progress bars for loops that can run longer than a few seconds (tqdm).

Off by default in library calls; switch them on for a session with
``usadel.progress.enable()`` (the command line does), or per call with
``progress=True`` where a function offers it. Messages also go to the
standard ``logging`` module (logger ``usadel``) at INFO level.

Examples
--------
>>> from usadel import progress
>>> with progress.bar(total=3, desc="demo", enabled=False) as b:
...     for _ in range(3):
...         b.update()
"""

import contextlib
import logging

__all__ = ["enable", "disable", "enabled", "bar", "counted"]

log = logging.getLogger("usadel")
_STATE = {"on": False}


def enable():
    """Show progress bars in every loop that offers one (until :func:`disable`)."""
    _STATE["on"] = True


def disable():
    _STATE["on"] = False


def enabled(flag=None):
    """The effective setting: an explicit per-call ``flag`` wins over the session setting."""
    return _STATE["on"] if flag is None else bool(flag)


class _Silent:
    def update(self, n=1):
        pass

    def set_postfix_str(self, s):
        pass


@contextlib.contextmanager
def bar(total=None, desc="", enabled=None, unit="it"):
    """A tqdm bar if progress is on (see :func:`enabled`), else an object with the same two methods."""
    if not globals()["enabled"](enabled):
        yield _Silent()
        return
    from tqdm.auto import tqdm

    log.info("%s: %s %s", desc, total, unit)
    with tqdm(total=total, desc=desc, unit=unit, leave=False) as b:
        yield b


def counted(fun, desc):
    """``fun`` with a bar that counts its calls (outer iterations of a loop), if progress is on."""
    if not enabled():
        return fun
    from tqdm.auto import tqdm

    b = tqdm(desc=desc, unit="map", leave=False)

    def wrapped(*args, **kw):
        out = fun(*args, **kw)
        b.update()
        return out

    wrapped.close = b.close
    return wrapped
