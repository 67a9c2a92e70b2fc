"""Plots of results with matplotlib: each function takes an Axes (or makes one) and returns it.

The library never selects a matplotlib backend: in Jupyter the figures show
inline, in scripts without a display matplotlib falls back to Agg by itself,
and ``ax.figure.savefig(path)`` writes a file. Axes carry units: lengths in
units of the device's extent L, energies in units of its Thouless energy
E_Th = max(D)/L^2 (the scale of the proximity effect), unless told otherwise.
"""

import numpy as np

__all__ = ["plot_dos", "plot_field", "plot_distributions", "plot_iv", "plot_cpr", "device_scales"]

#: colour scale of DOS maps stops here: the gap-edge peaks would swamp the scale (said on the colour bar)
DOS_VMAX = 3.0


def _axes(ax, **kw):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(**kw)[1]


def device_scales(device):
    """(L, E_Th): the device's largest extent and max(D)/L^2."""
    p = device.topology.p
    L = float(np.ptp(p, axis=1).max())
    D = max(m.D for m in device.materials.values())
    return L, D / L**2


def _field_map(ax, device, values, label, cmap="viridis", vmin=None, vmax=None):
    """A nodal field: a line over x/L in 1D, a colour map over (x/L, y/L) in 2D, coloured wires for networks."""
    L, _ = device_scales(device)
    top = device.topology
    if top.dim == 1:
        x = top.p[0] / L
        order = np.argsort(x, kind="stable")
        ax.plot(x[order], np.asarray(values)[order], label=label)
        ax.set_xlabel(r"$x/L$")
        ax.legend()
        return ax
    if top.t.shape[0] == 2:
        m = _wire_map(ax, top, np.asarray(values, float), L, cmap, vmin, vmax)
    else:
        m = ax.tripcolor(top.p[0] / L, top.p[1] / L, top.t.T, values, shading="gouraud", cmap=cmap,
                         vmin=vmin, vmax=vmax)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$x/L$")
    ax.set_ylabel(r"$y/L$")
    ax.figure.colorbar(m, ax=ax, label=label)
    return ax


def _wire_map(ax, top, values, L, cmap, vmin, vmax):
    """A network (wires in 2D or 3D, drawn in the x-y plane): each element coloured by its nodes' mean."""
    from matplotlib.collections import LineCollection

    seg = np.stack([top.p[:2, top.t[0]].T, top.p[:2, top.t[1]].T], axis=1) / L
    lc = LineCollection(seg, cmap=cmap, linewidths=3)
    lc.set_array(values[top.t].mean(axis=0))
    lc.set_clim(vmin if vmin is not None else np.nanmin(values), vmax if vmax is not None else np.nanmax(values))
    ax.add_collection(lc)
    pad = 0.05 * max(np.ptp(seg[..., 0]), np.ptp(seg[..., 1]))
    ax.set_xlim(seg[..., 0].min() - pad, seg[..., 0].max() + pad)
    ax.set_ylim(seg[..., 1].min() - pad, seg[..., 1].max() + pad)
    return lc


def plot_dos(sp, path=None, ax=None, energy=None, vmax=DOS_VMAX):
    """DOS of a :class:`usadel.SpectralResult`: N(x, E) map in 1D, N(x, y) at ``energy`` in 2D.

    Returns the Axes (written to ``path`` too if given). The colour scale is cut at
    ``vmax`` (the colour bar says so). In 1D, ``energy`` gives N(x) at that energy.
    """
    ax = _dos_axes(sp, _axes(ax, figsize=(6, 4)), energy, vmax)
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax


def _dos_axes(sp, ax, energy, vmax):
    N = sp.dos()
    E = np.real(sp.energies)
    L, e_th = device_scales(sp.device)
    cut = f" (cut at {vmax:g})" if np.nanmax(N) > vmax else ""
    if sp.device.dim == 1 and energy is None:
        x = sp.x[:, 0] / L
        order = np.argsort(x, kind="stable")
        eo = np.argsort(E, kind="stable")
        m = ax.pcolormesh(x[order], E[eo] / e_th, N[np.ix_(eo, order)], shading="auto", cmap="viridis",
                          vmin=0.0, vmax=vmax)
        ax.set_xlabel(r"$x/L$")
        ax.set_ylabel(r"$E/E_\mathrm{Th}$")
        ax.figure.colorbar(m, ax=ax, label=r"$N(x, E)/N_0$" + cut)
        return ax
    k = int(np.argmin(np.abs(E - (0.0 if energy is None else energy))))
    label = rf"$N/N_0$ at $E = {E[k] / e_th:.3g}\,E_\mathrm{{Th}}$"
    if sp.device.dim == 1:
        ax.set_ylabel(r"$N/N_0$")
    else:
        ax.set_title(label, fontsize=10)
    return _field_map(ax, sp.device, N[k], label + ("" if sp.device.dim == 1 else cut), vmin=0.0, vmax=vmax)


def plot_field(device, values, label, ax=None):
    """Any nodal field (Delta, spin accumulation, ...) on its device; returns the Axes."""
    ax = _axes(ax, figsize=(6, 4))
    if device.dim == 1:
        ax.set_ylabel(label)
    return _field_map(ax, device, values, label)


def plot_distributions(k, point, ax=None):
    """hL, hT, hLS, hTS against E/E_Th at a point of a :class:`usadel.KineticResult`; returns the Axes."""
    ax = _axes(ax, figsize=(6, 4))
    _, e_th = device_scales(k.spectral.device)
    E = k.energies
    order = np.argsort(E, kind="stable")
    h = k.distribution(point)
    for c, name in enumerate((r"$h_L$", r"$h_T$", r"$h_{LS}$", r"$h_{TS}$")):
        ax.plot(E[order] / e_th, h[order, c], label=name)
    ax.set_xlabel(r"$E/E_\mathrm{Th}$")
    ax.set_ylabel("distribution")
    ax.set_title(f"at x = {np.atleast_1d(point).tolist()}", fontsize=10)
    ax.legend()
    return ax


def plot_iv(V, I, ax=None, label="I(V)", R_N=None):
    """Current against voltage; with ``R_N`` also Ohm's line V/R_N. Returns the Axes."""
    ax = _axes(ax, figsize=(5, 4))
    ax.plot(V, I, "o-", ms=3, label=label)
    if R_N is not None:
        ax.plot(V, np.asarray(V) / R_N, "k:", label=r"$V/R_N$")
    ax.set_xlabel(r"$eV$")
    ax.set_ylabel(r"$I$")
    ax.legend()
    return ax


def plot_cpr(phi, I, ax=None, label=r"$I(\varphi)$"):
    """Current-phase relation, phase in units of pi. Returns the Axes."""
    ax = _axes(ax, figsize=(5, 4))
    ax.plot(np.asarray(phi) / np.pi, I, "o-", ms=3, label=label)
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel(r"$\varphi/\pi$")
    ax.set_ylabel(r"$I$")
    ax.legend()
    return ax
