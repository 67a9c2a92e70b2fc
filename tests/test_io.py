"""usadel.io: results saved to one HDF5 file and loaded back work without a new solve.

Round trips must be exact (the same float64/complex128 arrays, hence bit-equal
observables); writes must be atomic; VTU exports must read back with meshio.
"""

import dataclasses
import os

import h5py
import numpy as np
import pytest

import usadel
from usadel import Barrier, Device, Material, Reservoir, io, meshes
from usadel.errors import UsadelError
from usadel.seed import spin_battery

KINDS = ("charge", "energy", "spin", "spin_energy")


def _sn_device(distribution=None):
    """S/N wire: polarised tunnel contact (left), polarised S/N barrier (split nodes), spin battery (right)."""
    m = meshes.wire([("S", 1.0, 10), ("N", 1.0, 10)])
    dist = spin_battery(0.5, 0.3) if distribution is None else distribution
    return Device(m, {"S": Material(tc=1.0, tau_sf=50.0), "N": Material(tau_sf=5.0)},
                  {"left": Reservoir(delta=1.5, T=0.3, barrier=Barrier(r=0.5, polarization=0.3)),
                   "right": Reservoir(T=0.3, distribution=dist)},
                  interfaces={("S", "N"): Barrier(r=0.5, polarization=0.2)})


@pytest.fixture(scope="module")
def sn_kinetic():
    E = usadel.observables.energy_grid(1.5, T=0.3, e_max=6.0, n=200, mu=[0.25])
    return usadel.kinetic(usadel.spectral(_sn_device(), E, delta=1.5))


@pytest.fixture(scope="module")
def strip_kinetic():
    """2D strip (usadel.meshes.strip): clean BCS and normal contacts, a polarised tunnel contact along a side."""
    m = meshes.strip(2.0, 0.5, 12, 3)
    dev = Device(m, {"wire": Material(tau_sf=2.0)},
                 {"left": Reservoir(delta=2.0, T=0.4), "right": Reservoir(T=0.4, mu=0.3),
                  "bottom": Reservoir(T=0.4, mu_s=0.2, barrier=Barrier(r=0.5, polarization=0.5))})
    E = usadel.observables.energy_grid(2.0, T=0.4, e_max=8.0, n=120, mu=[0.1, 0.5])
    return usadel.kinetic(usadel.spectral(dev, E, eta=1e-3))


def _same_device(a, b):
    assert type(a.mesh) is type(b.mesh)
    np.testing.assert_array_equal(a.mesh.p, b.mesh.p)
    np.testing.assert_array_equal(a.mesh.t, b.mesh.t)
    assert list(a.mesh.subdomains) == list(b.mesh.subdomains)
    for k in a.mesh.subdomains:
        np.testing.assert_array_equal(a.mesh.subdomains[k], b.mesh.subdomains[k])
    assert list(a.mesh.boundaries) == list(b.mesh.boundaries)
    for k in a.mesh.boundaries:
        np.testing.assert_array_equal(a.mesh.boundaries[k], b.mesh.boundaries[k])
    assert list(a.materials.items()) == list(b.materials.items())
    assert list(a.contacts.items()) == list(b.contacts.items())
    assert list(a.interfaces.items()) == list(b.interfaces.items())
    assert a.topology.n_nodes == b.topology.n_nodes
    np.testing.assert_array_equal(a.topology.p, b.topology.p)


def _same_kinetic(k, k2, tags, points):
    assert type(k2) is type(k) and k2.floor == k.floor
    assert list(k2.contacts.items()) == list(k.contacts.items())
    np.testing.assert_array_equal(k2.h, k.h)
    np.testing.assert_array_equal(k2.spectral.dos(), k.spectral.dos())
    for tag in tags:
        for kind in KINDS:
            assert k2.current(tag, kind, rtol=None) == k.current(tag, kind, rtol=None), (tag, kind)
    np.testing.assert_array_equal(k2.spin_accumulation(rtol=None), k.spin_accumulation(rtol=None))
    np.testing.assert_array_equal(k2.charge_imbalance(rtol=None), k.charge_imbalance(rtol=None))
    for p in points:
        np.testing.assert_array_equal(k2.distribution(p), k.distribution(p))
        np.testing.assert_array_equal(k2.spectral.at(p), k.spectral.at(p))


def test_attribute_table_matches_the_result_classes():
    # the one table to update when a result class changes (usadel.io.RESULT_ATTRIBUTES)
    for name, attrs in io.RESULT_ATTRIBUTES.items():
        cls = usadel.io_format.result_class(name)
        assert cls is not None, name
        assert [f.name for f in dataclasses.fields(cls)] == [a for a in attrs if not a.startswith("_")], name


