"""What the notifier reads from a message: through the schema's own accessors, as FMN does.

Works on any fedora-messaging message whose schema package is installed (koji, bodhi, the
git hook, noggin, fedbus's own …): ``usernames``, ``packages``, ``agent_name``,
``app_name``, ``severity``, ``summary``, ``url``.  A third-party accessor that raises is
treated as empty (logged once per schema), never as a worker crash.
"""

from __future__ import annotations

import logging
from typing import Any

from fedora_messaging.message import Message

from fedbus.notifier.index import Facts, service_of

log = logging.getLogger("fedbus.notifier.facts")
_warned: set[tuple[str, str]] = set()


def _accessor(message: Message, name: str, default: Any) -> Any:
    try:
        return getattr(message, name)
    except Exception as exc:
        key = (type(message).__name__, name)
        if key not in _warned:
            _warned.add(key)
            log.warning("%s.%s raised %s: treated as empty", key[0], name, exc)
        return default


def _names(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str) and v))


def facts_of(message: Message) -> Facts:
    topic = message.topic
    services = {service_of(topic)}
    app = _accessor(message, "app_name", None)
    if isinstance(app, str) and app:
        services.add(app.lower())
    services.discard("")
    agent = _accessor(message, "agent_name", None)
    usernames = _names(_accessor(message, "usernames", ()))
    if isinstance(agent, str) and agent and agent not in usernames:
        usernames = (*usernames, agent)
    severity = _accessor(message, "severity", 20)
    return Facts(
        id=str(message.id),
        topic=topic,
        services=frozenset(services),
        usernames=usernames,
        packages=_names(_accessor(message, "packages", ())),
        agent=agent if isinstance(agent, str) and agent else None,
        severity=severity if isinstance(severity, int) else 20,
    )


def summary_of(message: Message) -> str:
    value = _accessor(message, "summary", None)
    if isinstance(value, str) and value.strip():
        return " ".join(value.split())
    return message.topic


def url_of(message: Message) -> str | None:
    value = _accessor(message, "url", None)
    return value if isinstance(value, str) and value else None


def text_of(message: Message) -> str:
    try:
        return str(message)
    except Exception:
        return summary_of(message)
