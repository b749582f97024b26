"""The Python hook API for applications (Bodhi, PkgDB, FAS, AutoQA): publish after commit.

An application queues messages while it works and the :class:`Outbox` spools them only once
its database transaction is committed; a rollback discards them::

    outbox = Outbox("bodhi")
    with outbox.transaction():                  # flush on success, discard on exception
        update.request = "testing"; session.commit()
        outbox.add("bodhi.update.request.testing", {"update": ..., "agent": "alice"})

    outbox.attach_sqlalchemy(Session)           # or: flush on after_commit, drop on rollback
    outbox.add("pkgdb.package.new", {...})      # queued until the session commits

Topics are given without the environment prefix; the schema is found from the topic
(:func:`schema_for`): fedbus's catalog, else a Fedora schema package class whose own
``topic`` is that topic (the newest version wins); a schema named by the caller must be one
registered for that topic.  :meth:`Outbox.add` validates at once
and returns False (one log line) on a bad message: it never raises into the application.
An outbox only accepts its service's topics (``<service>.…``; FAS: ``fas.…``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from fedora_messaging import message as fm

from fedbus.errors import ValidationError
from fedbus.message.envelope import Encoded, _registered
from fedbus.message.topic import topic_matches
from fedbus.wedges.base import Sink, build, one_line, publish_all

log = logging.getLogger("fedbus.wedges.hooks")


def _version(name: str) -> int:
    found = re.search(r"v(\d+)$", name, re.IGNORECASE)  # noggin "….v1", koji "…TagV1"
    return int(found.group(1)) if found else 0


def schema_for(suffix: str, schema: str | None = None) -> type[fm.Message]:
    """The schema of the topic ``suffix`` (``bodhi.update.comment``).  ``schema`` may name
    one, but only one registered for that topic (:func:`fedbus.message.catalog.schema_of_topic`:
    never ``base.message``, never another topic's schema)."""
    from fedbus.message import catalog

    if schema is not None:
        return catalog.schema_of_topic(schema, suffix)
    registry = _registered()
    own = [e.cls for e in catalog.entries()
           if any(topic_matches(t, suffix) for t in e.topics)]
    if len(own) == 1:
        return own[0]
    foreign = sorted(((name, cls) for name, cls in registry.items()
                      if getattr(cls, "topic", None) == suffix),
                     key=lambda item: (_version(item[0]), item[0]))
    if not foreign:
        raise ValidationError(f"no schema for topic {suffix!r}")
    return foreign[-1][1]


class Outbox:
    """Messages of one service waiting for the application's commit (one per thread)."""

    def __init__(self, service: str, target: Sink | None = None) -> None:
        self.service = service
        self.target = target or Sink.load()
        self._local = threading.local()

    @property
    def pending(self) -> list[Encoded]:
        if not hasattr(self._local, "queue"):
            self._local.queue = []
        queue: list[Encoded] = self._local.queue
        return queue

    def message(self, suffix: str, body: Mapping[str, Any], schema: str | None = None
                ) -> Encoded:
        """Build and validate one message; ValidationError on a bad topic or body."""
        if suffix.split(".", 1)[0] != self.service:
            raise ValidationError(f"{self.service} may not publish {suffix!r}")
        return build(self.target, schema_for(suffix, schema), body, suffix=suffix)

    def add(self, suffix: str, body: Mapping[str, Any], schema: str | None = None) -> bool:
        """Queue a message for the next commit; False (logged) if it is invalid."""
        try:
            self.pending.append(self.message(suffix, body, schema))
        except Exception as exc:
            log.error("fedbus: %s message %s dropped: %s", self.service, suffix, one_line(exc))
            return False
        return True

    def flush(self) -> int:
        """The commit succeeded: spool what was queued; returns how many were spooled."""
        queue, self._local.queue = self.pending, []
        return publish_all(self.target, queue) if queue else 0

    def discard(self) -> int:
        """The transaction rolled back: drop what was queued; returns how many."""
        queue, self._local.queue = self.pending, []
        return len(queue)

    @contextmanager
    def transaction(self) -> Iterator[Outbox]:
        """Flush when the block ends normally, discard when it raises (and re-raise)."""
        try:
            yield self
        except BaseException:
            self.discard()
            raise
        self.flush()

    def attach_sqlalchemy(self, session: Any) -> None:
        """Flush on the session's ``after_commit``, discard on ``after_soft_rollback``
        (``session`` is a Session, a sessionmaker or the Session class)."""
        from sqlalchemy import event

        event.listen(session, "after_commit", lambda _s: self.flush())
        event.listen(session, "after_soft_rollback", lambda _s, _t: self.discard())
