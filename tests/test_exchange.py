"""Exchange fields (issue 13, first step): inputs, refusals and the retarded spin blocks (their coupling by
spin relaxation: tests/test_spin_mixing.py).

Convention (docs/conventions.md, Exchange fields): spin sigma = +-1 sees E -> E + sigma h.
"""

import numpy as np
import pytest

import usadel
from usadel import bcs

DELTA = 1.0


def wire(n=10, length=1.0, contacts=None, **mat):
    m = usadel.meshes.interval(length, n)
    return usadel.Device(m, {"wire": usadel.Material(**mat)}, contacts or {})


def sf_device(h=0.8, n_s=20, n_f=30, contacts=None):
    """S (tc = 1) then F (h), a clean BCS reservoir on the S side, the F end insulating."""
    m = usadel.meshes.wire([("S", 1.0, n_s), ("F", 1.5, n_f)])
    return usadel.Device(m, {"S": usadel.Material(tc=1.0), "F": usadel.Material(D=0.7, sigma=1.5, h=h)},
                         contacts or {"left": usadel.Reservoir(delta=1.764, T=0.1)})


# ---------------------------------------------------------------- inputs and refusals

def test_exchange_and_spin_orbit_fields_are_validated():
    assert usadel.Material(h=np.float32(0.5)).h == 0.5 and type(usadel.Material(h=1).h) is float
    assert usadel.Material(h=-0.3).h == -0.3  # the sign is the field's direction along the spin axis
    assert usadel.Material(tau_so=np.inf).tau_so == np.inf and usadel.Reservoir(h=2).h == 2.0
    for bad in (dict(h=np.nan), dict(h="1"), dict(h=1j), dict(h=np.inf), dict(tau_so=-1.0), dict(tau_so=0.0),
                dict(tau_so=np.nan)):
        with pytest.raises(usadel.UsadelError, match="Material"):
            usadel.Material(**bad)
    for bad in (np.nan, np.inf, "0.1", True):
        with pytest.raises(usadel.UsadelError, match="Reservoir.h"):
            usadel.Reservoir(h=bad)


@pytest.mark.parametrize("where", ["material", "reservoir"])
@pytest.mark.parametrize("mixing", ["tau_sf", "tau_so"])
def test_exchange_field_with_spin_mixing_is_accepted(where, mixing):
    # spin flip and spin-orbit scattering couple the two spin blocks anywhere in the device:
    # usadel.spectral solves the coupled blocks (physics in tests/test_spin_mixing.py)
    m = usadel.meshes.wire([("S", 1.0, 5), ("F", 1.0, 5)])
    mats = {"S": usadel.Material(tc=1.0, **{mixing: 10.0}), "F": usadel.Material(h=0.5 if where == "material" else 0.0)}
    res = {"left": usadel.Reservoir(delta=1.0, h=0.3 if where == "reservoir" else 0.0)}
    dev = usadel.Device(m, mats, res)
    sp = usadel.spectral(dev, np.linspace(0.0, 2.0, 11), delta={"S": 1.0})
    assert sp.spin_split and np.all(np.isfinite(sp.dos(spin=1)))


