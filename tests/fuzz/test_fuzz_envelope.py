"""Envelope decoding: what a consumer does with each delivery (routing key, body, properties).

Property: :func:`envelope.decode` returns a message or raises ValidationError.  Inputs:
real envelopes (every registered schema's own example when it has one, the canary) with
mutated bodies, headers and properties, and garbage.
"""

from __future__ import annotations

import contextlib
import json
from types import SimpleNamespace
from typing import Any

import pytest
from fedbus_messages.bus import CanaryV1
from fuzzlib import examples, json_values, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from fedbus.errors import ValidationError
from fedbus.message import envelope

CANARY_TOPIC = "org.fedoraproject.local.bus.canary.sent"


def _canary() -> envelope.Encoded:
    return envelope.encode(envelope.new_message(CANARY_TOPIC, CanaryV1.example, schema=CanaryV1))


REAL = _canary()
SCHEMAS = sorted(envelope._registered())
header_values = json_values | st.sampled_from(SCHEMAS)


amqp_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.floats()
    | st.datetimes()
    | st.decimals(places=2),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, bytes, SimpleNamespace]:
    """What aio-pika/pika hand a consumer: AMQP-typed properties (any values a publisher
    may set), a body, a routing key; the real canary mutated, or garbage."""
    headers = dict(REAL.properties.headers)
    if draw(st.booleans()):
        headers["fedora_messaging_schema"] = draw(st.sampled_from(SCHEMAS) | st.text(max_size=20))
    headers.update(
        draw(
            st.dictionaries(
                st.sampled_from(sorted(headers)) | st.text(max_size=10), amqp_values, max_size=3
            )
        )
    )
    props = SimpleNamespace(
        content_type=draw(st.sampled_from(["application/json", None]) | st.text(max_size=10)),
        content_encoding=draw(
            st.sampled_from(["utf-8", None, "latin-1", "rot13", "utf-16", "zlib", "idna"])
            | st.text(max_size=10).map(lambda e: e.replace("\0", ""))
        ),
        delivery_mode=draw(st.sampled_from([1, 2, None])),
        message_id=draw(st.none() | st.text(max_size=36)),
        headers=draw(
            st.just(headers)
            | st.none()
            | st.dictionaries(st.text(max_size=8), amqp_values, max_size=3)
        ),
        priority=draw(st.none() | st.integers(0, 255)),
    )
    body_obj = json.loads(REAL.body)
    body = draw(
        st.just(REAL.body.decode()) | mutated_json(body_obj) | json_values.map(json.dumps)
    ).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.binary(max_size=60))
    key = draw(st.just(REAL.routing_key) | st.text(max_size=40))
    return key, body, props


def _decode(key: str, body: bytes, props: Any) -> None:
    # one line: test_decode_errors_are_one_line
    with contextlib.suppress(ValidationError):
        envelope.decode(key, body, props)


@examples(400)
@given(deliveries())
def test_decode_is_a_message_or_a_validation_error(case: tuple[str, bytes, Any]) -> None:
    _decode(*case)


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a": NaN}'])
def test_decode_refuses_deep_or_nan_bodies(body: bytes) -> None:
    # Before: b"[" * 100000 -> RecursionError: maximum recursion depth exceeded while
    # decoding a JSON array from a unicode string; NaN was accepted.
    headers = {"fedora_messaging_schema": SCHEMAS[0]}
    with pytest.raises(ValidationError):
        envelope.decode(CANARY_TOPIC, body, {"headers": headers})


@pytest.mark.parametrize(
    "props", [{"headers": True}, {"headers": [""]}, {"headers": {}, "delivery_mode": "x"}]
)
def test_decode_refuses_malformed_property_mappings(props: dict[str, Any]) -> None:
    # Before: {"headers": True} -> TypeError: 'bool' object is not iterable;
    # {"headers": [""]} -> ValueError: dictionary update sequence element #0 has length 0
    with pytest.raises(ValidationError):
        envelope.decode(CANARY_TOPIC, REAL.body, props)


def test_decode_errors_are_one_line() -> None:
    # Before: content_encoding "\n" -> "fedbus.bus.canary.v1: body is not \n: unknown
    # encoding: \n" (a publisher's value breaks the consumer's log line)
    props = SimpleNamespace(
        content_type="application/json",
        content_encoding="\n",
        delivery_mode=2,
        message_id=None,
        headers=dict(REAL.properties.headers),
        priority=None,
    )
    with pytest.raises(ValidationError) as exc:
        envelope.decode(CANARY_TOPIC, b"\x00", props)
    assert "\n" not in str(exc.value)


def test_decode_refuses_a_nul_in_the_content_encoding() -> None:
    # Before: content_encoding "\x00" -> ValueError: embedded null character (bytes.decode)
    props = SimpleNamespace(
        content_type="application/json",
        content_encoding="\x00",
        delivery_mode=2,
        message_id=None,
        headers=dict(REAL.properties.headers),
        priority=None,
    )
    with pytest.raises(ValidationError):
        envelope.decode(CANARY_TOPIC, REAL.body, props)
