"""Every inventory is a deployable bus: its structure, checked as Ansible sees it.

Each inventory is loaded with ``ansible-inventory`` (groups, hosts) and each host's
variables are templated by Ansible itself (``ansible -m debug`` on the controller,
no connection) with the local example vault as extra vars — plus stand-in PEMs for
``broker_tls_mode=provided`` — so a mapping that names a missing vault key, a relay
account that is not in the accounts table or a tier-2 that follows no tier-1 fails
here, not in a rollout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
VAULT = ROOT / "inventories" / "local" / "group_vars" / "all" / "vault.yml"
VAULT_ID = f"local@{ROOT / 'inventories' / 'local' / 'vault-password.txt'}"
ENVS = ["local", "publictest", "stg", "prod"]
BROKERS = {"local": 1, "publictest": 1, "stg": 3, "prod": 3}
RELAY_GROUPS = ["bus_relays", "bus_wedges", "bus_notifiers", "bus_mirrors"]
TLS_KEYS = {"vault_broker_tls_certs", "vault_broker_tls_keys", "vault_broker_tls_ca_cert"}

# What each wedge publishes (docs/wedges.md); the host's account must allow all of it.
WEDGE_TOPICS = {
    "git": ["git.receive"],
    "koji": [
        "buildsys.build.state.change",
        "buildsys.tag",
        "buildsys.untag",
        "buildsys.task.state.change",
        "buildsys.repo.init",
        "buildsys.repo.done",
        "buildsys.package.list.change",
    ],
    "pungi": [
        "pungi.compose.status.change",
        "pungi.compose.phase.start",
        "pungi.compose.createiso.imagedone",
        "pungi.compose.fail.to.start",
        "pungi.compose.image.build.done",
    ],
    "zabbix": [
        "zabbix.trigger.problem",
        "zabbix.trigger.recovery",
        "zabbix.trigger.update",
        "zabbix.service.problem",
        "zabbix.service.recovery",
        "zabbix.service.update",
        "zabbix.internal.problem",
        "zabbix.internal.recovery",
        "zabbix.discovery.status",
        "zabbix.agent.registered",
    ],
    "netapp": ["netapp.snapmirror.out_of_sync", "netapp.snapmirror.in_sync"],
    "bugzilla": ["bugzilla.bug.new", "bugzilla.bug.update"],
}
# Services of the webhook endpoint and of the Python hook API (their own topics).
SERVICE_TOPICS = {
    "bodhi": ["bodhi.update.comment", "bodhi.update.request.stable"],
    "pkgdb": ["pkgdb.package.new", "pkgdb.package.acl.update"],
    "fas": ["fas.user.create", "fas.group.member.sponsor"],
    "autoqa": ["autoqa.result.complete"],
    "bugzilla": ["bugzilla.bug.new", "bugzilla.bug.update"],
}

# Templated per host by Ansible: what the roles will get on that host.
PROBE = {
    "environment": "{{ fedbus_environment }}",
    "prefix": "{{ fedbus_topic_prefix }}",
    "accounts": "{{ fedbus_accounts | map(attribute='name') | list }}",
    "publish": (
        "{{ dict(fedbus_accounts | map(attribute='name')"
        " | zip(fedbus_accounts | map(attribute='publish', default=[]))) }}"
    ),
    "consume": (
        "{{ dict(fedbus_accounts | map(attribute='name')"
        " | zip(fedbus_accounts | map(attribute='consume', default=[]))) }}"
    ),
    "account_password_min": (
        "{{ fedbus_accounts | map(attribute='password') | map('length') | min }}"
    ),
    "broker_hosts": "{{ fedbus_broker_hosts }}",
    "broker_tls_mode": "{{ broker_tls_mode | default('collection_ca') }}",
    "broker_queue_type": "{{ broker_queue_type | default('classic') }}",
    "broker_cookie_length": "{{ broker_erlang_cookie | default('') | length }}",
    "broker_admin_password_length": "{{ broker_admin_password | length }}",
    "broker_tls_pems": (
        "{{ [broker_tls_cert, broker_tls_key, broker_tls_ca_cert] | map('length') | min > 0"
        " if broker_tls_mode | default('') == 'provided'"
        " and inventory_hostname in groups['bus_brokers'] else none }}"
    ),
    "runtime_account": "{{ runtime_account | default('') }}",
    "relay_password_length": "{{ runtime_password | length if runtime_account is defined else 0 }}",
    "relay_ca_cert_length": "{{ runtime_ca_cert | default('') | length }}",
    "runtime_spool_writers": "{{ runtime_spool_writers | default([]) }}",
    "wedges_enabled": "{{ wedges_enabled | default([]) }}",
    "webhook_tokens": (
        "{{ wedges_webhook_tokens | default({}) | dict2items"
        " | map(attribute='value') | map('length') | list }}"
    ),
    "webhook_services": "{{ wedges_webhook_tokens | default({}) | list }}",
    "git_repositories": "{{ wedges_git_repositories | default([]) }}",
    "netapp_url": "{{ wedges_netapp_url | default('') }}",
    "netapp_password_length": "{{ wedges_netapp_password | default('') | length }}",
    "notifier_database": "{{ notifier_database | default('sqlite') }}",
    "notifier_db_password_length": "{{ notifier_postgresql_password | default('') | length }}",
    "notifier_secret_key_length": "{{ notifier_secret_key | length }}",
    "notifier_local_login": (
        "{{ notifier_web_local_login | default(fedbus_environment in ['local', 'publictest']) }}"
    ),
    "notifier_admin_password_length": "{{ notifier_web_admin_password | default('') | length }}",
    "notifier_smarthost": "{{ notifier_mta_smarthost | default('') }}",
    "notifier_base_url": "{{ notifier_base_url | default('') }}",
    "notifier_web_bind": "{{ notifier_web_bind | default('127.0.0.1:8080') }}",
    "notifier_web_proxies": "{{ notifier_web_trusted_proxies | default([]) }}",
    "notifier_web_proxy_networks": "{{ notifier_web_trust_proxy_networks | default(false) }}",
    "notifier_web_tls_length": "{{ notifier_web_tls_cert | default('') | length }}",
    "notifier_web_insecure_http": "{{ notifier_web_insecure_http | default(false) }}",
    "mirror_mode": "{{ mirror_mode | default('') }}",
    "mirror_upstream_host": "{{ mirror_upstream_host | default('') }}",
    "mirror_name": "{{ mirror_name | default(inventory_hostname) }}",
    "monitoring_vhost": "{{ monitoring_vhost | default('') }}",
    "monitoring_alerts": (
        "{{ (monitoring_accounts | fedora.bus.bus_alert_rules(vhost=monitoring_vhost)).groups"
        " | map(attribute='rules') | flatten | map(attribute='alert') | unique | list"
        " if inventory_hostname in groups.get('bus_monitoring', []) else [] }}"
    ),
    "monitoring_prometheus_host": "{{ monitoring_prometheus_host | default(false) }}",
}


@dataclass(frozen=True)
class Inventory:
    env: str
    groups: dict[str, list[str]]
    hosts: dict[str, dict[str, Any]]  # host -> templated PROBE

    def group(self, name: str) -> list[str]:
        return self.groups.get(name, [])

    def relay_hosts(self) -> list[str]:
        return sorted({h for g in RELAY_GROUPS for h in self.group(g)})


def _ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_VAULT_IDENTITY_LIST=VAULT_ID,
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    return env


def _groups(listing: dict[str, Any], name: str) -> list[str]:
    entry = listing.get(name, {})
    hosts = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        hosts.update(_groups(listing, child))
    return sorted(hosts)


def _stand_in_pems(brokers: list[str]) -> dict[str, Any]:
    cert = "-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nstand-in\n-----END PRIVATE KEY-----\n"
    return {
        "vault_broker_tls_ca_cert": cert,
        "vault_broker_tls_certs": {h: cert for h in brokers},
        "vault_broker_tls_keys": {h: key for h in brokers},
    }


@cache
def load(env: str, workdir: str) -> Inventory:
    source = str(ROOT / "inventories" / env)
    listing = json.loads(
        subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", source, "-e", f"@{VAULT}", "--list"],
            env=_ansible_env(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    groups = {name: _groups(listing, name) for name in listing if name != "_meta"}
    extra = Path(workdir) / f"{env}-extra.json"
    extra.write_text(json.dumps({**_stand_in_pems(groups.get("bus_brokers", [])), "_probe": PROBE}))
    proc = subprocess.run(
        [
            *(str(BIN / "ansible"), "-i", source, "all", "-e", f"@{VAULT}", "-e", f"@{extra}"),
            *("-m", "ansible.builtin.debug", "-a", "var=_probe"),
        ],
        env=_ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]
    hosts = {host: result["_probe"] for host, result in results.items()}
    return Inventory(env, groups, hosts)


@pytest.fixture(params=ENVS)
def inv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    return load(request.param, str(tmp_path_factory.getbasetemp()))


def allowed(prefix: str, globs: list[str], topic: str) -> bool:
    """The broker's own rule (plugins/filter/bus_accounts.py) for a publish."""
    sys.path.insert(0, str(ROOT / "plugins" / "filter"))
    try:
        from bus_accounts import topic_glob_to_regex
    finally:
        sys.path.pop(0)
    full = f"{prefix}.{topic}"
    return any(re.search(topic_glob_to_regex(prefix, g), full) for g in globs)


