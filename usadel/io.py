"""Results you can keep: every result object in one self-describing HDF5 file.

:func:`save` writes a :class:`~usadel.SpectralResult`, :class:`~usadel.KineticResult`,
:class:`~usadel.GapResult` or :class:`~usadel.SolveResult` (with its device and
every nested result) to one HDF5 file; :func:`load` gives back an object of the
same class whose methods (``dos()``, ``current(...)``, ``spin_accumulation()``,
``at(...)``, ...) work without solving anything again. :func:`export_vtu` writes
nodal fields for ParaView; :func:`to_xarray` gives labelled arrays (if xarray is
installed).

Why HDF5 (h5py): it is the standard self-describing container for large
(complex) arrays, readable from any language, with partial reads
(``h5py.File(path)["result/gamma"][:, :10]``). xarray/netCDF would add pandas and
stores no complex numbers natively.

File layout (every group and dataset carries an attribute ``type``)::

    /                       attrs: format = "usadel-result", format_version, usadel_version,
                                   class (e.g. "KineticResult"), created, h5py/hdf5/numpy versions
    /device                 type "device": the device, stored once; attr order (Lagrange element order,
                            1 when absent)
        mesh/               attr class (the skfem mesh class); p (dim, n), t (dim+1, n_el),
                            subdomains/<region> (element indices), boundaries/<tag> (facet nodes)
        materials/<region>  type "dataclass" (class usadel.device.Material): D, tc, tau_sf, sigma, h, tau_so
        contacts/<tag>      Reservoir: delta, phase, T, mu, mu_s, h, barrier (Barrier: r, polarization),
                            distribution (None, a dataclass by class path and fields, or a pickle)
        interfaces/<i>      Barrier, attr key = the region pair
        topology/           n_nodes (split interface nodes included), p, t: checked on load
    /result                 type "result", attr class: one node per attribute (``RESULT_ATTRIBUTES``):
                            arrays as datasets (native dtype, complex included), numbers and
                            strings as scalar datasets, None, lists, tuples and dicts as groups
                            (dict children carry their key as JSON in attr ``key``), nested
                            results as groups, and shared objects (the device, a SpectralResult
                            used twice) as type "ref" with attr ``target`` (the path stored first)

Writes are atomic: the file is written to a temporary file in the same
directory and moved over ``path`` (``os.replace``) only when complete; an
exception leaves an existing file untouched and no temporary file behind.

Loading rebuilds the Device from its stored parts (``usadel.Device(mesh,
materials, contacts, interfaces)``) and checks that its topology (node count with
the split interface nodes, node coordinates and elements) is the stored one.
Only data is loaded: a pickle (written only with ``allow_pickle=True``) is read
only with ``allow_pickle=True``; a stored dataclass is rebuilt by importing its
class by name, and a name that is not a dataclass is refused.
"""

import dataclasses
import datetime
import json
import os
import pickle
import uuid

import numpy as np

from .errors import UsadelError
from .networks import NetworkMesh

from .io_format import (COMPRESS_MIN, FORMAT, FORMAT_VERSION, RESULT_ATTRIBUTES, attributes, child_name,
                        class_path, import_path, is_real_number, key_json, require_h5py, result_name)
from .io_read import load
from .export import export_vtu, to_xarray, vtu_fields

__all__ = ["save", "load", "export_vtu", "vtu_fields", "to_xarray", "RESULT_ATTRIBUTES", "FORMAT", "FORMAT_VERSION"]

# ----------------------------------------------------------------------------------------------- writing


