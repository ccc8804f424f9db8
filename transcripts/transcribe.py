"""A recording in, a speaker-attributed, timestamped transcript out.

For each track (one speaker): decode it in streamed chunks (`audio`), find the speech (`vad`), pack the utterances
into 30-second windows (`windows`), transcribe the windows with the engine (`engines`) prompted with the meeting's
vocabulary (`vocabulary`), and turn the words back into utterance segments on the meeting timeline, dropping
hallucinations (`utterances`). Then all tracks are merged in time order; people talking at once stay so. Windows of
any tracks are decoded a few at a time (`WindowBatch`), which fills the CPU's cores better than one window does and
gives each window the same words.

A track that cannot be read becomes a warning naming its file and the others are still transcribed;
`TranscriptionError` is raised only when no track at all could be read.

    transcript = transcribe_recording(Path("recordings/2026-11-26"), hints=Hints(glossary=["HNSW"]))
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .audio import SAMPLE_RATE, probe, stream_audio
from .engines import DecodeOptions, Engine, load_engine
from .errors import AudioError, TranscriptionError
from .recording import Recording, Track, read_recording
from .types import Hints, Segment, Transcript
from .utterances import Rejected, heard_until, window_segments
from .vad import SpeechDetector, SpeechRegion, VadConfig
from .vocabulary import build_prompt
from .windows import MAX_WINDOW_SECONDS, Window, WindowPacker, region_tail

log = logging.getLogger(__name__)

# Windows under decode at once. Four use two cores about as well as eight do, and the search's memory (the encoder
# output, copied for every beam) grows with each window.
BATCH_WINDOWS = 4
# They are split between this many engine workers, each decoding its share on its own threads: a beam search's
# steps are matrix products too small to share out over cores without waiting, so two single-threaded searches
# side by side keep two cores busier than one search on both. Same words (each window is decoded alone or in a
# batch with the same result either way).
DECODE_WORKERS = 2


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """What a progress callback receives: one per decoded chunk of a track, plus its start and end."""

    track: str  # the track's file name(s)
    speaker: str
    stage: str  # "start", "transcribing", "done" or "failed"
    done: float  # seconds of the track's audio processed so far
    total: float  # seconds of audio in the track (0.0 when the file does not say)
    message: str = ""  # for "failed": the error; for "done": e.g. "12 segments"


ProgressCallback = Callable[[ProgressEvent], None]


class TrackTranscriber:
    """Speech regions of one track in, segments out: packing, the engine, and segmentation.

    Used by the batch path (regions from a streamed file) and by `IncrementalTranscriber` (regions from the
    recorder's utterances); the same regions give the same windows and so the same text.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        speaker: str,
        track: str,
        options: DecodeOptions,
        max_window: float = MAX_WINDOW_SECONDS,
    ):
        self.engine = engine
        self.speaker = speaker
        self.track = track
        self.options = options
        self._packer = WindowPacker(max_window)
        self.regions = 0
        self.rejected: list[Rejected] = []

    @property
    def pending_since(self) -> float | None:
        """Timeline start of the oldest region waiting in an unfinished window."""
        window = self._packer.pending
        return window.regions[0].start if window else None

    def pack(self, region: SpeechRegion) -> list[Window]:
        """Take one region (times on the meeting timeline); return the windows it closed, not yet decoded."""
        self.regions += 1
        return self._packer.add(region)

    def pack_rest(self) -> list[Window]:
        """The window still open, closed now (not yet decoded)."""
        return self._packer.flush()

    def add(self, region: SpeechRegion) -> list[Segment]:
        """Take one region; return segments of the windows it closed."""
        return [s for segments in decode_windows([(self, w) for w in self.pack(region)]) for s in segments]

    def _settle_language(self, window: Window) -> None:
        if self.options.language is None and self.engine.multilingual:
            language, probability = self.engine.detect_language(window.audio)
            log.info("%s: language %s (p=%.2f)", self.track, language, probability)
            self.options = replace(self.options, language=language)


