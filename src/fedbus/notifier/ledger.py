"""The idempotency ledger: each (message id, user, destination) is sent once.

A sender calls :meth:`Ledger.claim` before handing the notification over and
:meth:`Ledger.sent` once the SMTP server accepted it (or the IRC server answered the
PING that follows the PRIVMSG); on a failure, :meth:`Ledger.release` so a retry may send.

- ``sent`` → a redelivered or republished job is acked without sending again;
- ``sending`` and recent → another sender has it in hand: :class:`InFlight` (the job is
  put back, without counting an attempt, until that claim is decided or stale);
- ``sending`` and older than ``stale_after`` (twice the sender's timeout: a live sender has
  given up by then) → the sender died between claim and result: it is sent again.  That
  window (the SMTP ``DATA`` answer in flight while the process is killed) is the only way
  to get a duplicate; the Message-ID header is derived from the key so a mail system can
  still fold it.

The row also keeps what the notification is about — the job's topic, summary (one line,
at most :data:`MAX_SUMMARY` characters) and URL — for the web UI's "recent notifications";
the job carried them already, so jobs queued by an older version are recorded alike.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from fedbus.consumer.errors import Later
from fedbus.notifier.jobs import Job
from fedbus.notifier.models import Delivery, utcnow
from fedbus.notifier.render import one_line
from fedbus.notifier.store import Store

_T = cast(Table, Delivery.__table__)
MAX_SUMMARY = 300


class InFlight(Later):
    """Another sender is sending this notification right now (or died doing it: then the
    claim goes stale and the next try sends)."""


class Ledger:
    """Each method is one short transaction in SQLAlchemy Core (no ORM unit of work: a
    sender does two of them per notification, the ORM made them ~3x dearer)."""

    def __init__(self, store: Store, stale_after: float = 300.0) -> None:
        self.store = store
        self.stale_after = dt.timedelta(seconds=stale_after)

    def _where(self, job: Job) -> tuple[ColumnElement[bool], ...]:
        return (
            _T.c.message_id == job.message_id[:64],
            _T.c.user_id == job.user_id,
            _T.c.destination_id == job.destination_id,
        )

    def _insert(self, job: Job) -> Any:
        return insert(_T).values(message_id=job.message_id[:64], user_id=job.user_id,
                                 destination_id=job.destination_id, status="sending",
                                 at=utcnow(), topic=job.topic[:255] or None,
                                 summary=one_line(job.summary, MAX_SUMMARY) or None,
                                 url=job.url or None)  # fmt: skip

    def claim(self, job: Job) -> bool:
        """True: send it now.  False: already sent.  :class:`InFlight`: try later."""
        try:
            with self.store.engine.begin() as conn:
                conn.execute(self._insert(job))
            return True
        except IntegrityError:
            pass
        with self.store.engine.begin() as conn:
            row = conn.execute(select(_T.c.status, _T.c.at).where(*self._where(job))).first()
            if row is None:  # released meanwhile
                conn.execute(self._insert(job))
                return True
            if row.status == "sent":
                return False
            age = utcnow() - row.at
            if age < self.stale_after:
                wait = min(5.0, (self.stale_after - age).total_seconds() + 0.5)
                raise InFlight(f"{job.key} is being sent by another sender", wait)
            conn.execute(update(_T).where(*self._where(job)).values(at=utcnow()))
            return True

    def sent(self, job: Job, status: str = "sent") -> None:
        with self.store.engine.begin() as conn:
            conn.execute(update(_T).where(*self._where(job)).values(status=status, at=utcnow()))

    def release(self, job: Job) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(delete(_T).where(*self._where(job), _T.c.status == "sending"))

    def status(self, job: Job) -> str | None:
        with self.store.engine.connect() as conn:
            return conn.execute(select(_T.c.status).where(*self._where(job))).scalar()
