"""The durable local spool: an SQLite database in WAL mode, shared by processes.

Writers (service wedges, ``fedbus publish``) append; one reader (``fedbus relay``) forwards
in ``id`` order and deletes what the broker confirmed.  SQLite serialises writers with its
own lock, so ``id`` (AUTOINCREMENT, never reused) is the commit order: each writer's messages
keep their order, and nothing is lost when any process is killed (SIGKILL) mid-write — a
transaction is either in the WAL or not.

Durability (``fsync``):

- ``fsync=False`` (default): ``synchronous=NORMAL``.  A committed message survives the crash
  of any process; an operating-system crash or power loss may lose the last few commits.
  An append costs tens of microseconds.
- ``fsync=True``: ``synchronous=FULL``.  Each append is fsynced before ``put`` returns
  (survives power loss; costs one disk flush, often milliseconds).

Writers never run WAL checkpoints (``wal_autocheckpoint`` is set high for them): the relay
checkpoints, so a wedge's ``put`` never pays for one.

Size is bounded (``max_messages``, ``max_bytes``); the bound and the insert are one
statement, so concurrent writers cannot overshoot it.  A full spool raises :class:`SpoolFull`.

Messages the broker refuses for good are *buried*: written to ``dead/<id>.json`` with the
reason, then deleted from the queue (see :meth:`Spool.bury`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedbus.relay.errors import SpoolError, SpoolFull

DB_NAME = "spool.sqlite3"
DEAD_DIR = "dead"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_MESSAGES = 1_000_000
BUSY_TIMEOUT_MS = 10_000
SHARED_MODE = 0o660  # the database files: the owner and the spool group, nobody else

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    routing_key TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    properties  TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    queued_at   REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (
    k     INTEGER PRIMARY KEY CHECK (k = 0),
    count INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (0, 0, 0);
CREATE TRIGGER IF NOT EXISTS messages_ins AFTER INSERT ON messages BEGIN
    UPDATE totals SET count = count + 1, bytes = bytes + NEW.size WHERE k = 0;
END;
CREATE TRIGGER IF NOT EXISTS messages_del AFTER DELETE ON messages BEGIN
    UPDATE totals SET count = count - 1, bytes = bytes - OLD.size WHERE k = 0;
END;
"""

# One statement: the bound check and the insert are atomic under SQLite's write lock.
_INSERT = """
INSERT INTO messages (routing_key, body, properties, size, queued_at)
SELECT ?, ?, ?, ?, ?
WHERE (SELECT count < ? AND bytes + ? <= ? FROM totals WHERE k = 0)
"""


@dataclass(frozen=True)
class SpooledMessage:
    """One message waiting in the spool."""

    id: int
    routing_key: str
    body: bytes
    properties: dict[str, Any]
    queued_at: float


@dataclass(frozen=True)
class SpoolStats:
    count: int
    bytes: int
    oldest_age: float  # seconds since the oldest waiting message was queued (0 if empty)
    dead: int


