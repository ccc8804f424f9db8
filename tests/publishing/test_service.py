"""The bot's background publisher: woken after minutes are stored, it publishes them and stops when told."""

from __future__ import annotations

import asyncio

from tests.publishing.conftest import TOPIC, add_meeting, make_publisher, rows, store
from tracker.models import PublicationState
from tracker.publishing.service import BackgroundPublisher


async def test_background_publisher_publishes_when_woken(sqlite_db, github, forum, discord, settings, clock):
    settings.publish.poll_seconds = 300  # only the wake-up can make it publish within the test
    background = BackgroundPublisher(sqlite_db, settings, make_publisher(sqlite_db, settings, clock))
    stop = asyncio.Event()
    task = asyncio.create_task(background.run(stop))
    await asyncio.sleep(0.3)  # first (empty) pass done, now asleep

    store(sqlite_db, add_meeting(sqlite_db))
    background.wake()
    for _ in range(100):
        if rows(sqlite_db) and all(r.state == PublicationState.done for r in rows(sqlite_db)):
            break
        await asyncio.sleep(0.1)
    assert all(r.state == PublicationState.done for r in rows(sqlite_db))
    assert len(forum.posts_in(TOPIC, forum.username)) == 1

    stop.set()
    await asyncio.wait_for(task, timeout=5)
