# mypy: disable-error-code="untyped-decorator"
"""The Koji hub plugin: ``buildsys.*`` messages, published only after the commit.

Koji's hub loads plugins with :class:`koji.plugin.PluginTracker` and registers every
function marked with :func:`koji.plugin.callback`.  The callbacks below only *queue* a
message on the request's context (``koji.context.context``, per thread and per call); the
``postCommit`` callback spools the queue after the hub committed the transaction.  When the
call fails the hub rolls back and never runs ``postCommit``: the queue dies with the request
context, which the hub clears after every call (``context._threadclear()``).

Messages follow ``koji-fedoramessaging-messages`` (the schemas of Fedora's koji plugin), with
one extra field, ``notifications_url``: the notification server's settings page for the
package (``<notifier_url>/settings/packages/<name>``).

Settings: ``/etc/koji-hub/plugins/fedbus.conf`` (``$FEDBUS_KOJI_CONF``)::

    [fedbus]
    config = /etc/fedbus/fedbus.toml   ; topic prefix and spool
    instance = primary
    weburl = https://koji.fedoraproject.org/koji
    topurl = https://kojipkgs.fedoraproject.org
    notifier_url = https://notifications.fedoraproject.org
"""

from __future__ import annotations

import configparser
import logging
import os
from functools import cache
from typing import Any

import koji
import koji.plugin
from fedora_messaging import message as fm
from koji.context import context
from koji_fedoramessaging_messages import build as kbuild
from koji_fedoramessaging_messages import package as kpackage
from koji_fedoramessaging_messages import repo as krepo
from koji_fedoramessaging_messages import tag as ktag
from koji_fedoramessaging_messages import task as ktask

from fedbus.wedges.base import Sink, build, one_line, publish_all

log = logging.getLogger("koji.plugin.fedbus")
CONF_ENV = "FEDBUS_KOJI_CONF"
DEFAULT_CONF = "/etc/koji-hub/plugins/fedbus.conf"
QUEUE_ATTR = "fedbus_queue"


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
        "notifier_url": section.get("notifier_url",
                                    "https://notifications.fedoraproject.org").rstrip("/"),
    }


@cache
def target() -> Sink:
    return Sink.load(settings()["config"] or None)


def _queue() -> list[tuple[type[fm.Message], dict[str, Any]]]:
    q = getattr(context, QUEUE_ATTR, None)
    if q is None:
        q = []
        setattr(context, QUEUE_ATTR, q)
    return q


def _enqueue(schema: type[fm.Message], body: dict[str, Any], package: str | None) -> None:
    s = settings()
    body["instance"] = s["instance"]
    if package:
        body["notifications_url"] = f"{s['notifier_url']}/settings/packages/{package}"
    _queue().append((schema, body))


def _guard(what: str, func: Any, *args: Any, **kwargs: Any) -> None:
    try:
        func(*args, **kwargs)
    except Exception as exc:  # a bus problem must never fail a Koji call
        log.error("fedbus: cannot queue %s message: %s", what, one_line(exc))


def _user(value: Any) -> str | None:
    """A user name from a user dict, a name, or a user id (looked up in the hub)."""
    if isinstance(value, dict):
        return value.get("name")
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            from kojihub import get_user  # only inside the hub

            return str(get_user(value)["name"])
        except Exception:
            return str(value)
    return value if isinstance(value, str) else None


def _task_info(task_id: Any) -> dict[str, Any] | None:
    return None  # the hub's Task lookup needs its database; consumers read task_id


# -- callbacks (registered by the hub: functions with a ``callbacks`` attribute) -----------

@koji.plugin.callback("postBuildStateChange")
@koji.plugin.convert_datetime
@koji.plugin.ignore_error
def fedbus_build_state(cbtype: str, *args: Any, **kws: Any) -> None:
    _guard("build state", _build_state, **kws)


def _build_state(attribute: str, old: Any, new: Any, info: dict[str, Any], **_: Any) -> None:
    if attribute != "state":
        return
    s = settings()
    name = info.get("package_name") or info.get("name")
    body = {
        "name": name, "version": info.get("version"), "release": info.get("release"),
        "epoch": info.get("epoch"), "attribute": attribute, "old": old, "new": new,
        "build_id": info.get("id"), "task_id": info.get("task_id"),
        "task": _task_info(info.get("task_id")),
        "request": info.get("request"), "owner": _user(info.get("owner_name")),
        "creation_time": info.get("creation_time") or "",
        "completion_time": info.get("completion_time"),
        "url": f"{s['weburl']}/buildinfo?buildID={info.get('id')}",
    }
    _enqueue(kbuild.BuildStateChangeV1, body, name)


