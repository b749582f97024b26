"""Pungi's ``notification_script``: ``<script> <action>`` with a JSON object on stdin.

Pungi (``pungi/notifier.py``) runs every configured script as ``(cmd, action)`` with
``json.dumps(data)`` on stdin and ``can_fail=True``: a non-zero exit is logged by Pungi and
the compose goes on.  This script spools one ``compose.*`` message per call (see
:mod:`fedbus.message.schemas.compose` for the topic of each action) and exits 0; bad input
(no action, stdin not a JSON object, a required key missing) exits 1 with one line on
stderr; it never waits for the broker.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fedora_messaging import message as fm

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded, loads_json
from fedbus.message.schemas import compose as c
from fedbus.wedges.base import Sink, build, one_line, publish_all

log = logging.getLogger("fedbus.wedges.pungi")

ACTIONS: dict[str, tuple[str, type[fm.Message]]] = {
    "status-change": ("compose.status.change", c.ComposeStatusChangeV1),
    "phase-start": ("compose.phase.start", c.ComposePhaseStartV1),
    "phase-stop": ("compose.phase.stop", c.ComposePhaseStopV1),
    "createiso-targets": ("compose.createiso.targets", c.ComposeCreateisoTargetsV1),
    "createiso-imagedone": ("compose.createiso.imagedone", c.ComposeCreateisoImageDoneV1),
    "createiso-imagefail": ("compose.createiso.imagefail", c.ComposeCreateisoImageFailV1),
    "ostree": ("compose.ostree.commit", c.ComposeOstreeCommitV1),
}
_ACTION = re.compile(r"[a-z0-9][a-z0-9_-]*")


def message(target: Sink, action: str, stdin_text: str) -> Encoded:
    """The message for one notification; ValidationError (one line) on bad input."""
    if not _ACTION.fullmatch(action or ""):
        raise ValidationError(f"action {action!r}: expected a Pungi action like status-change")
    data: Any = loads_json(stdin_text, f"{action}: stdin")
    if not isinstance(data, dict):
        raise ValidationError(f"{action}: stdin must be a JSON object")
    suffix, schema = ACTIONS.get(action, (f"compose.other.{action}", c.ComposeOtherV1))
    if schema is c.ComposeOtherV1:
        data = {**data, "action": action}
    known = schema.body_schema["properties"]
    body = {k: v for k, v in data.items() if k in known and k != "extra"}
    extra = {k: v for k, v in data.items() if k not in known}
    if extra:
        body["extra"] = extra
    return build(target, schema, body, suffix=suffix)


def notify(argv: list[str], stdin_text: str, target: Sink) -> int:
    """Pungi's contract: argv = [action]; returns the exit code."""
    if len(argv) != 1:
        log.error("fedbus: usage: pungi-notify ACTION < JSON (got %d arguments)", len(argv))
        return 2
    try:
        enc = message(target, argv[0], stdin_text)
    except ValidationError as exc:
        log.error("fedbus: bad notification: %s", exc)
        return 1
    except Exception as exc:
        log.error("fedbus: notification failed: %s", one_line(exc))
        return 1
    if publish_all(target, [enc]) != 1:
        return 1
    log.info("fedbus: %s queued for the bus", enc.routing_key)
    return 0
