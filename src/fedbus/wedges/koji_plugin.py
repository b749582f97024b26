# mypy: disable-error-code="untyped-decorator"
"""The Koji hub plugin: ``buildsys.*`` messages, published only after the commit.

Koji's hub loads plugins with :class:`koji.plugin.PluginTracker` and registers every
function marked with :func:`koji.plugin.callback`.  :func:`fedbus_queue_message` is
registered for the same callbacks as Fedora's ``koji-fedoramessaging`` plugin (every
``post*`` callback but ``postImport`` and ``postCommit``) and builds the same topic
(``buildsys.`` + the callback name in dotted lower case: ``postRPMSign`` → ``rpm.sign``)
and the same body; it only *queues* the message on the request's context
(``koji.context.context``, per thread and per call).  The ``postCommit`` callback spools
the queue after the hub committed the transaction.  When the call fails the hub rolls back
and never runs ``postCommit``: the queue dies with the request context, which the hub
clears after every call (``context._threadclear()``).

Messages use the schemas of ``koji-fedoramessaging-messages`` (a generic message for a
topic that has none).  The differences with Fedora's plugin are listed in docs/wedges.md.

Settings: ``/etc/koji-hub/plugins/fedbus.conf`` (``$FEDBUS_KOJI_CONF``)::

    [fedbus]
    config = /etc/fedbus/fedbus.toml   ; topic prefix and spool
    instance = primary
    weburl = https://koji.fedoraproject.org/koji       ; outside a hub request only
    topurl = https://kojipkgs.fedoraproject.org        ; when kojiweb's web.conf is unreadable
    notifier_url = https://notifications.fedoraproject.org  ; adds notifications_url
"""

from __future__ import annotations

import configparser
import copy
import datetime
import logging
import os
import re
from functools import cache
from typing import Any

import koji
import koji.plugin
from fedora_messaging import message as fm
from koji.context import context
from koji_fedoramessaging_messages import build as kbuild
from koji_fedoramessaging_messages import package as kpackage
from koji_fedoramessaging_messages import repo as krepo
from koji_fedoramessaging_messages import rpm as krpm
from koji_fedoramessaging_messages import tag as ktag
from koji_fedoramessaging_messages import task as ktask

from fedbus.wedges.base import Sink, build, one_line, publish_all

log = logging.getLogger("koji.plugin.fedbus")
CONF_ENV = "FEDBUS_KOJI_CONF"
DEFAULT_CONF = "/etc/koji-hub/plugins/fedbus.conf"
QUEUE_ATTR = "fedbus_queue"

#: The callbacks Fedora's plugin publishes for: every ``post*`` one Koji defines, except
#: ``postImport`` (noisy, nothing useful) and ``postCommit`` (which sends the queue).
CALLBACKS = tuple(c for c in koji.plugin.callbacks
                  if c.startswith("post") and c not in ("postImport", "postCommit"))
#: Schemas by topic suffix; a topic without one is sent as a generic message.
SCHEMAS: dict[str, type[fm.Message]] = {cls.topic: cls for cls in (
    kbuild.BuildStateChangeV1, kpackage.ListChangeV1, krepo.InitV1, krepo.DoneV1,
    krpm.SignV1, ktag.TagV1, ktag.UntagV1, ktask.TaskStateChangeV1)}
#: Floating-point fields Fedora's plugin removes from every body, at any depth.
SCRUBBED = frozenset({"weight", "start_ts", "create_ts", "completion_ts"})
#: Date fields of task, build and rpm dicts sent as POSIX timestamps (whole seconds).
TIMESTAMP_FIELDS = ("completion_time", "create_time", "start_time", "buildtime",
                    "creation_ts", "creation_time")


@cache
def settings() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(os.environ.get(CONF_ENV, DEFAULT_CONF))
    section = parser["fedbus"] if parser.has_section("fedbus") else {}
    return {
        "config": section.get("config", ""),
        "instance": section.get("instance", "primary"),
        "weburl": section.get("weburl", "https://koji.fedoraproject.org/koji").rstrip("/"),
        "topurl": section.get("topurl", "https://kojipkgs.fedoraproject.org").rstrip("/"),
        "notifier_url": section.get("notifier_url", "").rstrip("/"),
    }


@cache
def target() -> Sink:
    return Sink.load(settings()["config"] or None)


def _queue() -> list[tuple[str, dict[str, Any]]]:
    q = getattr(context, QUEUE_ATTR, None)
    if q is None:
        q = []
        setattr(context, QUEUE_ATTR, q)
    return q


def _hub() -> Any:
    """The hub's ``kojihub`` module; None outside a hub (tests, a host without Koji)."""
    try:
        import kojihub
    except ImportError:
        return None
    return kojihub


def _environ() -> dict[str, Any] | None:
    environ = getattr(context, "environ", None)
    return environ if isinstance(environ, dict) and "SERVER_NAME" in environ else None


