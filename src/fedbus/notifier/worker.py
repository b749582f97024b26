"""``fedbus notifier worker``: bus messages in, notification jobs out.

Competing consumers on one durable queue (``notifier``, bound to ``<topic_prefix>.#``):
start as many workers as needed, each takes its share.  Per message:

1. every ``refresh_interval`` seconds (and at once after a PkgDB message), reload the users
   whose preferences changed (:class:`~fedbus.notifier.loader.IndexLoader`);
2. a PkgDB message updates who owns/watches which package (:mod:`.pkgdb`);
3. match (:class:`~fedbus.notifier.index.Index`), render (:mod:`.render`) and publish one
   job per (user, destination) to ``notifier.email`` / ``notifier.irc`` (immediate) or
   ``notifier.digest``, waiting for the broker's confirms;
4. only then is the bus message acked.  A worker killed between 3 and 4 gets the message
   again: the jobs are published again with the same idempotency key, and the senders
   send each key once (:mod:`.delivery`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import time
from collections.abc import Callable, Sequence

from fedora_messaging.message import Message

from fedbus.client.connect import TlsOptions
from fedbus.consumer import Consumer, serve
from fedbus.notifier import pkgdb
from fedbus.notifier.facts import facts_of
from fedbus.notifier.index import Index
from fedbus.notifier.jobs import JobPublisher
from fedbus.notifier.loader import IndexLoader
from fedbus.notifier.render import is_repeat, jobs_for
from fedbus.notifier.settings import QUEUES, NotifierSettings, amqp_settings, load_settings
from fedbus.notifier.store import Store

log = logging.getLogger("fedbus.notifier.worker")


def load_index(build: Callable[[], object]) -> None:
    """Build the index with the cyclic collector off (it would walk the growing index again
    and again: a 100k-user load takes twice as long with it), then freeze what was built: the index
    lives for the process, and full collections need not walk its hundreds of MB."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        build()
    finally:
        if enabled:
            gc.enable()
    gc.collect()
    gc.freeze()


class Worker:
    def __init__(
        self,
        store: Store,
        publisher: JobPublisher,
        *,
        prefix: str,
        base_url: str,
        refresh_interval: float = 2.0,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.index = Index(prefix)
        self.loader = IndexLoader(store, self.index)
        self.base_url = base_url
        self.refresh_interval = refresh_interval
        self._refreshed = 0.0
        self.counters = {"messages": 0, "jobs": 0, "pkgdb": 0, "repeats": 0}

    def load(self) -> None:
        load_index(self.loader.full)
        self._refreshed = time.monotonic()

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._refreshed >= self.refresh_interval:
            changed = self.loader.refresh()
            self._refreshed = now
            if changed:
                log.info("index: reloaded %d changed user(s)", changed)

    async def handle(self, message: Message) -> None:
        self.counters["messages"] += 1
        if pkgdb.is_pkgdb(message.topic) and pkgdb.apply(self.store, message.topic, message.body):
            self.counters["pkgdb"] += 1
            self.refresh(force=True)
        else:
            self.refresh()
        if is_repeat(message.topic, message.body):
            self.counters["repeats"] += 1
            return
        matches = self.index.match(facts_of(message))
        if not matches:
            return
        jobs = jobs_for(message, matches, self.base_url)
        routed = [
            (QUEUES["digest"] if job.delivery != "immediate" else QUEUES[job.kind], job)
            for job in jobs
        ]
        await self.publisher.publish(routed)
        self.counters["jobs"] += len(routed)
        log.debug("%s %s: %d job(s)", message.id, message.topic, len(routed))


async def run_worker(
    settings: NotifierSettings,
    urls: Sequence[str],
    tls: TlsOptions | None,
    prefix: str,
    *,
    concurrency: int = 1,
    ready: asyncio.Event | None = None,
) -> None:
    store = Store.open(settings.database_url)
    publisher = JobPublisher(urls, tls)
    worker = Worker(store, publisher, prefix=prefix, base_url=settings.base_url)
    worker.load()
    for queue in QUEUES.values():
        await publisher.declare(queue)
    consumer = Consumer(
        urls,
        settings.queue,
        settings.bindings or [f"{prefix}.#"],
        worker.handle,
        prefetch=settings.prefetch,
        concurrency=concurrency,
        tls=tls,
        name="fedbus-notifier-worker",
    )
    if ready is not None:
        asyncio.get_running_loop().create_task(_signal_ready(consumer, ready))
    try:
        await serve(consumer)
    finally:
        await publisher.close()
        log.info("worker stopped: %s", worker.counters)


async def _signal_ready(consumer: Consumer, ready: asyncio.Event) -> None:
    await consumer.ready.wait()
    ready.set()


def run_cli(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    urls, tls, prefix = amqp_settings(getattr(args, "config", None))
    asyncio.run(run_worker(settings, urls, tls, prefix, concurrency=args.concurrency))
    return 0
