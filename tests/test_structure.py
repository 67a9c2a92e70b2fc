"""The package's structure rules: public names import from their modules, no module
reaches into another's private names, and files and functions stay small."""

import ast
import importlib
import pathlib

import pytest

import usadel

PKG = pathlib.Path(usadel.__file__).parent
MODULES = sorted(p for p in PKG.glob("*.py"))
MAX_FILE_LINES = 500   # one idea per file (scikit-fem's habit): split a file that grows past this
MAX_FUNCTION_LINES = 80


def test_fixed_names_are_callables_and_modules_are_not_shadowed():
    from usadel.selfconsistency import gap  # noqa: F401
    from usadel.tc import critical_temperature

    assert usadel.critical_temperature is critical_temperature
    for name in ("spectral", "kinetic", "gap", "solve", "critical_temperature"):
        assert callable(getattr(usadel, name))
    # no public function hides a module of the same name
    for path in MODULES:
        name = path.stem
        if name.startswith("_"):
            continue
        attr = getattr(usadel, name, None)
        assert attr is None or attr is importlib.import_module(f"usadel.{name}"), name


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_every_public_name_imports_from_its_module(path):
    mod = importlib.import_module(f"usadel.{path.stem}")
    for name in getattr(mod, "__all__", []):
        assert hasattr(mod, name), f"usadel.{path.stem}.__all__ lists {name!r}, which it does not define"


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_no_private_imports_across_modules(path):
    tree = ast.parse(path.read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("usadel")):
            bad += [a.name for a in node.names if a.name.startswith("_")]
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            if isinstance(base, ast.Name) and base.id in {"usadel"}:
                bad.append(node.attr)
    assert not bad, f"{path.name} imports private names of other modules: {bad}"


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_files_and_functions_are_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_FILE_LINES, f"{path.name}: {len(text.splitlines())} lines"
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(ast.parse(text))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_shared_reservoir_keeps_contacts_apart():
    # the boundary model is keyed by tag: one Reservoir object serves two contacts
    r = usadel.Reservoir(T=0.1, barrier=usadel.Barrier(r=1.0))
    dev = usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material()}, {"left": r, "right": r})
    left, right = dev.boundary.contacts["left"], dev.boundary.contacts["right"]
    assert left.nodes.tolist() == [0] and right.nodes.tolist() == [dev.topology.n_nodes - 1]
