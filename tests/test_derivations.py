"""The formulas coded in the solver follow from the matrix Usadel equation (symbolic check)."""

import pathlib
import runpy


def test_riccati_derivation_symbolic():
    script = pathlib.Path(__file__).parents[1] / "docs" / "derive_riccati.py"
    runpy.run_path(str(script), run_name="__main__")


def test_exchange_field_formulas_symbolic():
    script = pathlib.Path(__file__).parents[1] / "docs" / "derive_exchange.py"
    runpy.run_path(str(script), run_name="__main__")


def test_spin_relaxation_kinetic_terms_symbolic():
    script = pathlib.Path(__file__).parents[1] / "docs" / "derive_spinorbit.py"
    runpy.run_path(str(script), run_name="__main__")


def test_spin_mixing_rows_symbolic():
    script = pathlib.Path(__file__).parents[1] / "docs" / "derive_spin_mixing.py"
    runpy.run_path(str(script), run_name="__main__")
