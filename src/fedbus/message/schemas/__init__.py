"""Message schemas: one :class:`FedbusMessage` subclass per message type.

Each module holds the schemas of one category (``bus.py`` for the broker itself; wedges add
``buildsys.py``, ``git.py``, … in later issues).  A schema class is registered under its name in
the ``fedora.messages`` entry point group of ``pyproject.toml`` (``fedbus.<category>.<…>.v<N>``),
which is how fedora-messaging (and :mod:`fedbus.message.catalog`) find it.  A published schema is
never edited: a change is a new class with a new name (``…V2``, ``….v2``).
"""

from fedbus.message.schemas.base import FedbusMessage

__all__ = ["FedbusMessage"]
