"""``fedbus notifier sender --type email|irc``: one outbound queue, one sender.

Each job: re-check it against the database (:class:`~.guard.Guard`: a forged job, or one
for a user who paused since, is dead-lettered with the reason and never sent; the address
used is the database's), take its rate-limit tokens (:class:`~.limits.Limits`: over the
limit the job is put back for later, not lost), claim its idempotency key in the ledger
(already sent → ack and skip), send, record it as sent.  Failures are released so the
retry may send; the queue's backoff and dead-lettering are
:class:`~fedbus.notifier.jobs.JobConsumer`'s.

Limits (``[email]``/``[irc]`` of notifier.toml): mail per user; IRC per destination and
per user.  The IRC sender handles up to 4 jobs at once (sends are serialised on the one
connection) so that jobs waiting out a rate limit do not stall everyone else's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from fedbus.client.connect import TlsOptions
from fedbus.notifier import metrics as notifier_metrics
from fedbus.notifier.jobs import Job, JobConsumer
from fedbus.notifier.ledger import Ledger
from fedbus.notifier.senders.guard import Guard
from fedbus.notifier.senders.irc import IrcClient
from fedbus.notifier.senders.limits import Limits, Rate
from fedbus.notifier.senders.smtp import EmailSender
from fedbus.notifier.settings import QUEUES, NotifierSettings, amqp_settings, load_settings
from fedbus.notifier.store import Store

log = logging.getLogger("fedbus.notifier.sender")


class Transport(Protocol):
    async def send(self, job: Job) -> None: ...
    async def close(self) -> None: ...


class IrcTransport:
    def __init__(self, client: IrcClient) -> None:
        self.client = client

    async def send(self, job: Job) -> None:
        await self.client.send(job.address, job.text or job.summary)

    async def close(self) -> None:
        await self.client.close()


class Sender:
    def __init__(self, ledger: Ledger, transport: Transport, *, kind: str | None = None,
                 limits: Limits | None = None) -> None:  # fmt: skip
        self.ledger = ledger
        self.transport = transport
        self.kind = kind
        self.guard = Guard(ledger.store, kind)
        self.limits = limits or Limits([])
        self.counters = {"sent": 0, "duplicates": 0, "failed": 0}
        #: the consumer of its queue (its retried/dead counts are served with the sender's)
        self.consumer: JobConsumer | None = None
        notifier_metrics.track_sender(self)  # served by ``fedbus --metrics``

    def _admit(self, job: Job) -> Job:
        """The job as the database has it (:class:`Reject` if forged), within its limits."""
        job = self.guard.check(job)
        self.limits.take(job)
        return job

    async def handle(self, job: Job) -> None:
        send_sync = getattr(self.transport, "send_sync", None)
        if send_sync is not None:  # claim, send, record: one trip to a thread, not three
            sent = await asyncio.to_thread(self._deliver_sync, job, send_sync)
        else:
            sent = await self._deliver(job)
        if not sent:
            self.counters["duplicates"] += 1
            log.info("job %s already sent: skipped", job.key)
            return
        self.counters["sent"] += 1
        log.debug("sent %s to %s destination %d", job.key, job.kind, job.destination_id)

    async def _deliver(self, job: Job) -> bool:
        job = await asyncio.to_thread(self._admit, job)
        if not await asyncio.to_thread(self.ledger.claim, job):
            return False
        try:
            await self.transport.send(job)
        except BaseException:
            self.counters["failed"] += 1
            await asyncio.to_thread(self.ledger.release, job)
            raise
        await asyncio.to_thread(self.ledger.sent, job)
        return True

    def _deliver_sync(self, job: Job, send: Callable[[Job], None]) -> bool:
        job = self._admit(job)
        if not self.ledger.claim(job):
            return False
        try:
            send(job)
        except BaseException:
            self.counters["failed"] += 1
            self.ledger.release(job)
            raise
        self.ledger.sent(job)
        return True


def transport_for(kind: str, settings: NotifierSettings) -> Transport:
    if kind == "email":
        return EmailSender(settings.email)
    if kind == "irc":
        return IrcTransport(IrcClient(settings.irc))
    raise ValueError(f"no sender for {kind!r}")


def limits_for(kind: str, settings: NotifierSettings) -> Limits:
    if kind == "email":
        e = settings.email
        return Limits([Rate("user", e.user_rate, e.user_burst)])
    i = settings.irc
    return Limits([Rate("destination", i.destination_rate, i.destination_burst),
                   Rate("user", i.user_rate, i.user_burst)])  # fmt: skip


async def run_sender(
    kind: str,
    settings: NotifierSettings,
    urls: Sequence[str],
    tls: TlsOptions | None,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    import signal

    store = Store.open(settings.database_url)
    transport = transport_for(kind, settings)
    timeout = settings.email.timeout if kind == "email" else settings.irc.timeout
    sender = Sender(Ledger(store, stale_after=2 * timeout + 5), transport, kind=kind,
                    limits=limits_for(kind, settings))  # fmt: skip
    consumer = JobConsumer(
        urls, QUEUES[kind], sender.handle, tls=tls,
        concurrency=8 if kind == "email" else 4,
        max_attempts=settings.email.max_attempts,
    )  # fmt: skip
    sender.consumer = consumer
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(RuntimeError, ValueError):  # not the main thread (tests)
            loop.add_signal_handler(sig, consumer.stop)
    watchers = []
    if ready is not None:
        watchers.append(loop.create_task(_relay_event(consumer.ready, ready)))
    if stop is not None:
        watchers.append(loop.create_task(_on(stop, consumer.stop)))
    try:
        await consumer.run()
    finally:
        for w in watchers:
            w.cancel()
        await transport.close()
        log.info("%s sender stopped: %s %s", kind, sender.counters, consumer.counters)


async def _relay_event(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()


async def _on(event: asyncio.Event, action: object) -> None:
    await event.wait()
    action()  # type: ignore[operator]


def run_cli(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    urls, tls, _prefix = amqp_settings(getattr(args, "config", None))
    asyncio.run(run_sender(args.kind, settings, urls, tls))
    return 0
