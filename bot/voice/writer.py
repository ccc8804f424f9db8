"""Places each speaker's Opus frames on the meeting clock and appends them to that speaker's Ogg/Opus track.

Timing. A frame's place on the meeting clock comes from its arrival time, refined by its RTP timestamp: the first
packet of a talk spurt anchors the sender's RTP clock to the meeting clock, and later packets of the spurt are
placed by their timestamp distance from the anchor (exact 20 ms steps, no network jitter). The anchor slides
earlier whenever a packet arrives sooner than predicted (it saw less delay than the first one did), and is reset
after a pause in arrivals or when timestamps and arrival times disagree by more than a quarter second (a sender
that restarted its clock). Silence between spurts is written as Opus silence frames, so each file's timeline is
continuous and all tracks line up with the meeting clock (see `manifest.py` for the convention).

Order. Frames wait `reorder_delay` (100 ms) in a small per-speaker buffer so that reordered packets are written in
timestamp order; a packet later than that is dropped and counted. Duplicates were removed by the receiver.

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
from bot.voice.ogg_writer import OggOpusWriter
from bot.voice.opus_frames import SAMPLE_RATE, decode_mono, is_silence, packet_samples, silence_frames

__all__ = ["RecordingWriter", "TrackStats", "UtteranceCallback"]

log = logging.getLogger(__name__)

# on_utterance(user_id, speaker, track_file, start_seconds_on_meeting_clock, samples_16k_mono_float32)
UtteranceCallback = Callable[[int, str, Path, float, "object"], object]

_SPURT_GAP = 0.25  # seconds without packets after which the next packet starts a new talk spurt (new anchor)
_RESYNC = int(0.25 * SAMPLE_RATE)  # RTP time and arrival time disagreeing by more than this: re-anchor
_LATE_TOLERANCE = 960  # a frame ending more than 20 ms before what is already written is late
_MIN_GAP = 60  # gaps shorter than 1.25 ms are not worth a silence frame


@dataclass(slots=True)
class TrackStats:
    frames: int = 0  # frames written (speech and the senders' own silence frames)
    speech_frames: int = 0
    late: int = 0  # arrived after the reorder window had moved past them
    silence_filled: int = 0  # samples of silence inserted for gaps
    utterances: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "frames": self.frames,
            "speech_frames": self.speech_frames,
            "late": self.late,
            "silence_filled_seconds": round(self.silence_filled / SAMPLE_RATE, 3),
            "utterances": self.utterances,
        }


@dataclass(slots=True)
class _Spurt:
    anchor_ts: int  # extended RTP timestamp of the anchor
    anchor_pos: int  # meeting-clock sample of the anchor
    last_ts: int  # extended RTP timestamp of the newest packet
    last_arrival: float


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
    spurts: dict[int, _Spurt] = field(default_factory=dict)  # by SSRC
    pending: list[tuple[int, int, float, bytes]] = field(default_factory=list)  # (position, order, arrival, frame)
    utterance: _Utterance | None = None
    stats: TrackStats = field(default_factory=TrackStats)
    dirty_since_sync: bool = False
    flushed_speech_frames: int = 0


class RecordingWriter:
    """The FrameSink that records: per-speaker Ogg/Opus tracks in a `RecordingFolder`."""

    def __init__(
        self,
        folder: RecordingFolder,
        *,
        speaker_name: Callable[[int], str] = str,
        clock: Callable[[], float] = time.monotonic,
        meeting_time_at_start: float | None = None,
        flush_interval: float = 1.0,
        sync_interval: float = 10.0,
        reorder_delay: float = 0.1,
        utterance_gap: float = 0.8,
        max_utterance: float = 30.0,
        on_utterance: UtteranceCallback | None = None,
        maintenance: Callable[[float], None] | None = None,
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
        get = self._queue.get
        while not self._stop.is_set():
            try:
                item = get(timeout=0.05)
            except queue.Empty:
                item = None
            try:
                if item is not None:
                    self._ingest(item)
                self.pump(self.clock())
            except Exception as exc:  # keep recording the other speakers; the recorder reports errors
                log.exception("voice writer failed")
                self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.1)

    def pump(self, now: float) -> None:
        """Take everything queued, write what has waited long enough, and run the flush/sync/maintenance timers."""
        get = self._queue.get_nowait
        while True:
            try:
                item = get()
            except queue.Empty:
                break
            self._ingest(item)
        cutoff = now - self.reorder_delay
        for track in self.tracks.values():
            if track.pending:
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
        for track in self.tracks.values():
            if track.writer is not None and track.writer.buffered_samples:
                written += track.writer.flush()
                track.dirty_since_sync = True
            track.flushed_speech_frames = track.stats.speech_frames
        if self.on_flush is not None:
            self.on_flush({"bytes": written, "speech_frames": self.speech_frames_flushed()})

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
        position = self._place(track, ssrc, arrival, timestamp)
        self._order += 1
        track.pending.append((position, self._order, arrival, frame))

    def _place(self, track: _Track, ssrc: int, arrival: float, timestamp: int) -> int:
        heard = self._meeting_sample(arrival)
        spurt = track.spurts.get(ssrc)
        if spurt is None or arrival - spurt.last_arrival > _SPURT_GAP:
            track.spurts[ssrc] = _Spurt(timestamp, heard, timestamp, arrival)
            return heard
        # Unwrap the 32-bit timestamp relative to the newest one seen (packets may come slightly out of order).
        delta = (timestamp - spurt.last_ts) & 0xFFFFFFFF
        extended = spurt.last_ts + (delta if delta < 0x80000000 else delta - 0x100000000)
        predicted = spurt.anchor_pos + (extended - spurt.anchor_ts)
        if abs(predicted - heard) > _RESYNC:
            track.spurts[ssrc] = _Spurt(extended, heard, extended, arrival)
            return heard
        if heard < predicted:  # this packet saw less network delay than the anchor did: move the anchor earlier
            spurt.anchor_pos -= predicted - heard
            predicted = heard
        if extended > spurt.last_ts:
            spurt.last_ts = extended
        spurt.last_arrival = max(spurt.last_arrival, arrival)
        return predicted

    def _release(self, track: _Track, cutoff: float) -> None:
        pending = track.pending
        last = -1
        if len(pending) > 1:
            pending.sort()
        for index, entry in enumerate(pending):
            if entry[2] <= cutoff:
                last = index
        if last < 0:
            return
        ready = pending[: last + 1]
        del pending[: last + 1]
        for position, _order, arrival, frame in ready:
            self._write(track, position, arrival, frame)

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
            relative = position - track.file_start
            end = writer.granule
            if relative + samples <= end - _LATE_TOLERANCE:
                track.stats.late += 1
                return
            utterance = track.utterance
            if speech and utterance is not None and (
                position - utterance.speech_end > self.utterance_gap * SAMPLE_RATE
                or position - utterance.start > self.max_utterance * SAMPLE_RATE
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

    def _open_track(self, track: _Track, position: int, first_frame: bytes, samples: int) -> None:
        track.speaker = self.speaker_name(track.user_id) or str(track.user_id)
        path = self.folder.new_track_path(track.user_id, track.speaker)
        position = max(position, 0)  # the meeting clock starts at 0; an early anchor may not precede it
        offset = position / SAMPLE_RATE
        comments = track_comments(self.folder.meeting, track.user_id, track.speaker, offset)
        track.writer = OggOpusWriter(path, (first_frame, samples), comments=comments)
        track.file_start = position
        self.folder.add_track(path, track.user_id, track.speaker, offset)
        log.info("recording %s (%s) into %s from %.2f s", track.speaker, track.user_id, path.name, offset)

    def _drop(self, user_id: int) -> None:
        track = self.tracks.pop(user_id, None)
        if track is not None and track.writer is not None:
            track.writer.abandon()
        removed = self.folder.remove_user(user_id)
        log.info("deleted %d track file(s) of user %s", len(removed), user_id)

    # -- live hand-off ------------------------------------------------------------------------------------------

    def _check_utterance(self, track: _Track, now: float) -> None:
        utterance = track.utterance
        if utterance is not None and now - utterance.last_speech_arrival > self.utterance_gap + self.reorder_delay:
            self._close_utterance(track)

    def _close_utterance(self, track: _Track) -> None:
        utterance, track.utterance = track.utterance, None
        if utterance is None or self.on_utterance is None or not utterance.keep:
            return
        track.stats.utterances += 1
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-handoff")
        packets = utterance.packets[: utterance.keep]
        file = track.writer.path if track.writer else Path()
        future = self._executor.submit(
            self._hand_off, track.user_id, track.speaker, file, utterance.start / SAMPLE_RATE, packets
        )
        self._handoffs = [f for f in self._handoffs if not f.done()] + [future]

    def _hand_off(self, user_id: int, speaker: str, file: Path, start: float, packets: list[bytes]) -> None:
        samples = decode_mono(packets, 16_000)
        try:
            self.on_utterance(user_id, speaker, file, start, samples)
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
