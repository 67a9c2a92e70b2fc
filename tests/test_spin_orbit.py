"""Spin-orbit scattering (Material.tau_so) in the kinetic equations at h = 0 (issue 13).

Derived in docs/derive_spinorbit.py (docs/derivations.md, Spin relaxation in the kinetic equations):
the self-energy sigma.g.sigma/(8 tau_so) relaxes the spin-energy mode hLS with DT/tau_so and the spin
mode hTS with DL/tau_so (each mode's own diffusion coefficient, in units of D), where spin flip uses
aLSLS/tau_sf and aTSTS/tau_sf. In the normal state all four are 1: 1/tau_s = 1/tau_sf + 1/tau_so.
"""

import numpy as np

import usadel
from usadel import bcs
from usadel.bulk import fermi
from usadel.nonequilibrium import comoving_grid


def normal_wire(L, n, mu_s=0.0, **rates):
    m = usadel.meshes.interval(L, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0, **rates)},
                         {"left": usadel.Reservoir(T=0.05, mu_s=mu_s), "right": usadel.Reservoir(T=0.05)})


def spin_hot(E):
    """A reservoir with spin-dependent potentials and temperatures: it injects hTS and hLS."""
    return fermi(E - 0.01, 0.4), fermi(E + 0.01, 0.3)


def uniform_s_wire(L, n, **rates):
    """A superconducting wire (Delta = 1) between two BCS reservoirs; the left one injects hTS and hLS."""
    m = usadel.meshes.interval(L, n)
    return usadel.Device(m, {"wire": usadel.Material(D=1.0, tc=1.0, **rates)},
                         {"left": usadel.Reservoir(delta=1.0, distribution=spin_hot),
                          "right": usadel.Reservoir(delta=1.0, T=0.1)})


def three_point_k2(h, dx):
    """k^2 of h'' = k^2 h read off at interior nodes of a uniform mesh: (h[i-1] + h[i+1] - 2 h[i])/(dx^2 h[i]).

    For P1 elements with lumped sinks and coefficients that are uniform in space this is exactly the
    coefficient ratio sink/diffusion of the discrete equations (no mesh error), so it tests the
    coefficients themselves; errors are round-off amplified by 1/(k dx)^2 and any non-uniformity.
    """
    return (h[..., :-2] + h[..., 2:] - 2 * h[..., 1:-1]) / (dx**2 * h[..., 1:-1])


def test_valet_fert_decay_with_spin_flip_and_spin_orbit():
    # Normal wire, mu_s(x) = mu_s0 sinh((L - x)/l_s)/sinh(L/l_s), l_s = sqrt(D tau_s),
    # 1/tau_s = 1/tau_sf + 1/tau_so = 2/3 + 1/3 (l_s = 1). Errors, each bounded separately:
    # - energy quadrature: mu_s at the reservoir node (Dirichlet) is mu_s0 to 1e-7 (measured 4e-9);
    # - the FEM profile is the exact solution of the lumped P1 scheme, sinh(kd (L - x))/sinh(kd L) with
    #   2 cosh(kd dx) = 2 + dx^2/l_s^2, to 1e-10 (solver round-off; measured 2e-13);
    # - so its distance to the closed form is the scheme's, to leading order (kd - k) d/dk of the
    #   profile with kd - k = -dx^2/(24 l_s^3): bounded by 1.05 x that (next order dx^4; measured 1.4e-6).
    mus, L, n = 0.01, 3.0, 300
    dev = normal_wire(L, n, mu_s=mus, tau_sf=1.5, tau_so=3.0)
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 1, 201)))
    x = k.spectral.x[:, 0]
    mu = k.spin_accumulation()
    assert abs(mu[0] / mus - 1) < 1e-7
    ls, dx = 1.0, L / n
    profile = lambda kk: np.sinh(kk * (L - x)) / np.sinh(kk * L)
    kd = np.arccosh(1 + dx**2 / (2 * ls**2)) / dx
    assert np.max(np.abs(mu / mu[0] - profile(kd))) < 1e-10
    dk = 1e-6
    leading = (kd - 1 / ls) * (profile(1 / ls + dk) - profile(1 / ls - dk)) / (2 * dk)
    err = np.abs(mu - mus * profile(1 / ls))
    assert np.max(err) < 1.05 * mus * np.max(np.abs(leading))
    assert np.max(err) < 2e-6 * mus
    # the spin current injected is mu_s0 sigma/l_s coth(L/l_s) (test_kinetic's spin-flip prefactor);
    # clean-contact flux O(dx^2/l_s^2) = 1e-4 (measured 1.3e-5)
    Is = k.current("left", kind="spin")
    assert abs(Is / (mus / ls / np.tanh(L / ls)) - 1) < 1e-4


