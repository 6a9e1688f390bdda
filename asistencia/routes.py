"""The one route table: every URL the server answers, and who handles it."""

from __future__ import annotations

from aiohttp import web

from asistencia import pages
from asistencia.api import attendance, dev, health, identity, sessions
from asistencia.config import Config
from asistencia.ws import endpoint

# Pages live under one prefix so Apache can route them beside the legacy PHP app.
PAGES = "/asistencia"


def setup_routes(app: web.Application, config: Config) -> None:
    router = app.router
    router.add_get("/health", health.health)
    router.add_get("/ws", endpoint.websocket)
    router.add_get("/api/me", identity.me)
    router.add_post("/api/sessions", sessions.create)
    router.add_get("/api/sessions", sessions.list_sessions)
    router.add_get("/api/sessions/{id}", sessions.read)
    router.add_post("/api/sessions/{id}/close", sessions.close)
    router.add_post("/api/sessions/{id}/students/{user_id}/reset", sessions.reset_student)
    router.add_get("/api/sessions/{id}/fraud", sessions.fraud)
    router.add_post("/api/attendance/join", attendance.join)
    router.add_post("/api/attendance/scan", attendance.scan)
    router.add_get("/api/attendance/status", attendance.status)
    router.add_get("/", pages.to_home)
    router.add_get(f"{PAGES}/", pages.index)
    if config.dev:
        router.add_post("/api/dev/token", dev.dev_token)
    if config.static_dir.is_dir():
        router.add_static("/static", config.static_dir, append_version=False)
