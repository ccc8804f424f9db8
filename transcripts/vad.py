"""Speech detection on one track, streamed: Silero VAD (the model bundled with faster-whisper) over 16 kHz audio.

A meeting track is mostly silence. `SpeechDetector` is fed the track chunk by chunk and hands back each speech
region as soon as it is closed, with its audio and its times on the track, keeping in memory only the audio of the
region still open. The decisions are those of faster-whisper's `get_speech_timestamps` (same model, thresholds,
padding and splitting of long speech), computed incrementally so they do not need the whole track at once.
"""

from __future__ import annotations

import logging
from array import array
from dataclasses import dataclass

import numpy as np

from .audio import SAMPLE_RATE

log = logging.getLogger(__name__)

_WINDOW = 512  # samples per Silero decision (32 ms)
_CONTEXT = 64  # samples of the previous window the model sees with each window


@dataclass(frozen=True, slots=True)
class VadConfig:
    threshold: float = 0.5  # speech probability that opens a region
    neg_threshold: float | None = None  # below this it is silence (default: threshold - 0.15)
    min_speech_ms: int = 250  # shorter blips are dropped
    # A pause this long ends an utterance. Shorter pauses (commas, breaths, a sentence end) stay inside it, so one
    # region is one turn of speech: what the transcript shows as a segment.
    min_silence_ms: int = 600
    speech_pad_ms: int = 200  # kept on each side, so Whisper hears the onset and the tail of each word
    # Longer speech is split at its last pause of at least 100 ms, so every region (with padding) fits one
    # 30-second Whisper window.
    max_speech_s: float = 28.0
    # Windows whose every sample is below this (-60 dBFS) are silence without asking the model. 0 disables.
    silence_level: float = 0.001


@dataclass(slots=True)
class SpeechRegion:
    """One stretch of speech on a track. Times are seconds from the start of the audio fed to the detector."""

    start: float  # padded start: where `audio` begins
    end: float  # padded end: where `audio` ends
    speech_start: float  # where the detector heard speech begin (no padding)
    speech_end: float
    audio: np.ndarray  # 16 kHz mono float32, from `start` to `end`
    probability: float  # mean speech probability over the unpadded part

    @property
    def duration(self) -> float:
        return self.end - self.start

    def shifted(self, seconds: float) -> SpeechRegion:
        """The same region with its times moved by `seconds` (e.g. onto the meeting timeline)."""
        return SpeechRegion(
            self.start + seconds,
            self.end + seconds,
            self.speech_start + seconds,
            self.speech_end + seconds,
            self.audio,
            self.probability,
        )


