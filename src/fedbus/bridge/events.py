"""Translate one RabbitMQ event (routing key + headers) into a fedbus message body.

Pure functions: no I/O.  :class:`Translator` keeps the little state it needs — the user and
vhost of open connections, because ``connection.closed`` events carry neither.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fedbus_messages import bus
from fedora_messaging.message import Message

#: event routing key → schema; the bridge binds exactly these.
SCHEMAS: dict[str, type[Message]] = {
    "connection.created": bus.ConnectionCreatedV1,
    "connection.closed": bus.ConnectionClosedV1,
    "user.authentication.failure": bus.AuthenticationFailureV1,
    "queue.created": bus.QueueCreatedV1,
    "queue.deleted": bus.QueueDeletedV1,
}
#: connections whose client-given name starts with this are the bridge's own: never announced.
OWN_NAME = "fedbus-bridge"
_TRACKED_MAX = 100_000


@dataclass(frozen=True)
class Bridged:
    topic: str
    schema: type[Message]
    body: dict[str, Any]


def text(value: Any) -> str:
    """An Erlang-ish header value as text (bytes, charlists as lists of ints, strings)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list) and all(isinstance(i, int) for i in value):
        return bytes(i & 0xFF for i in value).decode("utf-8", "replace")
    return "" if value is None else str(value)


def address(value: Any) -> str:
    """``{127,0,0,1}`` → ``127.0.0.1``; 8-group tuples → IPv6; anything else as text."""
    raw = text(value)
    m = re.fullmatch(r"\{([\d,\s]+)\}", raw)
    if not m:
        return raw
    parts = [int(p) for p in m.group(1).split(",")]
    if len(parts) == 4:
        return str(ipaddress.IPv4Address(bytes(parts)))
    if len(parts) == 8:
        ip6 = ipaddress.IPv6Address(b"".join(p.to_bytes(2, "big") for p in parts))
        return str(ip6.ipv4_mapped or ip6)
    return raw


def protocol(value: Any) -> str:
    """``{0,9,1}`` → ``0-9-1``."""
    raw = text(value)
    m = re.fullmatch(r"\{([\d,\s]+)\}", raw)
    return "-".join(p.strip() for p in m.group(1).split(",")) if m else raw


_ARG = re.compile(r'\{<<"(?P<key>[^"]*)">>,(?P<type>\w+),(?P<value>.*)\}', re.DOTALL)


