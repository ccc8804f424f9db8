"""The calendar feed over HTTP: a feed the icalendar parser accepts, following skips and moves, cache-friendly."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from icalendar import Calendar
from multidict import CIMultiDict

from bot.calendar_feed import CalendarFeed
from tests.bot.conftest import NEXT_MEETING
from tests.fakes.discord_rest import ALICE, BOB, invoke
from tracker.config import CalendarSettings

UTC = dt.UTC


async def fetch(url: str, **headers: str) -> tuple[int, CIMultiDict, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


async def test_the_feed_is_a_weekly_series_with_its_exceptions(bot, fake_discord):
    status, headers, body = await fetch(bot.calendar.url)
    assert status == 200 and headers["Content-Type"] == "text/calendar; charset=utf-8"
    [series] = Calendar.from_ical(body).walk("VEVENT")
    assert series["RRULE"]["FREQ"] == ["WEEKLY"] and series["RRULE"]["BYDAY"] == ["TH"]
    assert series.decoded("DTSTART") == NEXT_MEETING and series.decoded("DTEND") == NEXT_MEETING + dt.timedelta(hours=1)

    await invoke(fake_discord, bot, "meeting skip", user=ALICE, date="2026-12-10")
    await invoke(
        fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-04", time="18:30", meeting="2026-12-03"
    )
    _, _, body = await fetch(bot.calendar.url)
    events = Calendar.from_ical(body).walk("VEVENT")
    series = next(e for e in events if "RRULE" in e)
    excluded = (
        [d.dt for d in series["EXDATE"].dts]
        if not isinstance(series["EXDATE"], list)
        else [d.dt for x in series["EXDATE"] for d in x.dts]
    )
    assert excluded == [dt.datetime(2026, 12, 10, 17, tzinfo=UTC)]
    [moved] = [e for e in events if "RECURRENCE-ID" in e]
    assert moved.decoded("RECURRENCE-ID") == NEXT_MEETING
    assert moved.decoded("DTSTART") == dt.datetime(2026, 12, 4, 18, 30, tzinfo=UTC)
    assert moved["UID"] == series["UID"]


async def test_an_unchanged_feed_answers_304_to_its_etag(bot, fake_discord, clock):
    status, headers, body = await fetch(bot.calendar.url)
    assert status == 200 and headers["ETag"]
    clock.shift(dt.timedelta(minutes=10))  # a later poll: a new DTSTAMP, the same schedule
    again, _, empty = await fetch(bot.calendar.url, **{"If-None-Match": headers["ETag"]})
    assert again == 304 and empty == b""
    await invoke(fake_discord, bot, "meeting skip", user=ALICE)
    changed, new_headers, _ = await fetch(bot.calendar.url, **{"If-None-Match": headers["ETag"]})
    assert changed == 200 and new_headers["ETag"] != headers["ETag"]


async def test_the_public_url_sets_the_path_and_the_address_people_see(clock, bot_factory, sqlite_db, fake_discord):
    bot = await bot_factory(sqlite_db, calendar={"public_url": "https://wg.example.org/feeds/wg.ics"})
    assert bot.calendar.url == "https://wg.example.org/feeds/wg.ics"
    local = f"http://127.0.0.1:{bot.calendar.port}"
    assert (await fetch(local + "/feeds/wg.ics"))[0] == 200
    assert (await fetch(local + "/calendar.ics"))[0] == 404
    reply = await invoke(fake_discord, bot, "calendar", user=BOB)
    assert "https://wg.example.org/feeds/wg.ics" in reply.text and "webcal://wg.example.org/feeds/wg.ics" in reply.text


async def test_a_taken_port_is_a_one_line_error_naming_the_setting():
    async def render() -> bytes:
        return b""

    first = CalendarFeed(CalendarSettings(host="127.0.0.1", port=0), render)
    await first.start()
    try:
        second = CalendarFeed(CalendarSettings(host="127.0.0.1", port=first.port), render)
        with pytest.raises(
            RuntimeError, match=rf"cannot listen on 127.0.0.1:{first.port} \(WGBOT_CALENDAR_HOST/WGBOT_CALENDAR_PORT\)"
        ):
            await second.start()
    finally:
        await first.stop()
