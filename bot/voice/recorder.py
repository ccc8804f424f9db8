"""Recording one meeting: join the call, capture every speaker to their own track, leave when it is over.

Control API (what `/meeting start|stop`, the scheduler and `/record optout` call)::

    from bot.voice.recorder import MeetingRecorder

    recorder = MeetingRecorder(
        bot,
        meeting_id="2026-11-26-weekly",
        folder=settings.general.data_dir / "recordings" / "2026-11-26-weekly",
        voice_channel=voice_channel,             # discord.VoiceChannel / StageChannel
        text_channel=text_channel,               # where the consent notice and warnings go
        opted_out=members.is_opted_out,          # Callable[[int], bool]; keep it fast (a cached lookup): it is
                                                 # asked on the event loop when a new speaker appears, and every 30 s
        on_utterance=None,                       # or fn(user_id, speaker, track_file, start_s, pcm16k) -> None
        empty_timeout=settings.recording.empty_timeout_seconds,   # default 300
        max_length=settings.recording.max_length_seconds,         # default 4 h
        retention_days=settings.recording.retention_days,         # only for the consent notice's wording
        contact=settings.recording.contact,
        on_stopped=None,                         # fn(RecordingResult) (sync or async): also told when the recorder
    )                                            # stops by itself (empty channel, maximum length)
    await recorder.start()                       # joins undeafened, posts the consent notice, marks the nickname
    recorder.status                              # RecorderStatus: state, elapsed, speakers, packet counters
    recorder.opt_out(user_id)                    # someone ran /record optout during the call: drop and delete
    result = await recorder.stop("stopped by /meeting stop")   # -> RecordingResult (idempotent)
    await recorder.wait_stopped()                # -> RecordingResult, whoever stopped it

Calling `start()` again for the same meeting and folder after a crash or restart resumes the recording in that
folder (new part files, same meeting clock); `RecordingFolderError` says why a folder cannot be used.

While recording, a watchdog (every `tick` seconds) leaves when no human has been in the channel for
`empty_timeout`, stops at `max_length` of meeting time (announced, never a silent cut), reconnects when discord.py
has lost the voice connection for `reconnect_grace` seconds, and when DAVE decryption keeps failing (at least
`decrypt_warning_threshold` frames given up on within `decrypt_window` seconds) warns in the text channel, as
Craig does, and rejoins to get fresh keys. When audio simply stops arriving — unmuted people who were reported
speaking are in the channel, but no audio datagram came for `stall_after` (15) seconds — it warns once and rejoins
(`bot.voice.watchdog`); each such gap is kept in the status, in `manifest.json` and in the result's `notes` ("no
audio received from 17:23 to 17:25 UTC"), for the minutes. The voice client sends a UDP keepalive every 5 s
(`bot.voice.keepalive`), which is what keeps Discord forwarding audio to a bot that never speaks. `on_utterance` runs on a worker thread; if it returns a coroutine, the
coroutine is run on the bot's event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from bot.voice.consent import (
    consent_notice,
    decrypt_warning,
    late_joiner_notice,
    plain_nickname,
    recording_nickname,
    stall_warning,
    stopped_notice,
)
from bot.voice.manifest import RecordingFolder
from bot.voice.receiver import VoiceReceiver
from bot.voice.watchdog import STALL_AFTER, ReceiveWatchdog
from bot.voice.writer import RecordingWriter, UtteranceCallback

__all__ = ["MeetingRecorder", "RecorderState", "RecorderStatus", "RecordingResult"]

log = logging.getLogger(__name__)


class RecorderState(str, Enum):
    IDLE = "idle"
    STARTING = "starting"
    RECORDING = "recording"
    RECONNECTING = "reconnecting"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(slots=True)
class RecordingResult:
    meeting_id: str
    folder: Path
    started_at: dt.datetime  # the meeting clock's zero (first start, also after restarts)
    ended_at: dt.datetime
    duration_seconds: float  # meeting-clock time from started_at to the stop
    speakers: list[str]
    tracks: list[str]  # file names, in manifest order
    stop_reason: str
    packets: dict  # receiver and writer counters (see VoiceReceiver.snapshot / RecordingWriter.snapshot)
    reconnects: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # for the minutes: "no audio received from 17:23 to 17:25 UTC"


@dataclass(slots=True)
class RecorderStatus:
    state: RecorderState
    meeting_id: str
    folder: Path
    elapsed_seconds: float
    speakers: list[str]
    packets_received: int
    frames_decrypted: int
    decrypt_failures: int
    reconnects: int
    warnings: list[str]
    gaps: list[str] = field(default_factory=list)  # receive gaps so far, as notes (the last one may be open)


def _member_name(member: Any) -> str:
    return getattr(member, "display_name", None) or getattr(member, "name", None) or str(member.id)


class MeetingRecorder:
    def __init__(
        self,
        bot: Any,
        *,
        meeting_id: str,
        folder: Path,
        voice_channel: Any,
        text_channel: Any,
        opted_out: Callable[[int], bool],
        on_utterance: UtteranceCallback | None = None,
        empty_timeout: float = 300,
        max_length: float = 4 * 3600,
        retention_days: int = 30,
        contact: str = "the organizers",
        on_stopped: Callable[[RecordingResult], Any] | None = None,
        tick: float = 1.0,
        reconnect_grace: float = 15.0,
        decrypt_warning_threshold: int = 100,
        decrypt_window: float = 30.0,
        stall_after: float = STALL_AFTER,
        warning_interval: float = 600.0,
        optout_recheck: float = 30.0,
        connect_timeout: float = 30.0,
        voice_client_cls: type | None = None,
        writer_options: dict | None = None,
        receiver_options: dict | None = None,
    ) -> None:
        self.bot = bot
        self.meeting_id = meeting_id
        self.folder_path = Path(folder)
        self.voice_channel = voice_channel
        self.text_channel = text_channel
        self.opted_out = opted_out
        self.on_utterance = on_utterance
        self.empty_timeout = empty_timeout
        self.max_length = max_length
        self.retention_days = retention_days
        self.contact = contact
        self.on_stopped = on_stopped
        self.tick = tick
        self.reconnect_grace = reconnect_grace
        self.decrypt_warning_threshold = decrypt_warning_threshold
        self.decrypt_window = decrypt_window
        self.receive_watchdog = ReceiveWatchdog(stall_after=stall_after)
        self.warning_interval = warning_interval
        self.optout_recheck = optout_recheck
        self.connect_timeout = connect_timeout
        if voice_client_cls is None:
            from bot.voice.voice_client import RecordingVoiceClient

            voice_client_cls = RecordingVoiceClient
        self.voice_client_cls = voice_client_cls
        self.writer_options = writer_options or {}
        self.receiver_options = receiver_options or {}

        self.state = RecorderState.IDLE
        self.folder: RecordingFolder | None = None
        self.writer: RecordingWriter | None = None
        self.receiver: VoiceReceiver | None = None
        self.voice_client: Any = None
        self.reconnects = 0
        self.warnings: list[str] = []
        self._names: dict[int, str] = {}
        self._checked_users: set[int] = set()
        self._optout_unknown: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watchdog: asyncio.Task | None = None
        self._stop_task: asyncio.Task | None = None
        self._stop_lock = asyncio.Lock()
        self._stopped = asyncio.Event()
        self._result: RecordingResult | None = None
        self._original_nick: str | None = None
        self._nick_changed = False
        self._failure_history: deque[tuple[float, int]] = deque()
        self._last_decrypt_warning = float("-inf")
        self._writer_errors_reported = 0

    # -- public API ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self.state is not RecorderState.IDLE:
            raise RuntimeError(f"recorder for {self.meeting_id} is already {self.state.value}")
        self.state = RecorderState.STARTING
        self._loop = asyncio.get_running_loop()
        try:
            self.folder = await asyncio.to_thread(RecordingFolder.open, self.folder_path, self.meeting_id)
            self.writer = RecordingWriter(
                self.folder,
                speaker_name=self._speaker_name,
                on_utterance=self._wrap_utterance_callback() if self.on_utterance else None,
                **self.writer_options,
            )
            self.receiver = VoiceReceiver(self.writer, deferred=True, **self.receiver_options)
            self.writer.maintenance = self.receiver.maintain
            self.writer.intake = self.receiver.process
            self.receiver.on_user_seen = self._user_seen
            for member in getattr(self.voice_channel, "members", []):
                self._remember(member)
            self.writer.start()
            await self._post(
                consent_notice(
                    recorder=self._bot_name(),
                    retention_days=self.retention_days,
                    contact=self.contact,
                    meeting=self.meeting_id,
                    resumed=self.folder.resumed,
                )
            )
            await self._mark_nickname()
            add_listener = getattr(self.bot, "add_listener", None)  # commands.Bot has it; a bare Client does not
            if add_listener is not None:
                add_listener(self._on_voice_state_update, "on_voice_state_update")
            else:
                log.warning("the bot has no add_listener(): people joining later get no recording notice")
            await self._connect()
        except BaseException as exc:
            await self._abort_start(exc)
            raise
        self.state = RecorderState.RECORDING
        self._watchdog = asyncio.create_task(self._watch(), name=f"recorder-watchdog:{self.meeting_id}")
        log.info("recording %s in %s", self.meeting_id, self.folder_path)

    async def stop(self, reason: str = "stopped") -> RecordingResult:
        async with self._stop_lock:
            if self._result is not None:
                return self._result
            if self.state is RecorderState.IDLE:
                raise RuntimeError(f"recorder for {self.meeting_id} was never started")
            if self.state is RecorderState.STARTING:  # refused, and nothing changed: `start` finishes or aborts
                raise RuntimeError(f"recorder for {self.meeting_id} is still starting; stop it once it records")
            self.state = RecorderState.STOPPING
            if self._watchdog is not None and self._watchdog is not asyncio.current_task():
                self._watchdog.cancel()
            self._remove_listener()
            await self._disconnect()
            if self.folder is None or self.writer is None:
                raise self._not_started()
            await asyncio.to_thread(self.writer.close)
            ended = dt.datetime.now(dt.UTC)
            await asyncio.to_thread(self.folder.mark_stopped, reason, ended)
            await self._restore_nickname()
            snapshot = self._packets_snapshot()
            speakers = list(dict.fromkeys(t.speaker for t in self.folder.tracks))
            self._result = RecordingResult(
                meeting_id=self.meeting_id,
                folder=self.folder.path,
                started_at=self.folder.started_at,
                ended_at=ended,
                duration_seconds=(ended - self.folder.started_at).total_seconds(),
                speakers=speakers,
                tracks=[t.file for t in self.folder.tracks],
                stop_reason=reason,
                packets=snapshot,
                reconnects=self.reconnects,
                warnings=list(self.warnings),
                notes=[gap.note for gap in self.folder.gaps],
            )
            await self._post(
                stopped_notice(reason=reason, duration_seconds=self._result.duration_seconds, speakers=len(speakers))
            )
            self.state = RecorderState.STOPPED
            self._stopped.set()
            log.info("recording of %s stopped: %s", self.meeting_id, reason)
        if self.on_stopped is not None:
            try:
                outcome = self.on_stopped(self._result)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("on_stopped callback failed for %s", self.meeting_id)
        return self._result

    async def wait_stopped(self) -> RecordingResult:
        await self._stopped.wait()
        if self._result is None:  # (`stop` sets it before `_stopped`)
            raise RuntimeError(f"recorder for {self.meeting_id} stopped without a result")
        return self._result

    def opt_out(self, user_id: int, *, delete_existing: bool = True) -> None:
        """Stop recording `user_id` at once (packets dropped before decryption); delete what was recorded of them."""
        if self.receiver is not None:
            self.receiver.opted_out.add(user_id)
        if delete_existing and self.writer is not None:
            self.writer.drop_user(user_id)

    @property
    def status(self) -> RecorderStatus:
        snapshot = self._packets_snapshot()
        users = snapshot.get("receiver", {}).get("users", {})
        return RecorderStatus(
            state=self.state,
            meeting_id=self.meeting_id,
            folder=self.folder_path,
            elapsed_seconds=self._elapsed(),
            speakers=list(dict.fromkeys(t.speaker for t in self.folder.tracks)) if self.folder else [],
            packets_received=sum(u.get("packets", 0) for u in users.values()),
            frames_decrypted=sum(u.get("dave_decrypted", 0) + u.get("dave_plain", 0) for u in users.values()),
            decrypt_failures=sum(u.get("dave_failed", 0) + u.get("transport_failed", 0) for u in users.values()),
            reconnects=self.reconnects,
            warnings=list(self.warnings),
            gaps=[gap.note for gap in self.folder.gaps] if self.folder else [],
        )

    # -- connection ---------------------------------------------------------------------------------------------

    async def _connect(self) -> None:
        guild = self.voice_channel.guild
        existing = getattr(guild, "voice_client", None)
        if existing is not None:
            # Someone else's voice client (or a stale one of ours) would block joining; ours must own the call.
            try:
                await existing.disconnect(force=True)
            except Exception:
                log.debug("ignoring error disconnecting a stale voice client", exc_info=True)
        vc = await self.voice_channel.connect(
            cls=self.voice_client_cls, self_deaf=False, self_mute=True, timeout=self.connect_timeout, reconnect=True
        )
        vc.attach(self.receiver)
        self.voice_client = vc
        self.receive_watchdog.connected(time.monotonic())

    async def _disconnect(self) -> None:
        vc, self.voice_client = self.voice_client, None
        if vc is None:
            return
        try:
            vc.detach()
            await vc.disconnect(force=True)
        except Exception:
            log.debug("ignoring error while leaving the voice channel", exc_info=True)

    async def _reconnect(self, why: str) -> bool:
        self.state = RecorderState.RECONNECTING
        log.warning("reconnecting to voice for %s: %s", self.meeting_id, why)
        await self._disconnect()
        try:
            await self._connect()
        except Exception as exc:
            log.warning("voice reconnect for %s failed: %s", self.meeting_id, exc)
            return False
        finally:
            if self.state is RecorderState.RECONNECTING:
                self.state = RecorderState.RECORDING
        self.reconnects += 1
        return True

    # -- watchdog -----------------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        empty_since: float | None = None
        lost_since: float | None = None
        next_optout_check = time.monotonic() + self.optout_recheck
        while True:
            await asyncio.sleep(self.tick)
            now = time.monotonic()
            try:
                if self._elapsed() >= self.max_length:
                    hours = self.max_length / 3600
                    self._request_stop(f"maximum length of {hours:g} h reached")
                    return
                humans = [m for m in getattr(self.voice_channel, "members", []) if not getattr(m, "bot", False)]
                if humans:
                    empty_since = None
                elif empty_since is None:
                    empty_since = now
                elif now - empty_since >= self.empty_timeout:
                    self._request_stop(f"the voice channel was empty for {self.empty_timeout:g} s")
                    return
                vc = self.voice_client
                if vc is not None and vc.is_connected():
                    lost_since = None
                elif lost_since is None:
                    lost_since = now
                elif now - lost_since >= self.reconnect_grace:
                    if await self._reconnect("the voice connection was lost"):
                        lost_since = None
                    else:
                        lost_since = now  # try again after another grace period
                await self._check_decryption(now)
                await self._check_receiving(now)
                await self._check_writer()
                if now >= next_optout_check:
                    next_optout_check = now + self.optout_recheck
                    await self._recheck_optouts()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("recorder watchdog for %s failed; continuing", self.meeting_id)

    def _request_stop(self, reason: str) -> None:
        if self._stop_task is None:
            self._stop_task = asyncio.create_task(self.stop(reason), name=f"recorder-stop:{self.meeting_id}")

    async def _check_decryption(self, now: float) -> None:
        if self.receiver is None:
            raise self._not_started()
        dave_stats = self.receiver.dave.all_stats()
        failed_total = sum(s.failed for s in dave_stats.values())
        history = self._failure_history
        history.append((now, failed_total))
        while history and now - history[0][0] > self.decrypt_window:
            history.popleft()
        failed_recent = failed_total - history[0][1]
        if failed_recent < self.decrypt_warning_threshold:
            return
        if now - self._last_decrypt_warning < self.warning_interval:
            return
        self._last_decrypt_warning = now
        who = [self._names.get(uid, str(uid)) for uid, s in dave_stats.items() if s.failed]
        message = decrypt_warning(failed=failed_recent, window_seconds=self.decrypt_window, users=who)
        self.warnings.append(message)
        await self._post(message)
        history.clear()
        await self._reconnect("DAVE decryption keeps failing")

    def _unmuted_speakers(self) -> list[int]:
        """People reported speaking on this connection who are in the channel and not muted."""
        if self.receiver is None:
            raise self._not_started()
        heard = self.receiver.heard
        out = []
        for member in getattr(self.voice_channel, "members", []):
            if member.id not in heard or getattr(member, "bot", False):
                continue
            voice = getattr(member, "voice", None)
            if getattr(voice, "self_mute", False) or getattr(voice, "mute", False):
                continue
            out.append(member.id)
        return out

    async def _check_receiving(self, now: float) -> None:
        expected = self._unmuted_speakers()
        if self.receiver is None or self.folder is None or self.writer is None:
            raise self._not_started()
        watchdog = self.receive_watchdog
        action = watchdog.check(now, self.receiver.last_audio, bool(expected))
        if action is None:
            return
        gap = watchdog.gaps[-1]
        if action == "resumed":
            if gap.end is None:  # (the watchdog sets it when it says "resumed")
                raise RuntimeError("a resumed receive gap without an end")
            await asyncio.to_thread(
                self.folder.record_gap, self.writer.meeting_time(gap.start), self.writer.meeting_time(gap.end)
            )
            log.info("audio is arriving again for %s", self.meeting_id)
            return
        if action == "stalled":
            await asyncio.to_thread(self.folder.record_gap, self.writer.meeting_time(gap.start), None)
            message = stall_warning(seconds=now - gap.start, users=[self._names.get(uid, str(uid)) for uid in expected])
            self.warnings.append(message)
            await self._post(message)
        await self._reconnect(f"no audio for {now - gap.start:.0f} s")

    async def _check_writer(self) -> None:
        if self.writer is None:
            raise self._not_started()
        errors = self.writer.errors
        if len(errors) > self._writer_errors_reported:
            self._writer_errors_reported = len(errors)
            message = f"⚠️ Recording problem: {errors[-1]}. Recording continues for the other speakers."
            self.warnings.append(message)
            await self._post(message)

    async def _recheck_optouts(self) -> None:
        if self.receiver is None:
            raise self._not_started()
        for uid in list(self._optout_unknown):  # lookups that failed: not recorded until one succeeds
            try:
                opted_out = await asyncio.to_thread(self.opted_out, uid)
            except Exception:
                continue
            self._optout_unknown.discard(uid)
            self._checked_users.add(uid)
            if not opted_out:
                self.receiver.opted_out.discard(uid)
        users = [uid for uid in self._checked_users if uid not in self.receiver.opted_out]
        for uid in users:
            try:
                opted_out = await asyncio.to_thread(self.opted_out, uid)
            except Exception:
                log.warning("opt-out lookup failed for user %s; asking again later", uid)
                continue
            if opted_out:
                log.info("user %s opted out during %s", uid, self.meeting_id)
                self.opt_out(uid)

    # -- people -------------------------------------------------------------------------------------------------

    def _user_seen(self, user_id: int) -> None:
        """Called by the receiver (on the event loop) when a user's SSRC becomes known, before any of their packets
        is decrypted: the place where the opt-out takes effect."""
        if self.receiver is None:
            raise self._not_started()
        if user_id not in self._checked_users:
            self._checked_users.add(user_id)
            try:
                if self.opted_out(user_id):
                    self.receiver.opted_out.add(user_id)
            except Exception:
                # Unknown opt-out state: err on the side of not recording this person until a lookup succeeds.
                log.exception("opt-out lookup failed for user %s; not recording them for now", user_id)
                self.receiver.opted_out.add(user_id)
                self._checked_users.discard(user_id)
                self._optout_unknown.add(user_id)
        if user_id not in self._names:
            guild = getattr(self.voice_channel, "guild", None)
            member = guild.get_member(user_id) if guild is not None and hasattr(guild, "get_member") else None
            if member is not None:
                self._names[user_id] = _member_name(member)

    def _remember(self, member: Any) -> None:
        self._names[member.id] = _member_name(member)
        if not getattr(member, "bot", False):
            self._user_seen(member.id)

    def _speaker_name(self, user_id: int) -> str:
        return self._names.get(user_id) or str(user_id)

    async def _on_voice_state_update(self, member: Any, before: Any, after: Any) -> None:
        channel_id = self.voice_channel.id
        joined = getattr(after.channel, "id", None) == channel_id and getattr(before.channel, "id", None) != channel_id
        if (
            not joined
            or getattr(member, "bot", False)
            or self.state
            not in (
                RecorderState.RECORDING,
                RecorderState.RECONNECTING,
            )
        ):
            return
        self._remember(member)
        await self._post(late_joiner_notice(member.mention, recorder=self._bot_name()))

    # -- Discord side effects ---------------------------------------------------------------------------------

    def _bot_name(self) -> str:
        me = getattr(self.voice_channel.guild, "me", None)
        return plain_nickname(_member_name(me)) if me is not None else "the bot"

    async def _post(self, content: str) -> None:
        try:
            await self.text_channel.send(content)
        except Exception as exc:  # no permission, channel gone: the recording matters more than the message
            log.warning("could not post in the text channel: %s", exc)

    async def _mark_nickname(self) -> None:
        me = getattr(self.voice_channel.guild, "me", None)
        if me is None:
            return
        self._original_nick = getattr(me, "nick", None)
        try:
            await me.edit(nick=recording_nickname(_member_name(me)))
            self._nick_changed = True
        except Exception as exc:
            log.warning("could not set the recording marker on the bot's nickname: %s", exc)

    async def _restore_nickname(self) -> None:
        me = getattr(self.voice_channel.guild, "me", None)
        if me is None or not self._nick_changed:
            return
        original = self._original_nick
        if original is not None:
            original = plain_nickname(original)
        try:
            await me.edit(nick=original)
        except Exception as exc:
            log.warning("could not remove the recording marker from the bot's nickname: %s", exc)

    def _remove_listener(self) -> None:
        try:
            self.bot.remove_listener(self._on_voice_state_update, "on_voice_state_update")
        except Exception:
            pass

    async def _abort_start(self, exc: BaseException) -> None:
        self._remove_listener()
        await self._disconnect()
        if self.writer is not None and self.folder is not None:  # (the writer is made after the folder)
            await asyncio.to_thread(self.writer.close)
            await asyncio.to_thread(self.folder.mark_stopped, f"could not start: {type(exc).__name__}: {exc}")
            await self._post(f"⚠️ Recording could not start ({type(exc).__name__}: {exc}); nothing is being recorded.")
        await self._restore_nickname()
        self.state = RecorderState.IDLE

    # -- helpers ------------------------------------------------------------------------------------------------

    def _not_started(self) -> RuntimeError:
        return RuntimeError(f"recorder for {self.meeting_id} has not started")

    def _elapsed(self) -> float:
        if self.folder is None:
            return 0.0
        return (dt.datetime.now(dt.UTC) - self.folder.started_at).total_seconds()

    def _packets_snapshot(self) -> dict:
        return {
            "receiver": self.receiver.snapshot() if self.receiver else {},
            "tracks": self.writer.snapshot() if self.writer else {},
        }

    def _wrap_utterance_callback(self) -> UtteranceCallback:
        callback, loop = self.on_utterance, self._loop

        def hand_off(user_id, speaker, track_file, start, samples):
            outcome = callback(user_id, speaker, track_file, start, samples)
            if inspect.iscoroutine(outcome):
                asyncio.run_coroutine_threadsafe(outcome, loop).result()

        return hand_off
