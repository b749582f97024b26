"""The one catalog of message schemas.

It is read from the ``fedora.messages`` entry point group (the same registry fedora-messaging
uses): every schema fedbus defines (classes of the ``fedbus-messages`` distribution,
:mod:`fedbus_messages`, in ``src/fedbus-messages``) with its
catalog metadata, plus — read-only, without metadata — any other installed schema.  The docs
page ``docs/messages.md`` is generated from it (:func:`markdown`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from fedbus_messages.base import FedbusMessage
from fedora_messaging import message as fm

from fedbus.errors import ValidationError
from fedbus.message.topic import topic_matches

GROUP = "fedora.messages"
log = logging.getLogger(__name__)

# Schemas of other packages whose class names no ``topic``: the topics (without the
# ``org.fedoraproject.<env>.`` prefix) they are published on.
FOREIGN_TOPICS: dict[str, tuple[str, ...]] = {
    "bugzilla2fedmsg.messageV1": ("bugzilla.bug.new", "bugzilla.bug.update"),
    "bugzilla2fedmsg.messageV1bz4": ("bugzilla.bug.new", "bugzilla.bug.update"),
}
_ENV_PREFIX = "org.fedoraproject.*."


@dataclass(frozen=True)
class Entry:
    """One schema: its name (entry point), class, and catalog metadata."""

    name: str
    cls: type[fm.Message]
    origin: str  # the entry point's "module:Class"

    @property
    def is_fedbus(self) -> bool:
        return issubclass(self.cls, FedbusMessage) and self.origin.startswith("fedbus_messages.")

    @property
    def meta(self) -> type[FedbusMessage] | None:
        return self.cls if issubclass(self.cls, FedbusMessage) else None

    @property
    def topic_pattern(self) -> str | None:
        return self.meta.topic_pattern if self.meta else None

    @property
    def summary_template(self) -> str | None:
        return self.meta.summary_template if self.meta else None

    @property
    def url_template(self) -> str | None:
        return self.meta.url_template if self.meta else None

    @property
    def user_fields(self) -> tuple[str, ...]:
        return self.meta.user_fields if self.meta else ()

    @property
    def package_fields(self) -> tuple[str, ...]:
        return self.meta.package_fields if self.meta else ()

    @property
    def example(self) -> dict[str, Any] | None:
        return dict(self.meta.example) if self.meta else None

    @property
    def description(self) -> str:
        doc = (self.cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def body_schema(self) -> dict[str, Any]:
        return dict(self.cls.body_schema)

    @property
    def topics(self) -> tuple[str, ...]:
        """The topics this schema is for, without ``org.fedoraproject.<env>.`` (AMQP
        patterns): a fedbus schema's ``topic_pattern``, else :data:`FOREIGN_TOPICS`, else
        the class's own ``topic``; none for a schema tied to no topic (``base.message``)."""
        pattern = self.topic_pattern
        if pattern and pattern.startswith(_ENV_PREFIX):
            return (pattern.removeprefix(_ENV_PREFIX),)
        if self.name in FOREIGN_TOPICS:
            return FOREIGN_TOPICS[self.name]
        topic = getattr(self.cls, "topic", None)
        return (topic,) if isinstance(topic, str) and topic else ()

    def example_topic(self, env: str = "stg") -> str | None:
        """A topic of this schema: ``*`` is ``env``, ``#`` the word ``example``."""
        pattern = self.topic_pattern
        if pattern is None:
            return None
        words = {"*": env, "#": "example"}
        return ".".join(words.get(w, w) for w in pattern.split("."))


@cache
def _load() -> tuple[Entry, ...]:
    found: list[Entry] = []
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party schema package must not break ours
            log.warning("catalog: cannot load schema %s (%s): %s", ep.name, ep.value, exc)
            continue
        if isinstance(cls, type) and issubclass(cls, fm.Message):
            found.append(Entry(ep.name, cls, ep.value))
    # fedbus schemas first, then the others; alphabetical within each
    found.sort(key=lambda e: (not e.is_fedbus, e.name))
    unique: dict[str, Entry] = {}
    for entry in found:
        unique.setdefault(entry.name, entry)
    return tuple(unique.values())


def entries(*, include_foreign: bool = False) -> tuple[Entry, ...]:
    """The catalog: fedbus schemas, plus other installed schemas when asked."""
    return tuple(e for e in _load() if include_foreign or e.is_fedbus)


def get(name: str) -> Entry:
    """The entry named ``name`` (fedbus or foreign); ValidationError if unknown."""
    for entry in _load():
        if entry.name == name:
            return entry
    raise ValidationError(f"unknown schema {name!r}")


