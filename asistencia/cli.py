"""The `asistencia` command: serve, migrate, token, dev.

This is the only module that reads the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import resource
import sys
from collections.abc import Sequence

from aiohttp import web

from asistencia import __version__
from asistencia.app import create_app
from asistencia.config import PROJECT_ROOT, Config, ConfigError, load_config
from asistencia.eventloop import new_event_loop
from asistencia.jsoncodec import accelerator
from asistencia.localservices import ServiceUnavailable
from asistencia.logs import setup_logging
from asistencia.migrations import MigrationError
from asistencia.tokens import ROLES, mint_token
from asistencia.waiting import DependencyUnavailable
from asistencia.workers import supervise

log = logging.getLogger("asistencia")

EXIT_CONFIG = 2
EXIT_DEPENDENCY = 3
EXIT_LISTEN = 4


def raise_open_files_limit() -> tuple[int, int]:
    """Lift the soft limit on open files to the hard one (each socket is a file: at the common
    1,024 a few hundred phones and their reconnections run out, and /health with them)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            log.warning("could not raise the open files limit", extra={"soft": soft, "hard": hard})
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def serve(config: Config, *, reuse_port: bool = False) -> None:
    app = create_app(config)
    soft, hard = raise_open_files_limit()
    log.info("starting", extra={"version": __version__, "host": config.host, "port": config.port,
                                "dev": config.dev, "open_files_limit": soft, "open_files_hard_limit": hard,
                                "event_loop": config.event_loop, "json": accelerator(), "pid": os.getpid()})
    # shutdown_timeout bounds the drain so we stop before a container's stop grace (10 s).
    web.run_app(app, host=config.host, port=config.port, access_log=None, print=None,
                shutdown_timeout=config.shutdown_timeout_seconds, handle_signals=True,
                reuse_port=reuse_port or None, loop=new_event_loop(config.event_loop))


async def _migrate(config: Config) -> list[str]:
    from asistencia.db import connect_when_ready
    from asistencia.migrations import apply_migrations

    pool = await connect_when_ready(config.database_url, maxsize=2, wait_seconds=config.startup_wait_seconds)
    try:
        return await apply_migrations(pool, config.migrations_dir)
    finally:
        pool.close()
        await pool.wait_closed()


def migrate(config: Config) -> None:
    applied = asyncio.run(_migrate(config))
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")


def token(config: Config, args: argparse.Namespace) -> None:
    print(mint_token(config, user_id=args.user_id, username=args.username, role=args.role,
                     full_name=args.name, ttl_seconds=args.ttl))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asistencia", description="Realtime classroom attendance server")
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve", help="run the server (configured by environment variables)")
    srv.add_argument("--workers", type=int, default=None, metavar="N",
                     help="server processes sharing the port (SO_REUSEPORT) under one parent (default $WORKERS or 1)")
    sub.add_parser("migrate", help="apply pending database migrations and exit")
    tok = sub.add_parser("token", help="mint a JWT like the PHP bridge does, with the configured secret")
    tok.add_argument("--role", choices=ROLES, required=True)
    tok.add_argument("--user-id", type=int, required=True)
    tok.add_argument("--username", required=True, help="RUT for students, e-mail for staff")
    tok.add_argument("--name", default=None, help="nombreCompleto claim")
    tok.add_argument("--ttl", type=int, default=300, help="lifetime in seconds (default 300)")
    dev = sub.add_parser("dev", help="everything local with demo data, for trying it out")
    dev.add_argument("--port", type=int, default=None, help="listen port (default $PORT or 3000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    environ = dict(os.environ)
    if args.command == "dev":
        environ["ASISTENCIA_DEV"] = "1"
        environ.setdefault("HOST", "127.0.0.1")
        if args.port is not None:
            environ["PORT"] = str(args.port)
    if args.command == "serve" and args.workers is not None:
        environ["WORKERS"] = str(args.workers)
    try:
        config = load_config(environ)
    except ConfigError as exc:
        print(f"asistencia: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(config.log_level)
    if args.command == "serve" and config.workers > 1:
        return supervise(config.workers, lambda: _run(args, config, environ, reuse_port=True),
                         config.shutdown_timeout_seconds)
    return _run(args, config, environ)


def _run(args: argparse.Namespace, config: Config, environ: dict[str, str], *, reuse_port: bool = False) -> int:
    try:
        if args.command == "serve":
            serve(config, reuse_port=reuse_port)
        elif args.command == "migrate":
            migrate(config)
        elif args.command == "token":
            token(config, args)
        elif args.command == "dev":
            from asistencia.devserver import dev_environment

            with dev_environment(config, environ, PROJECT_ROOT) as dev_config:
                serve(dev_config)
    except (DependencyUnavailable, MigrationError, ServiceUnavailable) as exc:
        print(f"asistencia: {exc}", file=sys.stderr)
        return EXIT_DEPENDENCY
    except OSError as exc:
        if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            raise
        print(f"asistencia: cannot listen on {config.host}:{config.port}: {os.strerror(exc.errno).lower()}"
              " (another server there? set HOST/PORT)", file=sys.stderr)
        return EXIT_LISTEN
    except KeyboardInterrupt:
        pass
    return 0
