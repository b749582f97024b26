"""encode/decode round trips and the one-line errors of decode."""

from __future__ import annotations

import json

import pytest
from fedora_messaging import message as fm

from fedbus.errors import ValidationError
from fedbus.message.envelope import AmqpProperties, Encoded, decode, encode, new_message

TOPIC = "org.fedoraproject.stg.bus.canary.sent"


def _base(body: dict[str, object] | None = None, **kw: object) -> fm.Message:
    return new_message(TOPIC, body or {"a": 1}, schema="base.message", **kw)  # type: ignore[arg-type]


def test_encode_matches_fedora_messaging_bytes() -> None:
    msg = _base({"name": "é", "n": [1, 2]})
    enc = encode(msg)
    assert enc.routing_key == TOPIC
    assert enc.body == msg._encoded_body == json.dumps({"name": "é", "n": [1, 2]}).encode()
    p = enc.properties
    assert (p.content_type, p.content_encoding, p.delivery_mode) == ("application/json", "utf-8", 2)
    assert p.priority is None
    assert p.message_id == msg.id and len(p.message_id) == 36
    assert p.headers["fedora_messaging_schema"] == "base.message"
    assert p.headers["fedora_messaging_severity"] == 20
    assert p.headers["priority"] == 0
    assert p.headers["sent-at"].endswith("+00:00") and "." not in p.headers["sent-at"]


def test_priority_and_severity() -> None:
    enc = encode(_base(priority=5, severity=fm.ERROR))
    assert enc.properties.priority == 5
    assert enc.properties.headers["priority"] == 5
    assert enc.properties.headers["fedora_messaging_severity"] == 40


def test_round_trip_through_dict() -> None:
    enc = encode(_base())
    again = Encoded.from_dict(json.loads(json.dumps(enc.to_dict())))
    assert again == enc
    msg = decode(again.routing_key, again.body, again.properties)
    assert msg.topic == TOPIC and msg.body == {"a": 1}
    assert msg.id == enc.properties.message_id
    assert msg._headers == enc.properties.headers
    assert AmqpProperties.from_dict(enc.properties.to_dict()) == enc.properties


def test_decode_accepts_pika_properties() -> None:
    enc = encode(_base())
    msg = decode(enc.routing_key, enc.body, enc.properties.to_pika())
    assert msg.severity == 20 and msg.body == {"a": 1}


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{nope", None, "body is not JSON"),
        (b"[1, 2]", None, "body is not a JSON object"),
        (b"\xff\xfe", None, "body is not utf-8"),
        (b"{}", {"fedora_messaging_severity": 20}, "no fedora_messaging_schema header"),
        (b"{}", {"fedora_messaging_schema": "no.such.v1"}, "unknown schema 'no.such.v1'"),
        (
            b"{}",
            {"fedora_messaging_schema": "base.message", "fedora_messaging_severity": 7},
            "base.message: 7 is not one of",
        ),
    ],
)
def test_decode_errors_are_one_line(
    body: bytes, headers: dict[str, object] | None, reason: str
) -> None:
    props = AmqpProperties(
        message_id="x",
        headers=headers if headers is not None else {"fedora_messaging_schema": "base.message"},
    )
    with pytest.raises(ValidationError) as info:
        decode(TOPIC, body, props)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_encode_rejects_bad_topic() -> None:
    msg = fm.Message(topic="org.fedoraproject.stg.Bus.x.y", body={})
    with pytest.raises(ValidationError, match="'Bus'"):
        encode(msg)


def test_new_message_unknown_schema() -> None:
    with pytest.raises(ValidationError, match="unknown schema"):
        new_message(TOPIC, {}, schema="nope.v1")