def test_spin_orbit_and_spin_flip_are_the_same_in_the_normal_state():
    # In the normal state aLSLS = aTSTS = DL/D = DT/D = 1 exactly (gamma = 0), so tau_so alone and
    # tau_sf alone assemble the same sinks: identical distributions and currents, bit for bit.
    E = np.linspace(0, 1, 101)
    ks = [usadel.kinetic(usadel.spectral(normal_wire(2.0, 40, mu_s=0.02, **{key: 0.7}), E))
          for key in ("tau_sf", "tau_so")]
    assert np.array_equal(ks[0].h, ks[1].h)
    assert ks[0].current("left", kind="spin") == ks[1].current("left", kind="spin")
    assert np.max(np.abs(ks[0].hTS)) > 1e-3  # a real spin signal was compared


def test_bcs_wire_spin_orbit_decay_constants():
    # Uniform BCS wire (S reservoirs with the same Delta at both ends), tau_so = 4 only (no pair breaking:
    # the spectra stay BCS). The coefficients predict, with the closed-form BCS c, s at the same eta:
    #   hTS (E > Delta): k^2 = (DL/tau_so)/DL = 1/(D tau_so) at every energy (l_so = 2, as in N);
    #   hLS: k^2 = (2 Delta aTT + DT/tau_so)/DT, below the gap 2 sqrt(Delta^2 - E^2) + 1/tau_so.
    # The FEM's three-point k^2 matches to 1e-7: Newton tolerance on gamma (1e-10) amplified near the
    # edge (measured 3.6e-9 at E = 1.01, <= 1.5e-9 elsewhere). Spin flip's combination instead
    # (aTSTS, aLSLS for tau_so) would be off by 2.6x (hTS, E = 1.5) and -0.25 in k^2 below the gap.
    tso, L, n, eta = 4.0, 10.0, 500, 1e-9
    E = np.array([0.5, 0.9, 0.99, 1.01, 1.05, 1.5, 3.0])
    k = usadel.kinetic(usadel.spectral(uniform_s_wire(L, n, tau_so=tso), E, delta=1.0, eta=eta))
    c, s = bcs.bcs_green(E, 1.0, eta=eta)
    DT, aTT = c.real**2 + s.imag**2, s.imag
    sel = slice(50, n - 50)
    above = E > 1.0
    k2_ts = three_point_k2(k.hTS[above], L / n)[:, sel]
    assert np.max(np.abs(k2_ts * tso - 1)) < 1e-7
    k2_ls = three_point_k2(k.hLS, L / n)[:, sel]
    ref_ls = 2 * aTT / DT + 1 / tso
    assert np.max(np.abs(k2_ls / ref_ls[:, None] - 1)) < 1e-7
    below = ~above
    assert np.allclose(ref_ls[below], 2 * np.sqrt(1 - E[below] ** 2) + 1 / tso, rtol=1e-12, atol=0)


