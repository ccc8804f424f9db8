"""The pipeline's side of the bot: hands each recorded meeting to the pipeline (transcribe, summarize, store,
publish), follows it in a status message (bot/pipeline_status.py), and runs the outbox publisher.

The pipeline runs elsewhere (`tracker.tasks.PipelineRunner`: a local worker process on SQLite, a Procrastinate job
for `wgbot worker` on PostgreSQL), so this cog only starts it and watches the database. It listens to
`recording_finished` (a new meeting to process), `review_ended` (publish what a review released), `outbox_changed`
(wake the publisher) and `configured_guild_ready` (after a start: resume and follow the unfinished meetings).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.pipeline_status import PipelineStatus, meetings_to_follow
from tracker.models import Meeting, MeetingState
from tracker.publishing.service import BackgroundPublisher
from tracker.tasks import PipelineRunner

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)


class Pipeline(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self.status = PipelineStatus(bot)
        self.publisher: BackgroundPublisher | None = None  # the outbox publisher (not in tests that leave it out)
        self._runner = bot.services.pipeline_runner  # else created on first use: it may open a task-queue connection
        self._handed_over: set[int] = set()  # meetings this process gave to the pipeline when their recording ended
        self._stop = asyncio.Event()
        self._publishing: asyncio.Task | None = None

    async def cog_load(self) -> None:
        if self.bot.services.background:
            self._start_publisher()

    async def cog_unload(self) -> None:
        self._stop.set()
        if self._publishing is not None:
            await asyncio.gather(self._publishing, return_exceptions=True)
        await self.status.close()
        if self._runner is not None:
            await self._runner.close()

    def _start_publisher(self) -> None:
        """The outbox publisher (GitHub issues, forum post, archive, minutes message) and its hourly GitHub sync."""
        try:
            self.publisher = BackgroundPublisher(self.bot.db, self.bot.settings)
        except Exception:  # the bot is still useful without it; `wgbot publish` can do the work
            log.exception("the outbox publisher could not start: nothing is published from this process")
            return
        self._publishing = asyncio.create_task(self.publisher.run(self._stop), name="wgbot: publisher")
        log.info("outbox publisher started")

    @property
    def runner(self) -> PipelineRunner:
        if self._runner is None:
            self._runner = PipelineRunner(self.bot.settings)
        return self._runner

    async def start_pipeline(self, meeting_id: int) -> None:
        """Hand the meeting to the pipeline's runner; it returns at once (the work happens in another process)."""
        try:
            await self.runner.start(meeting_id)
        except Exception:  # e.g. the task queue is unreachable: the meeting keeps its state for a later run
            log.exception(
                "could not start the pipeline for meeting %s (`wgbot process` or a restart resumes it)", meeting_id
            )

    def follow(self, meeting_id: int) -> None:
        if self.bot.text_channel_id:
            self.status.track(meeting_id)

    # ---- what the other features say ----

    @commands.Cog.listener()
    async def on_recording_finished(self, meeting: Meeting, result: Any) -> None:
        """A recorded meeting goes to the pipeline and is followed in its status message."""
        if meeting.state != MeetingState.recorded or meeting.id is None:
            return
        self._handed_over.add(meeting.id)
        await self.start_pipeline(meeting.id)
        self.follow(meeting.id)

    @commands.Cog.listener()
    async def on_review_ended(self, meeting_id: int) -> None:
        """Publish what the review released: the publisher here, else the pipeline's runner."""
        if self.publisher is not None:
            self.publisher.wake()
        else:
            await self.start_pipeline(meeting_id)
        self.follow(meeting_id)

    @commands.Cog.listener()
    async def on_outbox_changed(self) -> None:
        if self.publisher is not None:
            self.publisher.wake()

    @commands.Cog.listener()
    async def on_configured_guild_ready(self, guild: discord.Guild) -> None:
        await self.resume()

    async def resume(self) -> None:
        """After a start: follow the meetings whose pipeline had not finished. On SQLite a transcription or
        summary ran in a process of the previous bot, so it is started again (it resumes from the last finished
        step); a task queue still holds its job. Publishing is the publisher's, here or in `wgbot publish`."""
        try:
            unfinished = await self.bot.db_call(meetings_to_follow, self.bot.group_id)
        except Exception:
            log.exception("could not read the unfinished meetings")
            return
        for meeting_id, state, has_status in unfinished:
            if meeting_id in self._handed_over:  # a recording the restart finished: already on its way
                continue
            if state in (MeetingState.recorded, MeetingState.transcribed) and not self.runner.uses_queue:
                await self.start_pipeline(meeting_id)
            if has_status:
                self.follow(meeting_id)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Pipeline(bot))
