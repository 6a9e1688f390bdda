"""Prometheus metrics of this process, at GET /metrics (not proxied by Apache).

One registry per application (not prometheus_client's global one), so
several apps in one process — the tests — count separately. Labels use the
route's pattern, never the raw path, to keep their number bounded.
"""

from __future__ import annotations

import dataclasses
import hmac
import time

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from asistencia.appkeys import CONFIG, STARTED_AT, WEBSOCKETS
from asistencia.errors import Unauthorized


@dataclasses.dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    rate_limited: Counter
    scan_refusals_unrecorded: Counter
    websockets_silent: Counter

    def observe(self, request: web.Request, status: int, seconds: float) -> None:
        route = _route_of(request)
        self.requests.labels(request.method, route, str(status)).inc()
        # A WebSocket (101) "answers" when it closes: its lifetime would swamp the histogram.
        if status != 101:
            self.latency.labels(route).observe(seconds)


METRICS = web.AppKey("metrics", Metrics)


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def create_metrics(app: web.Application) -> Metrics:
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    Gauge("asistencia_websockets_open", "WebSocket connections open on this process",
          registry=registry).set_function(lambda: len(app[WEBSOCKETS]))
    Gauge("asistencia_uptime_seconds", "Seconds since this process started",
          registry=registry).set_function(lambda: time.monotonic() - app[STARTED_AT])
    return Metrics(
        registry=registry,
        requests=Counter("asistencia_http_requests", "HTTP requests by route and status",
                         ["method", "route", "status"], registry=registry),
        latency=Histogram("asistencia_http_request_duration_seconds", "Time to answer, by route", ["route"],
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                          registry=registry),
        rate_limited=Counter("asistencia_rate_limited", "Requests refused by a rate limit (429), by limit",
                             ["limit"], registry=registry),
        scan_refusals_unrecorded=Counter(
            "asistencia_scan_refusals_unrecorded",
            "Scan refusals that cost no attempt, past the per-student cap: counted, not recorded",
            registry=registry),
        websockets_silent=Counter(
            "asistencia_websockets_silent",
            "WebSocket connections dropped because the client stopped answering (no frame, no pong)",
            registry=registry),
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics (with METRICS_TOKEN set, only for its bearer)."""
    expected = request.app[CONFIG].metrics_token
    if expected is not None:
        sent = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(sent, f"Bearer {expected}".encode()):
            raise Unauthorized("Send 'Authorization: Bearer <METRICS_TOKEN>'", code="METRICS_TOKEN")
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
