"""Configuration read from environment variables (and an optional .env file).

Only the CLI reads the environment; everything else receives a `Config`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from asistencia.crypto import KEY_BYTES, KeyRing, b64url_decode
from asistencia.eventloop import CHOICES as EVENT_LOOPS
from asistencia.eventloop import uvloop_installed

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Public, well-known value: usable only in dev mode, refused otherwise.
DEV_JWT_SECRET = "asistencia-dev-secret-do-not-use-in-production"
# Public too: the key-encryption key of session keys in dev mode (and of tests that do not set one).
DEV_SESSION_KEY_KEK = b"asistencia-dev-kek-not-for-prod!"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MIN_SECRET_BYTES = 32
MAX_WORKERS = 64
# Where TRUSTED_PROXIES=gateway looks up this network namespace's default gateway.
ROUTE_TABLE = Path("/proc/net/route")
_RTF_GATEWAY = 0x2


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Config:
    database_url: str = "postgresql://postgres@127.0.0.1:5432/asistencia"
    database_pool_max: int = 20
    valkey_url: str = "redis://127.0.0.1:6379/0"
    valkey_prefix: str = "asistencia:"
    jwt_secret: str = ""
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = 30
    host: str = "0.0.0.0"
    port: int = 3000
    dev: bool = False
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "Asistencia"
    webauthn_origin: str = "http://localhost:3000"
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        ipaddress.ip_network("127.0.0.1/32"),
    )
    log_level: str = "INFO"
    event_loop: str = "asyncio"
    timezone: str = "America/Santiago"
    token_url: str = "/api_get_asistencia_token.php"
    startup_wait_seconds: float = 30.0
    shutdown_timeout_seconds: float = 8.0
    health_timeout_seconds: float = 0.8
    # `serve` runs this many server processes on one port (asistencia/workers.py).
    workers: int = 1
    session_key_ttl_seconds: int = 7200
    session_key_kek: bytes = DEV_SESSION_KEY_KEK
    session_key_kek_previous: tuple[bytes, ...] = ()
    device_cool_off_hours: float = 24.0
    qr_tick_ms: int = 333
    qr_per_frame: int = 1
    qr_min_pool: int = 10
    qr_window_seconds: float = 20.0
    scan_attempts: int = 3
    # Large halls (docs/protocol.md §8): sessions of a course whose roster has at least this
    # many students project shared frames unless the professor chose a mode; the rounds'
    # frames must be issued this many seconds apart; a frame may be answered this long.
    shared_frames_from_students: int = 14
    shared_round_gap_seconds: int = 2
    shared_frame_window_seconds: float = 10.0
    # Rate limits, per user (never per address: a class behind one NAT is many users), per minute.
    limit_joins_per_minute: int = 20
    limit_scans_per_minute: int = 120
    limit_passkey_ceremonies_per_minute: int = 20
    limit_socket_connects_per_minute: int = 30
    limit_socket_messages_per_minute: int = 600
    limit_forged_tokens_per_minute: int = 60
    # Refusals that cost no attempt, recorded (rows, dashboard events) per student and session;
    # past this they are only counted.
    scan_refusals_recorded_max: int = 30
    # Open WebSockets per process: per user, and per client address (sized for a big class behind one NAT).
    sockets_per_user: int = 8
    sockets_per_address: int = 1500
    # A socket whose token expired is closed this long after, unless the page sent a fresh one.
    socket_token_grace_seconds: int = 60
    # After this long without a frame from the client the server pings it (a WebSocket ping
    # frame) and closes it when no answer comes within half as long: a silent client is
    # noticed 1.5× this after its last word (docs/protocol.md §5.1).
    socket_heartbeat_seconds: float = 3.0
    # /metrics answers only `Authorization: Bearer <metrics_token>` when set (HOST defaults to 0.0.0.0).
    metrics_token: str | None = None
    countdown_seconds: int = 3
    auto_close_interval_seconds: float = 5.0
    migrations_dir: Path = PROJECT_ROOT / "migrations"
    # The browser files as scripts/build-static built them (assets.json, sw.js, static/).
    static_dir: Path = PROJECT_ROOT / "build"

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    @property
    def session_key_ring(self) -> KeyRing:
        return KeyRing(self.session_key_kek, self.session_key_kek_previous)


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _float(name: str, raw: str, *, minimum: float, maximum: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def default_gateway(route_table: str) -> ipaddress.IPv4Address | None:
    """The gateway of the IPv4 default route in a /proc/net/route listing, if there is one."""
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000" \
                and int(fields[3], 16) & _RTF_GATEWAY:
            return ipaddress.IPv4Address(bytes.fromhex(fields[2])[::-1])
    return None


def _gateway(name: str, route_table: Path) -> ipaddress.IPv4Network:
    """`gateway`: the hop a container's published port delivers host connections from."""
    try:
        gateway = default_gateway(route_table.read_text())
    except OSError:
        gateway = None
    if gateway is None:
        raise ConfigError(f"{name} names 'gateway', but {route_table} shows no IPv4 default route")
    return ipaddress.ip_network(gateway)


