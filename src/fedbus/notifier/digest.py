"""``fedbus notifier digest``: hourly and daily digests, capped at N items.

Two duties in one process:

- consume ``notifier.digest`` (jobs of destinations whose delivery is ``hourly`` or
  ``daily``) and keep each as a :class:`~fedbus.notifier.models.DigestItem` (one per
  destination and message: a redelivered job is stored once);
- every ``interval`` seconds, for each destination whose digest is due (a period after the
  last digest, or after its oldest item), send ONE job to ``notifier.email`` /
  ``notifier.irc`` listing at most ``digest_cap`` items (the newest; "… and K more").

A job on ``notifier.digest`` is re-checked against the database before it is kept
(:class:`~fedbus.notifier.senders.guard.Guard`: its destination exists, is the job's
user's, of its kind, verified, the user neither paused nor muted); a forged one is
dead-lettered with the reason.  The digest job composed later is built from the
database alone (address, kind, user) and checked again by the sender.

Crash safety: the items of a digest are fixed first (``destinations.digest_cut``), then
the job is published (key ``digest-<cut>``), then the items are deleted.  Interrupted
anywhere, the next round sends the same digest with the same key, which the sender's
ledger sends once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from fedbus.client.connect import TlsOptions
from fedbus.notifier import metrics as notifier_metrics
from fedbus.notifier.jobs import Job, JobConsumer, JobPublisher
from fedbus.notifier.models import Destination, DigestItem, User, utcnow
from fedbus.notifier.senders.guard import Guard
from fedbus.notifier.settings import QUEUES, NotifierSettings, amqp_settings, load_settings
from fedbus.notifier.store import Store

log = logging.getLogger("fedbus.notifier.digest")
PERIODS = {"hourly": dt.timedelta(hours=1), "daily": dt.timedelta(days=1)}


class Digests:
    def __init__(self, store: Store, publisher: JobPublisher, base_url: str) -> None:
        self.store = store
        self.publisher = publisher
        self.base_url = base_url
        self.guard = Guard(store)
        self.counters = {"items": 0, "digests": 0}
        self.runs = {"ok": 0, "failed": 0}  # rounds of :meth:`flush`
        self.last_run = self.last_success = self.last_duration = 0.0
        notifier_metrics.track_digests(self)  # served by ``fedbus --metrics``

    def keep_sync(self, job: Job) -> None:
        job = self.guard.check(job)  # Reject: dead-lettered, nothing kept
        try:
            with self.store.session() as s:
                s.add(DigestItem(destination_id=job.destination_id, message_id=job.message_id[:64],
                                 topic=job.topic, summary=job.summary, url=job.url))  # fmt: skip
            self.counters["items"] += 1
        except IntegrityError:  # already kept (redelivery), or the destination is gone
            log.debug("digest item %s not kept again", job.key)

    async def keep(self, job: Job) -> None:
        await asyncio.to_thread(self.keep_sync, job)

    def due(self, now: dt.datetime) -> list[int]:
        """Destinations whose digest is due (or interrupted)."""
        with self.store.session() as s:
            rows = s.execute(
                select(Destination.id, Destination.delivery, Destination.last_digest_at,
                       Destination.digest_cut, func.min(DigestItem.at))
                .join(DigestItem, DigestItem.destination_id == Destination.id)
                .group_by(Destination.id)
            ).all()  # fmt: skip
        out = []
        for dest_id, delivery, last, cut, oldest in rows:
            period = PERIODS.get(delivery, dt.timedelta(0))
            if cut is not None or (last or oldest) + period <= now:
                out.append(dest_id)
        return out

    def compose(self, dest_id: int) -> Job | None:
        with self.store.session() as s:
            dest = s.get(Destination, dest_id)
            if dest is None:
                return None
            if dest.digest_cut is None:
                dest.digest_cut = s.scalar(
                    select(func.max(DigestItem.id)).where(DigestItem.destination_id == dest_id)
                )
            cut = dest.digest_cut
            if cut is None:
                return None
            user = s.get(User, dest.user_id)
            items = list(s.scalars(
                select(DigestItem).where(DigestItem.destination_id == dest_id,
                                         DigestItem.id <= cut).order_by(DigestItem.id.desc())
            ))  # fmt: skip
            shown, more = items[: dest.digest_cap], len(items) - dest.digest_cap
            lines = [f"- {i.summary}" + (f"\n  {i.url}" if i.url else "") for i in reversed(shown)]
            if more > 0:
                lines.append(f"… and {more} more")
            title = f"Your {dest.delivery} Fedora digest: {len(items)} notification(s)"
            text = "\n".join(lines)
            if dest.kind == "email":
                text += f"\n\n-- \nDigest settings: {self.base_url}/settings/destinations\n"
            else:
                text = f"{title}: " + "; ".join(i.summary for i in reversed(shown[:5])) + (
                    f" (+{len(items) - 5} more)" if len(items) > 5 else "")  # fmt: skip
            return Job(
                message_id=f"digest-{cut}", user_id=dest.user_id, user=user.name if user else "?",
                destination_id=dest.id, kind=dest.kind, address=dest.address,
                delivery="immediate", topic="digest", summary=title, subject=title, text=text,
            )  # fmt: skip

    def done(self, dest_id: int, cut: int, now: dt.datetime) -> None:
        with self.store.session() as s:
            s.execute(delete(DigestItem).where(DigestItem.destination_id == dest_id,
                                               DigestItem.id <= cut))  # fmt: skip
            dest = s.get(Destination, dest_id)
            if dest is not None:
                dest.digest_cut, dest.last_digest_at = None, now

    async def flush(self, now: dt.datetime | None = None) -> int:
        """Send every due digest; returns how many were sent.  Each round is counted
        (``runs``, ``last_run``…: the metrics of :mod:`fedbus.notifier.metrics`)."""
        started = time.monotonic()
        ok = False
        try:
            sent = await self._flush(now or utcnow())
            ok = True
            return sent
        finally:
            self.last_duration = time.monotonic() - started
            self.last_run = time.time()
            self.runs["ok" if ok else "failed"] += 1
            if ok:
                self.last_success = self.last_run

    async def _flush(self, now: dt.datetime) -> int:
        sent = 0
        for dest_id in await asyncio.to_thread(self.due, now):
            job = await asyncio.to_thread(self.compose, dest_id)
            if job is None:
                continue
            await self.publisher.publish([(QUEUES[job.kind], job)])
            await asyncio.to_thread(self.done, dest_id, int(job.message_id[7:]), now)
            sent += 1
            self.counters["digests"] += 1  # counted at once: a later failure keeps it
        return sent


async def run_digest(
    settings: NotifierSettings,
    urls: Sequence[str],
    tls: TlsOptions | None,
    *,
    interval: float = 60.0,
    once: bool = False,
    stop: asyncio.Event | None = None,
) -> None:
    import signal

    store = Store.open(settings.database_url)
    publisher = JobPublisher(urls, tls)
    digests = Digests(store, publisher, settings.base_url)
    if once:
        try:
            log.info("sent %d digest(s)", await digests.flush())
        finally:
            await publisher.close()
        return
    stop = stop or asyncio.Event()
    consumer = JobConsumer(urls, QUEUES["digest"], digests.keep, tls=tls, concurrency=1)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    consuming = loop.create_task(consumer.run())
    try:
        while not stop.is_set():
            try:
                await digests.flush()
            except Exception as exc:  # the broker or the database is away: next round
                log.warning("digest round failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        consumer.stop()
        await consuming
        await publisher.close()
        log.info("digest stopped: %s", digests.counters)


def run_cli(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    urls, tls, _ = amqp_settings(getattr(args, "config", None))
    asyncio.run(run_digest(settings, urls, tls, interval=args.interval, once=args.once))
    return 0
