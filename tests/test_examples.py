"""Every script in examples/ runs and passes its own checks (the scikit-fem habit:
examples are documentation and regression tests at once)."""

import pathlib
import runpy

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path):
    runpy.run_path(str(path), run_name="__main__")