class _Silero:
    """Silero VAD v6 (ONNX) run window by window, carrying its recurrent state and context between calls."""

    def __init__(self) -> None:
        from faster_whisper.vad import get_vad_model

        self._session = get_vad_model().session  # one ONNX session per process, shared
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Speech probabilities for `windows` of shape (n, 512), continuing from the previous call."""
        n = windows.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        contexts = np.empty((n, _CONTEXT), dtype=np.float32)
        contexts[0] = self._context
        contexts[1:] = windows[:-1, -_CONTEXT:]
        batch = np.concatenate([contexts, windows], axis=1)
        probs, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        self._context = windows[-1, -_CONTEXT:].copy()
        return np.asarray(probs, dtype=np.float32).reshape(-1)


class SpeechDetector:
    """Feed 16 kHz mono float32 audio in any chunk sizes; get back closed `SpeechRegion`s in order.

    detector = SpeechDetector()
    for chunk in stream_audio(path):
        for region in detector.feed(chunk):
            ...
    for region in detector.finish():
        ...
    """

    def __init__(self, config: VadConfig | None = None):
        self.config = config or VadConfig()
        cfg = self.config
        self._model = _Silero()
        sr = SAMPLE_RATE
        self._threshold = cfg.threshold
        self._neg_threshold = cfg.neg_threshold if cfg.neg_threshold is not None else max(cfg.threshold - 0.15, 0.01)
        self._min_speech = sr * cfg.min_speech_ms / 1000
        self._pad = int(sr * cfg.speech_pad_ms / 1000)
        self._max_speech = sr * cfg.max_speech_s - _WINDOW - 2 * self._pad
        self._min_silence = sr * cfg.min_silence_ms / 1000
        self._min_silence_at_max = sr * 98 / 1000
        # state of faster-whisper's state machine (sample indices)
        self._triggered = False
        self._current_start = 0
        self._temp_end = 0
        self._prev_end = 0
        self._next_start = 0
        self._window_index = 0  # next window to decide on
        self._probs = array("f")  # one probability per window, for the whole track (4 bytes per 32 ms)
        # closed speech (unpadded sample bounds) waiting for its padding to be known
        self._closed: list[tuple[int, int]] = []
        self._last_speech_end: int | None = None  # unpadded end of the previous closed speech
        self._emitted_end = 0  # padded end of the last emitted region
        # audio not yet decided on / still needed: self._buffer holds samples [self._buffer_start, self._received)
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start = 0
        self._received = 0
        self._finished = False

    # -- public --------------------------------------------------------------------------------------------

    @property
    def samples_seen(self) -> int:
        return self._received

    def feed(self, samples: np.ndarray) -> list[SpeechRegion]:
        if self._finished:
            raise RuntimeError("SpeechDetector.feed() after finish()")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if samples.size:
            self._buffer = np.concatenate([self._buffer, samples]) if self._buffer.size else samples.copy()
            self._received += samples.size
        decided = self._window_index * _WINDOW
        n_windows = (self._received - decided) // _WINDOW
        if n_windows:
            offset = decided - self._buffer_start
            windows = self._buffer[offset : offset + n_windows * _WINDOW].reshape(n_windows, _WINDOW)
            probs = self._probabilities(windows)
            self._probs.extend(probs.tolist())
            for prob in probs:
                self._step(float(prob))
                self._window_index += 1
        regions = self._emit(final=False)
        self._trim()
        return regions

    def finish(self) -> list[SpeechRegion]:
        """Decide on the audio left over and return the last regions. The detector cannot be fed afterwards."""
        if self._finished:
            return []
        decided = self._window_index * _WINDOW
        tail = self._received - decided
        if tail > 0:
            # the last partial window, zero-padded, as faster-whisper does
            offset = decided - self._buffer_start
            window = np.zeros((1, _WINDOW), dtype=np.float32)
            window[0, :tail] = self._buffer[offset : offset + tail]
            prob = float(self._probabilities(window)[0])
            self._probs.append(prob)
            self._step(prob)
            self._window_index += 1
        if self._triggered:
            # speech that was already fading (below the silence threshold) ends where it faded, not at the end of
            # the audio: a recorder's utterance often stops a few hundred milliseconds after the voice does
            end = self._temp_end or self._received
            if end - self._current_start > self._min_speech:
                self._close(self._current_start, end)
        self._triggered = False
        self._finished = True
        regions = self._emit(final=True)
        self._buffer = np.zeros(0, dtype=np.float32)
        return regions

    def _probabilities(self, windows: np.ndarray) -> np.ndarray:
        """Silero's speech probability per window; digital silence (a recorder's silence frames) is 0 unasked.

        A meeting track is mostly silence, and the recorder fills pauses with silence frames that decode to
        (near) zeros: skipping the model there makes detection cost follow the speech, not the meeting length.
        After such a stretch the model starts afresh, as at the start of a file.
        """
        gate = self.config.silence_level
        if gate <= 0:
            return self._model(windows)
        quiet = np.abs(windows).max(axis=1) < gate
        if not quiet.any():
            return self._model(windows)
        probs = np.zeros(windows.shape[0], dtype=np.float32)
        edges = np.flatnonzero(np.diff(quiet.astype(np.int8))) + 1
        for lo, hi in zip(np.r_[0, edges], np.r_[edges, quiet.size]):
            if quiet[lo]:
                self._model.reset()
            else:
                probs[lo:hi] = self._model(windows[lo:hi])
        return probs

    # -- the state machine of faster_whisper.vad.get_speech_timestamps, one window at a time -------------------

    def _step(self, prob: float) -> None:
        pos = _WINDOW * self._window_index
        if prob >= self._threshold and self._temp_end:
            self._temp_end = 0
            if self._next_start < self._prev_end:
                self._next_start = pos
        if prob >= self._threshold and not self._triggered:
            self._triggered = True
            self._current_start = pos
            return
        if self._triggered and pos - self._current_start > self._max_speech:
            if self._prev_end:
                self._close(self._current_start, self._prev_end)
                if self._next_start < self._prev_end:
                    self._triggered = False
                else:
                    self._current_start = self._next_start
                self._prev_end = self._next_start = self._temp_end = 0
            else:
                self._close(self._current_start, pos)
                self._prev_end = self._next_start = self._temp_end = 0
                self._triggered = False
                return
        if prob < self._neg_threshold and self._triggered:
            if not self._temp_end:
                self._temp_end = pos
            if pos - self._temp_end > self._min_silence_at_max:
                self._prev_end = self._temp_end
            if pos - self._temp_end < self._min_silence:
                return
            if self._temp_end - self._current_start > self._min_speech:
                self._close(self._current_start, self._temp_end)
            self._prev_end = self._next_start = self._temp_end = 0
            self._triggered = False

    def _close(self, start: int, end: int) -> None:
        self._closed.append((start, end))

    # -- padding and hand-over -----------------------------------------------------------------------------

    def _emit(self, final: bool) -> list[SpeechRegion]:
        """Hand over closed speech whose padded end is known: the next speech has begun, or is too far off to matter."""
        out: list[SpeechRegion] = []
        pad = self._pad
        while self._closed:
            start, end = self._closed[0]
            following = (
                self._closed[1][0] if len(self._closed) > 1 else (self._current_start if self._triggered else None)
            )
            if following is not None:
                gap = following - end
                padded_end = end + gap // 2 if gap < 2 * pad else end + pad
            elif final or self._window_index * _WINDOW - end >= 2 * pad:
                padded_end = end + pad
            else:
                break  # speech may resume within the padding: wait
            padded_end = min(padded_end, self._received)
            if self._last_speech_end is None:
                padded_start = start - pad
            else:
                gap = start - self._last_speech_end
                padded_start = start - gap // 2 if gap < 2 * pad else start - pad
            padded_start = max(padded_start, self._emitted_end, 0)
            self._closed.pop(0)
            self._last_speech_end = end
            self._emitted_end = padded_end
            out.append(self._region(padded_start, padded_end, start, end))
        return out

    def _region(self, start: int, end: int, speech_start: int, speech_end: int) -> SpeechRegion:
        audio = self._buffer[start - self._buffer_start : end - self._buffer_start].copy()
        first, last = speech_start // _WINDOW, max(speech_start // _WINDOW + 1, -(-speech_end // _WINDOW))
        probs = self._probs[first:last]
        sr = SAMPLE_RATE
        return SpeechRegion(
            start=start / sr,
            end=end / sr,
            speech_start=speech_start / sr,
            speech_end=speech_end / sr,
            audio=audio,
            probability=float(sum(probs) / len(probs)) if len(probs) else 0.0,
        )

    def _trim(self) -> None:
        """Drop buffered audio no region can need any more."""
        decided = self._window_index * _WINDOW
        if self._closed:
            keep = self._closed[0][0] - self._pad
        elif self._triggered:
            keep = self._current_start - self._pad
        else:
            keep = decided - self._pad
        keep = max(keep, self._emitted_end, self._buffer_start)
        keep = min(keep, decided)
        if keep > self._buffer_start:
            self._buffer = self._buffer[keep - self._buffer_start :]
            self._buffer_start = keep


def detect_speech(samples: np.ndarray, config: VadConfig | None = None) -> list[SpeechRegion]:
    """All speech regions of an in-memory clip (e.g. one utterance handed over by the recorder)."""
    detector = SpeechDetector(config)
    regions = detector.feed(samples)
    regions.extend(detector.finish())
    return regions
