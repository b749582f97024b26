"""The Koji wedge, loaded and fired through koji's own plugin machinery.

The plugin directory holds the same one-line shim the role installs in
``/usr/lib/koji-hub-plugins``; it is loaded with :class:`koji.plugin.PluginTracker` and its
callbacks registered exactly as the hub's ``HandlerRegistry.register_plugin`` does; a hub
call is simulated as the hub runs it: callbacks during the call, then commit and
``postCommit`` — or a rollback (no ``postCommit``) — then ``context._threadclear()``.
"""

from __future__ import annotations

import copy
import site
from collections.abc import Iterator
from typing import Any

import koji
import koji.plugin
import pytest
from koji.context import context
from support.wedge_lab import bind_queue, drain, relay_all, spooled

from fedbus.wedges import koji_plugin

pytestmark = pytest.mark.integration

BUILD: dict[str, Any] = {
    "id": 2601234, "build_id": 2601234, "package_id": 40123, "package_name": "python-fedbus",
    "name": "python-fedbus", "version": "0.1.0", "release": "1.fc43", "epoch": None,
    "nvr": "python-fedbus-0.1.0-1.fc43", "state": 1, "task_id": 130001234,
    "owner_id": 3001, "owner_name": "alice", "volume_id": 0, "volume_name": "DEFAULT",
    "creation_event_id": 99000001, "creation_time": "2026-11-30 03:00:00.123456+00:00",
    "creation_ts": 1795928400.123456, "start_time": "2026-11-30 02:40:00+00:00",
    "start_ts": 1795927200.0, "completion_time": "2026-11-30 03:00:00.123456+00:00",
    "completion_ts": 1795928400.123456,
    "source": "git+https://src.fedoraproject.org/rpms/python-fedbus.git#0f1e2d3c",
    "extra": {"source": {"original_url": "git+https://src.fedoraproject.org/rpms/x"}},
    "cg_id": None, "cg_name": None, "draft": False, "promoter_id": None,
    "promoter_name": None, "promotion_time": None, "promotion_ts": None,
}
TAG: dict[str, Any] = {"id": 6401, "name": "f43-updates-candidate", "arches": "",
                       "locked": False, "maven_support": False, "perm": None, "perm_id": None}
USER: dict[str, Any] = {"id": 3002, "name": "bodhi", "status": 0, "usertype": 0,
                        "krb_principals": ["bodhi/bodhi01@FEDORAPROJECT.ORG"]}
TASK: dict[str, Any] = {  # a scratch build: the only tasks Fedora's plugin publishes
    "id": 130001235, "method": "build", "state": 2, "arch": "noarch",
    "channel_id": 1, "host_id": 512, "owner": 3001, "parent": None, "label": None,
    "priority": 50, "weight": 0.2, "waiting": False, "awaited": None,
    "create_time": "2026-11-30 02:41:00+00:00", "create_ts": 1795927260.0,
    "start_time": "2026-11-30 02:42:00+00:00", "start_ts": 1795927320.0,
    "completion_time": "2026-11-30 02:59:00+00:00", "completion_ts": 1795928340.0,
    "request": ["git+https://src.fedoraproject.org/rpms/python-fedbus.git#0f1e2d3c",
                "rawhide", {"scratch": True}],
}
RPM: dict[str, Any] = {"id": 34707522, "build_id": 2601234, "name": "python3-fedbus",
                       "version": "0.1.0", "release": "1.fc43", "epoch": None,
                       "arch": "noarch", "buildtime": 1795928000, "size": 12345,
                       "payloadhash": "e76ed0ffd639ab9c6c5bf83b936f3f4a", "extra": None,
                       "external_repo_id": 0, "external_repo_name": "INTERNAL",
                       "metadata_only": False, "buildroot_id": 43372466}
