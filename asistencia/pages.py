"""Server-rendered pages: template setup and the page views.

Pages carry no data of their own: each gets a JWT from the legacy endpoint
(or the dev endpoint) in the browser and talks to the JSON API.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from asistencia import __version__
from asistencia.appkeys import CONFIG
from asistencia.i18n import Catalog


def setup_templates(app: web.Application, catalog: Catalog) -> None:
    config = app[CONFIG]
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("asistencia", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        t=catalog,
        catalog=catalog,
        dev=config.dev,
        page_config={"token_url": config.token_url, "dev": config.dev},
        static=lambda path: f"/static/{path}?v={__version__}",
    )


async def to_home(request: web.Request) -> web.Response:
    raise web.HTTPFound("/asistencia/")


@aiohttp_jinja2.template("index.html")
async def index(request: web.Request) -> dict[str, Any]:
    return {}
