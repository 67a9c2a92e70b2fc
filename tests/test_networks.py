"""Networks of wires (usadel.meshes.network): Kirchhoff's laws, spin diffusion through a
junction, equivalence with meshes.wire, barriers at junctions, inputs, files and plots."""

import numpy as np
import pytest

import usadel

T = 0.1


def t_junction(n=(20, 30, 25), cs=(1.0, 2.0, 0.5), tau_sf=None, lengths=(1.0, 2.0, 2.0), region="N"):
    """Terminal a, junction c, terminals b (along x) and d (up): three wires of different lengths."""
    L1, L2, L3 = lengths
    return usadel.meshes.network(nodes={"a": (-L1, 0.0), "c": (0.0, 0.0), "b": (L2, 0.0), "d": (0.0, L3)},
                                 wires=[("a", "c", n[0], region, cs[0]), ("c", "b", n[1], region, cs[1]),
                                        ("c", "d", n[2], region, cs[2])])


def test_kirchhoff_t_junction():
    # Normal state: R_i = L_i/(sigma A_i), wire 1 in series with 2 || 3. P1 represents the
    # linear potential exactly, and the trapezoid rule on dE = 1e-3 integrates the Fermi
    # difference to ~1e-9 (as in the Ohm's-law test), so 1e-6 is a real check.
    V, sigma = 0.1, 1.5
    dev = usadel.Device(t_junction(), {"N": usadel.Material(sigma=sigma)},
                        {"a": usadel.Reservoir(T=T, mu=V), "b": usadel.Reservoir(T=T), "d": usadel.Reservoir(T=T)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 3, 3001)))
    R1, R2, R3 = 1.0 / sigma, 2.0 / (2.0 * sigma), 2.0 / (0.5 * sigma)
    Rp = 1.0 / (1.0 / R2 + 1.0 / R3)
    I = V / (R1 + Rp)
    for tag, ref in (("a", I), ("b", -I * Rp / R2), ("d", -I * Rp / R3)):
        assert abs(k.current(tag) - ref) < 1e-6 * I, tag
    # the junction's potential: V Rp/(R1 + Rp); mu = -(1/2) Int hT dE in the normal state
    mu_c = -0.5 * np.trapezoid(k.spectral.at([[0.0, 0.0]], k.hT)[:, 0], k.spectral.energies.real) * 2
    assert abs(mu_c - V * Rp / (R1 + Rp)) < 1e-6 * V


def test_barrier_between_a_wire_and_the_junction():
    # A tunnel barrier r (resistance x area) at the end of wire 3 where it meets the junction
    # adds r/A3 in series with wire 3 (the barrier has the wire's cross-section).
    V, r = 0.1, 0.7
    m = usadel.meshes.network(nodes={"a": (-1.0, 0.0), "c": (0.0, 0.0), "b": (2.0, 0.0), "d": (0.0, 2.0)},
                              wires=[("a", "c", 20, "N"), ("c", "b", 30, "N", 2.0), ("c", "d", 25, "F", 0.5)])
    dev = usadel.Device(m, {"N": usadel.Material(), "F": usadel.Material()},
                        {"a": usadel.Reservoir(T=T, mu=V), "b": usadel.Reservoir(T=T), "d": usadel.Reservoir(T=T)},
                        interfaces={("N", "F"): usadel.Barrier(r=r)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 3, 3001)))
    R1, R2, R3 = 1.0, 1.0, 4.0 + r / 0.5
    Rp = 1.0 / (1.0 / R2 + 1.0 / R3)
    I = V / (R1 + Rp)
    assert abs(k.current("a") - I) < 1e-6 * I
    assert abs(k.current("d") + I * Rp / R3) < 1e-6 * I


