"""GET /metrics: Prometheus text for operators, labelled by route pattern."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import bearer


async def _samples(client) -> dict[tuple[str, tuple], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_requests_are_counted_by_route_pattern_and_status(client, token):
    headers = bearer(token("profesor", user_id=5))
    for session_id in (11, 12, 13):
        await client.get(f"/api/sessions/{session_id}", headers=headers)
    await client.get("/no/such/page")
    samples = await _samples(client)
    by_route = {labels: value for (name, labels), value in samples.items()
                if name == "asistencia_http_requests_total"}
    assert by_route[(("method", "GET"), ("route", "/api/sessions/{id}"), ("status", "404"))] == 3
    assert by_route[(("method", "GET"), ("route", "unmatched"), ("status", "404"))] == 1
    assert not any("/api/sessions/11" in str(labels) for labels in by_route)
    assert samples[("asistencia_http_request_duration_seconds_count", (("route", "/api/sessions/{id}"),))] == 3


async def test_open_websockets_are_gauged(client, token):
    assert (await _samples(client))[("asistencia_websockets_open", ())] == 0
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token()})
        await ws.receive_json(timeout=2)
        assert (await _samples(client))[("asistencia_websockets_open", ())] == 1
    assert (await _samples(client))[("process_resident_memory_bytes", ())] > 0


async def test_a_websocket_is_counted_but_its_lifetime_is_not_a_latency(client, token):
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": token()})
        await ws.receive_json(timeout=2)
    counted = ("asistencia_http_requests_total", (("method", "GET"), ("route", "/ws"), ("status", "101")))
    for _ in range(50):  # the server's handler ends just after the client sees the close
        samples = await _samples(client)
        if counted in samples:
            break
        await asyncio.sleep(0.02)
    assert samples[counted] == 1
    assert ("asistencia_http_request_duration_seconds_count", (("route", "/ws"),)) not in samples
