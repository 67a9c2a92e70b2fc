"""Reading usadel result files (the layout: :mod:`usadel.io`)."""

import dataclasses
import json
import os
import pickle

import numpy as np

from .errors import UsadelError

from .io_format import FORMAT, FORMAT_VERSION, import_path, key_from_json, require_h5py, result_class

__all__ = ["load", "Reader"]

# ----------------------------------------------------------------------------------------------- reading


class Reader:
    def __init__(self, f, path, allow_pickle):
        self.f = f
        self.path = path
        self.allow_pickle = allow_pickle
        self.memo = {}  # HDF5 path -> object

    def get(self, node):
        h5py = require_h5py()
        kind = node.attrs.get("type")
        if kind == "ref":
            target = node.attrs["target"]
            if target not in self.memo:
                self.memo[target] = self.get(self.f[target])
            return self.memo[target]
        if node.name in self.memo:
            return self.memo[node.name]
        if kind == "none":
            return None
        if kind in ("bool", "int", "float", "complex"):
            return node[()].item()
        if kind == "str":
            return node.asstr()[()]
        if kind == "bytes":
            return node[()].tobytes()
        if kind == "ndarray":
            out = node[()]
        elif kind in ("list", "tuple"):
            if isinstance(node, h5py.Dataset):
                items = node[()].tolist()
            else:
                items = [self.get(node[str(i)]) for i in range(len(node))]
            out = items if kind == "list" else tuple(items)
        elif kind == "dict":
            out = {key_from_json(c.attrs["key"]): self.get(c) for c in node.values()}
        elif kind == "dataclass":
            out = self._dataclass(node)
        elif kind == "pickle":
            if not self.allow_pickle:
                raise UsadelError(f"load: {self.path} holds a pickled {node.attrs.get('class', 'object')} at "
                                  f"{node.name}; unpickling runs code from the file, so pass allow_pickle=True "
                                  f"only for a file you trust")
            out = pickle.loads(node[()].tobytes())
        elif kind == "device":
            out = self._device(node)
        elif kind == "result":
            out = self._result(node)
        else:
            raise UsadelError(f"load: {self.path}: unknown node type {kind!r} at {node.name}")
        self.memo[node.name] = out
        return out

    def _dataclass(self, node):
        path = node.attrs["class"]
        cls = import_path(path)
        if cls is None and path.startswith("usadel."):  # a usadel class moved by a refactor: its public name
            import usadel

            cls = getattr(usadel, path.rsplit(".", 1)[1], None)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise UsadelError(f"load: {self.path}: {node.name} names the class {path!r}, which "
                              + ("cannot be imported here" if cls is None else "is not a dataclass"))
        vals = {k: self.get(c) for k, c in node.items()}
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        obj = cls(**{k: v for k, v in vals.items() if k in init})
        for k, v in vals.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj

    def _device(self, node):
        import skfem

        m = node["mesh"]
        if "network" in m.attrs:  # a usadel.meshes.network: rebuilt from its nodes and wires
            from .networks import network

            spec = json.loads(m.attrs["network"])
            mesh = network({k: tuple(v) for k, v in spec["nodes"].items()}, [tuple(w) for w in spec["wires"]])
            return self._finish_device(node, mesh)
        cls = import_path(m.attrs["class"])
        if not (isinstance(cls, type) and issubclass(cls, skfem.Mesh)):
            raise UsadelError(f"load: {self.path}: unknown mesh class {m.attrs['class']!r}")
        p, t = m["p"][()], m["t"][()]
        sub = {d.attrs["key"]: d[()] for d in m["subdomains"].values()}
        plain = cls(p, t)
        lookup = {f: i for i, f in enumerate(map(tuple, np.sort(plain.facets, axis=0).T.tolist()))}
        bnd = {}
        for d in m["boundaries"].values():
            found = np.array([lookup.get(tuple(c), -1) for c in np.sort(d[()], axis=0).T.tolist()], dtype=np.int64)
            if (found < 0).any():
                raise UsadelError(f"load: {self.path}: boundary {d.attrs['key']!r} has facets that are not facets "
                                  f"of the stored mesh")
            bnd[d.attrs["key"]] = found
        mesh = cls(p, t, bnd or None, sub, sort_t=False)  # the stored element node order, exactly
        return self._finish_device(node, mesh)

    def _finish_device(self, node, mesh):
        from .device import Device

        dev = Device(mesh, self.get(node["materials"]), self.get(node["contacts"]), self.get(node["interfaces"]),
                     order=int(node.attrs.get("order", 1)))  # files without it were written for P1
        tg = node["topology"]
        n = int(tg.attrs["n_nodes"])
        top = dev.topology
        if top.n_nodes != n or not (np.array_equal(top.p, tg["p"][()]) and np.array_equal(top.t, tg["t"][()])):
            raise UsadelError(f"load: {self.path}: the device rebuilt from the file has {top.n_nodes} nodes "
                              f"numbered differently from the {n} stored (split interface nodes included); the "
                              f"file was written by usadel {self.f.attrs.get('usadel_version', '?')} with another "
                              f"node numbering, so its nodal arrays do not fit this version's device")
        return dev

    def _result(self, node):
        name = node.attrs["class"]
        cls = result_class(name, node.attrs.get("module"))
        if cls is None:
            raise UsadelError(f"load: {self.path}: unknown result class {name!r} at {node.name}")
        self.memo[node.name] = None  # a cycle would be a corrupt file
        vals = {k: self.get(c) for k, c in node.items()}
        fields = dataclasses.fields(cls)
        init = {f.name for f in fields if f.init}
        required = [f.name for f in fields if f.init and f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        missing = [r for r in required if r not in vals]
        if missing:
            raise UsadelError(f"load: {self.path}: {name} at {node.name} lacks {missing}, which this usadel "
                              f"version's {name} needs")
        obj = cls(**{k: v for k, v in vals.items() if k in init})
        for k, v in vals.items():
            if k not in init:
                object.__setattr__(obj, k, v)  # private state (KineticResult._state), non-init fields
        return obj


def load(path, *, allow_pickle=False):
    """Read a result written by :func:`save`: the same class, methods working without a new solve.

    Parameters
    ----------
    path : str or path-like
    allow_pickle : bool
        Needed for a file holding pickles (written with ``save(...,
        allow_pickle=True)``); unpickling runs code from the file.

    Raises
    ------
    UsadelError
        For a file that is not a usadel result, one written in a newer format,
        a pickle without ``allow_pickle``, or a device whose rebuilt topology
        differs from the stored one.
    """
    h5py = require_h5py()
    if not isinstance(path, (str, os.PathLike)):
        raise UsadelError(f"load: path must be a file name, got {path!r}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsadelError(f"load: {path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise UsadelError(f"load: {path} is not an HDF5 file ({exc})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise UsadelError(f"load: {path} is not a usadel result file (no format = {FORMAT!r} attribute)")
        try:
            version = int(f.attrs.get("format_version", -1))
            if version > FORMAT_VERSION or version < 1:
                raise UsadelError(f"load: {path} has format version {version}; this usadel reads up to "
                                  f"{FORMAT_VERSION} (written by usadel {f.attrs.get('usadel_version', '?')})")
            r = Reader(f, path, bool(allow_pickle))
            if "device" in f:
                r.get(f["device"])
            return r.get(f["result"])
        except UsadelError:
            raise
        except (KeyError, ValueError, TypeError) as exc:  # a truncated or hand-edited file
            raise UsadelError(f"load: {path}: corrupt or incomplete usadel file ({type(exc).__name__}: {exc})") from None


