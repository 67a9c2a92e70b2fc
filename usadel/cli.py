"""Command line: ``python -m usadel.cli`` runs the main job on the shipped default.

Default job (``--job fig2``): the seed's spin-injection device and its Fig. 2,
Delta mu(T)/Delta mu(T >= Tc) for eV = 0.1, 3, 10 Delta(0) and L/l_sf = 6, 7,
from the full FEM pipeline (1D device, uniform BCS gap) and from the closed
forms, for both detector readings: (a) the seed's -P_D Int hTS (Eq. 11) and
(b) a polarised tunnel probe at zero current. Prints the largest FEM-closed form
difference per curve and writes ``out/seed_fig2.png`` and ``out/seed_fig2.txt``
(about 2 minutes on 2 cores).

``--job dos``: the density of states of a proximitised normal wire (SNS
junction, L = D = 1 so E_Th = 1, reservoirs with Delta = 20 E_Th); prints the
minigap and a DOS table at the wire centre, writes ``out/dos.png`` and the
whole N(L/2, E) in ``out/dos.txt``.

Every argument is checked before any work (the output directory is created and
must be writable); a bad one ends the run with one line ``usadel: error: ...``
on stderr and exit status 2. The output files of a job are written under
temporary names and renamed into place together once all of them are written,
so an interrupted run leaves the previous outputs as they were.
"""

import argparse
import math
import os
import pathlib
import secrets
import sys
import time
from contextlib import contextmanager

import numpy as np

from .errors import UsadelError

__all__ = ["main"]

PROG = "usadel"

#: defaults per job; energy_grid needs at least 20 points
DEFAULTS = {"fig2": {"n": 500, "n_energies": 600}, "dos": {"n": 200, "n_energies": 300, "delta": 20.0, "phase": 0.0}}
MIN_ENERGIES = 20


def _remove_dirs(dirs):
    """Remove the directories ``dirs`` (deepest last) that are still empty."""
    for d in reversed(dirs):
        try:
            d.rmdir()
        except OSError:
            break


def _out_dir(out):
    """The output directory ``out``, created now if missing and checked to be writable.

    Returns (path, created) with the directories made here (outermost first), so
    that a caller can remove them again if its job fails. Raises UsadelError.
    """
    if not str(out).strip():
        raise UsadelError("--out must name a directory, got an empty string")
    path = pathlib.Path(out).expanduser()
    created = []
    try:
        missing, p = [], path
        while not p.exists():
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        if p.exists() and not p.is_dir():
            what = "is" if p == path else f"is inside {p}, which is"
            raise UsadelError(f"--out {out} {what} not a directory")
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
        probe = path / f".{PROG}-write-test-{os.getpid()}-{secrets.token_hex(4)}"
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as exc:
        _remove_dirs(created)
        raise UsadelError(f"--out {out}: cannot create or write the output directory "
                          f"({exc.strerror or exc})") from None
    except UsadelError:
        _remove_dirs(created)
        raise
    return path, created


@contextmanager
def _atomic_outputs(outdir, names):
    """Write a set of output files all or nothing.

    Yields a dict name -> temporary path in ``outdir`` (a hidden name with the
    same suffix, so writers that take the format from it work). After the block
    has written every one of them they are renamed onto ``outdir / name``
    (``os.replace``, one after the other); on any error in the block, Ctrl-C
    included, the temporary files are removed and the existing outputs are left
    untouched.
    """
    outdir = pathlib.Path(outdir)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = {name: outdir / f".{pathlib.Path(name).stem}.tmp-{token}{pathlib.Path(name).suffix}" for name in names}
    try:
        yield tmp
        unwritten = [name for name, t in tmp.items() if not t.is_file()]
        if unwritten:
            raise RuntimeError(f"output files not written: {unwritten}")
        for name, t in tmp.items():
            os.replace(t, outdir / name)
    except BaseException:
        for t in tmp.values():
            try:
                t.unlink()
            except OSError:
                pass
        raise


