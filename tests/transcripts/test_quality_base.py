"""The default model (base, int8) on the demo meeting: word error rate against the script, with the hints."""

from __future__ import annotations

from transcripts.engines import load_engine
from transcripts.synthesize import demo_hints
from transcripts.transcribe import transcribe_recording
from transcripts.wer import word_error_rate

from .test_transcribe import _check_against_truth


def test_base_int8_meets_the_quality_target(synthesized_meeting):
    engine = load_engine("faster-whisper", "base", "int8", threads=2)
    transcript = transcribe_recording(synthesized_meeting.folder, hints=demo_hints(), engine=engine)
    hypothesis = " ".join(s.text for s in transcript.segments)
    wer = word_error_rate(synthesized_meeting.text(), hypothesis)
    assert wer <= 0.08, f"WER {wer:.3f}: {hypothesis}"
    _check_against_truth(transcript, synthesized_meeting.lines)


def test_base_detects_english_when_asked_to(synthesized_meeting):
    engine = load_engine("faster-whisper", "base", "int8", threads=2)
    from transcripts.audio import read_audio

    audio = read_audio(synthesized_meeting.tracks["Carol"])
    line = next(l for l in synthesized_meeting.lines if l.speaker == "Carol")
    language, probability = engine.detect_language(audio[int(line.start * 16_000) : int(line.end * 16_000)])
    assert language == "en" and probability > 0.5
