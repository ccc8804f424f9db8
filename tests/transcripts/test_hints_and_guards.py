"""Vocabulary hints reach Whisper, and the hallucination guards judge segments by the evidence."""

from __future__ import annotations

import numpy as np

from transcripts.engines import DecodeOptions, EngineSegment, EngineWord
from transcripts.synthesize import ScriptLine, synthesize_meeting
from transcripts.transcribe import transcribe_recording
from transcripts.types import Hints
from transcripts.utterances import KNOWN_HALLUCINATIONS, rejection_reason
from transcripts.vad import SpeechRegion
from transcripts.vocabulary import build_prompt
from transcripts.windows import Window


def test_prompt_names_everything_and_keeps_its_end_when_too_long():
    hints = Hints(
        title="Weekly meeting",
        group_name="Search working group",
        agenda=["HNSW tuning", "release"],
        glossary=["SIMD", "HNSW"],
        speakers=["Jeshli"],
    )
    prompt = build_prompt(hints, ["Alice", "jeshli"])
    assert prompt == (
        "Search working group, Weekly meeting. HNSW tuning and release. SIMD, HNSW. With Jeshli and Alice."
    )
    long = build_prompt(Hints(agenda=[f"topic number {i}" for i in range(100)], speakers=["Jeshli"]))
    assert len(long) <= 600 and long.endswith("With Jeshli.")
    assert build_prompt(None) is None


def test_hints_spell_names_and_jargon(tmp_path, tiny_engine):
    lines = [ScriptLine("Alice", "Jeshli will profile the HNSW graph with Valgrind tomorrow.", voice="en-gb-x-rp")]
    synthesize_meeting(lines, tmp_path)
    plain = " ".join(s.text for s in transcribe_recording(tmp_path, engine=tiny_engine).segments)
    hinted = transcribe_recording(
        tmp_path, engine=tiny_engine, hints=Hints(speakers=["Jeshli"], glossary=["HNSW", "Valgrind"])
    )
    text = " ".join(s.text for s in hinted.segments)
    assert "Jeshli" in text and "HNSW" in text and "Valgrind" in text, text
    assert not ("Jeshli" in plain and "HNSW" in plain and "Valgrind" in plain), plain  # the hints made it


def _window(probability: float, seconds: float = 2.0) -> Window:
    window = Window()
    window.add(SpeechRegion(0.0, seconds, 0.2, seconds - 0.2, np.zeros(int(seconds * 16_000), np.float32), probability))
    return window


def _segment(text: str, no_speech: float = 0.01, word_prob: float = 0.9, compression: float = 1.2) -> EngineSegment:
    words = text.split()
    step = 1.5 / max(len(words), 1)
    return EngineSegment(
        start=0.2,
        end=1.7,
        text=" " + text,
        words=[EngineWord(0.2 + i * step, 0.2 + (i + 1) * step, " " + w, word_prob) for i, w in enumerate(words)],
        no_speech_prob=no_speech,
        avg_logprob=-0.3,
        compression_ratio=compression,
    )


def test_guards_drop_invented_text_but_keep_speech():
    options = DecodeOptions()
    sure, doubtful = _window(0.92), _window(0.5)
    prompt = frozenset(["search", "working", "group", "simd", "hnsw", "with", "alice", "and", "bob"])
    # confident speech stays, even when it is a polite phrase or uses the prompt's words
    assert rejection_reason(_segment("Thank you."), sure, options, prompt) is None
    assert rejection_reason(_segment("HNSW and SIMD."), sure, options, prompt) is None
    assert rejection_reason(_segment("The release is on Friday."), doubtful, options, prompt) is None
    # little evidence: the detector half believes it and Whisper doubts it
    assert "evidence" in rejection_reason(_segment("The release is on Friday.", no_speech=0.7), doubtful, options)
    for phrase in KNOWN_HALLUCINATIONS:
        assert "hallucination" in rejection_reason(_segment(phrase, word_prob=0.5), sure, options), phrase
    assert "prompt" in rejection_reason(_segment("Search working group.", no_speech=0.35), sure, options, prompt)
    assert "repetitive" in rejection_reason(_segment("go " * 30, compression=3.1), sure, options)
    loop = "We will ship on Friday. " * 3  # Whisper stuck on one sentence, however sure of its words
    assert "repetitive" in rejection_reason(_segment(loop, compression=2.8), _window(0.92, 12.0), options)
    status = "The build server is fine. The nightly build is fine. The test suite is fine. We move the build."
    assert rejection_reason(_segment(status, compression=2.6, no_speech=0.33), _window(0.92, 12.0), options) is None
    assert "repetitive" in rejection_reason(
        _segment(status, compression=2.6, word_prob=0.5), _window(0.92, 12.0), options
    )
    assert rejection_reason(_segment("no no no no"), sure, options) is None  # said, and heard clearly
    assert "repeated" in rejection_reason(_segment("sorry sorry sorry sorry", word_prob=0.55), sure, options)
    assert "repeated" in rejection_reason(_segment("sorry " * 8), sure, options)
    assert "words in" in rejection_reason(
        _segment("one two three four five six seven eight nine ten eleven twelve thirteen"),
        _window(0.9, seconds=2.0),
        options,
    )
    assert rejection_reason(_segment("[Music]"), sure, options) == "no words"
