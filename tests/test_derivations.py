"""The formulas coded in the solver follow from the matrix Usadel equation (symbolic checks in docs/)."""

import pathlib
import runpy

import pytest

SCRIPTS = ["derive_riccati.py",  # Riccati form of seed Eqs. 9-10, KL condition, matrix current
           "derive_exchange.py",  # exchange-field formulas: semi-infinite F wire, self-energies, free energy
           "derive_spinorbit.py",  # spin-flip and spin-orbit relaxation terms of the kinetic equations
           "derive_spin_mixing.py"]  # coupled spin blocks: self-energies and Riccati rows


@pytest.mark.parametrize("script", SCRIPTS)
def test_derivation_symbolic(script):
    runpy.run_path(str(pathlib.Path(__file__).parents[1] / "docs" / script), run_name="__main__")
