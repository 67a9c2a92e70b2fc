"""Inputs that used to give wrong numbers or NaN without an error.

Each case here returned a plausible-looking wrong result (or NaN) before the
checks in usadel.validate, Device, spectral, kinetic and usadel.quadrature.
The physics reference throughout is Ohm's law for a normal wire: with
mu = +-V/2 on two clean normal reservoirs, sigma = 1, L = 1, I = V exactly.
"""

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import usadel
from usadel import Barrier, Device, Material, Reservoir, UsadelError, meshes
from usadel.fem import threadpool_limits
from usadel.bulk import fermi

V = 0.6


def ohm_device(T=0.1, mu=V / 2, n=20):
    return Device(meshes.interval(1.0, n), {"wire": Material()},
                  {"left": Reservoir(T=T, mu=mu), "right": Reservoir(T=T, mu=-mu)})


def current(E, dev=None):
    return usadel.kinetic(usadel.spectral(dev or ohm_device(), E)).current("left")


GOOD = usadel.observables.energy_grid(T=0.1, e_max=5.0, mu=[V / 2], n=400)


def test_good_grid_gives_ohm():
    # the checks accept a grid that resolves the window; the quadrature error of
    # this grid is below the default check tolerance 1e-3 (measured 1e-4)
    assert current(GOOD) == pytest.approx(V, rel=1e-3)


@pytest.mark.parametrize("grid, match", [
    (np.linspace(0, 15, 12), "Fermi edge"),           # 0.609 before: steps over the Fermi edges
    (np.linspace(5, 15, 50), "Fermi edge|misses"),    # 8e-5 before: starts above the window
    (np.array([0.0]), "misses|3 distinct"),           # 0.0 before: one energy
    (np.array([0.0, 0.5]), "misses|3 distinct"),
])
def test_grids_that_miss_the_integral_raise(grid, match):
    with pytest.raises(UsadelError, match=match):
        current(grid)


def test_unsorted_and_negative_grids_are_integrated_correctly():
    # permuted: 2.009 before; negative only: 0.304; -5..15: 0.527 (T = 1 there)
    rng = np.random.default_rng(1)
    ref = current(GOOD)
    assert current(rng.permutation(GOOD)) == pytest.approx(ref, rel=1e-12)
    assert current(-GOOD) == pytest.approx(ref, rel=1e-12)
    assert current(np.r_[-GOOD[::-1], GOOD[1:]]) == pytest.approx(ref, rel=1e-12)


def test_one_sided_truncation_of_a_two_signed_grid_raises():
    dev = ohm_device(T=1.0)
    with pytest.raises(UsadelError, match="misses"):
        current(np.linspace(-5, 15, 2001), dev)
    assert current(np.linspace(-25, 25, 2001), dev) == pytest.approx(V, rel=1e-4)


def test_bias_beyond_the_grid_raises():
    dev = ohm_device(mu=30.0)  # V = 60: a grid to 15 gave 30
    with pytest.raises(UsadelError, match=r"must cover \[0, 3"):
        current(np.linspace(0, 15, 3001), dev)
    assert current(np.linspace(0, 40, 8001), dev) == pytest.approx(60.0, rel=1e-6)


def test_coarse_grid_inside_the_window_raises():
    # points near every Fermi edge but nothing between: the resolution estimate catches it
    dev = ohm_device(T=0.1, mu=2.0)
    E = np.r_[np.linspace(0, 0.3, 4), np.linspace(1.7, 2.3, 7), 8.0, 12.0]
    with pytest.raises(UsadelError, match="coarse|misses"):
        current(E, dev)


def test_supercurrent_grid_that_stops_below_the_tail_raises():
    # README example before: reservoirs with Delta = 100, energies up to 10 gave 9.03
    # where the Matsubara supercurrent is 6.61
    dev = Device(meshes.interval(1.0, 100), {"wire": Material()},
                 {"left": Reservoir(delta=100.0, phase=0.0, T=1.0), "right": Reservoir(delta=100.0, phase=1.0, T=1.0)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 10, 200)))
    with pytest.raises(UsadelError, match="extend the grid"):
        k.current("left")