def base_url() -> str:
    """``<scheme>://<host>`` of the request (behind a proxy: its forwarded host and
    scheme), as Fedora's plugin; outside a request, ``weburl`` without its ``/koji``."""
    environ = _environ()
    if environ is None:
        return settings()["weburl"].removesuffix("/koji")
    host = environ.get("HTTP_X_FORWARDED_HOST", environ["SERVER_NAME"])
    scheme = environ.get("HTTP_X_FORWARDED_SCHEME", environ.get("wsgi.url_scheme", "https"))
    return f"{scheme}://{host}"


def files_base_url() -> str:
    """The work directory's URL: kojiweb's ``KojiFilesURL`` (its web.conf, as Fedora's
    plugin reads it), else ``topurl``."""
    environ = _environ() or {}
    conf = environ.get("koji.web.ConfigFile", "/etc/kojiweb/web.conf")
    confdir = environ.get("koji.web.ConfigDir", "/etc/kojiweb/web.conf.d")
    try:
        web = koji.read_config_files([confdir, (conf, True)])
        top = web.get("web", "KojiFilesURL")
    except Exception:
        top = settings()["topurl"]
    return str(koji.PathInfo(topdir=top.rstrip("/")).work())


def topic_of(cbtype: str) -> str:
    """``postBuildStateChange`` → ``build.state.change``, ``postRPMSign`` → ``rpm.sign``."""
    name = cbtype.removeprefix("post")
    name = re.sub("(.)([A-Z][a-z]+)", r"\1.\2", name)
    return re.sub("([a-z0-9])([A-Z])", r"\1.\2", name).lower()


def _timestamps(info: dict[str, Any]) -> None:
    for key in TIMESTAMP_FIELDS:
        value = info.get(key)
        if value is None or isinstance(value, int | float):
            continue
        if isinstance(value, str):  # a hub callback converted with convert_datetime
            value = datetime.datetime.fromisoformat(value)
        info[key] = value.replace(microsecond=0).timestamp()


def _user_name(value: Any) -> Any:
    """The hub's name of a user id or name; outside a hub, a name as given."""
    hub = _hub()
    if hub is not None:
        return hub.get_user(value)["name"]
    if isinstance(value, dict):
        return value.get("name")
    return value if value is None or isinstance(value, str) else str(value)


def _owner(info: dict[str, Any]) -> Any:
    if "owner_name" in info:
        return info["owner_name"]
    if "owner_id" in info:
        return _user_name(info["owner_id"])
    if "owner" in info:
        return _user_name(info["owner"])
    return None


def _task_result(task: Any) -> Any:
    try:
        return task.getResult()
    except Exception as exc:
        log.warning("fedbus: no result for task %s: %s", task.id, one_line(exc))
        return None


def full_task_info(info: dict[str, Any], base: str) -> dict[str, Any]:
    """The task as Fedora's plugin sends it: dates as timestamps, ``host_name``, ``url``,
    ``result``, the owner's name and the sub-tasks (``children``), recursively."""
    info = copy.deepcopy(info)
    hub = _hub()
    _timestamps(info)
    host_id = info.get("host_id")
    info["host_name"] = hub.get_host(host_id)["name"] if hub is not None and host_id else None
    info["url"] = f"{base}/koji/taskinfo?taskID={info['id']}"
    task = hub.Task(info["id"]) if hub is not None else None
    info["result"] = _task_result(task) if task is not None else info.get("result")
    info["owner"] = _owner(info)
    if isinstance(info.get("request"), tuple):
        info["request"] = list(info["request"])
    children = task.getChildren() if task is not None else []
    info["children"] = [full_task_info(child, base) for child in children]
    return info


def _wanted(cbtype: str, kws: dict[str, Any]) -> bool:
    """Fedora's plugin's filters."""
    if cbtype == "postTaskStateChange":
        info = kws.get("info") or {}
        if kws.get("attribute") != "state" or info.get("parent"):
            return False  # state changes of top-level tasks only…
        request = info.get("request") or [{}]
        return isinstance(request[-1], dict) and bool(request[-1].get("scratch"))  # scratch
    if cbtype == "postRPMSign":  # the empty signature Koji records at import
        return (kws.get("info") or {}).get("sigkey") != "" and kws.get("sigkey") != ""
    if cbtype == "postBuildStateChange":
        return kws.get("attribute") != "volume_id"
    return True