class Spool:
    """A handle on the spool in ``directory`` (created if missing).  Thread-safe."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        fsync: bool = False,
        reader: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_messages = max_messages
        self.fsync = fsync
        self.dead_dir = self.directory / DEAD_DIR
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._create_database_file()
            self._db = sqlite3.connect(
                self.directory / DB_NAME,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # autocommit: each statement is its own transaction
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._enable_wal()
            self._db.execute(f"PRAGMA synchronous = {'FULL' if fsync else 'NORMAL'}")
            # Writers leave checkpoints to the relay (the reader); 100k pages is a safety net.
            self._db.execute(f"PRAGMA wal_autocheckpoint = {1000 if reader else 100_000}")
            if not self._has_schema():
                self._db.executescript(_SCHEMA)
            self._share_files()
            if not reader:
                # SQLite's own busy handler sleeps 1 ms at least; a writer retries itself
                # after a few microseconds instead (see _retry): the relay's transactions
                # are short, and an append must not wait a millisecond for one.
                self._db.execute("PRAGMA busy_timeout = 0")
        except (OSError, sqlite3.Error) as exc:
            raise SpoolError(f"cannot open spool {self.directory}: {exc}") from exc

    def _create_database_file(self) -> None:
        """Create the database file with mode 0660 and the directory's group, whatever the
        umask: SQLite gives its -wal and -shm files the database file's mode and owners."""
        try:
            fd = os.open(self.directory / DB_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o660)
        except FileExistsError:
            return
        try:
            os.fchmod(fd, SHARED_MODE)
        finally:
            os.close(fd)

    def _share_files(self) -> None:
        """Give the database files mode 0660 and the directory's group, whoever created them.

        The services' users (git, apache, pungi …) write the spool through its group (the
        spool group, which owns the setgid directory); nobody else reads the messages.  Only
        a file's owner may change it: the others are left as they are.
        """
        group = self.directory.stat().st_gid
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            path = self.directory / name
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            if st.st_uid != os.geteuid():
                continue
            if st.st_gid != group:
                with contextlib.suppress(PermissionError):  # not a member of that group
                    os.chown(path, -1, group)
            if stat.S_IMODE(st.st_mode) != SHARED_MODE:
                path.chmod(SHARED_MODE)

    def _enable_wal(self) -> None:
        # Switching to WAL needs a moment alone with the file; several processes opening a
        # new spool at once may collide, so retry for a while (it is set once, for good).
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = self._db.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _has_schema(self) -> bool:
        row = self._db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_del'"
        ).fetchone()
        return bool(row[0])

    # -- writers -------------------------------------------------------------------------

    def put(self, routing_key: str, body: bytes, properties: dict[str, Any]) -> int:
        """Append one message; returns its spool id.  Raises :class:`SpoolFull`."""
        props = json.dumps(properties, separators=(",", ":"))
        size = len(body) + len(props) + len(routing_key)
        args = (routing_key, body, props, size, time.time(),
                self.max_messages, size, self.max_bytes)
        with self._lock:
            try:
                cur = self._retry(_INSERT, args)
            except sqlite3.Error as exc:
                raise SpoolError(f"cannot write to spool {self.directory}: {exc}") from exc
        if cur.rowcount != 1:
            stats = self.totals()
            raise SpoolFull(
                f"spool {self.directory} is full ({stats[0]} messages, {stats[1]} bytes; "
                f"limits {self.max_messages} messages, {self.max_bytes} bytes): "
                "is `fedbus relay` running and the broker reachable?"
            )
        return int(cur.lastrowid or 0)

    def _retry(self, sql: str, args: tuple[Any, ...] | list[Any]) -> sqlite3.Cursor:
        """Execute, retrying while another process holds the write lock (up to the busy
        timeout), with sleeps from 20 µs doubling to 2 ms."""
        delay, deadline = 0.00002, time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                return self._db.execute(sql, args)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.002)

    # -- the relay -----------------------------------------------------------------------

    def peek(self, after_id: int = 0, limit: int = 1000) -> list[SpooledMessage]:
        """Up to ``limit`` waiting messages with ``id > after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, routing_key, body, properties, queued_at FROM messages "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [
            SpooledMessage(int(r[0]), str(r[1]), bytes(r[2]), json.loads(r[3]), float(r[4]))
            for r in rows
        ]

    def delete(self, ids: Iterable[int]) -> None:
        """Forget messages (the broker confirmed them)."""
        batch = sorted(set(ids))
        with self._lock:
            self._retry("BEGIN IMMEDIATE", ())
            try:
                for start in range(0, len(batch), 500):
                    chunk = batch[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    self._db.execute(f"DELETE FROM messages WHERE id IN ({marks})", chunk)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def bury(self, message: SpooledMessage, reason: str) -> Path:
        """Move a message the broker refused for good to ``dead/<id>.json`` with the reason.

        The file is written (atomically, fsynced) before the row is deleted: a crash in
        between leaves both, and burying again rewrites the same file.
        """
        self.dead_dir.mkdir(exist_ok=True)
        path = self.dead_dir / f"{message.id:012d}.json"
        try:
            body: dict[str, str] = {"body": message.body.decode("utf-8")}
        except UnicodeDecodeError:
            body = {"body_base64": base64.b64encode(message.body).decode()}
        record = {
            "reason": reason,
            "failed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "queued_at": message.queued_at,
            "routing_key": message.routing_key,
            "properties": message.properties,
            **body,
        }
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self.delete([message.id])
        return path

    def dead(self) -> list[Path]:
        """The buried messages, oldest first."""
        if not self.dead_dir.is_dir():
            return []
        return sorted(self.dead_dir.glob("*.json"))

    def requeue_dead(self, paths: Sequence[Path] | None = None) -> int:
        """Put buried messages back in the queue (after fixing the cause); returns how many."""
        count = 0
        for path in self.dead() if paths is None else paths:
            record = json.loads(path.read_text(encoding="utf-8"))
            body = (
                record["body"].encode("utf-8")
                if "body" in record
                else base64.b64decode(record["body_base64"])
            )
            self.put(record["routing_key"], body, record["properties"])
            path.unlink()
            count += 1
        return count

    def totals(self) -> tuple[int, int]:
        """(messages, bytes) waiting."""
        with self._lock:
            row = self._db.execute("SELECT count, bytes FROM totals WHERE k = 0").fetchone()
        return int(row[0]), int(row[1])

    def stats(self) -> SpoolStats:
        count, size = self.totals()
        with self._lock:
            row = self._db.execute("SELECT min(queued_at) FROM messages").fetchone()
        age = max(0.0, time.time() - row[0]) if row and row[0] is not None else 0.0
        return SpoolStats(count, size, age, len(self.dead()))

    def checkpoint(self, truncate: bool = False) -> None:
        """Fold the WAL back into the database (the relay calls this; writers never do)."""
        mode = "TRUNCATE" if truncate else "PASSIVE"
        with self._lock:
            self._db.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
