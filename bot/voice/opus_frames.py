"""Facts about single Opus packets (RFC 6716 §3.1), and decoding a run of them to 16 kHz mono for transcription.

The writer never decodes: it only needs a packet's duration (from its TOC byte) and Opus silence frames to fill
the gaps between talk spurts. Decoding happens only for the live hand-off to the transcriber, off the receive path.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Iterable

import numpy as np

__all__ = [
    "SAMPLE_RATE",
    "SILENCE_FRAME",
    "OpusDecodeError",
    "decode_mono",
    "is_silence",
    "packet_samples",
    "silence_frames",
]

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000  # Opus's clock, and the unit of RTP timestamps and Ogg granule positions
SILENCE_FRAME = b"\xf8\xff\xfe"  # 20 ms of CELT silence: what Discord clients send when they stop talking
_SILENCE_2_5MS = b"\xe0\xff\xfe"  # the same at 2.5 ms, to fill a gap to within 1.25 ms
_SAMPLES_20MS = 960
_SAMPLES_2_5MS = 120

# Frame length in 48 kHz samples for each of the 32 TOC configurations (SILK, hybrid, CELT).
_FRAME_SAMPLES = (
    [480, 960, 1920, 2880] * 3  # SILK NB/MB/WB: 10, 20, 40, 60 ms
    + [480, 960] * 2  # hybrid SWB/FB: 10, 20 ms
    + [120, 240, 480, 960] * 4  # CELT NB/WB/SWB/FB: 2.5, 5, 10, 20 ms
)


class OpusDecodeError(RuntimeError):
    """libopus is missing or rejected a packet."""


def packet_samples(packet: bytes) -> int:
    """Duration of an Opus packet in 48 kHz samples, from its TOC byte; 0 for a packet too damaged to tell."""
    if not packet:
        return 0
    toc = packet[0]
    per_frame = _FRAME_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        return per_frame
    if code in (1, 2):
        return 2 * per_frame
    if len(packet) < 2:
        return 0
    count = packet[1] & 0x3F
    total = count * per_frame
    return total if 0 < total <= 5760 else 0  # at most 120 ms per packet


def is_silence(packet: bytes) -> bool:
    """Discord's silence frames and DTX packets carry no speech (3 bytes or fewer)."""
    return len(packet) <= 3


def silence_frames(samples: int) -> tuple[list[bytes], int]:
    """Silence packets covering `samples` (to within 1.25 ms): 20 ms frames, then 2.5 ms ones. Returns (frames, samples
    they cover)."""
    if samples <= 0:
        return [], 0
    long_frames, rest = divmod(samples, _SAMPLES_20MS)
    short_frames = (rest + _SAMPLES_2_5MS // 2) // _SAMPLES_2_5MS
    frames = [SILENCE_FRAME] * long_frames + [_SILENCE_2_5MS] * short_frames
    return frames, long_frames * _SAMPLES_20MS + short_frames * _SAMPLES_2_5MS


def _libopus():
    import discord.opus

    if not discord.opus.is_loaded() and not discord.opus._load_default():
        raise OpusDecodeError("libopus could not be loaded (install libopus0)")
    lib = discord.opus._lib
    lib.opus_decoder_create.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decode_float.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.POINTER(ctypes.c_float),
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.opus_decode_float.restype = ctypes.c_int
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decoder_destroy.restype = None
    return lib


def decode_mono(packets: Iterable[bytes], sample_rate: int = 16_000) -> np.ndarray:
    """Decode consecutive Opus packets of one stream to mono float32 at `sample_rate` (8/12/16/24/48 kHz).

    libopus resamples internally when asked for a lower rate, so no separate resampler is needed. A packet libopus
    rejects becomes silence of its nominal length rather than ending the utterance.
    """
    lib = _libopus()
    error = ctypes.c_int(0)
    state = lib.opus_decoder_create(sample_rate, 1, ctypes.byref(error))
    if error.value != 0 or not state:
        raise OpusDecodeError(f"opus_decoder_create failed with code {error.value}")
    max_samples = sample_rate * 120 // 1000
    buffer = (ctypes.c_float * max_samples)()
    chunks: list[np.ndarray] = []
    try:
        for packet in packets:
            count = lib.opus_decode_float(state, packet, len(packet), buffer, max_samples, 0)
            if count < 0:
                count = packet_samples(packet) * sample_rate // SAMPLE_RATE
                chunks.append(np.zeros(count, dtype=np.float32))
                continue
            chunks.append(np.ctypeslib.as_array(buffer)[:count].copy())
    finally:
        lib.opus_decoder_destroy(state)
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