def _tag_body(tag: dict[str, Any], build_: dict[str, Any], user: Any) -> dict[str, Any]:
    return {"tag_id": tag.get("id"), "tag": tag.get("name"), "user": _user(user),
            "name": build_.get("package_name") or build_.get("name"),
            "version": build_.get("version"), "release": build_.get("release"),
            "owner": _user(build_.get("owner_name")), "build_id": build_.get("id")}


@koji.plugin.callback("postTag", "postUntag")
@koji.plugin.convert_datetime
@koji.plugin.ignore_error
def fedbus_tag(cbtype: str, *args: Any, **kws: Any) -> None:
    def do(tag: dict[str, Any], build: dict[str, Any], user: Any, **_: Any) -> None:
        body = _tag_body(tag, build, user)
        schema = ktag.TagV1 if cbtype == "postTag" else ktag.UntagV1
        _enqueue(schema, body, body["name"])

    _guard(cbtype, do, **kws)


@koji.plugin.callback("postTaskStateChange")
@koji.plugin.convert_datetime
@koji.plugin.ignore_error
def fedbus_task_state(cbtype: str, *args: Any, **kws: Any) -> None:
    def do(attribute: str, old: Any, new: Any, info: dict[str, Any], **_: Any) -> None:
        if attribute != "state":
            return
        s = settings()
        names = koji.TASK_STATES
        info = {**info, "result": info.get("result")}
        for key in ("create_time", "start_time", "completion_time"):  # numbers in the schema
            if not isinstance(info.get(key), int | float | None):
                info[key] = info.get(key.replace("_time", "_ts"))
        body = {
            "id": info["id"], "info": info, "method": info.get("method"),
            "attribute": attribute,
            "old": names[old] if isinstance(old, int) else old,
            "new": names[new] if isinstance(new, int) else new,
            "srpm": _srpm(info), "owner": _user(info.get("owner_name") or info.get("owner")),
            "base_url": s["weburl"], "files_base_url": f"{s['topurl']}/work",
        }
        _enqueue(ktask.TaskStateChangeV1, body, None)

    _guard("task state", do, **kws)


def _srpm(info: dict[str, Any]) -> str:
    request = info.get("request") or []
    return str(request[0]) if request and isinstance(request[0], str) else ""


@koji.plugin.callback("postRepoInit")
@koji.plugin.ignore_error
def fedbus_repo_init(cbtype: str, *args: Any, **kws: Any) -> None:
    def do(tag: dict[str, Any], repo_id: int, **_: Any) -> None:
        _enqueue(krepo.InitV1, {"tag": tag.get("name"), "tag_id": tag.get("id"),
                                "repo_id": repo_id}, None)

    _guard("repo init", do, **kws)


@koji.plugin.callback("postRepoDone")
@koji.plugin.ignore_error
def fedbus_repo_done(cbtype: str, *args: Any, **kws: Any) -> None:
    def do(repo: dict[str, Any], **_: Any) -> None:
        _enqueue(krepo.DoneV1, {"tag": repo.get("tag_name"), "tag_id": repo.get("tag_id"),
                                "repo_id": repo.get("id")}, None)

    _guard("repo done", do, **kws)


@koji.plugin.callback("postPackageListChange")
@koji.plugin.ignore_error
def fedbus_package_list(cbtype: str, *args: Any, **kws: Any) -> None:
    def do(action: str, tag: dict[str, Any], package: dict[str, Any], owner: Any = None,
           update: bool | None = None, **_: Any) -> None:
        name = package.get("name")
        body = {"action": action, "tag": tag.get("name"), "package": name,
                "owner": _user(owner), "update": update}
        _enqueue(kpackage.ListChangeV1, body, name)

    _guard("package list", do, **kws)


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
    for schema, body in queued:
        try:
            built.append(build(t, schema, body))
        except Exception as exc:
            log.error("fedbus: %s dropped: %s", schema.__name__, one_line(exc))
    publish_all(t, built)


def discard() -> int:
    """Drop what this call queued (rollback); returns how many were dropped."""
    queued = getattr(context, QUEUE_ATTR, None) or []
    setattr(context, QUEUE_ATTR, [])
    return len(queued)
