r"""Collinear exchange fields: the two spin blocks of the 4x4 spin-Nambu equations.

With an exchange (or Zeeman) energy h(x) collinear with the spin axis the 4x4
spin-Nambu retarded equation splits into two 2x2 blocks, spin sigma = +-1
(spin-sigma electrons with spin -sigma holes), each the spin-degenerate Riccati
equation with E -> E + sigma h(x) (``docs/conventions.md``, Exchange fields).
Without spin-flip or spin-orbit scattering the blocks are independent; with
them (and h != 0 somewhere) their self-energies couple the blocks and
``usadel.spectral`` solves both together (:mod:`usadel.spin_mixing`). This module
holds what the solvers need to know about h: which devices are spin split or
spin mixed, the lumped h weights of the retarded equation, and the checks that
refuse what is not built yet:

- ``critical_temperature`` with spin mixing (h with tau_sf or tau_so) and spin-split
  reservoirs (``usadel.tc``);

tau_so at h = 0 is built everywhere: it leaves spectra and gap unchanged and
relaxes the spin modes of the kinetic equations (``usadel.coefficients``).
"""

import math

import numpy as np


__all__ = ["spin_mixing", "max_exchange",
           "spin_split", "exchange_weights", "SPINS"]

#: the spin blocks of a spin-split device, in the order SpectralResult stores them
SPINS = (1, -1)


def _finite(tau):
    return tau is not None and not math.isinf(tau)


def spin_mixing(device):
    """True if ``device`` is spin split and has spin-flip or spin-orbit scattering somewhere (coupled blocks)."""
    return spin_split(device) and any(_finite(m.tau_sf) or _finite(m.tau_so) for m in device.materials.values())


def max_exchange(device):
    """Largest |h| of the device's materials and reservoirs (0.0 without an exchange field)."""
    hs = [abs(m.h) for m in device.materials.values()] + [abs(c.h) for c in device.contacts.values()]
    return max(hs, default=0.0)


def spin_split(device):
    """True if any material or reservoir of ``device`` has an exchange field h != 0."""
    return max_exchange(device) > 0


def exchange_weights(device):
    """Lumped (sigma/D) h per node, the weight of the exchange term -2 i sigma h gamma in the retarded rows.

    Same lumping as the energy term (``Operators.lump_sd``), so a node's
    effective field is ``exchange_weights / lump_sd``, a sigma/D-weighted mean
    over the regions that meet there.
    """
    ops = device.operators
    h_e = np.array([m.h for m in device.region_material()])[ops.region]
    return ops.lump(ops.w_el / ops.D_e * h_e)