def test_ag_wire_decay_constants_with_spin_flip_and_spin_orbit():
    # tau_sf = 10 (pair breaking Gamma = 0.075) and tau_so = 4 in a long S wire: far from the BCS
    # reservoirs the spectra are the Abrikosov-Gor'kov ones (bcs.ag_green), and each spin mode decays with
    #   hTS: k^2 = (aTSTS/tau_sf + DL/tau_so)/DL,   hLS: k^2 = (2 Delta aTT + aLSLS/tau_sf + DT/tau_so)/DT
    # (coefficient formulas written out here, independently of usadel.coefficients). Read off at
    # 10 < x < 14 of L = 24: the reservoirs' BCS spectra heal over ~xi (DOS uniform to 2e-7 there), and
    # |h| ~ 1e-9 x injected makes the three-point round-off ~1e-6; tolerance 2e-5 (measured 3e-6). The
    # swapped assignment (spin-flip coefficients for tau_so) changes k^2 of hTS by 17-76% above the gap
    # and of hLS by 24-30% below it.
    tsf, tso, L, n, eta = 10.0, 4.0, 24.0, 600, 1e-9
    E = np.array([0.3, 0.6, 1.5, 2.0, 3.0])
    k = usadel.kinetic(usadel.spectral(uniform_s_wire(L, n, tau_sf=tsf, tau_so=tso), E, delta=1.0, eta=eta))
    c, s = bcs.ag_green(E, 1.0, 3 / (4 * tsf), eta=eta)
    rc, rs, is_ = c.real, s.real, s.imag
    DL, DT = rc**2 - rs**2, rc**2 + is_**2
    ref_ts = ((rc**2 + rs**2) / tsf + DL / tso) / DL
    ref_ls = (2 * is_ + (rc**2 - is_**2) / tsf + DT / tso) / DT
    x = k.spectral.x[1:-1, 0]
    sel = (x > 10) & (x < 14)
    above = DL > 0.5  # hTS is undetermined where there are no states (released at the S reservoirs)
    assert np.array_equal(above, E > 1)
    k2_ts = three_point_k2(k.hTS[above], L / n)[:, sel]
    assert np.max(np.abs(k2_ts / ref_ts[above, None] - 1)) < 2e-5
    k2_ls = three_point_k2(k.hLS, L / n)[:, sel]
    assert np.max(np.abs(k2_ls / ref_ls[:, None] - 1)) < 2e-5


def test_without_spin_orbit_nothing_changes():
    # tau_so = None and tau_so = inf add no sink at all (an absent rate is skipped, not multiplied by 0),
    # so the distributions are bit for bit those without the spin-orbit terms; the sinks equal seed
    # Eqs. 4-7's pairing + spin-flip ones written out here. (Checked also against the parent commit's
    # code on SN, SNS-with-phase and spin-split devices: identical arrays.)
    m = usadel.meshes.wire([("N", 1.0, 20), ("S", 2.0, 40)])
    res = {"left": usadel.Reservoir(T=0.2, mu=0.3, mu_s=0.1, barrier=usadel.Barrier(r=2.0, polarization=0.3)),
           "right": usadel.Reservoir(delta=1.0, T=0.2)}
    E = np.linspace(0, 3, 61)
    out = []
    for tso in (None, np.inf):
        mats = {"N": usadel.Material(tau_sf=3.0, tau_so=tso), "S": usadel.Material(tc=1.0, tau_sf=20.0, tau_so=tso)}
        out.append(usadel.kinetic(usadel.spectral(usadel.Device(m, mats, res), E, delta={"S": 1.0, "N": 0.0})))
    assert np.array_equal(out[0].h, out[1].h)
    sp = out[0].spectral
    ops = sp.device.operators
    co = usadel.coefficients.kinetic_coefficients(sp, 1e-9)
    pair = 2 * np.abs(sp.delta * ops.lump_sd)
    flip = ops.lump(ops.w_el / ops.D_e * ops.tau_sf_inv_e)
    cn = co.node
    seed = np.stack([np.zeros_like(cn["aTT"]), pair * cn["aTT"], pair * cn["aTT"] + flip * cn["aLSLS"],
                     flip * cn["aTSTS"]], axis=-1)
    assert np.array_equal(co.sink, seed)


def test_solve_accepts_spin_orbit():
    # usadel.solve with tau_so (h = 0): the gap update reads hL only, which the spin modes do not feed,
    # so Delta is that of tau_so = None bit for bit, while the spin accumulation injected into the
    # N/S wire relaxes faster.
    def device(tso):
        m = usadel.meshes.wire([("N", 0.5, 10), ("S", 3.0, 30)])
        mats = {"N": usadel.Material(tau_so=tso), "S": usadel.Material(tc=1.0, tau_so=tso, tau_sf=50.0)}
        return usadel.Device(m, mats, {"left": usadel.Reservoir(T=0.2, mu=0.2, mu_s=0.3)})

    E = 1.76 * comoving_grid(n=300)
    s0, s1 = usadel.solve(device(None), 0.2, energies=E), usadel.solve(device(2.0), 0.2, energies=E)
    assert np.array_equal(s0.delta, s1.delta) and np.max(np.abs(s1.delta)) > 1.0
    assert np.array_equal(s0.kinetic.hL, s1.kinetic.hL)
    mu0, mu1 = s0.kinetic.spin_accumulation(), s1.kinetic.spin_accumulation()
    assert mu1[-1] < 0.8 * mu0[-1]