def schema_of_topic(name: str, suffix: str) -> type[fm.Message]:
    """The class of schema ``name`` if it is a schema of topic ``suffix`` (without the
    environment prefix: ``bodhi.update.comment``); ValidationError otherwise — a service
    may not dress its message in another topic's schema."""
    entry = get(name)
    if not any(topic_matches(pattern, suffix) for pattern in entry.topics):
        raise ValidationError(f"schema {name!r} is not a schema of topic {suffix!r}")
    return entry.cls


def schema_for_topic(topic: str) -> type[fm.Message]:
    """The fedbus schema whose topic pattern matches ``topic``; ValidationError otherwise.
    A pattern with fewer wildcards wins (``pungi.compose.status.change`` over the catch-all
    ``pungi.compose.#``); several equally specific ones are an error."""
    matches = [e for e in entries() if e.topic_pattern and topic_matches(e.topic_pattern, topic)]
    if not matches:
        raise ValidationError(f"no schema in the catalog for topic {topic!r}; name one")
    fewest = min(_wildcards(e.topic_pattern) for e in matches)
    matches = [e for e in matches if _wildcards(e.topic_pattern) == fewest]
    if len(matches) > 1:
        names = ", ".join(e.name for e in matches)
        raise ValidationError(f"topic {topic!r} matches several schemas ({names}); name one")
    return matches[0].cls


def _wildcards(pattern: str | None) -> int:
    return sum(w in ("*", "#") for w in (pattern or "").split("."))


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


# How a Fedora consumer gets fedbus's schemas without fedbus (its web UI, database and
# AMQP client dependencies): the fedbus-messages distribution.
CONSUMER_SECTION = [
    "## Decoding fedbus's messages in your consumer",
    "",
    "fedbus's own schemas (those whose class is in `fedbus_messages` below: the canary and",
    "the broker's events, mirror tiers, NetApp, Pungi composes, Zabbix, the package",
    "database, AutoQA) are the `fedbus-messages` distribution, which depends on",
    "fedora-messaging only. It is not on PyPI: install it from this repository's",
    "`src/fedbus-messages`, or the wheel the collection builds for the hosts",
    "(`fedbus_messages-<version>-py3-none-any.whl` in the `fedbus-messages/` directory of",
    "`runtime_wheelhouse`, by default `~/.cache/fedbus/wheelhouse`):",
    "",
    "```sh",
    "pip install ./src/fedbus-messages        # or: pip install fedbus_messages-*.whl",
    "```",
    "",
    "It registers the schemas in the `fedora.messages` entry point group, so",
    "fedora-messaging gives your callback an instance of the schema class:",
    "",
    "```python",
    "from fedora_messaging import api",
    "from fedbus_messages.bus import CanaryV1",
    "",
    "def callback(message):",
    "    if isinstance(message, CanaryV1):",
    "        print(message.summary, message.url)",
    "",
    "api.consume(callback)",
    "```",
    "",
    "A message received another way (its routing key, AMQP properties and body bytes)",
    "decodes with `fedora_messaging.message.get_message(topic, properties, body)`, which",
    "picks the class by the `fedora_messaging_schema` header and validates the body.",
    "fedbus X.Y.Z depends on fedbus-messages X.Y.Z exactly.",
]


def markdown() -> str:
    """The message catalog page (``docs/messages.md``)."""
    out = [
        "# Message catalog",
        "",
        "<!-- Generated by `fedbus catalog --markdown` from src/fedbus-messages/fedbus_messages/;"
        " do not edit. -->",
        "",
        "Every message on the bus names its schema in the `fedora_messaging_schema` header",
        "(fedora-messaging's wire format, written by `src/fedbus/message/envelope.py`). The",
        "schemas are registered in the `fedora.messages` entry point group, so",
        "fedora-messaging consumers validate them too. A schema is never edited:",
        "a change is a new schema name (`….v2`).",
        "",
        *CONSUMER_SECTION,
        "",
        "## Schemas",
        "",
        _row("schema", "topic", "summary"),
        _row("---", "---", "---"),
    ]
    for e in entries():
        out.append(
            _row(f"[`{e.name}`](#{e.name.replace('.', '')})", f"`{e.topic_pattern}`", e.description)
        )
    for e in entries():
        out += ["", f"## {e.name}", "", e.description, ""]
        out.append(f"- topic: `{e.topic_pattern}`")
        out.append(f"- class: `{e.origin}`")
        out.append(f"- summary: `{e.summary_template}`")
        out.append(f"- URL: `{e.url_template}`" if e.url_template else "- URL: none")
        out.append(f"- users: {', '.join(f'`{f}`' for f in e.user_fields) or 'none'}")
        out.append(f"- packages: {', '.join(f'`{f}`' for f in e.package_fields) or 'none'}")
        out += ["", "Body schema:", "", "```json", json.dumps(e.body_schema, indent=2), "```"]
        out += ["", "Example body:", "", "```json", json.dumps(e.example, indent=2), "```"]
    return "\n".join(out) + "\n"
