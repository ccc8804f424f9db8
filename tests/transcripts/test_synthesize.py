"""The synthesized meetings the tests, the benchmark and the demo stand on: tracks, manifest and tight truth."""

from __future__ import annotations

import numpy as np

from transcripts.audio import SAMPLE_RATE, read_audio
from transcripts.recording import read_recording
from transcripts.synthesize import ScriptLine, mix_down, synthesize_meeting


def _level(audio: np.ndarray, start: float, end: float) -> float:
    a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    return float(np.sqrt(np.mean(audio[a:b] ** 2))) if b > a else 0.0


def test_tracks_hold_each_speaker_exactly_when_the_truth_says(synthesized_meeting):
    meeting = synthesized_meeting
    recording = read_recording(meeting.folder)
    assert recording.speakers == meeting.speakers == ["Alice", "Jeshli", "Bob", "Carol"]
    assert recording.started_at == meeting.started_at
    assert len(set(meeting.voices.values())) == 4
    for speaker, path in meeting.tracks.items():
        audio = read_audio(path)
        assert abs(len(audio) / SAMPLE_RATE - meeting.duration) < 0.05
        for line in meeting.lines:
            inside = _level(audio, line.start + 0.05, line.end - 0.05)
            edges = max(
                _level(audio, line.start - 0.3, line.start - 0.02), _level(audio, line.end + 0.02, line.end + 0.3)
            )
            if line.speaker == speaker:
                assert inside > 0.03 and edges < 0.012, (speaker, line.text)  # tight: silence right outside
            else:
                assert inside < 0.012  # only the noise floor while others talk
    # lines follow one another with the default pause
    for a, b in zip(meeting.lines, meeting.lines[1:]):
        assert abs(b.start - a.end - 0.8) < 0.01
    assert meeting.silences(min_length=0.9) == [(0.0, meeting.lines[0].start)] + [
        (meeting.lines[-1].end, meeting.duration)
    ]


def test_overlapping_lines_offsets_formats_and_mix_down(tmp_path):
    lines = [
        ScriptLine("Ann", "Shall we start with the release?"),
        ScriptLine("Ben", "Yes, let us start.", at=1.2),  # talks over Ann
        ScriptLine("Ann", "Good."),
    ]
    meeting = synthesize_meeting(lines, tmp_path, fmt="wav", offsets=True, pause=(0.5, 1.5), seed=3)
    ann, ben, ann2 = meeting.lines
    assert ben.start == pytest_approx(1.2) and ben.start < ann.end  # overlap kept
    assert 0.5 <= ann2.start - max(ann.end, ben.end) <= 1.5
    recording = read_recording(tmp_path)
    offsets = {t.speaker: t.parts[0].offset for t in recording.tracks}
    assert offsets["Ann"] == 0.0 and abs(offsets["Ben"] - 0.2) < 0.001  # a file begins a second before its speech
    ben_audio = read_audio(meeting.tracks["Ben"])
    assert _level(ben_audio, ben.start - offsets["Ben"] + 0.05, ben.end - offsets["Ben"] - 0.05) > 0.03
    mixed = read_audio(mix_down(meeting, tmp_path / "mixed.flac"))
    assert abs(len(mixed) / SAMPLE_RATE - meeting.duration) < 0.05
    assert _level(mixed, ann2.start + 0.05, ann2.end - 0.05) > 0.03


def pytest_approx(value):
    import pytest

    return pytest.approx(value, abs=1e-3)


def test_rendering_is_cached(tmp_path, monkeypatch):
    import transcripts.synthesize as synth

    lines = [ScriptLine("Ann", "A sentence that is rendered twice, the second time from the cache.")]
    first = synthesize_meeting(lines, tmp_path / "a")

    def no_espeak(*args, **kwargs):
        raise AssertionError("espeak-ng was run again for a cached line")

    monkeypatch.setattr(synth.subprocess, "run", no_espeak)
    second = synthesize_meeting(lines, tmp_path / "b")
    assert (tmp_path / "b" / "ann.ogg").exists() and (tmp_path / "b" / "manifest.json").exists()
    assert second.lines[0].end == first.lines[0].end


def test_festival_voices_and_sox_variants_speak_as_distinct_speakers(tmp_path, tiny_engine):
    """The second speech engine of the evaluation corpus: festival voices, and sox's pitch and tempo on them."""
    import pytest

    from transcripts.synthesize import ESPEAK_RATE, SynthesisError, render_line
    from transcripts.transcribe import transcribe_recording
    from transcripts.wer import word_error_rate

    text = "Jeshli, could you share the slides from the benchmark tomorrow?"
    plain = render_line(text, "festival:kal_diphone")
    slower_lower = render_line(text, "festival:kal_diphone@-300,0.9")
    assert 1.5 < len(plain) / ESPEAK_RATE < 8 and np.abs(plain).max() < 1.0  # normalized, not clipped
    assert len(slower_lower) > len(plain) * 1.05  # tempo 0.9: longer
    with pytest.raises(SynthesisError, match="unknown festival voice"):
        render_line(text, "festival:no_such_voice")
    lines = [
        ScriptLine("Alice", text, voice="festival:cmu_us_slt_arctic_hts"),
        ScriptLine("Bob", "Sure, I will share the slides tomorrow morning.", voice="festival:ked_diphone@200,1.05"),
    ]
    meeting = synthesize_meeting(lines, tmp_path, noise=0.003)
    transcript = transcribe_recording(tmp_path, engine=tiny_engine)
    assert transcript.speakers == ["Alice", "Bob"]
    hypothesis = " ".join(s.text for s in transcript.segments)
    assert word_error_rate(meeting.text(), hypothesis) <= 0.2, hypothesis
