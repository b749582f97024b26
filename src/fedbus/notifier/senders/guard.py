"""The senders' re-check of a job against the database: a job is a request, not an order.

Anyone able to put a message on ``notifier.email``/``notifier.irc``/``notifier.digest``
could forge a job; :meth:`Guard.check` makes it harmless.  One indexed query per job
(:meth:`~fedbus.notifier.store.Store.sendable`: the destination by primary key joined to
its user), no cache — a user who pauses is stopped on the next job.  The job passes only
if:

- the destination exists and belongs to the job's ``user_id``, whose name is the job's
  ``user``;
- it is of the job's kind (and of the sender's, for a sender of one kind), and verified;
- the user is not paused and not muted (``muted_until`` in the future);
- the job's address is the destination's.

The job returned carries the database's address; a failed check raises
:class:`~fedbus.consumer.errors.Reject` with one line (the job is dead-lettered with it).
"""

from __future__ import annotations

from dataclasses import replace

from fedbus.consumer.errors import Reject
from fedbus.notifier.jobs import Job
from fedbus.notifier.models import utcnow
from fedbus.notifier.store import Sendable, Store


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)  # repr: a CR/LF of a forged job stays escaped, the reason one line
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _typed(job: Job) -> None:
    """JSON gives any type: a field of the wrong one is refused here, not a traceback later."""
    if not all(isinstance(v, int) and not isinstance(v, bool)
               for v in (job.user_id, job.destination_id)):  # fmt: skip
        raise Reject("job: user_id and destination_id must be integers")
    texts = (job.user, job.kind, job.address, job.subject, job.text, job.summary, job.topic)
    if not all(isinstance(v, str) for v in texts) or not isinstance(job.headers, dict):
        raise Reject("job: a text field is not a string, or headers not an object")


VERIFICATION = "verification"  # the topic of fedbus.notifier.verify's jobs


class Guard:
    def __init__(self, store: Store, kind: str | None = None) -> None:
        self.store = store
        self.kind = kind

    def check(self, job: Job) -> Job:
        """The job to send (with the database's address), or :class:`Reject`."""
        if self.kind is not None and job.kind != self.kind:
            raise Reject(f"job of kind {_show(job.kind)} on the {self.kind} sender")
        _typed(job)
        row = self.store.sendable(job.destination_id)
        if row is None:
            raise Reject(f"no such destination {job.destination_id}")
        self._owner(job, row)
        self._usable(job, row)
        if job.address != row.address:
            raise Reject(f"the job's address {_show(job.address)} is not destination "
                         f"{job.destination_id}'s")  # fmt: skip
        return replace(job, address=row.address)

    @staticmethod
    def _owner(job: Job, row: Sendable) -> None:
        if row.user_id != job.user_id:
            raise Reject(f"destination {job.destination_id} is not user {job.user_id}'s")
        if row.user != job.user:
            raise Reject(f"user {job.user_id} is not named {_show(job.user)}")
        if row.kind != job.kind:
            raise Reject(f"destination {job.destination_id} is {row.kind}, "
                         f"the job says {_show(job.kind)}")  # fmt: skip

    @staticmethod
    def _usable(job: Job, row: Sendable) -> None:
        if job.topic == VERIFICATION:
            # fedbus.notifier.verify's job: only to a destination still to be verified,
            # so a forged one cannot reach a verified (or paused) user's address
            if row.verified:
                raise Reject(f"destination {job.destination_id} is already verified")
            return
        if not row.verified:
            raise Reject(f"destination {job.destination_id} is not verified")
        if row.paused:
            raise Reject(f"user {row.user!r} has paused notifications")
        if row.muted_until is not None and row.muted_until > utcnow():
            raise Reject(f"user {row.user!r} is muted until {row.muted_until:%Y-%m-%d %H:%M}")