def _networks(name: str, raw: str, route_table: Path = ROUTE_TABLE) -> tuple:
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        if item == "gateway":
            networks.append(_gateway(name, route_table))
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name} holds {item!r}, which is not an IP address or CIDR") from None
    return tuple(networks)


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    if not raw.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise ConfigError(f"{name} must start with {' or '.join(s + '://' for s in schemes)}, got {raw!r}")
    return raw


def _timezone(name: str, raw: str) -> str:
    try:
        zoneinfo.ZoneInfo(raw)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{name} must be an IANA time zone like America/Santiago, got {raw!r}") from None
    return raw


def _event_loop(raw: str) -> str:
    choice = raw.lower()
    if choice not in EVENT_LOOPS:
        raise ConfigError(f"EVENT_LOOP must be one of {', '.join(EVENT_LOOPS)}, got {raw!r}")
    if choice == "uvloop" and not uvloop_installed():
        raise ConfigError("EVENT_LOOP=uvloop but uvloop is not installed (pip install uvloop, or EVENT_LOOP=asyncio)")
    return choice


def _origin(name: str, raw: str) -> str:
    origin = raw.rstrip("/")
    if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
        raise ConfigError(f"{name} must be an origin like https://asistencia.example.cl, got {raw!r}")
    return origin