def decode_windows(jobs: list[tuple[TrackTranscriber, Window]]) -> list[list[Segment]]:
    """The segments of each (track, window) job. Windows of any tracks that share the engine and its options are
    decoded in one engine call, and so are the rests Whisper left of them (see `_rest`)."""
    for worker, window in jobs:
        worker._settle_language(window)
    out: list[list[Segment]] = [[] for _ in jobs]
    parts: list[tuple[int, Window]] = list(enumerate(window for _, window in jobs))
    for _ in range(_MAX_PASSES):
        if not parts:
            break
        rests: list[tuple[int, Window]] = []
        for group in _alike(parts, jobs):
            worker = jobs[group[0][0]][0]
            results = worker.engine.transcribe_many([part.audio for _, part in group], worker.options)
            for (index, part), result in zip(group, results):
                worker = jobs[index][0]
                segments, rejected = window_segments(
                    part,
                    result,
                    speaker=worker.speaker,
                    track=worker.track,
                    options=worker.options,
                    prompt=worker.options.prompt,
                )
                worker.rejected.extend(rejected)
                out[index].extend(segments)
                rest = _rest(part, result)
                if rest is not None:
                    rests.append((index, rest))
        parts = rests
    for _, window in jobs:
        window.release_audio()
    return out


def _alike(parts: list[tuple[int, Window]], jobs: list[tuple[TrackTranscriber, Window]]):
    """`parts` grouped by the engine and decoding options of their track, in order of first appearance."""
    groups: list[tuple[Engine, DecodeOptions, list[tuple[int, Window]]]] = []
    for index, part in parts:
        worker = jobs[index][0]
        for engine, options, group in groups:
            if engine is worker.engine and options == worker.options:
                group.append((index, part))
                break
        else:
            groups.append((worker.engine, worker.options, [(index, part)]))
    return [group for _, _, group in groups]


class WindowBatch:
    """Closed windows of any track, decoded `size` at a time: the batch path's way of filling the engine's batches.

    A full batch is decoded in a background thread while the caller goes on reading audio (the engine releases
    the GIL); up to `parallel` batches are under way at once, one per engine worker. Each window's segments go to
    the list given with it, in the window's order within its track (batches are concluded in the order they were
    started, by the caller's thread); `run` decodes what is left and waits, and re-raises what a decode raised.
    """

    def __init__(self, size: int = BATCH_WINDOWS, parallel: int = 1):
        self.size = max(1, size)
        self.parallel = max(1, parallel)
        self._jobs: list[tuple[TrackTranscriber, Window]] = []
        self._sinks: list[list[Segment]] = []
        self._running: deque[_Decode] = deque()

    def submit(self, worker: TrackTranscriber, windows: list[Window], sink: list[Segment]) -> None:
        for window in windows:
            self._jobs.append((worker, window))
            self._sinks.append(sink)
        if len(self._jobs) >= self.size:
            self._start()

    def run(self) -> None:
        self._start()
        while self._running:
            self._conclude_oldest()

    def _start(self) -> None:
        while len(self._running) >= self.parallel:
            self._conclude_oldest()
        jobs, sinks = self._jobs, self._sinks
        self._jobs, self._sinks = [], []
        if jobs:
            for worker, window in jobs:  # here, not in two decodes at once
                worker._settle_language(window)
            self._running.append(_Decode(jobs, sinks))

    def _conclude_oldest(self) -> None:
        self._running.popleft().conclude()


