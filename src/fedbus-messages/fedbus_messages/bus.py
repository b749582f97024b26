"""Schemas of the ``bus`` category: the broker's own events and the canary.

The broker events are published by :mod:`fedbus.bridge` from RabbitMQ's event exchange
(``amq.rabbitmq.event``); ``url`` in their bodies, when present, is the object's page in the
management UI.  The canary is sent through each relay by playbooks/canary.yml.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema

_TEXT: dict[str, Any] = {"type": "string"}
_NAME: dict[str, Any] = {"type": "string", "minLength": 1}
_OPT_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_TIME: dict[str, Any] = {"type": "string", "minLength": 1, "description": "ISO 8601 UTC"}
_PORT: dict[str, Any] = {"type": ["integer", "null"], "minimum": 0, "maximum": 65535}


_COMMON: dict[str, Any] = {
    "node": {"type": "string", "description": "broker node that saw the event"},
    "timestamp": _TIME,
    "url": {"type": "string", "description": "the object's page in the management UI"},
}


class ConnectionCreatedV1(FedbusMessage):
    """A client opened an AMQP connection."""

    topic_pattern = "org.fedoraproject.*.bus.connection.created"
    summary_template = "{user} connected to vhost {vhost} from {peer_host} ({connection})"
    url_template = "{url}"
    user_fields = ("user",)
    agent_field = "user"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A client opened a connection to the broker",
        {
            **_COMMON,
            "connection": {**_NAME, "description": "the broker's name for the connection"},
            "client_name": {**_OPT_TEXT, "description": "name the client gave itself"},
            "user": _NAME,
            "vhost": _NAME,
            "peer_host": _TEXT,
            "peer_port": _PORT,
            "protocol": _TEXT,
            "auth_mechanism": _TEXT,
            "tls": {"type": "boolean"},
        },
        ["connection", "user", "vhost", "peer_host", "timestamp"],
    )
    example: ClassVar[dict[str, Any]] = {
        "connection": "192.0.2.10:50312 -> 192.0.2.1:5671",
        "client_name": "fedbus-relay koji01",
        "user": "koji",
        "vhost": "/prod",
        "peer_host": "192.0.2.10",
        "peer_port": 50312,
        "protocol": "0-9-1",
        "auth_mechanism": "EXTERNAL",
        "tls": True,
        "node": "rabbit@bus01",
        "timestamp": "2026-11-30T03:00:00+00:00",
    }


class ConnectionClosedV1(FedbusMessage):
    """An AMQP connection was closed (by the client, the broker, or a network failure)."""

    topic_pattern = "org.fedoraproject.*.bus.connection.closed"
    summary_template = "connection {connection} of {user} to vhost {vhost} closed"
    url_template = None
    user_fields = ("user",)
    agent_field = "user"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A connection to the broker was closed; user and vhost are null when unknown",
        {
            **_COMMON,
            "connection": _NAME,
            "client_name": _OPT_TEXT,
            "user": _OPT_TEXT,
            "vhost": _OPT_TEXT,
        },
        ["connection", "timestamp"],
    )
    example: ClassVar[dict[str, Any]] = {
        "connection": "192.0.2.10:50312 -> 192.0.2.1:5671",
        "client_name": "fedbus-relay koji01",
        "user": "koji",
        "vhost": "/prod",
        "node": "rabbit@bus01",
        "timestamp": "2026-11-30T03:10:00+00:00",
    }


class AuthenticationFailureV1(FedbusMessage):
    """A client failed to authenticate."""

    topic_pattern = "org.fedoraproject.*.bus.user.authentication.failure"
    summary_template = "authentication of {user} from {peer_host} failed: {error}"
    url_template = "{url}"
    user_fields = ("user",)
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A client failed to authenticate to the broker",
        {
            **_COMMON,
            "user": {**_TEXT, "description": "the user name the client presented"},
            "error": _TEXT,
            "peer_host": _TEXT,
            "peer_port": _PORT,
            "protocol": _TEXT,
            "auth_mechanism": _TEXT,
            "tls": {"type": "boolean"},
        },
        ["user", "error", "peer_host", "timestamp"],
    )
    example: ClassVar[dict[str, Any]] = {
        "user": "koji",
        "error": "user 'koji' - invalid credentials",
        "peer_host": "198.51.100.7",
        "peer_port": 40112,
        "protocol": "0-9-1",
        "auth_mechanism": "PLAIN",
        "tls": True,
        "node": "rabbit@bus01",
        "timestamp": "2026-11-30T03:05:00+00:00",
    }


_QUEUE_COMMON: dict[str, Any] = {
    **_COMMON,
    "queue": _NAME,
    "vhost": _NAME,
    "user": {**_OPT_TEXT, "description": "who declared or deleted it"},
}


class QueueCreatedV1(FedbusMessage):
    """A queue was declared."""

    topic_pattern = "org.fedoraproject.*.bus.queue.created"
    summary_template = "{user} created queue {queue} in vhost {vhost}"
    url_template = "{url}"
    user_fields = ("user",)
    agent_field = "user"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A queue was created",
        {
            **_QUEUE_COMMON,
            "durable": {"type": "boolean"},
            "auto_delete": {"type": "boolean"},
            "exclusive": {"type": "boolean"},
            "arguments": {"type": "object"},
        },
        ["queue", "vhost", "durable", "auto_delete", "exclusive", "timestamp"],
    )
    example: ClassVar[dict[str, Any]] = {
        "queue": "notifier",
        "vhost": "/prod",
        "user": "notifier",
        "durable": True,
        "auto_delete": False,
        "exclusive": False,
        "arguments": {"x-queue-type": "quorum"},
        "node": "rabbit@bus01",
        "url": "https://bus01.example.org:15671/#/queues/%2Fprod/notifier",
        "timestamp": "2026-11-30T03:01:00+00:00",
    }


class QueueDeletedV1(FedbusMessage):
    """A queue was deleted (explicitly, or auto-deleted with its last consumer)."""

    topic_pattern = "org.fedoraproject.*.bus.queue.deleted"
    summary_template = "{user} deleted queue {queue} in vhost {vhost}"
    url_template = None
    user_fields = ("user",)
    agent_field = "user"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A queue was deleted", dict(_QUEUE_COMMON), ["queue", "vhost", "timestamp"]
    )
    example: ClassVar[dict[str, Any]] = {
        "queue": "notifier",
        "vhost": "/prod",
        "user": "notifier",
        "node": "rabbit@bus01",
        "timestamp": "2026-11-30T03:02:00+00:00",
    }


class CanaryV1(FedbusMessage):
    """A canary: sent through a relay by playbooks/canary.yml, expected on the bus."""

    topic_pattern = "org.fedoraproject.*.bus.canary.sent"
    summary_template = "canary {nonce} from {origin}"
    url_template = None
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A canary message that proves a path (relay, broker) delivers",
        {
            "origin": {**_NAME, "description": "host (or relay) that sent it"},
            "nonce": {**_NAME, "description": "unique token the checker waits for"},
            "sent_at": _TIME,
            "note": _TEXT,
        },
        ["origin", "nonce", "sent_at"],
    )
    example: ClassVar[dict[str, Any]] = {
        "origin": "koji01.stg.example.org",
        "nonce": "5f0c2a3e-9d1b-4f7a-8a5e-0c6b2d1e4f3a",
        "sent_at": "2026-11-30T03:00:00+00:00",
        "note": "canary.yml",
    }