def _kek(name: str, raw: str) -> bytes:
    try:
        kek = b64url_decode(raw.strip())
    except ValueError:
        kek = b""
    if len(kek) != KEY_BYTES:
        raise ConfigError(f"{name} must be {KEY_BYTES} random bytes in base64url (43 characters), "
                          "e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return kek


def _keks(name: str, raw: str) -> tuple[bytes, ...]:
    return tuple(_kek(name, item) for item in raw.split(",") if item.strip())


def load_config(environ: Mapping[str, str] | None = None, *, env_file: Path | None = None,
                route_table: Path = ROUTE_TABLE) -> Config:
    """Build a Config from the environment, with .env values filling the gaps."""
    env: dict[str, str] = {}
    dotenv_path = env_file if env_file is not None else Path.cwd() / ".env"
    if dotenv_path.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        return None if value is None or value == "" else value

    defaults = Config()
    # Dev mode only from the real environment: a stray .env must not switch it on.
    dev = _bool("ASISTENCIA_DEV", (os.environ if environ is None else environ).get("ASISTENCIA_DEV", "0"))
    host = get("HOST") or ("127.0.0.1" if dev else defaults.host)
    secret = get("JWT_SECRET")
    if dev:
        # Dev mode mints tokens for anyone (/api/dev/token): it must never accept a real
        # secret, nor listen where anyone but this machine can reach it.
        if secret not in (None, DEV_JWT_SECRET):
            raise ConfigError("ASISTENCIA_DEV=1 with a JWT_SECRET other than the dev one: refusing to start "
                              "(dev tokens would be valid wherever that secret is)")
        if host not in LOOPBACK_HOSTS:
            raise ConfigError(f"ASISTENCIA_DEV=1 listening on {host!r}: refusing to start; dev mode listens "
                              "on loopback only (HOST=127.0.0.1)")
        secret = DEV_JWT_SECRET
    elif secret is None:
        raise ConfigError(
            "JWT_SECRET is not set: it must hold the HS256 secret shared with the PHP bridge "
            f"(at least {MIN_SECRET_BYTES} bytes). Only dev mode (ASISTENCIA_DEV=1) has a default."
        )
    elif secret == DEV_JWT_SECRET or len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"JWT_SECRET is the public dev default or shorter than {MIN_SECRET_BYTES} bytes; "
            "set the real secret shared with the PHP bridge"
        )
    raw_kek = get("SESSION_KEY_KEK")
    if raw_kek is None:
        if not dev:
            raise ConfigError("SESSION_KEY_KEK is not set: session keys are stored wrapped under it. Generate "
                              "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        kek = DEV_SESSION_KEY_KEK
    else:
        kek = _kek("SESSION_KEY_KEK", raw_kek)
        if kek == DEV_SESSION_KEY_KEK and not dev:
            raise ConfigError("SESSION_KEY_KEK is the public dev key; generate a real one")

    log_level = (get("LOG_LEVEL") or defaults.log_level).upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {log_level!r}")

    def opt_int(name, default, lo, hi):
        raw = get(name)
        return default if raw is None else _int(name, raw, minimum=lo, maximum=hi)

    def opt_float(name, default, lo, hi):
        raw = get(name)
        return default if raw is None else _float(name, raw, minimum=lo, maximum=hi)

    def opt_path(name, default):
        raw = get(name)
        return default if raw is None else Path(raw)

    return Config(
        database_url=_url("DATABASE_URL", get("DATABASE_URL") or defaults.database_url, ("postgresql", "postgres")),
        database_pool_max=opt_int("DATABASE_POOL_MAX", defaults.database_pool_max, 2, 200),
        valkey_url=_url("VALKEY_URL", get("VALKEY_URL") or defaults.valkey_url, ("redis", "rediss", "valkey", "valkeys")),
        valkey_prefix=get("VALKEY_PREFIX") or defaults.valkey_prefix,
        jwt_secret=secret,
        jwt_issuer=get("JWT_ISSUER"),
        jwt_audience=get("JWT_AUDIENCE"),
        metrics_token=get("METRICS_TOKEN") or None,
        host=host,
        port=opt_int("PORT", defaults.port, 0, 65535),
        dev=dev,
        webauthn_rp_id=get("WEBAUTHN_RP_ID") or defaults.webauthn_rp_id,
        webauthn_rp_name=get("WEBAUTHN_RP_NAME") or defaults.webauthn_rp_name,
        webauthn_origin=_origin("WEBAUTHN_ORIGIN", get("WEBAUTHN_ORIGIN") or defaults.webauthn_origin),
        trusted_proxies=_networks("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES", "127.0.0.1"), route_table),
        log_level=log_level,
        event_loop=_event_loop(get("EVENT_LOOP") or defaults.event_loop),
        timezone=_timezone("TIMEZONE", get("TIMEZONE") or defaults.timezone),
        token_url=get("TOKEN_URL") or ("/api/dev/token" if dev else defaults.token_url),
        startup_wait_seconds=opt_float("STARTUP_WAIT_SECONDS", defaults.startup_wait_seconds, 0, 600),
        shutdown_timeout_seconds=opt_float("SHUTDOWN_TIMEOUT_SECONDS", defaults.shutdown_timeout_seconds, 0.5, 60),
        health_timeout_seconds=opt_float("HEALTH_TIMEOUT_SECONDS", defaults.health_timeout_seconds, 0.05, 10),
        workers=opt_int("WORKERS", defaults.workers, 1, MAX_WORKERS),
        session_key_ttl_seconds=opt_int("SESSION_KEY_TTL_SECONDS", defaults.session_key_ttl_seconds, 60, 86400),
        session_key_kek=kek,
        session_key_kek_previous=_keks("SESSION_KEY_KEK_PREVIOUS", env.get("SESSION_KEY_KEK_PREVIOUS", "")),
        device_cool_off_hours=opt_float("DEVICE_COOL_OFF_HOURS", defaults.device_cool_off_hours, 0, 24 * 14),
        qr_tick_ms=opt_int("QR_TICK_MS", defaults.qr_tick_ms, 50, 5000),
        qr_per_frame=opt_int("QR_PER_FRAME", defaults.qr_per_frame, 1, 16),
        qr_min_pool=opt_int("QR_MIN_POOL", defaults.qr_min_pool, 0, 200),
        qr_window_seconds=opt_float("QR_WINDOW_SECONDS", defaults.qr_window_seconds, 1, 600),
        scan_attempts=opt_int("SCAN_ATTEMPTS", defaults.scan_attempts, 1, 20),
        shared_frames_from_students=opt_int("SHARED_FRAMES_FROM_STUDENTS", defaults.shared_frames_from_students,
                                            1, 100000),
        shared_round_gap_seconds=opt_int("SHARED_ROUND_GAP_SECONDS", defaults.shared_round_gap_seconds, 0, 60),
        shared_frame_window_seconds=opt_float("SHARED_FRAME_WINDOW_SECONDS", defaults.shared_frame_window_seconds,
                                              1, 600),
        limit_joins_per_minute=opt_int("LIMIT_JOINS_PER_MINUTE", defaults.limit_joins_per_minute, 1, 100000),
        limit_scans_per_minute=opt_int("LIMIT_SCANS_PER_MINUTE", defaults.limit_scans_per_minute, 1, 100000),
        limit_passkey_ceremonies_per_minute=opt_int(
            "LIMIT_PASSKEY_CEREMONIES_PER_MINUTE", defaults.limit_passkey_ceremonies_per_minute, 1, 100000),
        limit_socket_connects_per_minute=opt_int(
            "LIMIT_SOCKET_CONNECTS_PER_MINUTE", defaults.limit_socket_connects_per_minute, 1, 100000),
        limit_socket_messages_per_minute=opt_int(
            "LIMIT_SOCKET_MESSAGES_PER_MINUTE", defaults.limit_socket_messages_per_minute, 1, 1000000),
        limit_forged_tokens_per_minute=opt_int(
            "LIMIT_FORGED_TOKENS_PER_MINUTE", defaults.limit_forged_tokens_per_minute, 1, 1000000),
        scan_refusals_recorded_max=opt_int(
            "SCAN_REFUSALS_RECORDED_MAX", defaults.scan_refusals_recorded_max, 0, 100000),
        sockets_per_user=opt_int("SOCKETS_PER_USER", defaults.sockets_per_user, 1, 10000),
        sockets_per_address=opt_int("SOCKETS_PER_ADDRESS", defaults.sockets_per_address, 1, 1000000),
        socket_token_grace_seconds=opt_int(
            "SOCKET_TOKEN_GRACE_SECONDS", defaults.socket_token_grace_seconds, 0, 86400),
        socket_heartbeat_seconds=opt_float(
            "SOCKET_HEARTBEAT_SECONDS", defaults.socket_heartbeat_seconds, 1, 300),
        countdown_seconds=opt_int("COUNTDOWN_SECONDS", defaults.countdown_seconds, 0, 30),
        auto_close_interval_seconds=opt_float(
            "AUTO_CLOSE_INTERVAL_SECONDS", defaults.auto_close_interval_seconds, 0.1, 300
        ),
        migrations_dir=opt_path("MIGRATIONS_DIR", defaults.migrations_dir),
        static_dir=opt_path("STATIC_DIR", defaults.static_dir),
    )
