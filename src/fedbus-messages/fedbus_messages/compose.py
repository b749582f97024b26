"""Schemas of Pungi's composes, from its ``notification_script``: Fedora's ``pungi.compose.*``.

Pungi (``pungi/notifier.py``) runs the script with the action as its only argument and a
JSON object on stdin.  Once the compose exists it adds the compose's identity to every
action, at the top level: ``compose_id``, ``location``, ``compose_date``, ``compose_type``,
``compose_respin``, ``compose_label``, ``compose_path``, ``release_short``,
``release_name``, ``release_version``, ``release_type``, ``release_is_layered`` and, for a
layered product, ``base_product_name``, ``base_product_version``, ``base_product_short``,
``base_product_type``.  ``fail-to-start`` comes before the compose exists: it carries none
of these.

The topic is Fedora's (``pungi/scripts/fedmsg_notification.py``):
``pungi.compose.<action>`` with every ``-`` of the action made a ``.`` and the action
lower-cased (``status-change`` → ``pungi.compose.status.change``, ``fail-to-start`` →
``pungi.compose.fail.to.start``, ``ostree`` → ``pungi.compose.ostree``); any ``_`` stays.
The body is exactly what Pungi sent.  Fedora has no schema package for these messages
(its Pungi publishes them as ``base.message``); the schemas here name the keys Pungi
sends, require only what it always sends for the action, and allow any other key, since
Pungi adds keys over time.  An action without its own schema gets
:class:`ComposeActionV1`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema, render

_STR: dict[str, Any] = {"type": "string"}
_OPT: dict[str, Any] = {"type": ["string", "null"]}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STR}
STATUSES = ("STARTED", "FINISHED", "FINISHED_INCOMPLETE", "DOOMED", "TERMINATED")
TOPIC_PREFIX = "pungi.compose."

_COMPOSE: dict[str, Any] = {
    "compose_id": {**_STR, "description": "Fedora-Rawhide-20261130.n.0"},
    "location": {**_OPT, "description": "where the compose lives (URL or path)"},
    "compose_date": _STR,
    "compose_type": _STR,
    "compose_respin": {"type": ["integer", "string"]},
    "compose_label": _OPT,
    "compose_path": _STR,
    "release_short": _STR,
    "release_name": _STR,
    "release_version": _STR,
    "release_type": _STR,
    "release_is_layered": {"type": "boolean"},
    "base_product_name": _STR,
    "base_product_version": _STR,
    "base_product_short": _STR,
    "base_product_type": _STR,
}


def _schema(description: str, props: dict[str, Any], required: list[str],
            *, compose: bool = True, need_id: bool | None = None) -> dict[str, Any]:
    """``compose``: the body names the compose's identity keys; ``need_id`` (default: as
    ``compose``): it requires ``compose_id``."""
    need_id = compose if need_id is None else need_id
    return object_schema(
        f"{description}, on Fedora's topic; the body is exactly what Pungi sends (any key, "
        "beyond those named here, is allowed)",
        {**_COMPOSE, **props} if compose else props,
        ["compose_id", *required] if need_id else required,
        additional=True,
    )


_EXAMPLE: dict[str, Any] = {
    "compose_id": "Fedora-Rawhide-20261130.n.0",
    "location": "https://kojipkgs.fedoraproject.org/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose",
    "compose_date": "20261130",
    "compose_type": "nightly",
    "compose_respin": 0,
    "compose_label": None,
    "compose_path": "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0",
    "release_short": "Fedora",
    "release_name": "Fedora",
    "release_version": "Rawhide",
    "release_type": "ga",
    "release_is_layered": False,
}


class _Compose(FedbusMessage):
    app = "pungi"
    url_template: ClassVar[str | None] = "{location}"


class ComposeStatusChangeV1(_Compose):
    """A compose changed status (STARTED, FINISHED, FINISHED_INCOMPLETE, DOOMED, TERMINATED)."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.status.change"
    summary_template = "compose {compose_id} is {status}"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's status-change action",
        {"status": {**_STR, "description": "usually one of " + ", ".join(STATUSES)}},
        ["status"],
    )
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "status": "FINISHED"}


class ComposePhaseStartV1(_Compose):
    """A phase of a compose started (pkgset, gather, createrepo, buildinstall, createiso…)."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.phase.start"
    summary_template = "compose {compose_id}: phase {phase_name} started"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's phase-start action", {"phase_name": _STR}, ["phase_name"])
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "phase_name": "createiso"}


class ComposePhaseStopV1(_Compose):
    """A phase of a compose finished."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.phase.stop"
    summary_template = "compose {compose_id}: phase {phase_name} finished"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's phase-stop action", {"phase_name": _STR}, ["phase_name"])
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "phase_name": "createiso"}


