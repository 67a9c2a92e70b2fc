import contextlib
import signal

import numpy as np
import pytest

import usadel


def sns_device(delta=100.0, phase=0.0, n=200, length=1.0):
    """Long SNS junction: normal wire (D = 1, sigma = 1) between clean BCS reservoirs."""
    m = usadel.meshes.interval(length, n)
    return usadel.Device(
        m,
        materials={"wire": usadel.Material(D=1.0)},
        contacts={"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                  "right": usadel.Reservoir(delta=delta, phase=phase / 2)},
    )


@pytest.fixture
def sns():
    return sns_device


@contextlib.contextmanager
def deadline(seconds):
    """Fail (TimeoutError) instead of hanging: SIGALRM interrupts a Python-level loop."""
    def boom(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
