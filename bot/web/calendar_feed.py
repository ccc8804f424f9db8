"""The calendar feed: the schedule as iCalendar, for people to subscribe to once in any calendar app.

Served by the web home's aiohttp server (bot/web/server.py) at the path of `[calendar] public_url` when one is set
(so a reverse proxy can pass the path through unchanged), else at `/calendar.ics`.

Calendar apps poll, and anyone can poll: a request never touches the database. The feed is rendered once and kept;
`invalidate()` (called when the schedule changes) makes the next request render it again, and a kept rendering
older than `max_age` is refreshed in the background while the old one is still served. An ETag lets apps skip
unchanged feeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)

DEFAULT_PATH = "/calendar.ics"
CACHE_SECONDS = 300  # what calendar apps are told
MAX_AGE = 60.0  # a kept rendering is refreshed after this long (agenda topics change without a schedule change)


@dataclass(frozen=True)
class _Rendering:
    body: bytes
    etag: str
    at: float


class CalendarFeed:
    def __init__(self, render: Callable[[], Awaitable[bytes]], max_age: float = MAX_AGE) -> None:
        self.render = render
        self.max_age = max_age
        self._kept: _Rendering | None = None
        self._generation = 0  # bumped by invalidate(): a rendering started before it is not kept
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task | None = None
        self.renders = 0  # how often the feed was rendered (tests)

    def invalidate(self) -> None:
        """The schedule changed: the next request renders the feed again."""
        self._generation += 1
        self._kept = None

    async def _render(self) -> _Rendering:
        generation = self._generation
        body = await self.render()
        self.renders += 1
        # DTSTAMP is the time of rendering: leave it out, so an unchanged schedule keeps its ETag.
        content = b"\n".join(line for line in body.splitlines() if not line.startswith(b"DTSTAMP"))
        rendering = _Rendering(body, '"' + hashlib.sha256(content).hexdigest()[:32] + '"', time.monotonic())
        if generation == self._generation:
            self._kept = rendering
        return rendering

    async def current(self) -> _Rendering:
        kept = self._kept
        if kept is not None:
            if time.monotonic() - kept.at > self.max_age and (self._refreshing is None or self._refreshing.done()):
                self._refreshing = asyncio.create_task(self._refresh_quietly())
            return kept
        async with self._lock:  # one rendering at a time; the others wait for it
            kept = self._kept
            return kept if kept is not None else await self._render()

    async def _refresh_quietly(self) -> None:
        try:
            async with self._lock:
                await self._render()
        except Exception:
            log.exception("could not refresh the calendar feed (the last rendering is still served)")

    async def handle(self, request: web.Request) -> web.Response:
        try:
            rendering = await self.current()
        except Exception:
            log.exception("could not render the calendar feed")
            return web.Response(status=503, text="the calendar is unavailable right now; try again later\n")
        headers = {"ETag": rendering.etag, "Cache-Control": f"public, max-age={CACHE_SECONDS}"}
        if rendering.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        headers["Content-Disposition"] = 'inline; filename="calendar.ics"'
        return web.Response(body=rendering.body, content_type="text/calendar", charset="utf-8", headers=headers)

    async def close(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
