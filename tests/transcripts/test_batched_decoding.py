"""Windows decoded together: the same words as decoded alone, in fewer engine calls, and errors still surface."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from transcripts.audio import read_audio
from transcripts.engines import DecodeOptions, Engine, EngineSegment, load_engine
from transcripts.errors import EngineError
from transcripts.synthesize import demo_hints
from transcripts.transcribe import transcribe_recording
from transcripts.vocabulary import build_prompt

from .test_transcribe import drone_track

RATE = 16_000


def _as_tuples(segments: list[EngineSegment]):
    return [
        (s.text, round(s.start, 2), round(s.end, 2), [(w.text, round(w.start, 2), round(w.end, 2)) for w in s.words])
        for s in segments
    ]


@pytest.mark.parametrize("fallback", [False, True], ids=["first-decode", "every-decode-falls-back"])
def test_windows_decoded_together_are_what_each_gives_alone(synthesized_meeting, tiny_engine, fallback):
    """Speech of three speakers, a drone, digital silence and an empty window, in one batch: each window's segments,
    words and times are those of its decode alone. With a log-probability bar no decode passes, every window with
    sound goes through Whisper's temperature fallback, which samples."""
    windows = []
    for speaker in synthesized_meeting.speakers[:3]:  # 25 s of each from just before their first line
        first = min(line.start for line in synthesized_meeting.lines if line.speaker == speaker)
        start = int(max(first - 0.5, 0.0) * RATE)
        windows.append(read_audio(synthesized_meeting.tracks[speaker])[start : start + 25 * RATE])
    windows += [drone_track(28.0), np.zeros(10 * RATE, np.float32), np.zeros(0, np.float32)]
    options = DecodeOptions(prompt=build_prompt(demo_hints(), synthesized_meeting.speakers))
    if fallback:
        options.log_prob_threshold = 0.0

    together = tiny_engine.transcribe_many(windows, options)
    alone = [tiny_engine.transcribe(window, options) for window in windows]

    assert len(together) == len(windows)
    assert [_as_tuples(s) for s in together] == [_as_tuples(s) for s in alone]
    assert all(together[:3]), "the speech windows have words"
    assert together[-1] == [] and together[-2] == []
    for batch, single in zip(together, alone):
        for a, b in zip(batch, single):
            assert a.avg_logprob == pytest.approx(b.avg_logprob, abs=1e-3)
            assert a.temperature == b.temperature
    if fallback:
        assert all(s.temperature > 0 for segments in together[:3] for s in segments)


class _Counting(Engine):
    """A real engine that records how many windows each call to it decoded (or fails every call). With `meet`,
    its first two calls each wait until the other has started: they must be under way at once."""

    name = "counting"

    def __init__(self, inner: Engine, fail: bool = False, meet: bool = False):
        super().__init__(inner.model, inner.compute_type, inner.threads, inner.workers)
        self.inner = inner
        self.fail = fail
        self.calls: list[int] = []
        self._meeting_point = threading.Barrier(2, timeout=60) if meet else None

    @property
    def multilingual(self) -> bool:
        return self.inner.multilingual

    def transcribe(self, audio, options):
        return self.transcribe_many([audio], options)[0]

    def transcribe_many(self, audios, options):
        self.calls.append(len(audios))
        if self._meeting_point is not None and len(self.calls) <= 2:
            self._meeting_point.wait()  # broken (an error) when the second call never comes while this one waits
        if self.fail:
            raise EngineError("the engine failed")
        return self.inner.transcribe_many(audios, options)

    def detect_language(self, audio):
        return self.inner.detect_language(audio)


def test_a_recording_is_decoded_in_batches_and_reads_as_decoded_one_window_at_a_time(synthesized_meeting, tiny_engine):
    batched, single = _Counting(tiny_engine), _Counting(tiny_engine)
    together = transcribe_recording(synthesized_meeting.folder, hints=demo_hints(), engine=batched, batch_windows=4)
    one_by_one = transcribe_recording(synthesized_meeting.folder, hints=demo_hints(), engine=single, batch_windows=1)

    assert set(single.calls) == {1}
    assert max(batched.calls) == 4 and len(batched.calls) < len(single.calls)
    assert sum(batched.calls) == sum(single.calls)  # the same windows (and rests of windows) were decoded
    # each speaker's track packs into fewer than four windows: a batch of four holds several speakers' windows
    assert len(single.calls) < 4 * len(synthesized_meeting.speakers)

    def rows(transcript):
        return [(s.speaker, s.start, s.end, s.text) for s in transcript.segments]

    assert rows(together) == rows(one_by_one)
    assert together.warnings == one_by_one.warnings


def test_two_engine_workers_decode_two_batches_at_once_with_the_same_words(synthesized_meeting, tiny_engine):
    """How a recording is transcribed by default: the engine's two workers, on one thread each, decode two batches
    side by side. The transcript is the one a single worker on both threads gives."""
    two = load_engine("faster-whisper", "tiny.en", "int8", threads=2, workers=2)
    assert two.workers == 2 and two is not tiny_engine
    side_by_side, single = _Counting(two, meet=True), _Counting(tiny_engine)
    together = transcribe_recording(
        synthesized_meeting.folder, hints=demo_hints(), engine=side_by_side, batch_windows=2
    )
    alone = transcribe_recording(synthesized_meeting.folder, hints=demo_hints(), engine=single, batch_windows=2)

    assert set(side_by_side.calls) == {1}  # two windows under way, one for each worker
    assert max(single.calls) == 2
    assert [(s.speaker, s.start, s.end, s.text) for s in together.segments] == [
        (s.speaker, s.start, s.end, s.text) for s in alone.segments
    ]
    assert together.warnings == alone.warnings


def test_a_failed_batch_is_raised_by_the_transcription(synthesized_meeting, tiny_engine):
    """The batch decodes in a background thread; its error must reach the caller, not vanish with the thread."""
    failing = _Counting(tiny_engine, fail=True)
    with pytest.raises(EngineError, match="the engine failed"):
        transcribe_recording(synthesized_meeting.folder, hints=demo_hints(), engine=failing, batch_windows=2)
    assert failing.calls
