"""The Koji plugin against koji-fedoramessaging's own test fixtures (golden tests).

The callback arguments and the expected messages are upstream's
(:mod:`koji_upstream_data`, transcribed from fedora-infra/koji-fedoramessaging's tests/);
the hub around them is mocked as upstream mocks it: ``kojihub.get_host`` names every host
``builder.example.com``, ``kojihub.get_user`` every user ``dummy-user``, tasks have no
children and no result, kojiweb's ``KojiFilesURL`` is ``http://files.example.com/``, and
the request's WSGI environment is upstream's.  Every argument set goes through Koji's own
machinery: the plugin's callbacks are registered with :func:`koji.plugin.register_callback`
(as the hub's ``register_plugin`` does) and fired with :func:`koji.plugin.run_callbacks`.
"""

from __future__ import annotations

import copy
import logging
import sys
from collections.abc import Iterator
from configparser import ConfigParser
from typing import Any
from unittest import mock

import koji
import koji.plugin
import koji_upstream_data as up
import pytest
from fedora_messaging import message as fm
from koji.context import context
from koji_fedoramessaging_messages.build import BuildStateChangeV1

from fedbus.wedges import koji_plugin
from fedbus.wedges.base import Sink, build

SINK = Sink(topic_prefix="org.fedoraproject.stg")
FILES_URL = "http://files.example.com/"
PROPERTIES = ("summary", "__str__", "url", "usernames", "packages", "agent_name")


@pytest.fixture
def hub() -> Iterator[mock.Mock]:
    """A mocked ``kojihub`` module, as upstream's tests/conftest.py describes it."""
    mod = mock.Mock(name="kojihub")
    mod.get_host.return_value = {"name": "builder.example.com"}
    mod.get_user.return_value = {"name": "dummy-user"}
    mod.children = {}  # task id -> sub-task infos
    mod.results = {}  # task id -> result
    mod.task_info = {}  # what Task(id).getInfo() returns

    def task(task_id: int) -> mock.Mock:
        t = mock.Mock(name=f"task {task_id}")
        t.id = task_id
        t.getChildren.side_effect = lambda: copy.deepcopy(mod.children.get(task_id, []))
        t.getResult.side_effect = lambda: mod.results.get(task_id)
        t.getInfo.side_effect = lambda **_: copy.deepcopy(mod.task_info)
        return t

    mod.Task.side_effect = task
    web = ConfigParser()
    web.read_dict({"web": {"KojiFilesURL": FILES_URL}})
    with mock.patch.dict(sys.modules, {"kojihub": mod}), \
            mock.patch("koji.read_config_files", return_value=web):
        yield mod