def test_groups_and_cluster_size(inv: Inventory) -> None:
    for group in ["bus_brokers", "bus_wedges", "bus_notifiers", "bus_mirrors"]:
        assert inv.group(group), f"{inv.env}: group {group} is empty"
    if inv.env != "local":
        assert inv.group("bus_relays"), f"{inv.env}: no hook-API host in bus_relays"
    assert len(inv.group("bus_brokers")) == BROKERS[inv.env]
    for host in inv.hosts.values():
        assert host["environment"] == inv.env
        assert host["broker_hosts"] == inv.group("bus_brokers")


def test_broker_cluster_settings(inv: Inventory) -> None:
    brokers = inv.group("bus_brokers")
    for name in brokers:
        host = inv.hosts[name]
        assert host["broker_admin_password_length"] >= 12
        if len(brokers) > 1:
            assert host["broker_cookie_length"] >= 20, f"{name}: a cluster needs the cookie"
            assert host["broker_queue_type"] == "quorum", f"{name}: a cluster runs quorum queues"
        else:
            assert host["broker_queue_type"] == "classic"
        expected_tls = "provided" if inv.env in ("stg", "prod") else "collection_ca"
        assert host["broker_tls_mode"] == expected_tls
        if expected_tls == "provided":
            assert host["broker_tls_pems"] is True, f"{name}: its certificate, key and CA"
    if inv.env in ("stg", "prod"):
        for name in inv.relay_hosts():
            assert inv.hosts[name]["relay_ca_cert_length"] > 0, f"{name}: the brokers' CA"


