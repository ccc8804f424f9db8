"""Pipeline fixtures: small synthesized recordings and the fast models (quality is not what these tests are about)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from transcripts.synthesize import ScriptLine, synthesize_meeting

FAST_MODELS = {"WGBOT_WHISPER_MODEL": "tiny.en", "WGBOT_LLM_MODEL": "smollm2-135m-q8_0", "WGBOT_THREADS": "1"}

SHORT_SCRIPT = [
    ScriptLine("Alice", "Welcome to the working group call."),
    ScriptLine("Bob", "I will update the documentation on Friday."),
]


@pytest.fixture(scope="session")
def short_recording(tmp_path_factory) -> Path:
    """A two-speaker, ten-second recording (one Ogg/Opus track per speaker + manifest.json)."""
    folder = tmp_path_factory.mktemp("short-recording")
    synthesize_meeting(SHORT_SCRIPT, folder, start_at=dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC))
    return folder


@pytest.fixture
def fast_models(monkeypatch):
    for name, value in FAST_MODELS.items():
        monkeypatch.setenv(name, value)
    return FAST_MODELS
