"""Live transcription during the call, in a worker process: the recorder hands over each closed utterance and the
transcript grows while people talk, so little is left to do when the call ends.

The recorder's `on_utterance(user_id, speaker, track_file, start, pcm16k)` callback is `LiveTranscription.submit`:
it only puts the audio on a queue (never blocking the bot's event loop or the receive path). The worker process
runs `transcripts.incremental.IncrementalTranscriber`, appends each final segment to `transcript.live.jsonl` in the
recording folder as it comes (crash-safe: a line per segment), and at the end writes `transcript.live.json`, which
the pipeline's transcribe step takes instead of transcribing the recording again. If any utterance was lost (the
queue overflowed, the worker died), no `transcript.live.json` is written and the pipeline transcribes the
recording files: the live path is an optimization, never the only copy.

A worker that falls behind (a slow CPU, everybody talking) catches up: it decodes greedily and packs Whisper's
windows fuller until its backlog is nearly gone (`IncrementalTranscriber.keep_up`). The queue is bounded by the
audio it holds (`MAX_QUEUED_SECONDS`): a worker that falls that far behind anyway is stopped and the recording is
transcribed from its files after the call, as when the worker dies (the log says so).

Someone who opts out during the call (`forget`) is forgotten by the worker at once: their waiting audio and their
lines in `transcript.live.jsonl` go, and the minutes' answers read ahead so far (which may quote them) are deleted
and asked again without them. The opt-out is noted in the folder (`tracker.optout`), so the pipeline drops whatever
is left of them too.

With a summary model configured, a second worker process reads ahead for the minutes: every couple of minutes it
asks the model about the parts of the call that are over (`transcripts.minutes.read_ahead`) and keeps the answers in
`minutes.cache.jsonl`. When the call ends and the transcript is written, it asks the last parts too, with the model
it already holds (`conclude`), so the pipeline writes the minutes from the cache without loading the model's
weights. A call of any length then has its minutes about as soon as a quarter-hour one. The transcriber hands it
each new segment (and each opt-out, in order). Whisper and the summary model live in separate processes so that
neither process needs the memory of both, and transcription never waits for an answer. Both workers run at a lower
priority than the bot: the receive path always comes first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import math
import multiprocessing
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tracker import optout
from tracker.recording_files import LIVE_SEGMENTS, LIVE_TRANSCRIPT, MINUTES_CACHE
from transcripts import runtime as transcripts_runtime
from transcripts.cpu import available_threads, share_cores

if TYPE_CHECKING:
    from transcripts.llm import LocalLLM

log = logging.getLogger(__name__)

# Audio waiting for the worker, in seconds (16 kHz float32: 64 kB per second, so at most about 115 MB). Beyond it
# the worker is too far behind to be worth waiting for: the recording is transcribed from its files instead.
MAX_QUEUED_SECONDS = 1800.0
READ_AHEAD_EVERY = 120.0  # meeting seconds between two looks for finished parts
# Speech that started this long before the newest audio (beyond `max_delay`, or before the oldest window still
# waiting) is transcribed and final: the recorder hands an utterance over when it ends, and it cuts utterances at 30 s.
SETTLE_SECONDS = 45.0
WORKER_NICENESS = 5


@dataclass(frozen=True)
class LiveOptions:
    engine: str = "faster-whisper"
    model: str = "base"
    compute_type: str = "int8"
    language: str | None = "en"
    threads: int | None = None
    speakers: tuple[str, ...] = ()
    title: str | None = None
    agenda: tuple[str, ...] = ()
    group_name: str | None = None
    glossary: tuple[str, ...] = ()
    # A speaker's audio waits at most this long (meeting time) before it is transcribed: longer packs Whisper's
    # 30 s windows better, shorter shows the transcript sooner. A minute keeps both.
    max_delay: float | None = 60.0
    # Reading ahead for the minutes: the summary model and the meeting's date (both needed; None: no reading ahead).
    llm_model: str | None = None
    meeting_date: dt.date | None = None
    next_meeting: dt.date | None = None  # for "by the next meeting" (None: a week after `meeting_date`)
    runtime: transcripts_runtime.Runtime = field(default_factory=transcripts_runtime.current)  # the parent's

    @classmethod
    def from_settings(
        cls,
        settings,
        *,
        title: str | None = None,
        agenda=(),
        speakers=(),
        meeting_date: dt.date | None = None,
        next_meeting: dt.date | None = None,
    ) -> LiveOptions:
        m = settings.models
        # Leave one core to the bot and the recorder: the live transcriber must not starve the receive path.
        threads = m.threads or max(1, available_threads() - 1)
        return cls(
            m.whisper_engine,
            m.whisper_model,
            m.whisper_compute_type,
            m.language,
            threads,
            tuple(speakers),
            title,
            tuple(agenda),
            settings.group.name,
            tuple(settings.group.glossary),
            llm_model=m.llm_model,
            meeting_date=meeting_date,
            next_meeting=next_meeting,
        )

    @property
    def read_ahead_threads(self) -> int:
        """The read-ahead's threads while the call goes on: the cores the transcriber leaves. Both workers busy on a
        shared core would halve the transcriber's share and make each step of the model wait for its slower
        thread; once the call is over the read-ahead takes every core."""
        return max(1, available_threads() - (self.threads or available_threads()))

    @property
    def transcriber_workers(self) -> int:
        """Decodes of `threads` threads the transcriber has: one at a time during the call, side by side on every
        core for the last windows when it is over (one engine load: CTranslate2 fixes threads when it loads)."""
        return max(1, available_threads() // self.threads) if self.threads else 1

    def hints(self):
        from transcripts.types import Hints

        return Hints(
            title=self.title,
            agenda=list(self.agenda),
            speakers=list(self.speakers),
            group_name=self.group_name,
            glossary=list(self.glossary),
        )


class _ReadAhead:
    """The minutes' questions about the parts of the call that are over, asked while it goes on (see above)."""

    def __init__(self, folder: Path, options: LiveOptions) -> None:
        from transcripts.answer_cache import AnswerCache

        if options.meeting_date is None:
            raise ValueError("reading ahead for the minutes needs the meeting's date")
        self.options = options
        self.meeting_date: dt.date = options.meeting_date
        self.cache_path = folder / MINUTES_CACHE
        self.cache = AnswerCache(self.cache_path)
        self.segments: list = []
        self.next_look = READ_AHEAD_EVERY
        self.parts = 0
        self._llm: LocalLLM | None = None
        self._failed = False

    def forget(self, tracks: set[str], speakers: set[str]) -> None:
        """Someone opted out: the answers so far may quote them, so they are deleted and asked again without them."""
        from transcripts.answer_cache import AnswerCache

        self.segments = [s for s in self.segments if s.track not in tracks and s.speaker not in speakers]
        self.cache_path.unlink(missing_ok=True)
        self.cache = AnswerCache(self.cache_path)
        self.parts = 0
        self.next_look = 0.0  # ask again at the next audio

    def add(self, segments: list, now: float, final_before: float = math.inf) -> None:
        """`segments`: newly final ones; `now`: the meeting time of the newest audio; `final_before`: the meeting
        time before which all of it is transcribed (`IncrementalTranscriber.final_before`)."""
        self.segments.extend(segments)
        if self._failed or now < self.next_look:
            return
        self.next_look = now + READ_AHEAD_EVERY
        from transcripts.llm import own_llm
        from transcripts.minutes import read_ahead
        from transcripts.types import Transcript

        settled = min(now - (self.options.max_delay or 0.0), final_before) - SETTLE_SECONDS
        so_far = Transcript([s for s in self.segments if s.start < settled])
        try:
            self._llm = self._llm or own_llm(self.options.llm_model)
            self._llm.use_threads(self.options.read_ahead_threads)
            parts = read_ahead(
                so_far,
                meeting_date=self.meeting_date,
                cache=self.cache,
                hints=self.options.hints(),
                llm=self._llm,
                next_meeting=self.options.next_meeting,
            )
        except Exception:  # the minutes are then written after the call, as without reading ahead
            log.exception("reading ahead for the minutes failed; they will be written after the call")
            self._failed = True
            return
        if parts > self.parts:
            log.info("minutes: %d part(s) of the call read ahead", parts)
            self.parts = parts

    def conclude(self, transcript_file: Path) -> None:
        """The call is over and `transcript_file` holds all of it: ask what the pipeline's minutes will ask (the
        last parts), with the model this process already holds, so that the pipeline finds every answer in the
        cache and never loads the model's weights itself."""
        if self._failed or not transcript_file.exists():
            return  # the pipeline asks whatever is missing
        from transcripts.llm import own_llm
        from transcripts.minutes import make_minutes
        from transcripts.types import Transcript

        transcript = Transcript.from_dict(json.loads(transcript_file.read_text()))
        transcript, _ = optout.scrub_transcript(transcript, optout.load(transcript_file.parent))
        # As the pipeline will read it back from the tracker, with the transcript's speakers as its hints.
        transcript.segments = transcript.by_start()
        hints = dataclasses.replace(self.options.hints(), speakers=transcript.speakers)
        try:
            self._llm = self._llm or own_llm(self.options.llm_model)
            self._llm.use_threads(available_threads())  # the transcriber is done
            make_minutes(
                transcript,
                meeting_date=self.meeting_date,
                hints=hints,
                llm=self._llm,
                cache=self.cache,
                next_meeting=self.options.next_meeting,
            )
        except Exception:  # the pipeline asks them again
            log.exception("reading the end of the call for the minutes failed; they are written after the call")


