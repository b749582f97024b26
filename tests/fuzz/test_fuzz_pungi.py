"""Pungi's notification_script: fuzzed actions and stdin, as ``pungi-notification`` sends.

Property: :func:`pungi.message` returns a message or raises ValidationError, nothing else;
:func:`pungi.notify` exits 0 with exactly one message spooled, or non-zero with one log line
and the spool unchanged.  The CLI entry point never prints a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from fuzzlib import assert_one_line_each, examples, json_values, logged, mutated_json, snapshot
from hypothesis import example, given
from hypothesis import strategies as st

from fedbus.errors import ValidationError
from fedbus.wedges import pungi
from fedbus.wedges.base import Sink

COMPOSE: dict[str, Any] = {  # what pungi.notifier.PungiNotifier._update_args adds
    "compose_id": "Fedora-Rawhide-20261130.n.0",
    "location": "https://kojipkgs.example.org/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose",
    "compose_date": "20261130",
    "compose_type": "nightly",
    "compose_respin": 0,
    "compose_label": None,
    "compose_path": "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0",
    "release_short": "Fedora",
    "release_name": "Fedora",
    "release_version": "Rawhide",
    "release_type": "ga",
    "release_is_layered": False,
}
PER_ACTION: dict[str, dict[str, Any]] = {
    "status-change": {"status": "FINISHED"},
    "phase-start": {"phase_name": "createiso"},
    "phase-stop": {"phase_name": "createiso"},
    "createiso-targets": {"deliverables": ["Everything/x86_64/iso/x.iso"]},
    "createiso-imagedone": {"file": "x.iso", "arch": "x86_64", "variant": "Everything"},
    "createiso-imagefail": {"file": "x.iso", "arch": "x86_64", "variant": "Everything"},
    "ostree": {
        "variant": "Silverblue",
        "arch": "x86_64",
        "ref": "fedora/rawhide/x86_64",
        "commitid": "ab" * 32,
        "repo_path": "/r",
        "local_repo_path": "/l",
    },
    "osbs-request-push": {"config_location": "/c.json", "config": {"nvr": {"url": "r"}}},
}
FAIL_TO_START: dict[str, Any] = {  # before the compose exists: no compose_id
    "command": ["pungi-koji", "--config=c.conf"],
    "target_dir": None,
    "config": "c.conf",
    "detail": "Config validation failed",
}
actions = st.sampled_from(
    [*PER_ACTION, "fail-to-start", "ostree-container", "image-build"]
) | st.text(max_size=20)


@st.composite
def notifications(draw: st.DrawFn) -> tuple[str, str]:
    """(action, stdin): a real notification with fields dropped, replaced or added, as JSON
    text, mutated JSON text, or any text."""
    action = draw(actions)
    base = FAIL_TO_START if action == "fail-to-start" else COMPOSE
    data = {**base, **PER_ACTION.get(action, {})}
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=3)):
        data.pop(key, None)
    data.update(
        draw(
            st.dictionaries(
                st.sampled_from([*base, *PER_ACTION.get(action, {}), "extra", "action"])
                | st.text(max_size=8),
                json_values,
                max_size=3,
            )
        )
    )
    stdin = draw(
        st.just(json.dumps(data))
        | mutated_json(data)
        | st.text(max_size=200)
        | json_values.map(json.dumps)
    )
    return action, stdin


@examples(300)
@given(notifications())
@example(("status-change", "[" * 5000))
@example(("status-change", '{"status": "STARTED", "compose_id": NaN}'))
def test_message_is_a_message_or_a_validation_error(case: tuple[str, str]) -> None:
    action, stdin = case
    with tempfile.TemporaryDirectory() as tmp:
        target = Sink(spool_dir=Path(tmp) / "spool")
        try:
            enc = pungi.message(target, action, stdin)
        except ValidationError as exc:
            assert "\n" not in str(exc)
        else:
            assert enc.routing_key.startswith("org.fedoraproject.local.pungi.compose.")
            json.loads(enc.body, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


@examples(150)
@given(notifications())
def test_notify_spools_one_message_or_nothing(case: tuple[str, str]) -> None:
    action, stdin = case
    with tempfile.TemporaryDirectory() as tmp:
        target = Sink(spool_dir=Path(tmp) / "spool")
        before = snapshot(target.spool_dir)
        with logged() as lines:
            code = pungi.notify([action], stdin, target)
        assert_one_line_each(lines)
        after = snapshot(target.spool_dir)
        if code == 0:
            assert after[2] == before[2] + 1
        else:
            assert code == 1 and after == before, (code, lines)
            assert len(lines) == 1 and "bad notification" in lines[0], lines


@examples(15)
@given(notifications())
def test_the_command_never_prints_a_traceback(case: tuple[str, str]) -> None:
    action, stdin = case
    with tempfile.TemporaryDirectory() as tmp:
        spool = Path(tmp) / "spool"
        run = subprocess.run(
            [
                Path(sys.executable).with_name("fedbus-wedge"),
                "pungi-notify",
                action.replace("\0", "").encode("utf-8", "replace").decode(),
            ],
            input=stdin.encode("utf-8", "replace"),
            capture_output=True,
            env={**os.environ, "FEDBUS_SPOOL": str(spool)},
            timeout=60,
        )
        err = run.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err and run.returncode in (0, 1), err
        assert run.returncode == 0 or snapshot(spool) == (False, (), 0)