class ComposeCreateisoTargetsV1(_Compose):
    """The ISO images a compose's createiso phase will make (their paths)."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.createiso.targets"
    summary_template = "compose {compose_id}: ISO images planned"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's createiso-targets action",
        {"deliverables": {**_STRINGS, "description": "the path of each ISO image"}},
        ["deliverables"],
    )
    example: ClassVar[dict[str, Any]] = {
        **_EXAMPLE,
        "deliverables": [
            "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose/Everything/x86_64"
            "/iso/Fedora-Everything-netinst-x86_64-Rawhide-20261130.n.0.iso",
        ],
    }


_IMAGE: dict[str, Any] = {"file": _STR, "arch": _STR, "variant": _STR}
_IMAGE_EXAMPLE: dict[str, Any] = {
    **_EXAMPLE,
    "file": "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose/Everything/x86_64"
            "/iso/Fedora-Everything-netinst-x86_64-Rawhide-20261130.n.0.iso",
    "arch": "x86_64",
    "variant": "Everything",
}


class ComposeCreateisoImageDoneV1(_Compose):
    """One ISO image of a compose was made."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.createiso.imagedone"
    summary_template = "compose {compose_id}: ISO {file} done"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's createiso-imagedone action", _IMAGE, ["file", "arch", "variant"])
    example: ClassVar[dict[str, Any]] = _IMAGE_EXAMPLE


class ComposeCreateisoImageFailV1(_Compose):
    """One ISO image of a compose failed."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.createiso.imagefail"
    summary_template = "compose {compose_id}: ISO {file} failed"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's createiso-imagefail action", _IMAGE, ["file", "arch", "variant"])
    example: ClassVar[dict[str, Any]] = _IMAGE_EXAMPLE


class ComposeOstreeV1(_Compose):
    """A compose updated an OSTree ref (Pungi's ``ostree`` action; no new commit: null)."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.ostree"
    summary_template = "compose {compose_id}: OSTree ref {ref} ({variant}.{arch})"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's ostree action",
        {"variant": _STR, "arch": _STR, "ref": _STR,
         "commitid": {**_OPT, "description": "null when the run made no new commit"},
         "repo_path": _STR, "local_repo_path": _STR},
        ["variant", "arch", "ref", "commitid"],  # the repository paths are optional
    )
    example: ClassVar[dict[str, Any]] = {
        **_EXAMPLE, "variant": "Silverblue", "arch": "x86_64",
        "ref": "fedora/rawhide/x86_64/silverblue",
        "commitid": "8c3d1f7a2b6e4d9c0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "repo_path": "https://kojipkgs.fedoraproject.org/compose/ostree/repo/",
        "local_repo_path": "/mnt/koji/compose/ostree/repo/",
    }


class ComposeOsbsRequestPushV1(_Compose):
    """A compose's OSBS container images are ready to be pushed to their registries."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.osbs.request.push"
    summary_template = "compose {compose_id}: OSBS images ready to push"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's osbs-request-push action",
        {"config_location": {**_STR, "description": "the registries file (URL or path)"},
         "config": {"type": "object", "description": "image NVR → its registry settings"}},
        ["config_location", "config"],
    )
    example: ClassVar[dict[str, Any]] = {
        **_EXAMPLE,
        "config_location": "https://kojipkgs.fedoraproject.org/compose/rawhide/"
                           "Fedora-Rawhide-20261130.n.0/logs/global/osbs-registries.json",
        "config": {"fedora-toolbox-42-1": {"url": "registry.example.org"}},
    }


class ComposeFailToStartV1(_Compose):
    """A compose could not start (bad command line or configuration): no compose, no id."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.fail.to.start"
    summary_template = "a compose failed to start: {detail}"
    url_template = None
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "Pungi's fail-to-start action (sent before the compose exists)",
        {"command": {**_STRINGS, "description": "pungi-koji's command line"},
         "target_dir": _OPT, "config": _STR, "detail": _STR,
         "errors": {**_STRINGS, "description": "the configuration errors, if any"}},
        ["command", "target_dir", "config", "detail"],
        compose=False,
    )
    example: ClassVar[dict[str, Any]] = {
        "command": ["pungi-koji", "--target-dir=/mnt/koji/compose/rawhide",
                    "--config=fedora.conf", "--nightly"],
        "target_dir": "/mnt/koji/compose/rawhide",
        "config": "/etc/pungi/fedora.conf",
        "detail": "Config validation failed",
        "errors": ["Failed validation in createiso_skip: [] is not of type 'boolean'"],
    }


class ComposeActionV1(_Compose):
    """Any other Pungi action ``a-b``, on Fedora's ``pungi.compose.a.b``; body as Pungi sent it."""

    topic_pattern = "org.fedoraproject.*.pungi.compose.#"
    summary_template = "compose {compose_id}: {action}"
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "A Pungi action without its own schema", {}, [], need_id=False)
    example: ClassVar[dict[str, Any]] = {**_EXAMPLE, "image": "Fedora-Cloud-Base.qcow2"}

    @property
    def summary(self) -> str:
        """The action is the topic after ``pungi.compose.`` (``image.build.done``)."""
        _, found, action = (self.topic or "").partition("." + TOPIC_PREFIX)
        text = render(self.summary_template, {**self.body, "action": action if found else "?"})
        return " ".join(text.split())