def test_spin_diffusion_through_a_junction():
    # mu_s injected at terminal a diffuses into three arms (l = sqrt(D tau_sf) = 1). Closed
    # form: on arm i (y from the junction) mu_i = [mu_J sinh((L_i - y)/l) + mu_i^T sinh(y/l)]
    # / sinh(L_i/l), and spin-current conservation at the junction gives
    # mu_J = A1 mu0 / (sinh(L1/l) Sum_i A_i coth(L_i/l)). Arms 2 and 3 are 12 l long, so
    # this is also the semi-infinite result A1 mu0 / (sinh(L1/l) (A1 coth(L1/l) + A2 + A3))
    # to e^-24. P1 with h = l/100 (l/50 on the long arms): O(h^2/12) <= 3e-5 relative; 1e-4 of
    # mu0 is the check.
    mu0, l = 0.01, 1.0
    L, A = (1.5, 12.0, 12.0), (1.0, 2.0, 0.5)
    m = t_junction(n=(150, 600, 600), cs=A, lengths=L)
    dev = usadel.Device(m, {"N": usadel.Material(tau_sf=l**2)},
                        {"a": usadel.Reservoir(T=0.2, mu_s=mu0), "b": usadel.Reservoir(T=0.2),
                         "d": usadel.Reservoir(T=0.2)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 3, 301)))
    coth = [1.0 / np.tanh(Li / l) for Li in L]
    mu_J = A[0] * mu0 / (np.sinh(L[0] / l) * sum(a * c for a, c in zip(A, coth)))
    assert abs(mu_J - A[0] * mu0 / (np.sinh(L[0] / l) * (A[0] * coth[0] + A[1] + A[2]))) < 1e-12
    y = np.linspace(0, 1, 11)
    pts = {0: np.c_[-y * L[0], 0 * y], 1: np.c_[y * 3, 0 * y], 2: np.c_[0 * y, y * 3]}
    mus = k.spectral.at(np.vstack(list(pts.values())), k.spin_accumulation()[None, :])[0]
    for i, ys in ((0, y * L[0]), (1, y * 3), (2, y * 3)):
        muT = mu0 if i == 0 else 0.0
        ref = (mu_J * np.sinh((L[i] - ys) / l) + muT * np.sinh(ys / l)) / np.sinh(L[i] / l)
        got = mus[11 * i:11 * (i + 1)]
        assert np.max(np.abs(got - ref)) < 1e-4 * mu0, i


def sns(mesh, phase=0.5):
    return usadel.Device(mesh, {"wire": usadel.Material()},
                         {"left": usadel.Reservoir(delta=20.0, T=0.5), "right": usadel.Reservoir(delta=20.0, phase=phase, T=0.5)})


def test_straight_chain_equals_wire():
    # the same P1 discretisation: equal to rounding (DOS relative to max(1, N); Matsubara current)
    chain = usadel.meshes.network(nodes={"left": (0.0, 0.0), "m": (0.4, 0.0), "right": (1.0, 0.0)},
                                  wires=[("left", "m", 40, "wire"), ("m", "right", 60, "wire")])
    wire = usadel.meshes.interval(1.0, 100)
    E = np.linspace(0.0, 30.0, 61)
    a, b = usadel.spectral(sns(chain), E), usadel.spectral(sns(wire), E)
    xs = np.linspace(0, 1, 7)
    Na, Nb = a.at(np.c_[xs, 0 * xs]), b.at(xs[:, None])  # E = 20 is the reservoirs' gap edge: N ~ 3e3
    assert np.max(np.abs(Na - Nb) / np.maximum(1.0, np.abs(Nb))) < 1e-10
    Ia = usadel.observables.supercurrent(sns(chain), T=0.5)
    Ib = usadel.observables.supercurrent(sns(wire), T=0.5)
    assert abs(Ia - Ib) < 1e-10 * abs(Ib)
    # an S/N bilayer: critical temperature and gap of the linearised and full gap equations
    sn_chain = usadel.meshes.network(nodes={"left": (0.0, 0.0), "m": (0.5, 0.0), "right": (1.5, 0.0)},
                                     wires=[("left", "m", 10, "S"), ("m", "right", 20, "N")])
    sn_wire = usadel.meshes.wire([("S", 0.5, 10), ("N", 1.0, 20)])
    mats = {"S": usadel.Material(tc=1.0, D=0.1), "N": usadel.Material(D=0.1)}
    tc = [usadel.critical_temperature(usadel.Device(m, mats)) for m in (sn_chain, sn_wire)]
    assert 0.1 < tc[0] < 1.0 and abs(tc[0] - tc[1]) < 1e-9
    ga, gb = (usadel.gap(usadel.Device(m, mats), T=0.5 * tc[0]) for m in (sn_chain, sn_wire))
    assert np.max(np.abs(ga.delta[np.argsort(ga.x[:, 0])] - gb.delta[np.argsort(gb.x[:, 0])])) < 1e-8


