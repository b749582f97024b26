"""Envelope decoding: a delivery's body (bytes) with the canary's AMQP properties; the
first byte picks the content encoding."""

from types import SimpleNamespace

import atheris

with atheris.instrument_imports(include=["fedbus"]):
    from fedbus_messages.bus import CanaryV1

    from fedbus.errors import ValidationError
    from fedbus.message import envelope

import contextlib

from atheris_lib import main

TOPIC = "org.fedoraproject.local.bus.canary.sent"
REAL = envelope.encode(envelope.new_message(TOPIC, CanaryV1.example, schema=CanaryV1))
ENCODINGS = ["utf-8", "latin-1", "utf-16", "ascii", "utf-32", "rot13", "idna", "bogus"]


def one_input(data: bytes) -> None:
    encoding = ENCODINGS[data[0] % len(ENCODINGS)] if data else "utf-8"
    props = SimpleNamespace(
        content_type="application/json",
        content_encoding=encoding,
        delivery_mode=2,
        message_id="m",
        priority=None,
        headers=dict(REAL.properties.headers),
    )
    with contextlib.suppress(ValidationError):
        envelope.decode(TOPIC, data[1:], props)


if __name__ == "__main__":
    main(one_input)
