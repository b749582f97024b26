"""Templates of roles/relay and roles/notifier, rendered as Ansible renders them: the relay's
fedbus.toml names its password file and holds no password; the web unit serves HTTPS when
the role has a certificate; notifier.toml lists the IRC channels."""

from __future__ import annotations

import json
import shlex
import tomllib
import urllib.parse
from pathlib import Path

import jinja2

from fedbus.config import parse

ROOT = Path(__file__).resolve().parents[3]


def render(path: str, **variables: object) -> str:
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)  # as Ansible
    env.filters["to_json"] = json.dumps
    env.filters["urlencode"] = lambda v: urllib.parse.quote(str(v), safe="")
    env.filters["ternary"] = lambda v, yes, no: yes if v else no
    env.filters["bool"] = bool
    return env.from_string((ROOT / path).read_text()).render(ansible_managed="managed",
                                                            **variables)


RELAY = {
    "inventory_hostname": "koji01", "runtime_environment": "stg",
    "runtime_topic_prefix": "org.fedoraproject.stg", "runtime_broker_hosts": ["bus01", "bus02"],
    "runtime_broker_port": 5671, "runtime_vhost": "stg", "runtime_account": "koji",
    "runtime_password": "s3cret-p@ss/word", "runtime_user": "fedbus",
    "runtime_spool_dir": "/var/spool/fedbus/relay", "runtime_spool_max_bytes": 1024,
    "runtime_spool_max_messages": 10, "runtime_spool_fsync": False, "runtime_extra_config": {},
}


def test_fedbus_toml_names_the_password_file_and_holds_no_password() -> None:
    text = render("roles/runtime/templates/etc/fedbus/fedbus.toml.j2", **RELAY)
    assert "s3cret" not in text and "p%40ss" not in text
    cfg = parse(tomllib.loads(text))
    assert cfg.amqp.user == "koji"
    assert cfg.amqp.password_file == Path("/etc/fedbus/amqp.password")
    assert cfg.amqp.urls == ("amqps://bus01:5671/", "amqps://bus02:5671/")


def test_the_relay_unit_joins_the_spool_group() -> None:
    text = render("roles/relay/templates/etc/systemd/system/fedbus-relay.service.j2",
                  **RELAY, runtime_spool_group="fedbus-spool", runtime_install_dir="/opt/fedbus",
                  relay_window=500, relay_status_interval=60, relay_max_nacks=5,
                  relay_metrics_address="127.0.0.1:9641")
    assert "Group=fedbus\n" in text and "SupplementaryGroups=fedbus-spool\n" in text
    assert " --metrics 127.0.0.1:9641 relay --window 500 --max-nacks 5 " in text


def _bridge_exec(**variables: object) -> list[str]:
    text = render("roles/bridge/templates/etc/systemd/system/fedbus-bridge.service.j2",
                  runtime_user="fedbus", runtime_install_dir="/opt/fedbus",
                  bridge_events_vhost="stg", bridge_queue="fedbus.bridge", **variables)
    lines = [x for x in text.splitlines() if x.startswith("ExecStart=")]
    assert len(lines) == 1 and "Restart=always" in text.splitlines(), text
    return shlex.split(lines[0].removeprefix("ExecStart="))


def test_the_bridge_unit_takes_its_vhosts_and_metrics_address() -> None:
    argv = _bridge_exec(bridge_only_vhosts=["stg", "stg-two"],
                        bridge_metrics_address="127.0.0.1:9642")
    assert argv[:4] == ["/opt/fedbus/venv/bin/fedbus", "-c", "/etc/fedbus/fedbus.toml", "--metrics"]
    assert argv[4:] == ["127.0.0.1:9642", "bridge", "--events-vhost", "stg", "--queue",
                        "fedbus.bridge", "--only-vhost", "stg", "--only-vhost", "stg-two"]
    assert "--metrics" not in _bridge_exec(bridge_only_vhosts=[], bridge_metrics_address="")


def notifier_vars(**defaults: object) -> dict[str, object]:
    """The role's internal variables of roles/notifier/vars/main.yml (metrics, command
    line), rendered from ``defaults`` as Ansible renders them."""
    import yaml

    raw = yaml.safe_load((ROOT / "roles/notifier/vars/main.yml").read_text())
    known: dict[str, object] = {"notifier_install_dir": "/opt/fedbus",
                                "notifier_metrics_address": "127.0.0.1:9650", **defaults}
    for name in ("_notifier_fedbus_bin", "_notifier_fedbus_cmd", "_notifier_fedbus",
                 "_notifier_metrics_host", "_notifier_metrics_port"):
        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        known[name] = env.from_string(str(raw[name])).render(**known)
    known["_notifier_metrics_offsets"] = raw["_notifier_metrics_offsets"]
    return known


