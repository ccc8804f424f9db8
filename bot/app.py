"""The Discord bot: a `commands.Bot` with one extension per feature, and the services that run beside it.

`setup_hook` (run once, after login and before the gateway connects):
  1. makes sure the working group row exists (from the settings),
  2. loads the extensions in `EXTENSIONS`, each adding its commands to the configured guild only,
  3. syncs the command tree to that guild (guild commands update at once; global ones take up to an hour),
  4. starts the web home with the calendar feed (aiohttp, bot/web/) and the meeting scheduler (APScheduler, jobs
     in the tracker database),
  5. starts the outbox publisher (`tracker.publishing.service.BackgroundPublisher`), which also runs the hourly
     GitHub issue-state sync.
A finished recording goes to the pipeline (`tracker.tasks.PipelineRunner`: a local worker process on SQLite, a
Procrastinate job for `wgbot worker` on PostgreSQL) and gets a status message that follows it
(bot/pipeline_status.py). When the gateway delivers the guild (`on_guild_available`), a recording a crash interrupted
is resumed or finished, the status messages of unfinished meetings are followed again, and the Discord events are
brought in line with the schedule.

Command handlers stay thin: parse, one tracker call through `group_call`/`db_call` (run in a worker thread inside
one database transaction), reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import discord
from discord.ext import commands, tasks

from bot.announcements import Announcer
from bot.errors import WgCommandTree
from bot.pipeline_status import PipelineStatus, meetings_to_follow
from bot.recording import RecorderFactory, RecordingControl
from bot.scheduled_events import EventSync
from bot.scheduler import MeetingJobs
from bot.web.server import WebServer
from tracker import health, members, schedule
from tracker.config import Settings
from tracker.db import Database
from tracker.models import Meeting, MeetingState, WorkingGroup
from tracker.publishing.service import BackgroundPublisher
from tracker.tasks import PipelineRunner

log = logging.getLogger(__name__)

T = TypeVar("T")
HEARTBEAT_SECONDS = 30

EXTENSIONS = (
    "bot.exts.meetings",
    "bot.exts.agenda",
    "bot.exts.actions",
    "bot.exts.wishlist",
    "bot.exts.minutes",
    "bot.exts.calendar",
    "bot.exts.members",
    "bot.exts.review",
    "bot.exts.chat",
    "bot.exts.projects",
    "bot.exts.live",
    "bot.exts.site",
)


def use_api_base(url: str | None) -> None:
    """Point discord.py's REST client (and interaction webhooks, which share its Route) at `url` (tests, proxies)."""
    if url:
        discord.http.Route.BASE = url.rstrip("/")


class WgBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        recorder_factory: RecorderFactory | None = None,
        pipeline_runner: PipelineRunner | None = None,
        background: bool = True,
    ) -> None:
        settings.discord.require("guild_id", purpose="to run the bot")
        use_api_base(settings.discord.api_base)
        intents = discord.Intents.default()  # guilds and voice states: slash commands and recording need no more
        # The call's chat (bot/exts/chat.py): a privileged intent, enabled in the Developer Portal.
        intents.message_content = settings.discord.capture_chat
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            tree_cls=WgCommandTree,
            # Nothing the bot posts pings anyone unless that message says whom (users echo text: "@everyone …").
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.settings = settings
        self.db = db
        self.guild_id: int = settings.discord.guild_id
        self.guild_object = discord.Object(id=self.guild_id)
        self.organizer_role_id: int | None = settings.discord.organizer_role_id
        self.text_channel_id: int | None = settings.discord.text_channel_id
        self.voice_channel_id: int | None = settings.discord.voice_channel_id
        self.recordings_dir = Path(settings.storage.data_dir) / "recordings"
        self.group_id: int | None = None
        self.guild_ready = asyncio.Event()  # set once the configured guild is in the cache (gateway GUILD_CREATE)
        self.calendar = WebServer(settings, db)  # the web home and the calendar feed, on one aiohttp server
        self.events = EventSync(self)
        self.announcer = Announcer(self)
        self.jobs = MeetingJobs(self)
        self.recording = RecordingControl(self, recorder_factory)
        self.pipeline_status = PipelineStatus(self)
        self.publisher: BackgroundPublisher | None = None  # the outbox publisher (not in tests that leave it out)
        self._runner = pipeline_runner  # else created on first use: it may open a task-queue connection
        self._handed_over: set[int] = set()  # meetings this process gave to the pipeline when their recording ended
        self._run_background = background
        self._stop = asyncio.Event()
        self._background: list[asyncio.Task] = []

    # ---- tracker access ------------------------------------------------------------------------------------

    def _resolve(self, session, value: Any) -> Any:
        """Discord users become tracker members (created on first sight) inside the caller's transaction."""
        if isinstance(value, discord.User | discord.Member):
            return members.get_or_create(session, value.id, value.display_name)
        return value

    async def db_call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(session, *args, **kwargs)` in a worker thread, in one transaction; Discord users passed as arguments
        arrive as `tracker.models.Member`."""

        def work() -> T:
            with self.db.session() as session:
                return fn(
                    session,
                    *[self._resolve(session, a) for a in args],
                    **{k: self._resolve(session, v) for k, v in kwargs.items()},
                )

        return await asyncio.to_thread(work)

    async def group_call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(session, group, *args, **kwargs)`: `db_call` with the working group as second argument."""

        def with_group(session, *a, **kw):
            group = session.get(WorkingGroup, self.group_id)
            if group is None:
                raise RuntimeError(f"working group #{self.group_id} is missing from the database")
            return fn(session, group, *a, **kw)

        return await self.db_call(with_group, *args, **kwargs)

    # ---- life cycle ----------------------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        group = await self.db_call(schedule.ensure_group, self.settings)
        self.group_id = group.id
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        synced = await self.tree.sync(guild=self.guild_object)
        log.info("synced %d commands to guild %s", len(synced), self.guild_id)
        await self.calendar.start()
        log.info("web home at %s, calendar feed at %s", self.calendar.site_url, self.calendar.url)
        self.jobs.start()
        await self.jobs.sync(reconcile_events=False)  # events are reconciled once the guild is ready
        if self._run_background:
            self._start_publisher()
            self.heartbeat.start()
        if not self.text_channel_id:
            log.warning("WGBOT_DISCORD_TEXT_CHANNEL_ID is not set: no agenda or reminder posts")
        if not self.voice_channel_id:
            log.warning("WGBOT_DISCORD_VOICE_CHANNEL_ID is not set: no Discord events and no recording")

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))
        guild = self.get_guild(self.guild_id)
        if guild is None:
            log.error("the bot is not a member of guild %s (WGBOT_DISCORD_GUILD_ID): invite it first", self.guild_id)
        elif not self.guild_ready.is_set():
            await self.on_guild_available(guild)

    async def on_guild_available(self, guild: discord.Guild) -> None:
        if guild.id == self.guild_id and not self.guild_ready.is_set():
            self.guild_ready.set()
            await self.recording.recover()  # before the jobs: a resumed recording is not started twice
            await self.resume_pipelines()
            await self.jobs.sync(reconcile_events=True)

    async def guild(self, timeout: float = 120.0) -> discord.Guild:
        """The configured guild, waiting (up to `timeout`) for the gateway to deliver it after a start."""
        guild = self.get_guild(self.guild_id)
        if guild is None:
            await asyncio.wait_for(self.guild_ready.wait(), timeout)
            guild = self.get_guild(self.guild_id)
        if guild is None:
            raise RuntimeError(f"guild {self.guild_id} is not available to the bot")
        return guild

    async def schedule_changed(self) -> None:
        """After a skip, reschedule or cadence change: rebuild the jobs, update or remove Discord events, and have
        the calendar feed rendered again."""
        self.calendar.invalidate()
        await self.jobs.sync(reconcile_events=True)

    @tasks.loop(seconds=HEARTBEAT_SECONDS)
    async def heartbeat(self) -> None:
        """For the container healthcheck (`wgbot health`): alive while connected to the gateway."""
        if self.is_ready() and not self.is_closed():
            await asyncio.to_thread(health.beat, self.settings.storage.data_dir, "bot")

    async def close(self) -> None:
        self.heartbeat.cancel()
        await self.recording.stop_all("the bot is shutting down")
        self._stop.set()
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        await self.pipeline_status.close()
        if self._runner is not None:
            await self._runner.close()
        self.jobs.shutdown()
        await self.calendar.stop()
        await super().close()

    # ---- the publisher and the pipeline --------------------------------------------------------------------

    def _start_publisher(self) -> None:
        """The outbox publisher (GitHub issues, forum post, archive, minutes message) and its hourly GitHub sync."""
        try:
            self.publisher = BackgroundPublisher(self.db, self.settings)
        except Exception:  # the bot is still useful without it; `wgbot publish` can do the work
            log.exception("the outbox publisher could not start: nothing is published from this process")
            return
        self._background.append(asyncio.create_task(self.publisher.run(self._stop), name="wgbot: publisher"))
        log.info("outbox publisher started")

    @property
    def runner(self) -> PipelineRunner:
        if self._runner is None:
            self._runner = PipelineRunner(self.settings)
        return self._runner

    async def start_pipeline(self, meeting_id: int) -> None:
        """Hand the meeting to the pipeline's runner; it returns at once (the work happens in another process)."""
        try:
            await self.runner.start(meeting_id)
        except Exception:  # e.g. the task queue is unreachable: the meeting keeps its state for a later run
            log.exception(
                "could not start the pipeline for meeting %s (`wgbot process` or a restart resumes it)", meeting_id
            )

    async def continue_pipeline(self, meeting_id: int) -> None:
        """After a review ended: publish what it released (the publisher here, else the pipeline's runner)."""
        if self.publisher is not None:
            self.publisher.wake()
        else:
            await self.start_pipeline(meeting_id)
        if self.text_channel_id:
            self.pipeline_status.track(meeting_id)

    async def recording_finished(self, meeting: Meeting, result: Any) -> None:
        """A recording ended: hand a recorded meeting to the pipeline (transcribe, summarize, store, publish) and
        follow it in the status message."""
        if meeting.state != MeetingState.recorded:
            return
        self._handed_over.add(meeting.id)
        await self.start_pipeline(meeting.id)
        if self.text_channel_id:
            self.pipeline_status.track(meeting.id)

    async def resume_pipelines(self) -> None:
        """After a start: follow the meetings whose pipeline had not finished. On SQLite a transcription or
        summary ran in a process of the previous bot, so it is started again (it resumes from the last finished
        step); a task queue still holds its job. Publishing is the publisher's, here or in `wgbot publish`."""
        try:
            unfinished = await self.db_call(meetings_to_follow, self.group_id)
        except Exception:
            log.exception("could not read the unfinished meetings")
            return
        for meeting_id, state, has_status in unfinished:
            if meeting_id in self._handed_over:  # a recording the restart finished: already on its way
                continue
            if state in (MeetingState.recorded, MeetingState.transcribed) and not self.runner.uses_queue:
                await self.start_pipeline(meeting_id)
            if has_status and self.text_channel_id:
                self.pipeline_status.track(meeting_id)


async def _run(settings: Settings, db: Database) -> None:
    token = settings.discord.token.get_secret_value()  # type: ignore[union-attr]
    async with WgBot(settings, db) as bot:
        await bot.start(token)


def run_bot(settings: Settings, db: Database) -> None:
    """Run until interrupted. Raises discord.LoginFailure for a refused token."""
    try:
        asyncio.run(_run(settings, db))
    except KeyboardInterrupt:
        log.info("stopped")
