"""The live page: during a call, its recording state and the transcript as it grows (server-sent events), reachable
only through a signed link that expires (`/live` in Discord gives it to the call's participants).

A link is `live/<meeting id>/?exp=<unix time>&sig=<HMAC-SHA256 of both>`, signed with `[web] secret` or, when none
is configured, a random key made once and kept in the data folder (readable by wgbot's user only). Nothing else on
the site needs it: the rest shows only published meetings.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from pathlib import Path

from aiohttp import web

from tracker import live_view
from tracker.config import Settings

log = logging.getLogger(__name__)

SECRET_FILE = "web-secret"
POLL_SECONDS = 0.5  # how often the stream looks for new lines: well inside the 2 s a reader may wait
STATE_EVERY = 5.0  # how often it looks at the meeting's state


class LinkError(ValueError):
    """A live link that is not valid (anymore); the message is shown to the reader."""


def load_secret(settings: Settings) -> bytes:
    if settings.web.secret is not None and settings.web.secret.get_secret_value():
        return settings.web.secret.get_secret_value().encode()
    path = Path(settings.storage.data_dir) / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def _signature(secret: bytes, meeting_id: int, expires: int) -> str:
    return hmac.new(secret, f"live:{meeting_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def link_path(secret: bytes, meeting_id: int, valid_seconds: float, now: float | None = None) -> str:
    """The live page's path (from the site's root) for `meeting_id`, working for `valid_seconds` from now."""
    expires = int((now or time.time()) + valid_seconds)
    return f"live/{meeting_id}/?exp={expires}&sig={_signature(secret, meeting_id, expires)}"


def check(secret: bytes, meeting_id: int, query) -> int:
    """The link's expiry time, or LinkError with what is wrong with it."""
    try:
        expires = int(query.get("exp", ""))
    except ValueError:
        raise LinkError("This live link is incomplete. Ask for a new one with /live in Discord.") from None
    if not hmac.compare_digest(_signature(secret, meeting_id, expires), str(query.get("sig", ""))):
        raise LinkError("This live link is not valid. Ask for a new one with /live in Discord.")
    if expires < time.time():
        raise LinkError("This live link has expired. Ask for a new one with /live in Discord.")
    return expires


def _event(name: str, data, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class LivePages:
    def __init__(self, server) -> None:
        self.server = server
        self._secret: bytes | None = None
        self.closing = False  # the server is stopping: open streams end

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = load_secret(self.server.settings)
        return self._secret

    def link(self, meeting_id: int) -> str:
        hours = self.server.settings.web.live_link_hours
        return self.server.site_url + link_path(self.secret, meeting_id, hours * 3600)

    def _meeting(self, meeting_id: int) -> live_view.LiveMeeting | None:
        with self.server.db.session() as session:
            return live_view.live_meeting(session, meeting_id)

    def _refuse(self, page: str, status: int, message: str) -> web.Response:
        rendered = self.server.site.error(page, status, message)
        return web.Response(text=rendered.html, status=status, content_type="text/html", charset="utf-8")

    async def page(self, request: web.Request) -> web.StreamResponse:
        meeting_id = int(request.match_info["meeting_id"])
        page = f"live/{meeting_id}/"
        try:
            expires = check(self.secret, meeting_id, request.query)
        except LinkError as exc:
            return self._refuse(page, 403, str(exc))
        live = await asyncio.to_thread(self._meeting, meeting_id)
        if live is None:
            return self._refuse(page, 404, "There is no such meeting.")
        chunk = await asyncio.to_thread(live_view.read_lines, live, 0)
        events = f"{self.server.root}live/{meeting_id}/events?exp={expires}&sig={request.query['sig']}"
        rendered = self.server.site.render(
            "live.html",
            page,
            title=f"Live: {live.title}",
            group_name="",
            live=live,
            lines=chunk.lines,
            offset=chunk.offset,
            events=events,
        )
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the link is the key
        return web.Response(text=rendered.html, content_type="text/html", charset="utf-8", headers=headers)

    async def events(self, request: web.Request) -> web.StreamResponse:
        meeting_id = int(request.match_info["meeting_id"])
        try:
            expires = check(self.secret, meeting_id, request.query)
        except LinkError as exc:
            return web.Response(status=403, text=str(exc))
        live = await asyncio.to_thread(self._meeting, meeting_id)
        if live is None:
            return web.Response(status=404, text="There is no such meeting.")
        try:
            offset = int(request.headers.get("Last-Event-ID") or request.query.get("from") or 0)
        except ValueError:
            offset = 0
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        state, checked = live.state, time.monotonic()
        await response.write(_event("state", state.value))
        try:
            while True:
                chunk = await asyncio.to_thread(live_view.read_lines, live, offset)
                if chunk.reset:
                    await response.write(_event("reset", None))
                for line in chunk.lines:
                    await response.write(_event("line", line, chunk.offset))
                offset = chunk.offset
                if time.monotonic() - checked > STATE_EVERY:
                    fresh = await asyncio.to_thread(self._meeting, meeting_id)
                    checked = time.monotonic()
                    if fresh is not None and fresh.state != state:
                        live, state = fresh, fresh.state
                        await response.write(_event("state", state.value))
                if not live.live:
                    await response.write(_event("end", state.value))
                    break
                if self.closing:
                    break
                if time.time() > expires:
                    await response.write(_event("expired", None))
                    break
                await asyncio.sleep(POLL_SECONDS)
        except ConnectionResetError:
            pass  # the reader left
        return response
