"""Schemas of the ``zabbix`` category: monitoring problems, recoveries and other events.

Published by the Zabbix alert script (media type "Fedora message bus"): Zabbix passes the
event's macros ({EVENT.ID}, {HOST.NAME}, {TRIGGER.NAME}, {EVENT.SEVERITY}, {EVENT.VALUE}…)
as script parameters.  ``trigger.problem`` is a trigger going to PROBLEM, ``recovery`` back
to OK, ``update`` an acknowledgement or comment on an open problem; ``service.*`` the same
for a business service, ``internal.*`` an item, trigger or LLD rule becoming unsupported
or unknown (problem) or normal again (recovery); ``discovery.status`` a network discovery event,
``agent.registered`` an active agent registering.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema

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
    return object_schema(description, _PROPS,
                         ["event_id", "host", "trigger", "severity", "status", "time"])


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


_EVENT_PROPS: dict[str, Any] = {
    "event_id": {**_NAME, "description": "{EVENT.ID}"},
    "source": {"type": "string",
               "enum": ["discovery", "autoregistration", "internal", "service"],
               "description": "{EVENT.SOURCE}"},
    "object": {"type": "string", "description": "{EVENT.OBJECT}"},
    "status": {"type": "string", "enum": ["PROBLEM", "RESOLVED", "UPDATE", "UP", "DOWN",
                                          "DISCOVERED", "LOST", "REGISTERED"]},
    "name": {**_NAME, "description": "{EVENT.NAME}, else {ALERT.SUBJECT}"},
    "host": {"type": "string",
             "description": "{HOST.NAME}, {HOST.HOST} or the discovered address"},
    "ip": {"type": "string", "description": "{HOST.IP} / {DISCOVERY.DEVICE.IPADDRESS}"},
    "service": {"type": "string", "description": "{SERVICE.NAME}"},
    "severity": {"type": "string", "enum": list(SEVERITIES)},
    "subject": {"type": "string", "description": "{ALERT.SUBJECT}"},
    "time": {**_NAME, "description": "ISO 8601 UTC of the event"},
    "message": _PROPS["message"],
    "url": {"type": "string", "description": "the Zabbix frontend"},
    "user": _PROPS["user"],
    "trigger_id": _PROPS["trigger_id"],
    "tags": _PROPS["tags"],
}


def _event_schema(description: str) -> dict[str, Any]:
    return object_schema(description, _EVENT_PROPS,
                         ["event_id", "source", "status", "name", "time"])


class _ZabbixEvent(_Zabbix):
    url_template = "{url}"
    summary_template = "[{status}] {source}: {name}"


class ZabbixServiceProblemV1(_ZabbixEvent):
    """A Zabbix business service went to PROBLEM."""

    topic_pattern = "org.fedoraproject.*.zabbix.service.problem"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix service problem started")
    example: ClassVar[dict[str, Any]] = {
        "event_id": "7001", "source": "service", "status": "PROBLEM", "object": "6",
        "name": "Koji is degraded", "service": "Koji", "severity": "High",
        "time": "2026-11-30T03:00:00+00:00", "url": "https://zabbix.fedoraproject.org/"}


class ZabbixServiceRecoveryV1(_ZabbixEvent):
    """A Zabbix business service problem was resolved."""

    topic_pattern = "org.fedoraproject.*.zabbix.service.recovery"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix service problem ended")
    example: ClassVar[dict[str, Any]] = {**ZabbixServiceProblemV1.example, "status": "RESOLVED"}


class ZabbixServiceUpdateV1(_ZabbixEvent):
    """A Zabbix business service problem was acknowledged or commented."""

    topic_pattern = "org.fedoraproject.*.zabbix.service.update"
    summary_template = "{user} updated {source}: {name}"
    agent_field = "user"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix service problem updated")
    example: ClassVar[dict[str, Any]] = {**ZabbixServiceProblemV1.example, "status": "UPDATE",
                                         "user": "alice"}


class ZabbixInternalProblemV1(_ZabbixEvent):
    """A Zabbix item, trigger or LLD rule became unsupported or unknown."""

    topic_pattern = "org.fedoraproject.*.zabbix.internal.problem"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix internal problem")
    example: ClassVar[dict[str, Any]] = {
        "event_id": "7002", "source": "internal", "status": "PROBLEM", "object": "4",
        "name": "Cannot evaluate item key", "host": "proxy01.iad2.fedoraproject.org",
        "time": "2026-11-30T03:00:00+00:00"}


class ZabbixInternalRecoveryV1(_ZabbixEvent):
    """A Zabbix item, trigger or LLD rule is normal again."""

    topic_pattern = "org.fedoraproject.*.zabbix.internal.recovery"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix internal recovery")
    example: ClassVar[dict[str, Any]] = {**ZabbixInternalProblemV1.example,
                                         "status": "RESOLVED"}


class ZabbixDiscoveryV1(_ZabbixEvent):
    """Zabbix network discovery found a host or service up, down, new or lost."""

    topic_pattern = "org.fedoraproject.*.zabbix.discovery.status"
    summary_template = "[{status}] discovery: {host}"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix discovery event")
    example: ClassVar[dict[str, Any]] = {
        "event_id": "7003", "source": "discovery", "status": "DISCOVERED", "object": "1",
        "name": "Discovery: 10.3.163.12 Up", "host": "10.3.163.12", "ip": "10.3.163.12",
        "time": "2026-11-30T03:00:00+00:00"}


class ZabbixAutoregistrationV1(_ZabbixEvent):
    """An active Zabbix agent registered itself."""

    topic_pattern = "org.fedoraproject.*.zabbix.agent.registered"
    summary_template = "[registered] {host}"
    body_schema: ClassVar[dict[str, Any]] = _event_schema("A Zabbix agent autoregistration")
    example: ClassVar[dict[str, Any]] = {
        "event_id": "7004", "source": "autoregistration", "status": "REGISTERED",
        "object": "3", "name": "Autoregistration: builder01", "host": "builder01",
        "ip": "10.3.170.1", "time": "2026-11-30T03:00:00+00:00"}


OTHER: dict[str, type[_Zabbix]] = {
    "zabbix.service.problem": ZabbixServiceProblemV1,
    "zabbix.service.recovery": ZabbixServiceRecoveryV1,
    "zabbix.service.update": ZabbixServiceUpdateV1,
    "zabbix.internal.problem": ZabbixInternalProblemV1,
    "zabbix.internal.recovery": ZabbixInternalRecoveryV1,
    "zabbix.discovery.status": ZabbixDiscoveryV1,
    "zabbix.agent.registered": ZabbixAutoregistrationV1,
}