def test_what_the_gap_equation_refuses_with_exchange_fields_and_kinetic_accepts():
    # usadel.kinetic accepts h since step 2 (tests/test_kinetic_exchange.py); per-block coefficients only.
    # tau_so at h = 0 is accepted by kinetic and solve since step 3 (tests/test_spin_orbit.py); solve and
    # gap(hL=) accept h since step 4 (tests/test_exchange_solve.py).
    res = {"left": usadel.Reservoir(delta=1.0, T=0.1), "right": usadel.Reservoir(T=0.1, mu=0.1)}
    dev = wire(contacts=res, tc=1.0, h=0.2)
    sp = usadel.spectral(dev, np.linspace(0.0, 3.0, 31), delta=1.0)
    assert usadel.kinetic(sp).h.shape == (31, 11, 4)
    with pytest.raises(usadel.UsadelError, match="spin split"):
        usadel.coefficients.kinetic_coefficients(sp, 1e-9)
    mixed = wire(contacts=res, tc=1.0, h=0.2, tau_sf=10.0)  # omega_D with spin mixing: not built
    with pytest.raises(usadel.UsadelError, match="omega_D together with spin mixing"):
        usadel.gap(mixed, T=0.1, omega_D=10.0)
    with pytest.raises(usadel.UsadelError, match="omega_D together with an exchange field is built for one h"):
        usadel.critical_temperature(mixed, omega_D=10.0)
    so = wire(contacts=res, tc=1.0, tau_so=5.0)  # tau_so alone: spectra unchanged, spin modes relaxed
    k = usadel.kinetic(usadel.spectral(so, np.linspace(0.0, 3.0, 31), delta=1.0))
    assert k.h.shape == (31, 11, 4) and np.all(np.isfinite(k.h))


def test_spin_orbit_alone_and_zero_field_take_the_unchanged_code_path():
    # h = 0 and tau_so (not pair breaking without a spin splitting) must give the spin-degenerate
    # result bit for bit (same code path); tests/ fingerprints cover the rest
    res = {"left": usadel.Reservoir(delta=1.5, phase=0.4)}
    E = np.linspace(-2.0, 2.0, 21)
    ref = usadel.spectral(wire(contacts=res, tc=1.0), E, delta=1.0)
    for mat in (dict(h=0.0), dict(tau_so=3.0), dict(h=-0.0, tau_so=np.inf)):
        sp = usadel.spectral(wire(contacts=res, tc=1.0, **mat), E, delta=1.0)
        assert not sp.spin_split and np.array_equal(sp.gamma, ref.gamma) and np.array_equal(sp.gamma_t, ref.gamma_t)
        assert np.array_equal(sp.dos(+1), sp.dos()) and np.array_equal(sp.dos(-1), sp.dos())
    g0, g1 = usadel.gap(wire(tc=1.0), T=0.4), usadel.gap(wire(tc=1.0, tau_so=2.0), T=0.4)
    assert np.array_equal(g0.delta, g1.delta)


# ---------------------------------------------------------------- spectral

@pytest.mark.parametrize("with_reservoirs", [False, True])
def test_uniform_spin_split_bcs(with_reservoirs):
    # N_sigma(E) = N_BCS(E + sigma h) (architecture.md). Reference: the closed form at the same
    # Dynes eta = 1e-9, so the only errors are the Newton tolerance (1e-10 on gamma) and the
    # eta-sensitivity near the edges, excluded (| |E + sigma h| - Delta | > 0.05: < 1e-7).
    # With spin-split BCS reservoirs (Reservoir.h) at both ends the wire is bulk everywhere too.
    h = 0.37
    res = {"left": usadel.Reservoir(delta=DELTA, h=h), "right": usadel.Reservoir(delta=DELTA, h=h)}
    dev = wire(contacts=res if with_reservoirs else {}, tc=1.0, h=h)
    E = np.linspace(-3.0, 3.0, 241)
    sp = usadel.spectral(dev, E, delta=DELTA, eta=1e-9)
    assert sp.spin_split
    for s in (1, -1):
        ref = bcs.bcs_dos(E + s * h, DELTA, eta=1e-9)
        away = np.abs(np.abs(E + s * h) - DELTA) > 0.05
        assert np.max(np.abs(sp.dos(s)[away] - ref[away, None])) < 1e-6
    assert np.array_equal(sp.dos(), 0.5 * (sp.dos(1) + sp.dos(-1)))
    # the spin-split DOS is not symmetric in E per spin, but N_up(-E) = N_dn(E)
    assert np.allclose(sp.dos(1)[::-1], sp.dos(-1), atol=1e-9)


