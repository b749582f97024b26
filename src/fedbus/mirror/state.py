"""The state machine of one mirror agent, without I/O: events in, at most one action out.

The agent feeds it what happens — its upstream started changing (``upstream_busy``), is
consistent again with these paths (``upstream_ready``), a pull of ours finished
(``pull_done``), time passed (``tick``) — and performs the :class:`Action` it returns:

- :class:`Pull` — start an rsync of these paths (``None``: the whole tree);
- :class:`Abort` — kill the running pull: the upstream started changing under it (its paths
  go back to the pending set and are pulled once the upstream is ready again).  Only with
  ``abort_on_change``, and at most ``max_aborts`` times in a row: a tree that changes more
  often than a pull lasts must not starve the mirror.  By default a running pull finishes
  (``--delay-updates`` keeps each file whole) and the changes seen meanwhile make ONE
  follow-up pull.

Rules: at most one pull at a time; no pull while the upstream is busy (a busy state older
than ``hold_timeout`` is forgotten: a lost "ready" must not freeze the mirror); what arrives
during a pull is merged into one pending set and pulled by ONE follow-up pull; a failed pull
is retried with a backoff; a full pull every ``full_interval`` seconds is the safety net;
the first pull after start is a full one (catch-up after a restart).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fedbus.mirror.paths import Paths, union


@dataclass(frozen=True)
class Pull:
    paths: Paths
    reason: str
    changed_at: str | None = None


@dataclass(frozen=True)
class Abort:
    reason: str


Action = Pull | Abort | None


@dataclass
class MirrorState:
    """One agent's state; ``now`` values are monotonic seconds."""

    full_interval: float = 3600.0
    hold_timeout: float = 3600.0
    retry_initial: float = 5.0
    retry_max: float = 300.0
    abort_on_change: bool = False
    max_aborts: int = 3
    aborts: int = 0
    upstream_busy_since: float | None = None
    pulling: Pull | None = None
    pending: Pull | None = None
    next_full: float = 0.0
    retry_at: float = 0.0
    failures: int = 0
    history: list[str] = field(default_factory=list)  # for logs and tests

    @classmethod
    def starting(cls, now: float, **kw: float | bool) -> MirrorState:
        """A fresh agent: a full catch-up pull is pending."""
        state = cls(**kw)  # type: ignore[arg-type]
        state.pending = Pull(None, "startup")
        state.next_full = now + state.full_interval
        return state

    # -- events ------------------------------------------------------------------------

    def upstream_busy(self, now: float) -> Action:
        if self.upstream_busy_since is None:
            self.upstream_busy_since = now
        self.history.append("busy")
        if self.pulling is not None and self.abort_on_change and self.aborts < self.max_aborts:
            self.aborts += 1
            return Abort("upstream started changing")
        return None

    def upstream_ready(
        self, now: float, paths: Paths, reason: str, changed_at: str | None = None
    ) -> Action:
        self.upstream_busy_since = None
        self.history.append("ready")
        self._merge(Pull(paths, reason, changed_at))
        return self.next_action(now)

    def upstream_failed(self, now: float) -> Action:
        """The upstream's own pull failed: it is no longer changing, but nothing new is
        guaranteed there; pending work (if any) may go on."""
        self.upstream_busy_since = None
        return self.next_action(now)

    def pull_done(self, now: float, ok: bool, aborted: bool = False) -> Action:
        done, self.pulling = self.pulling, None
        if done is None:
            return self.next_action(now)
        if ok:
            self.failures = self.aborts = 0
            if done.paths is None:
                self.next_full = now + self.full_interval
        else:
            # Pull it again: with what arrived meanwhile, after a backoff unless aborted.
            again = Pull(done.paths, "retry", done.changed_at)
            self._merge(again)
            if not aborted:
                self.failures += 1
                delay = min(self.retry_max, self.retry_initial * 2 ** (self.failures - 1))
                self.retry_at = now + delay
        return self.next_action(now)

    def tick(self, now: float) -> Action:
        if now >= self.next_full and not (self.pending and self.pending.paths is None):
            self._merge(Pull(None, "periodic"))
            self.next_full = now + self.full_interval
        return self.next_action(now)

    # -- the decision ------------------------------------------------------------------

    def holding(self, now: float) -> bool:
        if self.upstream_busy_since is None:
            return False
        if now - self.upstream_busy_since >= self.hold_timeout:
            self.upstream_busy_since = None
            return False
        return True

    def next_action(self, now: float) -> Action:
        if self.pulling is not None or self.pending is None:
            return None
        if self.holding(now) or now < self.retry_at:
            return None
        pull, self.pending = self.pending, None
        self.pulling = pull
        self.history.append(f"pull {pull.reason}")
        return pull

    def _merge(self, new: Pull) -> None:
        if self.pulling is not None and new.reason in ("in_sync", "upstream_complete"):
            new = Pull(new.paths, "follow_up", new.changed_at)
        old = self.pending
        if old is None:
            self.pending = new
            return
        # The wider pull names the reason (a whole-tree pull is "periodic"/"startup"/...).
        reason = new.reason if new.paths is None or old.paths is not None else old.reason
        # ISO 8601 UTC strings sort in time order: keep the oldest change (freshness).
        changed = min((c for c in (old.changed_at, new.changed_at) if c), default=None)
        self.pending = Pull(union(old.paths, new.paths), reason, changed)
        self.history.append(f"merge {reason}")
