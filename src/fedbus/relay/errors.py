"""Errors of the local spool.  One line each."""

from __future__ import annotations

from fedbus.errors import FedbusError


class SpoolError(FedbusError):
    """The spool cannot be opened or written (permissions, disk, corruption)."""


class SpoolFull(SpoolError):
    """The spool reached its ``max_messages`` / ``max_bytes`` bound; the message was not taken."""
