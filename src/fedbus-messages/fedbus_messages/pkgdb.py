"""Schemas of the ``pkgdb`` category: the package database (packages, owners, ACLs).

Published by the package database through the Python hook API
(:mod:`fedbus.wedges.hooks`) after its commit, or POSTed to the webhook endpoint.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fedbus_messages.base import FedbusMessage, object_schema

_NAME: dict[str, Any] = {"type": "string", "minLength": 1}
_COMMON: dict[str, Any] = {
    "package": {**_NAME, "description": "the package (source package name)"},
    "namespace": {"type": "string", "description": "rpms, modules, container, flatpaks"},
    "branch": {"type": "string", "description": "the branch concerned (rawhide, f43…)"},
    "agent": {**_NAME, "description": "who made the change"},
}


def _schema(description: str, props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return object_schema(description, {**_COMMON, **props}, ["package", "agent", *required])


class _Pkgdb(FedbusMessage):
    app = "pkgdb"
    url_template = "https://src.fedoraproject.org/{namespace}/{package}"
    package_fields = ("package",)
    agent_field = "agent"


class PackageNewV1(_Pkgdb):
    """A package was added to the package database."""

    topic_pattern = "org.fedoraproject.*.pkgdb.package.new"
    summary_template = "{agent} added package {package} (owner {owner})"
    user_fields = ("agent", "owner")
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "A new package", {"owner": _NAME, "summary": {"type": "string"},
                          "review_url": {"type": "string"}}, ["owner"])
    example: ClassVar[dict[str, Any]] = {
        "package": "python-fedbus", "namespace": "rpms", "branch": "rawhide",
        "agent": "alice", "owner": "alice", "summary": "The Fedora message bus",
        "review_url": "https://bugzilla.redhat.com/show_bug.cgi?id=2400001",
    }


class PackageOwnerUpdateV1(_Pkgdb):
    """A package changed owner (point of contact)."""

    topic_pattern = "org.fedoraproject.*.pkgdb.package.owner.update"
    summary_template = "{agent} gave {package} ({branch}) from {previous_owner} to {owner}"
    user_fields = ("agent", "owner", "previous_owner")
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "A package's owner changed", {"owner": _NAME, "previous_owner": _NAME},
        ["owner", "previous_owner"])
    example: ClassVar[dict[str, Any]] = {
        "package": "python-fedbus", "namespace": "rpms", "branch": "rawhide",
        "agent": "alice", "owner": "bob", "previous_owner": "alice",
    }


class PackageAclUpdateV1(_Pkgdb):
    """A user's or group's access (ACL) on a package changed."""

    topic_pattern = "org.fedoraproject.*.pkgdb.package.acl.update"
    summary_template = "{agent} set {acl} of {user} on {package} ({branch}) to {status}"
    user_fields = ("agent", "user")
    body_schema: ClassVar[dict[str, Any]] = _schema(
        "An ACL on a package changed",
        {"user": {**_NAME, "description": "user or @group"},
         "acl": {"type": "string", "enum": ["commit", "watchbugzilla", "watchcommits",
                                            "approveacls", "ticket", "admin"]},
         "status": {"type": "string", "enum": ["Approved", "Awaiting Review", "Denied",
                                               "Obsolete", "Removed"]}},
        ["user", "acl", "status"])
    example: ClassVar[dict[str, Any]] = {
        "package": "python-fedbus", "namespace": "rpms", "branch": "f43",
        "agent": "alice", "user": "carol", "acl": "commit", "status": "Approved",
    }