class Writer:
    def __init__(self, allow_pickle, compression):
        self.allow_pickle = allow_pickle
        self.compression = compression
        self.memo = {}  # id -> path of the node stored first
        self.alive = []  # keep memoised objects alive so that ids are not reused during the write

    def _remember(self, value, node):
        self.memo[id(value)] = node.name
        self.alive.append(value)

    def put(self, parent, name, value, where):
        if id(value) in self.memo and (isinstance(value, np.ndarray) or is_shared(value)):
            node = parent.create_group(name)
            node.attrs["type"] = "ref"
            node.attrs["target"] = self.memo[id(value)]
            return node
        from .device import Device

        if isinstance(value, Device):
            return self._device(parent, name, value, where)
        rname = result_name(value)
        if rname is not None:
            return self._result(parent, name, value, rname, where)
        if value is None:
            node = parent.create_group(name)
            node.attrs["type"] = "none"
            return node
        if isinstance(value, (bool, np.bool_)):
            return self._scalar(parent, name, np.bool_(value), "bool")
        if isinstance(value, (int, np.integer)):
            return self._scalar(parent, name, np.int64(value), "int")
        if isinstance(value, (float, np.floating)):
            return self._scalar(parent, name, np.float64(value), "float")
        if isinstance(value, (complex, np.complexfloating)):
            return self._scalar(parent, name, np.complex128(value), "complex")
        if isinstance(value, str):
            node = parent.create_dataset(name, data=value)
            node.attrs["type"] = "str"
            return node
        if isinstance(value, bytes):
            return self._scalar(parent, name, np.void(value), "bytes")
        if isinstance(value, np.ndarray):
            return self._array(parent, name, value, where)
        if isinstance(value, (list, tuple)):
            kind = "list" if isinstance(value, list) else "tuple"
            if value and all(is_real_number(v) for v in value) and (
                    all(isinstance(v, (float, np.floating)) for v in value)
                    or all(isinstance(v, (int, np.integer)) for v in value)):
                node = parent.create_dataset(name, data=np.asarray(value))  # compact: a list of numbers
                node.attrs["type"] = kind
                return node
            node = parent.create_group(name, track_order=True)
            node.attrs["type"] = kind
            for i, v in enumerate(value):
                self.put(node, str(i), v, f"{where}[{i}]")
            return node
        if isinstance(value, dict):
            node = parent.create_group(name, track_order=True)
            node.attrs["type"] = "dict"
            for i, (k, v) in enumerate(value.items()):
                key = key_json(k, where)
                child = child_name(k, i)
                if child in node:
                    child = f"item{i}"
                self.put(node, child, v, f"{where}[{k!r}]").attrs["key"] = key
            return node
        if dataclasses.is_dataclass(value) and not isinstance(value, type) and import_path(class_path(type(value))) is type(value):
            return self._dataclass(parent, name, value, where)
        return self._pickle(parent, name, value, where)

    def _scalar(self, parent, name, value, kind):
        node = parent.create_dataset(name, data=value)
        node.attrs["type"] = kind
        return node

    def _array(self, parent, name, value, where):
        if value.dtype.kind not in "biufc":
            raise UsadelError(f"save: {where} is an array of dtype {value.dtype}, which is not stored "
                              f"(numbers only)")
        kw = {}
        if self.compression and value.size >= COMPRESS_MIN:
            kw = dict(compression=self.compression, shuffle=True, chunks=True)
        node = parent.create_dataset(name, data=value, **kw)
        node.attrs["type"] = "ndarray"
        self._remember(value, node)
        return node

    def _dataclass(self, parent, name, value, where):
        # an importable dataclass is stored as its class path and its fields (each checked in turn)
        node = parent.create_group(name, track_order=True)
        node.attrs["type"] = "dataclass"
        node.attrs["class"] = class_path(type(value))
        for f in dataclasses.fields(value):
            self.put(node, f.name, getattr(value, f.name), f"{where}.{f.name}")
        return node

    def _pickle(self, parent, name, value, where, why=None):
        if not self.allow_pickle:
            what = f"a {type(value).__name__}" + (f" ({why})" if why else "")
            contact = ""
            if ".contacts[" in where and where.endswith(".distribution"):
                contact = f"the distribution of contact {where.rsplit('.contacts[', 1)[1][:-len('].distribution')]}: "
            raise UsadelError(f"save: {contact}{where} is {what}, which cannot be stored as data: only numbers, "
                              f"arrays, strings and importable dataclass instances (e.g. usadel.seed.SpinBattery) "
                              f"are; use such a dataclass, or pass allow_pickle=True to store a pickle (which "
                              f"load() then reads only with allow_pickle=True)")
        try:
            blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise UsadelError(f"save: {where} ({type(value).__name__}) does not pickle: {exc}") from None
        node = parent.create_dataset(name, data=np.void(blob))
        node.attrs["type"] = "pickle"
        node.attrs["class"] = class_path(type(value))
        return node

    def _device(self, parent, name, dev, where):
        top = dev.topology
        node = parent.create_group(name, track_order=True)
        node.attrs["type"] = "device"
        node.attrs["order"] = int(getattr(dev, "order", 1))  # Lagrange element order (usadel.order)
        self._remember(dev, node)
        mesh = dev.mesh
        m = node.create_group("mesh", track_order=True)
        m.attrs["type"] = "mesh"
        m.attrs["class"] = class_path(type(mesh))
        dataset(m, "p", np.asarray(mesh.p, float))
        dataset(m, "t", np.asarray(mesh.t, np.int64))
        if isinstance(mesh, NetworkMesh):  # rebuilt from its nodes and wires on load
            nodes, wires = mesh.spec
            m.attrs["network"] = json.dumps({"nodes": nodes, "wires": [list(w) for w in wires]})
        sub = m.create_group("subdomains", track_order=True)
        sub.attrs["type"] = "regions"  # element indices per region
        for k, (r, idx) in enumerate(mesh.subdomains.items()):
            dataset(sub, child_name(r, k), np.asarray(idx, np.int64)).attrs["key"] = r
        bnd = m.create_group("boundaries", track_order=True)
        bnd.attrs["type"] = "facets"  # facets by their nodes (dim, n_facets), not by skfem's facet numbering
        for k, (tag, idx) in enumerate((mesh.boundaries or {}).items()):
            dataset(bnd, child_name(tag, k), np.asarray(mesh.facets[:, np.asarray(idx)], np.int64)).attrs["key"] = tag
        self.put(node, "materials", dict(dev.materials), f"{where}.materials")
        self.put(node, "contacts", dict(dev.contacts), f"{where}.contacts")
        self.put(node, "interfaces", dict(dev.interfaces), f"{where}.interfaces")
        tg = node.create_group("topology")
        tg.attrs["type"] = "topology"  # the device's finalised nodes (split at tunnel interfaces): checked on load
        tg.attrs["n_nodes"] = int(top.n_nodes)
        dataset(tg, "p", np.asarray(top.p, float))
        dataset(tg, "t", np.asarray(top.t, np.int64))
        return node

    def _result(self, parent, name, res, rname, where):
        node = parent.create_group(name, track_order=True)
        node.attrs["type"] = "result"
        node.attrs["class"] = rname
        node.attrs["module"] = type(res).__module__
        self._remember(res, node)
        for a in attributes(res, rname):
            self.put(node, a, getattr(res, a), f"{where}.{a}")
        return node