def test_gap_on_a_network_of_superconducting_wires():
    # a uniform S network with insulating ends is a bulk superconductor: the BCS gap
    # 1.6878 Tc0 at T = 0.5 Tc0 (README example, same gap loop) at every node
    m = t_junction(n=(8, 8, 8), region="S")
    g = usadel.gap(usadel.Device(m, {"S": usadel.Material(tc=1.0)}), T=0.5)
    wire = usadel.gap(usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material(tc=1.0)}), T=0.5)
    assert np.max(np.abs(g.delta - wire.delta[0])) < 1e-8


@pytest.mark.parametrize("nodes, wires, match", [
    ({}, [], "non-empty dict"),
    ({"a": (0, 0), "b": (1, 0)}, [("a", "x", 3, "N")], "not in nodes"),
    ({"a": (0, 0), "b": (1, 0)}, [("a", "a", 3, "N")], "itself"),
    ({"a": (0, 0), "b": (1, 0)}, [("a", "b", 0, "N")], "elements"),
    ({"a": (0, 0), "b": (1, 0)}, [("a", "b", 3, "")], "region"),
    ({"a": (0, 0), "b": (1, 0)}, [("a", "b", 3, "N", -1.0)], "cross_section"),
    ({"a": (0, 0), "b": (0, 0)}, [("a", "b", 3, "N")], "length"),
    ({"a": (0, 0), "b": (1, 0, 0)}, [("a", "b", 3, "N")], "same number"),
    ({"a": (0,), "b": (1,)}, [("a", "b", 3, "N")], "2 or 3"),
    ({"a": (0, 0), "b": (1, 0), "c": (2, 0)}, [("a", "b", 3, "N")], "carry no wire"),
    ({"a": ("x", 0), "b": (1, 0)}, [("a", "b", 3, "N")], "not numbers"),
    ({"a": (0, 0), "b": (1, 0)}, "ab", "list"),
])
def test_bad_networks_are_rejected(nodes, wires, match):
    with pytest.raises(usadel.UsadelError, match=match):
        usadel.meshes.network(nodes, wires)


def test_ambiguous_junction_barriers_are_rejected():
    nodes = {"a": (-1, 0), "b": (-1, 1), "c": (0, 0), "d": (1, 0), "e": (1, 1)}
    two_two = usadel.meshes.network(nodes, [("a", "c", 4, "A"), ("b", "c", 4, "A"), ("c", "d", 4, "B"),
                                            ("c", "e", 4, "B")])
    mats = {"A": usadel.Material(), "B": usadel.Material(), "C": usadel.Material()}
    with pytest.raises(usadel.UsadelError, match="ambiguous"):
        usadel.Device(two_two, {k: mats[k] for k in "AB"}, interfaces={("A", "B"): usadel.Barrier(r=1.0)})
    usadel.Device(two_two, {k: mats[k] for k in "AB"})  # clean: fine
    del nodes["e"]
    three = usadel.meshes.network(nodes, [("a", "c", 4, "A"), ("b", "c", 4, "B"), ("c", "d", 4, "C")])
    with pytest.raises(usadel.UsadelError, match="3 regions"):
        usadel.Device(three, mats, interfaces={("A", "C"): usadel.Barrier(r=1.0)})