def message_body(topic: str, kws: dict[str, Any]) -> dict[str, Any]:
    """The body Fedora's plugin builds for ``topic`` from the callback's arguments."""
    base = base_url()
    body: dict[str, Any] = {"base_url": base}
    if topic == "package.list.change":
        body.update(tag=kws["tag"]["name"], package=kws["package"]["name"],
                    action=kws["action"],
                    owner=_user_name(kws["owner"]) if "owner" in kws else None,
                    block=kws.get("block"), extra_arches=kws.get("extra_arches"),
                    force=kws.get("force"), update=kws.get("update"))
    elif topic == "task.state.change":
        info = full_task_info(kws["info"], base)
        request = info.get("request", ["/"])
        body.update(info=info, method=info["method"], attribute=kws["attribute"],
                    old=kws["old"], new=kws["new"], id=info["id"], owner=info["owner"],
                    files_base_url=files_base_url(), srpm=str(request[0]).split("/")[-1])
    elif topic == "build.state.change":
        info = kws["info"]
        build_id, task_id = info.get("id"), info.get("task_id")
        body.update(name=info["name"], version=info["version"], release=info["release"],
                    epoch=info.get("epoch"), attribute=kws["attribute"], old=kws["old"],
                    new=kws["new"], build_id=build_id, task_id=task_id, owner=_owner(info),
                    files_base_url=files_base_url(),
                    url=f"{base}/koji/buildinfo?buildID={build_id}" if build_id else None,
                    task=None, request=None,
                    creation_time=_isoformat(info["creation_time"]),
                    completion_time=_isoformat(info["completion_time"]))
        hub = _hub()
        if task_id and hub is not None:
            body["task"] = full_task_info(hub.Task(task_id).getInfo(request=True), base)
            body["request"] = body["task"]["request"]
    elif topic in ("tag", "untag"):
        tag, build_ = kws["tag"], kws["build"]
        owner = (_user_name(build_["owner_id"]) if _hub() is not None
                 else build_.get("owner_name"))
        body.update(tag=tag["name"], name=build_["name"], version=build_["version"],
                    release=build_["release"], user=kws["user"]["name"], owner=owner,
                    tag_id=tag["id"], build_id=build_["id"])
    elif topic == "repo.init":
        body.update(tag=kws["tag"]["name"], tag_id=kws["tag"]["id"], repo_id=kws["repo_id"])
    elif topic == "repo.done":
        repo = kws["repo"]
        body.update(tag=repo["tag_name"], tag_id=repo["tag_id"], repo_id=repo["id"])
    elif topic == "rpm.sign":
        if "attribute" in kws:  # Koji 1.10 and older
            body.update(attribute=kws["attribute"], old=kws["old"], new=kws["new"],
                        info=kws["info"])
        else:
            body.update(sigkey=kws["sigkey"], sighash=kws["sighash"],
                        build=copy.deepcopy(kws["build"]), rpm=copy.deepcopy(kws["rpm"]))
            _timestamps(body["build"])
            _timestamps(body["rpm"])
    return body


def _isoformat(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def scrub(obj: Any) -> Any:
    if isinstance(obj, list):
        return [scrub(item) for item in obj]
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items() if k not in SCRUBBED}
    return obj


def _package(topic: str, body: dict[str, Any]) -> str | None:
    if topic in ("build.state.change", "tag", "untag"):
        return body.get("name")
    if topic == "package.list.change":
        return body.get("package")
    if topic == "rpm.sign":
        return (body.get("build") or {}).get("name")
    return None


# -- callbacks (registered by the hub: functions with a ``callbacks`` attribute) -----------

@koji.plugin.callback(*CALLBACKS)
@koji.plugin.ignore_error
def fedbus_queue_message(cbtype: str, *args: Any, **kws: Any) -> None:
    """Queue this callback's ``buildsys.*`` message for ``postCommit``."""
    try:
        if not _wanted(cbtype, kws):
            return
        topic = topic_of(cbtype)
        s = settings()
        body = message_body(topic, kws)
        body["instance"] = s["instance"]
        body = scrub(body)
        package = _package(topic, body)
        if s["notifier_url"] and package:
            body["notifications_url"] = f"{s['notifier_url']}/settings/packages/{package}"
        _queue().append((topic, body))
    except Exception as exc:  # a bus problem must never fail a Koji call
        log.error("fedbus: cannot queue %s message: %s", cbtype, one_line(exc))


def schema_for(topic: str) -> type[fm.Message]:
    return SCHEMAS.get(f"buildsys.{topic}", fm.Message)


@koji.plugin.callback("postCommit")
@koji.plugin.ignore_error
def fedbus_post_commit(cbtype: str, *args: Any, **kws: Any) -> None:
    """The transaction is committed: build, validate and spool what this call queued."""
    queued = getattr(context, QUEUE_ATTR, None) or []
    setattr(context, QUEUE_ATTR, [])
    if not queued:
        return
    try:
        t = target()
    except Exception as exc:
        log.error("fedbus: cannot read settings, %d message(s) dropped: %s", len(queued),
                  one_line(exc))
        return
    built = []
    for topic, body in queued:
        schema = schema_for(topic)
        try:
            built.append(build(t, schema, body, suffix=f"buildsys.{topic}"))
        except Exception as exc:
            log.error("fedbus: %s dropped (buildsys.%s): %s", schema.__name__, topic,
                      one_line(exc))
    publish_all(t, built)


def discard() -> int:
    """Drop what this call queued (rollback); returns how many were dropped."""
    queued = getattr(context, QUEUE_ATTR, None) or []
    setattr(context, QUEUE_ATTR, [])
    return len(queued)