def _unit(name: str, **variables: object) -> str:
    return render(f"roles/notifier/templates/etc/systemd/system/{name}.j2",
                  notifier_database="sqlite", notifier_user="fedbus", notifier_web_workers=2,
                  notifier_digest_interval=60, notifier_mta_configure=True,
                  **{**notifier_vars(**{k: v for k, v in variables.items()
                                        if k == "notifier_metrics_address"}), **variables})


def _exec(text: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def _web_exec(**variables: object) -> list[str]:
    return _exec(_unit("fedbus-notifier-web.service", **variables))


def test_each_notifier_unit_serves_its_metrics_on_its_own_port() -> None:
    base = ["/opt/fedbus/venv/bin/fedbus", "-c", "/etc/fedbus/fedbus.toml"]
    tail = ["notifier", "--settings", "/etc/fedbus/notifier.toml"]
    digest = _exec(_unit("fedbus-notifier-digest.service"))
    assert digest == [*base, "--metrics", "127.0.0.1:9650", *tail, "digest", "--interval", "60"]
    web = _web_exec(notifier_web_bind="127.0.0.1:8080", notifier_web_tls_cert="")
    assert web[:9] == [*base, "--metrics", "127.0.0.1:9651", *tail, "web"]
    for unit, command in (("fedbus-notifier-worker@.service", ["worker"]),
                          ("fedbus-notifier-sender@.service", ["sender", "--type", "%i"])):
        text = _unit(unit)
        assert "EnvironmentFile=/etc/fedbus/notifier-metrics.env\n" in text
        kind = "WORKER" if "worker" in unit else "SENDER"
        assert _exec(text) == [*base, "--metrics", f"${{FEDBUS_METRICS_{kind}_%i}}", *tail,
                               *command]
    env = render("roles/notifier/templates/etc/fedbus/notifier-metrics.env.j2",
                 notifier_workers=3, **notifier_vars())
    pairs = dict(line.split("=", 1) for line in env.splitlines()
                 if line and not line.startswith("#"))
    assert pairs == {"FEDBUS_METRICS_SENDER_email": "127.0.0.1:9652",
                     "FEDBUS_METRICS_SENDER_irc": "127.0.0.1:9653",
                     "FEDBUS_METRICS_WORKER_1": "127.0.0.1:9654",
                     "FEDBUS_METRICS_WORKER_2": "127.0.0.1:9655",
                     "FEDBUS_METRICS_WORKER_3": "127.0.0.1:9656"}


def test_no_notifier_metrics_without_an_address() -> None:
    for unit in ("fedbus-notifier-digest.service", "fedbus-notifier-worker@.service",
                 "fedbus-notifier-sender@.service"):
        text = _unit(unit, notifier_metrics_address="")
        assert "--metrics" not in text and "EnvironmentFile" not in text
        assert _exec(text)[3:6] == ["notifier", "--settings", "/etc/fedbus/notifier.toml"]


def test_the_web_unit_serves_https_with_a_certificate() -> None:
    argv = _web_exec(notifier_web_bind="0.0.0.0:8080", notifier_web_tls_cert="PEM")
    assert argv[argv.index("--certfile") + 1] == "/etc/fedbus/notifier-web.pem"
    assert argv[argv.index("--keyfile") + 1] == "/etc/fedbus/notifier-web.key"
    assert "--certfile" not in _web_exec(notifier_web_bind="127.0.0.1:8080",
                                         notifier_web_tls_cert="")


def test_notifier_toml_lists_the_irc_channels() -> None:
    variables = {
        "inventory_hostname": "notifs01", "notifier_environment": "stg",
        "_notifier_database_url": "sqlite:////var/lib/fedbus/notifier.sqlite3",
        "notifier_database": "sqlite", "notifier_base_url": "https://notifs",
        "notifier_queue": "notifier", "notifier_bindings": ["org.fedoraproject.stg.#"],
        "notifier_prefetch": 10, "notifier_smtp_host": "localhost", "notifier_smtp_port": 25,
        "notifier_smtp_starttls": False, "notifier_smtp_user": "",
        "notifier_smtp_password": "", "notifier_mail_sender": "notifications@example.org",
        "notifier_smtp_max_attempts": 8, "notifier_irc_server": "irc", "notifier_irc_port": 6667,
        "notifier_irc_nick": "fedbus-notify", "notifier_irc_password": "",
        "notifier_irc_channels": ["#fedora-devel", "&local"],
        "notifier_web_trusted_proxies": ["192.0.2.1/32"],
        "notifier_web_remote_user_header": "X-Remote-User", "notifier_web_local_login": False,
        "notifier_web_admin_user": "admin",
    }
    text = render("roles/notifier/templates/etc/fedbus/notifier.toml.j2", **variables)
    data = tomllib.loads(text)
    assert data["irc"]["channels"] == ["#fedora-devel", "&local"]
    assert data["web"]["trusted_proxies"] == ["192.0.2.1/32"]