def test_gap_edges_of_a_spin_split_reservoir_are_checked():
    dev = wire(contacts={"left": usadel.Reservoir(delta=1.0, h=0.25)})
    with pytest.raises(usadel.UsadelError, match="gap edge"):
        usadel.spectral(dev, [0.2, 0.75], eta=0.0)  # |0.75 + 0.25| = Delta for spin up
    usadel.spectral(dev, [0.2, 0.7], eta=0.0)


def test_symmetric_folding_exchanges_the_spin_blocks():
    # th*(-E) = -th(E) maps spin up onto spin down with a field: gamma_s(-E) = conj(gamma~_{-s}(E)).
    # symmetric=True solves |E| only and must equal independent solves at every E (to 1e-9:
    # both are converged to 1e-10 on gamma), on an inhomogeneous S/F device.
    dev = sf_device()
    E = np.r_[-np.linspace(0.05, 3.0, 12), np.linspace(0.05, 3.0, 12)]
    a = usadel.spectral(dev, E, eta=1e-4, delta={"S": 1.2})
    b = usadel.spectral(dev, E, eta=1e-4, delta={"S": 1.2}, symmetric=False)
    for x, y in ((a.gamma, b.gamma), (a.gamma_t, b.gamma_t), (a.gamma_dn, b.gamma_dn), (a.gamma_t_dn, b.gamma_t_dn)):
        assert np.max(np.abs(x - y)) < 1e-9
    n = 12
    assert np.max(np.abs(b.gamma[:n] - np.conj(b.gamma_t_dn[n:]))) < 1e-9
    assert np.max(np.abs(b.gamma_dn[:n] - np.conj(b.gamma_t[n:]))) < 1e-9
    # the field really splits the spins in F
    assert np.max(np.abs(b.dos(1) - b.dos(-1))) > 0.1
    with pytest.raises(usadel.UsadelError, match="spin split"):
        b.theta
    assert np.array_equal(b.block(-1).theta, b.block(-1).theta) and not b.block(1).spin_split


def _exact_ferromagnet(E, x, h, D, delta, eta, spin):
    """Semi-infinite F (no pairing) on a rigid BCS contact: tanh(th/4) = tanh(th_S/4) exp(-k x).

    This code's th has cosh th = N + ..., D th'' = -2 i (E + sigma h) sinh th in F; the first
    integral (th, th' -> 0 far away) gives th' = -2 k sinh(th/2), k = sqrt(-2 i (E + sigma h)/D),
    Re k > 0, so tanh(th/4) decays as exp(-k x). physics.md writes tan(th/4): that is the same
    solution in the trigonometric angle theta = -i th (cos theta = cosh th).
    """
    z = E + 1j * eta
    c, s = bcs.bcs_green(E, delta, eta)
    th_s = np.arctanh(s / c)  # tanh th = -Delta/E in the bulk (physics.md)
    k = np.sqrt(-2j * (z + spin * h) / D)
    k = np.where(k.real < 0, -k, k)
    return 4 * np.arctanh(np.tanh(th_s / 4)[:, None] * np.exp(-k[:, None] * x[None, :]))


def test_semi_infinite_ferromagnet_on_a_bcs_contact():
    # Exact solution above; L = 25 >> 1/Re k (>= 0.45 for these energies: e^{-2 Re k L} < 1e-9).
    # P1 elements converge as dx^2: the DOS error must fall 4x per halving (3.6-4.4 measured
    # window) and be below 2e-4 at dx = 0.0125 (k dx <= 0.033, error ~ (k dx)^2/12 ~ 1e-4).
    h, D, eta, L = 1.0, 1.0, 1e-9, 25.0
    E = np.array([-1.7, -0.6, 0.0, 0.3, 0.8, 1.5, 2.5])
    errs = []
    for n in (1000, 2000):
        dev = usadel.Device(usadel.meshes.interval(L, n), {"wire": usadel.Material(D=D, h=h)},
                            {"left": usadel.Reservoir(delta=DELTA)})
        sp = usadel.spectral(dev, E, eta=eta)
        x = sp.x[:, 0]
        err = 0.0
        for s in (1, -1):
            th = _exact_ferromagnet(E, x, h, D, DELTA, eta, s)
            err = max(err, np.max(np.abs(sp.dos(s) - np.real(np.cosh(th)))))
            assert np.max(np.abs(sp.block(s).gamma - np.tanh(th / 2))) < 4 * err + 1e-12
        errs.append(err)
    assert errs[1] < 2e-4 and 3.6 < errs[0] / errs[1] < 4.4
    # the tan(th/4) form read with this code's hyperbolic th is a different function (off by 0.2)
    th_s = 2 * np.arctanh(sp.gamma[:, 0])
    k = np.sqrt(-2j * (E + 1j * eta + h) / D)
    tan_form = np.real(np.cos(4 * np.arctan(np.tan(th_s / 4)[:, None] * np.exp(-k[:, None] * x[None, :]))))
    assert np.max(np.abs(sp.dos(1) - tan_form)) > 0.05


