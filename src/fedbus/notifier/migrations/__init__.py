"""Alembic migrations of the notifier database; run them with ``fedbus notifier migrate``
(:func:`fedbus.notifier.migrate.upgrade`)."""
