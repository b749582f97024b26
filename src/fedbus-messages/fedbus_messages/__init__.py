"""fedbus's own message schemas: one :class:`FedbusMessage` subclass per message type.

This is the ``fedbus-messages`` distribution (``src/fedbus-messages`` in the fedbus
repository): the schemas alone, depending on fedora-messaging only, so that a consumer can
decode fedbus's messages without installing fedbus.  Each module holds the schemas of one
category (``bus.py`` for the broker itself and the canary, ``mirror.py``, ``netapp.py``,
``compose.py``, ``zabbix.py``, ``pkgdb.py``, ``autoqa.py``).  A schema class is registered under
its name in the ``fedora.messages`` entry point group of this distribution's
``pyproject.toml`` (``fedbus.<category>.<…>.v<N>``), which is how fedora-messaging (and
fedbus's catalog, ``fedbus.message.catalog``) find it.  A published schema is never edited: a
change is a new class with a new name (``…V2``, ``….v2``).
"""

from fedbus_messages.base import FedbusMessage

__all__ = ["FedbusMessage"]
