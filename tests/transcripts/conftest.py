"""Fixtures of the transcripts tests: the real Whisper models (loaded once) and the demo meeting transcribed once."""

from __future__ import annotations

import pytest

from transcripts.engines import load_engine
from transcripts.synthesize import demo_hints
from transcripts.transcribe import transcribe_recording


@pytest.fixture(scope="session")
def tiny_engine():
    return load_engine("faster-whisper", "tiny.en", "int8", threads=2)


@pytest.fixture(scope="session")
def tiny_transcript(synthesized_meeting, tiny_engine):
    """The demo meeting through the whole batch path with tiny.en int8, and the progress events it reported."""
    events = []
    transcript = transcribe_recording(
        synthesized_meeting.folder, hints=demo_hints(), engine=tiny_engine, progress=events.append
    )
    return transcript, events
