"""The local relay: a durable spool on each service host, and the process that drains it.

- :func:`publish` — for wedges: validate a message and append it to the spool (no network);
- :class:`Spool` — the spool itself (SQLite, WAL; safe across processes);
- :class:`Relay` — forwards the spool to the broker in order, with confirms.
"""

from fedbus.relay.api import default_spool_dir, publish
from fedbus.relay.errors import SpoolError, SpoolFull
from fedbus.relay.spool import Spool, SpooledMessage, SpoolStats

__all__ = [
    "Spool",
    "SpoolError",
    "SpoolFull",
    "SpoolStats",
    "SpooledMessage",
    "default_spool_dir",
    "publish",
]