def scrub_files(folder: Path, tracks: set[str], speakers: set[str]) -> None:
    """Remove the lines of these tracks/speakers from the live transcript files in `folder`, and delete the minutes'
    answers read ahead (they may quote them)."""

    def theirs(data: dict) -> bool:
        return data.get("track") in tracks or data.get("speaker") in speakers

    segments_file = folder / LIVE_SEGMENTS
    if segments_file.exists():
        kept = []
        for line in segments_file.read_text(encoding="utf-8").splitlines():
            try:
                if theirs(json.loads(line)):
                    continue
            except (ValueError, AttributeError):
                continue  # a torn line: it may be theirs
            kept.append(line + "\n")
        optout.write_private(segments_file, "".join(kept))
    live = folder / LIVE_TRANSCRIPT
    if live.exists():
        data = json.loads(live.read_text(encoding="utf-8"))
        data["segments"] = [seg for seg in data.get("segments", []) if not theirs(seg)]
        optout.write_private(live, json.dumps(data))
    (folder / MINUTES_CACHE).unlink(missing_ok=True)


def _open_private(path: Path):
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8")


def _worker_setup(options: LiveOptions) -> None:
    # Before any model runtime loads: the two workers share the cores with each other and with the bot.
    share_cores()
    transcripts_runtime.use(options.runtime)  # model folder and llama.cpp options, as in the parent
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def _reader(folder: str, options: LiveOptions, inbox: multiprocessing.Queue) -> None:
    """The read-ahead's process: ("add", segments, now), ("forget", tracks, speakers) and, once the transcript is
    written, ("conclude",), until None."""
    _worker_setup(options)
    ahead = _ReadAhead(Path(folder), options)
    while (item := inbox.get()) is not None:
        if item[0] == "forget":
            ahead.forget(*item[1:])
        elif item[0] == "conclude":
            ahead.conclude(Path(folder) / LIVE_TRANSCRIPT)
        else:
            ahead.add(*item[1:])