def _close(fig):
    if fig is not None:  # pyplot keeps every figure open until closed
        import matplotlib.pyplot as plt

        plt.close(fig)


def dos_job(delta=20.0, phase=0.0, n=200, out="out", n_E=300):
    import usadel
    from usadel.observables import energy_grid, minigap

    outdir, _ = _out_dir(out)
    mesh = usadel.meshes.interval(1.0, n)
    dev = usadel.Device(mesh, materials={"wire": usadel.Material(D=1.0)},
                        contacts={"left": usadel.Reservoir(delta=delta, phase=-phase / 2),
                                  "right": usadel.Reservoir(delta=delta, phase=phase / 2)})
    E = energy_grid(delta, e_th=1.0, e_max=2 * delta, n=n_E)
    t0 = time.perf_counter()
    sp = usadel.spectral(dev, E, eta=1e-6)
    t1 = time.perf_counter()
    eg = minigap(dev, [0.5], tol=1e-4)
    head = f"SNS junction: L = 1, D = 1 (E_Th = 1), Delta = {delta:g}, phase = {phase:g}, {n} elements"
    print(head)
    print(f"spectral solve: {E.size} energies in {t1 - t0:.2f} s")
    print(f"minigap at the centre: E_g = {eg:.4f} E_Th  (Delta -> inf limit: 3.122, Zhou et al. 1998)")
    print(f"{'E/E_Th':>10} {'N(L/2,E)':>12}")
    Nc = sp.at([[0.5]])[:, 0]
    rows = sorted({int(np.argmin(np.abs(E - e))) for e in (0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 6.0, 10.0, 0.5 * delta, 1.2 * delta)})
    for k in rows:
        print(f"{E[k]:10.4f} {Nc[k]:12.6f}")
    ax = sp.plot_dos()
    fig = ax.figure
    ax.set_ylim(0, min(2 * delta, 30))
    with _atomic_outputs(outdir, ["dos.txt", "dos.png"]) as tmp:
        np.savetxt(tmp["dos.txt"], np.column_stack([np.real(E), Nc]), fmt="%.10g",
                   header=f"{head}, {E.size} energies\nminigap at the centre: E_g = {eg:.6f} E_Th\n"
                          f"E/E_Th N(L/2,E)")
        fig.savefig(tmp["dos.png"], dpi=120, bbox_inches="tight")
    _close(fig)
    print(f"wrote {outdir / 'dos.png'} and {outdir / 'dos.txt'}")
    return sp


def fig2_job(n=500, n_E=600, out="out"):
    from usadel.seed import fig2, format_fig2, plot_fig2

    outdir, _ = _out_dir(out)
    t0 = time.perf_counter()
    print(f"seed Fig. 2 (Morten, Brataas, Belzig 2004): 1D device, {n} elements, {n_E} energies, "
          f"11 temperatures x 3 biases x 2 detector positions")
    res = fig2(n=n, n_E=n_E, log=print)
    table = format_fig2(res)
    dt = time.perf_counter() - t0
    head = (f"FEM vs closed forms, {n} elements, {n_E} energies, {dt:.0f} s\n"
            "(a): the paper's reading -P_D Int hTS vs its Eq. 11, in units of the normal-state signal "
            "(the tests require < 1e-2)\n"
            "(b): polarised tunnel probe at zero current vs the same with the BCS-limit hTS "
            "(bcs.seed_probe_eq11), relative\n")
    print(head + table)
    with _atomic_outputs(outdir, ["seed_fig2.txt", "seed_fig2.png", "seed_fig2_curves.csv"]) as tmp:
        tmp["seed_fig2.txt"].write_text(head + table + "\n")
        tmp["seed_fig2_curves.csv"].write_text(_fig2_curves(res))
        fig = plot_fig2(res, tmp["seed_fig2.png"])
    _close(fig)
    print(f"wrote {outdir / 'seed_fig2.png'}, {outdir / 'seed_fig2.txt'} and {outdir / 'seed_fig2_curves.csv'}")
    return res