def test_gap_edge_with_zero_eta_is_rejected_before_work():
    # all h and the current were NaN before
    dev = Device(meshes.interval(1, 20), {"wire": Material()},
                 {"left": Reservoir(delta=10, T=1, mu=0.5), "right": Reservoir(delta=10, T=1, mu=-0.5)})
    with pytest.raises(UsadelError, match="gap edge"):
        usadel.spectral(dev, [0.5, 5, 10, 12], eta=0.0)


def test_nonfinite_distribution_is_rejected():
    bad = Reservoir(distribution=lambda E: (np.full_like(E, np.nan), np.zeros_like(E)))
    one = Reservoir(distribution=lambda E: fermi(E, 0.1))  # one array, not a pair
    sp = usadel.spectral(ohm_device(), GOOD)
    for res, match in ((bad, "finite occupation"), (one, "pair|shape")):
        with pytest.raises(UsadelError, match=match):
            usadel.kinetic(sp, contacts={"left": res})


@pytest.mark.parametrize("make, match", [
    (lambda: Material(D=np.complex128(1 + 1j)), "complex"),      # DOS 0.553 -> -0.352 before
    (lambda: Material(D="1.0"), "real number"),                  # failed deep inside before
    (lambda: Material(D=1e-300), "out of range"),                # residuals of inf before
    (lambda: Material(sigma=1e300), "out of range"),
    (lambda: Barrier(r=1e-300), "out of range"),
    (lambda: Reservoir(delta=1e300), "out of range"),
    (lambda: Reservoir(delta=np.complex128(1 + 0.5j)), "abs"),   # a GapResult value moved a current 5%
    (lambda: Reservoir(T="0.1"), "real number"),
    (lambda: Reservoir(T=True), "real number"),
    (lambda: Barrier(polarization=np.nan), "finite"),
])
def test_parameters_are_coerced_or_rejected(make, match):
    with pytest.raises(UsadelError, match=match):
        make()


def test_parameters_become_python_floats():
    m = Material(D=np.float32(0.3), tc=np.int64(1), tau_sf=np.float64(5.0))
    r = Reservoir(delta=np.complex128(2.0), phase=np.float32(0.1), T=np.float32(0.2))
    for v in (m.D, m.tc, m.tau_sf, r.delta, r.phase, r.T):
        assert type(v) is float
    assert r.phase == float(np.float32(0.1))  # the float32 value itself, computed in float64 from here on


@pytest.mark.parametrize("call, match", [
    (lambda dev: usadel.spectral(dev, ["1.0"]), "numbers"),
    (lambda dev: usadel.spectral(dev, [1.0], eta=1j), "eta"),
    (lambda dev: usadel.spectral(dev, [1.0], chunk=0), "chunk"),
    (lambda dev: usadel.spectral(dev, [1.0, 1e300]), "out of range"),
    (lambda dev: usadel.spectral(dev, [1.0], tol=np.nan), "tol"),
    (lambda dev: usadel.spectral(dev, [1.0], maxiter=0), "maxiter"),
    (lambda dev: usadel.spectral(dev, [1.0], delta=np.nan), "delta"),
    (lambda dev: usadel.spectral(dev, [1.0], delta={"wire": np.nan}), "delta"),
    (lambda dev: usadel.spectral(dev, [1.0 - 1j]), "upper half plane"),
    (lambda dev: usadel.kinetic(usadel.spectral(dev, GOOD), floor=np.nan), "floor"),
    (lambda dev: usadel.kinetic(usadel.spectral(dev, GOOD)).current(["left"]), "tag"),
    (lambda dev: usadel.spectral(dev, [0.5]).supercurrent_density(np.nan), "T"),
])
def test_bad_arguments_raise_usadel_errors(call, match):
    dev = Device(meshes.interval(1.0, 10), {"wire": Material(tc=1.0)},
                 {"left": Reservoir(T=0.1, mu=0.1), "right": Reservoir(T=0.1)})
    with pytest.raises(UsadelError, match=match):
        call(dev)