def arguments(value: Any) -> dict[str, Any]:
    """Queue arguments as the event gives them (a dict, or Erlang tuples as text)."""
    if isinstance(value, dict):
        return {str(k): v if isinstance(v, int | bool) else text(v) for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in value if isinstance(value, list) else []:
        m = _ARG.fullmatch(text(item))
        if not m:
            continue
        raw = m.group("value")
        if m.group("type") in ("long", "signedint", "short", "byte") and raw.lstrip("-").isdigit():
            out[m.group("key")] = int(raw)
        elif raw in ("true", "false"):
            out[m.group("key")] = raw == "true"
        else:
            out[m.group("key")] = re.sub(r'^<<"(.*)">>$', r"\1", raw)
    return out


def timestamp(headers: Mapping[str, Any]) -> str:
    ms = headers.get("timestamp_in_ms")
    when = (
        datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
        if isinstance(ms, int)
        else datetime.datetime.now(tz=datetime.UTC)
    )
    return when.replace(microsecond=0).isoformat()


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 <= value <= 65535 else None


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _drop_empty(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None and v != ""}


@dataclass
class Translator:
    """Turns events into fedbus message bodies.

    ``topic_prefix`` is ``org.fedoraproject.<env>``; ``management_url`` (optional) makes object
    links; ``only_vhosts`` (optional) skips events about other vhosts (events that name no
    vhost, such as authentication failures, always pass); ``own_queues`` are skipped too.
    """

    topic_prefix: str
    management_url: str | None = None
    only_vhosts: frozenset[str] | None = None
    own_queues: set[str] = field(default_factory=set)
    _conns: OrderedDict[str, tuple[str, str]] = field(default_factory=OrderedDict)

    def translate(self, routing_key: str, headers: Mapping[str, Any] | None) -> Bridged | None:
        """The message to publish for this event, or None to skip it."""
        schema = SCHEMAS.get(routing_key)
        if schema is None:
            return None
        h = dict(headers or {})
        body = getattr(self, "_" + routing_key.replace(".", "_"))(h)
        if body is None:
            return None
        vhost = body.get("vhost")
        if self.only_vhosts is not None and vhost is not None and vhost not in self.only_vhosts:
            return None
        return Bridged(f"{self.topic_prefix}.bus.{routing_key}", schema, _drop_empty(body))

    def _link(self, *path: str) -> str | None:
        if not self.management_url:
            return None
        return self.management_url.rstrip("/") + "/#/" + "/".join(path)

    @staticmethod
    def _is_own(h: Mapping[str, Any]) -> bool:
        return text(h.get("user_provided_name")).startswith(OWN_NAME)

    def _connection_created(self, h: dict[str, Any]) -> dict[str, Any] | None:
        pid, user, vhost = text(h.get("pid")), text(h.get("user")), text(h.get("vhost"))
        if self._is_own(h):
            return None
        if pid:
            self._conns[pid] = (user, vhost)
            while len(self._conns) > _TRACKED_MAX:
                self._conns.popitem(last=False)
        name = text(h.get("name"))
        return {
            "connection": name,
            "client_name": text(h.get("user_provided_name")) or None,
            "user": user,
            "vhost": vhost,
            "peer_host": address(h.get("peer_host")),
            "peer_port": _port(h.get("peer_port")),
            "protocol": protocol(h.get("protocol")) or None,
            "auth_mechanism": text(h.get("auth_mechanism")) or None,
            "tls": bool(h.get("ssl")) if "ssl" in h else None,
            "node": text(h.get("node")) or None,
            "url": self._link("connections", _q(name)),
            "timestamp": timestamp(h),
        }

    def _connection_closed(self, h: dict[str, Any]) -> dict[str, Any] | None:
        if self._is_own(h):
            return None
        user, vhost = self._conns.pop(text(h.get("pid")), (None, None))
        if user is None and self.only_vhosts is not None:
            return None  # not seen opening: its vhost is unknown, so it may not be ours
        return {
            "connection": text(h.get("name")),
            "client_name": text(h.get("user_provided_name")) or None,
            "user": user,
            "vhost": vhost,
            "node": text(h.get("node")) or None,
            "timestamp": timestamp(h),
        }

    def _user_authentication_failure(self, h: dict[str, Any]) -> dict[str, Any] | None:
        user = text(h.get("name"))
        return {
            "user": user,
            "error": text(h.get("error")) or "authentication failed",
            "peer_host": address(h.get("peer_host")),
            "peer_port": _port(h.get("peer_port")),
            "protocol": protocol(h.get("protocol")) or None,
            "auth_mechanism": text(h.get("auth_mechanism")) or None,
            "tls": bool(h.get("ssl")) if "ssl" in h else None,
            "node": text(h.get("node")) or None,
            "url": self._link("users", _q(user)) if user else None,
            "timestamp": timestamp(h),
        }

    def _queue_common(self, h: dict[str, Any]) -> dict[str, Any] | None:
        name, vhost = text(h.get("name")), text(h.get("vhost"))
        if name in self.own_queues:
            return None
        return {
            "queue": name,
            "vhost": vhost,
            "user": text(h.get("user_who_performed_action")) or None,
            "node": text(h.get("node")) or None,
            "timestamp": timestamp(h),
        }

    def _queue_created(self, h: dict[str, Any]) -> dict[str, Any] | None:
        body = self._queue_common(h)
        if body is None:
            return None
        return {
            **body,
            "durable": bool(h.get("durable")),
            "auto_delete": bool(h.get("auto_delete")),
            "exclusive": bool(h.get("exclusive")),
            "arguments": arguments(h.get("arguments")),
            "url": self._link("queues", _q(body["vhost"]), _q(body["queue"])),
        }

    def _queue_deleted(self, h: dict[str, Any]) -> dict[str, Any] | None:
        return self._queue_common(h)
