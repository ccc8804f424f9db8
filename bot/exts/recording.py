"""Recording a meeting: `/meeting start|stop` and the start timer come here.

The recorder itself (joining the voice channel, one Ogg/Opus track per speaker, the consent notice, leaving an empty
channel) is `bot.voice.recorder.MeetingRecorder`; this module decides which meeting is recorded and where
(`tracker.recordings`), keeps the meeting's state in step, answers the recorder's "is this person opted out?"
from a cache, and hands a finished recording to the pipeline. A recording a crash interrupted is resumed in its
folder when the bot comes back during the meeting, and finished with what it saved when it comes back later.

It tells the others with `recording_started(meeting)` and `recording_finished(meeting, result)` (the Discord event
follows; the pipeline takes the meeting), and learns of opt-outs from `member_opted(discord_id, out)`. It also runs
the retention of recordings (tracker/retention.py): at start, daily, and after each recording.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands, tasks

from tracker import followthrough, members, recordings, retention, schedule
from tracker.live import LiveOptions, LiveTranscription
from tracker.models import Meeting, as_utc, saved_id
from tracker.recordings import RecordingError

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

RETENTION_HOURS = 24
RecorderFactory = Callable[..., Any]  # MeetingRecorder's signature: (bot, *, meeting_id, folder, voice_channel, ...)


def has_audio(folder: str | Path | None) -> bool:
    path = Path(folder) if folder else None
    return bool(path and path.is_dir() and any(p.is_file() and p.stat().st_size > 0 for p in path.glob("*.ogg")))


def recording_label(meeting: Meeting) -> str:
    """The recording's name in its manifest and notices; the same for a resumed recording."""
    return recordings.folder_name(meeting)


