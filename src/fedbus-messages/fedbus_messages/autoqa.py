"""Schemas of the ``autoqa`` category: automated test results (ResultsDB-shaped).

The body is a ResultsDB result as its API returns it (``/api/v2.0/results/<id>``):
``id``, ``outcome``, ``testcase`` {``name``, ``ref_url``}, ``data`` (each value a list of
strings: ``item``, ``type``, ``arch``…), ``ref_url``, ``note``, ``submit_time``, ``groups``.
Fedora's ``ci-messages`` schemas are not used: they need their JSON schema files installed
separately (not shipped in the wheel).
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema

OUTCOMES = ("PASSED", "INFO", "FAILED", "NEEDS_INSPECTION", "ERROR", "QUEUED", "RUNNING")


class ResultCompleteV1(FedbusMessage):
    """A test finished and its result was recorded (ResultsDB result)."""

    app = "autoqa"
    topic_pattern = "org.fedoraproject.*.autoqa.result.complete"
    summary_template = "{outcome}: {testcase[name]} (result {id})"
    url_template = "{ref_url}"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A ResultsDB result",
        {
            "id": {"type": "integer"},
            "outcome": {"type": "string", "enum": list(OUTCOMES)},
            "testcase": {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 1},
                               "ref_url": {"type": ["string", "null"]},
                               "href": {"type": "string"}},
                "required": ["name"],
            },
            "data": {"type": "object",
                     "description": "each value a list of strings (ResultsDB) or a string",
                     "additionalProperties": {"type": ["array", "string"],
                                              "items": {"type": "string"}}},
            "ref_url": {"type": ["string", "null"]},
            "note": {"type": ["string", "null"]},
            "submit_time": {"type": "string"},
            "groups": {"type": "array", "items": {"type": "string"}},
            "href": {"type": "string"},
        },
        ["id", "outcome", "testcase", "data", "submit_time"],
    )
    example: ClassVar[dict[str, Any]] = {
        "id": 41230566,
        "outcome": "PASSED",
        "testcase": {"name": "dist.rpmdeplint",
                     "ref_url": "https://fedoraproject.org/wiki/Taskotron/Tasks/dist.rpmdeplint"},
        "data": {"item": ["python-fedbus-0.1.0-1.fc43"], "type": ["koji_build"],
                 "arch": ["x86_64"]},
        "ref_url": "https://taskotron.fedoraproject.org/artifacts/all/41230566/",
        "note": "",
        "submit_time": "2026-11-30T03:00:00.000000",
        "groups": ["c2a1f0e2-9a5b-4b0a-8a66-1e4c2f1f7a01"],
    }

    @property
    def packages(self) -> list[str]:
        """Source package names of the tested Koji builds (``name`` of ``name-ver-rel``)."""
        data = self.body.get("data") or {}
        if not isinstance(data, dict) or "koji_build" not in (data.get("type") or []):
            return []
        items = data.get("item") or []
        items = [items] if isinstance(items, str) else items
        return sorted({i.rsplit("-", 2)[0] for i in items if isinstance(i, str)
                       and i.count("-") >= 2})
