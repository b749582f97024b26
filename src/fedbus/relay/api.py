"""The local publish API for wedges: validate, append to the spool, return.

>>> import fedbus
>>> fedbus.publish(message)                      # a fedora_messaging Message (validated)
>>> fedbus.publish(encoded, spool_dir="/x")      # an already encoded message

Nothing here talks to the network: ``publish`` costs one SQLite append (tens of µs) and
works the same whether the broker (or the relay) is up or not.  The relay forwards later.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from fedora_messaging.message import Message

from fedbus.message.envelope import Encoded, encode
from fedbus.relay.spool import DEFAULT_MAX_BYTES, DEFAULT_MAX_MESSAGES, Spool

DEFAULT_SPOOL_DIR = "/var/spool/fedbus/relay"  # the default relay.spool_dir of fedbus.toml
SPOOL_ENV = "FEDBUS_SPOOL"

_spools: dict[tuple[int, str, bool], Spool] = {}
_spools_lock = threading.Lock()


def default_spool_dir() -> str:
    """``$FEDBUS_SPOOL`` or ``/var/spool/fedbus/relay``."""
    return os.environ.get(SPOOL_ENV) or DEFAULT_SPOOL_DIR


def _spool(directory: str, fsync: bool, max_bytes: int, max_messages: int) -> Spool:
    # One open handle per process and spool (re-opened after fork: an SQLite handle must
    # not cross a fork).
    key = (os.getpid(), str(Path(directory).resolve()), fsync)
    with _spools_lock:
        spool = _spools.get(key)
        if spool is None:
            spool = Spool(directory, fsync=fsync, max_bytes=max_bytes, max_messages=max_messages)
            _spools[key] = spool
        else:
            spool.max_bytes, spool.max_messages = max_bytes, max_messages
    return spool


def publish(
    message: Message | Encoded,
    *,
    spool_dir: str | os.PathLike[str] | None = None,
    fsync: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_messages: int = DEFAULT_MAX_MESSAGES,
) -> int:
    """Validate ``message`` and hand it to the local relay; returns its spool id.

    Raises :class:`fedbus.errors.ValidationError` (bad topic or body) or
    :class:`fedbus.relay.SpoolFull` (the spool reached its bound).  Never blocks on the
    network.
    """
    encoded = message if isinstance(message, Encoded) else encode(message)
    spool = _spool(str(spool_dir or default_spool_dir()), fsync, max_bytes, max_messages)
    return spool.put(encoded.routing_key, encoded.body, encoded.properties.to_dict())
