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
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError

from fedbus.notifier.jobs import Job, Later
from fedbus.notifier.models import Delivery, utcnow
from fedbus.notifier.store import Store


class InFlight(Later):
    """Another sender is sending this notification right now (or died doing it: then the
    claim goes stale and the next try sends)."""


class Ledger:
    def __init__(self, store: Store, stale_after: float = 300.0) -> None:
        self.store = store
        self.stale_after = dt.timedelta(seconds=stale_after)

    def _where(self, job: Job) -> tuple[ColumnElement[bool], ...]:
        return (
            Delivery.message_id == job.message_id[:64],
            Delivery.user_id == job.user_id,
            Delivery.destination_id == job.destination_id,
        )

    def claim(self, job: Job) -> bool:
        """True: send it now.  False: already sent.  :class:`InFlight`: try later."""
        try:
            with self.store.session() as s:
                s.add(Delivery(message_id=job.message_id[:64], user_id=job.user_id,
                               destination_id=job.destination_id, status="sending"))  # fmt: skip
            return True
        except IntegrityError:
            pass
        with self.store.session() as s:
            row = s.scalar(select(Delivery).where(*self._where(job)))
            if row is None:  # released meanwhile
                s.add(Delivery(message_id=job.message_id[:64], user_id=job.user_id,
                               destination_id=job.destination_id, status="sending"))  # fmt: skip
                return True
            if row.status == "sent":
                return False
            age = utcnow() - row.at
            if age < self.stale_after:
                wait = min(5.0, (self.stale_after - age).total_seconds() + 0.5)
                raise InFlight(f"{job.key} is being sent by another sender", wait)
            row.at = utcnow()
            return True

    def sent(self, job: Job, status: str = "sent") -> None:
        with self.store.session() as s:
            s.execute(update(Delivery).where(*self._where(job)).values(status=status, at=utcnow()))

    def release(self, job: Job) -> None:
        with self.store.session() as s:
            s.execute(delete(Delivery).where(*self._where(job), Delivery.status == "sending"))

    def status(self, job: Job) -> str | None:
        with self.store.session() as s:
            return s.scalar(select(Delivery.status).where(*self._where(job)))
