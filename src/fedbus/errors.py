"""Exceptions a user can hit.  Each renders as one clear line (``str(exc)``)."""


class FedbusError(Exception):
    """Base class: the CLI prints ``fedbus: error: <str(exc)>`` and exits 1."""


class ConfigError(FedbusError):
    """A bad or missing configuration value; the message names the key."""


class ValidationError(FedbusError):
    """A topic or a message body that does not satisfy the naming scheme or its schema."""


class PublishError(FedbusError):
    """A message the broker did not accept."""
