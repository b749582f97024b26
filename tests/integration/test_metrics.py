"""The services' Prometheus endpoints as Prometheus scrapes them (parsed with
prometheus-client's own parser): the relay's backlog while the broker is away, then what it
forwarded once it is back."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.polling import wait_for

from tests.conftest import Broker

pytestmark = pytest.mark.integration
FEDBUS = [sys.executable, "-m", "fedbus.cli.main"]
TOPIC = "org.fedoraproject.local.bus.canary.sent"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """Every sample of http://127.0.0.1:<port>/metrics by name (no labels here)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}


def relay(url: str, spool: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*FEDBUS, "relay", "--url", url, "--spool", str(spool),
                             "--metrics", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for(lambda: _answers(port), 20, "the relay's metrics endpoint")
    return proc


def _answers(port: int) -> bool:
    try:
        scrape(port)
    except OSError:
        return False
    return True


def test_relay_metrics_backlog_then_forwarded(broker: Broker, vhost: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    for i in range(5):
        subprocess.run([*FEDBUS, "publish", TOPIC, "--spool", str(spool), "--json",
                        f'{{"origin": "metrics", "nonce": "{i}", '
                        f'"sent_at": "2026-12-07T00:00:00+00:00"}}'],
                       check=True, capture_output=True, timeout=30)
    port = free_port()
    down = relay(f"amqp://127.0.0.1:{free_port()}/%2F", spool, port)  # no broker there
    try:
        time.sleep(1.1)
        m = scrape(port)
        assert m["fedbus_relay_backlog_messages"] == 5
        assert m["fedbus_relay_backlog_bytes"] > 0
        assert m["fedbus_relay_oldest_message_age_seconds"] >= 1
        assert m["fedbus_relay_connected"] == 0
        assert m["fedbus_relay_forwarded_total"] == 0
    finally:
        down.terminate()
        down.wait(10)
    up = relay(broker.amqp_url(vhost), spool, port)
    try:
        m = wait_for(lambda: (got := scrape(port))["fedbus_relay_forwarded_total"] == 5 and got,
                     30, "the relay to forward the backlog")
        assert m["fedbus_relay_backlog_messages"] == 0
        assert m["fedbus_relay_oldest_message_age_seconds"] == 0
        assert m["fedbus_relay_connected"] == 1
        assert m["fedbus_relay_connections_total"] == 1
        assert m["fedbus_relay_set_aside_total"] == 0
    finally:
        up.terminate()
        up.wait(10)


def test_a_bad_metrics_address_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([*FEDBUS, "relay", "--spool", str(tmp_path), "--metrics", "9641"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "expected HOST:PORT (an IP address), got '9641'" in proc.stderr
    assert proc.stderr.count("\n") == 1
