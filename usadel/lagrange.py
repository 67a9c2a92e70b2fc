"""Lagrange line elements of order p: nodes, Gauss quadrature, basis tables.

The local nodes are the Gauss-Lobatto-Legendre points of [-1, 1] (the two
ends are the element's vertices, so the vertex degrees of freedom of a
Lagrange field are its values at the mesh vertices); the basis is the
Lagrange polynomials on them, tabulated with their derivatives at Gauss-Legendre points.
"""

import functools
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre, polynomial

__all__ = ["LineElement", "gll_nodes", "line_element"]


def gll_nodes(p):
    """Gauss-Lobatto-Legendre nodes of order p on [-1, 1], ascending: -1, roots of P_p', 1."""
    if p < 1:
        raise ValueError(f"element order must be >= 1, got {p}")
    inner = np.sort(legendre.Legendre.basis(p).deriv().roots().real) if p > 1 else np.zeros(0)
    return np.concatenate([[-1.0], inner, [1.0]])


@dataclass(frozen=True)
class LineElement:
    """Order-p Lagrange element on the reference interval [-1, 1] with an nq-point Gauss rule.

    Attributes
    ----------
    p : element order; ``p + 1`` local dofs, 0 and p at the vertices (xi = -1, +1)
    nodes : (p+1,) reference coordinates of the local dofs
    xq, wq : (nq,) Gauss-Legendre points and weights
    phi, dphi : (nq, p+1) basis values and d/dxi at the Gauss points
    """

    p: int
    nodes: np.ndarray
    xq: np.ndarray
    wq: np.ndarray
    phi: np.ndarray
    dphi: np.ndarray

    def values(self, xi):
        """Basis values (len(xi), p+1) at reference points ``xi``."""
        return np.polynomial.polynomial.polyvander(np.asarray(xi, float), self.p) @ _coefficients(self.nodes)


def _coefficients(nodes):
    """Monomial coefficients (p+1, p+1) of the Lagrange polynomials: column k is basis k."""
    return np.linalg.inv(polynomial.polyvander(nodes, nodes.size - 1))


def line_element(p, nq=None):
    """The order-``p`` element with an ``nq``-point Gauss rule (default p + 2: exact to degree 2p + 3).

    The bilinear terms (stiffness, energy, gap, pair breaking) have degree <= 2p
    and are integrated exactly; the rational terms of the Riccati equations to
    the rule's order, well above the element's. Built once per (p, nq), with read-only tables
    (every order-p device and problem asks for it; ~0.3 ms each, issue 16).
    """
    return _line_element(int(p), p + 2 if nq is None else int(nq))


@functools.lru_cache(maxsize=None)
def _line_element(p, nq):
    nodes = gll_nodes(p)
    xq, wq = legendre.leggauss(nq)
    C = _coefficients(nodes)
    V = polynomial.polyvander(xq, p)
    dV = np.zeros_like(V)
    dV[:, 1:] = V[:, :-1] * np.arange(1, p + 1)
    tables = dict(nodes=nodes, xq=xq, wq=wq, phi=V @ C, dphi=dV @ C)
    for a in tables.values():
        a.setflags(write=False)
    return LineElement(p=p, **tables)
