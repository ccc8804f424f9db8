"""openai-whisper on the same weights: the CTranslate2 -> openai-whisper checkpoint conversion, and the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from transcripts.ct2_convert import ct2_to_openai_state, openai_checkpoint, read_ct2_variables
from transcripts.engines import load_engine
from transcripts.model_files import whisper_model_dir
from transcripts.transcribe import transcribe_recording
from transcripts.wer import word_error_rate

from .test_transcribe import _check_against_truth


def test_conversion_splits_the_fused_projections_back():
    variables = read_ct2_variables(Path(whisper_model_dir("tiny.en")) / "model.bin")
    dims, state = ct2_to_openai_state(variables)
    assert dims == {
        "n_mels": 80,
        "n_audio_ctx": 1500,
        "n_audio_state": 384,
        "n_audio_head": 6,
        "n_audio_layer": 4,
        "n_vocab": 51864,
        "n_text_ctx": 448,
        "n_text_state": 384,
        "n_text_head": 6,
        "n_text_layer": 4,
    }
    fused = variables["decoder/layer_2/self_attention/linear_0/weight"].astype(np.float32)
    assert np.array_equal(state["decoder.blocks.2.attn.key.weight"], fused[384:768])
    assert "decoder.blocks.2.attn.key.bias" not in state  # openai-whisper's key projection has no bias
    kv = variables["decoder/layer_1/attention/linear_1/weight"].astype(np.float32)
    assert np.array_equal(state["decoder.blocks.1.cross_attn.value.weight"], kv[384:])
    import whisper

    model = whisper.model.Whisper(whisper.model.ModelDimensions(**dims))
    expected = set(model.state_dict())
    assert set(state) == expected  # every parameter, nothing extra


@pytest.fixture(scope="module")
def openai_tiny():
    return load_engine("openai-whisper", "tiny.en", "float32", threads=2)


def test_checkpoint_is_cached_and_loads_with_whisper(openai_tiny):
    import whisper

    path = openai_checkpoint("tiny.en")
    assert path == openai_checkpoint("tiny.en")  # converted once
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert set(checkpoint) >= {"dims", "model_state_dict"}
    assert whisper.load_model(str(path), device="cpu").dims.n_text_layer == 4


def test_openai_whisper_engine_transcribes_like_faster_whisper(tmp_path, openai_tiny):
    from transcripts.synthesize import ScriptLine, synthesize_meeting

    lines = [
        ScriptLine("Alice", "The release is planned for Thursday afternoon."),
        ScriptLine("Bob", "I can finish the documentation on Wednesday."),
    ]
    meeting = synthesize_meeting(lines, tmp_path, noise=0.003)
    transcript = transcribe_recording(tmp_path, engine=openai_tiny)
    hypothesis = " ".join(s.text for s in transcript.segments)
    assert word_error_rate(meeting.text(), hypothesis) <= 0.15, hypothesis
    _check_against_truth(transcript, meeting.lines)


def test_unknown_settings_are_clear_errors():
    from transcripts.errors import EngineError

    with pytest.raises(EngineError, match="unknown engine 'whisper.cpp'"):
        load_engine("whisper.cpp", "tiny.en")
    with pytest.raises(EngineError, match="compute type 'int16' is not offered"):
        load_engine("openai-whisper", "tiny.en", "int16")
    with pytest.raises(EngineError, match="could not load model 'small'"):
        load_engine("faster-whisper", "small", "int8")
