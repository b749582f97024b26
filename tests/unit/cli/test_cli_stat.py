"""fedbus stat: management API rows → table (pure parts) and its one-line errors."""

from __future__ import annotations

import pytest

from fedbus.cli.cmd_stat import connection_row, endpoint, queue_row, render
from fedbus.cli.main import main

QUEUE = {
    "name": "notifier",
    "vhost": "/stg",
    "type": "quorum",
    "messages_ready": 12,
    "messages_unacknowledged": 3,
    "consumers": 2,
    "message_stats": {"publish_details": {"rate": 4.26}, "deliver_get_details": {"rate": 4.0}},
}


def test_queue_row_and_table() -> None:
    row = queue_row(QUEUE)
    assert row == {
        "vhost": "/stg",
        "name": "notifier",
        "type": "quorum",
        "ready": 12,
        "unacked": 3,
        "publish_rate": 4.3,
        "deliver_rate": 4.0,
        "consumers": 2,
    }
    assert queue_row({"name": "idle", "vhost": "/"})["publish_rate"] == 0.0
    assert render([row, queue_row({"name": "a-much-longer-name", "vhost": "/"})]).splitlines() == [
        "VHOST  NAME                TYPE     READY  UNACKED  PUBLISH_RATE  DELIVER_RATE  CONSUMERS",
        "/stg   notifier            quorum   12     3        4.3           4.0           2",
        "/      a-much-longer-name  classic  0      0        0.0           0.0           0",
    ]
    assert render([]) == "(none)\n"


def test_connection_row() -> None:
    row = connection_row(
        {
            "name": "c",
            "vhost": "/",
            "user": "koji",
            "ssl": True,
            "channels": 1,
            "state": "running",
            "client_properties": {"connection_name": "relay"},
        }
    )
    assert row["client"] == "relay" and row["tls"] is True


def test_endpoint() -> None:
    assert endpoint("http://h:15672/", "queues", "/stg") == "http://h:15672/api/queues/%2Fstg"
    assert endpoint("http://h:15672", "connections", "/stg") == "http://h:15672/api/connections"


def test_no_url_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("FEDBUS_CONFIG", "/nonexistent/fedbus.toml")
    assert main(["stat"]) == 1
    assert capsys.readouterr().err == (
        "fedbus: error: /nonexistent/fedbus.toml: no such file (set -c FILE or $FEDBUS_CONFIG)\n"
    )


def test_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["stat", "--connections", "--exchanges"])
    assert info.value.code == 2
