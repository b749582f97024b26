"""The wedges' systemd units (roles/wedges/templates/systemd) render every option: the
lists and dicts looped over (Bugzilla's products, NetApp's volumes) end up on ExecStart."""

from __future__ import annotations

import shlex
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parents[3] / "roles" / "wedges" / "templates" / "systemd"


def exec_start(name: str, **variables: object) -> list[str]:
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)  # as Ansible
    env.filters["quote"] = shlex.quote
    text = env.from_string((TEMPLATES / name).read_text()).render(
        ansible_managed="managed", wedges_fedbus="/opt/fedbus/venv/bin/fedbus-wedge",
        **variables)
    line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_bugzilla_poll_gets_every_product_and_the_key() -> None:
    argv = exec_start("fedbus-bugzilla-poll.service.j2", wedges_bugzilla_url="https://bz",
                      wedges_bugzilla_interval=10, wedges_bugzilla_api_key="k",
                      wedges_bugzilla_products=["Fedora", "Fedora EPEL"],
                      wedges_bugzilla_metrics_address="")
    assert "--metrics" not in argv
    assert argv[argv.index("bugzilla-poll") + 1:] == [
        "--url", "https://bz", "--interval", "10", "--users",
        "/etc/fedbus/bugzilla-users.toml", "--product", "Fedora",
        "--product", "Fedora EPEL", "--api-key-file", "/etc/fedbus/bugzilla-api-key"]


def test_webhook_gets_its_limits_and_the_bugzilla_policy() -> None:
    argv = exec_start("fedbus-webhook.service.j2", wedges_webhook_listen="127.0.0.1:8095",
                      wedges_webhook_request_timeout=10, wedges_webhook_max_connections=64,
                      wedges_bugzilla_products=["Fedora", "Fedora EPEL"],
                      wedges_webhook_metrics_address="127.0.0.1:9644")
    assert argv[:5] == ["/opt/fedbus/venv/bin/fedbus-wedge", "--config", "/etc/fedbus/fedbus.toml",
                        "--metrics", "127.0.0.1:9644"]
    assert argv[argv.index("webhook") + 1:] == [
        "--listen", "127.0.0.1:8095", "--tokens", "/etc/fedbus/webhook-tokens.toml",
        "--request-timeout", "10", "--max-connections", "64",
        "--bugzilla-users", "/etc/fedbus/bugzilla-users.toml",
        "--bugzilla-product", "Fedora", "--bugzilla-product", "Fedora EPEL"]


def test_netapp_watch_gets_every_volume() -> None:
    argv = exec_start("fedbus-netapp-watch.service.j2", wedges_netapp_url="https://filer",
                      wedges_netapp_max_lag=3600, wedges_netapp_interval=30,
                      wedges_netapp_user="ro", wedges_netapp_ca="/ca.pem",
                      wedges_netapp_volumes={"svm:b": "tree-b", "svm:a": "tree a"},
                      wedges_netapp_metrics_address="127.0.0.1:9645")
    assert argv[argv.index("--metrics") + 1:argv.index("netapp-watch")] == ["127.0.0.1:9645"]
    assert argv[argv.index("netapp-watch") + 1:] == [
        "--url", "https://filer", "--max-lag", "3600", "--interval", "30", "--user", "ro",
        "--password-file", "/etc/fedbus/netapp-password", "--ca", "/ca.pem",
        "--volume", "svm:a=tree a", "--volume", "svm:b=tree-b"]


def test_the_mirror_agent_serves_its_metrics() -> None:
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    path = (TEMPLATES.parents[1].parent / "mirror" / "templates" / "etc" / "systemd" / "system"
            / "fedbus-mirror.service.j2")

    def argv(address: str) -> list[str]:
        text = env.from_string(path.read_text()).render(
            ansible_managed="m", mirror_mode="tier1", mirror_name="dl01", mirror_volume="pub",
            mirror_user="fedbus", mirror_fedbus_bin="/opt/fedbus/venv/bin/fedbus",
            mirror_tree="/srv/mirror/pub", mirror_metrics_address=address)
        line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
        return shlex.split(line.removeprefix("ExecStart="))

    assert argv("127.0.0.1:9643")[3:6] == ["--metrics", "127.0.0.1:9643", "mirror"]
    assert argv("")[3] == "mirror"
