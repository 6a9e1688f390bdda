"""The browser files as scripts/build-static built them (STATIC_DIR, `build/` by default).

The build names every file after its content and writes `assets.json`: the
URL of each source file a page names (`css/app.css` → `/static/css/app-….css`),
the chunks each page script imports (preloaded by the page, so the browser
fetches them at once instead of one import after another), what a page
prefetches for later (the scanner's decoder), and the service worker's
precache list. Pages ask this module for URLs; nothing names a hashed file
by hand.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from asistencia.appkeys import CONFIG

MANIFEST = "assets.json"
SERVICE_WORKER = "sw.js"
PUBLIC_DIR = "static"
# Content-hashed names never change meaning: a year, and no revalidation.
IMMUTABLE = "public, max-age=31536000, immutable"


class AssetsNotBuilt(RuntimeError):
    """STATIC_DIR holds no build: the pages would have no scripts or styles."""


@dataclasses.dataclass(frozen=True)
class Assets:
    directory: Path
    version: str
    urls: Mapping[str, str]
    preloads: Mapping[str, tuple[str, ...]]
    prefetches: Mapping[str, tuple[str, ...]]

    @classmethod
    def load(cls, directory: Path) -> Assets:
        path = directory / MANIFEST
        try:
            built = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AssetsNotBuilt(f"no {path}: build the browser files first (scripts/build-static)") from None
        return cls(
            directory=directory,
            version=built["version"],
            urls=built["urls"],
            preloads={entry: tuple(urls) for entry, urls in built["preloads"].items()},
            prefetches={entry: tuple(urls) for entry, urls in built["prefetch"].items()},
        )

    @property
    def public_dir(self) -> Path:
        return self.directory / PUBLIC_DIR

    @property
    def service_worker(self) -> Path:
        return self.directory / SERVICE_WORKER

    def url(self, name: str) -> str:
        """The served URL of source file `name` (relative to static/)."""
        try:
            return self.urls[name]
        except KeyError:
            raise AssetsNotBuilt(f"{name} is not in the build: rebuild (scripts/build-static)") from None

    def preload(self, entry: str) -> tuple[str, ...]:
        return self.preloads.get(entry, ())

    def prefetch(self, entry: str) -> tuple[str, ...]:
        return self.prefetches.get(entry, ())


ASSETS = web.AppKey("assets", Assets)


async def load_assets(app: web.Application) -> None:
    app[ASSETS] = Assets.load(app[CONFIG].static_dir)


async def service_worker(request: web.Request) -> web.StreamResponse:
    """The scanner's service worker: a fixed URL, revalidated on every check so a deploy reaches phones."""
    response = web.FileResponse(request.app[ASSETS].service_worker, headers={
        "Cache-Control": "no-cache", "Content-Type": "text/javascript; charset=utf-8"})
    return response
