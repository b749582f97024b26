"""What every wedge shares: where to publish, how to build a message, how to fail.

Topics: Fedora's schema packages name their topic without the environment prefix
(``git.receive``, ``buildsys.tag``); the full topic on the wire is
``<topic_prefix>.<that>`` (``org.fedoraproject.prod.git.receive``), exactly what
fedora-messaging publishes with ``topic_prefix = "org.fedoraproject.prod"``.  A few of these
historical topics have fewer words than fedbus's naming scheme asks for (``git.receive``):
for a schema that declares its own ``topic``, :func:`build` accepts exactly that topic (each
word still checked) so Fedora's consumers see what they always saw.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedora_messaging import message as fm

from fedbus.errors import FedbusError, ValidationError
from fedbus.message.envelope import AmqpProperties, Encoded, encode, validate
from fedbus.message.topic import check_word, is_valid_topic

log = logging.getLogger("fedbus.wedges")

CONFIG_ENV = "FEDBUS_CONFIG"


@dataclass(frozen=True)
class Sink:
    """Where a wedge publishes (its sink): the topic prefix and the local spool."""

    topic_prefix: str = "org.fedoraproject.local"
    spool_dir: Path = Path("/var/spool/fedbus/relay")
    fsync: bool = False
    max_bytes: int = 1 << 30
    max_messages: int = 1_000_000

    @classmethod
    def load(cls, config: str | os.PathLike[str] | None = None,
             spool_dir: str | os.PathLike[str] | None = None) -> Sink:
        """From fedbus.toml (``-c``/``$FEDBUS_CONFIG``/``/etc/fedbus/fedbus.toml``; defaults
        when absent); ``spool_dir`` or ``$FEDBUS_SPOOL`` override the spool."""
        from fedbus import config as fconfig

        cfg = fconfig.load(config, missing_ok=True)
        spool = spool_dir or os.environ.get("FEDBUS_SPOOL") or cfg.relay.spool_dir
        return cls(cfg.topic_prefix, Path(spool), cfg.relay.fsync, cfg.relay.max_bytes,
                   cfg.relay.max_messages)

    def topic(self, suffix: str) -> str:
        return f"{self.topic_prefix}.{suffix}"


def build(target: Sink, schema: type[fm.Message], body: Mapping[str, Any],
          suffix: str | None = None, severity: int | None = None,
          priority: int | None = None) -> Encoded:
    """A validated, encoded message of ``schema`` on ``<prefix>.<suffix>`` (default suffix:
    the schema's own ``topic``; ``priority``: the AMQP priority, default none).  Raises
    :class:`ValidationError` with one line."""
    suffix = suffix or getattr(schema, "topic", "")
    if not suffix:
        raise ValidationError(f"{schema.__name__}: no topic given and the schema has none")
    topic = target.topic(suffix)
    kwargs: dict[str, Any] = {"body": dict(body), "topic": topic}
    if severity is not None:
        kwargs["severity"] = severity
    message = schema(**kwargs)
    if priority is not None:
        message.priority = priority
    if is_valid_topic(topic):
        return encode(message)
    # A historical Fedora topic (git.receive, buildsys.tag): allowed when it is the schema's
    # own topic; every word is still checked.
    if suffix != getattr(schema, "topic", None):
        encode(message)  # raises the naming-scheme error
    for word in topic.split("."):
        check_word(word)
    validate(message)
    return Encoded(topic, message._encoded_body, AmqpProperties.from_amqp(message._properties))


def publish_all(target: Sink, messages: Iterable[Encoded]) -> int:
    """Spool ``messages``; returns how many were taken.  Never raises: a failure (spool
    unwritable or full) is logged as one line per message."""
    from fedbus.relay.api import publish

    done = 0
    for enc in messages:
        try:
            publish(enc, spool_dir=target.spool_dir, fsync=target.fsync,
                    max_bytes=target.max_bytes, max_messages=target.max_messages)
            done += 1
        except Exception as exc:  # the service must never see our failure
            log.error("fedbus: cannot spool %s: %s", enc.routing_key, one_line(exc))
    return done


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, FedbusError) else f"{type(exc).__name__}: {text}"


def setup_script_logging(name: str) -> None:
    """Hooks and scripts log one line per event to stderr (the service's log)."""
    if not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{name}: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("fedora_messaging").setLevel(logging.WARNING)
