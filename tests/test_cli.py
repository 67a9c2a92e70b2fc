"""Command line (usadel.cli): arguments checked before any work, one-line errors with exit
status 2, outputs written as a set (all or nothing), --n-energies honoured by the dos job.

Fast by construction: the fig2 job is never run (its job function or its fig2() is
replaced); the dos job runs with 20 elements and a few dozen energies.
"""

import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest

import usadel.seed
from usadel import cli
from usadel.errors import UsadelError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "usadel.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def jobs(monkeypatch):
    """Replace both job functions by recorders: argument handling without any computation."""
    calls = []
    monkeypatch.setattr(cli, "fig2_job", lambda *a, **k: calls.append(("fig2", a, k)))
    monkeypatch.setattr(cli, "dos_job", lambda *a, **k: calls.append(("dos", a, k)))
    return calls


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("usadel: error: "), err
    assert "Traceback" not in err
    return lines[0]


def fake_fig2(n, n_E, log=None, **kw):
    """A Fig. 2 result with the shapes of usadel.seed.fig2, without the computation."""
    T = np.array([0.5, 1.05])
    shape = (T.size, 1, 1)
    Td = np.linspace(0.1, 1.05, 6)
    return dict(fem_a=np.full(shape, 0.5), ref_a=np.full(shape, 0.51), fem_b=np.full(shape, 0.3),
                ref_b=np.full(shape, 0.31), dense_a=np.full((Td.size, 1, 1), 0.5), dense_b=np.full((Td.size, 1, 1), 0.3),
                T=T, T_dense=Td, biases=np.array([0.1]), lengths=np.array([6.0]), n=n, n_E=n_E)


# ----------------------------------------------------------------------------- arguments


def test_defaults_reach_the_jobs(jobs, tmp_path):
    assert cli.main(["--out", str(tmp_path)]) == 0
    assert cli.main(["--job", "dos", "--out", str(tmp_path)]) == 0
    (j1, a1, _), (j2, a2, k2) = jobs
    assert (j1, a1[:2]) == ("fig2", (500, 600))
    assert (j2, a2[:3], k2) == ("dos", (20.0, 0.0, 200), {"n_E": 300})


def test_given_values_reach_the_jobs(jobs, tmp_path):
    assert cli.main(["--n", "7", "--n-energies", "33", "--out", str(tmp_path)]) == 0
    assert cli.main(["--job", "dos", "--n", "9", "--n-energies", "41", "--delta", "5", "--phase", "1.5",
                     "--out", str(tmp_path)]) == 0
    (_, a1, _), (_, a2, k2) = jobs
    assert a1[:2] == (7, 33)
    assert a2[:3] == (5.0, 1.5, 9) and k2 == {"n_E": 41}


@pytest.mark.parametrize("args", [
    ["--n", "0"],                       # used to become the default 200 (`a.n or 200`)
    ["--n", "-5"],
    ["--n", "2.5"],
    ["--n", "many"],
    ["--n-energies", "0"],
    ["--n-energies", "19"],             # energy_grid needs 20
    ["--job", "dos", "--n-energies", "0"],
    ["--job", "dos", "--n", "0"],
    ["--job", "dos", "--delta", "0"],
    ["--job", "dos", "--delta", "-1"],
    ["--job", "dos", "--delta", "nan"],
    ["--job", "dos", "--phase", "inf"],
    ["--delta", "5"],                   # fig2 has no reservoir gap to set: not silently ignored
    ["--phase", "1"],
    ["--job", "nope"],
    ["--no-such-option"],
])
def test_bad_arguments_one_line_exit_2_before_any_work(args, jobs, tmp_path, capsys):
    assert cli.main([*args, "--out", str(tmp_path / "o")]) == 2
    one_error_line(capsys.readouterr().err)
    assert jobs == []
    assert not (tmp_path / "o").exists()


def test_out_that_is_a_file_is_rejected_at_once(jobs, tmp_path, capsys):
    f = tmp_path / "f.txt"
    f.write_text("keep")
    for out in (f, f / "sub"):
        assert cli.main(["--out", str(out)]) == 2
        assert "not a directory" in one_error_line(capsys.readouterr().err)
    assert jobs == [] and f.read_text() == "keep"


@pytest.mark.skipif(not pathlib.Path("/proc/self").is_dir(), reason="needs Linux /proc (not creatable, even as root)")
def test_out_that_cannot_be_created_is_rejected_at_once(jobs, capsys):
    assert cli.main(["--out", "/proc/usadel-test/out"]) == 2
    assert "cannot create or write" in one_error_line(capsys.readouterr().err)
    assert jobs == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only directories")
def test_out_that_is_not_writable_is_rejected_at_once(jobs, tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        for out in (ro, ro / "sub"):
            assert cli.main(["--out", str(out)]) == 2
            one_error_line(capsys.readouterr().err)
    finally:
        ro.chmod(0o700)
    assert jobs == []


def test_out_directories_are_created_and_removed_again_if_the_job_fails(monkeypatch, tmp_path, capsys):
    out = tmp_path / "a" / "b"

    def failing(*a, **k):
        assert out.is_dir()            # created (and checked) before the job
        raise UsadelError("bad thing\nsecond line")

    monkeypatch.setattr(cli, "fig2_job", failing)
    assert cli.main(["--out", str(out)]) == 2
    assert one_error_line(capsys.readouterr().err) == "usadel: error: bad thing second line"
    assert list(tmp_path.iterdir()) == []


def test_other_exceptions_keep_their_traceback(monkeypatch, tmp_path):
    def failing(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "dos_job", failing)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["--job", "dos", "--out", str(tmp_path)])


# ----------------------------------------------------------------------------- atomic outputs


