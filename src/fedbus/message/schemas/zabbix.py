"""Schemas of the ``zabbix`` category: monitoring problems and recoveries.

Published by the Zabbix alert script (media type "Fedora message bus"): Zabbix passes the
event's macros ({EVENT.ID}, {HOST.NAME}, {TRIGGER.NAME}, {EVENT.SEVERITY}, {EVENT.VALUE}…)
as script parameters.  ``problem`` is a trigger going to PROBLEM, ``recovery`` back to OK,
``update`` an acknowledgement or comment on an open problem.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus.message.schemas.base import FedbusMessage

DRAFT = "http://json-schema.org/draft-07/schema#"
SEVERITIES = ("Not classified", "Information", "Warning", "Average", "High", "Disaster")
_NAME: dict[str, Any] = {"type": "string", "minLength": 1}
_PROPS: dict[str, Any] = {
    "event_id": {**_NAME, "description": "{EVENT.ID}"},
    "host": {**_NAME, "description": "{HOST.NAME}"},
    "trigger": {**_NAME, "description": "{EVENT.NAME} / {TRIGGER.NAME}"},
    "trigger_id": {"type": "string", "description": "{TRIGGER.ID}"},
    "severity": {"type": "string", "enum": list(SEVERITIES), "description": "{EVENT.SEVERITY}"},
    "status": {"type": "string", "enum": ["PROBLEM", "RESOLVED", "UPDATE"]},
    "time": {**_NAME, "description": "ISO 8601 UTC of the event"},
    "message": {"type": "string", "description": "the alert text Zabbix rendered"},
    "url": {"type": "string", "description": "the event's page in the Zabbix frontend"},
    "user": {"type": "string", "description": "who acknowledged (update)"},
    "tags": {"type": "object", "additionalProperties": {"type": "string"}},
}


def _schema(description: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "description": description, "type": "object",
            "properties": _PROPS, "additionalProperties": False,
            "required": ["event_id", "host", "trigger", "severity", "status", "time"]}


_EXAMPLE: dict[str, Any] = {
    "event_id": "5128",
    "host": "proxy01.iad2.fedoraproject.org",
    "trigger": "Load average is too high (per CPU load over 1.5 for 5m)",
    "trigger_id": "23104",
    "severity": "High",
    "time": "2026-11-30T03:00:00+00:00",
    "message": "Problem started at 03:00:00 on 2026.11.30",
    "url": "https://zabbix.fedoraproject.org/tr_events.php?triggerid=23104&eventid=5128",
    "tags": {"service": "proxy"},
}


class _Zabbix(FedbusMessage):
    app = "zabbix"
    url_template = "{url}"
    user_fields = ("user",)


class ZabbixProblemV1(_Zabbix):
    """A Zabbix trigger went to PROBLEM on a host."""

    topic_pattern = "org.fedoraproject.*.zabbix.trigger.problem"
    summary_template = "[{severity}] {host}: {trigger}"
    body_schema: ClassVar[dict[str, Any]] = _schema("A Zabbix problem started")
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "status": "PROBLEM"}


class ZabbixRecoveryV1(_Zabbix):
    """A Zabbix problem was resolved (the trigger is OK again)."""

    topic_pattern = "org.fedoraproject.*.zabbix.trigger.recovery"
    summary_template = "[resolved] {host}: {trigger}"
    body_schema: ClassVar[dict[str, Any]] = _schema("A Zabbix problem was resolved")
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "status": "RESOLVED"}


class ZabbixUpdateV1(_Zabbix):
    """A Zabbix problem was acknowledged or commented."""

    topic_pattern = "org.fedoraproject.*.zabbix.trigger.update"
    summary_template = "{user} updated {host}: {trigger}"
    agent_field = "user"
    body_schema: ClassVar[dict[str, Any]] = _schema("A Zabbix problem was updated")
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "status": "UPDATE", "user": "alice"}
