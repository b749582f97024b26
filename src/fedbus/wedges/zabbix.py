"""Zabbix alert script: ``zabbix.trigger.*``, ``zabbix.service.*``, ``zabbix.internal.*``,
``zabbix.discovery.status``, ``zabbix.agent.registered``.

Zabbix 6 runs a *script* media type as ``<AlertScriptsPath>/<script_name> <param>…``, one
argument per "script parameter" of the media type in its order, macros expanded.  The
media type (``roles/wedges/files/zabbix/media_fedbus.yaml``, importable in Zabbix 6) passes
``name=value`` parameters::

    event_id={EVENT.ID}  event_value={EVENT.VALUE}  event_update={EVENT.UPDATE.STATUS}
    host={HOST.NAME}  trigger={EVENT.NAME}  trigger_id={TRIGGER.ID}
    severity={EVENT.SEVERITY}  date={EVENT.DATE}  time={EVENT.TIME}
    recovery_date={EVENT.RECOVERY.DATE}  recovery_time={EVENT.RECOVERY.TIME}
    user={USER.USERNAME}  url={$FEDBUS.ZABBIX.URL}  message={ALERT.MESSAGE}
    tags={EVENT.TAGSJSON}  update_date={EVENT.UPDATE.DATE}  update_time={EVENT.UPDATE.TIME}
    event_source={EVENT.SOURCE}  event_object={EVENT.OBJECT}  subject={ALERT.SUBJECT}
    host_host={HOST.HOST}  ip={HOST.IP}  discovery_ip={DISCOVERY.DEVICE.IPADDRESS}
    service={SERVICE.NAME}

``{EVENT.SOURCE}`` picks the kind of event (absent: a trigger, as from a media type without
that parameter): 0 a trigger, 1 a network discovery, 2 an active agent autoregistration, 3
an internal event (an item, trigger or LLD rule that became unsupported or unknown, or
normal again), 4 a business service.  For triggers, services and internal events
``{EVENT.VALUE}`` 1 is a problem, 0 a recovery, and ``{EVENT.UPDATE.STATUS}`` 1 an update
(acknowledgement/comment; not for internal events); for a discovery ``{EVENT.VALUE}`` is
0 up, 1 down, 2 discovered, 3 lost.

``time`` is when the event happened: ``{EVENT.DATE}`` ``{EVENT.TIME}`` for a problem (and
a discovery, an autoregistration), ``{EVENT.RECOVERY.DATE}`` ``{EVENT.RECOVERY.TIME}`` for
a recovery, ``{EVENT.UPDATE.DATE}`` ``{EVENT.UPDATE.TIME}`` for an update (``2026.12.07``
``21:00:00``); only when Zabbix left them unexpanded, when the script runs.  A macro Zabbix
left unexpanded (``{EVENT.RECOVERY.TIME}`` on a problem) counts as absent.  Dates are the
Zabbix server's, taken as UTC (run the server in UTC).  Exit 0 when spooled; 1 with one
line on stderr on bad parameters (Zabbix shows the alert as failed with that line).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from fedbus_messages import zabbix as z
from fedbus_messages.base import FedbusMessage

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded, loads_json
from fedbus.wedges.base import Sink, build, one_line, publish_all

log = logging.getLogger("fedbus.wedges.zabbix")
PARAMS = (
    "event_id",
    "event_value",
    "event_update",
    "host",
    "trigger",
    "trigger_id",
    "severity",
    "date",
    "time",
    "recovery_date",
    "recovery_time",
    "user",
    "url",
    "message",
    "tags",
    "update_date",
    "update_time",
    "event_source",
    "event_object",
    "subject",
    "host_host",
    "ip",
    "discovery_ip",
    "service",
)
SOURCES = {"0": "trigger", "1": "discovery", "2": "autoregistration", "3": "internal",
           "4": "service"}
DISCOVERY_STATUS = {"0": "UP", "1": "DOWN", "2": "DISCOVERED", "3": "LOST"}
_UNEXPANDED = re.compile(r"^\*?\{[A-Z0-9_.$]+\}\*?$|^\*UNKNOWN\*$")


def parse_params(argv: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for arg in argv:
        name, sep, value = arg.partition("=")
        if not sep or name not in PARAMS:
            raise ValidationError(
                f"parameter {arg[:60]!r}: expected one of {', '.join(PARAMS)} as name=value"
            )
        if value and not _UNEXPANDED.match(value):
            params[name] = value
    return params


def _when(date: str | None, time: str | None) -> str:
    if not date or not time:
        return datetime.now(UTC).isoformat(timespec="seconds")
    try:
        dt = datetime.strptime(f"{date} {time}", "%Y.%m.%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValidationError(f"date/time {date!r} {time!r}: expected YYYY.MM.DD HH:MM:SS") from exc
    return dt.isoformat()


def _tags(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    items = loads_json(text, "tags")
    if not isinstance(items, list):
        raise ValidationError("tags: expected {EVENT.TAGSJSON}'s list of {tag, value}")
    return {str(i.get("tag")): str(i.get("value", "")) for i in items if isinstance(i, dict)}


def message(target: Sink, argv: list[str]) -> Encoded:
    p = parse_params(argv)
    source = SOURCES.get(p.get("event_source", "0"))
    if source is None:
        raise ValidationError(
            f"event_source {p['event_source']!r}: expected one of {', '.join(SOURCES)}"
        )
    if source == "trigger":
        return _trigger(target, p)
    return _other(target, p, source)


def _status(p: dict[str, str], updates: bool = True) -> str:
    if updates and p.get("event_update") == "1":
        return "UPDATE"
    if p.get("event_value") == "1":
        return "PROBLEM"
    if p.get("event_value") == "0":
        return "RESOLVED"
    raise ValidationError(f"event_value {p.get('event_value')!r}: expected 1 or 0")


def _time(p: dict[str, str], status: str) -> str:
    if status == "UPDATE":
        return _when(p.get("update_date"), p.get("update_time"))
    if status == "RESOLVED":
        return _when(
            p.get("recovery_date") or p.get("date"), p.get("recovery_time") or p.get("time")
        )
    return _when(p.get("date"), p.get("time"))


def _common(p: dict[str, str], body: dict[str, Any], trigger: bool = True) -> dict[str, Any]:
    for key in ("trigger_id", "message", "user"):
        if key in p:
            body[key] = p[key]
    if "url" in p:  # a trigger's event page; else the frontend
        body["url"] = (
            f"{p['url'].rstrip('/')}/tr_events.php?"
            f"triggerid={p.get('trigger_id', '')}&eventid={p['event_id']}"
            if trigger
            else p["url"].rstrip("/") + "/"
        )
    tags = _tags(p.get("tags"))
    if tags:
        body["tags"] = tags
    return body


def _trigger(target: Sink, p: dict[str, str]) -> Encoded:
    for key in ("event_id", "host", "trigger", "severity", "event_value"):
        if key not in p:
            raise ValidationError(f"parameter {key} missing (or its macro unexpanded)")
    if p["severity"] not in z.SEVERITIES:
        raise ValidationError(
            f"severity {p['severity']!r}: expected one of {', '.join(z.SEVERITIES)}"
        )
    status = _status(p)
    schema: type[FedbusMessage] = {
        "UPDATE": z.ZabbixUpdateV1, "PROBLEM": z.ZabbixProblemV1, "RESOLVED": z.ZabbixRecoveryV1
    }[status]
    suffix = {"UPDATE": "update", "PROBLEM": "problem", "RESOLVED": "recovery"}[status]
    body: dict[str, Any] = {
        "event_id": p["event_id"],
        "host": p["host"],
        "trigger": p["trigger"],
        "severity": p["severity"],
        "status": status,
        "time": _time(p, status),
    }
    return build(target, schema, _common(p, body), suffix=f"zabbix.trigger.{suffix}")


def _other(target: Sink, p: dict[str, str], source: str) -> Encoded:
    """A discovery, autoregistration, internal or service event."""
    if "event_id" not in p:
        raise ValidationError("parameter event_id missing (or its macro unexpanded)")
    if source == "discovery":
        status = DISCOVERY_STATUS.get(p.get("event_value", ""), "")
        if not status:
            raise ValidationError(
                f"event_value {p.get('event_value')!r}: expected one of 0 1 2 3 (discovery)"
            )
        suffix = "zabbix.discovery.status"
    elif source == "autoregistration":
        status, suffix = "REGISTERED", "zabbix.agent.registered"
    else:
        status = _status(p, updates=source == "service")
        kind = {"UPDATE": "update", "PROBLEM": "problem", "RESOLVED": "recovery"}[status]
        suffix = f"zabbix.{source}.{kind}"
    host = p.get("host") or p.get("host_host") or p.get("discovery_ip") or p.get("ip")
    name = (p.get("trigger") or p.get("subject") or p.get("service")
            or f"{source} event {p['event_id']}")
    body: dict[str, Any] = {
        "event_id": p["event_id"],
        "source": source,
        "status": status,
        "name": name,
        "time": _time(p, status if source in ("internal", "service") else "PROBLEM"),
    }
    if host:
        body["host"] = host
    for key, field in (("event_object", "object"), ("ip", "ip"), ("service", "service"),
                       ("subject", "subject")):
        if key in p:
            body[field] = p[key]
    if p.get("discovery_ip"):
        body["ip"] = p["discovery_ip"]
    if p.get("severity") in z.SEVERITIES:
        body["severity"] = p["severity"]
    schema = z.OTHER[suffix]
    return build(target, schema, _common(p, body, trigger=False), suffix=suffix)


def alert(argv: list[str], target: Sink) -> int:
    try:
        enc = message(target, argv)
    except ValidationError as exc:
        log.error("fedbus: bad Zabbix alert: %s", exc)
        return 1
    except Exception as exc:
        log.error("fedbus: Zabbix alert failed: %s", one_line(exc))
        return 1
    if publish_all(target, [enc]) != 1:
        return 1
    log.info("fedbus: %s queued for the bus", enc.routing_key)
    return 0
