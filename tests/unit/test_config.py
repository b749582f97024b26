"""fedbus.config: defaults, a full file, and one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedbus.client.blocking import pika_parameters
from fedbus.config import Config, load, parse, with_vhost
from fedbus.errors import ConfigError

FULL = """
environment = "stg"

[amqp]
urls = ["amqps://bus01.stg.example.org:5671/%2Fstg", "amqps://bus02.stg.example.org:5671/"]
vhost = "/stg"
heartbeat = 30

[amqp.tls]
ca_cert = "/etc/fedbus/ca.pem"
verify = true

[management]
url = "https://bus01.stg.example.org:15671"
user = "fedbus-stat"
password_file = "mgmt.pass"

[relay]
spool_dir = "/var/spool/fedbus/relay"
max_bytes = 1048576
max_messages = 5000
fsync = false

[consumers.notifier]
queue = "notifier"
bindings = ["org.fedoraproject.stg.#"]
prefetch = 50
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fedbus.toml"
    path.write_text(text)
    return path


def test_full_file(tmp_path: Path) -> None:
    (tmp_path / "mgmt.pass").write_text("s3cret\n")
    cfg = load(_write(tmp_path, FULL))
    assert cfg.environment == "stg"
    assert cfg.topic_prefix == "org.fedoraproject.stg"
    assert cfg.amqp.heartbeat == 30
    assert cfg.amqp.effective_urls() == (
        "amqps://bus01.stg.example.org:5671/%2Fstg",
        "amqps://bus02.stg.example.org:5671/%2Fstg",
    )
    assert cfg.amqp.tls is not None and cfg.amqp.tls.ca_cert == Path("/etc/fedbus/ca.pem")
    assert cfg.management.password == "s3cret"
    assert "s3cret" not in repr(cfg)
    assert cfg.relay.max_bytes == 1048576 and cfg.relay.fsync is False
    notifier = cfg.consumers["notifier"]
    assert notifier.bindings == ("org.fedoraproject.stg.#",)
    assert notifier.prefetch == 50 and notifier.dead_letter == "notifier.dlq"
    assert cfg.source == tmp_path / "fedbus.toml"


def test_defaults() -> None:
    cfg = parse({})
    assert cfg == Config()
    assert cfg.environment == "local" and cfg.topic_prefix == "org.fedoraproject.local"
    assert parse({"environment": "prod"}).topic_prefix == "org.fedoraproject.prod"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"amqp": {"heartbeat": "x"}},
            'fedbus.toml: amqp.heartbeat: expected an integer >= 0, got "x"',
        ),
        (
            {"amqp": {"heartbeat": -1}},
            "fedbus.toml: amqp.heartbeat: expected an integer >= 0, got -1",
        ),
        (
            {"amqp": {"heartbeat": True}},
            "fedbus.toml: amqp.heartbeat: expected an integer >= 0, got true",
        ),
        (
            {"environment": "dev"},
            'fedbus.toml: environment: expected one of publictest, stg, prod, local, got "dev"',
        ),
        ({"colour": 1}, "fedbus.toml: colour: unknown key"),
        ({"amqp": {"url": "x"}}, "fedbus.toml: amqp.url: unknown key"),
        (
            {"amqp": {"urls": []}},
            "fedbus.toml: amqp.urls: expected a non-empty list of strings, got []",
        ),
        (
            {"amqp": {"urls": ["http://x"]}},
            'fedbus.toml: amqp.urls[0]: expected a amqp:// or amqps:// URL, got "http://x"',
        ),
        ({"amqp": {"tls": {"cert": "/c"}}}, "fedbus.toml: amqp.tls: cert and key go together"),
        (
            {"amqp": {"tls": {"verify": "yes"}}},
            'fedbus.toml: amqp.tls.verify: expected true or false, got "yes"',
        ),
        ({"amqp": {"tls": 3}}, "fedbus.toml: amqp.tls: expected a table, got 3"),
        (
            {"management": {"password": "a", "password_file": __file__}},
            "fedbus.toml: management: set password or password_file, not both",
        ),
        (
            {"management": {"password_file": "/nonexistent/p"}},
            "fedbus.toml: management.password_file: cannot read /nonexistent/p",
        ),
        (
            {"management": {"url": "ftp://x"}},
            "fedbus.toml: management.url: expected a http:// or https:// URL",
        ),
        (
            {"relay": {"max_bytes": 0}},
            "fedbus.toml: relay.max_bytes: expected an integer >= 1, got 0",
        ),
        ({"relay": {"fsync": 1}}, "fedbus.toml: relay.fsync: expected true or false, got 1"),
        (
            {"relay": {"spool_dir": ""}},
            'fedbus.toml: relay.spool_dir: expected a non-empty string, got ""',
        ),
        (
            {"consumers": {"n": {"queue": "q"}}},
            "fedbus.toml: consumers.n.bindings: required, not set",
        ),
        (
            {"consumers": {"n": {"queue": "q", "bindings": ["a.b c"]}}},
            "fedbus.toml: consumers.n.bindings[0]: topic pattern",
        ),
        (
            {"consumers": {"n": {"queue": "q", "bindings": ["#"], "prefetch": 0}}},
            "fedbus.toml: consumers.n.prefetch: expected an integer >= 1, got 0",
        ),
        (
            {"consumers": {"n": {"queue": "q", "bindings": ["#"], "x": 0}}},
            "fedbus.toml: consumers.n.x: unknown key",
        ),
        (
            {"topic_prefix": "org.fedoraproject.stg."},
            "fedbus.toml: topic_prefix: expected dot-separated words",
        ),
    ],
)
def test_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(data)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"fedbus\.toml: not valid TOML"):
        load(_write(tmp_path, "environment = "))
    with pytest.raises(ConfigError, match="no such file"):
        load(environ={"FEDBUS_CONFIG": str(tmp_path / "absent.toml")}, missing_ok=True)