def _worker(
    folder: str,
    options: LiveOptions,
    inbox: multiprocessing.Queue,
    queued,
    reader: multiprocessing.Queue | None,
) -> None:
    from transcripts.incremental import IncrementalTranscriber

    _worker_setup(options)
    transcriber = IncrementalTranscriber(
        options.engine,
        options.model,
        compute_type=options.compute_type,
        language=options.language,
        threads=options.threads,
        workers=options.transcriber_workers,
        hints=options.hints(),
        max_delay=options.max_delay,
    )
    segments_file = Path(folder) / LIVE_SEGMENTS
    now = 0.0
    log_file = _open_private(segments_file)
    try:
        while True:
            item = inbox.get()
            if item is None:
                break
            if item[0] == "reader-gone":
                # it died: nothing more is handed to it, and nothing waits at exit to be
                if reader:
                    reader.cancel_join_thread()
                reader = None
                continue
            if item[0] == "forget":
                _, tracks, speakers = item
                for track in tracks:
                    transcriber.drop(track)
                log_file.close()
                scrub_files(Path(folder), tracks, speakers)
                log_file = _open_private(segments_file)
                if reader:
                    reader.put(("forget", tracks, speakers))
                continue
            _, track, speaker, samples, start = item
            with queued.get_lock():
                queued.value -= len(samples)
                backlog = queued.value / 16_000
            transcriber.keep_up(backlog)
            new = transcriber.feed(track, speaker, samples, start)
            for segment in new:
                log_file.write(json.dumps(segment.to_dict() | {"track": segment.track}) + "\n")
                log_file.flush()
            now = max(now, start + len(samples) / 16_000)
            if reader:
                reader.put(("add", new, now, transcriber.final_before))
        transcript = transcriber.finish()
    finally:
        log_file.close()
    optout.write_private(Path(folder) / LIVE_TRANSCRIPT, json.dumps(transcript.to_dict()))


