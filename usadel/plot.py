"""Plots of results (matplotlib, Agg backend when writing files)."""

import numpy as np

__all__ = ["plot_dos"]


def _axes(ax):
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        return fig, ax
    return ax.figure, ax


def plot_dos(sp, path=None, ax=None):
    """N(x, E) of a :class:`usadel.SpectralResult`; returns the figure."""
    fig, ax = _axes(ax)
    N = sp.dos()
    E = np.real(sp.energies)
    if sp.device.dim == 1:
        x = sp.x[:, 0]
        order = np.argsort(x, kind="stable")
        vmax = min(float(np.nanmax(N)), 3.0)  # gap-edge peaks would swamp the scale
        m = ax.pcolormesh(x[order], E, N[:, order], shading="auto", cmap="viridis", vmin=0.0, vmax=vmax)
        ax.set_xlabel("x")
        ax.set_ylabel("E")
        fig.colorbar(m, ax=ax, label="N(x, E) / N0")
    else:
        k = int(np.argmin(np.abs(E)))
        top = sp.device.topology
        m = ax.tripcolor(top.p[0], top.p[1], top.t.T, N[k], shading="gouraud", cmap="viridis")
        ax.set_aspect("equal")
        ax.set_title(f"N(x, E = {E[k]:.3g})")
        fig.colorbar(m, ax=ax, label="N / N0")
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