def test_spectral_round_trip_phase_biased_sns(tmp_path, sns):
    sp = usadel.spectral(sns(delta=20.0, phase=1.0, n=40), np.linspace(0.0, 40.0, 30), eta=1e-4)
    path = tmp_path / "sp.h5"
    io.save(sp, path)
    sp2 = io.load(path)
    assert type(sp2) is usadel.SpectralResult and sp2.eta == sp.eta
    _same_device(sp.device, sp2.device)
    for get in (lambda s: s.dos(), lambda s: s.G, lambda s: s.F, lambda s: s.Ft, lambda s: s.matrix_current(),
                lambda s: s.supercurrent_density(T=0.5), lambda s: s.at([[0.3], [0.71]]), lambda s: s.residuals,
                lambda s: s.delta):
        np.testing.assert_array_equal(get(sp2), get(sp))
    assert sp2.gamma.dtype == np.complex128


def test_kinetic_round_trip_tunnel_contact_barrier_and_spin_battery(tmp_path, sn_kinetic):
    k = sn_kinetic
    path = tmp_path / "k.h5"
    io.save(k, path)
    k2 = io.load(path)
    _same_device(k.spectral.device, k2.spectral.device)
    assert k2.spectral.device.topology.n_nodes == 22  # the S/N node is split
    assert k2.contacts["right"].distribution == spin_battery(0.5, 0.3)
    _same_kinetic(k, k2, ["left", "right", ("S", "N"), ("N", "S")], [[0.5], [1.5]])
    for pol in (-0.5, 0.5):
        assert k2.probe_potential([1.5], pol, 0.3) == k.probe_potential([1.5], pol, 0.3)
    with h5py.File(path) as f:  # self-describing: versions and format at the root
        assert f.attrs["format"] == "usadel-result" and f.attrs["format_version"] == io.FORMAT_VERSION
        assert f.attrs["usadel_version"] == usadel.__version__ and f.attrs["class"] == "KineticResult"
        assert f["result/spectral/gamma"].dtype == np.complex128
        assert f["result/spectral/gamma"][:, 3].shape == (k.energies.size,)  # partial read


def test_kinetic_round_trip_2d_strip(tmp_path, strip_kinetic):
    k = strip_kinetic
    io.save(k, tmp_path / "k2d.h5", compression="gzip")
    k2 = io.load(tmp_path / "k2d.h5")
    assert type(k2.spectral.device.mesh).__name__ == "MeshTri1"
    _same_device(k.spectral.device, k2.spectral.device)
    _same_kinetic(k, k2, ["left", "right", "bottom", "top"], [[1.0, 0.25], [0.3, 0.1]])
    np.testing.assert_array_equal(k2.spectral.matrix_current(), k.spectral.matrix_current())


def test_kinetic_with_replaced_contacts_keeps_them(tmp_path, sn_kinetic):
    sp = sn_kinetic.spectral
    k = usadel.kinetic(sp, contacts={"right": Reservoir(distribution=spin_battery(1.0, 0.3))})
    io.save(k, tmp_path / "k.h5")
    k2 = io.load(tmp_path / "k.h5")
    assert k2.contacts["right"].distribution.eV == 1.0
    assert k2.spectral.device.contacts["right"].distribution.eV == 0.5
    _same_kinetic(k, k2, ["left", "right"], [[1.5]])


def test_gap_round_trip(tmp_path):
    g = usadel.gap(_sn_device(), T=0.3)
    io.save(g, tmp_path / "g.h5")
    g2 = io.load(tmp_path / "g.h5")
    assert type(g2) is type(g)
    np.testing.assert_array_equal(g2.delta, g.delta)
    np.testing.assert_array_equal(g2.at([[0.2], [0.9]]), g.at([[0.2], [0.9]]))
    assert (g2.T, g2.iterations, g2.history, g2.n_matsubara, g2.normal_growth) == \
        (g.T, g.iterations, g.history, g.n_matsubara, g.normal_growth)
    assert g2.spectral.device is g2.device  # shared on load as in the solver's result
    np.testing.assert_array_equal(g2.spectral.energies, g.spectral.energies)  # complex Matsubara energies
    np.testing.assert_array_equal(g2.spectral.F, g.spectral.F)