class Recording(commands.Cog):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self._factory: RecorderFactory | None = bot.services.recorder_factory
        self._active: dict[int, Any] = {}  # meeting id -> recorder
        self._finished: dict[int, Meeting] = {}  # meeting id -> the meeting as its recording left it
        self._opted_out: set[int] = set()  # Discord ids; loaded at each start, updated by /record optout|optin
        self._live: dict[int, LiveTranscription] = {}  # meeting id -> its live transcriber (worker process)
        self._lock = asyncio.Lock()
        self._recovered = asyncio.Event()  # a recording a crash interrupted is dealt with before a new one starts

    async def cog_load(self) -> None:
        self.retention.start()

    async def cog_unload(self) -> None:
        self.retention.cancel()
        await self.stop_all("the bot is shutting down")

    @commands.Cog.listener()
    async def on_configured_guild_ready(self, guild: discord.Guild) -> None:
        try:
            await self.recover()
        finally:
            self._recovered.set()

    @commands.Cog.listener()
    async def on_meeting_start_timer_complete(self, occ: schedule.Occurrence) -> None:
        await self._recovered.wait()
        await self.start_scheduled(occ)

    @commands.Cog.listener()
    async def on_member_opted(self, discord_id: int, out: bool) -> None:
        self.member_opted(discord_id, out)

    @tasks.loop(hours=RETENTION_HOURS)
    async def retention(self) -> None:
        await self.purge_expired_audio()

    @property
    def recording(self) -> bool:
        return bool(self._active)

    def factory(self) -> RecorderFactory:
        if self._factory is not None:
            return self._factory
        try:
            from bot.voice.recorder import MeetingRecorder
        except ImportError as exc:
            raise RecordingError(f"recording is not available in this installation ({exc})") from None
        return MeetingRecorder

    # ---- opt-out -------------------------------------------------------------------------------------------

    def opted_out(self, discord_id: int) -> bool:
        """Asked by the recorder on the event loop for each new speaker (and every 30 s): a set lookup."""
        return discord_id in self._opted_out

    def member_opted(self, discord_id: int, out: bool) -> None:
        """`/record optout|optin` was used: takes effect at once, also in a running recording."""
        if out:
            self._opted_out.add(discord_id)
            for live in self._live.values():
                live.forget(discord_id)  # their lines and the answers that may quote them go from the live worker
            for recorder in self._active.values():
                recorder.opt_out(discord_id)  # drop their packets and delete what was already recorded of them
        else:
            self._opted_out.discard(discord_id)

    # ---- start ---------------------------------------------------------------------------------------------

    async def _channels(self) -> tuple[discord.VoiceChannel | discord.StageChannel, discord.abc.Messageable | None]:
        if not self.bot.voice_channel_id:
            raise RecordingError("no voice channel is configured (WGBOT_DISCORD_VOICE_CHANNEL_ID)")
        guild = await self.bot.guild(timeout=30)
        voice = guild.get_channel(self.bot.voice_channel_id)
        if not isinstance(voice, discord.VoiceChannel | discord.StageChannel):
            raise RecordingError(f"channel {self.bot.voice_channel_id} is not a voice channel of this server")
        text = guild.get_channel(self.bot.text_channel_id) if self.bot.text_channel_id else None
        return voice, text if isinstance(text, discord.abc.Messageable) else None

    async def _record(self, meeting: Meeting) -> None:
        """Create and start the recorder of `meeting` (state `recording`, folder set); on failure the meeting fails."""
        meeting_id = saved_id(meeting)
        if meeting.recording_dir is None:  # recordings.begin gives it one
            raise RecordingError(f"meeting {meeting_id} has no recording folder")
        voice, text = await self._channels()
        self._opted_out = await self.bot.db_call(members.opted_out_ids)
        folder = Path(meeting.recording_dir)
        folder.mkdir(parents=True, exist_ok=True)
        limits = self.bot.settings.recording

        async def stopped(result: Any) -> None:  # also when it stops by itself: empty channel, maximum length
            await self._finish(meeting_id, result, getattr(result, "stop_reason", None) or "the recording ended")

        live = await self._start_live(meeting, folder)

        recorder = self.factory()(
            self.bot,
            meeting_id=recording_label(meeting),
            folder=folder,
            voice_channel=voice,
            text_channel=text,
            opted_out=self.opted_out,
            empty_timeout=limits.empty_timeout_seconds,
            max_length=limits.max_length_seconds,
            retention_days=limits.retention_days,
            contact=limits.contact,
            on_stopped=stopped,
            on_utterance=live.submit if live else None,
        )
        self._active[meeting_id] = recorder
        try:
            await recorder.start()
        except Exception as exc:
            self._active.pop(meeting_id, None)
            if live := self._live.pop(meeting_id, None):
                live.abort()
            log.exception("could not start recording meeting %s", meeting_id)
            await self.bot.db_call(recordings.finish, meeting_id, has_audio(folder), f"could not record: {exc}")
            raise RecordingError(f"could not join {voice.mention} to record ({exc})") from exc
        self.bot.dispatch("recording_started", meeting)

    async def start(self) -> Meeting:
        """Record the meeting held now (scheduled, or an ad-hoc one)."""
        async with self._lock:
            self.factory()  # fail before touching the meeting when recording is not installed
            await self._channels()
            meeting = await self.bot.group_call(recordings.begin, self.bot.recordings_dir)
            await self._record(meeting)
            return meeting

    async def start_scheduled(self, occ: schedule.Occurrence) -> Meeting | None:
        """The start-time job: record unless already recording."""
        if self.recording:
            log.info("the meeting of %s starts while a recording is running; not starting another", occ.start)
            return None
        try:
            return await self.start()
        except RecordingError as exc:
            log.warning("scheduled recording of the meeting of %s did not start: %s", occ.start.isoformat(), exc)
            return None

    # ---- stop ----------------------------------------------------------------------------------------------

    async def stop(self, reason: str) -> Meeting:
        """Stop the running recording; the meeting becomes `recorded` and goes to the pipeline."""
        async with self._lock:
            if not self._active:
                stale = await self.bot.group_call(recordings.active)
                if stale is None:
                    raise RecordingError("nothing is being recorded")
                return await self._finish_stale(stale)  # recording when the bot stopped: keep what reached the disk
            meeting_id, recorder = next(iter(self._active.items()))
        result = await recorder.stop(reason)  # calls `stopped` (on_stopped) before it returns
        return await self._finish(meeting_id, result, reason)

    async def _finish(self, meeting_id: int, result: Any, reason: str) -> Meeting:
        """Once per recording, however it stopped: the meeting's state, its Discord event, the pipeline."""
        if meeting_id in self._finished:
            return self._finished[meeting_id]
        self._active.pop(meeting_id, None)
        if live := self._live.pop(meeting_id, None):
            # Only the tail is left to transcribe, and the read-ahead's last parts to ask; if the live transcript is
            # incomplete the pipeline redoes it.
            complete = await asyncio.to_thread(live.finish)
            log.info("meeting %s: live transcript %s", meeting_id, "complete" if complete else "incomplete")
        tracks = getattr(result, "tracks", None)
        folder = getattr(result, "folder", None)
        usable = bool(tracks) if tracks is not None else has_audio(folder)
        meeting = await self.bot.db_call(
            recordings.finish, meeting_id, usable, reason if usable else f"{reason}; no audio was recorded"
        )
        self._finished[meeting_id] = meeting
        self.bot.dispatch("recording_finished", meeting, result)
        await self.purge_expired_audio()
        return meeting

    async def _start_live(self, meeting: Meeting, folder: Path) -> LiveTranscription | None:
        """The live transcriber of this recording, in its own process; None if it cannot start (then the
        recording is transcribed after the call, as without it)."""
        if not self.bot.settings.recording.live_transcription:
            return None
        try:
            agenda = await self.bot.db_call(recordings.agenda_topics, meeting.id)
            next_meeting = await self.bot.db_call(followthrough.next_meeting_date_of, meeting.id)
            options = LiveOptions.from_settings(
                self.bot.settings,
                title=meeting.title,
                agenda=agenda,
                meeting_date=meeting.scheduled_start.date(),
                next_meeting=next_meeting,
            )
            live = LiveTranscription(folder, options)
            await asyncio.to_thread(live.start)
        except Exception:
            log.exception("live transcription could not start; the recording will be transcribed after the call")
            return None
        self._live[saved_id(meeting)] = live
        return live

    async def purge_expired_audio(self) -> None:
        """The retention of recordings (tracker/retention.py): at start, daily, and after each recording. Audio goes
        `retention_days` after the minutes were published, or after the recording ended for a meeting that failed
        or was never published; with it the live transcript and the minutes' answer cache."""
        try:
            await asyncio.to_thread(
                retention.purge, self.bot.db, self.bot.recordings_dir, self.bot.settings.recording.retention_days
            )
        except Exception:
            log.exception("could not delete expired recordings")

    async def _finish_stale(self, meeting: Meeting) -> Meeting:
        usable = has_audio(meeting.recording_dir)
        reason = "the bot stopped during the recording" + ("" if usable else "; no audio was saved")
        meeting_id = saved_id(meeting)
        finished = await self.bot.db_call(recordings.finish, meeting_id, usable, reason)
        self._finished[meeting_id] = finished
        self.bot.dispatch("recording_finished", finished, None)
        return finished

    async def recover(self) -> None:
        """Once the guild is there after a start: a meeting still marked `recording` lost its recorder in a crash.
        During the meeting the recording resumes in the same folder; after it, what was saved is processed."""
        async with self._lock:
            stale = await self.bot.group_call(recordings.active)
            if stale is None or stale.id in self._active:
                return
            started = as_utc(stale.started_at or stale.scheduled_start)
            ends = max(
                as_utc(stale.scheduled_start) + dt.timedelta(minutes=stale.duration_minutes),
                started + dt.timedelta(seconds=self.bot.settings.recording.empty_timeout_seconds),
            )
            if schedule.now() < ends:
                log.warning("meeting %s was recording when the bot stopped; resuming the recording", stale.id)
                try:
                    await self._record(stale)
                    return
                except RecordingError as exc:
                    log.error("could not resume the recording of meeting %s: %s", stale.id, exc)
                    return
            log.warning("meeting %s was recording when the bot stopped; finishing it", stale.id)
            await self._finish_stale(stale)

    async def stop_all(self, reason: str) -> None:
        while self._active:
            try:
                await self.stop(reason)
            except Exception:
                log.exception("could not stop a recording cleanly")
                self._active.clear()


async def setup(bot: WgBot) -> None:
    await bot.add_cog(Recording(bot))