@pytest.fixture(autouse=True)
def plugin(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
           caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    monkeypatch.setenv(koji_plugin.CONF_ENV, str(tmp_path / "absent.conf"))  # defaults
    koji_plugin.settings.cache_clear()
    registered = []
    for value in vars(koji_plugin).values():  # kojixmlrpc.HandlerRegistry.register_plugin
        if not isinstance(value, type) and callable(value) and getattr(value, "callbacks",
                                                                       None):
            for cbtype in value.callbacks:
                koji.plugin.register_callback(cbtype, value)
                registered.append((cbtype, value))
    context._threadclear()
    context.environ = dict(up.ENVIRON)
    caplog.set_level(logging.WARNING, "koji.plugin")
    yield
    for cbtype, func in registered:
        koji.plugin.callbacks[cbtype].remove(func)
    context._threadclear()
    koji_plugin.settings.cache_clear()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def fire(cbtype: str, kws: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Run ``cbtype`` through koji's machinery; what the plugin queued for postCommit."""
    koji.plugin.run_callbacks(cbtype, **copy.deepcopy(kws))
    return list(getattr(context, koji_plugin.QUEUE_ATTR, None) or [])


def props(message: fm.Message) -> dict[str, Any]:
    got = {}
    for name in PROPERTIES:
        try:
            got[name] = str(message) if name == "__str__" else getattr(message, name)
        except Exception as exc:  # equal when both raise the same way
            got[name] = ("raises", type(exc).__name__)
    return got


def assert_as_upstream(queued: list[tuple[str, dict[str, Any]]], topic: str,
                       expected: dict[str, Any]) -> fm.Message:
    assert len(queued) == 1
    got_topic, body = queued[0]
    assert (got_topic, body) == (topic, expected)
    schema = koji_plugin.schema_for(topic)
    ours = schema(topic=f"org.fedoraproject.stg.buildsys.{topic}", body=body)
    theirs = schema(topic=f"org.fedoraproject.stg.buildsys.{topic}", body=expected)
    assert props(ours) == props(theirs)
    return ours


# -- the golden cases, one per upstream fixture -------------------------------------------

@pytest.mark.parametrize("event", list(up.BUILD_STATE_CHANGE))
def test_build_state_change(hub, event):
    case = up.BUILD_STATE_CHANGE[event]
    # upstream's Task(...).getInfo() for these: the id, the request and the owner
    hub.task_info = {"id": 110011364, "request": case["msg"]["request"], "owner": "dummy-user"}
    msg = assert_as_upstream(fire("postBuildStateChange", case["kws"]),
                             "build.state.change", case["msg"])
    assert isinstance(msg, BuildStateChangeV1)
    # (upstream's mocked task lacks method/arch/host_id: the schema would refuse it, see
    # test_build_with_its_task_validates_and_lists_it for a whole task)
    assert msg.body["task"]["url"].endswith("taskID=110011364")  # no more an import


@pytest.mark.parametrize("event", list(up.TASK_STATE_CHANGE))
def test_task_state_change(hub, event):
    case = up.TASK_STATE_CHANGE[event]
    msg = assert_as_upstream(fire("postTaskStateChange", case["kws"]), "task.state.change",
                             case["msg"])
    assert msg.url == case["msg"]["info"]["url"]
    build(SINK, type(msg), msg.body, suffix="buildsys.task.state.change")  # validates


def test_task_state_change_with_subtasks(hub):
    expected = up.TASK_WITH_SUBTASKS_MSG
    parent = up.TASK_WITH_SUBTASKS_KWS["info"]["id"]
    children = copy.deepcopy(expected["info"]["children"])
    for child in children:  # what the hub returns: no host_name, url, result, children
        hub.results[child["id"]] = child.pop("result")
        for key in ("host_name", "url", "children"):
            del child[key]
    hub.children[parent] = children
    msg = assert_as_upstream(fire("postTaskStateChange", up.TASK_WITH_SUBTASKS_KWS),
                             "task.state.change", expected)
    assert "buildArch" in str(msg)
    build(SINK, type(msg), msg.body, suffix="buildsys.task.state.change")


@pytest.mark.parametrize(("cbtype", "case", "topic"), [
    ("postTag", up.TAG, "tag"),
    ("postUntag", up.UNTAG, "untag"),
    ("postPackageListChange", up.PACKAGE_LIST_CHANGE, "package.list.change"),
    ("postRepoInit", up.REPO_INIT, "repo.init"),
    ("postRepoDone", up.REPO_DONE, "repo.done"),
    ("postRPMSign", up.RPM_SIGN, "rpm.sign"),
])
def test_other_callbacks(hub, cbtype, case, topic):
    msg = assert_as_upstream(fire(cbtype, case["kws"]), topic, case["msg"])
    enc = build(SINK, type(msg), msg.body, suffix=f"buildsys.{topic}")
    assert enc.routing_key == f"org.fedoraproject.stg.buildsys.{topic}"


@pytest.mark.parametrize(("cbtype", "topic"), [
    ("postBuildPromote", "build.promote"), ("postCreateRepo", "create.repo"),
    ("postCreateDistRepo", "create.dist.repo"), ("postSCMCheckout", "scm.checkout")])
def test_callbacks_without_a_schema(hub, cbtype, topic):
    """Upstream's plugin sends these with no fields of their own (and no schema)."""
    queued = fire(cbtype, {"build": up.TAG["kws"]["build"], "user": up.TAG["kws"]["user"]})
    assert queued == [(topic, {"base_url": "https://koji.stg.fedoraproject.org",
                               "instance": "primary"})]
    assert koji_plugin.schema_for(topic) is fm.Message
    enc = build(SINK, fm.Message, queued[0][1], suffix=f"buildsys.{topic}")
    assert enc.routing_key == f"org.fedoraproject.stg.buildsys.{topic}"


GOLDEN = {"postBuildStateChange", "postTaskStateChange", "postTag", "postUntag",
          "postPackageListChange", "postRepoInit", "postRepoDone", "postRPMSign",
          "postBuildPromote", "postCreateRepo", "postCreateDistRepo", "postSCMCheckout"}


def test_every_registered_callback_is_tested():
    registered = {cb for cb, funcs in koji.plugin.callbacks.items()
                  if koji_plugin.fedbus_queue_message in funcs}
    assert registered == GOLDEN
    assert set(koji.plugin.callbacks) - registered == {
        cb for cb in koji.plugin.callbacks if not cb.startswith("post")} | {
        "postImport", "postCommit"}
    assert koji.plugin.callbacks["postCommit"] == [koji_plugin.fedbus_post_commit]


# -- what upstream does not publish -------------------------------------------------------

@pytest.mark.parametrize("kws", [
    {"attribute": "state", "info": {"parent": 42}},  # tests/test_task.py: a child task
    {"attribute": "something-else"},  # tests/test_task.py: not a state change
    {**up.TASK_STATE_CHANGE["open"]["kws"], "attribute": "host_id"},
    {**up.TASK_STATE_CHANGE["open"]["kws"],  # not a scratch build
     "info": {**up.TASK_STATE_CHANGE["open"]["kws"]["info"],
              "request": ["git+https://src.fedoraproject.org/rpms/x.git#abc", "rawhide", {}]}},
])
def test_task_changes_not_published(hub, kws):
    assert fire("postTaskStateChange", kws) == []


def test_volume_id_change_not_published(hub):
    kws = {**up.BUILD_STATE_CHANGE["fail"]["kws"], "attribute": "volume_id", "old": 0,
           "new": 1}
    assert fire("postBuildStateChange", kws) == []
    hub.Task.assert_not_called()


@pytest.mark.parametrize("kws", [
    {"sigkey": "", "sighash": "", "build": {}, "rpm": {}},  # tests/test_rpmsign.py
    {"attribute": "sighash", "old": None, "new": "x", "info": {"sigkey": ""}},  # Koji ≤1.10
])
def test_rpm_sign_without_sigkey_not_published(hub, kws):
    assert fire("postRPMSign", kws) == []


# -- fedbus's own behaviour ---------------------------------------------------------------

def test_build_with_its_task_validates_and_lists_it(hub):
    """A real hub returns the whole task: the message validates, its text lists the task."""
    hub.task_info = copy.deepcopy(up.TASK_STATE_CHANGE["close"]["kws"]["info"])
    [(_, body)] = fire("postBuildStateChange", up.BUILD_STATE_CHANGE["complete"]["kws"])
    assert body["task"]["host_name"] == "builder.example.com"
    assert body["request"] == list(hub.task_info["request"])
    build(SINK, BuildStateChangeV1, body)
    text = str(BuildStateChangeV1(topic="x", body=body))
    assert "https://koji.stg.fedoraproject.org/koji/taskinfo?taskID=110011364" in text


def test_notifications_url_when_configured(hub, monkeypatch, tmp_path):
    conf = tmp_path / "fedbus.conf"
    conf.write_text("[fedbus]\nnotifier_url = https://notifications.example.org/\n")
    monkeypatch.setenv(koji_plugin.CONF_ENV, str(conf))
    koji_plugin.settings.cache_clear()
    [(_, body)] = fire("postTag", up.TAG["kws"])
    assert body.pop("notifications_url") == (
        "https://notifications.example.org/settings/packages/perl-GooCanvas2")
    assert body == up.TAG["msg"]
    assert fire("postRepoInit", up.REPO_INIT["kws"])[-1][1] == up.REPO_INIT["msg"]


def test_outside_a_hub_request(monkeypatch, tmp_path):
    """No kojihub and no WSGI environment: names as given, URLs from fedbus.conf."""
    conf = tmp_path / "fedbus.conf"
    conf.write_text("[fedbus]\nweburl = https://koji.example.org/koji\n"
                    "topurl = https://kojipkgs.example.org\n")
    monkeypatch.setenv(koji_plugin.CONF_ENV, str(conf))
    koji_plugin.settings.cache_clear()
    monkeypatch.setitem(sys.modules, "kojihub", None)  # import kojihub: ImportError
    del context.environ
    [(_, body)] = fire("postBuildStateChange", up.BUILD_STATE_CHANGE["complete"]["kws"])
    assert (body["owner"], body["task"], body["request"]) == ("jskarvad", None, None)
    assert body["url"] == "https://koji.example.org/koji/buildinfo?buildID=2211083"
    assert body["files_base_url"] == "https://kojipkgs.example.org/work"
    build(SINK, BuildStateChangeV1, body)
    [_, (_, tag)] = fire("postTag", up.TAG["kws"])
    assert (tag["owner"], tag["user"]) == ("ppisar", "ppisar")
    [*_, (_, task)] = fire("postTaskStateChange", up.TASK_STATE_CHANGE["close"]["kws"])
    assert (task["info"]["host_name"], task["owner"]) == (None, "dummy-user")


def test_a_broken_callback_never_fails_the_call(hub, caplog):
    assert fire("postTag", {"tag": "not a dict", "build": {}, "user": {}}) == []
    assert "cannot queue postTag message" in caplog.text
    caplog.clear()  # (the autouse fixture checks no error was logged)
