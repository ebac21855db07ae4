"""``explore(executor="ray")`` on real Ray clusters on this machine: one that ``explore``
starts and stops, and one started here with ``ray start --head`` that it connects to and
leaves running; both give the rows of a sweep in this process. An address where nothing
answers is refused at once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from elasticai.creator.explore import explore
from tests import explore_models

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

SPACE = {"total_bits": [4, 6], "target_ii": [None, 1]}
ROOT = Path(__file__).parents[2]


def figures(rows):
    return [{k: v for k, v in r.items() if k not in ("seconds", "cached")} for r in rows]


def sweep(**options):
    return explore(
        SPACE,
        build=explore_models.build,
        train=explore_models.train,
        evaluate=explore_models.evaluate,
        progress=False,
        **options,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ray_instance_of_its_own_gives_the_rows_of_this_process():
    assert not ray.is_initialized()
    rows = sweep(executor="ray", workers=2)
    assert not ray.is_initialized()  # the instance it started is shut down
    assert all(r["error"] is None for r in rows)
    assert figures(rows) == figures(sweep())


@pytest.fixture
def cluster():
    """A Ray head node on 127.0.0.1 whose workers import this repository's modules (as a
    cluster's nodes must have the user's code); stopped by its own process after."""
    port = free_port()
    temp = tempfile.mkdtemp(prefix="ec_ray_")  # short: Ray's sockets are below it
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",  # a throw-away cluster on the loopback
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }
    command = [
        str(Path(sys.executable).parent / "ray"),
        "start",
        "--head",
        f"--port={port}",
        "--num-cpus=2",
        "--include-dashboard=false",
        f"--object-store-memory={100 * 2**20}",
        f"--temp-dir={temp}",
        "--disable-usage-stats",
        "--block",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        said = []
        for line in process.stdout:
            said.append(line)
            if "Ray runtime started" in line:
                break
        else:
            pytest.fail("ray start failed:\n" + "".join(said))
        yield process, f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)  # --block: stops the processes it started
        process.wait(timeout=60)
        shutil.rmtree(temp, ignore_errors=True)


def test_a_running_cluster_gives_the_same_rows_and_keeps_running(cluster):
    process, address = cluster
    rows = sweep(executor="ray", address=address)
    assert figures(rows) == figures(sweep())
    assert process.poll() is None  # disconnected from, not stopped
    assert not ray.is_initialized()


def test_an_address_where_nothing_answers_fails_at_once():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ConnectionError) as error:
        sweep(executor="ray", address=f"127.0.0.1:{port}")
    assert time.monotonic() - started < 10
    assert str(error.value) == (
        f"no Ray cluster at 127.0.0.1:{port}: 127.0.0.1:{port} accepted no connection within "
        "5 s ([Errno 111] Connection refused); start one with 'ray start --head' and give "
        "the address it prints"
    )
    assert not ray.is_initialized()