class _Decode:
    """One batch of windows decoded in a thread of its own."""

    def __init__(self, jobs: list[tuple[TrackTranscriber, Window]], sinks: list[list[Segment]]):
        self._sinks = sinks
        self._results: list[list[Segment]] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._decode, args=(jobs,), name="whisper-batch", daemon=True)
        self._thread.start()

    def _decode(self, jobs: list[tuple[TrackTranscriber, Window]]) -> None:
        try:
            self._results = decode_windows(jobs)
        except BaseException as exc:  # handed to the reading thread by `conclude`
            self._error = exc

    def conclude(self) -> None:
        """Wait for the decode; its segments to their lists, or what it raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        for sink, segments in zip(self._sinks, self._results):
            sink.extend(segments)


def _rest(window: Window, results) -> Window | None:
    """What Whisper did not get to when it ended a window early, as a new window (None: nothing left).

    Whisper sometimes emits end-of-text before the audio ends, even mid-utterance; its own loop then seeks to the
    last word and decodes again. Here the same happens, limited to speech: the unheard rest of the utterance the
    last word was in (when at least `_UNHEARD` seconds of its speech remain) and the regions after it. Nothing is
    transcribed twice, and only windows in which something was heard continue, so this always makes progress.
    """
    last_index, last_end = heard_until(window, results)
    if last_index < 0:
        return None
    parts = []
    region, offset = window.regions[last_index], window.offsets[last_index]
    # (a window starting with its own tail must have moved on by a bit, or it would be decoded again forever)
    if offset + (region.speech_end - region.start) - last_end >= _UNHEARD and last_end >= _MIN_PROGRESS:
        parts.append(region_tail(region, last_end - offset))
    parts.extend(
        r for r, o in zip(window.regions[last_index + 1 :], window.offsets[last_index + 1 :]) if o >= last_end - 0.2
    )
    if not parts:
        return None
    rest = Window()
    for part in parts:
        rest.add(part)
    log.debug("decoding again %.1f s Whisper skipped at the end of a window", rest.duration)
    return rest


_UNHEARD = 1.0
_MIN_PROGRESS = 0.5
_MAX_PASSES = 8  # decodes of one window at most (a safety net: each pass already makes progress)


@dataclass(slots=True)
class TrackResult:
    track: Track
    worker: TrackTranscriber
    segments: list[Segment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    end: float = 0.0  # timeline end of the audio read
    failed: bool = False  # no part of the track could be read
    seconds_read: float = 0.0
    total: float = 0.0  # seconds of audio the files say they hold


def read_track(
    track: Track,
    worker: TrackTranscriber,
    batch: WindowBatch,
    *,
    vad: VadConfig | None = None,
    progress: ProgressCallback | None = None,
    chunk_seconds: float = 20.0,
) -> TrackResult:
    """Read one speaker's track (all its part files) onto the meeting timeline, handing its windows to `batch`.

    The segments arrive in `result.segments` as the batch runs; `conclude_track` reports on the track once the
    batch has run for the last time.
    """
    result = TrackResult(track, worker, total=_total_seconds(track))
    notify = progress or (lambda event: None)
    notify(ProgressEvent(track.name, track.speaker, "start", 0.0, result.total))
    read_parts = 0
    cursor = 0.0  # timeline end of the previous part, where a part without offset begins
    errors: list[str] = []
    for part in track.parts:
        offset = part.offset if part.offset is not None else cursor
        detector = SpeechDetector(vad)
        try:
            for chunk in stream_audio(part.path, chunk_seconds=chunk_seconds, warnings=result.warnings):
                for region in detector.feed(chunk):
                    batch.submit(worker, worker.pack(region.shifted(offset)), result.segments)
                result.seconds_read += chunk.size / SAMPLE_RATE
                notify(
                    ProgressEvent(
                        track.name,
                        track.speaker,
                        "transcribing",
                        result.seconds_read,
                        max(result.total, result.seconds_read),
                    )
                )
            for region in detector.finish():
                batch.submit(worker, worker.pack(region.shifted(offset)), result.segments)
        except AudioError as exc:
            errors.append(str(exc))
            log.warning("%s", exc)
            continue
        read_parts += 1
        cursor = offset + detector.samples_seen / SAMPLE_RATE
        result.end = max(result.end, cursor)
    batch.submit(worker, worker.pack_rest(), result.segments)
    result.warnings.extend(errors)
    result.failed = not read_parts
    return result


def conclude_track(result: TrackResult, progress: ProgressCallback | None = None) -> None:
    """Warnings and the last progress event of a track whose windows are all decoded."""
    track, worker = result.track, result.worker
    notify = progress or (lambda event: None)
    if result.failed:
        problems = "; ".join(w for w in result.warnings)
        notify(ProgressEvent(track.name, track.speaker, "failed", result.seconds_read, result.total, problems))
        return
    if worker.regions == 0:
        result.warnings.append(f"{track.name}: no speech found")
    elif not result.segments:
        result.warnings.append(f"{track.name}: speech found but no words recognized")
    if worker.rejected:
        log.info(
            "%s: dropped %d hallucinated segment(s): %s",
            track.name,
            len(worker.rejected),
            "; ".join(f"{r.text!r} ({r.reason})" for r in worker.rejected[:5]),
        )
    done = result.seconds_read
    notify(
        ProgressEvent(
            track.name, track.speaker, "done", done, max(result.total, done), f"{len(result.segments)} segments"
        )
    )


def _total_seconds(track: Track) -> float:
    total = 0.0
    for part in track.parts:
        try:
            total += probe(part.path).duration or 0.0
        except AudioError:
            pass
    return total


def merge_segments(groups: list[list[Segment]]) -> list[Segment]:
    """All tracks' segments in time order (overlapping speech stays, each segment with its own speaker)."""
    merged = [s for group in groups for s in group]
    merged.sort(key=lambda s: (s.start, s.end, s.speaker))
    return merged