def test_solve_round_trip(tmp_path):
    from usadel.selfconsistency import comoving_grid

    m = meshes.wire([("N1", 0.3, 4), ("S", 2.0, 20), ("N2", 0.3, 4)])
    dev = Device(m, {"N1": Material(), "S": Material(tc=1.0), "N2": Material()},
                 {"left": Reservoir(T=0.2, mu=0.3), "right": Reservoir(T=0.2, mu=-0.3)})
    s = usadel.solve(dev, 0.2, energies=1.76 * comoving_grid(n=300))
    io.save(s, tmp_path / "s.h5")
    s2 = io.load(tmp_path / "s.h5")
    assert type(s2) is type(s)
    np.testing.assert_array_equal(s2.delta, s.delta)
    np.testing.assert_array_equal(s2.energies, s.energies)
    np.testing.assert_array_equal(s2.spectral.dos(), s.spectral.dos())
    assert (s2.iterations, s2.history, s2.normal_growth) == (s.iterations, s.history, s.normal_growth)
    assert (s2.kinetic.spectral is s2.spectral) == (s.kinetic.spectral is s.spectral)
    assert s2.spectral.device is s2.device
    assert s2.kinetic.current("left") == s.kinetic.current("left")
    np.testing.assert_array_equal(s2.kinetic.spin_accumulation(), s.kinetic.spin_accumulation())
    with h5py.File(tmp_path / "s.h5") as f:  # the device and the shared SpectralResult are stored once
        assert f["result/device"].attrs["type"] == "ref"
        if s.kinetic.spectral is s.spectral:
            assert f["result/kinetic/spectral"].attrs["type"] == "ref"
    # a saved solve restarts a new one: from its own gap it converges at once, and it starts a
    # neighbouring bias in fewer outer iterations than the default start
    again = usadel.solve(s2.device, 0.2, energies=1.76 * comoving_grid(n=300), delta0=s2.delta)
    assert again.iterations <= 2 and np.max(np.abs(again.delta - s.delta)) < 1e-6


def test_distribution_that_is_not_data_needs_allow_pickle(tmp_path):
    E = np.linspace(0.0, 6.0, 60)
    sp = usadel.spectral(_sn_device(distribution=lambda E: (0 * E, 0 * E)), E, delta=1.5)
    with pytest.raises(UsadelError, match="contact 'right'.*allow_pickle=True"):
        io.save(sp, tmp_path / "sp.h5")
    assert os.listdir(tmp_path) == []
    # a module-level function pickles (by name) and needs allow_pickle both ways
    sp = usadel.spectral(_sn_device(distribution=_module_level_distribution), E, delta=1.5)
    io.save(sp, tmp_path / "sp.h5", allow_pickle=True)
    with pytest.raises(UsadelError, match="allow_pickle=True"):
        io.load(tmp_path / "sp.h5")
    sp2 = io.load(tmp_path / "sp.h5", allow_pickle=True)
    assert sp2.device.contacts["right"].distribution is _module_level_distribution
    np.testing.assert_array_equal(sp2.dos(), sp.dos())


def _module_level_distribution(E):
    return usadel.keldysh.fermi(E, 0.3), usadel.keldysh.fermi(E, 0.3)


