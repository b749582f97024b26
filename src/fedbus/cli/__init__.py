"""The ``fedbus`` command line."""
