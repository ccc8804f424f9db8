"""Real speech for the voice tests: espeak-ng lines (via transcripts.synthesize) encoded to Opus with libopus
through discord.py's own encoder — the same 20 ms, 48 kHz stereo frames a Discord client sends."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import discord.opus
import numpy as np

from transcripts.synthesize import ESPEAK_RATE, render_line

FRAME = 960  # 20 ms at 48 kHz


@dataclass(frozen=True)
class EncodedLine:
    text: str
    voice: str
    frames: tuple[bytes, ...]  # Opus packets, 20 ms each
    pcm: np.ndarray  # the mono 48 kHz float32 signal that was encoded (ground truth for timing)


def load_opus() -> None:
    if not discord.opus.is_loaded():
        assert discord.opus._load_default(), "libopus is not installed"


@cache
def encode_line(text: str, voice: str) -> EncodedLine:
    load_opus()
    speech = render_line(text, voice)  # float32 at 22.05 kHz, espeak's own silence trimmed
    duration = len(speech) / ESPEAK_RATE
    n = int(duration * 48_000)
    pcm = np.interp(np.arange(n) / 48_000, np.arange(len(speech)) / ESPEAK_RATE, speech).astype(np.float32)
    pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % FRAME, np.float32)])
    stereo = np.repeat((np.clip(pcm, -1, 1) * 32767).astype(np.int16)[:, None], 2, axis=1).tobytes()
    encoder = discord.opus.Encoder()  # 48 kHz, stereo, 20 ms: discord.py's defaults, as a client sends
    step = FRAME * 2 * 2
    frames = tuple(encoder.encode(stereo[i : i + step], FRAME) for i in range(0, len(stereo), step))
    return EncodedLine(text, voice, frames, pcm)


def onset(signal: np.ndarray, rate: int, threshold: float = 0.02) -> float:
    """Seconds to the first sample louder than `threshold`."""
    loud = np.flatnonzero(np.abs(signal) > threshold)
    return loud[0] / rate if loud.size else float("nan")


def words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split())


def decode_file(path, rate: int = 48_000) -> np.ndarray:
    """An Ogg/Opus file decoded by FFmpeg (PyAV) to mono float32; raises on any decoding error."""
    import av

    chunks = []
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.audio[0]):
            chunks.extend(out.to_ndarray()[0] for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray()[0] for out in resampler.resample(None))
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