def dataset(parent, name, arr):
    node = parent.create_dataset(name, data=arr)
    node.attrs["type"] = "ndarray"
    return node


def is_shared(value):
    from .device import Device

    return isinstance(value, Device) or result_name(value) is not None


def device_of(result):
    dev = getattr(result, "device", None)
    if dev is None and getattr(result, "spectral", None) is not None:
        dev = getattr(result.spectral, "device", None)
    return dev


def versions(h5py):
    import usadel

    return dict(usadel_version=usadel.__version__, h5py_version=h5py.__version__,
                hdf5_version=h5py.version.hdf5_version, numpy_version=np.__version__)


def save(result, path, *, allow_pickle=False, compression=None):
    """Write a result (with its device and nested results) to one HDF5 file, atomically.

    Parameters
    ----------
    result : SpectralResult, KineticResult, GapResult or SolveResult
    path : str or path-like
        The file; an existing one is replaced only once the new one is complete.
    allow_pickle : bool
        Store objects that are not data (a ``Reservoir.distribution`` that is
        not an importable dataclass, e.g. a lambda) as pickles. Without it such
        an object raises UsadelError naming it (and its contact).
    compression : None, "gzip" or "lzf"
        HDF5 compression of the large arrays (default none: fastest; complex
        solutions compress little).

    Raises
    ------
    UsadelError
        For an object that is not a result, or a value that cannot be stored.
    """
    h5py = require_h5py()
    rname = result_name(result)
    if rname is None:
        raise UsadelError(f"save: expected one of {list(RESULT_ATTRIBUTES)}, got {type(result).__name__}")
    if compression not in (None, "gzip", "lzf"):
        raise UsadelError(f"save: compression must be None, 'gzip' or 'lzf', got {compression!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise UsadelError(f"save: path must be a file name, got {path!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsadelError(f"save: the directory {folder} does not exist")
    if os.path.isdir(path):
        raise UsadelError(f"save: {path} is a directory; give a file name")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        with h5py.File(tmp, "x", track_order=True) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["class"] = rname
            f.attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            for k, v in versions(h5py).items():
                f.attrs[k] = v
            w = Writer(bool(allow_pickle), compression)
            dev = device_of(result)
            if dev is not None:
                w.put(f, "device", dev, "device")
            w.put(f, "result", result, rname)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


