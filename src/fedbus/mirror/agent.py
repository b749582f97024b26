"""The ``fedbus mirror`` service: consume the upstream's messages, pull, announce.

- ``master``: scan the tree (:mod:`.watch`), publish ``netapp.snapmirror.out_of_sync`` /
  ``in_sync`` with the changed directories;
- ``tier1``: consume ``netapp.snapmirror.*`` of its volume; hold on ``out_of_sync``, pull the
  named paths on ``in_sync``;
- ``tier2``: consume ``mirror.tier1.sync.*`` of its tier-1 (``upstream_name``); hold on
  ``start``, pull the named paths on an ``ok`` ``complete``.

Tier agents publish ``mirror.<tier>.sync.start`` / ``complete`` around each pull.  Everything
is published through the local relay's spool (never blocks on the broker).  Decisions are
:class:`~fedbus.mirror.state.MirrorState`'s; this module only does the I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fedora_messaging.message import Message

from fedbus.client import TlsOptions
from fedbus.consumer import Consumer, Reject
from fedbus.errors import ValidationError
from fedbus.message.envelope import new_message
from fedbus.mirror import metrics as mirror_metrics
from fedbus.mirror import paths as mpaths
from fedbus.mirror import rsync
from fedbus.mirror.settings import MirrorSettings
from fedbus.mirror.state import Abort, Action, MirrorState, Pull
from fedbus.mirror.watch import Watch, scan
from fedbus.relay.api import publish

log = logging.getLogger("fedbus.mirror")
Publish = Callable[[Message], object]


def iso(ts: float | None = None) -> str:
    moment = datetime.now(UTC) if ts is None else datetime.fromtimestamp(ts, UTC)
    return moment.isoformat(timespec="milliseconds")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    # An rsync must not outlive a killed agent (it would race the restarted one).
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Agent:
    def __init__(
        self,
        settings: MirrorSettings,
        *,
        topic_prefix: str,
        urls: Sequence[str] = (),
        tls: TlsOptions | None = None,
        spool_dir: str | None = None,
        publisher: Publish | None = None,
        tick: float = 1.0,
    ) -> None:
        self.s = settings
        self.prefix = topic_prefix
        self.urls = list(urls)
        self.tls = tls
        self.tick_seconds = tick
        self._publish = publisher or (lambda m: publish(m, spool_dir=spool_dir))
        self.state = MirrorState.starting(
            time.monotonic(),
            full_interval=settings.full_sync_interval,
            hold_timeout=settings.hold_timeout,
            retry_initial=settings.retry_initial,
            retry_max=settings.retry_max,
            abort_on_change=settings.abort_on_upstream_change,
        )
        self._proc: asyncio.subprocess.Process | None = None
        self._aborted = False
        self._pull_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._seq = 0
        self.consumer: Consumer | None = None
        self.pulls = 0
        # what the metrics say (fedbus.mirror.metrics); times are wall-clock seconds
        self.name, self.mode = settings.name, settings.mode
        self.last_start = self.last_completion = self.last_success = 0.0
        self.syncing = False
        self.syncs = {"ok": 0, "failed": 0, "aborted": 0}
        self.bytes_moved = self.files_moved = 0
        self.announcements = {"in_sync": 0, "out_of_sync": 0}
        self._behind: list[float] = []  # when each ready message not caught up came
        mirror_metrics.COLLECTOR.track(self)  # served by ``fedbus --metrics``

    def _ready_came(self, at: float) -> None:
        # Kept only if a pull started since the last one kept: otherwise the pull that
        # catches up with that one catches up with this one too (the list stays short).
        if not self._behind or self._behind[-1] < self.last_start:
            self._behind.append(at)

    def lag(self, now: float) -> float:
        """Seconds since the oldest upstream ready message not caught up with (0: none)."""
        return max(0.0, now - self._behind[0]) if self._behind else 0.0

    # -- running -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        if self.consumer is not None:
            self.consumer.stop()

    async def run(self) -> None:
        if self.s.mode == "master":
            await self._watch_loop()
            return
        tier_topics = {"tier1": "netapp.snapmirror.*", "tier2": "mirror.tier1.sync.*"}
        self.consumer = Consumer(
            self.urls, self.s.queue_name, [f"{self.prefix}.{tier_topics[self.s.mode]}"],
            self.handle, tls=self.tls, name=f"fedbus-mirror {self.s.name}", prefetch=50,
        )
        consume = asyncio.ensure_future(self.consumer.run())
        try:
            while not self._stop.is_set() and not consume.done():
                self._apply(self.state.tick(time.monotonic()))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.tick_seconds)
        finally:
            self.consumer.stop()
            await self._abort_pull()
            await consume

    async def _abort_pull(self) -> None:
        if self._pull_task is not None and not self._pull_task.done():
            self._kill("agent stopping")
            with contextlib.suppress(Exception):
                await self._pull_task

    # -- messages ------------------------------------------------------------------------

    async def handle(self, message: Message) -> None:
        body = message.body
        if body.get("volume") != self.s.volume:
            return
        event = ".".join(message.topic.split(".")[-3:])  # netapp.snapmirror.in_sync, …
        now = time.monotonic()
        try:
            paths = mpaths.from_body(body.get("paths"))
        except ValidationError as exc:
            raise Reject(str(exc)) from exc
        changed_at = body.get("changed_at")
        if self.s.mode == "tier1":
            if self.s.upstream_name and body.get("host") != self.s.upstream_name:
                return
            if event == "netapp.snapmirror.out_of_sync":
                action = self.state.upstream_busy(now)
            elif event == "netapp.snapmirror.in_sync":
                self._ready_came(time.time())
                action = self.state.upstream_ready(now, paths, "in_sync", changed_at)
            else:
                return
        else:
            if body.get("mirror") != self.s.upstream_name:
                return
            if event == "tier1.sync.start":
                action = self.state.upstream_busy(now)
            elif event == "tier1.sync.complete" and body.get("status") == "ok":
                self._ready_came(time.time())
                action = self.state.upstream_ready(now, paths, "upstream_complete", changed_at)
            elif event == "tier1.sync.complete":
                action = self.state.upstream_failed(now)
            else:
                return
        log.info("%s %s (paths %s): %s", message.topic, body.get("sync_id") or "",
                 mpaths.to_body(paths) or "whole tree", self.state.history[-1])
        self._apply(action)

    def _apply(self, action: Action) -> None:
        if isinstance(action, Pull):
            self._pull_task = asyncio.ensure_future(self._pull(action))
        elif isinstance(action, Abort):
            self._kill(action.reason)

    def _kill(self, reason: str) -> None:
        if self._proc is not None and self._proc.returncode is None:
            log.warning("aborting the running pull: %s", reason)
            self._aborted = True
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()

    # -- one pull ------------------------------------------------------------------------

    def _body(self, pull: Pull, sync_id: str, started: float) -> dict[str, Any]:
        body: dict[str, Any] = {
            "mirror": self.s.name, "volume": self.s.volume, "upstream": self.s.upstream,
            "sync_id": sync_id, "paths": mpaths.to_body(pull.paths), "reason": pull.reason,
            "started_at": iso(started),
        }
        if self.s.upstream_name:
            body["upstream_name"] = self.s.upstream_name
        if pull.changed_at:
            body["changed_at"] = pull.changed_at
        return body

    def _send(self, event: str, body: dict[str, Any]) -> None:
        topic = f"{self.prefix}.mirror.{self.s.mode}.sync.{event}"
        try:
            self._publish(new_message(topic, body))
        except Exception as exc:  # the spool is full or unwritable: the pull goes on
            log.error("cannot publish %s: %s", topic, exc)

    async def _pull(self, pull: Pull) -> None:
        self._seq += 1
        started = time.time()
        self.last_start, self.syncing = started, True
        sync_id = f"{self.s.name}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{self._seq}"
        body = self._body(pull, sync_id, started)
        self._send("start", body)
        self.s.tree.mkdir(parents=True, exist_ok=True)
        argv, stdin = rsync.command(self.s.upstream, self.s.tree, pull.paths,
                                    timeout=self.s.rsync_timeout, extra=self.s.rsync_args)
        log.info("pull %s (%s) of %s: %s", sync_id, pull.reason,
                 mpaths.to_body(pull.paths) or "whole tree", " ".join(argv))
        self._aborted = False
        error: str | None = None
        out = b""
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, preexec_fn=_die_with_parent,
            )
            out, err = await self._proc.communicate(stdin)
            code = self._proc.returncode or 0
            if code not in (0, 24):
                error = rsync.describe_exit(code, err.decode("utf-8", "replace"))
        except OSError as exc:
            error = f"cannot run rsync: {exc}"
        finally:
            self._proc = None
        aborted = self._aborted
        if aborted:
            error = "aborted: upstream started changing"
        stats = rsync.parse_stats(out.decode("utf-8", "replace"))
        finished = time.time()
        self.pulls += 1
        self.syncing = False
        self.last_completion = finished
        self.bytes_moved += stats.bytes
        self.files_moved += stats.files
        self.syncs["aborted" if aborted else "failed" if error else "ok"] += 1
        if error is None:
            self.last_success = finished
            # caught up with every ready message that came before this pull started
            self._behind = [t for t in self._behind if t > started]
        self._send("complete", {
            **body, "finished_at": iso(finished), "status": "failed" if error else "ok",
            "error": error, "duration_seconds": round(finished - started, 3),
            "bytes": stats.bytes, "files": stats.files,
        })
        log.log(logging.WARNING if error else logging.INFO,
                "pull %s %s in %.2fs: %d files, %d bytes%s", sync_id,
                "failed" if error else "ok", finished - started, stats.files, stats.bytes,
                f": {error}" if error else "")
        if not self._stop.is_set():
            self._apply(self.state.pull_done(time.monotonic(), error is None, aborted))

    # -- master: watch the tree ----------------------------------------------------------

    async def _watch_loop(self) -> None:
        watch = Watch(quiet=self.s.quiet_period)
        if self.s.announce_on_start:
            self._announce("in_sync", None, time.time())
        while not self._stop.is_set():
            snap = await asyncio.to_thread(scan, self.s.tree)
            event = watch.observe(snap, time.time())
            if event is not None:
                self._announce(event.kind, event.paths, event.changed_at)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.s.scan_interval)

    def _announce(self, kind: str, paths: mpaths.Paths, changed_at: float) -> None:
        topic = f"{self.prefix}.netapp.snapmirror.{kind}"
        body = {"volume": self.s.volume, "paths": mpaths.to_body(paths), "source": "master",
                "host": self.s.name, "changed_at": iso(changed_at), "timestamp": iso()}
        self._publish(new_message(topic, body))
        self.announcements[kind] = self.announcements.get(kind, 0) + 1
        log.info("%s %s: %s", kind, self.s.volume, mpaths.to_body(paths) or "whole tree")


async def serve(agent: Agent) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.stop)
    await agent.run()