def test_env_var_and_missing_default(tmp_path: Path) -> None:
    path = _write(tmp_path, 'environment = "prod"\n')
    assert load(environ={"FEDBUS_CONFIG": str(path)}).environment == "prod"
    assert load(environ={}, missing_ok=True) == Config()


def test_pika_parameters() -> None:
    cfg = parse(
        {
            "amqp": {
                "urls": ["amqp://u:p@h1:5672/%2F", "amqp://u:p@h2/"],
                "vhost": "/x",
                "heartbeat": 5,
            }
        }
    )
    params = pika_parameters(cfg.amqp, connection_name="fedbus-test")
    assert [(p.host, p.virtual_host, p.heartbeat) for p in params] == [
        ("h1", "/x", 5),
        ("h2", "/x", 5),
    ]
    assert params[0].client_properties == {"connection_name": "fedbus-test"}
    assert with_vhost("amqp://h/%2F", None) == "amqp://h/%2F"


def test_documented_example_parses_and_every_key_is_documented() -> None:
    import re
    import tomllib

    import attrs

    from fedbus import config

    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    example = re.search(r"```toml\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    data = tomllib.loads(example.group(1))
    data["management"].pop("password_file")  # it names a file that only exists on hosts
    cfg = parse(data)
    assert cfg.environment == "stg" and cfg.consumers["notifier"].prefetch == 50
    for cls in (
        config.TlsConfig,
        config.AmqpConfig,
        config.ManagementConfig,
        config.RelayConfig,
        config.ConsumerConfig,
        config.Config,
    ):
        for f in attrs.fields(cls):
            if f.name in ("password_from_file",):
                continue
            if f.name not in ("source", "name", "tls", "consumers", "amqp", "management", "relay"):
                assert f"| `{f.name}` |" in doc, f"{cls.__name__}.{f.name} is not documented"
    assert "| `password_file` |" in doc


def test_amqp_password_comes_from_its_own_file(tmp_path: Path) -> None:
    """fedbus.toml names the account and its password file; the URLs get both."""
    (tmp_path / "amqp.password").write_text("p@ss/w:rd\n")
    cfg = load(
        _write(
            tmp_path,
            '[amqp]\nurls = ["amqps://bus01:5671/", "amqps://bus02:5671/"]\nvhost = "stg"\n'
            'user = "git"\npassword_file = "amqp.password"\n',
        )
    )
    assert cfg.amqp.user == "git"
    assert cfg.amqp.password_file == tmp_path / "amqp.password"
    assert "p@ss" not in repr(cfg)
    assert cfg.amqp.effective_urls() == (
        "amqps://git:p%40ss%2Fw%3Ard@bus01:5671/stg",
        "amqps://git:p%40ss%2Fw%3Ard@bus02:5671/stg",
    )
    params = pika_parameters(cfg.amqp)
    assert [(p.credentials.username, p.credentials.password) for p in params] == [
        ("git", "p@ss/w:rd"),
        ("git", "p@ss/w:rd"),
    ]


def test_amqp_password_file_is_read_only_when_connecting(tmp_path: Path) -> None:
    """The spool writers (git, apache …) read fedbus.toml but not the password: loading the
    file must not need it; connecting without it is one clear line."""
    cfg = load(
        _write(
            tmp_path,
            '[amqp]\nurls = ["amqps://bus01:5671/"]\nuser = "git"\n'
            'password_file = "/nonexistent/amqp.password"\n',
        )
    )
    assert cfg.relay.spool_dir == Path("/var/spool/fedbus/relay")
    with pytest.raises(ConfigError) as info:
        cfg.amqp.effective_urls()
    assert str(info.value) == (
        "fedbus.toml: amqp.password_file: cannot read /nonexistent/amqp.password: "
        "No such file or directory"
    )


@pytest.mark.parametrize(
    ("amqp", "message"),
    [
        ({"password": "x"}, "fedbus.toml: amqp.password: unknown key"),
        ({"user": "git"}, "fedbus.toml: amqp: user and password_file go together"),
        ({"password_file": "/p"}, "fedbus.toml: amqp: user and password_file go together"),
        (
            {"urls": ["amqps://git:x@bus01/"], "user": "git", "password_file": "/p"},
            "fedbus.toml: amqp.urls[0]: carries an account: with amqp.user set",
        ),
        ({"user": "", "password_file": "/p"}, "fedbus.toml: amqp.user: expected a non-empty"),
    ],
)
def test_amqp_account_errors(amqp: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse({"amqp": amqp})
    assert str(info.value).startswith(message)


def test_an_empty_amqp_password_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "amqp.password").write_text("\n")
    cfg = parse({"amqp": {"user": "git", "password_file": "amqp.password"}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"amqp\.password_file: .*amqp\.password is empty"):
        cfg.amqp.effective_urls()
