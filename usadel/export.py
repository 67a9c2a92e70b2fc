"""Views of results for other tools: VTU files for ParaView (meshio) and labelled arrays (xarray)."""

import os

import numpy as np

from .errors import UsadelError

from .io_format import RESULT_ATTRIBUTES, result_name
from .validate import real_array

__all__ = ["export_vtu", "vtu_fields", "to_xarray"]

# ----------------------------------------------------------------------------------------------- views


def _parts(result):
    """(device, spectral, kinetic, delta) of any result (None where it has none)."""
    name = result_name(result)
    if name is None:
        raise UsadelError(f"expected one of {list(RESULT_ATTRIBUTES)}, got {type(result).__name__}")
    if name == "SpectralResult":
        return result.device, result, None, result.delta
    if name == "KineticResult":
        return result.spectral.device, result.spectral, result, None
    if name == "GapResult":
        return result.device, None, None, result.delta
    return result.device, result.spectral, result.kinetic, result.delta


def _real_energies(sp):
    E = np.asarray(sp.energies)
    if np.iscomplexobj(E) and np.any(E.imag != 0):
        return None
    return np.real(E)


def _at_energies(E, arr, energies, where):
    """arr (n_E, ...) linearly interpolated to ``energies`` (inside the grid), shape (len, ...)."""
    req = np.atleast_1d(np.asarray(energies, float))
    if req.ndim != 1 or not np.all(np.isfinite(req)):
        raise UsadelError(f"{where}: energies must be a 1D array of finite numbers, got {energies!r}")
    lo, hi = E.min(), E.max()
    out_of = req[(req < lo) | (req > hi)]
    if out_of.size:
        raise UsadelError(f"{where}: energies {out_of[:5].tolist()} lie outside the result's grid [{lo:.6g}, {hi:.6g}]")
    order = np.argsort(E)
    Es = E[order]
    j = np.clip(np.searchsorted(Es, req, side="right") - 1, 0, Es.size - 1)
    j1 = np.minimum(j + 1, Es.size - 1)
    span = Es[j1] - Es[j]
    w = np.divide(req - Es[j], span, out=np.zeros_like(req), where=span > 0)
    a, b = arr[order[j]], arr[order[j1]]
    w = w.reshape((-1,) + (1,) * (arr.ndim - 1))
    return np.where(w == 0, a, (1 - w) * a + w * b)


def _default_energies(E, n=10):
    return E if E.size <= n else E[np.unique(np.linspace(0, E.size - 1, n).round().astype(int))]


_SENTINEL = object()

_CELL = {1: "line", 2: "triangle", 3: "tetra"}


def vtu_fields(result, energies=None, rtol=_SENTINEL):
    """The point data :func:`export_vtu` writes: {name: (n_nodes,) array}.

    Per energy E (linear interpolation between the stored energies; ``None``:
    the stored real energies, at most 10 of them evenly picked): ``dos(E=...)``
    and, with a kinetic result, ``hL(E=...)``, ``hT``, ``hLS``, ``hTS``.
    Energy-integrated: ``Delta_abs``, ``Delta_re``, ``Delta_im`` (GapResult,
    SolveResult, and the gap a SpectralResult was solved with),
    ``spin_accumulation`` and ``charge_imbalance`` (kinetic; ``rtol`` is passed
    to them, default: their own grid check).
    """
    dev, sp, k, delta = _parts(result)
    out = {}
    E = None if sp is None else _real_energies(sp)
    if energies is not None and E is None:
        raise UsadelError(f"export_vtu: this {type(result).__name__} has no real energies (Matsubara?); "
                          f"energies=... needs a real-axis result")
    if E is not None:
        pick = _default_energies(E) if energies is None else np.unique(
            real_array("export_vtu: energies", np.atleast_1d(energies) if np.ndim(energies) == 0 else energies, ndim=1))
        dos = _at_energies(E, sp.dos(), pick, "export_vtu")
        hs = None if k is None else _at_energies(E, k.h, pick, "export_vtu")
        for i, e in enumerate(pick):
            out[f"dos(E={e:.12g})"] = dos[i]
            if hs is not None:
                for c, nm in enumerate(("hL", "hT", "hLS", "hTS")):
                    out[f"{nm}(E={e:.12g})"] = hs[i, :, c]
    if delta is not None:
        d = np.broadcast_to(np.asarray(delta, complex), (dev.topology.n_nodes,))
        out.update(Delta_abs=np.abs(d), Delta_re=d.real.copy(), Delta_im=d.imag.copy())
    if k is not None:
        kw = {} if rtol is _SENTINEL else {"rtol": rtol}
        out["spin_accumulation"] = np.asarray(k.spin_accumulation(**kw), float)
        out["charge_imbalance"] = np.asarray(k.charge_imbalance(**kw), float)
    return out


