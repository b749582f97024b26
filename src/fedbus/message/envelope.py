"""The bytes on the wire, byte-compatible with fedora-messaging.

A message is a :class:`fedora_messaging.message.Message` (or a subclass registered in the
``fedora.messages`` entry point group).  :func:`encode` turns it into what goes to the broker
(routing key, body, AMQP properties); :func:`decode` does the reverse and validates.  Both reuse
the library's own code (``_properties``, ``_encoded_body``, ``get_class``) so that fedbus and
fedora-messaging stay byte-compatible; the interoperability tests hold them to it.

Differences from the library, on purpose:

- the routing key is the message's topic verbatim (fedbus topics are full names, see
  :mod:`fedbus.message.topic`); fedora-messaging's global ``topic_prefix`` is not consulted;
- an unknown schema name, or a missing schema header, is a :class:`ValidationError` here
  (the library falls back to the base schema with a warning).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import pika
from fedora_messaging import message as fm

from fedbus.errors import ValidationError

CONTENT_TYPE = "application/json"
CONTENT_ENCODING = "utf-8"
PERSISTENT = 2
SCHEMA_HEADER = "fedora_messaging_schema"
SEVERITY_HEADER = "fedora_messaging_severity"
SENT_AT_HEADER = "sent-at"
BASE_SCHEMA = "base.message"

Message = fm.Message
SEVERITIES = fm.SEVERITIES


@dataclass(frozen=True)
class AmqpProperties:
    """The AMQP basic properties fedbus sets and reads (the others stay unset)."""

    content_type: str = CONTENT_TYPE
    content_encoding: str = CONTENT_ENCODING
    delivery_mode: int = PERSISTENT
    message_id: str = ""
    headers: dict[str, Any] = field(default_factory=dict)
    priority: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for spooling); :meth:`from_dict` reads it back."""
        return {
            "content_type": self.content_type,
            "content_encoding": self.content_encoding,
            "delivery_mode": self.delivery_mode,
            "message_id": self.message_id,
            "headers": {k: _json_safe(v) for k, v in self.headers.items()},
            "priority": self.priority,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AmqpProperties:
        """ValidationError (one line) when a property has the wrong type."""
        headers = d.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise ValidationError(f"headers: expected a table, got {type(headers).__name__}")
        return cls(
            content_type=d.get("content_type") or CONTENT_TYPE,
            content_encoding=d.get("content_encoding") or CONTENT_ENCODING,
            delivery_mode=_delivery_mode(d.get("delivery_mode")),
            message_id=d.get("message_id") or "",
            headers={str(k): v for k, v in headers.items()},
            priority=d.get("priority"),
        )

    @classmethod
    def from_amqp(cls, props: Any) -> AmqpProperties:
        """From any object with AMQP property attributes (pika, aio-pika) or a mapping."""
        if isinstance(props, AmqpProperties):
            return props
        if isinstance(props, Mapping):
            return cls.from_dict(props)
        headers = getattr(props, "headers", None) or {}
        if not isinstance(headers, Mapping):
            raise ValidationError(f"headers: expected a table, got {type(headers).__name__}")
        return cls(
            content_type=getattr(props, "content_type", None) or CONTENT_TYPE,
            content_encoding=getattr(props, "content_encoding", None) or CONTENT_ENCODING,
            delivery_mode=_delivery_mode(getattr(props, "delivery_mode", None)),
            message_id=getattr(props, "message_id", None) or "",
            headers={str(k): _json_safe(v) for k, v in headers.items()},
            priority=getattr(props, "priority", None),
        )

    def to_pika(self) -> pika.BasicProperties:
        return pika.BasicProperties(
            content_type=self.content_type,
            content_encoding=self.content_encoding,
            delivery_mode=self.delivery_mode,
            message_id=self.message_id or None,
            headers=dict(self.headers),
            priority=self.priority,
        )


@dataclass(frozen=True)
class Encoded:
    """One message ready for ``basic_publish`` on ``amq.topic``."""

    routing_key: str
    body: bytes
    properties: AmqpProperties

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form; the body is kept as text (it is UTF-8 JSON)."""
        return {
            "routing_key": self.routing_key,
            "body": self.body.decode("utf-8"),
            "properties": self.properties.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Encoded:
        return cls(
            routing_key=d["routing_key"],
            body=d["body"].encode("utf-8"),
            properties=AmqpProperties.from_dict(d["properties"]),
        )


def _delivery_mode(value: Any) -> int:
    if value is None or value == "":
        return PERSISTENT
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"delivery_mode: expected 1 or 2, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"delivery_mode: expected 1 or 2, got {value!r}") from None


def _printable(text: str) -> str:
    """``text`` on one line; escaped (``repr``) when it holds other unprintable characters
    (a publisher's value must not break a log line)."""
    text = " ".join(text.split())
    return text if text.isprintable() and text else repr(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_json(data: str | bytes, what: str = "body") -> Any:
    """Strict JSON, the package's one parser of outside input: no ``NaN``/``Infinity``
    (not JSON, and refused by other parsers downstream), no duplicate keys (two readers
    could see two different values), nesting the parser can handle.  Raises
    :class:`ValidationError` ``"<what> is not JSON: <reason>"`` on one line."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValidationError(f"{what} is not JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, ours
        reason = " ".join(str(exc).split())
        raise ValidationError(f"{what} is not JSON: {reason}") from None


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)


def _one_line(exc: jsonschema.exceptions.ValidationError) -> str:
    where = "/".join(str(p) for p in exc.absolute_path)
    text = " ".join(exc.message.split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{text} (at {where})" if where else text


def schema_name(message: fm.Message) -> str:
    """The registered name of the message's class (``fedbus.bus.canary.v1``, …)."""
    try:
        return fm.get_name(type(message))
    except TypeError as exc:
        raise ValidationError(
            f"{type(message).__name__} is not registered in the fedora.messages entry points"
        ) from exc


# One compiled validator per schema object: jsonschema.validate() re-checks the
# schema against its meta-schema on every call, which would be most of the cost of
# a decode. Same checks as fedora-messaging's Message.validate(), same errors.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}


def _validator(schema: Mapping[str, Any]) -> Any:
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


def _check(instance: Any, schema: Mapping[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(instance))
    if error is not None:
        raise error


def _validate_message(message: fm.Message) -> None:
    for schema in (message.headers_schema, fm.Message.headers_schema):
        _check(message._headers, schema)
    for schema in (message.body_schema, fm.Message.body_schema):
        _check(message.body, schema)


def validate(message: fm.Message) -> None:
    """Validate headers and body against the message's schema; one-line ValidationError."""
    try:
        _validate_message(message)
    except jsonschema.exceptions.ValidationError as exc:
        name = message._headers.get(SCHEMA_HEADER, type(message).__name__)
        raise ValidationError(f"{name}: {_one_line(exc)}") from exc
    except jsonschema.exceptions.SchemaError as exc:
        raise ValidationError(f"{type(message).__name__}: invalid schema: {exc.message}") from exc


def encode(message: fm.Message) -> Encoded:
    """Validate ``message`` and return its routing key, body bytes and properties."""
    from fedbus.message.topic import validate_topic

    validate_topic(message.topic)
    validate(message)
    return Encoded(
        routing_key=message.topic,
        body=message._encoded_body,
        properties=AmqpProperties.from_amqp(message._properties),
    )


def resolve_class(name: str) -> type[fm.Message]:
    """The message class registered under ``name``; ValidationError if there is none."""
    cls = fm.get_class(name) if name in _registered() else None
    if cls is None:
        raise ValidationError(f"unknown schema {name!r} (not in the fedora.messages entry points)")
    return cls


def _registered() -> Mapping[str, type[fm.Message]]:
    if not fm._registry_loaded:
        fm.load_message_classes()
    return fm._schema_name_to_class


def decode(
    routing_key: str, body: bytes, properties: AmqpProperties | Mapping[str, Any] | Any
) -> fm.Message:
    """Rebuild and validate the message received with ``routing_key``/``body``/``properties``.

    ``properties`` is an :class:`AmqpProperties`, its ``to_dict()`` form, or any object with
    AMQP property attributes (pika's ``BasicProperties``, aio-pika's ``IncomingMessage``).
    Raises :class:`ValidationError` with a one-line reason.
    """
    props = AmqpProperties.from_amqp(properties)
    if not isinstance(props.content_encoding, str):
        raise ValidationError(f"content_encoding: expected a string, got "
                              f"{type(props.content_encoding).__name__}")
    name = props.headers.get(SCHEMA_HEADER)
    if not isinstance(name, str) or not name:
        raise ValidationError(f"no {SCHEMA_HEADER} header")
    cls = resolve_class(name)
    try:
        text = body.decode(props.content_encoding)
    except (ValueError, LookupError) as exc:  # bad bytes, unknown or NUL-bearing encoding
        raise ValidationError(f"{name}: body is not {_printable(props.content_encoding)}: "
                              f"{_printable(str(exc))}") from exc
    data = loads_json(text, f"{name}: body")
    if not isinstance(data, dict):
        raise ValidationError(f"{name}: body is not a JSON object")
    severity = props.headers.get(SEVERITY_HEADER)
    message = cls(
        body=data,
        topic=routing_key,
        properties=props.to_pika(),
        severity=severity if isinstance(severity, int) else None,
    )
    validate(message)
    return message


def new_message(
    topic: str,
    body: Mapping[str, Any],
    *,
    schema: str | type[fm.Message] | None = None,
    severity: int = fm.INFO,
    priority: int | None = None,
) -> fm.Message:
    """A new message of ``schema`` (a name, a class, or None: the catalog's schema for
    ``topic``), validated.  ``topic`` is the full topic name."""
    from fedbus.message.topic import validate_topic

    validate_topic(topic)
    if severity not in fm.SEVERITIES:
        raise ValidationError(f"severity: expected one of {fm.SEVERITIES}, got {severity!r}")
    if schema is None:
        from fedbus.message.catalog import schema_for_topic

        cls = schema_for_topic(topic)
    elif isinstance(schema, str):
        cls = resolve_class(schema)
    else:
        cls = schema
    message = cls(body=dict(body), topic=topic, severity=severity)
    if priority is not None:
        message.priority = priority  # sets the property and mirrors it in the headers
    validate(message)
    return message
