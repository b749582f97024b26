"""fedbus: the Fedora infrastructure message bus.

Data flows one way: wedge -> relay -> broker -> consumers.  Subpackages follow
that order: ``message`` (model and catalog), ``relay`` (local durable spool),
``client`` (confirmed publishing, consuming), ``notifier``, ``wedges``, ``mirror``
and ``cli``.
"""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ``fedbus.publish``: the wedges' entry point (see fedbus.relay.api), imported lazily so
    # that ``import fedbus`` stays cheap.
    if name == "publish":
        from fedbus.relay.api import publish

        return publish
    raise AttributeError(f"module 'fedbus' has no attribute {name!r}")
