"""fedbus: the Fedora infrastructure message bus.

Data flows one way: wedge -> relay -> broker -> consumers.  Subpackages follow
that order: ``message`` (model and catalog), ``relay`` (local durable spool),
``client`` (confirmed publishing, consuming), ``notifier``, ``wedges``, ``mirror``
and ``cli``.
"""

__version__ = "0.1.0"
