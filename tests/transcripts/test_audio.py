"""Decoding and writing audio with PyAV: every supported format, streamed, and a clear error for each bad file."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from transcripts.audio import SAMPLE_RATE, WRITE_FORMATS, probe, read_audio, stream_audio, write_audio
from transcripts.errors import AudioError
from transcripts.synthesize import ESPEAK_RATE, render_line


@pytest.fixture(scope="module")
def speech():
    """Two seconds of espeak-ng speech at 22.05 kHz, and the same resampled to 16 kHz as reference."""
    clip = render_line("The HNSW index is three times faster now.", "en-gb-x-rp")
    return clip


def _envelope(x: np.ndarray, rate: int, hop: float = 0.05) -> np.ndarray:
    n = int(rate * hop)
    frames = x[: len(x) // n * n].reshape(-1, n)
    return np.sqrt((frames**2).mean(axis=1))


@pytest.mark.parametrize("fmt", WRITE_FORMATS)
def test_every_format_decodes_to_16k_mono_with_the_same_timing(tmp_path, speech, fmt):
    path = write_audio(tmp_path / f"clip.{fmt}", speech, sample_rate=ESPEAK_RATE)
    info = probe(path)
    decoded = read_audio(path)
    assert decoded.dtype == np.float32 and decoded.ndim == 1
    expected = len(speech) / ESPEAK_RATE
    assert abs(len(decoded) / SAMPLE_RATE - expected) < 0.08  # AAC adds its priming samples
    assert info.duration is None or abs(info.duration - expected) < 0.1
    # the loudness contour is the same speech at the same times
    a, b = _envelope(speech, ESPEAK_RATE), _envelope(decoded, SAMPLE_RATE)
    n = min(len(a), len(b)) - 2
    assert np.corrcoef(a[:n], b[:n])[0, 1] > 0.9


def test_stereo_48k_is_mixed_to_mono_and_streamed_in_chunks(tmp_path):
    import av

    t = np.arange(48_000 * 5) / 48_000
    left = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    path = tmp_path / "stereo.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=48_000, layout="stereo")
        frame = av.AudioFrame.from_ndarray(
            np.stack([left, np.zeros_like(left)]).astype(np.float32), format="fltp", layout="stereo"
        )
        frame.sample_rate = 48_000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    chunks = list(stream_audio(path, chunk_seconds=2.0))
    assert [len(c) for c in chunks] == [32_000, 32_000, 16_000]
    whole = np.concatenate(chunks)
    assert 0.15 < float(np.abs(whole).max()) < 0.55  # the left channel, mixed down (not dropped, not doubled)


def _wav_with_format_tag(path, tag: int):
    data = np.zeros(16_000, np.int16).tobytes()
    fmt = struct.pack("<HHIIHH", tag, 1, 16_000, 32_000, 2, 16)
    path.write_bytes(
        b"RIFF"
        + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return path


def bad_files(folder, good_ogg_bytes: bytes) -> dict[str, str]:
    """Write one file per kind of bad input into `folder`; returns name -> what its error must say."""
    (folder / "empty.ogg").write_bytes(b"")
    (folder / "notes.ogg").write_text("these are meeting notes, not audio\n" * 50)
    (folder / "picture.ogg").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    (folder / "headless.ogg").write_bytes(good_ogg_bytes[:90])
    _wav_with_format_tag(folder / "strange.wav", 0x9999)
    return {
        "empty.ogg": "empty file",
        "notes.ogg": "not an audio file",
        "picture.ogg": "no audio stream",
        "headless.ogg": "not an audio file",
        "strange.wav": "unsupported audio codec",
    }


def test_each_bad_file_gives_one_clear_error_naming_it(tmp_path, speech):
    good = write_audio(tmp_path / "good.ogg", speech, sample_rate=ESPEAK_RATE).read_bytes()
    for name, message in bad_files(tmp_path, good).items():
        with pytest.raises(AudioError) as info:
            list(stream_audio(tmp_path / name))
        text = str(info.value)
        assert text.startswith(f"{name}: ") and message in text and "\n" not in text
    with pytest.raises(AudioError, match=r"^missing\.ogg: file not found"):
        list(stream_audio(tmp_path / "missing.ogg"))
    with pytest.raises(AudioError, match="not a regular file"):
        list(stream_audio(tmp_path))


def test_a_truncated_file_keeps_the_audio_before_the_cut(tmp_path, speech):
    long = np.concatenate([speech, np.zeros(ESPEAK_RATE, np.float32), speech])
    data = write_audio(tmp_path / "long.ogg", long, sample_rate=ESPEAK_RATE).read_bytes()
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(data[: len(data) // 2])
    decoded = read_audio(cut)
    full = len(long) / ESPEAK_RATE
    assert full * 0.3 < len(decoded) / SAMPLE_RATE < full * 0.7


def test_a_damaged_middle_skips_bad_packets_and_keeps_the_rest(tmp_path, speech):
    long = np.concatenate([speech] * 4)
    data = bytearray(write_audio(tmp_path / "long.ogg", long, sample_rate=ESPEAK_RATE).read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 2000):
        data[i] = (i * 7) & 0xFF
    damaged = tmp_path / "damaged.ogg"
    damaged.write_bytes(bytes(data))
    warnings: list[str] = []
    decoded = np.concatenate(list(stream_audio(damaged, warnings=warnings)))
    assert len(decoded) / SAMPLE_RATE > 0.8 * len(long) / ESPEAK_RATE  # the end of the file is still there
    # the last second is the end of the speech, not silence
    assert np.abs(decoded[-SAMPLE_RATE:]).max() > 0.05