def test_every_relay_host_has_an_account_of_the_table(inv: Inventory) -> None:
    for group in RELAY_GROUPS:
        for other in RELAY_GROUPS:
            if group < other:
                both = set(inv.group(group)) & set(inv.group(other))
                assert not both, f"{sorted(both)} in both {group} and {other}"
    assert not set(inv.relay_hosts()) & set(inv.group("bus_brokers"))
    for name in inv.relay_hosts():
        host = inv.hosts[name]
        assert host["runtime_account"] in host["accounts"], f"{name}: {host['runtime_account']!r}"
        assert host["relay_password_length"] >= 12, f"{name}: relay password from the vault"
        assert host["account_password_min"] >= 12


def test_hook_api_hosts_publish_their_service(inv: Inventory) -> None:
    for name in inv.group("bus_relays"):
        host = inv.hosts[name]
        account = host["runtime_account"]
        assert account in ("bodhi", "pkgdb", "fas", "autoqa"), f"{name}: {account}"
        for topic in SERVICE_TOPICS[account]:
            assert allowed(host["prefix"], host["publish"][account], topic), (name, topic)


def test_every_wedge_host_may_publish_what_its_wedges_publish(inv: Inventory) -> None:
    for name in inv.group("bus_wedges"):
        host = inv.hosts[name]
        wedges = host["wedges_enabled"]
        assert wedges, f"{name}: in bus_wedges without wedges_enabled"
        globs = host["publish"][host["runtime_account"]]
        topics = [t for w in wedges if w != "webhook" for t in WEDGE_TOPICS[w]]
        if "webhook" in wedges:
            services = host["webhook_services"]
            assert services, f"{name}: the webhook needs tokens"
            assert min(host["webhook_tokens"]) >= 16
            topics += [t for s in services for t in SERVICE_TOPICS[s]]
        for topic in topics:
            assert allowed(host["prefix"], globs, topic), (
                f"{name}: account {host['runtime_account']} may not publish {topic}"
            )
        if "git" in wedges:
            assert host["git_repositories"], f"{name}: the hook needs its repositories"
        if "netapp" in wedges:
            assert host["netapp_url"].startswith("https://")
            assert host["netapp_password_length"] > 0


def test_the_notifier(inv: Inventory) -> None:
    notifiers = inv.group("bus_notifiers")
    assert len(notifiers) == 1
    host = inv.hosts[notifiers[0]]
    assert host["runtime_account"] == "notifier"
    assert host["notifier_secret_key_length"] >= 16
    assert host["notifier_smarthost"], "mail goes through a smarthost"
    assert host["notifier_base_url"].startswith("http")
    # Each trusted proxy is one host; off loopback the web UI serves HTTPS (plain HTTP only
    # on the operator's own containers).
    assert host["notifier_web_proxy_networks"] is False
    for cidr in host["notifier_web_proxies"]:
        assert cidr.endswith("/128" if ":" in cidr else "/32"), cidr
    if not host["notifier_web_bind"].startswith(("127.", "localhost:", "[::1]:")):
        if inv.env == "local":
            assert host["notifier_web_insecure_http"] is True
        else:
            assert host["notifier_web_tls_length"] > 0
            assert host["notifier_web_insecure_http"] is False
    if inv.env in ("stg", "prod"):
        assert host["notifier_database"] == "postgresql"
        assert host["notifier_db_password_length"] >= 12
        assert host["notifier_local_login"] is False
        assert host["notifier_base_url"].startswith("https://")
    else:
        assert host["notifier_database"] in ("sqlite", "postgresql")
        assert host["notifier_local_login"] is True
        assert host["notifier_admin_password_length"] >= 12


