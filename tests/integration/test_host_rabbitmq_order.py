"""`make test` after `make up`: the tests' private RabbitMQ node boots whatever is in .cache.

A .cache/ and .cache/pki/ owned by root with mode 0700 (what a `make up` with a
careless PKI task would leave) must not stop scripts/host-rabbitmq.sh's node, which runs
as user rabbitmq, from booting (else it fails with
failed_to_create_feature_flags_file_directory, issue 13). This runs the script from a
throwaway checkout whose .cache/ is just that, on a node name and ports of its own (never
the default fedbus-test@localhost on 5672, which other runs on this machine use), checks
that the node answers, and that `stop` is bounded and stops only its own checkout's node.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pika
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "host-rabbitmq.sh"
DEFAULT_NODE = "fedbus-test@localhost"


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _checkout(prefix: str) -> Path:
    """A directory that looks like a checkout to the script: scripts/host-rabbitmq.sh.

    Under /tmp and 0755, so that only what is made inside it stands in the node's way.
    """
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    (path / "scripts").mkdir()
    shutil.copy2(SCRIPT, path / "scripts" / SCRIPT.name)
    return path


def _script(checkout: Path, env: dict[str, str], *args: str, timeout: float):
    return subprocess.run(
        [str(checkout / "scripts" / SCRIPT.name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _script_env(checkout: Path, env: dict[str, str]) -> dict[str, str]:
    out = _script(checkout, env, "env", timeout=30)
    assert out.returncode == 0, out.stderr
    pairs = (line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines())
    return dict(pairs)


def test_node_boots_after_make_up_left_cache_private_and_stops_in_bounded_time():
    amqp_port, mgmt_port, prometheus_port, dist_port = _free_ports(4)
    node = f"fedbus-order-{uuid.uuid4().hex[:8]}@localhost"
    env = {
        **os.environ,
        "FEDBUS_TEST_RABBITMQ_NODE": node,
        "FEDBUS_TEST_AMQP_PORT": str(amqp_port),
        "FEDBUS_TEST_MGMT_PORT": str(mgmt_port),
        "FEDBUS_TEST_PROMETHEUS_PORT": str(prometheus_port),
        "FEDBUS_TEST_DIST_PORT": str(dist_port),
    }
    checkout = _checkout("fedbus-order-")
    other = _checkout("fedbus-order-other-")  # another clone, same node name
    data_dirs: list[Path] = []
    started = False
    try:
        # What `make up` left: root's, 0700 (the role's PKI directory and its parents).
        pki = checkout / ".cache" / "pki" / "local"
        pki.mkdir(parents=True)
        for path in (pki, pki.parent, pki.parent.parent):
            path.chmod(0o700)

        ours = _script_env(checkout, env)
        # Guard: a script that ignored the override would act on everyone's node.
        assert ours.get("FEDBUS_TEST_RABBITMQ_NODE") == node, ours
        assert node != DEFAULT_NODE
        data_dirs.append(Path(ours["FEDBUS_TEST_RABBITMQ_DIR"]))

        started = True
        begin = time.monotonic()
        out = _script(checkout, env, "start", timeout=300)
        boot = time.monotonic() - begin
        assert out.returncode == 0, out.stderr
        assert _script(checkout, env, "status", timeout=60).stdout.strip() == "running"

        params = pika.URLParameters(ours["FEDBUS_TEST_AMQP_URL"])
        connection = pika.BlockingConnection(params)
        try:
            assert connection.channel().queue_declare("", exclusive=True).method.queue
        finally:
            connection.close()

        # The hang seen before: another clone, whose pid file names a live process
        # (this one), stops "its" node. It must leave this node alone, and at once.
        theirs = _script_env(other, env)
        data_dirs.append(Path(theirs["FEDBUS_TEST_RABBITMQ_DIR"]))
        pid_file = Path(theirs["FEDBUS_TEST_RABBITMQ_DIR"]) / "rabbitmq.pid"
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{os.getpid()}\n")
        out = _script(other, env, "stop", timeout=60)
        assert out.returncode == 0, out.stderr
        assert "not this checkout's node" in out.stderr
        assert _script(checkout, env, "status", timeout=60).stdout.strip() == "running"

        begin = time.monotonic()
        out = _script(checkout, env, "stop", timeout=120)
        assert out.returncode == 0, out.stderr
        assert _script(checkout, env, "status", timeout=60).stdout.strip() == "stopped"
        started = False
        print(f"boot {boot:.1f} s, stop {time.monotonic() - begin:.1f} s")
    finally:
        if started:  # a failure above: stop this test's node by its own name
            subprocess.run(
                ["timeout", "60", "rabbitmqctl", "-q", "-n", node, "stop"],
                capture_output=True,
                check=False,
            )
        for path in (checkout, other, *(d for d in data_dirs if node in d.name)):
            shutil.rmtree(path, ignore_errors=True)
