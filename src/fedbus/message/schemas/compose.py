"""Schemas of the ``compose`` category: Pungi's composes, from its ``notification_script``.

Pungi runs the script with the action as its only argument and a JSON object on stdin; it
adds the compose's identity to every action (``compose_id``, ``location``, ``compose_date``,
``compose_type``, ``compose_respin``, ``compose_label``, ``release_short``,
``release_version``…).  The bodies are what Pungi sent; keys a schema does not name are
kept under ``extra``.  The schemas require what each action always carries.  Topic per action:
``status-change`` → ``compose.status.change``, ``phase-start`` → ``compose.phase.start``,
``createiso-imagedone`` → ``compose.createiso.imagedone``, ``ostree`` →
``compose.ostree.commit``; any other action ``a-b`` → ``compose.other.a-b``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus.message.schemas.base import FedbusMessage

DRAFT = "http://json-schema.org/draft-07/schema#"
_NAME: dict[str, Any] = {"type": "string", "minLength": 1}
_OPT: dict[str, Any] = {"type": ["string", "null"]}
STATUSES = ("STARTED", "FINISHED", "FINISHED_INCOMPLETE", "DOOMED", "TERMINATED")

_COMPOSE: dict[str, Any] = {
    "compose_id": {**_NAME, "description": "Fedora-Rawhide-20261130.n.0"},
    "location": {**_OPT, "description": "where the compose lives (URL or path)"},
    "compose_date": {"type": "string"},
    "compose_type": {"type": "string"},
    "compose_respin": {"type": ["integer", "string"]},
    "compose_label": _OPT,
    "compose_path": {"type": "string"},
    "release_short": {"type": "string"},
    "release_name": {"type": "string"},
    "release_version": {"type": "string"},
    "release_type": {"type": "string"},
    "release_is_layered": {"type": "boolean"},
    "extra": {"type": "object", "description": "keys Pungi sent that this schema does not name"},
}


def _schema(description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "description": description,
        "type": "object",
        "properties": {**_COMPOSE, **props},
        "required": ["compose_id", *required],
        "additionalProperties": False,
    }


_EXAMPLE: dict[str, Any] = {
    "compose_id": "Fedora-Rawhide-20261130.n.0",
    "location": "https://kojipkgs.fedoraproject.org/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose",
    "compose_date": "20261130",
    "compose_type": "nightly",
    "compose_respin": 0,
    "compose_label": None,
    "release_short": "Fedora",
    "release_name": "Fedora",
    "release_version": "Rawhide",
    "release_type": "ga",
    "release_is_layered": False,
}


class _Compose(FedbusMessage):
    app = "pungi"
    url_template = "{location}"


class ComposeStatusChangeV1(_Compose):
    """A compose changed status (STARTED, FINISHED, FINISHED_INCOMPLETE, DOOMED, TERMINATED)."""

    topic_pattern = "org.fedoraproject.*.compose.status.change"
    summary_template = "compose {compose_id} is {status}"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's status-change action",
        {"status": {"type": "string", "enum": list(STATUSES)}},
        ["status"],
    )
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "status": "FINISHED"}


class ComposePhaseStartV1(_Compose):
    """A phase of a compose started (pkgset, gather, createrepo, buildinstall, createiso…)."""

    topic_pattern = "org.fedoraproject.*.compose.phase.start"
    summary_template = "compose {compose_id}: phase {phase_name} started"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's phase-start action", {"phase_name": _NAME}, ["phase_name"])
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "phase_name": "createiso"}


class ComposePhaseStopV1(_Compose):
    """A phase of a compose finished."""

    topic_pattern = "org.fedoraproject.*.compose.phase.stop"
    summary_template = "compose {compose_id}: phase {phase_name} finished"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's phase-stop action", {"phase_name": _NAME}, ["phase_name"])
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "phase_name": "createiso"}


class ComposeCreateisoTargetsV1(_Compose):
    """The ISO images a compose's createiso phase will make."""

    topic_pattern = "org.fedoraproject.*.compose.createiso.targets"
    summary_template = "compose {compose_id}: ISO images planned"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's createiso-targets action",
        {"deliverables": {"type": "array", "items": {"type": "object"}}},
        ["deliverables"],
    )
    example: ClassVar[dict[str, Any]] = {
        **_EXAMPLE,
        "deliverables": [{"variant": "Everything", "arch": "x86_64",
                          "filename": "Fedora-Everything-netinst-x86_64-Rawhide-20261130.n.0.iso"}],
    }


_IMAGE: dict[str, Any] = {"file": _NAME, "arch": _NAME, "variant": _NAME}
_IMAGE_EXAMPLE: dict[str, Any] = {
    **_EXAMPLE,
    "file": "Everything/x86_64/iso/Fedora-Everything-netinst-x86_64-Rawhide-20261130.n.0.iso",
    "arch": "x86_64",
    "variant": "Everything",
}


class ComposeCreateisoImageDoneV1(_Compose):
    """One ISO image of a compose was made."""

    topic_pattern = "org.fedoraproject.*.compose.createiso.imagedone"
    summary_template = "compose {compose_id}: ISO {file} done"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's createiso-imagedone action", _IMAGE, ["file", "arch", "variant"])
    example: ClassVar[dict[str, Any]] = _IMAGE_EXAMPLE


class ComposeCreateisoImageFailV1(_Compose):
    """One ISO image of a compose failed."""

    topic_pattern = "org.fedoraproject.*.compose.createiso.imagefail"
    summary_template = "compose {compose_id}: ISO {file} failed"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's createiso-imagefail action", _IMAGE, ["file", "arch", "variant"])
    example: ClassVar[dict[str, Any]] = _IMAGE_EXAMPLE


class ComposeOstreeCommitV1(_Compose):
    """A compose made an OSTree commit (Pungi's ``ostree`` action)."""

    topic_pattern = "org.fedoraproject.*.compose.ostree.commit"
    summary_template = "compose {compose_id}: OSTree {ref} at {commitid}"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's ostree action",
        {"variant": _NAME, "arch": _NAME, "ref": _NAME, "commitid": _NAME,
         "repo_path": {"type": "string"}, "local_repo_path": {"type": "string"}},
        ["variant", "arch", "ref", "commitid"],
    )
    example: ClassVar[dict[str, Any]] = {
        **_EXAMPLE, "variant": "Silverblue", "arch": "x86_64",
        "ref": "fedora/rawhide/x86_64/silverblue",
        "commitid": "8c3d1f7a2b6e4d9c0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "repo_path": "https://kojipkgs.fedoraproject.org/compose/ostree/repo/",
        "local_repo_path": "/mnt/koji/compose/ostree/repo/",
    }


class ComposeOtherV1(_Compose):
    """Any other Pungi notification action, body as Pungi sent it (``compose.other.<action>``)."""

    topic_pattern = "org.fedoraproject.*.compose.other.*"
    summary_template = "compose {compose_id}: {action}"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "A Pungi action fedbus has no dedicated schema for; 'action' is its name",
        {"action": _NAME}, ["action"])
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "action": "ostree-container"}
