"""The web home and the calendar feed, on one aiohttp server (`wgbot web`, and inside `wgbot run`).

The server runs its own event loop in a thread of its own, so requests never wait in the bot's loop; pages are
rendered in worker threads (database reads and Jinja2), and the calendar feed answers from its kept rendering. Bound to
`[calendar] host` (127.0.0.1 unless configured) and `port`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import web

from bot.web.calendar_feed import DEFAULT_PATH, CalendarFeed
from bot.web.live import LivePages
from bot.web.site import STATIC, PageNotFound, Rendered, Site
from tracker import schedule
from tracker.config import Settings
from tracker.db import Database
from tracker.public import first_group

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # Scripts and styles only from the site itself: a name or topic that slipped through as markup could not run.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
MAX_REQUEST_LINE = 32 * 1024  # a 10 kB search gets the search page's own answer, not the server's bare 400


class WebServer:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        cal = settings.calendar
        public_path = urlsplit(cal.public_url).path if cal.public_url else ""
        self.path = public_path if public_path not in ("", "/") else DEFAULT_PATH
        web_url = settings.web.public_url
        self.root = (urlsplit(web_url).path or "/") if web_url else "/"
        self.port: int | None = None
        self.feed = CalendarFeed(self._render_calendar)
        self.site = Site(root=self.root)
        self.live = LivePages(self)
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---- addresses -------------------------------------------------------------------------------------------

    def _local(self, path: str) -> str:
        host = self.settings.calendar.host
        host = host if host not in ("0.0.0.0", "::", "") else "localhost"
        return f"http://{host}:{self.port or self.settings.calendar.port}{path}"

    @property
    def url(self) -> str:
        """Where people subscribe to the calendar: the public URL if configured, else the local address."""
        return self.settings.calendar.public_url or self._local(self.path)

    @property
    def site_url(self) -> str:
        """The web home's address (ends with /)."""
        return self.settings.web.public_url or self._local(self.root)

    def invalidate(self) -> None:
        """The schedule changed: the calendar feed is rendered again on its next request."""
        self.feed.invalidate()

    # ---- rendering -------------------------------------------------------------------------------------------

    async def _render_calendar(self) -> bytes:
        def work() -> bytes:
            with self.db.session() as session:
                group = first_group(session)
                if group is None:
                    raise RuntimeError("the working group is not set up yet")
                return schedule.to_ics(session, group, self.url, site_url=self.site_url)

        return await asyncio.to_thread(work)

    def _in_thread(self, page: str, fn: Callable[..., Rendered], *args) -> Rendered:
        with self.db.session() as session:
            group = first_group(session)
            if group is None:
                return self.site.error(page, 503, "The working group is not set up yet.")
            return fn(session, group, *args)

    async def _respond(self, page: str, fn: Callable[..., Rendered], *args) -> web.Response:
        try:
            rendered = await asyncio.to_thread(self._in_thread, page, fn, *args)
        except Exception:
            log.exception("could not render /%s", page)
            rendered = self.site.error(page, 503, "This page cannot be shown right now; try again in a moment.")
        return web.Response(text=rendered.html, status=rendered.status, content_type="text/html", charset="utf-8")

    # ---- routes ------------------------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        return await self._respond("", self.site.home)

    async def meetings(self, request: web.Request) -> web.Response:
        return await self._respond("meetings/", self.site.meetings)

    async def meeting(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        return await self._respond(f"meetings/{slug}/", self.site.meeting, slug)

    async def transcript(self, request: web.Request) -> web.Response:
        slug, fmt = request.match_info["slug"], request.match_info["fmt"]

        def work() -> tuple[str, str]:
            with self.db.session() as session:
                group = first_group(session)
                if group is None:
                    raise PageNotFound("The working group is not set up yet.")
                return self.site.transcript_file(session, group, slug, fmt)

        try:
            content_type, text = await asyncio.to_thread(work)
        except PageNotFound as exc:
            rendered = self.site.error(f"meetings/{slug}/", 404, str(exc))
            return web.Response(text=rendered.html, status=404, content_type="text/html", charset="utf-8")
        filename = f"{slug}-transcript.{fmt}"
        return web.Response(
            text=text,
            content_type=content_type,
            charset="utf-8",
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )

    async def actions(self, request: web.Request) -> web.Response:
        return await self._respond("actions/", self.site.actions)

    async def wishes(self, request: web.Request) -> web.Response:
        return await self._respond("wishes/", self.site.wishes)

    async def search(self, request: web.Request) -> web.Response:
        return await self._respond("search/", self.site.search, request.query.get("q"))

    async def stats(self, request: web.Request) -> web.Response:
        return await self._respond("stats/", self.site.stats)

    async def projects(self, request: web.Request) -> web.Response:
        return await self._respond("projects/", self.site.projects)

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPNotFound:
            rendered = self.site.error(request.path.removeprefix(self.root), 404, "There is no page at this address.")
            response = web.Response(text=rendered.html, status=404, content_type="text/html", charset="utf-8")
        except web.HTTPMethodNotAllowed:
            rendered = self.site.error("", 405, "This address only answers GET.")
            response = web.Response(text=rendered.html, status=405, content_type="text/html", charset="utf-8")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._middleware, web.normalize_path_middleware(append_slash=True, merge_slashes=True)],
            handler_args={"max_line_size": MAX_REQUEST_LINE, "max_field_size": 16384},
        )
        r = self.root
        app.router.add_get(self.path, self.feed.handle)  # GET also answers HEAD
        app.router.add_get(r, self.home)
        app.router.add_get(r + "meetings/", self.meetings)
        app.router.add_get(r + "meetings/{slug}/", self.meeting)
        app.router.add_get(r + "meetings/{slug}/transcript.{fmt}", self.transcript)
        app.router.add_get(r + "actions/", self.actions)
        app.router.add_get(r + "wishes/", self.wishes)
        app.router.add_get(r + "search/", self.search)
        app.router.add_get(r + "stats/", self.stats)
        app.router.add_get(r + "projects/", self.projects)
        app.router.add_get(r + "live/{meeting_id:\\d+}/", self.live.page)
        app.router.add_get(r + "live/{meeting_id:\\d+}/events", self.live.events)
        app.router.add_static(r + "static/", STATIC)
        return app

    # ---- life cycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, on an event loop of the server's own in a thread: a flood of requests is never queued in front
        of the bot's Discord work (the bot's loop only shares the interpreter with it)."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="wgbot-web", daemon=True)
        self._thread.start()
        try:
            await asyncio.wrap_future(ready)
        except BaseException:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
            raise
        self.site.feed_url = self.url
        log.info("web home at %s, calendar feed at %s", self.site_url, self.url)

    def _serve(self, ready: concurrent.futures.Future) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:
            loop.close()
            ready.set_exception(exc)
            return
        self._loop = loop
        ready.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close())
            loop.close()

    async def _listen(self) -> None:
        host, port = self.settings.calendar.host, self.settings.calendar.port
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise RuntimeError(
                f"the web home and calendar feed cannot listen on {host}:{port} "
                f"(WGBOT_CALENDAR_HOST/WGBOT_CALENDAR_PORT): {exc.strerror}"
            ) from None
        self._runner = runner
        self.port = runner.addresses[0][1] if runner.addresses else port

    async def _close(self) -> None:
        self.live.closing = True
        await self.feed.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def stop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            await asyncio.to_thread(thread.join)
