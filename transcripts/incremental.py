"""Transcribing while the meeting is still going: feed each speaker's new audio, get the new segments.

The voice recorder hands over each closed utterance (16 kHz mono float32 and where it starts on the meeting
timeline); speech is found in it, packed into windows and transcribed exactly as the batch path does, so the
result has the batch path's quality. A window is transcribed when the next utterance no longer fits in it, so
segments arrive about one window (up to 30 s of that speaker's speech) after they were spoken. With `max_delay`
(seconds of meeting time, any speaker's audio moves the clock) a waiting window is transcribed once it is that
old, at the cost of less packed windows; `flush()` transcribes what waits now, and `finish()` what is left.

A transcriber that falls behind (a slow CPU, a busy call) catches up rather than fall further behind: told its
backlog (`keep_up`), it decodes greedily and lets windows fill for longer until the backlog is nearly gone.

    transcriber = IncrementalTranscriber(model="base", hints=hints)
    for track, speaker, samples, start in utterances:
        for segment in transcriber.feed(track, speaker, samples, start):
            ...
    transcript = transcriber.finish()
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, replace

import numpy as np

from .audio import SAMPLE_RATE
from .engines import Engine, load_engine
from .transcribe import TrackTranscriber, WindowBatch, decode_options, decode_windows, merge_segments
from .types import Hints, Segment, Transcript
from .vad import VadConfig, detect_speech
from .vocabulary import build_prompt
from .windows import MAX_WINDOW_SECONDS

log = logging.getLogger(__name__)

# Audio waiting to be fed (seconds) from which the transcriber catches up, and the backlog at which it is back to
# the beam search and its usual delay (the gap keeps the choice from flapping). Catching up, windows are decoded
# greedily and may wait CATCH_UP_DELAY times `max_delay` to fill: its segments are late anyway, and Whisper's cost is
# per window however little speech it holds.
CATCH_UP_FROM = 60.0
CAUGHT_UP_AT = 10.0
CATCH_UP_DELAY = 3.0


@dataclass(slots=True)
class _TrackState:
    worker: TrackTranscriber
    segments: list[Segment]
    end: float = 0.0  # timeline end of the audio fed so far


class IncrementalTranscriber:
    """Per-track incremental transcription. Thread-safe: feed() may be called from several threads."""

    def __init__(
        self,
        engine: str | Engine = "faster-whisper",
        model: str = "base",
        *,
        compute_type: str = "int8",
        language: str | None = "en",
        threads: int | None = None,
        workers: int = 1,
        hints: Hints | None = None,
        beam_size: int = 5,
        vad: VadConfig | None = None,
        max_window: float = MAX_WINDOW_SECONDS,
        max_delay: float | None = None,
        started_at: dt.datetime | None = None,
    ):
        # `workers` decodes of `threads` threads each; while audio comes in one runs at a time, `finish` uses all
        if not isinstance(engine, Engine):
            engine = load_engine(engine, model, compute_type, threads and threads * workers, workers)
        self.engine = engine
        self.hints = hints or Hints()
        self.language = language
        self.beam_size = beam_size
        self.vad = vad
        self.max_window = max_window
        self.max_delay = max_delay
        self.started_at = started_at
        self._tracks: dict[str, _TrackState] = {}
        self._speakers: list[str] = list(self.hints.speakers)
        self._warnings: list[str] = []
        self._lock = threading.Lock()
        self.catching_up = False
        self._finished = False
        self._now = 0.0  # latest meeting time any audio was fed for

    def keep_up(self, backlog: float) -> None:
        """`backlog`: seconds of audio handed over and not fed yet; far behind, catch up (see above)."""
        with self._lock:  # feed() may run on another thread: the switch and the beams change together
            behind = backlog >= CATCH_UP_FROM or (self.catching_up and backlog > CAUGHT_UP_AT)
            if behind == self.catching_up:
                return
            self.catching_up = behind
            for state in self._tracks.values():
                state.worker.options = replace(state.worker.options, beam_size=self._beam())
        log.info("transcription %.0f s behind: %s", backlog, "catching up" if behind else "caught up")

    def _beam(self) -> int:
        return 1 if self.catching_up else self.beam_size

    @property
    def final_before(self) -> float:
        """Meeting time before which all audio fed so far is transcribed (the windows still waiting start later)."""
        with self._lock:
            waiting = [s.worker.pending_since for s in self._tracks.values() if s.worker.pending_since is not None]
            return min(waiting, default=self._now)

    def _state(self, track: str, speaker: str) -> _TrackState:
        state = self._tracks.get(track)
        if state is None:
            if speaker not in self._speakers:
                self._speakers.append(speaker)
            # the prompt names everybody known when the track starts (the batch path knows all from the manifest)
            options = decode_options(
                language=self.language, prompt=build_prompt(self.hints, self._speakers), beam_size=self._beam()
            )
            worker = TrackTranscriber(
                self.engine, speaker=speaker, track=track, options=options, max_window=self.max_window
            )
            state = self._tracks[track] = _TrackState(worker, [])
        return state

    def feed(self, track: str, speaker: str, samples: np.ndarray, start: float) -> list[Segment]:
        """Add `samples` (16 kHz mono float32) of `track`, beginning `start` seconds into the meeting.

        Returns the segments that became final with this audio (possibly none, possibly from earlier audio).
        """
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            if self._finished:
                raise RuntimeError("IncrementalTranscriber.feed() after finish()")
            state = self._state(track, speaker)
            if state.worker.speaker != speaker:
                log.warning(
                    "%s: speaker changed from %r to %r; keeping the first", track, state.worker.speaker, speaker
                )
            state.end = max(state.end, start + samples.size / SAMPLE_RATE)
            self._now = max(self._now, state.end)
            new: list[Segment] = []
            if samples.size:
                for region in detect_speech(samples, self.vad):
                    new.extend(state.worker.add(region.shifted(start)))
            state.segments.extend(new)
            if self.max_delay is not None:
                # the meeting clock moves with any speaker's audio: a quiet speaker's last words are not held back
                # until they speak again
                delay = self.max_delay * (CATCH_UP_DELAY if self.catching_up else 1.0)
                new.extend(
                    self._close(
                        [
                            other
                            for other in self._tracks.values()
                            if other.worker.pending_since is not None
                            and self._now - other.worker.pending_since >= delay
                        ]
                    )
                )
            return sorted(new, key=lambda s: s.start)

    def flush(self, track: str | None = None) -> list[Segment]:
        """Transcribe what is waiting for `track` (or every track) now, without waiting for more audio."""
        with self._lock:
            states = [state for name, state in self._tracks.items() if track is None or name == track]
            return sorted(self._close(states), key=lambda s: s.start)

    def _close(self, states: list[_TrackState]) -> list[Segment]:
        """Close the open window of each of `states` and decode them together; their new segments."""
        jobs = [(state, window) for state in states for window in state.worker.pack_rest()]
        new: list[Segment] = []
        for (state, _), segments in zip(jobs, decode_windows([(state.worker, window) for state, window in jobs])):
            state.segments.extend(segments)
            new.extend(segments)
        return new

    def _close_on_every_worker(self) -> None:
        """Close every open window and decode them shared out over the engine's workers (the call is over: the
        cores the transcriber left to others during it are free)."""
        jobs = [(state, window) for state in self._tracks.values() for window in state.worker.pack_rest()]
        workers = self.engine.workers
        batch = WindowBatch(size=-(-len(jobs) // workers), parallel=workers)
        for state, window in jobs:
            batch.submit(state.worker, [window], state.segments)
        batch.run()

    def drop(self, track: str) -> int:
        """Forget `track` entirely: its waiting audio and its segments (someone opted out). Returns the segments
        removed; later audio of the track starts it afresh."""
        with self._lock:
            state = self._tracks.pop(track, None)
            return len(state.segments) if state else 0

    def finish(self) -> Transcript:
        """Transcribe the rest and return the whole transcript (all tracks merged in time order)."""
        with self._lock:
            self._close_on_every_worker()
            self._finished = True
            warnings = list(self._warnings)
            for name, state in self._tracks.items():
                if state.worker.regions == 0:
                    warnings.append(f"{name}: no speech found")
            return Transcript(
                segments=merge_segments([s.segments for s in self._tracks.values()]),
                started_at=self.started_at,
                duration=max((s.end for s in self._tracks.values()), default=0.0),
                warnings=warnings,
            )
