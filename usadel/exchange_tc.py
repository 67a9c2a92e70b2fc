r"""The linearised gap equation with an exchange field that differs between regions (for ``usadel.tc``).

Near Tc the Matsubara solution of spin block sigma is f = 2 A^{-1} C Delta with
A = K' + 2 w C + 2 i sigma H (``usadel.linear_response``; H the lumped sigma/D h per node,
``usadel.exchange.exchange_weights``). In the eigenmodes K' V = C V Lambda (V^T C V = 1),
A^{-1} = V (Lambda + 2 w + 2 i sigma Ht)^{-1} V^T with Ht = V^T H V, dense when h varies
in space (for one h everywhere Ht = h and the sums are digamma functions,
:func:`usadel.tc.exchange_mode_sum`). The two spins are complex conjugates (Lambda, Ht real),
so the spin average is the real part, and the sum of the gap equation is the h = 0 mode
sum plus, in mode space,

    Y(T) = sum_{n>=0} 2 pi T 2 [(Lambda + 2 w_n)^{-1} - Re (Lambda + 2 w_n + 2 i Ht)^{-1}],

whose terms fall as h^2/w^3. The first N terms (w_N >= ``EXPLICIT_REACH`` max|h|, at most
``MAX_EXPLICIT``) are summed, the rest is the midpoint rule turned around (Euler-Maclaurin, as in
``usadel.linear_response.QuadratureTail``): the integral from a = 2 pi T N by Gauss-Legendre
in ln w (``PANEL_POINTS`` per unit, up to ``TOP`` x max(a, |h|); the terms are analytic in
the strip |arg w| < pi/2 and the nearest singularity, near w = -+ i h, lies ln(EXPLICIT_REACH)
below the first panel) plus (2 pi T)^2/24 F'(a), and the remainder beyond the top
(< h^2/top^2 of the sum) is dropped.
"""

import numpy as np

from .errors import UsadelError
from .exchange import exchange_weights
from .linear_response import EM_STEP

__all__ = ["ExchangeModes", "MAX_EXCHANGE_MODES", "EXPLICIT_REACH", "PANEL_POINTS", "TOP"]

#: largest number of free nodes for a spatially varying h: a dense complex inverse per frequency, ~150 of
#: them per temperature (measured on 2 shared cores: 0.5 s per temperature and 29 s per Tc at 150 nodes,
#: 87 s at 300; the cost grows as nodes^3)
MAX_EXCHANGE_MODES = 400
#: the explicit sum reaches w >= EXPLICIT_REACH x max|h|, with MIN_EXPLICIT to MAX_EXPLICIT terms (at low T
#: 2 pi T << |h| and the terms are smooth on the step: the Euler-Maclaurin remainder is O(MAX_EXPLICIT^-4))
EXPLICIT_REACH = 4.0
MIN_EXPLICIT = 16
MAX_EXPLICIT = 64
#: Gauss-Legendre points per unit of ln w in the tail integral
PANEL_POINTS = 8
#: the tail integral runs up to TOP x max(a, |h|); beyond it the terms (~h^2/w^3) are dropped
TOP = 1e4
#: frequencies inverted together (memory: BATCH m^2 complex numbers)
BATCH = 8


class ExchangeModes:
    """The exchange-field part Y(T) of the linearised gap equation in mode space (module docstring).

    ``device``; ``free`` the free nodes and ``V`` the modes of ``usadel.linear_response.linear_modes``.
    """

    def __init__(self, device, free, lam, V, mixing=None):
        if free.size > MAX_EXCHANGE_MODES:
            raise UsadelError(f"critical_temperature: an exchange field that differs between regions needs a dense "
                              f"complex inverse per frequency, limited to {MAX_EXCHANGE_MODES} free nodes (this "
                              f"device has {free.size}); use a coarser mesh")
        hw = exchange_weights(device)[free]
        self.lam = lam
        self.Ht = V.T @ (hw[:, None] * V)
        #: spin mixing: Mt = V^T cM V with cM the lumped (sigma/D)(a - b) per node (``mixing``), else None
        self.Mt = None if mixing is None else V.T @ (mixing[free][:, None] * V)
        self.hmax = float(max(abs(m.h) for m in device.materials.values()))

    def _terms(self, om):
        """F(w) = 2 [(Lambda + 2w)^{-1} - Re (Lambda + 2w + 2 i Ht)^{-1}] for each w in ``om``, (len, m, m).

        With spin mixing the two blocks' linear systems [[P - 2 Mt - 2 i Ht, 2 Mt], [2 Mt, P - 2 Mt + 2 i Ht]]
        (P = Lambda + 2w) have the spin average (P + 4 Ht (P - 4 Mt)^{-1} Ht)^{-1}, which is
        Re (P + 2 i Ht)^{-1} at Mt = 0 (``docs/derivations.md``, Spin mixing)."""
        m = self.lam.size
        out = np.empty((len(om), m, m))
        for i in range(0, len(om), BATCH):
            w = np.asarray(om[i:i + BATCH], float)
            P = self.lam[None, :] + 2 * w[:, None]
            if self.Mt is None:
                B = 2j * self.Ht[None, :, :] + P[:, :, None] * np.eye(m)[None]
                out[i:i + w.size] = -2 * np.real(np.linalg.inv(B))
            else:
                Q = P[:, :, None] * np.eye(m)[None] - 4 * self.Mt[None]
                B = P[:, :, None] * np.eye(m)[None] + 4 * self.Ht[None] @ np.linalg.solve(Q, np.broadcast_to(
                    self.Ht, Q.shape))
                out[i:i + w.size] = -2 * np.linalg.inv(B)
            out[i:i + w.size, np.arange(m), np.arange(m)] += 2 / P
        return out

    def correction(self, T):
        """Y(T), (m, m), symmetric."""
        h2 = 2 * np.pi * T
        N = min(MAX_EXPLICIT, max(MIN_EXPLICIT, int(np.ceil(EXPLICIT_REACH * self.hmax / h2))))
        w = np.pi * T * (2 * np.arange(N) + 1)
        Y = h2 * self._terms(w).sum(axis=0)
        a = h2 * N
        top = TOP * max(a, self.hmax)
        panels = int(np.ceil(np.log(top / a)))
        x, wx = np.polynomial.legendre.leggauss(PANEL_POINTS)
        edges = np.log(a) + np.arange(panels + 1)
        u = (0.5 * (edges[:-1] + edges[1:])[:, None] + 0.5 * x[None, :]).ravel()
        wu = np.tile(0.5 * wx, panels) * np.exp(u)
        Y += np.einsum("k,kij->ij", wu, self._terms(np.exp(u)))
        Fa = self._terms([a * (1 + EM_STEP), a * (1 - EM_STEP)])
        Y += h2 * h2 / 24 * (Fa[0] - Fa[1]) / (2 * a * EM_STEP)
        return 0.5 * (Y + Y.T)
