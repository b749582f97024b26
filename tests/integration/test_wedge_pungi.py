"""The Pungi wedge, invoked as Pungi's notifier does: ``(script, action)``, JSON on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.wedge_lab import bind_queue, drain, relay_all, spooled

pytestmark = pytest.mark.integration
FEDBUS = Path(sys.executable).with_name("fedbus")

COMPOSE: dict[str, Any] = {  # what pungi.notifier.PungiNotifier._update_args adds
    "compose_id": "Fedora-Rawhide-20261130.n.0",
    "location": "https://kojipkgs.example.org/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose",
    "compose_date": "20261130", "compose_type": "nightly", "compose_respin": 0,
    "compose_label": None, "compose_path": "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0",
    "release_short": "Fedora", "release_name": "Fedora", "release_version": "Rawhide",
    "release_type": "ga", "release_is_layered": False,
}


@pytest.fixture
def script(tmp_path: Path) -> Path:
    """The wrapper roles/wedges installs as Pungi's notification_script."""
    path = tmp_path / "fedbus-pungi-notify"
    path.write_text(f'#!/bin/sh\nexec {FEDBUS}-wedge pungi-notify "$@"\n')
    path.chmod(0o755)
    return path


def notify(script: Path, spool: Path, action: str, data: Any,
           raw: str | None = None) -> subprocess.CompletedProcess:
    # kobo.shortcuts.run((cmd, msg), stdin_data=json.dumps(kwargs), can_fail=True, ...)
    return subprocess.run((str(script), action), input=raw if raw is not None else
                          json.dumps(data), capture_output=True, text=True,
                          env={**os.environ, "FEDBUS_SPOOL": str(spool)}, cwd=spool.parent)


def test_a_compose_lifecycle_reaches_the_broker(broker, vhost, script, tmp_path):
    spool = tmp_path / "spool"
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    iso = "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose/Everything/iso/x.iso"
    calls = [
        # before the compose exists Pungi adds nothing: no compose_id
        ("fail-to-start", {"command": ["pungi-koji", "--config=f.conf"], "target_dir": None,
                           "config": "/etc/pungi/f.conf", "detail": "Config validation failed",
                           "errors": ["release_name: required"]}),
        ("status-change", {"status": "STARTED"}),
        ("phase-start", {"phase_name": "createiso"}),
        ("createiso-targets", {"deliverables": [iso]}),
        ("createiso-imagedone", {"file": iso, "arch": "x86_64", "variant": "Everything"}),
        ("phase-stop", {"phase_name": "createiso"}),
        ("ostree", {"variant": "Silverblue", "arch": "x86_64", "ref": "fedora/rawhide/x86_64",
                    "commitid": "ab" * 32, "repo_path": "/r", "local_repo_path": "/l"}),
        ("ostree-container", {"variant": "Kinoite", "arch": "x86_64"}),
        ("status-change", {"status": "FINISHED"}),
    ]
    sent = [data if action == "fail-to-start" else {**data, **COMPOSE}
            for action, data in calls]
    for (action, _), data in zip(calls, sent, strict=True):
        run = notify(script, spool, action, data)
        assert run.returncode == 0, run.stderr
    relay_all(spool, url)
    got = drain(url, queue, len(calls))
    prefix = "org.fedoraproject.local."
    assert [a.topic.removeprefix(prefix) for a in got] == [
        "pungi.compose.fail.to.start", "pungi.compose.status.change",
        "pungi.compose.phase.start", "pungi.compose.createiso.targets",
        "pungi.compose.createiso.imagedone", "pungi.compose.phase.stop",
        "pungi.compose.ostree", "pungi.compose.ostree.container",
        "pungi.compose.status.change"]
    assert [a.body for a in got] == sent  # exactly what Pungi sent, nothing moved
    assert [a.schema for a in got][:3] == ["fedbus.pungi.compose.fail.to.start.v1",
                                           "fedbus.pungi.compose.status.change.v1",
                                           "fedbus.pungi.compose.phase.start.v1"]
    assert got[3].body["deliverables"] == [iso]
    assert "compose_id" not in got[0].body
    assert got[0].message.summary == "a compose failed to start: Config validation failed"
    assert got[6].message.priority == 3  # as Fedora's notifier sends ostree
    assert got[7].schema == "fedbus.pungi.compose.action.v1"
    assert got[7].message.summary == (
        "compose Fedora-Rawhide-20261130.n.0: ostree.container")
    assert got[-1].message.summary == "compose Fedora-Rawhide-20261130.n.0 is FINISHED"
    assert got[-1].message.url == COMPOSE["location"]
    assert not [h for a in got for h in a.headers if h.startswith("fedora_messaging_user_")]


@pytest.mark.parametrize(("action", "raw", "reason"), [
    ("status-change", "{nope", "stdin is not JSON"),
    ("status-change", "[1, 2]", "stdin must be a JSON object"),
    ("status-change", json.dumps({**COMPOSE, "status": 1}), "is not of type 'string'"),
    ("createiso-targets", json.dumps({**COMPOSE, "deliverables": [{"arch": "x86_64"}]}),
     "is not of type 'string'"),
    ("fail-to-start", json.dumps({"detail": "x"}), "'command' is a required property"),
    ("phase-start", json.dumps(COMPOSE), "'phase_name' is a required property"),
    ("Bad Action", "{}", "expected a Pungi action"),
])
def test_bad_input_is_one_line_exit_1_and_nothing_spooled(script, tmp_path, action, raw,
                                                          reason):
    spool = tmp_path / "spool"
    run = notify(script, spool, action, None, raw=raw)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad notification" in lines[0] and reason in lines[0]
    assert not spool.exists() or spooled(spool) == 0


def test_broker_down_the_script_returns_at_once(script, tmp_path):
    # no relay, no broker: the message waits in the spool, the compose goes on
    spool = tmp_path / "spool"
    run = notify(script, spool, "status-change", {**COMPOSE, "status": "DOOMED"})
    assert run.returncode == 0 and spooled(spool) == 1
