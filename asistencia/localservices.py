"""Find, or start, the PostgreSQL and Valkey that dev mode and the tests need.

Order of preference: the configured URL if it answers; the 127.0.0.1
defaults; a private server started under a project-local directory and
stopped on exit. PostgreSQL refuses to run as root, so as root it is started
as an unprivileged user. Missing binaries give a message naming the package.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
import redis

log = logging.getLogger(__name__)

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
# Debian/Ubuntu keep the server binaries off PATH.
POSTGRES_GLOBS = ["/usr/lib/postgresql/*/bin/initdb"]
DEFAULT_VALKEY = "redis://127.0.0.1:6379/0"

INSTALL_POSTGRES = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them, e.g. "
    "`sudo apt-get install postgresql` (Debian/Ubuntu), `sudo dnf install postgresql-server` (Fedora) "
    "or `brew install postgresql@16` (macOS), or set DATABASE_URL to a reachable server."
)
INSTALL_VALKEY = (
    "Neither valkey-server nor redis-server was found. Install one, e.g. "
    "`sudo apt-get install valkey-server` or `sudo apt-get install redis-server` (Debian/Ubuntu), "
    "`brew install valkey` (macOS), or set VALKEY_URL to a reachable server."
)


class ServiceUnavailable(RuntimeError):
    """Nothing reachable and nothing we can start; the message says what to install."""


def postgres_answers(dsn: str, timeout: int = 2) -> bool:
    try:
        conn = psycopg2.connect(dsn, connect_timeout=timeout)
    except psycopg2.OperationalError:
        return False
    conn.close()
    return True


def valkey_answers(url: str, timeout: float = 2.0) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.exceptions.RedisError, OSError):
        return False
    finally:
        client.close()


def with_database(dsn: str, dbname: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def database_name(dsn: str) -> str:
    return psycopg2.extensions.parse_dsn(dsn).get("dbname", "postgres")


def ensure_database(dsn: str) -> bool:
    """Create the DSN's database if missing; True when it was created."""
    name = database_name(dsn)
    conn = psycopg2.connect(with_database(dsn, "postgres"), connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone():
                return False
            cur.execute(f'CREATE DATABASE "{_identifier(name)}"')
            return True
    finally:
        conn.close()


def drop_database(dsn: str) -> None:
    name = database_name(dsn)
    conn = psycopg2.connect(with_database(dsn, "postgres"), connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')
    finally:
        conn.close()


def _identifier(name: str) -> str:
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"unexpected database name {name!r}")
    return name


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _find(names: list[str], extra_globs: list[str] = ()) -> Path | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    for pattern in extra_globs:
        matches = sorted(Path("/").glob(pattern.lstrip("/")), reverse=True)
        if matches:
            return matches[0]
    return None


@dataclasses.dataclass
class LocalPostgres:
    """A private PostgreSQL cluster under `base_dir`, on a free port."""

    base_dir: Path
    port: int = 0
    remove_on_stop: bool = False
    _run_as: pwd.struct_passwd | None = None
    _pg_ctl: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "pgdata"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list) -> None:
        user = self._run_as
        result = subprocess.run(
            [str(a) for a in args], capture_output=True, text=True,
            user=user.pw_uid if user else None, group=user.pw_gid if user else None,
            cwd=self.base_dir,
        )
        if result.returncode != 0:
            who = f" (as user {user.pw_name})" if user else ""
            raise ServiceUnavailable(f"{Path(str(args[0])).name} {args[1]} failed{who}: "
                                     f"{(result.stderr or result.stdout).strip()}")

    def start(self) -> str:
        initdb = _find(["initdb"], POSTGRES_GLOBS)
        if initdb is None:
            raise ServiceUnavailable(INSTALL_POSTGRES)
        self._pg_ctl = initdb.parent / "pg_ctl"
        if os.geteuid() == 0:
            self._run_as = _unprivileged_user()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            os.chown(self.base_dir, self._run_as.pw_uid, self._run_as.pw_gid)
            if not _reachable_by(self._run_as, self.base_dir):
                raise ServiceUnavailable(
                    f"{self.base_dir} is not reachable by user {self._run_as.pw_name}, who must run "
                    "PostgreSQL (it refuses to run as root); use a directory whose parents they can enter")
        if not (self.data_dir / "PG_VERSION").exists():
            self._run([initdb, "-D", self.data_dir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                       "--no-sync", "--no-instructions"])
        self.port = self.port or free_port()
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base_dir} -c fsync=off"
        self._run([self._pg_ctl, "start", "-D", self.data_dir, "-w", "-t", "60", "-l",
                   self.base_dir / "postgres.log", "-o", options])
        log.info("started a private PostgreSQL", extra={"port": self.port, "data_dir": str(self.data_dir)})
        return self.dsn

    def stop(self) -> None:
        if self._pg_ctl is not None:
            self._run([self._pg_ctl, "stop", "-D", self.data_dir, "-m", "fast", "-w"])
            self._pg_ctl = None
        if self.remove_on_stop:
            shutil.rmtree(self.base_dir, ignore_errors=True)