def test_mirror_tiers(inv: Inventory) -> None:
    by_mode: dict[str, list[str]] = {"master": [], "tier1": [], "tier2": []}
    for name in inv.group("bus_mirrors"):
        by_mode[inv.hosts[name]["mirror_mode"]].append(name)
    assert by_mode["master"] and by_mode["tier1"] and by_mode["tier2"]
    upstream_mode = {"tier1": "master", "tier2": "tier1"}
    for name in inv.group("bus_mirrors"):
        host = inv.hosts[name]
        mode = host["mirror_mode"]
        assert host["runtime_account"] == f"mirror-{mode}"
        if mode == "master":
            continue
        assert host["mirror_upstream_host"] in by_mode[upstream_mode[mode]], (
            f"{name} ({mode}) follows {host['mirror_upstream_host']!r}, "
            f"not a {upstream_mode[mode]} host"
        )
        queue = f"mirror-{mode}-{host['mirror_name']}"
        owned = host["consume"][host["runtime_account"]]
        assert any(re.fullmatch(g.replace(".", r"\.").replace("*", ".*"), queue) for g in owned)
    names = [inv.hosts[n]["mirror_name"] for n in inv.group("bus_mirrors")]
    assert len(names) == len(set(names))


def test_host_names(inv: Inventory) -> None:
    names = sorted(inv.hosts)
    shorts = [n.split(".")[0] for n in names]
    assert len(shorts) == len(set(shorts)), "short names name the check containers"
    if inv.env == "local":
        return
    for name in names:
        assert name.endswith(".fedoraproject.org"), name
        marks = {e for e in ("stg", "publictest") if f".{e}." in name}
        assert marks == ({inv.env} if inv.env != "prod" else set()), f"{name} in {inv.env}"


def _vault_keys_used() -> set[str]:
    used: set[str] = set()
    for env in ["common", "publictest", "stg", "prod"]:
        for path in (ROOT / "inventories" / env).rglob("*.yml"):
            used.update(re.findall(r"\bvault_[a-z0-9_]+", path.read_text()))
    return used


def test_every_vault_key_is_documented_and_in_the_example_vault() -> None:
    doc = (ROOT / "docs" / "inventories.md").read_text()
    documented = set(re.findall(r"`(vault_[a-z0-9_]+)`", doc))
    plain = subprocess.run(
        [str(BIN / "ansible-vault"), "view", "--vault-id", VAULT_ID, str(VAULT)],
        env=_ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    example = set(re.findall(r"^(vault_[a-z0-9_]+):", plain, re.MULTILINE))
    used = _vault_keys_used()
    assert used, "the inventories use vault keys"
    assert used - documented == set(), "document these keys in docs/inventories.md"
    assert example - documented == set()
    assert used - TLS_KEYS - example == set(), "the example vault lacks these keys"


@pytest.mark.parametrize("env", ENVS)
def test_every_environment_reads_the_one_shared_accounts_table(env: str) -> None:
    """inventories/common/bus.yml is the one accounts table: each environment's
    group_vars/all/bus.yml is a symlink to it, never a copy that drifts from it."""
    link = ROOT / "inventories" / env / "group_vars" / "all" / "bus.yml"
    assert link.is_symlink(), f"{link.relative_to(ROOT)}: must be a symlink to common/bus.yml"
    assert link.resolve() == (ROOT / "inventories" / "common" / "bus.yml").resolve()


def test_the_alert_rules(inv: Inventory) -> None:
    """bus_monitoring: one host writes the environment's rules, for its own vhost."""
    hosts = inv.group("bus_monitoring")
    assert len(hosts) == 1, f"{inv.env}: one host writes the alert rules, not {hosts}"
    host = inv.hosts[hosts[0]]
    assert host["monitoring_vhost"] == inv.env
    assert {"FedbusQueueBacklog", "FedbusBrokerNodeDown", "FedbusMirrorLagging"} <= set(
        host["monitoring_alerts"]
    )
    if not host["monitoring_prometheus_host"]:
        # Without a Prometheus of its own the host is one of the bus's (the broker).
        assert hosts[0] in inv.group("bus_brokers")
