r"""Collinear exchange fields without spin mixing: two independent spin blocks.

With an exchange (or Zeeman) energy h(x) collinear with the spin axis and no
spin-flip or spin-orbit scattering, the 4x4 spin-Nambu retarded equation splits
into two 2x2 blocks, spin sigma = +-1 (spin-sigma electrons with spin -sigma
holes), each the spin-degenerate Riccati equation with E -> E + sigma h(x)
(``docs/conventions.md``, Exchange fields). This module holds what the solvers
need to know about h: which devices are spin split, the lumped h weights of the
retarded equation, and the checks that refuse what is not built yet:

- h != 0 anywhere together with tau_sf or tau_so anywhere (spin mixing couples
  the blocks, and the 2x2 pair-breaking term of tau_sf assumes g_up = g_dn), in
  every solver, the kinetic equations included;
- the self-consistent loop ``usadel.solve`` with h != 0 (the kinetic equations
  with h are built, ``usadel.spin_kinetics``; the loop's nonequilibrium gap update
  with spin-split spectra is not).

tau_so at h = 0 is built everywhere: it leaves spectra and gap unchanged and
relaxes the spin modes of the kinetic equations (``usadel.coefficients``).
"""

import math

import numpy as np

from .errors import UsadelError

__all__ = ["check_spin_blocks", "max_exchange", "spin_split", "exchange_weights", "require_spin_degenerate", "SPINS"]

#: the spin blocks of a spin-split device, in the order SpectralResult stores them
SPINS = (1, -1)


def _finite(tau):
    return tau is not None and not math.isinf(tau)


def check_spin_blocks(materials, contacts):
    """Refuse an exchange field together with spin-flip or spin-orbit scattering (blocks coupled: not built).

    ``materials``: {region: Material}; ``contacts``: {tag: Reservoir}.
    """
    fields = [f"material {r!r} (h = {m.h:g})" for r, m in materials.items() if m.h != 0]
    fields += [f"reservoir {t!r} (h = {c.h:g})" for t, c in contacts.items() if c.h != 0]
    mixing = [f"material {r!r} ({', '.join(k for k in ('tau_sf', 'tau_so') if _finite(getattr(m, k)))})"
              for r, m in materials.items() if _finite(m.tau_sf) or _finite(m.tau_so)]
    if fields and mixing:
        raise UsadelError(f"Device: an exchange field ({', '.join(fields)}) together with spin-flip or spin-orbit "
                          f"scattering ({', '.join(mixing)}) couples the two spin blocks of the 4x4 spin-Nambu "
                          f"equations; that is not supported yet (only collinear fields without spin mixing are)")


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


def require_spin_degenerate(where, device):
    """Raise for an exchange field in solvers built for spin-degenerate spectra only (the self-consistent ``solve``).

    tau_so is accepted: at h = 0 the spectra stay spin degenerate (Device refuses tau_so with h).
    """
    if spin_split(device):
        raise UsadelError(f"{where}: the device has an exchange field (max |h| = {max_exchange(device):g}); the "
                          f"self-consistent nonequilibrium loop with h is not supported yet (its gap update "
                          f"with spin-split spectra is not built): use usadel.gap for the equilibrium gap and "
                          f"usadel.kinetic for the distributions at a given gap")
