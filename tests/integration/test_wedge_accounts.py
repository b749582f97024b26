"""Each wedge's broker account (from THE accounts table, through the broker role's filter)
may publish its own topics and is refused (403) on another service's."""

from __future__ import annotations

import importlib.util
import urllib.parse
import uuid
from pathlib import Path

import pika
import pytest
import yaml
from pika.exceptions import ChannelClosedByBroker

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "bus_accounts", ROOT / "plugins" / "filter" / "bus_accounts.py")
assert _spec and _spec.loader
bus_accounts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_accounts)

PREFIX = "org.fedoraproject.local"
# wedge account -> (a topic it publishes, another service's topic)
WEDGES = {
    "koji": ("buildsys.build.state.change", "git.receive"),
    "git": ("git.receive", "buildsys.tag"),
    "pungi": ("pungi.compose.status.change", "bodhi.update.comment"),
    "bodhi": ("bodhi.update.comment", "pkgdb.package.new"),
    "pkgdb": ("pkgdb.package.owner.update", "fas.user.create"),
    "fas": ("fas.group.member.sponsor", "autoqa.result.complete"),
    "autoqa": ("autoqa.result.complete", "bugzilla.bug.new"),
    "bugzilla": ("bugzilla.bug.update", "zabbix.trigger.problem"),
    "zabbix": ("zabbix.trigger.recovery", "netapp.snapmirror.in_sync"),
    "netapp": ("netapp.snapmirror.out_of_sync", "pungi.compose.status.change"),
    "webhook": ("fas.user.update", "buildsys.tag"),
}


@pytest.fixture(scope="module")
def accounts(broker) -> dict[str, dict]:
    """The wedge accounts of inventories/local/group_vars/all/bus.yml on a fresh vhost."""
    table = yaml.safe_load((ROOT / "inventories/local/group_vars/all/bus.yml").read_text())
    tag = uuid.uuid4().hex[:6]
    vhost = f"test-accounts-{tag}"
    rows = [{**a, "name": f"{tag}-{a['name']}", "password": f"pw-{tag}-0123456789"}
            for a in table["fedbus_accounts"] if a["name"] in WEDGES]
    assert sorted(a["name"].split("-", 1)[1] for a in rows) == sorted(WEDGES)
    qv = urllib.parse.quote(vhost, safe="")
    broker.api("PUT", f"vhosts/{qv}")
    users = bus_accounts.broker_users(rows, PREFIX, vhost)
    for u in users:
        broker.api("PUT", f"users/{u['user']}", {"password": u["password"], "tags": u["tags"]})
        p = u["permissions"][0]
        broker.api("PUT", f"permissions/{qv}/{u['user']}",
                   {"configure": p["configure_priv"], "write": p["write_priv"],
                    "read": p["read_priv"]})
        t = u["topic_permissions"][0]
        broker.api("PUT", f"topic-permissions/{qv}/{u['user']}",
                   {"exchange": t["exchange"], "write": t["write_priv"], "read": t["read_priv"]})
    yield {u["user"].split("-", 1)[1]: {"user": u["user"], "password": u["password"],
                                        "vhost": vhost} for u in users}
    for u in users:
        broker.api("DELETE", f"users/{u['user']}")
    broker.api("DELETE", f"vhosts/{qv}")


def publish(broker, account: dict, topic: str) -> None:
    url = broker.amqp_url(account["vhost"], user=account["user"], password=account["password"])
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("amq.topic", f"{PREFIX}.{topic}", b"{}")


@pytest.mark.parametrize("wedge", sorted(WEDGES))
def test_own_topic_accepted_foreign_topic_refused(broker, accounts, wedge):
    own, foreign = WEDGES[wedge]
    publish(broker, accounts[wedge], own)
    with pytest.raises(ChannelClosedByBroker) as refused:
        publish(broker, accounts[wedge], foreign)
    assert refused.value.reply_code == 403 and "ACCESS_REFUSED" in refused.value.reply_text