def test_network_files_plots_and_points(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    dev = usadel.Device(t_junction(n=(4, 4, 4)), {"N": usadel.Material()},
                        {"a": usadel.Reservoir(T=T, mu=0.1), "b": usadel.Reservoir(T=T)})
    sp = usadel.spectral(dev, np.linspace(0, 2, 5))
    sp.save(tmp_path / "sp.h5")
    back = usadel.load(tmp_path / "sp.h5")
    assert np.array_equal(back.theta, sp.theta)
    assert back.device.mesh.spec == dev.mesh.spec
    ax = sp.plot_dos(energy=1.0)
    assert len(ax.collections) == 1
    with pytest.raises(usadel.UsadelError, match="not on any wire"):
        sp.at([[0.5, 0.5]])
    assert "a (1 facet)" in usadel.meshes.describe(dev.mesh)
    assert usadel.io.export_vtu(sp, tmp_path / "sp.vtu", energies=[1.0])


def pi_junction(cs, phi=np.pi / 2, T=0.1, delta=1e4, Lc=5.0):
    """S1 -(arm)- c -(arm)- S2 (length 1, E_Th = 1) with a control wire N1 - c - N2 of cross-section cs."""
    nodes = {"S1": (-0.5, 0), "c": (0, 0), "S2": (0.5, 0), "N1": (0, Lc), "N2": (0, -Lc), "u": (0, 0.5), "d": (0, -0.5)}
    wires = [("S1", "c", 30, "arm"), ("c", "S2", 30, "arm"), ("c", "u", 10, "control", cs),
             ("u", "N1", 30, "control", cs), ("c", "d", 10, "control", cs), ("d", "N2", 30, "control", cs)]
    return usadel.Device(usadel.meshes.network(nodes, wires), {"arm": usadel.Material(), "control": usadel.Material()},
                         {"S1": usadel.Reservoir(delta=delta, phase=-phi / 2, T=T),
                          "S2": usadel.Reservoir(delta=delta, phase=phi / 2, T=T),
                          "N1": usadel.Reservoir(T=T), "N2": usadel.Reservoir(T=T)})


def test_controlled_pi_junction_approaches_the_double_step_model():
    # Ideal model (Wilhelm-Schon-Zaikin, Yip), computed here from the SNS arm alone: the arm
    # carries the double step hL = [tanh((E + V/2)/2T) + tanh((E - V/2)/2T)]/2 and
    # I = sigma Int_0^inf dE Re(g grad g)_11 hL (the supercurrent density of
    # usadel.coefficients with hL for tanh). The network solves the kinetic equations with
    # the control reservoirs at +-V/2; its control wire (conductance g_c = cs/Lc per side)
    # perturbs the arm's spectrum at O(g_c), so I(cs) - I_ideal must halve with cs and the
    # Richardson value 2 I(cs/2) - I(cs) must match the ideal model. Measured: ratios 1.95
    # and 1.96, Richardson within 9e-3 and 1.3e-3 (the O(g_c^2) rest, ~2.5% of the O(g_c)
    # term); tolerance 0.02 = 2e-3 of I(V = 0). The same energy grid serves both (its
    # tail error, ~1e-3 here, cancels in the comparison). Before the Andreev-mirror
    # condition for hL (usadel.kinetic_solve) the network gave 8.90 at V = 8 and moved
    # away from the ideal 6.98 as cs fell.
    from usadel.coefficients import matrix_current

    T, phi, Vs = 0.1, np.pi / 2, (8.0, 18.0)
    E = usadel.observables.energy_grid(e_th=1.0, T=T, e_max=150.0, n=500, mu=[v / 2 for v in Vs])
    arm = usadel.Device(usadel.meshes.interval(1.0, 60), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=1e4, phase=-phi / 2, T=T),
                         "right": usadel.Reservoir(delta=1e4, phase=phi / 2, T=T)})
    spa = usadel.spectral(arm, E)
    m11 = np.mean(np.real(matrix_current(arm.operators, spa.gamma, spa.gamma_t)[..., 0]), axis=1)
    ideal = {V: np.trapezoid(m11 * 0.5 * (np.tanh((E + V / 2) / (2 * T)) + np.tanh((E - V / 2) / (2 * T))), E)
             for V in Vs}
    got = {}
    for cs in (0.04, 0.02):
        sp = usadel.spectral(pi_junction(cs, phi, T), E)
        for V in Vs:
            k = usadel.kinetic(sp, contacts={"N1": usadel.Reservoir(T=T, mu=V / 2),
                                             "N2": usadel.Reservoir(T=T, mu=-V / 2)})
            got[cs, V] = k.current("S1", rtol=None)
            assert abs(got[cs, V] + k.current("S2", rtol=None)) < 1e-9 * abs(got[cs, V])  # conserved
    assert ideal[8.0] > 5.0 and ideal[18.0] < -1.0  # the pi state: the supercurrent reverses
    for V in Vs:
        a, b = got[0.04, V], got[0.02, V]
        assert 1.8 < (a - ideal[V]) / (b - ideal[V]) < 2.1, V
        assert abs(2 * b - a - ideal[V]) < 0.02, V


