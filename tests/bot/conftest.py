"""The bot under test: the real `WgBot` (command tree, extensions, scheduler, calendar feed) logged in to a local
fake of Discord's REST API, on a real database, with a controlled clock.

The clock starts on Monday 2026-11-30 12:00 UTC; the group meets on Thursdays at 17:00 UTC (the default cadence),
so the next meeting is Thursday 2026-12-03 17:00.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import discord
import pytest
import time_machine

from bot.app import WgBot
from tests.fakes.discord_rest import (
    GUILD_ID,
    ORGANIZER_ROLE_ID,
    TEXT_CHANNEL_ID,
    TOKEN,
    VOICE_CHANNEL_ID,
    FakeDiscord,
    guild_payload,
)
from tracker import timers
from tracker.config import Settings, load_settings
from tracker.db import Database
from tracker.models import Meeting

if TYPE_CHECKING:
    from bot.exts.pipeline import Pipeline
    from bot.exts.recording import Recording
    from bot.exts.timers import Timers

UTC = dt.UTC
MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NEXT_MEETING = dt.datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # Thursday


def bot_settings(data_dir: Path, api_base: str | None = None, **sections: dict) -> Settings:
    discord_section = {
        "token": TOKEN,
        "guild_id": GUILD_ID,
        "text_channel_id": TEXT_CHANNEL_ID,
        "voice_channel_id": VOICE_CHANNEL_ID,
        "organizer_role_id": ORGANIZER_ROLE_ID,
    }
    if api_base:
        discord_section["api_base"] = api_base
    return load_settings(
        discord={**discord_section, **sections.pop("discord", {})},
        calendar={"host": "127.0.0.1", "port": 0, **sections.pop("calendar", {})},
        storage={"data_dir": str(data_dir)},
        # The stand-in recorder produces no utterances: no live transcriber process (tests/pipeline covers it).
        recording={"live_transcription": False, **sections.pop("recording", {})},
        **sections,
    )


class FakeRecorder:
    """Plays `bot.voice.recorder.MeetingRecorder`'s control API (joining a real voice channel needs Discord's voice
    gateway, which tests/voice covers): start, stop (idempotent, telling `on_stopped`, as the real one does), opt_out.
    On stop it leaves a track file, as a recording with audio does."""

    instances: list[FakeRecorder] = []

    def __init__(
        self,
        bot,
        *,
        meeting_id,
        folder,
        voice_channel,
        text_channel,
        opted_out,
        on_utterance=None,
        empty_timeout=300,
        max_length=14400,
        retention_days=30,
        contact="the organizers",
        on_stopped=None,
    ) -> None:
        self.meeting_id, self.folder = meeting_id, Path(folder)
        self.voice_channel, self.text_channel = voice_channel, text_channel
        self.opted_out, self.on_stopped = opted_out, on_stopped
        self.empty_timeout, self.max_length, self.retention_days, self.contact = (
            empty_timeout,
            max_length,
            retention_days,
            contact,
        )
        self.started = False
        self.stopped_with: str | None = None
        self.dropped: list[int] = []
        self._result = None
        FakeRecorder.instances.append(self)

    async def start(self) -> None:
        self.started = True

    def opt_out(self, user_id: int, *, delete_existing: bool = True) -> None:
        self.dropped.append(user_id)

    async def stop(self, reason: str = "stopped"):
        if self._result is None:
            self.stopped_with = reason
            track = self.folder / "alice-700000000000000001.ogg"
            track.write_bytes(b"OggS" + bytes(200))
            self._result = SimpleNamespace(folder=self.folder, tracks=[track.name], stop_reason=reason)
            if self.on_stopped is not None:
                await self.on_stopped(self._result)
        return self._result


class FakeRunner:
    """Plays `tracker.tasks.PipelineRunner` (a spawned worker process, or a Procrastinate job: tests/pipeline covers
    those): remembers which meetings were handed to the pipeline, and in which state, and runs nothing."""

    started: list[tuple[int, str]] = []

    def __init__(self, db: Database) -> None:
        self.db = db
        self.uses_queue = False

    async def start(self, meeting_id: int) -> None:
        def state() -> str:
            with self.db.session() as session:
                return session.get(Meeting, meeting_id).state.value

        FakeRunner.started.append((meeting_id, await asyncio.to_thread(state)))

    async def close(self) -> None:
        pass


@pytest.fixture
def clock() -> AsyncIterator[time_machine.Traveller]:
    with time_machine.travel(MONDAY_NOON, tick=True) as traveller:
        yield traveller


@pytest.fixture
async def fake_discord(monkeypatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
    yield fake
    await fake.stop()


async def start_bot(settings: Settings, db: Database, fake: FakeDiscord) -> WgBot:
    """Log in (runs setup_hook), then deliver the guild as the gateway's GUILD_CREATE would."""
    FakeRecorder.instances.clear()
    FakeRunner.started.clear()
    bot = WgBot(settings, db, recorder_factory=FakeRecorder, pipeline_runner=FakeRunner(db), background=False)
    await bot.login(TOKEN)
    guild = bot._connection._add_guild_from_data(guild_payload())
    await bot.on_guild_available(guild)
    await settle(bot)  # the features' start-up work (recovery, resumed pipelines, events, due timers)
    return bot


@pytest.fixture
async def bot_factory(fake_discord, tmp_path) -> AsyncIterator[Callable]:
    started: list[WgBot] = []

    async def make(db: Database, **sections) -> WgBot:
        bot = await start_bot(bot_settings(tmp_path / "data", **sections), db, fake_discord)
        started.append(bot)
        return bot

    yield make
    for bot in started:
        if not bot.is_closed():
            await bot.close()


@pytest.fixture
async def bot(clock, bot_factory, sqlite_db) -> WgBot:
    return await bot_factory(sqlite_db)


async def eventually(condition: Callable[[], object], timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def timers_cog(bot: WgBot) -> Timers:
    return cast("Timers", bot.get_cog("Timers"))


def recording_cog(bot: WgBot) -> Recording:
    return cast("Recording", bot.get_cog("Recording"))


def pipeline_cog(bot: WgBot) -> Pipeline:
    return cast("Pipeline", bot.get_cog("Pipeline"))


def job_times(bot: WgBot) -> dict[str, dt.datetime]:
    """The planned timers: id -> time (the database rows)."""
    with bot.db.session() as session:
        return timers.planned_times(session)


def _listeners_running() -> bool:
    # discord.py runs every listener of a dispatched event as a task of this name.
    return any(t.get_name().startswith("discord.py: ") and not t.done() for t in asyncio.all_tasks())


async def settle(bot: WgBot, timeout: float = 10.0) -> None:
    """Let the due timers fire and everything they set going run to the end."""
    cog = timers_cog(bot)
    cog.wake()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet_rounds = 0
    while quiet_rounds < 3:  # quiet three times in a row: nothing is left that dispatches more
        await asyncio.sleep(0.02)
        with bot.db.session() as session:
            upcoming = timers.next_run_at(session)
        due = upcoming is not None and upcoming <= dt.datetime.now(UTC)
        if due:
            cog.wake()
        quiet_rounds = 0 if (due or cog.busy or _listeners_running()) else quiet_rounds + 1
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for the due timers (next at {upcoming}, busy {cog.busy})")


async def advance(clock: time_machine.Traveller, bot: WgBot, moment: dt.datetime) -> None:
    """Move the clock to `moment` and let the jobs that are due by then run."""
    clock.move_to(moment)
    await settle(bot)
