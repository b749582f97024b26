"""The message model: topic names, the bytes on the wire, the schemas and their catalog.

- :mod:`fedbus.message.topic` — topic names (``org.fedoraproject.<env>.<category>…<event>``);
- :mod:`fedbus.message.envelope` — encode/decode, byte-compatible with fedora-messaging;
- :mod:`fedbus_messages` (the ``fedbus-messages`` distribution, ``src/fedbus-messages``) — one
  :class:`fedora_messaging.message.Message` subclass per schema, registered through the
  ``fedora.messages`` entry point group;
- :mod:`fedbus.message.catalog` — the one catalog of schemas (the docs are generated from it).
"""