def test_cross_network_is_the_narrow_limit_of_the_2d_cross():
    # DOS of a normal cross between two S and two N reservoirs (arms of length 1, E_Th = 1):
    # the 2D cross with arm width w differs from the network by O(w) (the junction square
    # and the corners), so the difference must halve with w (measured ratios 1.95-2.08 where
    # it exceeds 5e-3) and the Richardson value 2 N(w/2) - N(w) must match the network within
    # 1e-3 (measured <= 3e-4; the rest is O(w^2) and the meshes' O(h^2), h = w/4 <= 0.025).
    def dev(mesh, width):
        return usadel.Device(mesh, {"cross": usadel.Material(sigma=1.0 / width)},  # conductance per length 1
                             {"left": usadel.Reservoir(delta=1e3), "right": usadel.Reservoir(delta=1e3),
                              "top": usadel.Reservoir(), "bottom": usadel.Reservoir()})

    net = usadel.meshes.network({"left": (-1, 0), "right": (1, 0), "top": (0, 1), "bottom": (0, -1), "c": (0, 0)},
                                [("left", "c", 100, "cross"), ("c", "right", 100, "cross"),
                                 ("top", "c", 100, "cross"), ("c", "bottom", 100, "cross")])
    E = np.array([0.5, 1.0, 2.0])
    pts = [[0.0, 0.0], [-0.5, 0.0], [0.0, 0.5]]
    ref = usadel.spectral(dev(net, 1.0), E).at(pts)
    d = {w: usadel.spectral(dev(usadel.meshes.cross(1.0, w), w), E).at(pts) - ref for w in (0.1, 0.05)}
    big = np.abs(d[0.1]) > 5e-3
    ratio = d[0.1][big] / d[0.05][big]
    assert big.sum() >= 3 and np.all((ratio > 1.7) & (ratio < 2.3)), ratio
    assert np.max(np.abs(2 * d[0.05] - d[0.1])) < 1e-3


@pytest.mark.slow
def test_three_terminal_pi_junction_reverses_at_the_published_voltage():
    # Heikkila, Wilhelm, Schon et al., PRB 66, 184513 (2002), as checked by usadel1's
    # test_optimization_snnns: SNS arm of length 1 (E_Th = 1) at phase pi/2, Delta = 5000,
    # one control wire of length 5 (same cross-section) to a normal reservoir at potential
    # V0 (the S contacts grounded), T -> 0: the supercurrent vanishes at eV0 = 8 +- 0.5 E_Th.
    # Here T = 0.02 E_Th (the zero moves by O((T/E_Th)^2)); measured 7.81. The supercurrent
    # is the part of the S currents antisymmetric between S1 and S2 (the control current
    # splits equally between them).
    from scipy.optimize import brentq

    T, phi = 0.02, np.pi / 2
    nodes = {"S1": (-0.5, 0), "c": (0, 0), "S2": (0.5, 0), "N": (0, 5), "u": (0, 0.5)}
    wires = [("S1", "c", 40, "arm"), ("c", "S2", 40, "arm"), ("c", "u", 20, "ctl"), ("u", "N", 60, "ctl")]
    dev = usadel.Device(usadel.meshes.network(nodes, wires), {"arm": usadel.Material(), "ctl": usadel.Material()},
                        {"S1": usadel.Reservoir(delta=5000.0, phase=-phi / 2, T=T),
                         "S2": usadel.Reservoir(delta=5000.0, phase=phi / 2, T=T), "N": usadel.Reservoir(T=T)})
    E = np.unique(np.r_[usadel.observables.energy_grid(e_th=1.0, T=T, e_max=200.0, n=600),
                        np.linspace(5.5, 10.5, 1001)])
    sp = usadel.spectral(dev, E)

    def supercurrent(V0):
        k = usadel.kinetic(sp, contacts={"N": usadel.Reservoir(T=T, mu=V0)})
        return 0.5 * (k.current("S1", rtol=None) - k.current("S2", rtol=None))

    assert supercurrent(0.0) > 5.0
    V0 = brentq(supercurrent, 6.0, 10.0, xtol=1e-3)
    assert abs(V0 - 8.0) < 0.5


