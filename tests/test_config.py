"""Configuration from the environment: fixed names, clear errors, no usable secret outside dev."""

from __future__ import annotations

import ipaddress

import pytest

from asistencia.config import DEV_JWT_SECRET, DEV_SESSION_KEY_KEK, ConfigError, load_config
from asistencia.crypto import b64url_encode

REAL_SECRET = "s" * 40
REAL_KEK = b64url_encode(b"k" * 32)


def test_defaults_match_the_spec(tmp_path):
    config = load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, "SESSION_KEY_KEK": REAL_KEK}, env_file=tmp_path / "none")
    assert config.database_url == "postgresql://postgres@127.0.0.1:5432/asistencia"
    assert config.valkey_url == "redis://127.0.0.1:6379/0"
    assert (config.host, config.port, config.dev) == ("0.0.0.0", 3000, False)
    assert (config.webauthn_rp_id, config.webauthn_origin) == ("localhost", "http://localhost:3000")
    assert config.trusted_proxies == (ipaddress.ip_network("127.0.0.1/32"),)
    assert config.log_level == "INFO"
    assert config.jwt_issuer is None and config.jwt_audience is None


@pytest.mark.parametrize("environ", [{}, {"JWT_SECRET": ""}])
def test_missing_secret_outside_dev_names_the_variable(environ, tmp_path):
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_config(environ, env_file=tmp_path / "none")


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, "short"])
def test_default_or_weak_secret_outside_dev_is_refused(secret, tmp_path):
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_config({"JWT_SECRET": secret, "SESSION_KEY_KEK": REAL_KEK}, env_file=tmp_path / "none")


def test_dev_mode_has_a_default_secret_and_dev_token_url(tmp_path):
    config = load_config({"ASISTENCIA_DEV": "1"}, env_file=tmp_path / "none")
    assert config.dev and config.jwt_secret == DEV_JWT_SECRET
    assert config.token_url == "/api/dev/token"
    assert config.host == "127.0.0.1" and config.session_key_kek == DEV_SESSION_KEY_KEK


@pytest.mark.parametrize("environ", [{"JWT_SECRET": REAL_SECRET}, {"HOST": "0.0.0.0"}, {"HOST": "10.0.0.5"},
                                     {"JWT_SECRET": DEV_JWT_SECRET, "HOST": "::"}])
def test_dev_mode_refuses_a_real_secret_or_a_listener_beyond_loopback(environ, tmp_path):
    with pytest.raises(ConfigError, match="ASISTENCIA_DEV=1.*refusing to start"):
        load_config({"ASISTENCIA_DEV": "1", **environ}, env_file=tmp_path / "none")


def test_a_dotenv_cannot_switch_dev_mode_on(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ASISTENCIA_DEV=1\n")
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        load_config({}, env_file=env_file)
    config = load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK}, env_file=env_file)
    assert not config.dev


@pytest.mark.parametrize("kek", [None, "", "short", b64url_encode(b"k" * 31), b64url_encode(DEV_SESSION_KEY_KEK)])
def test_outside_dev_mode_a_real_key_encryption_key_is_required(kek, tmp_path):
    environ = {"JWT_SECRET": REAL_SECRET} if kek is None else {"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": kek}
    with pytest.raises(ConfigError, match="SESSION_KEY_KEK"):
        load_config(environ, env_file=tmp_path / "none")


def test_previous_keks_still_unwrap(tmp_path):
    old = b64url_encode(b"o" * 32)
    config = load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, "SESSION_KEY_KEK_PREVIOUS": old},
                         env_file=tmp_path / "none")
    assert config.session_key_ring.current == b"k" * 32 and config.session_key_ring.previous == (b"o" * 32,)
    with pytest.raises(ConfigError, match="SESSION_KEY_KEK_PREVIOUS"):
        load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, "SESSION_KEY_KEK_PREVIOUS": "x"},
                    env_file=tmp_path / "none")


def test_dotenv_fills_gaps_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(f"JWT_SECRET={REAL_SECRET}\nSESSION_KEY_KEK={REAL_KEK}\nPORT=4000\nLOG_LEVEL=debug\n")
    config = load_config({"PORT": "5000"}, env_file=env_file)
    assert (config.jwt_secret, config.port, config.log_level) == (REAL_SECRET, 5000, "DEBUG")


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "http"), ("PORT", "70000"), ("TRUSTED_PROXIES", "10.0.0.0/8,not-an-ip"),
     ("ASISTENCIA_DEV", "maybe"), ("DATABASE_URL", "mysql://x"), ("VALKEY_URL", "http://x"),
     ("WEBAUTHN_ORIGIN", "localhost:3000"), ("LOG_LEVEL", "LOUD"), ("QR_TICK_MS", "1")],
)
def test_invalid_values_name_their_variable(name, value, tmp_path):
    with pytest.raises(ConfigError, match=name):
        load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, name: value}, env_file=tmp_path / "none")


def test_trusted_proxies_list(tmp_path):
    config = load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, "TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16,::1"},
                         env_file=tmp_path / "none")
    assert [str(n) for n in config.trusted_proxies] == ["10.0.0.1/32", "192.168.0.0/16", "::1/128"]


# /proc/net/route inside a podman container: the default route via the network's gateway.
ROUTES_WITHOUT_DEFAULT = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00005A0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
CONTAINER_ROUTES = ROUTES_WITHOUT_DEFAULT + "eth0\t00000000\t01005A0A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"


def test_trusted_proxies_gateway_is_the_default_route_s_gateway(tmp_path):
    routes = tmp_path / "route"
    routes.write_text(CONTAINER_ROUTES)
    config = load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, "TRUSTED_PROXIES": "gateway, 127.0.0.1"},
                         env_file=tmp_path / "none", route_table=routes)
    assert [str(n) for n in config.trusted_proxies] == ["10.90.0.1/32", "127.0.0.1/32"]


@pytest.mark.parametrize("routes", [ROUTES_WITHOUT_DEFAULT, None])
def test_trusted_proxies_gateway_without_a_default_route_names_the_variable(routes, tmp_path):
    table = tmp_path / "route"
    if routes is not None:
        table.write_text(routes)
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES.*gateway"):
        load_config({"JWT_SECRET": REAL_SECRET, "SESSION_KEY_KEK": REAL_KEK, "TRUSTED_PROXIES": "gateway"},
                    env_file=tmp_path / "none", route_table=table)