def test_save_is_atomic(tmp_path, monkeypatch, sn_kinetic):
    path = tmp_path / "k.h5"
    old_sp = sn_kinetic.spectral
    io.save(old_sp, path)
    before = path.read_bytes()
    calls = {"n": 0}
    real = io.Writer._array

    def failing(self, *args):  # fail midway through writing the arrays
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("disk full")
        return real(self, *args)

    monkeypatch.setattr(io.Writer, "_array", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        io.save(sn_kinetic, path)
    assert calls["n"] == 6
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["k.h5"]  # old file intact, no temporary
    np.testing.assert_array_equal(io.load(path).dos(), old_sp.dos())
    monkeypatch.setattr(io.Writer, "_array", lambda self, *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        io.save(sn_kinetic, tmp_path / "new.h5")
    assert os.listdir(tmp_path) == ["k.h5"]
    monkeypatch.undo()
    io.save(sn_kinetic, path)  # and a complete write replaces it
    assert type(io.load(path)) is usadel.KineticResult


def test_load_refuses_foreign_newer_and_mismatched_files(tmp_path, sn_kinetic):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1.0
    with pytest.raises(UsadelError, match="not a usadel result"):
        io.load(tmp_path / "other.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(UsadelError, match="not an HDF5 file"):
        io.load(tmp_path / "text.h5")
    with pytest.raises(UsadelError, match="no such file"):
        io.load(tmp_path / "missing.h5")
    path = tmp_path / "k.h5"
    io.save(sn_kinetic.spectral, path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = io.FORMAT_VERSION + 1
    with pytest.raises(UsadelError, match="format version"):
        io.load(path)
    io.save(sn_kinetic.spectral, path)
    with h5py.File(path, "r+") as f:  # a device whose rebuilt node numbering is not the stored one
        p = f["device/topology/p"]
        p[0, :2] = p[0, :2][::-1]
    with pytest.raises(UsadelError, match="numbered differently"):
        io.load(path)
    with pytest.raises(UsadelError, match="expected one of"):
        io.save(sn_kinetic.h, tmp_path / "h.h5")


def _read_vtu(path):
    import meshio

    return meshio.read(path)


def test_vtu_round_trip_2d_kinetic(tmp_path, strip_kinetic):
    k = strip_kinetic
    E = k.energies
    names = io.export_vtu(k, tmp_path / "k.vtu", energies=[E[5], E[40], 0.5 * (E[60] + E[61])], rtol=None)
    m = _read_vtu(tmp_path / "k.vtu")
    top = k.spectral.device.topology
    np.testing.assert_array_equal(m.points[:, :2], top.p.T)
    np.testing.assert_array_equal(m.cells_dict["triangle"], top.t.T)
    np.testing.assert_array_equal(m.cell_data["region"][0], top.region)
    assert set(names) == set(m.point_data)
    np.testing.assert_allclose(m.point_data[f"dos(E={E[5]:.12g})"], k.spectral.dos()[5], rtol=1e-15)
    for c, nm in enumerate(("hL", "hT", "hLS", "hTS")):
        np.testing.assert_allclose(m.point_data[f"{nm}(E={E[40]:.12g})"], k.h[40, :, c], rtol=1e-15)
    mid = 0.5 * (E[60] + E[61])  # between two stored energies: linear interpolation
    np.testing.assert_allclose(m.point_data[f"hTS(E={mid:.12g})"], 0.5 * (k.hTS[60] + k.hTS[61]), atol=1e-14)
    np.testing.assert_allclose(m.point_data["spin_accumulation"], k.spin_accumulation(rtol=None), rtol=1e-15)
    np.testing.assert_allclose(m.point_data["charge_imbalance"], k.charge_imbalance(rtol=None), rtol=1e-15)
    with pytest.raises(UsadelError, match="outside the result's grid"):
        io.export_vtu(k, tmp_path / "bad.vtu", energies=[E.max() + 1.0])


def test_vtu_round_trip_1d_gap_and_spectral(tmp_path, sns):
    g = usadel.gap(_sn_device(), T=0.3)
    io.export_vtu(g, tmp_path / "g.vtu")
    m = _read_vtu(tmp_path / "g.vtu")
    np.testing.assert_array_equal(m.points[:, 0], g.device.topology.p[0])
    np.testing.assert_array_equal(m.cells_dict["line"], g.device.topology.t.T)
    np.testing.assert_allclose(m.point_data["Delta_abs"], np.abs(g.delta), rtol=1e-15)
    np.testing.assert_allclose(m.point_data["Delta_re"], g.delta.real, rtol=1e-15)
    assert not any(k.startswith("dos") for k in m.point_data)  # Matsubara energies: no DOS
    sp = usadel.spectral(sns(delta=20.0, n=20), np.linspace(0.0, 40.0, 25), eta=1e-4)
    names = io.export_vtu(sp, tmp_path / "sp.vtu")  # default: 10 of the stored energies
    m = _read_vtu(tmp_path / "sp.vtu")
    assert sum(n.startswith("dos(") for n in names) == 10
    np.testing.assert_allclose(m.point_data[f"dos(E={sp.energies[-1]:.12g})"], sp.dos()[-1], rtol=1e-15)


def test_to_xarray(sn_kinetic):
    xr = pytest.importorskip("xarray")
    ds = io.to_xarray(sn_kinetic)
    assert isinstance(ds, xr.Dataset)
    assert ds["h"].dims == ("energy", "node", "component")
    assert list(ds["component"].values) == ["L", "T", "LS", "TS"]
    np.testing.assert_array_equal(ds["h"].sel(component="TS").values, sn_kinetic.hTS)
    np.testing.assert_array_equal(ds["dos"].values, sn_kinetic.spectral.dos())
    np.testing.assert_array_equal(ds["x"].values, sn_kinetic.spectral.device.topology.p[0])
    assert set(ds["region"].values) == {"S", "N"}
    assert ds.attrs["floor"] == sn_kinetic.floor


def test_result_methods_and_top_level_load(tmp_path):
    # the fixed names: result.save(path) and usadel.load(path) give the same kind back
    dev = usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=5.0, T=0.1), "right": usadel.Reservoir(T=0.1)})
    sp = usadel.spectral(dev, np.linspace(0, 20, 50))
    sp.save(tmp_path / "sp.h5")
    back = usadel.load(tmp_path / "sp.h5")
    assert type(back) is type(sp) and np.array_equal(back.dos(), sp.dos())
    assert "array(50, 11)" in repr(sp) and len(repr(sp)) < 400  # short repr, no array dump
