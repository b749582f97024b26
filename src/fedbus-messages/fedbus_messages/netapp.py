"""Schemas of the ``netapp`` category: SnapMirror replication state of a mirrored tree.

Published by the NetApp ONTAP poller wedge for a SnapMirror relationship, or — for a master
without a NetApp — by the ``fedbus mirror`` agent in ``master`` mode watching its own tree.
``out_of_sync`` means "the tree is changing, do not pull now"; ``in_sync`` means "the tree is
consistent again, pull now".  ``paths`` lists the directories (relative to the tree's root, no
``..``, no leading ``/``) that changed since the last ``in_sync``; ``null`` or absent means
"unknown: the whole tree" (publishers send ``null`` past :data:`MAX_PATHS` directories).
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema

MAX_PATHS = 1000
_NAME: dict[str, Any] = {"type": "string", "minLength": 1}
_TIME: dict[str, Any] = {"type": "string", "minLength": 1, "description": "ISO 8601 UTC"}
PATH: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 1024,
    "pattern": r"^(?!/)(?!.*(^|/)\.\.(/|$))[^\n\r]+$",
    "description": "a directory relative to the tree's root ('.' = the root itself)",
}
PATHS: dict[str, Any] = {
    "type": ["array", "null"],
    "items": PATH,
    "maxItems": MAX_PATHS,
    "uniqueItems": True,
    "description": "directories that changed; null or absent = the whole tree",
}

_COMMON: dict[str, Any] = {
    "volume": {**_NAME, "description": "the mirrored tree (volume or module name)"},
    "paths": PATHS,
    "source": {
        "type": "string",
        "enum": ["netapp", "master"],
        "description": "who detected it: the NetApp poller or a master agent's tree watch",
    },
    "host": {**_NAME, "description": "host that published it (the filer or the master)"},
    "relationship": {
        "type": ["string", "null"],
        "description": "SnapMirror relationship, 'svm:volume -> svm:volume' (NetApp only)",
    },
    "changed_at": {**_TIME, "description": "first change seen in this round (freshness)"},
    "timestamp": _TIME,
}


def _schema(description: str, extra: dict[str, Any]) -> dict[str, Any]:
    return object_schema(description, {**_COMMON, **extra}, ["volume", "host", "timestamp"])


class SnapmirrorOutOfSyncV1(FedbusMessage):
    """A mirrored tree started changing: downstream mirrors hold until it is in sync again."""

    topic_pattern = "org.fedoraproject.*.netapp.snapmirror.out_of_sync"
    summary_template = "{volume} on {host} is out of sync"
    url_template = None
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "A mirrored tree is changing (SnapMirror transfer running, or files being written)",
        {"state": {"type": "string", "description": "the NetApp relationship state, if any"}},
    )
    example: ClassVar[dict[str, Any]] = {
        "volume": "fedora-pub",
        "paths": ["fedora/linux/updates/41/Everything/x86_64/Packages/k"],
        "source": "netapp",
        "host": "ntap-rdu3-c01.example.org",
        "relationship": "svm-pub:fedora_pub -> svm-mirror:fedora_pub_mirror",
        "state": "transferring",
        "changed_at": "2026-11-30T03:00:00+00:00",
        "timestamp": "2026-11-30T03:00:02+00:00",
    }


class SnapmirrorInSyncV1(FedbusMessage):
    """A mirrored tree is consistent again: downstream mirrors pull the changed paths now."""

    topic_pattern = "org.fedoraproject.*.netapp.snapmirror.in_sync"
    summary_template = "{volume} on {host} is in sync"
    url_template = None
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "A mirrored tree is consistent again; paths lists what changed since the last in_sync",
        {
            "lag_seconds": {
                "type": ["number", "null"],
                "minimum": 0,
                "description": "SnapMirror lag time when it returned to in sync (NetApp only)",
            }
        },
    )
    example: ClassVar[dict[str, Any]] = {
        "volume": "fedora-pub",
        "paths": ["fedora/linux/updates/41/Everything/x86_64/Packages/k"],
        "source": "netapp",
        "host": "ntap-rdu3-c01.example.org",
        "relationship": "svm-pub:fedora_pub -> svm-mirror:fedora_pub_mirror",
        "lag_seconds": 42.5,
        "changed_at": "2026-11-30T03:00:00+00:00",
        "timestamp": "2026-11-30T03:00:45+00:00",
    }