@pytest.mark.slow
def test_solve_on_a_chain_network_equals_the_wire():
    # the full nonequilibrium loop (spectral <-> kinetic <-> gap) on a biased N-S-N chain:
    # the same discretisation as meshes.wire, so the same answer to the loop's tolerance
    from usadel.nonequilibrium import comoving_grid

    segs = [("N1", 0.5, 10), ("S", 3.0, 60), ("N2", 0.5, 10)]
    chain = usadel.meshes.network({"left": (0, 0), "a": (0.5, 0), "b": (3.5, 0), "right": (4.0, 0)},
                                  [("left", "a", 10, "N1"), ("a", "b", 60, "S"), ("b", "right", 10, "N2")])
    mats = {"N1": usadel.Material(), "S": usadel.Material(tc=1.0), "N2": usadel.Material()}
    res = {"left": usadel.Reservoir(T=0.2, mu=0.5), "right": usadel.Reservoir(T=0.2, mu=-0.5)}
    E = 1.76 * comoving_grid(n=600)
    a = usadel.solve(usadel.Device(chain, mats, res), 0.2, energies=E)
    b = usadel.solve(usadel.Device(usadel.meshes.wire(segs), mats, res), 0.2, energies=E)
    da, db = (s.delta[np.argsort(s.device.topology.p[0], kind="stable")] for s in (a, b))
    assert np.max(np.abs(db)) > 1.0 and np.max(np.abs(da - db)) < 1e-6
    assert abs(a.kinetic.current("left") - b.kinetic.current("left")) < 1e-8


def test_ring_network_and_refinement():
    # a square ring (two paths between the contacts) of equal arms in parallel: R = (1/2) R_path
    nodes = {"in": (-1, 0), "a": (0, 0), "b": (1, 1), "c": (1, -1), "d": (2, 0), "out": (3, 0)}
    L = np.sqrt(2.0)
    m = usadel.meshes.network(nodes, [("in", "a", 10, "N"), ("a", "b", 10, "N"), ("b", "d", 10, "N"),
                                      ("a", "c", 10, "N"), ("c", "d", 10, "N"), ("d", "out", 10, "N")])
    m = usadel.meshes.refined(m, 1)
    assert m.t.shape[1] == 120
    dev = usadel.Device(m, {"N": usadel.Material()}, {"in": usadel.Reservoir(T=T, mu=0.1),
                                                      "out": usadel.Reservoir(T=T)})
    k = usadel.kinetic(usadel.spectral(dev, np.linspace(0, 3, 3001)))
    I = 0.1 / (1.0 + L + 1.0)  # 1 + (2L || 2L) + 1
    assert abs(k.current("in") - I) < 1e-6 * I


