"""Every script in examples/ runs and passes its own checks (the scikit-fem habit:
examples are documentation and regression tests at once)."""

import pathlib
import runpy

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("*.py"))
#: examples whose physics the default selection tests more cheaply elsewhere (run with -m slow)
SLOW = {"pi_junction"}  # tests/test_networks.py::test_controlled_pi_junction_approaches_the_double_step_model


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW else p for p in EXAMPLES],
                         ids=[p.stem for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # plots go to out/ of the working directory
    runpy.run_path(str(path), run_name="__main__")
