"""The live page: only through a signed, unexpired link; its event stream sends each new transcript line as the live
transcriber writes it, never the lines of someone who opted out, and says when the call has ended."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from bot.web import live as live_module
from bot.web.live import link_path
from tests.web.conftest import get
from tracker import optout
from tracker.models import Meeting, MeetingState
from tracker.recording_files import LIVE_SEGMENTS


@pytest.fixture
def recording(db, sample, tmp_path):
    """A meeting being recorded now, its live transcript with one line so far."""
    folder = tmp_path / "recordings" / "live"
    folder.mkdir(parents=True)
    with db.session() as session:
        meeting = session.get(Meeting, sample.published[1])
        call = Meeting(
            group_id=meeting.group_id,
            scheduled_start=meeting.scheduled_start,
            title="Live call",
            state=MeetingState.recording,
            recording_dir=str(folder),
        )
        session.add(call)
        session.flush()
        meeting_id = call.id
    say(folder, "Ada", 1.0, "Hello and welcome.")
    return meeting_id, folder


def say(folder, speaker: str, start: float, text: str, track: str = "") -> None:
    segment = {"speaker": speaker, "start": start, "end": start + 2.0, "text": text, "track": track or f"{speaker}.ogg"}
    with open(folder / LIVE_SEGMENTS, "a") as f:
        f.write(json.dumps(segment) + "\n")


def link(server, meeting_id: int, seconds: float = 600.0) -> str:
    return server.site_url + link_path(server.live.secret, meeting_id, seconds)


async def test_the_live_page_needs_a_signed_unexpired_link(server, recording):
    meeting_id, _ = recording
    good = link(server, meeting_id)
    status, headers, body = await get(good)
    assert status == 200 and "Hello and welcome." in body and headers["Cache-Control"] == "no-store"
    refused = {
        "no signature": server.site_url + f"live/{meeting_id}/",
        "wrong signature": good[:-4] + "0000",
        "another meeting": good.replace(f"live/{meeting_id}/", f"live/{meeting_id - 1}/"),
        "expired": link(server, meeting_id, -1.0),
    }
    for what, url in refused.items():
        status, _, body = await get(url)
        assert status == 403 and "Ask for a new one with /live" in body and "Hello" not in body, what
    assert "has expired" in (await get(refused["expired"]))[2]


async def _events(response, until: str, timeout: float = 10.0) -> list[tuple[str, object]]:
    seen, name = [], None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(response.content.readline(), deadline - time.monotonic())
        text = raw.decode().rstrip("\n")
        if text.startswith("event: "):
            name = text[7:]
        elif text.startswith("data: "):
            seen.append((name, json.loads(text[6:])))
            if name == until:
                return seen
    raise AssertionError(f"no {until!r} event in {seen}")


async def test_the_stream_sends_new_lines_but_never_an_opted_out_speakers(server, recording, db, monkeypatch):
    monkeypatch.setattr(live_module, "STATE_EVERY", 0.5)
    meeting_id, folder = recording
    events_url = link(server, meeting_id).replace("/?", "/events?")
    async with aiohttp.ClientSession() as http, http.get(events_url) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        first = await _events(response, "line")
        assert first == [
            ("state", "recording"),
            ("line", {"speaker": "Ada", "start": 1.0, "end": 3.0, "text": "Hello and welcome."}),
        ]
        said = time.monotonic()
        say(folder, "Olga", 4.0, "I opted out for good.")  # Member.recording_opt_out
        say(folder, "Zoe", 5.0, "I opted out during this call.")
        optout.record(folder, 99, speakers=["Zoe"])
        say(folder, "Bob", 6.0, "A new line.")
        new = await _events(response, "line")
        assert [data["text"] for name, data in new if name == "line"] == ["A new line."]
        assert time.monotonic() - said < 2.0
        with db.session() as session:
            session.get(Meeting, meeting_id).state = MeetingState.recorded
        ended = await _events(response, "end")
        assert ended[-1] == ("end", "recorded") and ("state", "recorded") in ended


async def test_the_stream_starts_again_when_the_transcript_is_rewritten(server, recording):
    meeting_id, folder = recording
    say(folder, "Bob", 4.0, "Second line.")
    events_url = link(server, meeting_id).replace("/?", "/events?")
    async with aiohttp.ClientSession() as http, http.get(events_url) as response:
        await _events(response, "line")
        await _events(response, "line")
        (folder / LIVE_SEGMENTS).write_text("")  # the live transcriber forgot someone: the file was rewritten
        say(folder, "Ada", 1.0, "Hi.")
        again = await _events(response, "line")
        assert ("reset", None) in again and again[-1][1]["text"] == "Hi."
