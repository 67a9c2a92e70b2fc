"""Readable summaries: shipped meshes list their tags, devices list their parts."""

import pathlib
import subprocess
import sys

import usadel

MESHES = pathlib.Path(__file__).parents[1] / "meshes"


def test_shipped_mesh_tags_are_listed_by_describe_and_the_cli():
    text = usadel.meshes.describe(usadel.meshes.load(MESHES / "cross_spin_valve.msh"))
    assert "regions: S (626 elements), arm_inj (210 elements), arm_det (210 elements)" in text
    assert "boundary tags: left (4 facets), right (4 facets), inj (4 facets), det (4 facets)" in text
    out = subprocess.run([sys.executable, "-m", "usadel.cli", "--tags", str(MESHES / "cross_spin_valve.msh")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == text


def test_device_repr_lists_regions_contacts_and_interfaces():
    dev = usadel.Device(usadel.meshes.wire([("S", 1, 4), ("N", 1, 4)]),
                        {"S": usadel.Material(tc=1.0), "N": usadel.Material()},
                        {"left": usadel.Reservoir(delta=1.76, T=0.1)}, {("S", "N"): usadel.Barrier(r=0.5)})
    text = repr(dev)
    assert text.splitlines()[0] == "Device(1D, 10 nodes, 8 elements)"
    for part in ("region 'S': Material(D=1.0, tc=1.0", "contact 'left' (clean)", "interface 'S'-'N': Barrier(r=0.5",
                 "insulating tags: ['right']"):
        assert part in text


def test_progress_bars_are_off_by_default_and_count_when_on(capsys):
    import numpy as np

    dev = usadel.Device(usadel.meshes.interval(1.0, 10), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=5.0), "right": usadel.Reservoir()})
    usadel.spectral(dev, np.linspace(0, 10, 40), chunk=10)
    assert capsys.readouterr().err == ""
    usadel.progress.enable()
    try:
        usadel.spectral(dev, np.linspace(0, 10, 40), chunk=10)
    finally:
        usadel.progress.disable()
    err = capsys.readouterr().err
    assert "spectral" in err and "/40" in err
