"""Triggered mirroring: agents that pull over rsync when the bus says their upstream changed.

- :mod:`.paths` — changed-path sets (``None`` = the whole tree), their union and collapse;
- :mod:`.state` — the pure per-agent state machine (hold, pull, coalesce, retry, periodic);
- :mod:`.rsync` — the rsync command line of a pull and its ``--stats`` parser;
- :mod:`.watch` — a master's tree watch (periodic scan + quiet period → out_of_sync/in_sync);
- :mod:`.settings` — ``/etc/fedbus/mirror.toml``;
- :mod:`.agent` — the asyncio service that glues them to the consumer and the relay.

See docs/mirroring.md.
"""
