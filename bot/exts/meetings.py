"""`/meeting next | status | skip | reschedule | start | stop`: the schedule and the recording."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands
from discord.ext import commands
from sqlmodel import Session

from bot import embeds
from bot.checks import organizer_only
from bot.converters import MeetingDate, UtcTime
from bot.errors import CommandProblem
from tracker import agenda, recordings, schedule
from tracker.models import Meeting, MeetingState, WorkingGroup, as_utc

if TYPE_CHECKING:
    from bot.app import WgBot
    from bot.exts.recording import Recording

log = logging.getLogger(__name__)

DateArg = app_commands.Transform[dt.date, MeetingDate]
TimeArg = app_commands.Transform[dt.time, UtcTime]


def _day_or_next(session: Session, group: WorkingGroup, day: dt.date | None) -> dt.date:
    if day is not None:
        return day
    occ = agenda.upcoming(session, group)
    return (occ.occurrence_start or occ.start).date()


def skip_meeting(session: Session, group: WorkingGroup, day: dt.date | None) -> Meeting:
    """Skip the meeting on `day`, or the next one."""
    return schedule.skip(session, group, _day_or_next(session, group, day))


def reschedule_meeting(session: Session, group: WorkingGroup, day: dt.date | None, new_start: dt.datetime) -> Meeting:
    """Move the meeting on `day` (or the next one) to `new_start`."""
    return schedule.reschedule(session, group, _day_or_next(session, group, day), new_start)


class Meetings(commands.GroupCog, group_name="meeting", group_description="The weekly call: when, skip, move, record"):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        super().__init__()

    def recording(self) -> Recording:
        recording = self.bot.get_cog("Recording")
        if recording is None:
            raise CommandProblem("recording is not available in this bot")
        return cast("Recording", recording)

    @app_commands.command(name="next", description="When the next meetings are")
    async def next_(self, interaction: discord.Interaction) -> None:
        occurrences = await self.bot.group_call(schedule.next_occurrences, 5, None, True)
        await interaction.response.send_message(embed=embeds.next_meetings(occurrences, self.bot.voice_channel_id))

    @app_commands.command(name="status", description="Recording now? The next and the last meeting")
    async def status(self, interaction: discord.Interaction) -> None:
        state = await self.bot.group_call(recordings.status)
        await interaction.response.send_message(embed=embeds.status(state))

    @app_commands.command(name="skip", description="Skip a meeting (organizers)")
    @app_commands.describe(date="the meeting's date, YYYY-MM-DD (default: the next meeting)")
    @organizer_only("skip a meeting")
    async def skip(self, interaction: discord.Interaction, date: DateArg | None = None) -> None:
        meeting = await self.bot.group_call(skip_meeting, date)
        start = as_utc(meeting.occurrence_start or meeting.scheduled_start)
        await interaction.response.send_message(
            f"🚫 The meeting of {start:%A %Y-%m-%d} is skipped. "
            "The calendar, the Discord event and the reminders follow."
        )
        self.bot.dispatch("schedule_changed")

    @app_commands.command(name="reschedule", description="Move a meeting to another date and time (organizers)")
    @app_commands.describe(
        date="the new date, YYYY-MM-DD",
        time="the new start time in UTC, HH:MM",
        meeting="the date of the meeting to move (default: the next meeting)",
    )
    @organizer_only("reschedule a meeting")
    async def reschedule(
        self, interaction: discord.Interaction, date: DateArg, time: TimeArg, meeting: DateArg | None = None
    ) -> None:
        new_start = dt.datetime.combine(date, time, tzinfo=dt.UTC)
        moved = await self.bot.group_call(reschedule_meeting, meeting, new_start)
        await interaction.response.send_message(
            f"📅 **{moved.title}** moved to {embeds.when(as_utc(moved.scheduled_start))}. "
            "The calendar, the Discord event and the reminders follow."
        )
        self.bot.dispatch("schedule_changed")

    @app_commands.command(name="start", description="Join the voice channel and record now (organizers)")
    @organizer_only("start a recording")
    async def start(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        meeting = await self.recording().start()
        await interaction.followup.send(
            f"🔴 Recording **{meeting.title}** in <#{self.bot.voice_channel_id}>. "
            "Members who used `/record optout` are not recorded. Stop with `/meeting stop`."
        )

    @app_commands.command(name="stop", description="Stop the recording; the minutes follow (organizers)")
    @organizer_only("stop a recording")
    async def stop(self, interaction: discord.Interaction) -> None:
        recording = self.recording()
        if recording.recording:
            # Stopping waits for the last words' transcript and the read-ahead's last answers (tens of seconds on
            # two cores): say at once that it is stopping, then what became of it.
            await interaction.response.send_message("⏹️ Stopping the recording: finishing the transcript…")
        else:  # nothing running here: a recording the bot was making when it stopped, or an error
            await interaction.response.defer(thinking=True)
        try:
            meeting = await recording.stop(f"stopped by {interaction.user.display_name}")
        except Exception:
            if interaction.response.type is discord.InteractionResponseType.channel_message:
                with contextlib.suppress(discord.HTTPException):  # "stopping…" was not true: the error says why
                    await interaction.delete_original_response()
            raise
        if meeting.state == MeetingState.recorded:
            text = f"⏹️ Recording of **{meeting.title}** stopped. Transcript and minutes follow here when ready."
        else:
            text = f"⏹️ Recording stopped: {meeting.state_reason or meeting.state.value}."
        await interaction.edit_original_response(content=text)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Meetings(bot), guild=bot.guild_object)
