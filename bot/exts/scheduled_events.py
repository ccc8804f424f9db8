"""The Discord scheduled event of each meeting: created a week ahead in the voice channel, kept in step with the
schedule (moved with a reschedule, deleted with a skip), started and ended with the recording.

The event id lives on `Meeting.discord_event_id`; "create" for a meeting that has one updates it instead, and an event
deleted by hand in Discord is created again. One meeting's event is changed by one handler at a time, in the order
the events arrived (a start right after a late creation finds the event created).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from tracker import discord_state, schedule
from tracker.models import Meeting, as_utc, saved_id

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)


class ScheduledEvents(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self._reconciled: tuple | None = None  # what the last reconcile saw; unchanged schedule, nothing to call
        self._locks: defaultdict[int | None, asyncio.Lock] = defaultdict(asyncio.Lock)  # per meeting
        self._reconciling = asyncio.Lock()

    # ---- what the other features say ----

    @commands.Cog.listener()
    async def on_meeting_event_timer_complete(self, occ: schedule.Occurrence) -> None:
        try:
            async with self._locks[occ.meeting_id]:
                await self.ensure(occ)
        except Exception:
            log.exception("could not create the Discord event of the meeting of %s", occ.start.isoformat())

    @commands.Cog.listener()
    async def on_schedule_changed(self) -> None:
        if self.bot.voice_channel_id:
            await self.reconcile()

    @commands.Cog.listener()
    async def on_recording_started(self, meeting: Meeting) -> None:
        async with self._locks[meeting.id]:
            await self.set_status(meeting, discord.EventStatus.active)

    @commands.Cog.listener()
    async def on_recording_finished(self, meeting: Meeting, result: object) -> None:
        async with self._locks[meeting.id]:
            await self.set_status(meeting, discord.EventStatus.completed)

    # ---- the work ----

    def event_description(self) -> str:
        return (f"The working group's weekly call. Add topics with /agenda add. Calendar feed: {self.bot.web.url}")[
            :1000
        ]

    async def voice_channel(self, guild: discord.Guild) -> discord.VoiceChannel | discord.StageChannel:
        channel = guild.get_channel(self.bot.voice_channel_id or 0)
        if not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
            raise RuntimeError(
                f"channel {self.bot.voice_channel_id} (WGBOT_DISCORD_VOICE_CHANNEL_ID) is not a voice channel here"
            )
        return channel

    async def _fetch(self, guild: discord.Guild, event_id: int) -> discord.ScheduledEvent | None:
        try:
            return await guild.fetch_scheduled_event(event_id, with_counts=False)
        except discord.NotFound:
            return None

    async def ensure(self, occ: schedule.Occurrence) -> discord.ScheduledEvent:
        """Create the event of `occ`, or bring its existing event in line with it."""
        meeting = await self.bot.group_call(schedule.meeting_for, occ)
        guild = await self.bot.guild()
        channel = await self.voice_channel(guild)
        name = occ.title[:100]
        description = self.event_description()
        if meeting.discord_event_id:
            event = await self._fetch(guild, meeting.discord_event_id)
            if event is not None:
                if event.status is not discord.EventStatus.scheduled:
                    return event  # under way or over: Discord allows no more changes to its times
                if (
                    event.start_time != occ.start
                    or event.end_time != occ.end
                    or event.name != name
                    or event.channel_id != channel.id
                    or event.description != description
                ):
                    event = await event.edit(
                        channel=channel, name=name, description=description, start_time=occ.start, end_time=occ.end
                    )
                    log.info("updated Discord event %s for the meeting of %s", event.id, occ.start.isoformat())
                return event
            log.info("Discord event %s is gone; creating it again", meeting.discord_event_id)
        event = await guild.create_scheduled_event(
            entity_type=discord.EntityType.voice,
            channel=channel,
            privacy_level=discord.PrivacyLevel.guild_only,
            name=name,
            description=description,
            start_time=occ.start,
            end_time=occ.end,
        )
        await self.bot.db_call(discord_state.set_event_id, meeting.id, event.id)
        log.info("created Discord event %s for the meeting of %s", event.id, occ.start.isoformat())
        return event

    async def remove(self, meeting: Meeting) -> None:
        """Delete the event of a meeting that will not take place (skipped, cancelled series)."""
        if not meeting.discord_event_id:
            return
        guild = await self.bot.guild()
        event = await self._fetch(guild, meeting.discord_event_id)
        if event is not None and event.status is discord.EventStatus.scheduled:
            await event.delete(reason="meeting skipped or cancelled")
            log.info("deleted Discord event %s (meeting %s)", event.id, meeting.id)
        await self.bot.db_call(discord_state.set_event_id, meeting.id, None)

    async def reconcile(self) -> None:
        """Update or remove the events of upcoming meetings after schedule changes (here or through the CLI)."""
        async with self._reconciling:
            await self._reconcile()

    async def _reconcile(self) -> None:
        meetings = await self.bot.group_call(discord_state.meetings_with_events)
        now = schedule.now()
        upcoming = [m for m in meetings if as_utc(m.scheduled_start) > now]
        if not upcoming:
            return
        after = now - dt.timedelta(days=1)
        occurrences = await self.bot.group_call(schedule.next_occurrences, 60, after, True)
        by_meeting = {o.meeting_id: o for o in occurrences if o.meeting_id is not None}
        seen = tuple(sorted((saved_id(m), m.discord_event_id, by_meeting.get(saved_id(m))) for m in upcoming))
        if seen == self._reconciled:
            return
        for meeting in upcoming:
            occ = by_meeting.get(saved_id(meeting))
            try:
                async with self._locks[meeting.id]:
                    if occ is None or occ.status == "skipped":
                        await self.remove(meeting)
                    else:
                        await self.ensure(occ)
            except Exception:
                log.exception("could not bring the Discord event of meeting %s in line", meeting.id)
                return  # try again at the next reconcile
        self._reconciled = seen

    async def set_status(self, meeting: Meeting, status: discord.EventStatus) -> None:
        """Mark the meeting's event active (recording started) or completed (recording ended); best effort."""
        if not self.bot.voice_channel_id:
            return
        try:
            meeting = await self.bot.db_call(lambda session: session.get(Meeting, meeting.id)) or meeting
            if not meeting.discord_event_id:
                return
            guild = await self.bot.guild(timeout=10)
            event = await self._fetch(guild, meeting.discord_event_id)
            if event is None:
                return
            if status is discord.EventStatus.active and event.status is discord.EventStatus.scheduled:
                await event.start()
            elif status is discord.EventStatus.completed and event.status is discord.EventStatus.active:
                await event.end()
        except Exception as exc:  # the recording matters, the event's badge does not
            log.warning("could not set the Discord event of meeting %s to %s: %s", meeting.id, status.name, exc)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(ScheduledEvents(bot))