class LiveTranscription:
    """One meeting's live transcriber process. `submit` is the recorder's `on_utterance` callback."""

    def __init__(self, folder: Path, options: LiveOptions, *, max_queued_seconds: float = MAX_QUEUED_SECONDS) -> None:
        self.folder = Path(folder)
        (self.folder / LIVE_TRANSCRIPT).unlink(missing_ok=True)  # a restart: the old result no longer covers it
        # A recording resumed after a crash: what was said before it is not in this worker's transcript, so it could
        # only produce an incomplete one. The recording is transcribed from its files after the call instead.
        self.resumed = (self.folder / LIVE_SEGMENTS).exists()
        context = multiprocessing.get_context("spawn")
        self._inbox = context.Queue()
        # At exit, never wait to hand queued audio to a worker that is gone (killed, crashed, aborted): it would
        # wait forever. The worker reads everything before the end-of-call marker while it lives (`finish`).
        self._inbox.cancel_join_thread()
        self._queued = context.Value("q", 0)  # samples submitted and not yet taken by the worker
        self._max_queued = int(max_queued_seconds * 16_000)
        reads_ahead = bool(options.llm_model and options.meeting_date)
        self._reader_inbox = context.Queue() if reads_ahead else None
        if self._reader_inbox is not None:
            self._reader_inbox.cancel_join_thread()  # as `_inbox`: the end marker is all this process puts there
        self._reader_gone = False
        self._process = context.Process(
            target=_worker,
            args=(str(folder), options, self._inbox, self._queued, self._reader_inbox),
            name="wgbot-live-transcription",
            daemon=True,
        )
        self._reader = (
            context.Process(
                target=_reader,
                args=(str(folder), options, self._reader_inbox),
                name="wgbot-live-read-ahead",
                daemon=True,
            )
            if reads_ahead
            else None
        )
        self.lost = 0  # utterances that could not be queued
        self.submitted = 0
        self._tracks: dict[int, set[str]] = {}  # user id -> their track stems
        self._speakers: dict[int, set[str]] = {}
        self.forgotten: set[int] = set()
        self._scrub_lock = threading.Lock()

    def start(self) -> None:
        if self.resumed:
            log.info("%s: resumed recording; it will be transcribed from its files after the call", self.folder.name)
            return
        self._process.start()
        if self._reader:
            self._reader.start()

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids (the transcriber's first)."""
        return [p.pid for p in (self._process, self._reader) if p is not None and p.pid is not None]

    def submit(self, user_id: int, speaker: str, track_file: Path, start: float, pcm16k: np.ndarray) -> None:
        if user_id in self.forgotten or self.lost or self.resumed:
            return  # opted out; or incomplete already: the pipeline will transcribe the files
        self._check_reader()
        samples = np.asarray(pcm16k, dtype=np.float32)
        track = Path(track_file).stem
        self._tracks.setdefault(user_id, set()).add(track)
        self._speakers.setdefault(user_id, set()).add(speaker)
        with self._queued.get_lock():
            if self._queued.value + len(samples) > self._max_queued:
                full = True
            else:
                self._queued.value += len(samples)
                full = False
        if full:
            self.lost += 1
            log.warning(
                "live transcription is more than %.0f s of audio behind: it stops, and the recording will be "
                "transcribed from its files after the call",
                self._max_queued / 16_000,
            )
            self.abort()
            return
        self._inbox.put(("audio", track, speaker, samples, start))
        self.submitted += 1

    def forget(self, user_id: int, speaker: str | None = None) -> None:
        """`user_id` opted out: nothing of them is kept or transcribed from now on, and what the worker has of them
        (waiting audio, lines, answers read ahead) is removed before the next utterance is transcribed."""
        self.forgotten.add(user_id)
        tracks = set(self._tracks.get(user_id, ()))
        speakers = set(self._speakers.get(user_id, ())) | ({speaker} if speaker else set())
        optout.record(self.folder, user_id, speakers=speakers, tracks=tracks)
        if self._process.is_alive():
            self._inbox.put(("forget", tracks, speakers))
        else:
            self._scrub()

    def _scrub(self) -> None:
        """With no worker running: remove the forgotten people from the files it left."""
        with self._scrub_lock:
            tracks = {t for uid in self.forgotten for t in self._tracks.get(uid, ())}
            speakers = {s for uid in self.forgotten for s in self._speakers.get(uid, ())}
            if tracks or speakers:
                scrub_files(self.folder, tracks, speakers)

    def finish(self, timeout: float = 600.0) -> bool:
        """Let the worker transcribe the tail and write the result. True if `transcript.live.json` is complete."""
        try:
            if not self._process.is_alive():
                return False
            if self.lost:
                self.abort()
                return False
            self._check_reader()
            self._inbox.put(None)
            self._process.join(timeout)
            if self._reader_inbox is not None and not self._process.is_alive():
                # After everything the transcriber handed it: the answer under way belongs to the minutes, and so
                # do the last parts' answers, asked with the model the reader already holds.
                if self._process.exitcode == 0:
                    self._reader_inbox.put(("conclude",))
                self._reader_inbox.put(None)
                self._stop_reader(timeout)
            if self._process.is_alive():
                log.warning(
                    "live transcription did not finish in %.0f s; the recording will be transcribed again", timeout
                )
                self.abort()
                (self.folder / LIVE_TRANSCRIPT).unlink(missing_ok=True)
                return False
            return self._process.exitcode == 0 and (self.folder / LIVE_TRANSCRIPT).exists()
        finally:
            self._stop_reader(0.0)  # whatever happened, it never outlives the call (nor holds its model on)
            if self.forgotten and not self._process.is_alive():
                self._scrub()  # an opt-out that arrived while the worker was ending

    def _check_reader(self) -> None:
        """A read-ahead process that died (out of memory, a crash) is reported once, and the transcriber stops
        handing it segments (or it would wait for it at exit). The minutes are then written after the call."""
        if self._reader is None or self._reader_gone or self._reader.exitcode is None:
            return
        self._reader_gone = True
        log.warning(
            "reading ahead for the minutes stopped (exit code %s); they are written after the call",
            self._reader.exitcode,
        )
        if self._process.is_alive():
            self._inbox.put(("reader-gone",))

    def _stop_reader(self, wait: float) -> None:
        """Give the read-ahead process `wait` seconds to end, then end it (the pipeline asks what it did not)."""
        if self._reader is None or not self._reader.is_alive():
            return
        self._reader.join(wait)
        if self._reader.is_alive():
            if wait:
                log.warning("reading ahead did not finish in %.0f s; the minutes ask the rest", wait)
            self._reader.terminate()
            self._reader.join(10)

    def abort(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(10)
        self._stop_reader(0.0)
        if self.forgotten:
            self._scrub()
