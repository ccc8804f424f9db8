"""Transcribing during the call: the recorder feeds closed utterances; the result equals the batch result."""

from __future__ import annotations

import threading

import numpy as np

from transcripts.audio import SAMPLE_RATE, read_audio
from transcripts.incremental import CATCH_UP_FROM, CAUGHT_UP_AT, IncrementalTranscriber
from transcripts.synthesize import demo_hints
from transcripts.wer import word_error_rate


def _utterances(meeting):
    """What the recorder hands over: each line's audio with a little silence around it, in time order."""
    tracks = {speaker: read_audio(path) for speaker, path in meeting.tracks.items()}
    for line in sorted(meeting.lines, key=lambda l: l.start):
        audio = tracks[line.speaker]
        a = max(0, int((line.start - 0.3) * SAMPLE_RATE))
        b = min(audio.size, int((line.end + 0.3) * SAMPLE_RATE))
        yield meeting.tracks[line.speaker].name, line.speaker, audio[a:b], a / SAMPLE_RATE


def test_fed_utterances_give_the_batch_transcript(synthesized_meeting, tiny_engine, tiny_transcript):
    batch, _ = tiny_transcript
    transcriber = IncrementalTranscriber(tiny_engine, hints=demo_hints(), started_at=synthesized_meeting.started_at)
    early = []
    for track, speaker, samples, start in _utterances(synthesized_meeting):
        early += transcriber.feed(track, speaker, samples, start)
    live = transcriber.finish()
    assert all(any(e is s for s in live.segments) for e in early)  # what feed() gave is in the transcript
    assert [s.speaker for s in live.segments] == [s.speaker for s in batch.segments]
    for a, b in zip(live.segments, batch.segments):
        assert abs(a.start - b.start) < 0.25 and abs(a.end - b.end) < 0.25
    live_wer = word_error_rate(synthesized_meeting.text(), " ".join(s.text for s in live.segments))
    batch_wer = word_error_rate(synthesized_meeting.text(), " ".join(s.text for s in batch.segments))
    assert live_wer <= batch_wer + 0.02, (live_wer, batch_wer)
    assert live.started_at == synthesized_meeting.started_at and not live.warnings


def test_max_delay_hands_segments_over_during_the_call(synthesized_meeting, tiny_engine):
    transcriber = IncrementalTranscriber(tiny_engine, hints=demo_hints(), max_delay=10.0)
    delivered = []  # (meeting time of the feed, segment)
    for track, speaker, samples, start in _utterances(synthesized_meeting):
        now = start + samples.size / SAMPLE_RATE
        delivered += [(now, seg) for seg in transcriber.feed(track, speaker, samples, start)]
    transcript = transcriber.finish()
    assert len(delivered) >= len(transcript.segments) // 2  # most arrive before the end
    assert all(now - seg.start < 10.0 + 8.0 for now, seg in delivered)  # max_delay, plus one utterance
    assert word_error_rate(synthesized_meeting.text(), " ".join(s.text for s in transcript.segments)) <= 0.15


def test_silence_fed_gives_nothing_and_a_warning(tiny_engine):
    transcriber = IncrementalTranscriber(tiny_engine)
    assert transcriber.feed("bob.ogg", "Bob", np.zeros(SAMPLE_RATE * 5, np.float32), 3.0) == []
    transcript = transcriber.finish()
    assert transcript.segments == [] and transcript.warnings == ["bob.ogg: no speech found"]
    assert transcript.duration == 8.0


def test_a_transcriber_far_behind_decodes_greedily_until_it_has_caught_up(
    synthesized_meeting, tiny_engine, monkeypatch
):
    phase, beams = "behind", []
    decode = tiny_engine.transcribe_many

    def recorded(audios, options):
        beams.append((phase, options.beam_size))
        return decode(audios, options)

    monkeypatch.setattr(tiny_engine, "transcribe_many", recorded)
    transcriber = IncrementalTranscriber(tiny_engine, hints=demo_hints(), max_delay=5.0)
    utterances = list(_utterances(synthesized_meeting))
    third = len(utterances) // 3
    for i, (track, speaker, samples, start) in enumerate(utterances):
        phase, backlog = ("behind", CATCH_UP_FROM) if i < third else ("catching up", CAUGHT_UP_AT + 1)
        if i >= 2 * third:
            phase, backlog = "caught up", CAUGHT_UP_AT
        transcriber.keep_up(backlog)
        transcriber.feed(track, speaker, samples, start)
    transcript = transcriber.finish()
    used = {p: {beam for q, beam in beams if q == p} for p in ("behind", "catching up", "caught up")}
    assert used == {"behind": {1}, "catching up": {1}, "caught up": {5}}, beams
    assert word_error_rate(synthesized_meeting.text(), " ".join(s.text for s in transcript.segments)) <= 0.15


def test_catching_up_lets_windows_fill_for_longer_and_says_what_is_not_transcribed_yet(
    synthesized_meeting, tiny_engine
):
    track, speaker, speech, _ = next(_utterances(synthesized_meeting))
    quiet = np.zeros(SAMPLE_RATE, np.float32)  # another speaker's track: it moves the meeting clock only
    normal, behind = (IncrementalTranscriber(tiny_engine, hints=demo_hints(), max_delay=10.0) for _ in range(2))
    behind.keep_up(CATCH_UP_FROM)
    for transcriber in (normal, behind):
        transcriber.feed(track, speaker, speech, 0.0)
        assert transcriber.final_before < 1.0  # the window waits
    assert normal.feed("other.ogg", "Other", quiet, 12.0)  # 13 s on, more than max_delay: transcribed
    assert normal.final_before == 13.0
    assert behind.feed("other.ogg", "Other", quiet, 12.0) == []  # catching up, it may wait longer ...
    assert behind.final_before < 1.0
    assert behind.feed("other.ogg", "Other", quiet, 40.0)  # ... but not for ever
    assert behind.final_before == 41.0


def test_at_the_end_the_last_windows_are_decoded_on_every_worker_with_the_words_one_worker_gives(
    synthesized_meeting, tiny_engine
):
    """During the call the transcriber leaves the other cores to the read-ahead, one decode at a time; the call over,
    each speaker's last window is waiting, and they are shared out over both workers of the one engine load."""
    one = IncrementalTranscriber(tiny_engine, hints=demo_hints())
    two = IncrementalTranscriber("faster-whisper", "tiny.en", threads=1, workers=2, hints=demo_hints())
    assert (two.engine.threads, two.engine.workers) == (2, 2)
    decodes = []  # (thread, windows) of each engine call
    real = two.engine.transcribe_many

    def spy(audios, options):
        decodes.append((threading.get_ident(), len(audios)))
        return real(audios, options)

    two.engine.transcribe_many = spy
    utterances = list(_utterances(synthesized_meeting))
    for i, (track, speaker, samples, start) in enumerate(utterances):
        if i == len(utterances) // 2:  # mid-call: what waits is decoded now, in the caller's thread
            one.flush(), two.flush()
        one.feed(track, speaker, samples, start)
        two.feed(track, speaker, samples, start)
    during = len(decodes)
    assert during and {thread for thread, _ in decodes} == {threading.get_ident()}
    a, b = one.finish(), two.finish()
    at_the_end = decodes[during:]
    assert len({thread for thread, _ in at_the_end}) == 2 and sum(n for _, n in at_the_end) >= 2
    assert [(s.speaker, s.text, s.start) for s in b.segments] == [(s.speaker, s.text, s.start) for s in a.segments]
