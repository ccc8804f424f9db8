"""Live transcription during the call, in a worker process: the recorder hands over each closed utterance and the
transcript grows while people talk, so little is left to do when the call ends.

The recorder's `on_utterance(user_id, speaker, track_file, start, pcm16k)` callback is `LiveTranscription.submit`:
it only puts the audio on a queue (never blocking the bot's event loop or the receive path). The worker process
runs `transcripts.incremental.IncrementalTranscriber`, appends each final segment to `transcript.live.jsonl` in the
recording folder as it comes (crash-safe: a line per segment), and at the end writes `transcript.live.json`, which
the pipeline's transcribe step takes instead of transcribing the recording again. If any utterance was lost (the
queue overflowed, the worker died), no `transcript.live.json` is written and the pipeline transcribes the
recording files: the live path is an optimization, never the only copy.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import queue
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker.pipeline import LIVE_TRANSCRIPT

log = logging.getLogger(__name__)

LIVE_SEGMENTS = "transcript.live.jsonl"
MAX_QUEUED = 2000  # utterances; at ~5 s each that is hours of backlog before anything is dropped


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

    @classmethod
    def from_settings(cls, settings, *, title: str | None = None, agenda=(), speakers=()) -> LiveOptions:
        m = settings.models
        # Leave one core to the bot and the recorder: the live transcriber must not starve the receive path.
        threads = m.threads or max(1, (os.cpu_count() or 2) - 1)
        return cls(m.whisper_engine, m.whisper_model, m.whisper_compute_type, m.language, threads, tuple(speakers),
                   title, tuple(agenda), settings.group.name, tuple(settings.group.glossary))


def _worker(folder: str, options: LiveOptions, inbox: multiprocessing.Queue, outbox: multiprocessing.Queue) -> None:
    from transcripts.incremental import IncrementalTranscriber
    from transcripts.types import Hints

    hints = Hints(title=options.title, agenda=list(options.agenda), speakers=list(options.speakers),
                  group_name=options.group_name, glossary=list(options.glossary))
    transcriber = IncrementalTranscriber(options.engine, options.model, compute_type=options.compute_type,
                                         language=options.language, threads=options.threads, hints=hints,
                                         max_delay=options.max_delay)
    outbox.put(("ready", None))
    segments_file = Path(folder) / LIVE_SEGMENTS
    with open(segments_file, "a", encoding="utf-8") as log_file:
        while True:
            item = inbox.get()
            if item is None:
                break
            track, speaker, samples, start = item
            for segment in transcriber.feed(track, speaker, samples, start):
                log_file.write(json.dumps(segment.to_dict() | {"track": segment.track}) + "\n")
                log_file.flush()
            outbox.put(("fed", start))
        transcript = transcriber.finish()
    target = Path(folder) / LIVE_TRANSCRIPT
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(transcript.to_dict()))
    os.replace(tmp, target)
    outbox.put(("done", len(transcript.segments)))


class LiveTranscription:
    """One meeting's live transcriber process. `submit` is the recorder's `on_utterance` callback."""

    def __init__(self, folder: Path, options: LiveOptions) -> None:
        self.folder = Path(folder)
        (self.folder / LIVE_TRANSCRIPT).unlink(missing_ok=True)  # a restart: the old result no longer covers it
        context = multiprocessing.get_context("spawn")
        self._inbox = context.Queue(MAX_QUEUED)
        self._outbox = context.Queue()
        self._process = context.Process(target=_worker, args=(str(folder), options, self._inbox, self._outbox),
                                        name="wgbot-live-transcription", daemon=True)
        self.lost = 0  # utterances that could not be queued
        self.submitted = 0

    def start(self) -> None:
        self._process.start()

    def submit(self, user_id: int, speaker: str, track_file: Path, start: float, pcm16k: np.ndarray) -> None:
        if self.lost:
            return  # incomplete already: the pipeline will transcribe the files
        try:
            self._inbox.put_nowait((Path(track_file).stem, speaker, np.asarray(pcm16k, dtype=np.float32), start))
            self.submitted += 1
        except queue.Full:
            self.lost += 1
            log.warning("live transcription is behind; the recording will be transcribed after the call instead")

    def finish(self, timeout: float = 600.0) -> bool:
        """Let the worker transcribe the tail and write the result. True if `transcript.live.json` is complete."""
        if not self._process.is_alive():
            return False
        if self.lost:
            self._process.terminate()
            self._process.join(10)
            return False
        self._inbox.put(None)
        self._process.join(timeout)
        if self._process.is_alive():
            log.warning("live transcription did not finish in %.0f s; the recording will be transcribed again", timeout)
            self._process.terminate()
            self._process.join(10)
            (self.folder / LIVE_TRANSCRIPT).unlink(missing_ok=True)
            return False
        return self._process.exitcode == 0 and (self.folder / LIVE_TRANSCRIPT).exists()

    def abort(self) -> None:
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(10)
