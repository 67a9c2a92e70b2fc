"""Energies in parallel through concurrent.futures executors, dask.distributed included (issue 16).

usadel.spectral maps contiguous chunks of energies over any ``concurrent.futures.Executor``; a
dask.distributed LocalCluster's ``client.get_executor()`` is one. Its results must equal the serial
run's: every chunk is the same deterministic computation (up to BLAS rounding: 1e-12 asked), and
the device and the solver state must pickle to the workers.
"""

import numpy as np
import pytest

import usadel


def _sns():
    dev = usadel.Device(usadel.meshes.interval(1.0, 60), {"wire": usadel.Material()},
                        {"left": usadel.Reservoir(delta=30.0, phase=-0.5, T=0.1),
                         "right": usadel.Reservoir(delta=30.0, phase=0.5, T=0.1)})
    return dev, np.linspace(0.0, 8.0, 48)


def test_dask_local_cluster_gives_the_serial_numbers():
    distributed = pytest.importorskip("distributed")  # in the test extras; skipped only where absent
    dev, E = _sns()
    serial = usadel.spectral(dev, E)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        par = usadel.spectral(dev, E, executor=client.get_executor(), chunk=12)
        swept = usadel.spectral(dev, E, executor=client.get_executor(), chunk=12, method="sweep")
    np.testing.assert_allclose(par.gamma, serial.gamma, atol=1e-12)
    np.testing.assert_allclose(swept.gamma, serial.gamma, atol=1e-8)  # the sweep: Newton tolerance
    np.testing.assert_allclose(usadel.kinetic(par).h, usadel.kinetic(serial).h, atol=1e-10)