REPO: dict[str, Any] = {"id": 7770001, "state": 1, "create_event": 99000002,
                        "creation_time": "2026-11-30 03:01:00+00:00", "tag_id": 6401,
                        "tag_name": "f43-build", "dist": False, "task_id": 130001300}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("koji")
    plugins = root / "koji-hub-plugins"
    plugins.mkdir()
    (plugins / "fedbus.py").write_text(  # what roles/wedges installs
        "import sys\n"
        f"sys.path.insert(0, {site.getsitepackages()[0]!r})\n"
        "from fedbus.wedges.koji_plugin import *  # noqa: F403\n")
    spool = root / "spool"
    (root / "fedbus.toml").write_text(f'[relay]\nspool_dir = "{spool}"\nfsync = false\n')
    (root / "fedbus.conf").write_text(
        f"[fedbus]\nconfig = {root / 'fedbus.toml'}\ninstance = primary\n"
        "weburl = https://koji.example.org/koji\ntopurl = https://kojipkgs.example.org\n"
        "notifier_url = https://notifications.example.org\n")
    mp = pytest.MonkeyPatch()
    mp.setenv(koji_plugin.CONF_ENV, str(root / "fedbus.conf"))
    koji_plugin.settings.cache_clear()
    koji_plugin.target.cache_clear()
    tracker = koji.plugin.PluginTracker(path=str(plugins))
    module = tracker.load("fedbus")
    registered = []
    for v in vars(module).values():  # kojixmlrpc.HandlerRegistry.register_plugin
        if isinstance(v, type):
            continue
        if callable(v) and getattr(v, "callbacks", None):
            for cbtype in v.callbacks:
                koji.plugin.register_callback(cbtype, v)
                registered.append((cbtype, v))
    module.spool = spool
    yield module
    for cbtype, func in registered:
        koji.plugin.callbacks[cbtype].remove(func)
    mp.undo()
    koji_plugin.settings.cache_clear()
    koji_plugin.target.cache_clear()


def hub_call(*events: tuple[str, dict[str, Any]], commit: bool = True) -> None:
    """One hub call: its callbacks, then commit + postCommit (or a rollback)."""
    context._threadclear()
    try:
        for cbtype, kws in events:
            koji.plugin.run_callbacks(cbtype, **copy.deepcopy(kws))
        if commit:
            koji.plugin.run_callbacks("preCommit")
            koji.plugin.run_callbacks("postCommit")
    finally:
        context._threadclear()


def test_plugin_registers_through_koji(plugin):
    """Fedora's plugin's callbacks: every post* one but postImport (and postCommit, which
    sends)."""
    queueing = {cb for cb, funcs in koji.plugin.callbacks.items()
                if any(f.__name__ == "fedbus_queue_message" for f in funcs)}
    assert queueing == {cb for cb in koji.plugin.callbacks
                        if cb.startswith("post") and cb not in ("postImport", "postCommit")}
    assert "postTaskStateChange" in queueing and "postRPMSign" in queueing
    assert [f.__name__ for f in koji.plugin.callbacks["postCommit"]] == ["fedbus_post_commit"]


