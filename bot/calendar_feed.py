"""The calendar feed: the schedule as iCalendar over HTTP, for people to subscribe to once in any calendar app.

Served by aiohttp (discord.py's own HTTP library) on `[calendar] host:port`, at the path of `public_url` when one is
set (so a reverse proxy can pass the path through unchanged), else at `/calendar.ics`. Calendar apps poll: an ETag
lets them skip unchanged feeds.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from tracker.config import CalendarSettings

log = logging.getLogger(__name__)

DEFAULT_PATH = "/calendar.ics"
CACHE_SECONDS = 300


class CalendarFeed:
    def __init__(self, settings: CalendarSettings, render: Callable[[], Awaitable[bytes]]) -> None:
        self.settings = settings
        self.render = render
        public_path = urlsplit(settings.public_url).path if settings.public_url else ""
        self.path = public_path if public_path not in ("", "/") else DEFAULT_PATH
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where people subscribe: the public URL if configured, else the local address."""
        if self.settings.public_url:
            return self.settings.public_url
        host = self.settings.host if self.settings.host not in ("0.0.0.0", "::", "") else "localhost"
        return f"http://{host}:{self.port or self.settings.port}{self.path}"

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await self.render()
        except Exception:
            log.exception("could not render the calendar feed")
            return web.Response(status=503, text="the calendar is unavailable right now; try again later\n")
        # DTSTAMP is the time of rendering: leave it out, so an unchanged schedule keeps its ETag.
        content = b"\n".join(line for line in body.splitlines() if not line.startswith(b"DTSTAMP"))
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={CACHE_SECONDS}"}
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
        return web.Response(body=body, content_type="text/calendar", charset="utf-8", headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(self.path, self.handle)  # GET also answers HEAD
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise RuntimeError(
                f"the calendar feed cannot listen on {self.settings.host}:{self.settings.port} "
                f"(WGBOT_CALENDAR_HOST/WGBOT_CALENDAR_PORT): {exc.strerror}"
            ) from None
        self.port = self._runner.addresses[0][1] if self._runner.addresses else self.settings.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
