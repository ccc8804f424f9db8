"""The publisher in the bot's background: drain the outbox whenever something is due (or `wake()` is called after
new minutes were stored), and pull issue state back from GitHub every `sync_minutes`. The blocking work runs in a
worker thread; the event loop only waits."""

from __future__ import annotations

import asyncio
import logging
import time

from tracker.config import Settings
from tracker.db import Database
from tracker.models import utcnow
from tracker.publishing.lock import PublisherBusy
from tracker.publishing.outbox import Publisher
from tracker.publishing.sync import sync_issue_states

log = logging.getLogger(__name__)


class BackgroundPublisher:
    def __init__(self, db: Database, settings: Settings, publisher: Publisher | None = None) -> None:
        self.db = db
        self.settings = settings
        self.publisher = publisher or Publisher(db, settings)
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Publish now (thread-safe): called after a meeting's minutes and outbox rows were stored."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        poll = self.settings.publish.poll_seconds
        sync_every = self.settings.publish.sync_minutes * 60
        last_sync = float("-inf")
        while not stop.is_set():
            timeout = poll
            try:
                report = await asyncio.to_thread(self.publisher.drain)
                if report.next_attempt_at is not None:
                    timeout = min(poll, max(0.5, (report.next_attempt_at - utcnow()).total_seconds()))
            except PublisherBusy:
                log.debug("another publisher is draining; trying again in %.0fs", poll)
            except Exception:
                log.exception("publisher pass failed")
            if self.settings.github.token and time.monotonic() - last_sync >= sync_every:
                last_sync = time.monotonic()
                try:
                    result = await asyncio.to_thread(sync_issue_states, self.db, self.settings)
                    if result.closed or result.reopened:
                        log.info("issue sync: %d closed, %d reopened", len(result.closed), len(result.reopened))
                except Exception:
                    log.exception("issue sync failed")
            await self._sleep(stop, wake, timeout)

    async def _sleep(self, stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
        wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()


__all__ = ["BackgroundPublisher"]
