"""fedbus tail: the line and JSON formats and the filters (pure parts)."""

from __future__ import annotations

import json

import pytest
from fedbus_messages.bus import QueueCreatedV1

from fedbus.cli.cmd_tail import Seen, as_json, inspect, line, wanted
from fedbus.cli.main import main
from fedbus.message.envelope import AmqpProperties, encode, new_message

TOPIC = "org.fedoraproject.stg.bus.queue.created"


def _seen() -> Seen:
    enc = encode(new_message(TOPIC, QueueCreatedV1.example))
    props = AmqpProperties.from_dict(
        {
            **enc.properties.to_dict(),
            "headers": {**enc.properties.headers, "sent-at": "2026-11-30T03:04:05+00:00"},
        }
    )
    return inspect(enc.routing_key, enc.body, props)


def test_line_plain_and_coloured() -> None:
    seen = _seen()
    assert line(seen) == (
        f"03:04:05  {TOPIC}  notifier created queue notifier in vhost /prod  [users: notifier]"
    )
    coloured = line(seen, color=True)
    assert "\033[36m" + TOPIC + "\033[0m" in coloured and "\033[33m[users: notifier]" in coloured


def test_invalid_is_shown_with_reason() -> None:
    props = AmqpProperties(
        message_id="m",
        headers={
            "fedora_messaging_schema": "fedbus.bus.queue.created.v1",
            "sent-at": "bogus",
            "fedora_messaging_rpm_kernel": True,
        },
    )
    seen = inspect(TOPIC, b"not json", props)
    assert seen.error and seen.error.startswith("fedbus.bus.queue.created.v1: body is not JSON")
    assert seen.packages == ["kernel"]
    assert "invalid: fedbus.bus.queue.created.v1: body is not JSON" in line(seen)
    assert json.loads(as_json(seen))["body"] == "not json"


def test_json() -> None:
    got = json.loads(as_json(_seen()))
    assert got["topic"] == TOPIC and got["body"] == QueueCreatedV1.example
    assert got["headers"]["fedora_messaging_schema"] == "fedbus.bus.queue.created.v1"
    assert "error" not in got


def test_filters() -> None:
    seen = _seen()
    assert wanted(seen, None, None)
    assert wanted(seen, ["notifier", "x"], None)
    assert not wanted(seen, ["someone"], None)
    assert not wanted(seen, None, ["kernel"])


def test_bad_count_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["tail", "--url", "amqp://h/", "--count", "0"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "fedbus tail: error: argument --count: expected a whole number >= 1, got '0'"
        " (see fedbus tail --help)\n")
