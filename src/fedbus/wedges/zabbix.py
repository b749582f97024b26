"""Zabbix alert script: ``zabbix.trigger.problem|recovery|update``.

Zabbix 6 runs a *script* media type as ``<AlertScriptsPath>/<script_name> <param>…``, one
argument per "script parameter" of the media type, macros expanded.  The media type
(``roles/wedges/files/zabbix/media_fedbus.yaml``, importable in Zabbix 6) passes
``name=value`` parameters::

    event_id={EVENT.ID}  event_value={EVENT.VALUE}  event_update={EVENT.UPDATE.STATUS}
    host={HOST.NAME}  trigger={EVENT.NAME}  trigger_id={TRIGGER.ID}
    severity={EVENT.SEVERITY}  date={EVENT.DATE}  time={EVENT.TIME}
    recovery_date={EVENT.RECOVERY.DATE}  recovery_time={EVENT.RECOVERY.TIME}
    user={USER.USERNAME}  url={$FEDBUS.ZABBIX.URL}  message={ALERT.MESSAGE}
    tags={EVENT.TAGSJSON}

``{EVENT.VALUE}`` 1 is a problem, 0 a recovery; ``{EVENT.UPDATE.STATUS}`` 1 an update
(acknowledgement/comment).  A macro Zabbix left unexpanded (``{EVENT.RECOVERY.TIME}`` on a
problem) counts as absent.  Dates are the Zabbix server's, taken as UTC (run the server in
UTC).  Exit 0 when spooled; 1 with one line on stderr on bad parameters (Zabbix shows the
alert as failed with that line).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded, loads_json
from fedbus.message.schemas import zabbix as z
from fedbus.message.schemas.base import FedbusMessage
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
)
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
    for key in ("event_id", "host", "trigger", "severity", "event_value"):
        if key not in p:
            raise ValidationError(f"parameter {key} missing (or its macro unexpanded)")
    if p["severity"] not in z.SEVERITIES:
        raise ValidationError(
            f"severity {p['severity']!r}: expected one of {', '.join(z.SEVERITIES)}"
        )
    schema: type[FedbusMessage]
    if p.get("event_update") == "1":
        schema, suffix, status = z.ZabbixUpdateV1, "zabbix.trigger.update", "UPDATE"
        when = _when(None, None)
    elif p["event_value"] == "1":
        schema, suffix, status = z.ZabbixProblemV1, "zabbix.trigger.problem", "PROBLEM"
        when = _when(p.get("date"), p.get("time"))
    elif p["event_value"] == "0":
        schema, suffix, status = z.ZabbixRecoveryV1, "zabbix.trigger.recovery", "RESOLVED"
        when = _when(
            p.get("recovery_date") or p.get("date"), p.get("recovery_time") or p.get("time")
        )
    else:
        raise ValidationError(f"event_value {p['event_value']!r}: expected 1 or 0")
    body: dict[str, Any] = {
        "event_id": p["event_id"],
        "host": p["host"],
        "trigger": p["trigger"],
        "severity": p["severity"],
        "status": status,
        "time": when,
    }
    for key in ("trigger_id", "message", "user"):
        if key in p:
            body[key] = p[key]
    if "url" in p:
        body["url"] = (
            f"{p['url'].rstrip('/')}/tr_events.php?"
            f"triggerid={p.get('trigger_id', '')}&eventid={p['event_id']}"
        )
    tags = _tags(p.get("tags"))
    if tags:
        body["tags"] = tags
    return build(target, schema, body, suffix=suffix)


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
