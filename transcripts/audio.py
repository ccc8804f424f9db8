"""Audio in and out with PyAV: any file ffmpeg reads, decoded to 16 kHz mono float32 in streamed chunks.

Reading never holds a whole track: `stream_audio` yields chunks of a few seconds, so an hour-long recording costs
the memory of one chunk plus whatever the consumer keeps. Every problem with a file becomes an `AudioError` whose
message starts with the file name, e.g. ``alice.ogg: not an audio file or damaged beyond reading``.

Writing (`AudioWriter`, `write_audio`) is what `synthesize` uses to produce Ogg/Opus, WAV, FLAC, MP3 or M4A tracks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import av.error
import numpy as np

from .errors import AudioError

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # what Whisper and Silero VAD take
# File types a recording folder may hold; anything else there is ignored (with a warning) rather than guessed at.
AUDIO_SUFFIXES = (".ogg", ".opus", ".oga", ".wav", ".flac", ".mp3", ".m4a", ".mp4", ".aac", ".webm", ".mka")
# Decoding gives up on a file whose first this many packets are all rejected (it is not the audio it claims to be).
_MAX_DAMAGED = 50


@dataclass(frozen=True, slots=True)
class AudioInfo:
    path: Path
    codec: str
    sample_rate: int
    channels: int
    duration: float | None  # seconds, from the container; None when it does not say


def _name(path: Path) -> str:
    return path.name or str(path)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"{_name(path)}: file not found ({path})")
    if not path.is_file():  # a FIFO or device would block the demuxer forever
        raise AudioError(f"{_name(path)}: not a regular file")
    if path.stat().st_size == 0:
        raise AudioError(f"{_name(path)}: empty file (0 bytes)")


def _open(path: Path) -> tuple[av.container.InputContainer, av.audio.stream.AudioStream]:
    _check_file(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioError(f"{_name(path)}: not an audio file or damaged beyond reading ({_reason(exc)})") from None
    if not container.streams.audio:
        container.close()
        raise AudioError(f"{_name(path)}: contains no audio stream")
    stream = container.streams.audio[0]
    codec = stream.codec_context
    if codec is None or not getattr(codec, "name", None) or codec.name == "none":
        container.close()
        raise AudioError(f"{_name(path)}: unsupported audio codec")
    return container, stream


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]


def probe(path: str | Path) -> AudioInfo:
    """What `path` holds, without decoding it; raises `AudioError` for anything that is not readable audio."""
    path = Path(path)
    container, stream = _open(path)
    try:
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        codec = stream.codec_context
        return AudioInfo(path, codec.name, int(codec.sample_rate or 0), int(codec.channels or 0), duration)
    finally:
        container.close()


def stream_audio(
    path: str | Path,
    *,
    chunk_seconds: float = 20.0,
    warnings: list[str] | None = None,
) -> Iterator[np.ndarray]:
    """Decode `path` to 16 kHz mono float32, yielding chunks of about `chunk_seconds` (the last one shorter).

    Raises `AudioError` (naming the file) when nothing can be decoded. Damaged packets are skipped, and a file
    that breaks off part-way yields what came before; both add a note to `warnings`. Samples follow one another
    without regard to container timestamps: sample i is at i / 16000 s from the file's start (the recorder fills
    pauses with silence frames, see bot/voice/manifest.py).
    """
    path = Path(path)
    container, stream = _open(path)
    resampler = _ToMono16k()
    chunk_samples = max(1, int(chunk_seconds * SAMPLE_RATE))
    pending: list[np.ndarray] = []
    pending_len = 0
    emitted = 0  # samples yielded so far
    damaged = 0  # packets the decoder rejected (skipped: one bad packet must not lose the rest of a meeting)
    error: str | None = None

    def take(array: np.ndarray) -> Iterator[np.ndarray]:
        nonlocal pending_len, emitted
        if array.size:
            pending.append(array)
            pending_len += array.size
        while pending_len >= chunk_samples:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            out, rest = joined[:chunk_samples], joined[chunk_samples:]
            pending.clear()
            pending_len = rest.size
            if rest.size:
                pending.append(rest)
            emitted += out.size
            yield out

    try:
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except (av.error.FFmpegError, ValueError) as exc:
                    damaged += 1
                    if damaged > _MAX_DAMAGED and emitted + pending_len == 0:
                        raise AudioError(f"{_name(path)}: cannot be decoded ({_reason(exc)})") from None
                    continue
                for frame in frames:
                    for out in resampler.push(frame):
                        yield from take(out)
        except (av.error.FFmpegError, ValueError) as exc:
            error = _reason(exc)  # the container itself broke off
        try:
            for out in resampler.flush():
                yield from take(out)
        except (av.error.FFmpegError, ValueError):
            pass
    finally:
        container.close()

    total = emitted + pending_len
    if total == 0:
        raise AudioError(
            f"{_name(path)}: cannot be decoded ({error})" if error else f"{_name(path)}: contains no audio samples"
        )
    if error is not None:
        note = f"{_name(path)}: damaged or truncated after {total / SAMPLE_RATE:.1f} s ({error}); kept the audio before"
        log.warning(note)
        if warnings is not None:
            warnings.append(note)
    if damaged:
        note = f"{_name(path)}: {damaged} damaged packet(s) skipped"
        log.warning(note)
        if warnings is not None:
            warnings.append(note)
    if pending_len:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


_PLANAR: dict[str, tuple[type[np.generic], float]] = {
    "fltp": (np.float32, 1.0),
    "s16p": (np.int16, 1 / 32768),
    "s32p": (np.int32, 1 / 2**31),
    "dblp": (np.float64, 1.0),
}
_PACKED: dict[str, tuple[type[np.generic], float]] = {
    "flt": (np.float32, 1.0),
    "s16": (np.int16, 1 / 32768),
    "s32": (np.int32, 1 / 2**31),
    "dbl": (np.float64, 1.0),
}


def _frame_to_mono(frame: av.AudioFrame) -> np.ndarray | None:
    """The frame's samples averaged over channels, as float32 at the frame's rate (None: unusual format)."""
    n, channels, fmt = frame.samples, len(frame.layout.channels), frame.format.name
    if fmt in _PLANAR:
        dtype, scale = _PLANAR[fmt]
        planes = [np.frombuffer(memoryview(frame.planes[i]), dtype=dtype, count=n) for i in range(channels)]
        mono = planes[0].astype(np.float32) if channels == 1 else np.stack(planes).mean(axis=0, dtype=np.float32)
    elif fmt in _PACKED:
        dtype, scale = _PACKED[fmt]
        data = np.frombuffer(memoryview(frame.planes[0]), dtype=dtype, count=n * channels).reshape(n, channels)
        mono = data[:, 0].astype(np.float32) if channels == 1 else data.mean(axis=1, dtype=np.float32)
    else:
        return None
    return mono * np.float32(scale) if scale != 1.0 else mono


class _ToMono16k:
    """Decoded frames of any format, layout and rate to 16 kHz mono float32.

    Channels are averaged in numpy and the rate is converted by libswresample in blocks of about a second:
    calling it per 20-ms Opus frame cost more than decoding the frame.
    """

    def __init__(self) -> None:
        self._rate: int | None = None
        self._swr: av.AudioResampler | None = None
        self._block: list[np.ndarray] = []
        self._block_len = 0
        self._generic: av.AudioResampler | None = None

    def push(self, frame: av.AudioFrame) -> list[np.ndarray]:
        mono = _frame_to_mono(frame)
        if mono is None:  # an unusual sample format: let libswresample do all of it, frame by frame
            drained = self._drain(final=True)
            self._generic = self._generic or av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            return drained + [_mono(f) for f in self._generic.resample(frame)]
        out: list[np.ndarray] = []
        rate = int(frame.sample_rate)
        if rate != self._rate:
            out += self._drain(final=True)
            self._rate = rate
            self._swr = (
                None if rate == SAMPLE_RATE else av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            )
        self._block.append(mono)
        self._block_len += mono.size
        if self._block_len >= rate:
            out += self._drain()
        return out

    def flush(self) -> list[np.ndarray]:
        out = self._drain(final=True)
        if self._generic is not None:
            out += [_mono(f) for f in self._generic.resample(None)]
        return out

    def _drain(self, final: bool = False) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        if self._block:
            block = np.concatenate(self._block) if len(self._block) > 1 else self._block[0]
            self._block, self._block_len = [], 0
            if self._swr is None:
                out.append(np.ascontiguousarray(block, dtype=np.float32))
            else:
                if self._rate is None:
                    raise AssertionError("a block to resample before any frame gave its rate")  # push sets it first
                frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="flt", layout="mono")
                frame.sample_rate = self._rate
                out += [_mono(f) for f in self._swr.resample(frame)]
        if final and self._swr is not None:
            out += [_mono(f) for f in self._swr.resample(None)]
            self._swr = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        return out


def _mono(frame: av.AudioFrame) -> np.ndarray:
    array = frame.to_ndarray()
    return np.ascontiguousarray(array.reshape(-1), dtype=np.float32)


def read_audio(path: str | Path) -> np.ndarray:
    """The whole file as one 16 kHz mono float32 array: for short clips and tests, not for meeting tracks."""
    chunks = list(stream_audio(path))
    return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]


# ---- writing --------------------------------------------------------------------------------------------------

# suffix -> (container format, codec, sample format, sample rate the codec is given)
_WRITE_FORMATS: dict[str, tuple[str, Literal["libopus", "pcm_s16le", "flac", "libmp3lame", "aac"], str, int | None]] = {
    "ogg": ("ogg", "libopus", "flt", 48_000),
    "opus": ("ogg", "libopus", "flt", 48_000),
    "wav": ("wav", "pcm_s16le", "s16", None),
    "flac": ("flac", "flac", "s16", None),
    "mp3": ("mp3", "libmp3lame", "fltp", None),
    "m4a": ("ipod", "aac", "fltp", None),
}
WRITE_FORMATS = tuple(_WRITE_FORMATS)


class AudioWriter:
    """Encode mono float32 audio to a file in pieces (so a long track is never built in memory).

    with AudioWriter(path, sample_rate=16000) as w:
        w.write(samples)
    """

    def __init__(self, path: str | Path, *, sample_rate: int = SAMPLE_RATE, fmt: str | None = None):
        self.path = Path(path)
        fmt = (fmt or self.path.suffix.lstrip(".")).lower()
        if fmt not in _WRITE_FORMATS:
            raise AudioError(f"{self.path.name}: cannot write format {fmt!r}; use one of {', '.join(WRITE_FORMATS)}")
        container_format, codec, sample_format, codec_rate = _WRITE_FORMATS[fmt]
        self.sample_rate = sample_rate
        self._rate = codec_rate or sample_rate
        self._container = av.open(str(self.path), mode="w", format=container_format)
        self._stream = self._container.add_stream(codec, rate=self._rate)
        self._stream.layout = "mono"
        self._stream.format = sample_format
        if codec == "libopus":
            self._stream.bit_rate = 32_000
        self._resampler = av.AudioResampler(format=sample_format, layout="mono", rate=self._rate)
        self._written = 0  # input samples so far, for frame timestamps
        self._closed = False

    def write(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        step = self.sample_rate  # one second per frame keeps the Python overhead negligible
        for i in range(0, samples.size, step):
            piece = np.clip(samples[i : i + step], -1.0, 1.0)
            frame = av.AudioFrame.from_ndarray(piece[np.newaxis, :], format="flt", layout="mono")
            frame.sample_rate = self.sample_rate
            frame.pts = self._written
            frame.time_base = Fraction(1, self.sample_rate)
            self._written += piece.size
            for out in self._resampler.resample(frame):
                self._encode(out)

    def _encode(self, frame: av.AudioFrame | None) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._closed:
            return
        for out in self._resampler.resample(None):
            self._encode(out)
        self._encode(None)
        self._container.close()
        self._closed = True

    def __enter__(self) -> AudioWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_audio(
    path: str | Path, samples: np.ndarray, *, sample_rate: int = SAMPLE_RATE, fmt: str | None = None
) -> Path:
    """Write mono float32 `samples` to `path` (format from `fmt` or the suffix: ogg/opus, wav, flac, mp3, m4a)."""
    with AudioWriter(path, sample_rate=sample_rate, fmt=fmt) as writer:
        writer.write(samples)
    return Path(path)