def test_every_event_after_commit_reaches_the_broker(plugin, broker, vhost):
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    state = {"attribute": "state", "old": 0, "new": 1, "info": BUILD}
    tagged = {"tag": TAG, "build": BUILD, "user": USER, "force": False}
    hub_call(("postBuildStateChange", state),
             ("postTag", tagged), ("postUntag", {**tagged, "strict": True}),
             ("postTaskStateChange", {"attribute": "state", "old": "OPEN",
                                      "new": "CLOSED", "info": TASK}),
             ("postRepoInit", {"tag": TAG, "with_src": False, "with_debuginfo": False,
                               "event": 99000002, "repo_id": 7770001, "task_id": 1}),
             ("postRepoDone", {"repo": REPO, "data": {}, "expire": False}),
             ("postPackageListChange", {"action": "add", "tag": TAG,
                                        "package": {"id": 40123, "name": "python-fedbus"},
                                        "owner": "alice", "block": False,
                                        "extra_arches": "", "force": False, "update": False,
                                        "user": USER}),
             ("postRPMSign", {"sigkey": "18b8e74c", "sighash": "e755", "build": BUILD,
                              "rpm": RPM}),
             ("postBuildPromote", {"build": BUILD, "user": USER}))
    relay_all(plugin.spool, url)
    got = {a.topic.removeprefix("org.fedoraproject.local."): a for a in drain(url, queue, 9)}
    assert sorted(got) == sorted([
        "buildsys.build.state.change", "buildsys.tag", "buildsys.untag",
        "buildsys.task.state.change", "buildsys.repo.init", "buildsys.repo.done",
        "buildsys.package.list.change", "buildsys.rpm.sign", "buildsys.build.promote"])
    b = got["buildsys.build.state.change"]
    assert b.schema == "koji_fedoramessaging.build.BuildStateChangeV1"
    assert (b.body["name"], b.body["old"], b.body["new"], b.body["owner"]) == (
        "python-fedbus", 0, 1, "alice")
    assert b.body["notifications_url"] == (
        "https://notifications.example.org/settings/packages/python-fedbus")
    assert b.body["url"] == "https://koji.example.org/koji/buildinfo?buildID=2601234"
    assert b.headers["fedora_messaging_rpm_python-fedbus"] is True
    assert b.headers["fedora_messaging_user_alice"] is True
    t = got["buildsys.tag"]
    assert t.schema == "koji_fedoramessaging.tag.TagV1"
    assert t.message.summary == (
        "python-fedbus-0.1.0-1.fc43 was tagged into f43-updates-candidate by bodhi")
    assert {"fedora_messaging_user_bodhi", "fedora_messaging_user_alice",
            "fedora_messaging_rpm_python-fedbus"} <= set(t.headers)
    assert got["buildsys.untag"].schema == "koji_fedoramessaging.tag.UntagV1"
    task = got["buildsys.task.state.change"].body
    assert (task["old"], task["new"], task["method"]) == ("OPEN", "CLOSED", "build")
    assert task["info"]["url"] == "https://koji.example.org/koji/taskinfo?taskID=130001235"
    assert got["buildsys.task.state.change"].message.summary == (
        "Task CLOSED -- build (python-fedbus.git#0f1e2d3c noarch)")
    assert got["buildsys.repo.init"].body["tag"] == "f43-updates-candidate"
    assert got["buildsys.repo.done"].body == {"tag": "f43-build", "tag_id": 6401,
                                              "repo_id": 7770001, "instance": "primary",
                                              "base_url": "https://koji.example.org"}
    sign = got["buildsys.rpm.sign"]
    assert sign.schema == "koji_fedoramessaging.rpm.SignV1"
    assert sign.message.summary == "rpm python3-fedbus-0.1.0-1.fc43 was signed"
    promote = got["buildsys.build.promote"]
    assert promote.body == {"base_url": "https://koji.example.org", "instance": "primary"}
    pkg = got["buildsys.package.list.change"]
    assert pkg.body["action"] == "add" and pkg.headers["fedora_messaging_rpm_python-fedbus"]


def test_nothing_before_commit_and_nothing_on_rollback(plugin):
    before = spooled(plugin.spool)
    state = {"attribute": "state", "old": 0, "new": 3, "info": BUILD}
    context._threadclear()
    koji.plugin.run_callbacks("postBuildStateChange", **copy.deepcopy(state))
    assert spooled(plugin.spool) == before  # queued, not sent, until postCommit
    context._threadclear()  # the call failed: rollback, no postCommit
    hub_call(("postBuildStateChange", state), commit=False)
    assert spooled(plugin.spool) == before
    hub_call(("postBuildStateChange", state))
    assert spooled(plugin.spool) == before + 1


def test_bad_callback_arguments_never_fail_the_hub_call(plugin, caplog):
    before = spooled(plugin.spool)
    broken = {**BUILD, "version": 5}  # not a string: the schema refuses it
    hub_call(("postBuildStateChange", {"attribute": "state", "old": 0, "new": 1,
                                       "info": broken}),
             ("postTag", {"tag": "not a dict", "build": BUILD, "user": USER}))
    assert spooled(plugin.spool) == before
    assert "BuildStateChangeV1 dropped" in caplog.text
    assert "cannot queue postTag message" in caplog.text
