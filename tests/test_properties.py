"""Property-based checks (hypothesis) over the parameter space of the public API.

Every input is either rejected with a UsadelError before any work, or gives a
finite result that passes a physical check:

- parameters: accepted values are stored as Python floats within their range;
- a normal wire (any conductivity, diffusion constant, length from nanometres
  to kilometres, position, element count, tunnel contacts) between two normal
  reservoirs at potentials +-V/2 carries I = V / (L/sigma + r_left + r_right)
  (Ohm's law in series) on any energy grid the integrals accept, and the
  current is conserved (I_left = -I_right);
- an SNS junction at any gap, phase and Dynes broadening has a finite DOS that
  is even in E (th*(-E) = -th(E), solved independently at -E and E).

No example may run past a time limit (SIGALRM), so a hang is a failure.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import usadel
from conftest import deadline
from usadel import Barrier, Device, Material, Reservoir, UsadelError, meshes

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
LIMIT = 60  # seconds per example: the largest accepted case here takes ~2 s


def time_limit(seconds=LIMIT):
    return deadline(seconds)


# anything a user might pass as a number
weird = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(width=32).map(np.float32),
    st.integers(min_value=-10**6, max_value=10**6),
    st.complex_numbers(max_magnitude=1e3).map(np.complex128),
    st.sampled_from(["1.0", None, True, b"2", [1.0], np.array([1.0, 2.0])]),
)


@settings(max_examples=300, **SETTINGS)
@given(D=weird, tc=weird, tau_sf=weird, sigma=weird)
def test_material_parameters_are_checked(D, tc, tau_sf, sigma):
    try:
        m = Material(D=D, tc=tc, tau_sf=tau_sf, sigma=sigma)
    except UsadelError:
        return
    assert type(m.D) is float and 1e-150 <= m.D <= 1e150
    assert type(m.sigma) is float and 1e-150 <= m.sigma <= 1e150
    assert type(m.tc) is float and 0 <= m.tc <= 1e150
    assert m.tau_sf is None or (type(m.tau_sf) is float and m.tau_sf > 0)
    assert np.isfinite(m.spin_flip_rate)


@settings(max_examples=300, **SETTINGS)
@given(delta=weird, phase=weird, T=weird, mu=weird, r=weird, P=weird)
def test_reservoir_and_barrier_parameters_are_checked(delta, phase, T, mu, r, P):
    try:
        b = Barrier(r=r, polarization=P)
        res = Reservoir(delta=delta, phase=phase, T=T, mu=mu, barrier=b)
    except UsadelError:
        return
    assert type(b.r) is float and b.r > 0 and -1 <= b.polarization <= 1
    for v in (res.delta, res.phase, res.mu):
        assert type(v) is float and np.isfinite(v)
    assert res.delta >= 0 and (res.T is None or res.T > 0)


grids = st.one_of(
    st.tuples(st.floats(-50, 50), st.floats(-50, 50), st.integers(1, 3000)).map(lambda a: ("linspace",) + a),
    st.sampled_from(["good", "permuted", "negative", "symmetric"]),
)


def make_grid(kind, T, V, rng):
    good = usadel.observables.energy_grid(T=T, e_max=abs(V) / 2 + 40 * T, mu=[V / 2], n=400)
    if kind == "good":
        return good
    if kind == "permuted":
        return rng.permutation(good)
    if kind == "negative":
        return -good
    if kind == "symmetric":
        return np.r_[-good[::-1], good[1:]]
    _, a, b, n = kind
    return np.linspace(a, b, n)


@settings(max_examples=150, **SETTINGS)
@given(
    length=st.floats(1e-9, 1e3), x0=st.sampled_from([0.0, -3.0, 1e5, 1e8]), n=st.integers(1, 40),
    D=st.floats(1e-3, 1e3), sigma=st.floats(1e-3, 1e3), T=st.floats(1e-2, 2.0),
    V=st.floats(1e-2, 5.0) | st.floats(-5.0, -1e-2),
    r_left=st.one_of(st.none(), st.floats(1e-3, 1e2)), r_right=st.one_of(st.none(), st.floats(1e-3, 1e2)),
    grid=grids, seed=st.integers(0, 2**16),
)
def test_normal_wire_obeys_ohm_or_is_rejected(length, x0, n, D, sigma, T, V, r_left, r_right, grid, seed):
    with time_limit():
        try:
            m = meshes.wire([("wire", length, n)], x0=x0)
            bl = None if r_left is None else Barrier(r=r_left)
            br = None if r_right is None else Barrier(r=r_right)
            dev = Device(m, {"wire": Material(D=D, sigma=sigma)},
                         {"left": Reservoir(T=T, mu=V / 2, barrier=bl), "right": Reservoir(T=T, mu=-V / 2, barrier=br)})
            E = make_grid(grid, T, V, np.random.default_rng(seed))
            k = usadel.kinetic(usadel.spectral(dev, E))
            I_left, I_right = k.current("left"), k.current("right")
        except UsadelError as exc:
            event(f"rejected: {str(exc).split(':')[0]}")
            return
    event("accepted")
    R = length / sigma + (r_left or 0.0) + (r_right or 0.0)
    assert np.isfinite(I_left) and np.isfinite(I_right)
    # the integral vouches for 1e-3 of Int |integrand| (= |I| here); its error estimate is rough (600
    # random examples stayed within 1.5e-3)
    assert I_left == pytest.approx(V / R, rel=2e-3)
    # conservation is exact up to round-off, which grows with the element conductance
    # (sigma n / L up to 1e14 here) next to the barriers'
    assert I_right == pytest.approx(-I_left, rel=1e-9, abs=1e-14 * (sigma * n / length) * abs(V))


@settings(max_examples=80, **SETTINGS)
@given(delta=st.floats(0.0, 200.0), phase=st.floats(-7.0, 7.0), eta=st.sampled_from([0.0, 1e-6, 1e-3, 0.1]),
       energies=st.lists(st.floats(0.0, 300.0), min_size=1, max_size=6), on_edge=st.booleans())
def test_sns_dos_is_finite_and_even(delta, phase, eta, energies, on_edge):
    E = np.array(energies + ([delta] if on_edge else []))
    with time_limit():
        try:
            dev = Device(meshes.interval(1.0, 30), {"wire": Material()},
                         {"left": Reservoir(delta=delta, phase=-phase / 2), "right": Reservoir(delta=delta, phase=phase / 2)})
            sp = usadel.spectral(dev, np.r_[E, -E], eta=eta, symmetric=False)
        except UsadelError as exc:
            event(f"rejected: {str(exc)[:40]}")
            return
    event("accepted")
    N = sp.dos()
    assert np.all(np.isfinite(N))
    # solved independently at -E and E: mirror images to Newton's tolerance, also at eta = 0
    # (where a signed zero once put the reservoirs on the advanced branch at E < 0)
    np.testing.assert_allclose(N[:E.size], N[E.size:], atol=1e-7, rtol=1e-7)
