"""Who owns or watches which package, kept current from PkgDB messages.

The workers hand every ``org.fedoraproject.<env>.pkgdb.…`` message to :func:`apply`, which
records the change in ``package_relations`` (``source = "pkgdb"``) and appends a
``changes`` row, so the index expands the users' ``owned_packages`` rules over the new set.

Bodies understood (the first that fits):

0. fedbus's own schemas (``fedbus_messages.pkgdb``, chosen by topic):
   ``pkgdb.package.new`` (``owner`` becomes the owner), ``pkgdb.package.owner.update``
   (``previous_owner`` loses the package, ``owner`` gets it), ``pkgdb.package.acl.update``
   (``user``, ``acl`` as in 3., ``status`` ``Approved`` adds, anything else removes; a
   ``@group`` is not a user and is ignored);
1. a plain shape, any other ``pkgdb.*`` topic::

       {"package": "kernel", "user": "alice", "relation": "owner|comaintainer|watcher",
        "action": "added|removed", "agent": "bob"}

   (``users``: a list instead of ``user``; ``relation`` defaults to ``watcher``).
2. PkgDB 2's ``pkgdb.owner.update``: ``package_listing.package.name``,
   ``package_listing.point_of_contact`` (the new owner, added) and ``previous_owner``
   (removed as owner).
3. PkgDB 2's ``pkgdb.acl.update``: ``acl.fas_name``, ``acl.acl`` (``commit`` /
   ``approveacls`` → comaintainer, ``watchcommits`` / ``watchbugzilla`` → watcher),
   ``acl.status`` (``Approved`` adds, anything else removes),
   ``acl.packagelisting.package.name``.

A relation the user added by hand (``source = "manual"``) is never removed by PkgDB.
Anything else is ignored (returns 0); a body naming a package or user that is not a
valid name is ignored too (logged), never an error that blocks the queue.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from fedbus.notifier.models import Change, PackageRelation, User
from fedbus.notifier.store import Store
from fedbus.notifier.validate import NAME_RE, PACKAGE_RE

log = logging.getLogger("fedbus.notifier.pkgdb")
ACL_RELATION = {"commit": "comaintainer", "approveacls": "comaintainer",
                "watchcommits": "watcher", "watchbugzilla": "watcher"}  # fmt: skip
RANK = {"watcher": 0, "comaintainer": 1, "owner": 2}

Change_ = tuple[str, str, str, bool]  # (user, package, relation, added)


def is_pkgdb(topic: str) -> bool:
    words = topic.split(".")
    return len(words) > 3 and words[3] == "pkgdb"


def _get(body: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _own_schema(topic: str, body: dict[str, Any]) -> list[Change_] | None:
    """The changes of a message in one of fedbus's PkgDB schemas; None for another topic."""
    if not topic.endswith((".pkgdb.package.new", ".pkgdb.package.owner.update",
                           ".pkgdb.package.acl.update")):
        return None
    package = body.get("package")
    if not isinstance(package, str):
        return []
    if topic.endswith(".pkgdb.package.new"):
        owner = body.get("owner")
        return [(owner, package, "owner", True)] if isinstance(owner, str) else []
    if topic.endswith(".pkgdb.package.owner.update"):
        new, old = body.get("owner"), body.get("previous_owner")
        out: list[Change_] = []
        if isinstance(old, str) and old != new:
            out.append((old, package, "owner", False))
        if isinstance(new, str):
            out.append((new, package, "owner", True))
        return out
    if topic.endswith(".pkgdb.package.acl.update"):
        user, kind = body.get("user"), body.get("acl")
        if not isinstance(user, str) or user.startswith("@") or kind not in ACL_RELATION:
            return []
        return [(user, package, ACL_RELATION[kind], body.get("status") == "Approved")]
    return None  # pragma: no cover - the topics are the three above


def changes_in(topic: str, body: Any) -> list[Change_]:
    """The (user, package, relation, added) changes a PkgDB message describes."""
    if not isinstance(body, dict):
        return []
    own = _own_schema(topic, body)
    if own is not None:
        return own
    if isinstance(body.get("package"), str) and ("user" in body or "users" in body):
        users = body.get("users") or [body.get("user")]
        relation = body.get("relation", "watcher")
        added = body.get("action", "added") != "removed"
        return [(u, body["package"], relation, added) for u in users if isinstance(u, str)]
    if topic.endswith(".pkgdb.owner.update"):
        package = _get(body, "package_listing", "package", "name")
        out: list[Change_] = []
        new = _get(body, "package_listing", "point_of_contact")
        old = body.get("previous_owner")
        if isinstance(old, str) and old != new:
            out.append((old, package, "owner", False))
        if isinstance(new, str):
            out.append((new, package, "owner", True))
        return out if isinstance(package, str) else []
    if topic.endswith(".pkgdb.acl.update"):
        acl = body.get("acl")
        user, kind = _get(acl, "fas_name"), _get(acl, "acl")
        package = _get(acl, "packagelisting", "package", "name")
        if isinstance(user, str) and isinstance(package, str) and kind in ACL_RELATION:
            return [(user, package, ACL_RELATION[kind], _get(acl, "status") == "Approved")]
    return []


def apply(store: Store, topic: str, body: Any) -> int:
    """Record the changes; returns how many relations changed."""
    done = 0
    with store.session() as s:
        for user_name, package, relation, added in changes_in(topic, body):
            if not NAME_RE.match(user_name) or not PACKAGE_RE.match(package or ""):
                log.warning("pkgdb: ignored %r/%r: not a user/package name", user_name, package)
                continue
            if relation not in RANK:
                relation = "watcher"
            user = s.scalar(select(User).where(User.name == user_name))
            if user is None:
                if not added:
                    continue
                user = User(name=user_name)
                s.add(user)
                s.flush()
            row = s.scalar(
                select(PackageRelation).where(
                    PackageRelation.user_id == user.id, PackageRelation.package == package
                )
            )
            if added:
                if row is None:
                    s.add(PackageRelation(user_id=user.id, package=package, relation=relation,
                                          source="pkgdb"))  # fmt: skip
                elif RANK[relation] > RANK.get(row.relation, 0) or row.source == "pkgdb":
                    row.relation = relation
                else:
                    continue
            elif row is not None and row.source == "pkgdb":
                s.delete(row)
            else:
                continue
            s.add(Change(user_id=user.id))
            done += 1
    if done:
        log.info("pkgdb: %d package relation(s) changed (%s)", done, topic)
    return done