def decode_options(
    *,
    language: str | None,
    prompt: str | None,
    beam_size: int = 5,
    word_timestamps: bool = True,
) -> DecodeOptions:
    return DecodeOptions(language=language, prompt=prompt, beam_size=beam_size, word_timestamps=word_timestamps)


def transcribe_recording(
    path: str | Path | Recording,
    *,
    hints: Hints | None = None,
    engine: str | Engine = "faster-whisper",
    model: str = "base",
    language: str | None = "en",
    compute_type: str = "int8",
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    beam_size: int = 5,
    vad: VadConfig | None = None,
    max_window: float = MAX_WINDOW_SECONDS,
    batch_windows: int = BATCH_WINDOWS,
    workers: int = DECODE_WORKERS,
) -> Transcript:
    """Transcribe a recording folder (per-speaker tracks, optional manifest.json) or a single mixed audio file.

    - `hints`: names, glossary and agenda given to Whisper; the recording's speaker names are always added.
    - `engine`: "faster-whisper" (default) or "openai-whisper", or an already loaded `Engine`.
    - `language`: "en" by default; None detects it per track.
    - `progress`: called with a `ProgressEvent` as each track advances.
    - `batch_windows`: windows (of any tracks) under decode at once, split between the engine's `workers`
      (at most one per thread); 1 decodes each alone.

    Raises `TranscriptionError` (one line) only when nothing could be transcribed because of bad input.
    """
    recording = path if isinstance(path, Recording) else read_recording(Path(path))
    if isinstance(engine, Engine):
        loaded = engine
    else:
        loaded = load_engine(engine, model, compute_type, threads, workers)
    # the manifest's meeting name is a title only when it reads like one (the recorder writes slugs like
    # "2026-11-26-weekly", which would only add noise to the prompt)
    title = recording.meeting if recording.meeting and " " in recording.meeting.strip() else None
    if title and hints is None:
        hints = Hints(title=title)
    elif title and hints is not None and not hints.title:
        hints = replace(hints, title=title)
    prompt = build_prompt(hints, [] if recording.mixed else recording.speakers)
    options = decode_options(language=language, prompt=prompt, beam_size=beam_size)

    warnings = list(recording.warnings)
    batch = WindowBatch(max(1, batch_windows // loaded.workers), parallel=loaded.workers)
    results = []
    for track in recording.tracks:
        worker = TrackTranscriber(
            loaded, speaker=track.speaker, track=track.name, options=options, max_window=max_window
        )
        results.append(read_track(track, worker, batch, vad=vad, progress=progress))
    batch.run()
    for result in results:
        conclude_track(result, progress)
        warnings.extend(result.warnings)
    if all(result.failed for result in results):
        problems = "; ".join(w for w in warnings) or "no track could be read"
        raise TranscriptionError(f"{recording.path.name}: nothing could be transcribed: {problems}")
    groups = [result.segments for result in results]
    end = max((result.end for result in results), default=0.0)
    segments = merge_segments(groups)
    if not segments:
        log.warning("%s: no speech in any track", recording.path.name)
    return Transcript(segments=segments, started_at=recording.started_at, duration=end, warnings=warnings)