def _fig2_curves(res):
    """The figure's data as CSV: closed-form curves ("eq11") and finite-element points ("fem")."""
    rows = ["kind,T_over_Tc,eV_over_Delta0,L_over_lsf,reading_a,reading_b"]
    for kind, Ts in (("eq11", res["T_dense"]), ("fem", res["T"])):
        pre = "dense_" if kind == "eq11" else "fem_"
        for i, T in enumerate(Ts):
            for j, eV in enumerate(res["biases"]):
                for k, L in enumerate(res["lengths"]):
                    rows.append(f"{kind},{T:.6g},{eV:g},{L:g},{res[pre + 'a'][i, j, k]:.8g},{res[pre + 'b'][i, j, k]:.8g}")
    return "\n".join(rows) + "\n"


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block (main prints it)
        raise _ArgumentError(message)


def _integer(lo):
    def parse(text):
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {v}")
        return v
    parse.__name__ = "integer"
    return parse


def _real(positive=False):
    def parse(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if positive and not v > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return v
    parse.__name__ = "number"
    return parse


def _parser():
    f2, dos = DEFAULTS["fig2"], DEFAULTS["dos"]
    ap = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", choices=["fig2", "dos"], default="fig2", help="which job (default: the seed's Fig. 2)")
    ap.add_argument("--delta", type=_real(positive=True), default=None,
                    help=f"dos job only: reservoir gap in units of E_Th (default {dos['delta']:g})")
    ap.add_argument("--phase", type=_real(), default=None,
                    help=f"dos job only: phase difference between the reservoirs (default {dos['phase']:g})")
    ap.add_argument("--n", type=_integer(1), default=None,
                    help=f"number of elements (default {f2['n']} for fig2, {dos['n']} for dos)")
    ap.add_argument("--n-energies", type=_integer(MIN_ENERGIES), default=None,
                    help=f"size of the energy grid, the n of usadel.observables.energy_grid, which may return "
                         f"a few points fewer (default {f2['n_energies']} for fig2, {dos['n_energies']} for dos)")
    ap.add_argument("--out", default="out", help="output directory (created if missing; default: out)")
    ap.add_argument("--tags", metavar="MESH", default=None,
                    help="print the regions and boundary tags of a mesh file and exit")
    return ap


def _fail(exc):
    msg = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return 2


def main(argv=None):
    """Run the command line; returns the exit status (0, or 2 for a bad argument or a UsadelError)."""
    try:
        a = _parser().parse_args(argv)
        if a.tags is not None:
            from usadel.meshes import describe, load

            print(describe(load(a.tags)))
            return 0
        if a.job == "fig2":
            given = [opt for opt, v in (("--delta", a.delta), ("--phase", a.phase)) if v is not None]
            if given:
                raise _ArgumentError(f"{' and '.join(given)} appl{'ies' if len(given) == 1 else 'y'} only to --job dos")
        opts = {k: (getattr(a, k) if getattr(a, k) is not None else v) for k, v in DEFAULTS[a.job].items()}
        outdir, created = _out_dir(a.out)
    except (_ArgumentError, UsadelError) as exc:
        return _fail(exc)
    from usadel import progress

    was_on = progress.enabled()
    progress.enable()  # progress bars on in the command line (off by default in library calls)
    try:
        if a.job == "fig2":
            fig2_job(opts["n"], opts["n_energies"], outdir)
        else:
            dos_job(opts["delta"], opts["phase"], opts["n"], outdir, n_E=opts["n_energies"])
    except UsadelError as exc:
        _remove_dirs(created)
        return _fail(exc)
    except BaseException:
        _remove_dirs(created)
        raise
    finally:
        if not was_on:  # main() called from Python (tests, scripts) leaves the session's setting alone
            progress.disable()
    return 0


if __name__ == "__main__":
    sys.exit(main())
