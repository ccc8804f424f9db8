"""The calendar feed over HTTP: a feed the icalendar parser accepts, following skips and moves, cache-friendly,
enough to join the call from the calendar entry, and served from a kept rendering so a flood of requests cannot
slow the bot down."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time

import aiohttp
import pytest
from icalendar import Calendar
from multidict import CIMultiDict

from bot.web.server import WebServer
from tests.bot.conftest import NEXT_MEETING
from tests.fakes.discord_rest import ALICE, BOB, GUILD_ID, VOICE_CHANNEL_ID, invoke
from tracker import schedule
from tracker.config import load_settings

UTC = dt.UTC


async def fetch(url: str, **headers: str) -> tuple[int, CIMultiDict, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


async def test_the_feed_is_a_weekly_series_with_its_exceptions(bot, fake_discord):
    status, headers, body = await fetch(bot.web.url)
    assert status == 200 and headers["Content-Type"] == "text/calendar; charset=utf-8"
    [series] = Calendar.from_ical(body).walk("VEVENT")
    assert series["RRULE"]["FREQ"] == ["WEEKLY"] and series["RRULE"]["BYDAY"] == ["TH"]
    assert series.decoded("DTSTART") == NEXT_MEETING and series.decoded("DTEND") == NEXT_MEETING + dt.timedelta(hours=1)

    await invoke(fake_discord, bot, "meeting skip", user=ALICE, date="2026-12-10")
    await invoke(
        fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-04", time="18:30", meeting="2026-12-03"
    )
    _, _, body = await fetch(bot.web.url)
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
    status, headers, body = await fetch(bot.web.url)
    assert status == 200 and headers["ETag"]
    clock.shift(dt.timedelta(minutes=10))  # a later poll: a new DTSTAMP, the same schedule
    again, _, empty = await fetch(bot.web.url, **{"If-None-Match": headers["ETag"]})
    assert again == 304 and empty == b""
    await invoke(fake_discord, bot, "meeting skip", user=ALICE)
    changed, new_headers, _ = await fetch(bot.web.url, **{"If-None-Match": headers["ETag"]})
    assert changed == 200 and new_headers["ETag"] != headers["ETag"]


async def test_the_public_url_sets_the_path_and_the_address_people_see(clock, bot_factory, sqlite_db, fake_discord):
    bot = await bot_factory(sqlite_db, calendar={"public_url": "https://wg.example.org/feeds/wg.ics"})
    assert bot.web.url == "https://wg.example.org/feeds/wg.ics"
    local = f"http://127.0.0.1:{bot.web.port}"
    assert (await fetch(local + "/feeds/wg.ics"))[0] == 200
    assert (await fetch(local + "/calendar.ics"))[0] == 404
    reply = await invoke(fake_discord, bot, "calendar", user=BOB)
    assert "https://wg.example.org/feeds/wg.ics" in reply.text and "webcal://wg.example.org/feeds/wg.ics" in reply.text


async def test_a_taken_port_is_a_one_line_error_naming_the_setting(sqlite_db):
    first = WebServer(load_settings(calendar={"host": "127.0.0.1", "port": 0}), sqlite_db)
    await first.start()
    try:
        second = WebServer(load_settings(calendar={"host": "127.0.0.1", "port": first.port}), sqlite_db)
        with pytest.raises(
            RuntimeError, match=rf"cannot listen on 127.0.0.1:{first.port} \(WGBOT_CALENDAR_HOST/WGBOT_CALENDAR_PORT\)"
        ):
            await second.start()
    finally:
        await first.stop()


async def test_the_feed_listens_on_the_loopback_address_unless_configured(sqlite_db):
    loaded = load_settings(calendar={"port": 0})
    assert loaded.calendar.host == "127.0.0.1"
    server = WebServer(loaded, sqlite_db)
    await server.start()
    try:
        assert [address[0] for address in server._runner.addresses] == ["127.0.0.1"]
    finally:
        await server.stop()


def _event_for(body: bytes, start: dt.datetime):
    return next(
        e
        for e in Calendar.from_ical(body).walk("VEVENT")
        if "RECURRENCE-ID" in e and e.decoded("RECURRENCE-ID") == start
    )


async def test_a_calendar_entry_is_enough_to_join_the_call(bot, fake_discord):
    await fetch(bot.web.url)  # rendered and kept before the agenda changes
    await invoke(fake_discord, bot, "agenda add", user=BOB, topic="Release plan")
    _, _, body = await fetch(bot.web.url)
    join = f"https://discord.com/channels/{GUILD_ID}/{VOICE_CHANNEL_ID}"
    series = next(e for e in Calendar.from_ical(body).walk("VEVENT") if "RRULE" in e)
    assert str(series["URL"]) == join and join in str(series["LOCATION"])
    nxt = _event_for(body, NEXT_MEETING)
    assert str(nxt["URL"]) == join and join in str(nxt["LOCATION"])
    description = str(nxt["DESCRIPTION"])
    assert f"Join the call: {join}" in description and "- Release plan" in description
    assert f"Meeting page: {bot.web.site_url}meetings/2026-12-03/" in description


async def test_a_moved_meeting_gets_a_higher_sequence_each_time(bot, fake_discord, clock):
    _, _, body = await fetch(bot.web.url)
    series = next(e for e in Calendar.from_ical(body).walk("VEVENT") if "RRULE" in e)
    first_sequence = int(series["SEQUENCE"])
    await invoke(
        fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-04", time="18:30", meeting="2026-12-03"
    )
    _, _, body = await fetch(bot.web.url)
    moved = int(_event_for(body, NEXT_MEETING)["SEQUENCE"])
    assert moved > first_sequence
    clock.shift(dt.timedelta(minutes=5))
    await invoke(
        fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-04", time="19:00", meeting="2026-12-03"
    )
    _, _, body = await fetch(bot.web.url)
    again = _event_for(body, NEXT_MEETING)
    assert int(again["SEQUENCE"]) > moved and again.decoded("DTSTART") == dt.datetime(2026, 12, 4, 19, tzinfo=UTC)


async def test_the_feed_is_served_from_a_kept_rendering_until_the_schedule_changes(bot, fake_discord):
    for _ in range(20):
        assert (await fetch(bot.web.url))[0] == 200
    assert bot.web.feed.renders == 1
    await invoke(fake_discord, bot, "meeting skip", user=ALICE)
    _, _, body = await fetch(bot.web.url)
    assert bot.web.feed.renders == 2 and b"EXDATE" in body


FLOOD = """
import socket, sys, urllib.parse
# A cheap client, so the flood's own CPU does not crowd the machine the bot runs on (a real flood comes from the
# network): 10 keep-alive connections, 100 pipelined requests each, responses counted by their status lines.
url = urllib.parse.urlsplit(sys.argv[1])
total, per = int(sys.argv[2]), int(sys.argv[2]) // 10
request = f"GET {url.path} HTTP/1.1\\r\\nHost: {url.netloc}\\r\\n\\r\\n".encode()
sockets = [socket.create_connection((url.hostname, url.port)) for _ in range(10)]
for s in sockets:
    s.sendall(request * per)
print("sent", flush=True)
ok = 0
for s in sockets:
    data = b""
    while data.count(b"HTTP/1.1 ") < per:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    ok += data.count(b"HTTP/1.1 200 OK")
print(ok)
"""


async def test_a_flood_of_feed_requests_leaves_slash_commands_answering_within_100_ms(bot, fake_discord):
    await fetch(bot.web.url)  # rendered and kept
    # The flood comes from another process, as it would from the network.
    flood = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FLOOD, bot.web.url, "1000", stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert (await flood.stdout.readline()).strip() == b"sent"  # the server has the 1,000 requests to answer
    latencies = []
    while flood.returncode is None:
        started = time.perf_counter()
        # What /calendar does: one tracker call in a worker thread, on the bot's loop.
        await bot.group_call(schedule.next_occurrence)
        latencies.append(time.perf_counter() - started)
        try:
            await asyncio.wait_for(asyncio.shield(flood.wait()), 0.002)
        except TimeoutError:
            pass
    out, err = await flood.communicate()
    assert flood.returncode == 0, err.decode()[-500:]
    assert int(out) == 1000
    assert len(latencies) >= 3 and max(latencies) < 0.100, sorted(latencies)[-5:]
    assert bot.web.feed.renders == 1