def test_ambiguous_devices_are_rejected():
    m = meshes.wire([("S", 1.0, 5), ("N", 1.0, 5)])
    mats = {"S": Material(tc=1.0), "N": Material()}
    with pytest.raises(UsadelError, match="given twice"):
        Device(m, mats, interfaces={("S", "N"): Barrier(r=1.0), ("N", "S"): Barrier(r=2.0)})
    Device(m, mats, interfaces={("S", "N"): Barrier(r=1.0), ("N", "S"): Barrier(r=1.0)})  # the same barrier: fine
    with pytest.raises(UsadelError, match="itself"):
        Device(m, mats, interfaces={("S", "S"): Barrier()})
    # kinetic without any reservoir returned h = 0
    sp = usadel.spectral(Device(m, mats), GOOD)
    with pytest.raises(UsadelError, match="no contacts"):
        usadel.kinetic(sp)
    # a part cut off by... nothing: two tunnel-coupled parts are one device, fine; a 1D
    # mesh whose only contact sits on one side of a region that is disconnected is not
    p = np.array([[0.0, 1.0, 2.0, 3.0]])
    import skfem

    broken = skfem.MeshLine1(p, np.array([[0, 2], [1, 3]])).with_subdomains({"a": np.array([0]), "b": np.array([1])})
    broken = broken.with_boundaries({"left": np.array([0])})
    dev = Device(broken, {"a": Material(), "b": Material()}, {"left": Reservoir(T=0.1)})
    assert dev.components_without_contact() == [["b"]]
    with pytest.raises(UsadelError, match="touch no contact"):
        usadel.kinetic(usadel.spectral(dev, GOOD))


def test_clean_contacts_sharing_a_node_are_rejected():
    m = meshes.strip(1.0, 1.0, 4, 4)
    with pytest.raises(UsadelError, match="share node"):
        Device(m, {"wire": Material()}, {"left": Reservoir(), "bottom": Reservoir(delta=1.0)})


def test_one_reservoir_object_on_two_tunnel_contacts():
    # kinetic looked tunnel fluxes up by id(Reservoir): current("left") raised and
    # current("right") returned the left contact's flux
    b = Barrier(r=1.0)
    r = Reservoir(T=0.1, mu=0.3, barrier=b)
    m = meshes.interval(1.0, 20)
    shared = Device(m, {"wire": Material()}, {"left": r, "right": r, })
    separate = Device(m, {"wire": Material()}, {"left": Reservoir(T=0.1, mu=0.3, barrier=b),
                                                "right": Reservoir(T=0.1, mu=0.3, barrier=b)})
    # same potential on both sides: no current, but each contact has its own flux
    for dev in (shared, separate):
        k = usadel.kinetic(usadel.spectral(dev, GOOD))
        assert abs(k.current("left")) < 1e-12 and abs(k.current("right")) < 1e-12
    # with a third, clean contact in between (2D strip), the two tunnel contacts feed it equally
    m2 = meshes.strip(2.0, 0.5, 16, 4)
    r2 = Reservoir(T=0.1, mu=0.3, barrier=Barrier(r=0.5))
    out = []
    for contacts in ({"left": r2, "right": r2, "bottom": Reservoir(T=0.1)},
                     {"left": Reservoir(T=0.1, mu=0.3, barrier=Barrier(r=0.5)),
                      "right": Reservoir(T=0.1, mu=0.3, barrier=Barrier(r=0.5)), "bottom": Reservoir(T=0.1)}):
        k = usadel.kinetic(usadel.spectral(Device(m2, {"wire": Material()}, contacts), GOOD))
        out.append((k.current("left"), k.current("right")))
    assert out[0][0] == pytest.approx(out[1][0], rel=1e-12)
    assert out[0][1] == pytest.approx(out[1][1], rel=1e-12)
    assert out[0][0] == pytest.approx(out[0][1], rel=1e-9) and out[0][0] > 0


def test_devices_and_results_pickle_after_a_2d_solve():
    # "cannot pickle 'SuperLU' object" once a 2D device had been solved
    m = meshes.strip(1.0, 0.5, 30, 15)
    dev = Device(m, {"wire": Material()}, {"left": Reservoir(delta=5.0, T=0.1), "right": Reservoir(T=0.1)})
    sp = usadel.spectral(dev, [0.5, 1.0, 2.0])
    blob = pickle.dumps(sp)
    sp2 = pickle.loads(blob)
    np.testing.assert_array_equal(sp2.dos(), sp.dos())
    again = usadel.spectral(sp2.device, [0.5, 1.0, 2.0])
    np.testing.assert_allclose(again.dos(), sp.dos(), atol=1e-10)