def export_vtu(result, path, energies=None, *, rtol=_SENTINEL):
    """Write the device mesh with nodal fields to a VTU file (ParaView) through meshio.

    Points are the device's nodes (split interface nodes appear twice, at the
    same place, each in its own region's cells), padded to 3D; cells are its
    lines (1D wires and networks), triangles (2D) or tetrahedra, with cell data ``region`` (index
    into ``device.region_names``). Point data: see :func:`vtu_fields`.
    Returns the list of point-data names.
    """
    import meshio

    dev, _, _, _ = _parts(result)
    fields = vtu_fields(result, energies, rtol)
    top = dev.topology
    pts = np.zeros((top.n_nodes, 3))
    pts[:, :top.dim] = top.p.T
    mesh = meshio.Mesh(pts, [(_CELL[top.t.shape[0] - 1], np.ascontiguousarray(top.t.T))],
                       point_data={k: np.ascontiguousarray(v, dtype=float) for k, v in fields.items()},
                       cell_data={"region": [np.asarray(top.region, np.int32)]})
    mesh.write(os.fspath(path), file_format="vtu")
    return list(fields)


def _node_region(dev):
    """Region name per node: that of the lowest-index region among its elements."""
    top = dev.topology
    r = np.full(top.n_nodes, np.iinfo(np.int64).max)
    for row in top.t:
        np.minimum.at(r, row, top.region)
    return np.array(top.region_names, dtype=object)[r]


def to_xarray(result):
    """Labelled arrays of a result as an ``xarray.Dataset`` (needs xarray, not a dependency of usadel).

    Dims ``energy``, ``node`` (and ``component`` = L, T, LS, TS for h); node
    coordinates ``x`` (``y``, ``z``) and ``region`` (per node: the lowest-index
    region among its elements; split interface nodes each belong to their side).
    Variables: ``gamma``, ``gamma_t`` (complex; spin +1 of a spin-split result, whose spin -1 block is
    ``gamma_dn``, ``gamma_t_dn``), ``dos`` (real energies only; spin average, and ``dos_up``, ``dos_dn``),
    ``h`` (kinetic), ``delta`` (complex, per node). Attributes: the solver
    parameters kept on the result (eta, floor, T, iterations) and the usadel version.
    """
    try:
        import xarray as xr
    except ImportError:
        raise UsadelError("to_xarray needs xarray (python -m pip install xarray); it is not a dependency of "
                          "usadel") from None
    import usadel

    dev, sp, k, delta = _parts(result)
    top = dev.topology
    coords = {name: ("node", top.p[i]) for i, name in zip(range(top.dim), "xyz")}
    coords["region"] = ("node", _node_region(dev).astype(str))
    data = {}
    attrs = {"usadel_version": usadel.__version__, "result": type(result).__name__}
    if sp is not None:
        coords["energy"] = ("energy", np.asarray(sp.energies))
        data["gamma"] = (("energy", "node"), sp.gamma)
        data["gamma_t"] = (("energy", "node"), sp.gamma_t)
        if sp.spin_split:  # gamma, gamma_t are then spin +1; dos the spin average
            data["gamma_dn"] = (("energy", "node"), sp.gamma_dn)
            data["gamma_t_dn"] = (("energy", "node"), sp.gamma_t_dn)
        if _real_energies(sp) is not None:
            coords["energy"] = ("energy", _real_energies(sp))
            data["dos"] = (("energy", "node"), sp.dos())
            if sp.spin_split:
                data["dos_up"] = (("energy", "node"), sp.dos(1))
                data["dos_dn"] = (("energy", "node"), sp.dos(-1))
        attrs["eta"] = float(sp.eta)
    if k is not None:
        coords["component"] = ("component", ["L", "T", "LS", "TS"])
        data["h"] = (("energy", "node", "component"), k.h)
        attrs["floor"] = float(k.floor)
    if delta is not None:
        data["delta"] = (("node",), np.broadcast_to(np.asarray(delta, complex), (top.n_nodes,)))
    for a in ("T", "iterations", "n_matsubara", "normal_growth"):
        v = getattr(result, a, None)
        if v is not None:
            attrs[a] = v
    return xr.Dataset(data, coords=coords, attrs=attrs)