@dataclasses.dataclass
class LocalValkey:
    """A private, non-persistent Valkey (or Redis) on a free port, with a password of its own
    (SPEC §6: Valkey requires one everywhere), which its URL carries."""

    base_dir: Path
    port: int = 0
    remove_on_stop: bool = False
    password: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24))
    _process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> str:
        server = _find(["valkey-server", "redis-server"])
        if server is None:
            raise ServiceUnavailable(INSTALL_VALKEY)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        # The password goes in a file only we can read, not on the command line (`ps` shows that).
        conf = self.base_dir / "valkey.conf"
        conf.touch(mode=0o600)
        conf.write_text(f"requirepass {self.password}\n")
        self._process = subprocess.Popen(
            [str(server), str(conf), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.base_dir), "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not valkey_answers(self.url, timeout=0.5):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise ServiceUnavailable(f"{server.name} did not start on port {self.port}")
            time.sleep(0.1)
        log.info("started a private Valkey", extra={"port": self.port, "binary": server.name})
        return self.url

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        if self.remove_on_stop:
            shutil.rmtree(self.base_dir, ignore_errors=True)


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServiceUnavailable("running as root and no 'postgres' or 'nobody' user exists to run PostgreSQL as")


def _private_dir(project_dir: Path, name: str) -> Path:
    """A directory the service user can reach: project-local when possible."""
    candidate = project_dir / ".local" / name
    if os.geteuid() != 0 or _reachable_by(_unprivileged_user(), project_dir):
        return candidate
    return Path(tempfile.mkdtemp(prefix=f"asistencia-{name}-"))


def _reachable_by(user: pwd.struct_passwd, directory: Path) -> bool:
    result = subprocess.run(["test", "-x", str(directory)], user=user.pw_uid, group=user.pw_gid,
                            capture_output=True)
    return result.returncode == 0


@dataclasses.dataclass
class Services:
    postgres_dsn: str  # a server DSN (its database is not ours to use directly)
    valkey_url: str
    started: list = dataclasses.field(default_factory=list)

    def stop(self) -> None:
        for service in reversed(self.started):
            try:
                service.stop()
            except Exception:
                log.exception("could not stop %s", type(service).__name__)
        self.started.clear()


@contextlib.contextmanager
def local_services(project_dir: Path, *, database_url: str | None, valkey_url: str | None,
                   ephemeral: bool = False) -> Iterator[Services]:
    """Yield reachable servers, starting private ones when needed (stopped on exit).

    `ephemeral` puts private servers in a temporary directory (tests) instead
    of the project's `.local/` (dev, which keeps its data between runs).
    """
    services = Services("", "")
    try:
        for candidate in filter(None, [database_url, DEFAULT_POSTGRES]):
            if postgres_answers(with_database(candidate, "postgres")):
                services.postgres_dsn = candidate
                break
        else:
            base = Path(tempfile.mkdtemp(prefix="asistencia-pg-")) if ephemeral else _private_dir(project_dir, "postgres")
            postgres = LocalPostgres(base, remove_on_stop=ephemeral)
            services.started.append(postgres)
            services.postgres_dsn = postgres.start()
        for candidate in filter(None, [valkey_url, DEFAULT_VALKEY]):
            if valkey_answers(candidate):
                services.valkey_url = candidate
                break
        else:
            base = Path(tempfile.mkdtemp(prefix="asistencia-valkey-")) if ephemeral else project_dir / ".local" / "valkey"
            valkey = LocalValkey(base, remove_on_stop=ephemeral)
            services.started.append(valkey)
            services.valkey_url = valkey.start()
        yield services
    finally:
        services.stop()
