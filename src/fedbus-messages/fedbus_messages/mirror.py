"""Schemas of the ``mirror`` category: tier-1 and tier-2 mirrors announcing their pulls.

A ``fedbus mirror`` agent publishes ``mirror.<tier>.sync.start`` when it starts pulling from its
upstream and ``mirror.<tier>.sync.complete`` when the pull is over (``status`` ``ok`` or
``failed``).  Both carry the same ``sync_id``.  ``paths`` are the directories pulled (relative to
the tree's root), ``null`` for the whole tree.  ``changed_at`` is carried from the master's
``in_sync`` down the tiers, so a consumer can measure the freshness lag.  A tier-2 that follows
a tier-1 holds on its ``start`` and pulls on its ``complete``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema
from fedbus_messages.netapp import PATHS

_NAME: dict[str, Any] = {"type": "string", "minLength": 1}
_TIME: dict[str, Any] = {"type": "string", "minLength": 1, "description": "ISO 8601 UTC"}
REASONS = ("in_sync", "upstream_complete", "follow_up", "periodic", "startup", "retry")

_START: dict[str, Any] = {
    "mirror": {**_NAME, "description": "the mirror's name (its host, usually)"},
    "volume": {**_NAME, "description": "the mirrored tree"},
    "upstream": {**_NAME, "description": "what it pulls from, rsync://host/module"},
    "upstream_name": {**_NAME, "description": "the upstream's mirror name (what tier-2s follow)"},
    "sync_id": {**_NAME, "description": "the same in start and complete"},
    "paths": PATHS,
    "reason": {"type": "string", "enum": list(REASONS)},
    "changed_at": {**_TIME, "description": "the master's first change this pull carries"},
    "started_at": _TIME,
}
_COMPLETE: dict[str, Any] = {
    **_START,
    "finished_at": _TIME,
    "status": {"type": "string", "enum": ["ok", "failed"]},
    "error": {"type": ["string", "null"], "description": "why it failed (one line)"},
    "duration_seconds": {"type": "number", "minimum": 0},
    "bytes": {"type": "integer", "minimum": 0, "description": "bytes received"},
    "files": {"type": "integer", "minimum": 0, "description": "files transferred"},
}
_REQUIRED = ["mirror", "volume", "upstream", "sync_id", "reason", "started_at"]


def _start_example(tier: str, mirror: str, upstream: str, upstream_name: str) -> dict[str, Any]:
    return {
        "mirror": mirror,
        "volume": "fedora-pub",
        "upstream": upstream,
        "upstream_name": upstream_name,
        "sync_id": f"{mirror}-20261130T030045-1",
        "paths": ["fedora/linux/updates/41/Everything/x86_64/Packages/k"],
        "reason": "in_sync" if tier == "tier1" else "upstream_complete",
        "changed_at": "2026-11-30T03:00:00+00:00",
        "started_at": "2026-11-30T03:00:45+00:00",
    }


def _complete_example(start: dict[str, Any]) -> dict[str, Any]:
    return {
        **start,
        "finished_at": "2026-11-30T03:00:47+00:00",
        "status": "ok",
        "error": None,
        "duration_seconds": 1.8,
        "bytes": 48213504,
        "files": 10,
    }


_T1_START = _start_example("tier1", "dl01.example.org", "rsync://master/fedora-pub", "master")
_T2_START = _start_example("tier2", "mirror.example.edu", "rsync://dl01/fedora-pub", "dl01")


class Tier1SyncStartV1(FedbusMessage):
    """A tier-1 mirror started pulling from the master."""

    topic_pattern = "org.fedoraproject.*.mirror.tier1.sync.start"
    summary_template = "tier-1 {mirror} started pulling {volume} from {upstream} ({reason})"
    agent_field = "mirror"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A tier-1 mirror started a pull from the master", dict(_START), _REQUIRED
    )
    example: ClassVar[dict[str, Any]] = _T1_START


class Tier1SyncCompleteV1(FedbusMessage):
    """A tier-1 mirror finished pulling from the master (ok or failed)."""

    topic_pattern = "org.fedoraproject.*.mirror.tier1.sync.complete"
    summary_template = (
        "tier-1 {mirror} pulled {volume}: {status}, {files} files, {bytes} bytes "
        "in {duration_seconds} s"
    )
    agent_field = "mirror"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A tier-1 mirror finished a pull from the master",
        dict(_COMPLETE),
        [*_REQUIRED, "finished_at", "status", "duration_seconds", "bytes", "files"],
    )
    example: ClassVar[dict[str, Any]] = _complete_example(_T1_START)


class Tier2SyncStartV1(FedbusMessage):
    """A tier-2 mirror started pulling from its tier-1."""

    topic_pattern = "org.fedoraproject.*.mirror.tier2.sync.start"
    summary_template = "tier-2 {mirror} started pulling {volume} from {upstream} ({reason})"
    agent_field = "mirror"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A tier-2 mirror started a pull from its tier-1", dict(_START), _REQUIRED
    )
    example: ClassVar[dict[str, Any]] = _T2_START


class Tier2SyncCompleteV1(FedbusMessage):
    """A tier-2 mirror finished pulling from its tier-1 (ok or failed)."""

    topic_pattern = "org.fedoraproject.*.mirror.tier2.sync.complete"
    summary_template = (
        "tier-2 {mirror} pulled {volume}: {status}, {files} files, {bytes} bytes "
        "in {duration_seconds} s"
    )
    agent_field = "mirror"
    body_schema: ClassVar[dict[str, Any]] = object_schema(
        "A tier-2 mirror finished a pull from its tier-1",
        dict(_COMPLETE),
        [*_REQUIRED, "finished_at", "status", "duration_seconds", "bytes", "files"],
    )
    example: ClassVar[dict[str, Any]] = _complete_example(_T2_START)
