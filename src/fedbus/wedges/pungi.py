"""Pungi's ``notification_script``: ``<script> <action>`` with a JSON object on stdin.

Pungi (``pungi/notifier.py``) runs every configured script as ``(cmd, action)`` with
``json.dumps(data)`` on stdin and ``can_fail=True``: a non-zero exit is logged by Pungi and
the compose goes on.  This script spools one message per call, as Fedora's own notifier
(``pungi/scripts/fedmsg_notification.py``) publishes it: topic ``pungi.compose.<action>``
with each ``-`` made a ``.`` and lower-cased, the body exactly as Pungi sent it (see
:mod:`fedbus_messages.compose`), and exits 0; bad input (no action, stdin not a JSON
object, a key the action always carries missing or of the wrong type) exits 1 with one line
on stderr; it never waits for the broker.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fedbus_messages import compose as c
from fedora_messaging import message as fm

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded, loads_json
from fedbus.wedges.base import Sink, build, one_line, publish_all

log = logging.getLogger("fedbus.wedges.pungi")

# Pungi's actions (pungi/compose.py, pungi/phases/*.py, pungi/scripts/pungi_koji.py) and
# their schemas; any other action is published with c.ComposeActionV1.
ACTIONS: dict[str, type[fm.Message]] = {
    "status-change": c.ComposeStatusChangeV1,
    "phase-start": c.ComposePhaseStartV1,
    "phase-stop": c.ComposePhaseStopV1,
    "createiso-targets": c.ComposeCreateisoTargetsV1,
    "createiso-imagedone": c.ComposeCreateisoImageDoneV1,
    "createiso-imagefail": c.ComposeCreateisoImageFailV1,
    "ostree": c.ComposeOstreeV1,
    "osbs-request-push": c.ComposeOsbsRequestPushV1,
    "fail-to-start": c.ComposeFailToStartV1,
}
# Fedora's notifier publishes ``ostree`` at AMQP priority 3
# (https://pagure.io/fedora-infrastructure/issue/10899); the others without a priority.
PRIORITY: dict[str, int] = {"ostree": 3}
_ACTION = re.compile(r"[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*")


def topic_of(action: str) -> str:
    """Fedora's topic (without ``org.fedoraproject.<env>.``) of a Pungi action."""
    return c.TOPIC_PREFIX + action.replace("-", ".").lower()


def message(target: Sink, action: str, stdin_text: str) -> Encoded:
    """The message for one notification; ValidationError (one line) on bad input."""
    if not _ACTION.fullmatch(action or ""):
        raise ValidationError(f"action {action!r}: expected a Pungi action like status-change")
    data: Any = loads_json(stdin_text, f"{action}: stdin")
    if not isinstance(data, dict):
        raise ValidationError(f"{action}: stdin must be a JSON object")
    schema = ACTIONS.get(action.lower(), c.ComposeActionV1)
    return build(target, schema, data, suffix=topic_of(action),
                 priority=PRIORITY.get(action.lower()))


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
