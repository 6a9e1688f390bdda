"""The OpenAPI description of the REST API, built from the route table and the
handlers' own marshmallow schemas, so it cannot drift from the code.

Handlers carry their documentation: the docstring's first line is the
summary, `@documented(body=…, query=…, responses=…)` names the schemas and
the statuses worth knowing, and `requires_role` records who may call.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import marshmallow
from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from asistencia import __version__
from asistencia.appkeys import OPENAPI
from asistencia.jsoncodec import json_response

DOCUMENTED_PREFIXES = ("/api/", "/health")
_PATH_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclasses.dataclass(frozen=True)
class Doc:
    body: type[marshmallow.Schema] | None = None
    query: type[marshmallow.Schema] | None = None
    responses: dict[int, str] = dataclasses.field(default_factory=dict)
    produces: str = "application/json"


def documented(*, body: type[marshmallow.Schema] | None = None, query: type[marshmallow.Schema] | None = None,
               responses: dict[int, str] | None = None, produces: str = "application/json") -> Callable:
    def decorate(handler: Callable) -> Callable:
        handler.__openapi__ = Doc(body, query, responses or {}, produces)
        return handler

    return decorate


class ErrorBody(marshmallow.Schema):
    class Detail(marshmallow.Schema):
        code = marshmallow.fields.String(required=True, metadata={"description": "UPPER_SNAKE error code"})
        message = marshmallow.fields.String(required=True)
        fields = marshmallow.fields.Dict(metadata={"description": "per-field messages (400 only)"})

    error = marshmallow.fields.Nested(Detail, required=True)


def _operation(method: str, path: str, handler: Callable) -> dict[str, Any]:
    doc: Doc = getattr(handler, "__openapi__", Doc())
    roles: tuple[str, ...] | None = getattr(handler, "__roles__", None)
    text = (handler.__doc__ or "").strip()
    summary, _, description = text.partition("\n")
    operation: dict[str, Any] = {
        "summary": summary.strip() or f"{method} {path}",
        "tags": [path.split("/")[2] if path.startswith("/api/") else "operations"],
        "responses": {"default": {"description": "error",
                                  "content": {"application/json": {"schema": "ErrorBody"}}}},
    }
    if description.strip():
        operation["description"] = " ".join(description.split())
    parameters = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                  for name in _PATH_PARAM.findall(path)]
    if doc.query is not None:
        parameters.append({"in": "query", "schema": doc.query})
    if parameters:
        operation["parameters"] = parameters
    if doc.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc.body}}}
    ok = {"description": "success", "content": {doc.produces: {}}}
    operation["responses"]["200"] = ok
    for status, description_ in doc.responses.items():
        operation["responses"][str(status)] = {"description": description_}
    if roles is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = list(roles)
    return operation


def build_spec(app: web.Application) -> dict[str, Any]:
    spec = APISpec(title="asistencia", version=__version__, openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Realtime classroom attendance. WebSocket protocol: docs/protocol.md."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("ErrorBody", schema=ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if not path or not path.startswith(DOCUMENTED_PREFIXES) or route.method in ("HEAD", "*"):
            continue
        path = _PATH_PARAM.sub(r"{\1}", path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route.method, path, route.handler)
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


async def openapi_ctx(app: web.Application):
    app[OPENAPI] = build_spec(app)
    yield


async def openapi_json(request: web.Request) -> web.Response:
    """This document: the OpenAPI 3.1 description of the REST API."""
    return json_response(request.app[OPENAPI])
