"""Zabbix's script media type: fuzzed ``name=value`` parameters (macros expanded or not).

Property: :func:`zabbix.message` returns a message or raises ValidationError; :func:`alert`
exits 0 with one message spooled, or 1 with one log line and the spool unchanged; the
command never prints a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fedbus_messages import zabbix as z
from fuzzlib import assert_one_line_each, examples, json_values, logged, mutated_json, snapshot
from hypothesis import example, given
from hypothesis import strategies as st

from fedbus.errors import ValidationError
from fedbus.wedges import zabbix
from fedbus.wedges.base import Sink

MACROS = ["{EVENT.ID}", "{EVENT.RECOVERY.TIME}", "*UNKNOWN*", "*{HOST.NAME}*", "{$FEDBUS.URL}"]
TAGS = [{"tag": "service", "value": "koji"}, {"tag": "scope", "value": "availability"}]
dates = st.dates().map(lambda d: d.strftime("%Y.%m.%d")) | st.text(max_size=12)
times = st.times().map(lambda t: t.strftime("%H:%M:%S")) | st.text(max_size=10)
tags = (
    st.just(json.dumps(TAGS))
    | mutated_json(TAGS)
    | json_values.map(json.dumps)
    | st.text(max_size=40)
)
values = {
    "event_id": st.integers(0, 2**64).map(str),
    "event_value": st.sampled_from(["0", "1", "2", "", "01"]),
    "event_update": st.sampled_from(["0", "1"]),
    "host": st.sampled_from(["koji01.example.org", ""]),
    "trigger": st.just("Disk space is low"),
    "trigger_id": st.integers(0, 2**32).map(str),
    "severity": st.sampled_from([*z.SEVERITIES, "high", "Critical"]),
    "date": dates,
    "time": times,
    "recovery_date": dates,
    "recovery_time": times,
    "user": st.just("alice"),
    "url": st.just("https://zabbix.example.org/"),
    "message": st.text(max_size=80),
    "tags": tags,
}


@st.composite
def parameter_lists(draw: st.DrawFn) -> list[str]:
    """The media type's parameters with some dropped, left unexpanded, garbled or added."""
    args = []
    for name, strategy in values.items():
        choice = draw(st.integers(0, 9))
        if choice == 0:
            continue
        value = draw(
            st.sampled_from(MACROS)
            if choice == 1
            else st.text(max_size=30)
            if choice == 2
            else strategy
        )
        args.append(f"{name}={value}")
    args += draw(st.lists(st.text(max_size=30), max_size=2))
    return draw(st.permutations(args))


@examples(300)
@given(parameter_lists())
@example(
    ["event_id=1", "host=h", "trigger=t", "severity=High", "event_value=1", "tags=" + "[" * 5000]
)
def test_message_is_a_message_or_a_validation_error(argv: list[str]) -> None:
    target = Sink(spool_dir=Path("/nonexistent/spool"))
    try:
        enc = zabbix.message(target, argv)
    except ValidationError as exc:
        assert "\n" not in str(exc)
    else:
        assert enc.routing_key.startswith("org.fedoraproject.local.zabbix.trigger.")


@examples(150)
@given(parameter_lists())
def test_alert_spools_one_message_or_nothing(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Sink(spool_dir=Path(tmp) / "spool")
        with logged() as lines:
            code = zabbix.alert(argv, target)
        assert_one_line_each(lines)
        after = snapshot(target.spool_dir)
        if code == 0:
            assert after[2] == 1
        else:
            assert after == (False, (), 0) and len(lines) == 1, lines
            assert "bad Zabbix alert" in lines[0], lines


def _argv_safe(arg: str) -> str:
    return arg.replace("\0", "").encode("utf-8", "replace").decode()


@examples(15)
@given(parameter_lists())
def test_the_command_never_prints_a_traceback(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spool = Path(tmp) / "spool"
        run = subprocess.run(
            [
                Path(sys.executable).with_name("fedbus-wedge"),
                "zabbix-alert",
                *map(_argv_safe, argv),
            ],
            capture_output=True,
            timeout=60,
            env={**os.environ, "FEDBUS_SPOOL": str(spool)},
        )
        err = run.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err and run.returncode in (0, 1), err
        assert run.returncode == 0 or snapshot(spool) == (False, (), 0)