def test_matsubara_spin_blocks_are_complex_conjugates():
    # At E = i w with a real gap, spin down is th_dn = -conj(th_up) (w -> w -+ i h), so the spin sum
    # of f = -i F is 2 Re f_up: checked on independent solves of both blocks (S/F device, reservoir
    # phase 0), to the Newton tolerance.
    dev = sf_device(h=1.3)
    w = np.pi * 0.1 * (2 * np.arange(40) + 1)
    sp = usadel.spectral(dev, 1j * w, eta=0.0, delta={"S": 1.5})
    up, dn = sp.block(1), sp.block(-1)
    assert np.max(np.abs(dn.F - (-np.conj(up.F)))) < 1e-9
    f = -1j * sp.F
    assert np.max(np.abs(f.imag)) < 1e-9 and np.max(np.abs(f.real - np.real(-1j * up.F))) < 1e-9
    assert np.max(np.abs(np.imag(-1j * up.F))) > 1e-2  # each block alone is complex (odd-frequency triplet part)


def test_spin_split_results_save_and_load(tmp_path):
    dev = sf_device(h=0.6, n_s=5, n_f=5)
    sp = usadel.spectral(dev, np.linspace(0.0, 2.0, 9), delta={"S": 1.0}, eta=1e-3)
    usadel.io.save(sp, tmp_path / "sp.h5")
    back = usadel.load(tmp_path / "sp.h5")
    assert back.spin_split and np.array_equal(back.gamma_dn, sp.gamma_dn) and np.array_equal(back.dos(-1), sp.dos(-1))
    assert back.device.materials["F"].h == 0.6 and back.device.contacts["left"].h == 0.0
    g = usadel.gap(sf_device(h=0.6, n_s=5, n_f=5), T=0.3)
    usadel.io.save(g, tmp_path / "g.h5")
    assert np.array_equal(usadel.load(tmp_path / "g.h5").spectral.gamma_t_dn, g.spectral.gamma_t_dn)


def test_gap_next_to_a_spin_split_superconducting_reservoir():
    # The explicit Matsubara frequencies see the reservoir's field exactly; the tail's reservoir lift is
    # that of h = 0, off by O(h^2/w_N^2) of itself. So the gap must converge in the cutoff as at h = 0:
    # cutoff 60 against 240 differ by 1.05e-7 at h = 0 and 0.88e-7 at h = 0.6 (measured); 3e-7 asked,
    # the bound of the h = 0 map (test_exchange_gap.py). The reservoir's field must matter (2.7e-3).
    d = {}
    for h in (0.0, 0.6):
        dev = usadel.Device(usadel.meshes.interval(2.0, 40), {"wire": usadel.Material(tc=1.0, h=0.2)},
                            {"left": usadel.Reservoir(delta=1.5, h=h)})
        d[h] = [np.max(np.abs(usadel.gap(dev, 0.3, cutoff=c, tol=1e-12).delta)) for c in (60.0, 240.0)]
        assert abs(d[h][0] - d[h][1]) < 3e-7
    assert abs(d[0.6][1] - d[0.0][1]) > 1e-3
