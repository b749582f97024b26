"""Store validation and isolation, PkgDB bodies, rendering, settings, IRC line splitting,
the ledger, digests' composition — on SQLite files, no broker."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fedora_messaging_git_hook_messages.commit import CommitV1

from fedbus.errors import ConfigError
from fedbus.notifier import pkgdb
from fedbus.notifier.digest import Digests
from fedbus.notifier.index import DestinationEntry, Index, Notification, Target
from fedbus.notifier.jobs import Job
from fedbus.notifier.ledger import InFlight, Ledger
from fedbus.notifier.loader import IndexLoader
from fedbus.notifier.migrate import upgrade
from fedbus.notifier.render import is_repeat, jobs_for
from fedbus.notifier.senders.irc import MAX_BYTES, split_text
from fedbus.notifier.settings import parse
from fedbus.notifier.store import InvalidPreference, NotFound, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    upgrade(url)
    return Store.open(url)


def test_store_rejects_bad_values_with_one_line(store: Store) -> None:
    me = store.user("alice")
    for call in (
        lambda: me.add_rule("nope", "x"),
        lambda: me.add_rule("topic", "org..bad"),
        lambda: me.add_rule("package", ""),
        lambda: me.add_rule("package", "k", min_severity="loud"),
        lambda: me.add_destination("email", "not-an-address"),
        lambda: me.add_destination("irc", "bad nick"),
        lambda: me.add_destination("email", "a@b.org", delivery="weekly"),
        lambda: me.update_rule(me.add_rule("my_events").id, colour="red"),
    ):
        with pytest.raises(InvalidPreference) as exc:
            call()
        assert "\n" not in str(exc.value)
    with pytest.raises(InvalidPreference):
        store.user("Robert'); DROP TABLE users;--")


def test_store_refuses_text_the_database_cannot_keep(store: Store) -> None:
    # PostgreSQL refuses NUL and lone surrogates (a 500 from the web UI's forms); a name
    # longer than its column was silently cut: the store refuses them for every caller
    me = store.user("alice")
    rule = me.add_rule("my_events", name="x" * 100)
    for call in (
        lambda: me.add_rule("my_events", name="x" * 101),
        lambda: me.add_rule("my_events", name="a\x00b"),
        lambda: me.add_rule("my_events", name="\ud800"),
        lambda: me.update_rule(rule.id, name="a\x00b"),
        lambda: me.add_rule("topic", "org.fedoraproject.prod.\x00"),
        lambda: me.add_rule("my_events", exclude_topics=["org.\ud800"]),
        lambda: me.add_destination("email", "a\x00@b.org"),
        lambda: me.add_destination("email", "a" * 250 + "@b.org"),
    ):
        with pytest.raises(InvalidPreference, match=r"at most .* no NUL"):
            call()
    assert me.get_rule(rule.id).name == "x" * 100


def test_store_isolation_and_verification(store: Store) -> None:
    alice, bob = store.user("alice"), store.user("bob")
    dest, token = alice.add_destination("irc", "#fedora-devel")
    assert not dest.verified
    with pytest.raises(NotFound):
        bob.verify_destination(dest.id, token)
    assert alice.verify_destination(dest.id, token)
    rule = alice.add_rule("user", "bob", destination_ids=[dest.id])
    for call in (lambda: bob.get_rule(rule.id), lambda: bob.delete_rule(rule.id),
                 lambda: bob.set_delivery(dest.id, "daily"),
                 lambda: bob.add_rule("my_events", destination_ids=[dest.id])):  # fmt: skip
        with pytest.raises(NotFound):
            call()
    assert alice.get_rule(rule.id).destination_ids == (dest.id,)


def test_index_loader_follows_changes(store: Store) -> None:
    index = Index("org.fedoraproject.prod")
    loader = IndexLoader(store, index)
    me = store.user("alice")
    dest, token = me.add_destination("email", "a@example.org")
    me.add_rule("package", "kernel")
    assert loader.full() == 1 and index.rule_count == 0  # unverified: nothing indexed
    me.verify_destination(dest.id, token)
    assert loader.refresh() == 1 and index.rule_count == 1
    me.set_paused(True)
    assert loader.refresh() == 1 and index.rule_count == 0
    assert loader.refresh() == 0


def test_pkgdb_bodies(store: Store) -> None:
    t = "org.fedoraproject.prod.pkgdb"
    assert pkgdb.apply(store, f"{t}.owner.update", {"package": "kernel", "user": "alice",
                                                    "relation": "owner"}) == 1  # fmt: skip
    legacy = {"package_listing": {"package": {"name": "kernel"}, "point_of_contact": "bob"},
              "previous_owner": "alice"}  # fmt: skip
    assert pkgdb.apply(store, f"{t}.owner.update", legacy) == 2
    assert store.user("alice").list_packages() == []
    assert [p.relation for p in store.user("bob").list_packages()] == ["owner"]
    acl = {"acl": {"fas_name": "carol", "acl": "watchcommits", "status": "Approved",
                   "packagelisting": {"package": {"name": "bash"}}}}  # fmt: skip
    assert pkgdb.apply(store, f"{t}.acl.update", acl) == 1
    store.user("carol").add_package("vim")  # manual: PkgDB never removes it
    assert pkgdb.apply(store, f"{t}.acl.update", {"package": "vim", "user": "carol",
                                                  "action": "removed"}) == 0  # fmt: skip
    assert pkgdb.apply(store, f"{t}.x", {"package": "../etc", "user": "carol"}) == 0
    assert pkgdb.apply(store, f"{t}.x", ["not", "a", "dict"]) == 0
    assert sorted(p.package for p in store.user("carol").list_packages()) == ["bash", "vim"]


def test_pkgdb_in_fedbus_own_schemas(store: Store) -> None:
    """The bodies of fedbus_messages.pkgdb, as the package database publishes them."""
    from fedbus_messages.pkgdb import (
        PackageAclUpdateV1,
        PackageNewV1,
        PackageOwnerUpdateV1,
    )

    t = "org.fedoraproject.prod.pkgdb.package"
    for cls in (PackageNewV1, PackageOwnerUpdateV1, PackageAclUpdateV1):
        cls(topic="org.fedoraproject.prod." + cls.topic_pattern.split(".*.")[1],
            body=cls.example).validate()  # the bodies below are valid examples
    new = {"package": "python-fedbus", "agent": "alice", "owner": "alice"}
    assert pkgdb.apply(store, f"{t}.new", new) == 1
    assert [(p.package, p.relation) for p in store.user("alice").list_packages()] == [
        ("python-fedbus", "owner")
    ]
    moved = {"package": "python-fedbus", "agent": "alice", "owner": "bob",
             "previous_owner": "alice"}  # fmt: skip
    assert pkgdb.apply(store, f"{t}.owner.update", moved) == 2
    assert store.user("alice").list_packages() == []
    assert [p.relation for p in store.user("bob").list_packages()] == ["owner"]

    def acl(user: str, kind: str, status: str) -> dict[str, str]:
        return {"package": "bash", "agent": "admin", "user": user, "acl": kind,
                "status": status}  # fmt: skip

    assert pkgdb.apply(store, f"{t}.acl.update", acl("carol", "commit", "Approved")) == 1
    assert [p.relation for p in store.user("carol").list_packages()] == ["comaintainer"]
    assert pkgdb.apply(store, f"{t}.acl.update", acl("carol", "commit", "Removed")) == 1
    assert store.user("carol").list_packages() == []
    assert pkgdb.apply(store, f"{t}.acl.update", acl("dave", "watchcommits", "Approved")) == 1
    assert [p.relation for p in store.user("dave").list_packages()] == ["watcher"]
    assert pkgdb.apply(store, f"{t}.acl.update", acl("@kernel-sig", "commit", "Approved")) == 0
    assert pkgdb.apply(store, f"{t}.acl.update", acl("erin", "ticket", "Approved")) == 0


def test_commit_mail_rendering() -> None:
    body = {"agent": "carol", "commit": {
        "name": "Carol", "email": "c@x.org", "username": "carol", "summary": "Fix it",
        "message": "Fix it\n", "stats": {"files": {}, "total": {}}, "rev": "f" * 40,
        "path": "/x", "repo": "kernel", "namespace": "rpms", "branch": "f41",
        "patch": "+new line\n", "date": "2026-01-01", "url": "https://src/x"}}  # fmt: skip
    m = CommitV1(topic="org.fedoraproject.prod.git.receive", body=body)
    dests = [DestinationEntry(1, "email", "a@x.org"), DestinationEntry(2, "irc", "alice")]
    notes = [Notification((Target(7, "alice", d), [3, 1])) for d in dests]
    mail, irc = jobs_for(m, notes, "https://n.test")
    assert mail.subject == "[rpms/kernel] f41: Fix it" and "+new line" in mail.text
    assert "rules #1, #3" in mail.text and "https://n.test/settings/rules" in mail.text
    assert irc.subject == "" and "\n" not in irc.text and irc.text.endswith("https://src/x")
    assert mail.key == f"{m.id}/7/1" and Job.decode(mail.encode()) == mail


def test_a_commit_seen_on_another_branch_of_the_push_is_a_repeat() -> None:
    topic = "org.fedoraproject.prod.git.receive"
    assert is_repeat(topic, {"commit": {"seen": True}})
    assert not is_repeat(topic, {"commit": {"seen": False}})
    assert not is_repeat(topic, {"commit": {}})
    assert not is_repeat("org.fedoraproject.prod.bus.queue.created", {"commit": {"seen": True}})
    assert not is_repeat(topic, {"commit": "seen"})


def test_settings_parse_and_errors(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    s = parse({"database_url": "postgresql+psycopg://notifier@db/notifier",
               "database_password_file": "pw", "email": {"port": 587, "starttls": True}},
              base=tmp_path)  # fmt: skip
    assert s.database_url == "postgresql+psycopg://notifier:s3cret@db/notifier"
    assert s.email.port == 587 and s.email.starttls
    for bad, key in (({"emial": {}}, "emial"), ({"email": {"port": "25"}}, "email.port"),
                     ({"irc": {"password_file": "missing"}}, "password_file")):  # fmt: skip
        with pytest.raises(ConfigError) as exc:
            parse(bad, base=tmp_path)
        assert key in str(exc.value)


def test_irc_lines_are_split_within_the_limit() -> None:
    text = "é" * 500 + "\nsecond line\n\n"
    lines = split_text(text)
    assert all(len(line.encode()) <= MAX_BYTES for line in lines)
    assert "".join(lines) == "é" * 500 + " second line"  # one line: no CR/LF ever written


def test_ledger_sends_a_key_once(store: Store) -> None:
    ledger = Ledger(store, stale_after=60)
    job = Job("m1", 1, "alice", 2, "email", "a@x.org", "immediate", "t", "s")
    assert ledger.claim(job) is True
    with pytest.raises(InFlight):
        ledger.claim(job)
    ledger.release(job)  # the send failed: a retry may send
    assert ledger.claim(job) is True
    ledger.sent(job)
    assert ledger.claim(job) is False and ledger.status(job) == "sent"
    stale = Ledger(store, stale_after=0)
    other = Job("m2", 1, "alice", 2, "email", "a@x.org", "immediate", "t", "s")
    assert stale.claim(other) and stale.claim(other)  # a dead sender's claim is taken over


def test_digest_composition_is_capped_and_repeatable(store: Store) -> None:
    me = store.user("alice")
    dest, token = me.add_destination("email", "a@x.org", delivery="hourly", digest_cap=3)
    assert me.verify_destination(dest.id, token)  # the digest keeps jobs of verified ones only
    digests = Digests(store, None, "https://n.test")  # type: ignore[arg-type]
    for i in range(5):
        digests.keep_sync(Job(f"m{i}", me.user_id, "alice", dest.id, "email", "a@x.org",
                              "hourly", "t", f"summary {i}"))  # fmt: skip
    digests.keep_sync(Job("m4", me.user_id, "alice", dest.id, "email", "a@x.org", "hourly",
                          "t", "summary 4"))  # a redelivered job: kept once  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert digests.due(now) == []
    assert digests.due(now + dt.timedelta(hours=1, seconds=1)) == [dest.id]
    first = digests.compose(dest.id)
    again = digests.compose(dest.id)  # interrupted before publishing: the same digest
    assert first is not None and again is not None and first.message_id == again.message_id
    assert "5 notification(s)" in first.subject and "… and 2 more" in first.text
    assert "summary 4" in first.text and "summary 0" not in first.text
    digests.done(dest.id, int(first.message_id[7:]), now)
    assert digests.compose(dest.id) is None


def test_facts_through_accessors_of_any_schema() -> None:
    from fedora_messaging.message import Message

    from fedbus.notifier.facts import facts_of, summary_of

    class Broken(Message):
        @property
        def usernames(self) -> list[str]:
            raise KeyError("owner")

        @property
        def packages(self) -> list[str]:
            return ["kernel", "kernel", "", 3]  # type: ignore[list-item]

    from fedora_messaging import message as fm

    fm._schema_name_to_class["test.broken"] = Broken  # as an installed package's entry point
    fm._class_to_schema_name[Broken] = "test.broken"
    m = Broken(topic="org.fedoraproject.prod.koji.build.state.change", body={})
    f = facts_of(m)
    assert f.usernames == () and f.packages == ("kernel",) and f.services == {"koji"}
    assert summary_of(m)  # the base class's summary, or the topic: never empty
    body = {"agent": "carol", "commit": {"repo": "kernel", "namespace": "rpms"}}
    g = facts_of(CommitV1(topic="org.fedoraproject.prod.git.receive", body=body))
    assert g.agent == "carol" and g.usernames == ("carol",) and g.packages == ("kernel",)
    assert g.services == {"git"}


@pytest.mark.parametrize("package", [None, 3, ["rpm"]])
def test_a_pkgdb_message_without_a_package_name_changes_nothing(package: object) -> None:
    for topic, body in [
        ("org.fedoraproject.prod.pkgdb.package.new", {"owner": "alice"}),
        ("org.fedoraproject.prod.pkgdb.package.owner.update",
         {"owner": "alice", "previous_owner": "bob"}),
        ("org.fedoraproject.prod.pkgdb.package.acl.update",
         {"user": "alice", "acl": "commit", "status": "Approved"}),
    ]:
        assert pkgdb.changes_in(topic, {**body, "package": package}) == []
