"""The OpenAPI description is served, valid, and covers every API route."""

from __future__ import annotations

from openapi_spec_validator import validate

from asistencia.openapi import DOCUMENTED_PREFIXES


def _api_routes(app):
    for route in app.router.routes():
        info = route.resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path and path.startswith(DOCUMENTED_PREFIXES) and route.method != "HEAD":
            yield route.method.lower(), path


async def test_spec_is_valid_and_covers_every_route(make_client, config):
    client = await make_client(config.replace(dev=True))
    response = await client.get("/api/openapi.json")
    assert response.status == 200
    spec = await response.json()
    validate(spec)
    routes = list(_api_routes(client.app))
    assert ("post", "/api/dev/token") in routes
    for method, path in routes:
        operation = spec["paths"][path][method]
        assert operation["summary"] and not operation["summary"].startswith(method.upper()), (method, path)


async def test_guards_and_bodies_are_described(make_client, config):
    client = await make_client(config.replace(dev=True))
    spec = await (await client.get("/api/openapi.json")).json()
    assert spec["paths"]["/api/me"]["get"]["security"] == [{"bearer": []}]
    body = spec["paths"]["/api/dev/token"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(schema["properties"]) >= {"role", "user_id", "ttl_seconds"}
    assert schema["additionalProperties"] is False
    assert "503" in spec["paths"]["/health"]["get"]["responses"]


async def test_dev_routes_absent_from_spec_outside_dev(client):
    spec = await (await client.get("/api/openapi.json")).json()
    assert "/api/dev/token" not in spec["paths"]
