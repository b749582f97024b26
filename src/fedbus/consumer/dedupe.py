"""Remember which message ids were processed, to process each message once.

The broker delivers at least once (a relay resends what it is not sure the broker got; a
consumer that dies before its ack gets the message again).  :class:`Deduplicator` keeps
the ids of the last ``capacity`` processed messages in memory (LRU) and, with ``path``, in
SQLite so that a restart remembers them.  The consumer marks an id only after the handler
succeeded and before the ack: a crash between handler and mark runs the handler again (the
handler's own effects must then be idempotent); a crash between mark and ack does not.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path


class Deduplicator:
    """Bounded set of processed message ids (LRU), optionally persistent."""

    def __init__(self, capacity: int = 100_000, path: str | os.PathLike[str] | None = None):
        self.capacity = capacity
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._adds = 0
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seen "
                "(seq INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT UNIQUE NOT NULL)"
            )
            rows = self._db.execute(
                "SELECT message_id FROM seen ORDER BY seq DESC LIMIT ?", (capacity,)
            ).fetchall()
            for (mid,) in reversed(rows):
                self._recent[mid] = None

    def seen(self, message_id: str) -> bool:
        """True if ``message_id`` was marked (recently enough to be remembered)."""
        with self._lock:
            if message_id in self._recent:
                self._recent.move_to_end(message_id)
                return True
        return False

    def add(self, message_id: str) -> None:
        """Mark ``message_id`` as processed."""
        with self._lock:
            self._recent[message_id] = None
            self._recent.move_to_end(message_id)
            while len(self._recent) > self.capacity:
                self._recent.popitem(last=False)
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO seen (message_id) VALUES (?)", (message_id,)
                )
                self._adds += 1
                if self._adds % 1000 == 0:
                    self._db.execute(
                        "DELETE FROM seen WHERE seq <= (SELECT max(seq) FROM seen) - ?",
                        (self.capacity,),
                    )

    def __len__(self) -> int:
        return len(self._recent)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