def test_blas_limit_is_thread_safe():
    # two threads solving on one device left the whole process on one BLAS thread
    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with threadpool_limits(limits=1, user_api="blas"):
        with threadpool_limits(limits=1, user_api="blas"):  # nested
            assert all(t == 1 for t in blas_threads())
        assert all(t == 1 for t in blas_threads())
    assert blas_threads() == before
    start = threading.Barrier(4)

    def work(seed):
        rng = np.random.default_rng(seed)
        start.wait(timeout=10)
        for _ in range(20):  # overlapping entries and exits in every order
            with threadpool_limits(limits=1, user_api="blas"):
                threading.Event().wait(rng.uniform(0, 2e-3))
        return True

    with ThreadPoolExecutor(4) as ex:
        assert all(ex.map(work, range(4)))
    assert blas_threads() == before
    dev = ohm_device()
    with ThreadPoolExecutor(2) as ex:
        res = list(ex.map(lambda E: usadel.spectral(dev, E).dos(), [GOOD, GOOD]))
    np.testing.assert_array_equal(res[0], res[1])
    assert blas_threads() == before


def test_process_pool_on_a_device_that_was_used_before():
    # failed with "cannot pickle 'SuperLU' object" once the device had cached a factorisation
    from concurrent.futures import ProcessPoolExecutor

    m = meshes.strip(1.0, 0.5, 30, 15)
    dev = Device(m, {"wire": Material()}, {"left": Reservoir(delta=5.0, T=0.1), "right": Reservoir(T=0.1)})
    E = np.linspace(0.1, 8.0, 8)
    serial = usadel.spectral(dev, E)
    with ProcessPoolExecutor(2) as ex:
        par = usadel.spectral(dev, E, executor=ex, chunk=4)
    np.testing.assert_allclose(par.dos(), serial.dos(), atol=1e-10)


def test_reservoir_branch_at_negative_energy_with_zero_eta():
    # at E < 0 below the gap with eta = 0 the sign of a zero imaginary part of eps^2 put the
    # reservoir on the advanced branch: the DOS at -E came out 7.6 where it is 0.12 (= N(+E))
    dev = Device(meshes.interval(1.0, 30), {"wire": Material()},
                 {"left": Reservoir(delta=3.0), "right": Reservoir(delta=3.0)})
    sp = usadel.spectral(dev, [2.0, -2.0], eta=0.0, symmetric=False)
    np.testing.assert_allclose(sp.dos()[1], sp.dos()[0], atol=1e-9)
    ref = usadel.spectral(dev, [2.0], eta=1e-12)
    np.testing.assert_allclose(sp.dos()[0], ref.dos()[0], atol=1e-9)


def test_review_findings_raise_usadel_errors(tmp_path):
    # found by a review: a huge Python int overflowed float(), rtol=NaN switched every grid
    # check off, saving onto a directory and a truncated file escaped as raw Python errors
    import h5py

    for make in (lambda: Material(D=10**400), lambda: Reservoir(T=10**400)):
        with pytest.raises(UsadelError, match="out of range"):
            make()
    k = usadel.kinetic(usadel.spectral(ohm_device(), GOOD))
    for bad in (np.nan, "1e-3", -1.0):
        with pytest.raises(UsadelError, match="rtol"):
            k.current("left", rtol=bad)
    with pytest.raises(UsadelError, match="is a directory"):
        k.save(tmp_path)
    with h5py.File(tmp_path / "broken.h5", "w") as f:
        f.attrs["format"] = "usadel-result"
        f.attrs["format_version"] = 1
    with pytest.raises(UsadelError, match="corrupt or incomplete"):
        usadel.load(tmp_path / "broken.h5")
    with pytest.raises(UsadelError, match="not finite"):
        usadel.quadrature.even_integral(np.linspace(0, 1, 11), np.r_[np.ones(10), np.nan])


def test_more_review_findings():
    # an element count no solver can hold failed only on allocating 745 GiB; export energies
    # that collided in their field names lost one energy silently
    with pytest.raises(UsadelError, match="more elements"):
        meshes.interval(1.0, 100_000_000_000)
    sp = usadel.spectral(ohm_device(), GOOD)
    names = [n for n in usadel.export.vtu_fields(sp, energies=[1.0, 1.0000001]) if n.startswith("dos")]
    assert len(names) == 2
    with pytest.raises(UsadelError, match="energies"):
        usadel.export.vtu_fields(sp, energies="abc")
