"""Service wedges: adapters at each service's own extension point that put its events on
the bus through the local relay (:func:`fedbus.relay.publish`).

Every wedge follows the same rules (:mod:`fedbus.wedges.base`): it builds messages of the
service's schema (Fedora's published schema package where there is one), hands them to the
local spool (no network; returns at once, broker up or down), and never raises into its
service: failures are logged as one line and reported with the service's expected exit code.

- :mod:`~fedbus.wedges.git_hook` — git ``post-receive`` hook (``git.receive``)
- :mod:`~fedbus.wedges.koji_plugin` — Koji hub plugin (``buildsys.*``), on postCommit
- :mod:`~fedbus.wedges.pungi` — Pungi ``notification_script`` (``pungi.compose.*``)
- :mod:`~fedbus.wedges.hooks` — Python hook API (publish after the DB commit)
- :mod:`~fedbus.wedges.webhook` — authenticated JSON webhook endpoint (Bodhi, PkgDB, FAS,
  AutoQA, Bugzilla)
- :mod:`~fedbus.wedges.zabbix` — Zabbix alert script (``zabbix.*``)
"""
