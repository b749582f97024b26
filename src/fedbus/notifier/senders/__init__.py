"""Senders, one per destination type: :mod:`.email` (SMTP), :mod:`.irc` (RFC 1459 client);
:mod:`.service` runs one on its outbound queue with the idempotency ledger."""
