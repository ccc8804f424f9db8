"""The web home under test: the real aiohttp server on a free local port, over a real database holding the sample
history of tests/web/sample.py, with the clock on Monday 2026-11-30 12:00 UTC (the next meeting is Thursday)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import time_machine

from bot.web.server import WebServer
from tests.web.sample import NOW, Sample, build_sample, settings


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def sample(db, tmp_path, clock) -> Sample:
    return build_sample(db, tmp_path)


@pytest.fixture
async def server(db, sample, tmp_path) -> AsyncIterator[WebServer]:
    loaded = settings(tmp_path)
    loaded.calendar.port = 0
    web = WebServer(loaded, db)
    await web.start()
    yield web
    await web.stop()


async def get(url: str, method: str = "GET") -> tuple[int, dict, str]:
    async with aiohttp.ClientSession() as http, http.request(method, url) as response:
        return response.status, dict(response.headers), await response.text()