def test_fig2_outputs_replaced_as_a_set(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(usadel.seed, "fig2", fake_fig2)
    (tmp_path / "seed_fig2.txt").write_text("old table")
    (tmp_path / "seed_fig2.png").write_bytes(b"old figure")
    assert cli.main(["--n", "3", "--n-energies", "20", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed_fig2.png", "seed_fig2.txt", "seed_fig2_curves.csv"]
    assert "3 elements, 20 energies" in (tmp_path / "seed_fig2.txt").read_text()
    assert (tmp_path / "seed_fig2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (tmp_path / "seed_fig2_curves.csv").read_text().splitlines()
    assert rows[0] == "kind,T_over_Tc,eV_over_Delta0,L_over_lsf,reading_a,reading_b" and len(rows) > 1


def test_fig2_writer_failing_midway_leaves_old_outputs_and_no_temporaries(monkeypatch, tmp_path):
    monkeypatch.setattr(usadel.seed, "fig2", fake_fig2)

    def broken_plot(res, path=None):
        pathlib.Path(path).write_bytes(b"half a PNG")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(usadel.seed, "plot_fig2", broken_plot)
    (tmp_path / "seed_fig2.txt").write_text("old table")
    (tmp_path / "seed_fig2.png").write_bytes(b"old figure")
    with pytest.raises(OSError, match="No space left"):
        cli.main(["--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed_fig2.png", "seed_fig2.txt"]
    assert (tmp_path / "seed_fig2.txt").read_text() == "old table"
    assert (tmp_path / "seed_fig2.png").read_bytes() == b"old figure"


def test_dos_writer_failing_midway_leaves_old_outputs_and_no_temporaries(monkeypatch, tmp_path):
    from matplotlib.figure import Figure

    def broken_savefig(self, fname, *a, **k):
        pathlib.Path(fname).write_bytes(b"half a PNG")
        raise KeyboardInterrupt   # Ctrl-C while writing the figure, after the table was written

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    (tmp_path / "dos.png").write_bytes(b"old figure")
    (tmp_path / "keep.dat").write_text("unrelated")
    with pytest.raises(KeyboardInterrupt):
        cli.main(["--job", "dos", "--n", "20", "--n-energies", "40", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dos.png", "keep.dat"]
    assert (tmp_path / "dos.png").read_bytes() == b"old figure"


def test_atomic_outputs_require_every_file():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        with pytest.raises(RuntimeError, match="b.txt"):
            with cli._atomic_outputs(d, ["a.txt", "b.txt"]) as tmp:
                tmp["a.txt"].write_text("new")
        assert os.listdir(d) == []


# ----------------------------------------------------------------------------- end to end


def test_dos_job_end_to_end_honours_n_energies(tmp_path):
    from usadel.observables import energy_grid

    out = tmp_path / "new" / "out"
    r = run_cli("--job", "dos", "--n", "20", "--n-energies", "40", "--out", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    n_E = energy_grid(20.0, e_th=1.0, e_max=40.0, n=40).size
    assert n_E < 100                 # not the default grid of 300 points
    assert f"spectral solve: {n_E} energies" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["dos.png", "dos.txt"]
    table = np.loadtxt(out / "dos.txt")
    assert table.shape == (n_E, 2)
    assert (out / "dos.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the minigap region of the SNS wire: N(L/2, E) ~ 0 at E = 0.5 E_Th, ~ 1 far above Delta
    assert abs(table[np.argmin(abs(table[:, 0] - 0.5)), 1]) < 1e-2
    assert abs(table[-1, 1] - 1) < 0.05


def test_bad_arguments_end_to_end(tmp_path):
    (tmp_path / "file").write_text("")
    for args in (["--n", "0"], ["--job", "dos", "--n-energies", "0"], ["--out", "file"]):
        r = run_cli(*args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        one_error_line(r.stderr)
        assert r.stdout == ""


# ----------------------------------------------------------------------------- pickling


def test_seed_device_and_spin_battery_pickle():
    from usadel.seed import seed_device_1d, spin_battery

    E = np.linspace(-3, 3, 61)
    for f in (spin_battery(1.3, 0.4, 0.7), spin_battery(0.2, 0.05)):
        g = pickle.loads(pickle.dumps(f))
        assert type(g) is type(f) and g == f
        for a, b in zip(f(E), g(E)):
            np.testing.assert_array_equal(a, b)
    # same numbers as the closure it replaces
    eV, T, P = 1.3, 0.4, 0.7
    fu, fd = spin_battery(eV, T, P)(E)
    f1 = 0.5 * (1 - np.tanh((E - eV / 2) / (2 * T)))
    f2 = 0.5 * (1 - np.tanh((E + eV / 2) / (2 * T)))
    np.testing.assert_allclose(fu, 0.5 * (f1 + f2) + 0.5 * P * (f1 - f2), rtol=0, atol=1e-15)
    np.testing.assert_allclose(fd, 0.5 * (f1 + f2) - 0.5 * P * (f1 - f2), rtol=0, atol=1e-15)

    dev, d = seed_device_1d(0.5, 3.0, n=40)
    dev2, d2 = pickle.loads(pickle.dumps((dev, d)))
    assert d2 == d
    f, g = dev.contacts["left"].distribution, dev2.contacts["left"].distribution
    for a, b in zip(f(E), g(E)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(dev2.contacts["left"].barrier.r, dev.contacts["left"].barrier.r)


def test_main_leaves_the_progress_setting_as_it_found_it(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "dos_job", lambda *a, **k: None)
    assert not usadel.progress.enabled()
    assert cli.main(["--job", "dos", "--out", str(tmp_path)]) == 0
    assert not usadel.progress.enabled()