def test_cross_section_enters_tunnel_terminals_and_every_integral():
    # A network wire of cross-section A with tunnel contacts (an S and a biased N reservoir)
    # is the 1D wire with conductivity sigma A and barrier resistances r/A: DOS and current
    # equal to rounding (the naive r, without the area, gives a different current).
    A, r, T0 = 0.5, 0.3, 0.2
    E = np.linspace(0, 3, 301)
    net = usadel.meshes.network({"left": (0.0, 0.0), "m": (0.3, 0.0), "right": (1.0, 0.0)},
                                [("left", "m", 30, "wire", A), ("m", "right", 70, "wire", A)])

    def dev(m, sigma, rr):
        return usadel.Device(m, {"wire": usadel.Material(sigma=sigma)},
                             {"left": usadel.Reservoir(delta=1.0, T=T0, barrier=usadel.Barrier(r=rr)),
                              "right": usadel.Reservoir(T=T0, mu=0.5, barrier=usadel.Barrier(r=rr))})

    sa = usadel.spectral(dev(net, 1.0, r), E)
    sb = usadel.spectral(dev(usadel.meshes.interval(1.0, 100), A, r / A), E)
    xs = np.linspace(0, 1, 5)
    assert np.max(np.abs(sa.at(np.c_[xs, 0 * xs]) - sb.at(xs[:, None]))) < 1e-9
    Ia, Ib = usadel.kinetic(sa).current("right"), usadel.kinetic(sb).current("right")
    assert abs(Ia - Ib) < 1e-9 * abs(Ib)
    # Tc of an S/N chain of different cross-sections with a barrier at the junction: the
    # barrier has the thinner wire's area, so it is the wire with sigma_i A_i and r/min(A)
    chain = usadel.meshes.network({"left": (0.0, 0.0), "m": (0.5, 0.0), "right": (1.5, 0.0)},
                                  [("left", "m", 10, "S", 2.0), ("m", "right", 20, "N", 0.5)])
    wire = usadel.meshes.wire([("S", 0.5, 10), ("N", 1.0, 20)])
    tc_net = usadel.critical_temperature(usadel.Device(
        chain, {"S": usadel.Material(tc=1.0, D=0.1), "N": usadel.Material(D=0.1)},
        interfaces={("S", "N"): usadel.Barrier(r=0.2)}))
    tc_wire = usadel.critical_temperature(usadel.Device(
        wire, {"S": usadel.Material(tc=1.0, D=0.1, sigma=2.0), "N": usadel.Material(D=0.1, sigma=0.5)},
        interfaces={("S", "N"): usadel.Barrier(r=0.2 / 0.5)}))
    assert 0.3 < tc_net < 1.0 and abs(tc_net - tc_wire) < 1e-9


def test_tunnel_control_contacts_anchor_the_distribution_like_clean_ones():
    # review finding: with tunnel-coupled control reservoirs the S contacts kept fixing hL;
    # as r -> 0 the current must tend to the clean-contact one (here r = 1e-6: to ~1e-9)
    T0, V = 0.1, 8.0
    E = usadel.observables.energy_grid(e_th=1.0, T=T0, e_max=150.0, n=400, mu=[V / 2])
    out = []
    for bar in (None, usadel.Barrier(r=1e-6)):
        dev = pi_junction(0.04)
        dev = usadel.Device(dev.mesh, dev.materials, {**dev.contacts, "N1": usadel.Reservoir(T=T0, barrier=bar),
                                                      "N2": usadel.Reservoir(T=T0, barrier=bar)})
        k = usadel.kinetic(usadel.spectral(dev, E), contacts={"N1": usadel.Reservoir(T=T0, mu=V / 2, barrier=bar),
                                                              "N2": usadel.Reservoir(T=T0, mu=-V / 2, barrier=bar)})
        out.append(k.current("S1", rtol=None))
    assert 6.0 < out[0] < 7.0 and abs(out[1] - out[0]) < 1e-6 * out[0]


def test_s_contacts_of_superconducting_wires_do_not_depend_on_the_floor():
    # review finding: releasing hL at an S contact at the end of an S wire (DL = floor along
    # the whole wire below its gap) made a current depend on the floor (3e-3 between 1e-9
    # and 1e-7); such contacts keep fixing hL, and the current moves by O(floor) only
    T0 = 0.2
    m = usadel.meshes.network({"S1": (-1, 0), "c": (0, 0), "S2": (1, 0), "N": (0, 1)},
                              [("S1", "c", 30, "S"), ("c", "S2", 30, "S"), ("c", "N", 30, "N")])
    dev = usadel.Device(m, {"S": usadel.Material(tc=0.6), "N": usadel.Material()},
                        {"S1": usadel.Reservoir(delta=1.0, phase=-0.5, T=T0),
                         "S2": usadel.Reservoir(delta=1.0, phase=0.5, T=T0), "N": usadel.Reservoir(T=T0)})
    sp = usadel.spectral(dev, usadel.observables.energy_grid(1.0, T=T0, e_max=30.0, n=400, mu=[0.6]),
                         delta={"S": 1.0})
    I = [usadel.kinetic(sp, floor=f, contacts={"N": usadel.Reservoir(T=T0, mu=0.6)}).current("S1", rtol=None)
         for f in (1e-9, 1e-7)]
    assert abs(I[0] - I[1]) < 1e-4 * abs(I[0])
