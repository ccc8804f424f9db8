"""Places each speaker's Opus frames on the meeting clock and appends them to that speaker's Ogg/Opus track.

Timing. A frame's place on the meeting clock comes from its arrival time, refined by its RTP timestamp: the first
packet of a talk spurt anchors the sender's RTP clock to the meeting clock, and every frame of the spurt is placed
by its timestamp distance from the anchor (exact 20 ms steps, no network jitter). The anchor slides earlier whenever
a packet arrives sooner than predicted (it saw less delay than the first one did; this also untangles a burst of
packets read at once after a receive stall), and a new anchor is taken after a pause in arrivals, or when the
timestamps run more than 0.25 s ahead of, or 2 s behind, the arrival times (a sender that reset its clock).
Positions are computed when frames are written, with the best anchor known by then. Silence between spurts is
written as Opus silence frames, so each file's timeline is continuous and all tracks line up with the meeting
clock (see `manifest.py` for the convention).

Order. Frames wait `reorder_delay` (100 ms) in a small per-speaker buffer so that reordered packets are written in
timestamp order; a packet older than a frame already written is dropped and counted as late. Duplicates were
removed by the receiver.

Durability. Released frames are written as whole Ogg pages every `flush_interval` (1 s) and fsynced every
`sync_interval`; a process crash therefore loses at most about flush_interval + reorder_delay of audio.

Live hand-off. When a speaker's utterance ends (a pause of `utterance_gap`, or `max_utterance` reached), its Opus
frames are decoded to 16 kHz mono on a worker thread and passed to `on_utterance`, never on the receive path.

Threads. `put_frame` (the receiver's sink) only enqueues. One writer thread (`start`) or the caller of `pump`
(tests, the benchmark) does everything else.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bot.voice.manifest import RecordingFolder, track_comments
from bot.voice.ogg_writer import PRE_SKIP, OggOpusWriter
from bot.voice.opus_frames import SAMPLE_RATE, decode_mono, is_silence, packet_samples, silence_frames
from tracker import optout

__all__ = ["RecordingWriter", "TrackStats", "UtteranceCallback"]

log = logging.getLogger(__name__)

# on_utterance(user_id, speaker, track_file, start_seconds_on_meeting_clock, samples_16k_mono_float32)
UtteranceCallback = Callable[[int, str, Path, float, "object"], object]

_SPURT_GAP = 0.25  # seconds without packets after which the next packet starts a new talk spurt (new anchor)
_JUMP_AHEAD = int(0.25 * SAMPLE_RATE)  # a timestamp this far ahead of the arrival time: the sender's clock jumped
_FELL_BEHIND = int(2.0 * SAMPLE_RATE)  # ... this far behind it: not a receive stall any more, re-anchor
_MIN_GAP = 60  # gaps shorter than 1.25 ms are not worth a silence frame


@dataclass(slots=True)
class TrackStats:
    frames: int = 0  # frames written (speech and the senders' own silence frames)
    speech_frames: int = 0
    late: int = 0  # arrived after the reorder window had moved past them
    silence_filled: int = 0  # samples of silence inserted for gaps
    utterances: int = 0

    def as_dict(self) -> dict[str, float]:
        return {
            "frames": self.frames,
            "speech_frames": self.speech_frames,
            "late": self.late,
            "silence_filled_seconds": round(self.silence_filled / SAMPLE_RATE, 3),
            "utterances": self.utterances,
        }


@dataclass(slots=True)
class _Spurt:
    serial: int  # creation order within the track: frames are written spurt by spurt, in timestamp order
    anchor_ts: int  # extended RTP timestamp of the anchor
    anchor_pos: int  # meeting-clock sample of the anchor
    last_ts: int  # extended RTP timestamp of the newest packet
    last_arrival: float
    written_ts: int | None = None  # extended RTP timestamp of the newest frame already written

    def position(self, extended_ts: int) -> int:
        return self.anchor_pos + (extended_ts - self.anchor_ts)


@dataclass(slots=True)
class _Utterance:
    start: int  # meeting-clock sample of the first speech frame
    packets: list[bytes] = field(default_factory=list)
    speech_end: int = 0  # meeting-clock sample where the last speech frame ends
    keep: int = 0  # number of packets up to and including the last speech frame
    last_speech_arrival: float = 0.0


@dataclass(slots=True)
class _Track:
    user_id: int
    speaker: str = ""
    writer: OggOpusWriter | None = None
    file_start: int = 0  # meeting-clock sample of the file's sample 0
    spurts: dict[int, _Spurt] = field(default_factory=dict)  # by SSRC: the current talk spurt of each
    spurt_count: int = 0
    # (spurt serial, extended timestamp, order, arrival, frame, spurt): sorts into writing order
    pending: list[tuple] = field(default_factory=list)
    oldest_pending: float = float("inf")  # arrival of the oldest pending frame: nothing to release before then
    utterance: _Utterance | None = None
    stats: TrackStats = field(default_factory=TrackStats)
    dirty_since_sync: bool = False
    flushed_speech_frames: int = 0


def _writing_order(entry: tuple) -> tuple:
    return entry[0], entry[1], entry[2]


class RecordingWriter:
    """The FrameSink that records: per-speaker Ogg/Opus tracks in a `RecordingFolder`."""

    def __init__(
        self,
        folder: RecordingFolder,
        *,
        speaker_name: Callable[[int], str | None] = str,  # None or "": the user id stands in
        clock: Callable[[], float] = time.monotonic,
        meeting_time_at_start: float | None = None,
        flush_interval: float = 1.0,
        sync_interval: float = 10.0,
        reorder_delay: float = 0.1,
        utterance_gap: float = 0.8,
        max_utterance: float = 30.0,
        on_utterance: UtteranceCallback | None = None,
        maintenance: Callable[[float], None] | None = None,
        intake: Callable[[], object] | None = None,
        on_flush: Callable[[dict], None] | None = None,
    ) -> None:
        self.folder = folder
        self.speaker_name = speaker_name
        self.clock = clock
        self.flush_interval = flush_interval
        self.sync_interval = sync_interval
        self.reorder_delay = reorder_delay
        self.utterance_gap = utterance_gap
        self.max_utterance = max_utterance
        self.on_utterance = on_utterance
        self.maintenance = maintenance  # e.g. VoiceReceiver.maintain, run on this thread's timer
        self.intake = intake  # e.g. VoiceReceiver.process (deferred receiver), run first in every pump
        self.on_flush = on_flush  # told after every flush round (tests, crash drills)
        self.tracks: dict[int, _Track] = {}
        self.errors: list[str] = []
        if meeting_time_at_start is None:
            meeting_time_at_start = (dt.datetime.now(dt.UTC) - folder.started_at).total_seconds()
        self._clock_origin = clock()
        self._meeting_origin = meeting_time_at_start
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._order = 0
        now = self._clock_origin
        self._next_flush = now + flush_interval
        self._next_sync = now + sync_interval
        self._next_maintenance = now + 0.5
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._handoffs: list[Future] = []
        self._closed = False

    # -- clock ------------------------------------------------------------------------------------------------

    def meeting_time(self, clock_value: float) -> float:
        """Seconds on the meeting clock (from the manifest's started_at) for a value of `clock`."""
        return self._meeting_origin + (clock_value - self._clock_origin)

    def _meeting_sample(self, clock_value: float) -> int:
        return round(self.meeting_time(clock_value) * SAMPLE_RATE)

    # -- FrameSink ------------------------------------------------------------------------------------------------

    def put_frame(self, user_id: int, ssrc: int, arrival: float, timestamp: int, sequence: int, frame: bytes) -> None:
        self._queue.put((user_id, ssrc, arrival, timestamp, frame))

    def drop_user(self, user_id: int) -> None:
        """Stop recording `user_id` and delete what was recorded of them (runs on the writer thread)."""
        self._queue.put(("drop", user_id))

    # -- running ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"voice-writer:{self.folder.meeting}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # Wake every 20 ms and take whatever has queued, rather than once per packet: a pass over the tracks serves
        # a whole batch, and the receive thread's put() never has to wake anyone (1250 packets/s for 25 speakers).
        while not self._stop.wait(0.02):
            try:
                self.pump(self.clock())
            except Exception as exc:  # keep going (a full disk may clear up); the recorder reports new errors
                message = f"{type(exc).__name__}: {exc}"
                if not self.errors or self.errors[-1] != message:
                    log.exception("voice writer failed")
                    self.errors.append(message)
                time.sleep(0.5)

    def pump(self, now: float) -> None:
        """Take everything queued, write what has waited long enough, and run the flush/sync/maintenance timers."""
        if self.intake is not None:
            self.intake()
        get = self._queue.get_nowait
        while True:
            try:
                item = get()
            except queue.Empty:
                break
            self._ingest(item)
        cutoff = now - self.reorder_delay
        for track in self.tracks.values():
            if track.oldest_pending <= cutoff:
                self._release(track, cutoff)
            if track.utterance is not None:
                self._check_utterance(track, now)
        if now >= self._next_maintenance:
            self._next_maintenance = now + 0.5
            if self.maintenance is not None:
                self.maintenance(now)
        if now >= self._next_flush:
            self._next_flush = now + self.flush_interval
            self.flush()
        if now >= self._next_sync:
            self._next_sync = now + self.sync_interval
            self.sync()

    def flush(self) -> None:
        written = 0
        failure: OSError | None = None
        for track in self.tracks.values():
            if track.writer is not None and track.writer.buffered_samples:
                try:
                    written += track.writer.flush()
                except OSError as exc:  # this track keeps its pages for the next flush; the others go on
                    failure = failure or exc
                    continue
                track.dirty_since_sync = True
            track.flushed_speech_frames = track.stats.speech_frames
        if self.on_flush is not None:
            self.on_flush({"bytes": written, "speech_frames": self.speech_frames_flushed()})
        if failure is not None:
            raise failure

    def sync(self) -> None:
        for track in self.tracks.values():
            if track.writer is not None and track.dirty_since_sync:
                track.writer.sync()
                track.dirty_since_sync = False

    def speech_frames_flushed(self) -> int:
        """Speech frames handed to the kernel so far (they survive a crash of this process)."""
        return sum(t.flushed_speech_frames for t in self.tracks.values())

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread, write everything still buffered, close every file (end of stream), finish hand-offs."""
        if self._closed:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.pump(float("inf"))
        for track in self.tracks.values():
            if track.utterance is not None:
                self._close_utterance(track)
            if track.writer is not None:
                track.writer.close()
        self._closed = True
        for future in self._handoffs:
            try:
                future.result(timeout=timeout)
            except Exception:
                log.exception("utterance hand-off failed")
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # -- placement --------------------------------------------------------------------------------------------

    def _ingest(self, item: tuple) -> None:
        if item[0] == "drop":
            self._drop(item[1])
            return
        user_id, ssrc, arrival, timestamp, frame = item
        track = self.tracks.get(user_id)
        if track is None:
            track = self.tracks[user_id] = _Track(user_id)
        placed = self._place(track, ssrc, arrival, timestamp)
        if placed is None:
            track.stats.late += 1
            return
        spurt, extended = placed
        self._order += 1
        track.pending.append((spurt.serial, extended, self._order, arrival, frame, spurt))
        if arrival < track.oldest_pending:
            track.oldest_pending = arrival

    def _new_spurt(self, track: _Track, ssrc: int, extended: int, heard: int, arrival: float) -> _Spurt:
        track.spurt_count += 1
        spurt = track.spurts[ssrc] = _Spurt(track.spurt_count, extended, heard, extended, arrival)
        return spurt

    def _place(self, track: _Track, ssrc: int, arrival: float, timestamp: int) -> tuple[_Spurt, int] | None:
        """The talk spurt a packet belongs to and its extended timestamp; None for a straggler of an older spurt.

        Positions are not fixed here but when the frame is written (`_Spurt.position`), so every frame of a spurt is
        placed with the best anchor known by then — including frames that arrived in a burst, before the packets
        that revealed the anchor was late.
        """
        heard = self._meeting_sample(arrival)
        spurt = track.spurts.get(ssrc)
        if spurt is None or arrival - spurt.last_arrival > _SPURT_GAP:
            return self._new_spurt(track, ssrc, timestamp, heard, arrival), timestamp
        # Unwrap the 32-bit timestamp relative to the newest one seen (packets may come slightly out of order).
        delta = (timestamp - spurt.last_ts) & 0xFFFFFFFF
        extended = spurt.last_ts + (delta if delta < 0x80000000 else delta - 0x100000000)
        if extended < spurt.anchor_ts:
            return None  # from before this spurt began: it waited too long in the network
        predicted = spurt.position(extended)
        if predicted - heard > _JUMP_AHEAD or heard - predicted > _FELL_BEHIND:
            # The sender's RTP clock jumped (or drifted far): trust the arrival time from here on.
            return self._new_spurt(track, ssrc, extended, heard, arrival), extended
        if heard < predicted:
            # This packet saw less network (or receive) delay than the anchor did: move the anchor earlier.
            spurt.anchor_pos -= predicted - heard
        if extended > spurt.last_ts:
            spurt.last_ts = extended
        if arrival > spurt.last_arrival:
            spurt.last_arrival = arrival
        return spurt, extended

    def _release(self, track: _Track, cutoff: float) -> None:
        pending = track.pending
        if len(pending) > 1:
            pending.sort(key=_writing_order)
        last = -1
        for index, entry in enumerate(pending):
            if entry[3] <= cutoff:
                last = index
        if last < 0:
            return
        ready = pending[: last + 1]
        del pending[: last + 1]
        track.oldest_pending = min((entry[3] for entry in pending), default=float("inf"))
        for _serial, extended, _order, arrival, frame, spurt in ready:
            if spurt.written_ts is not None and extended <= spurt.written_ts:
                track.stats.late += 1  # something newer of this spurt is already on the page
                continue
            spurt.written_ts = extended
            self._write(track, spurt.position(extended), arrival, frame)

    def _write(self, track: _Track, position: int, arrival: float, frame: bytes) -> None:
        samples = packet_samples(frame) or 960
        speech = not is_silence(frame)
        writer = track.writer
        if writer is None:
            if not speech:
                return  # a track starts with speech, not with the silence frames that end a spurt
            self._open_track(track, position, frame, samples)
            start_on_clock = track.file_start
        else:
            # A frame placed before the end of what is written (the anchor moved earlier after frames were written)
            # is appended at the end: the error is bounded by the network jitter and gone at the next pause.
            relative = position - track.file_start
            end = writer.granule
            utterance = track.utterance
            if (
                speech
                and utterance is not None
                and (
                    position - utterance.speech_end > self.utterance_gap * SAMPLE_RATE
                    or position - utterance.start > self.max_utterance * SAMPLE_RATE
                )
            ):
                self._close_utterance(track)
            gap = relative - end
            if gap >= _MIN_GAP:
                fill, covered = silence_frames(gap)
                for silent in fill:
                    writer.append(silent, packet_samples(silent))
                track.stats.silence_filled += covered
                if track.utterance is not None:
                    track.utterance.packets.extend(fill)
            start_on_clock = track.file_start + writer.granule
            writer.append(frame, samples)
        track.stats.frames += 1
        if speech:
            track.stats.speech_frames += 1
        if self.on_utterance is None:
            return
        utterance = track.utterance
        if speech:
            if utterance is None:
                utterance = track.utterance = _Utterance(start=start_on_clock)
            utterance.packets.append(frame)
            utterance.keep = len(utterance.packets)
            utterance.speech_end = start_on_clock + samples
            utterance.last_speech_arrival = arrival
        elif utterance is not None:
            utterance.packets.append(frame)

    def _speaker_for(self, user_id: int) -> str:
        """The name a track is filed under: the one this user already has in the folder (a restart keeps it even if
        they renamed themselves), else their display name, made unique (readers group tracks by speaker name)."""
        entries = self.folder.tracks
        for entry in entries:
            if entry.user_id == str(user_id):
                return entry.speaker
        name = self.speaker_name(user_id) or str(user_id)
        if any(entry.speaker == name for entry in entries):
            name = f"{name} ({user_id})"
        return name

    def _open_track(self, track: _Track, position: int, first_frame: bytes, samples: int) -> None:
        track.speaker = self._speaker_for(track.user_id)
        path = self.folder.new_track_path(track.user_id, track.speaker)
        position = max(position, 0)  # the meeting clock starts at 0; an early anchor may not precede it
        offset = (position + PRE_SKIP) / SAMPLE_RATE  # decoders skip the first PRE_SKIP samples (the codec delay)
        comments = track_comments(self.folder.meeting, track.user_id, track.speaker, offset)
        track.writer = OggOpusWriter(path, (first_frame, samples), comments=comments)
        track.file_start = position
        self.folder.add_track(path, track.user_id, track.speaker, offset)
        log.info("recording %s (%s) into %s from %.2f s", track.speaker, track.user_id, path.name, offset)

    def _drop(self, user_id: int) -> None:
        track = self.tracks.pop(user_id, None)
        if track is not None and track.writer is not None:
            track.writer.abandon()
        entries = [e for e in self.folder.tracks if e.user_id == str(user_id)]
        # Noted before the files go: every later step (live transcript, pipeline) drops what is left of them.
        optout.record(
            self.folder.path,
            user_id,
            speakers=[e.speaker for e in entries] + ([track.speaker] if track and track.speaker else []),
            tracks=[e.file for e in entries],
        )
        removed = self.folder.remove_user(user_id)
        log.info("deleted %d track file(s) of user %s", len(removed), user_id)

    # -- live hand-off ------------------------------------------------------------------------------------------

    def _check_utterance(self, track: _Track, now: float) -> None:
        utterance = track.utterance
        if utterance is not None and now - utterance.last_speech_arrival > self.utterance_gap + self.reorder_delay:
            self._close_utterance(track)

    def _close_utterance(self, track: _Track) -> None:
        utterance, track.utterance, on_utterance = track.utterance, None, self.on_utterance
        if utterance is None or on_utterance is None or not utterance.keep:
            return
        track.stats.utterances += 1
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-handoff")
        packets = utterance.packets[: utterance.keep]
        file = track.writer.path if track.writer else Path()
        future = self._executor.submit(
            self._hand_off, on_utterance, track.user_id, track.speaker, file, utterance.start / SAMPLE_RATE, packets
        )
        self._handoffs = [f for f in self._handoffs if not f.done()] + [future]

    def _hand_off(
        self,
        on_utterance: UtteranceCallback,
        user_id: int,
        speaker: str,
        file: Path,
        start: float,
        packets: list[bytes],
    ) -> None:
        samples = decode_mono(packets, 16_000)
        try:
            on_utterance(user_id, speaker, file, start, samples)
        except Exception:
            log.exception("on_utterance failed for %s at %.2f s", speaker, start)

    # -- status -------------------------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {
            track.user_id: {
                "speaker": track.speaker,
                "file": track.writer.path.name if track.writer else None,
                "seconds": round(track.writer.granule / SAMPLE_RATE, 3) if track.writer else 0.0,
                **track.stats.as_dict(),
            }
            for track in list(self.tracks.values())
        }
