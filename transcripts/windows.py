"""Packing a track's speech regions into Whisper windows of up to 30 s, and mapping window times back.

Whisper's encoder always looks at 30 s; a 3-second utterance alone would pay for 27 s of silence. So consecutive
utterances of one track are laid end to end (their padding keeps a short pause between them) until the next one
would not fit. Each window remembers where every region sits in it, so a word heard at window time t gets its
true time on the meeting timeline back.

Packing is greedy and decided region by region (a window closes when the next region does not fit), so a
recorder feeding utterances one at a time gets exactly the windows a batch run over the whole track gets.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from .audio import SAMPLE_RATE
from .vad import SpeechRegion

MAX_WINDOW_SECONDS = 30.0


@dataclass(slots=True)
class Window:
    regions: list[SpeechRegion] = field(default_factory=list)
    offsets: list[float] = field(default_factory=list)  # where each region begins inside the window (s)
    _pieces: list[np.ndarray] = field(default_factory=list)
    _length: int = 0  # samples

    @property
    def duration(self) -> float:
        return self._length / SAMPLE_RATE

    @property
    def audio(self) -> np.ndarray:
        if len(self._pieces) != 1:
            joined = np.concatenate(self._pieces) if self._pieces else np.zeros(0, dtype=np.float32)
            self._pieces = [joined]
        return self._pieces[0]

    def add(self, region: SpeechRegion) -> None:
        self.offsets.append(self._length / SAMPLE_RATE)
        self.regions.append(region)
        self._pieces.append(region.audio)
        self._length += region.audio.size

    def region_index(self, t: float) -> int:
        """The region that window time `t` falls in (the nearest one when it falls past the end)."""
        i = bisect.bisect_right(self.offsets, t) - 1
        return min(max(i, 0), len(self.regions) - 1)

    def to_timeline(self, t: float, index: int | None = None) -> float:
        """Window time `t` as a time on the regions' timeline, kept inside region `index` (default: where t is)."""
        if index is None:
            index = self.region_index(t)
        region = self.regions[index]
        local = t - self.offsets[index]
        return region.start + min(max(local, 0.0), region.duration)

    def release_audio(self) -> None:
        """Free the audio once transcribed (the times stay usable)."""
        self._pieces = []
        for i, region in enumerate(self.regions):
            self.regions[i] = SpeechRegion(
                region.start,
                region.end,
                region.speech_start,
                region.speech_end,
                np.zeros(0, dtype=np.float32),
                region.probability,
            )


def region_tail(region: SpeechRegion, seconds: float) -> SpeechRegion:
    """The part of `region` from `seconds` after its (padded) start."""
    cut = min(max(int(seconds * SAMPLE_RATE), 0), region.audio.size)
    start = region.start + cut / SAMPLE_RATE
    return SpeechRegion(
        start, region.end, max(start, region.speech_start), region.speech_end, region.audio[cut:], region.probability
    )


class WindowPacker:
    """Greedy packing: `add` returns the windows a new region closes; `flush` returns the last one."""

    def __init__(self, max_seconds: float = MAX_WINDOW_SECONDS):
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self._current = Window()

    @property
    def pending(self) -> Window | None:
        return self._current if self._current.regions else None

    def add(self, region: SpeechRegion) -> list[Window]:
        closed: list[Window] = []
        for piece in self._fit(region):
            if self._current.regions and self._current._length + piece.audio.size > self.max_samples:
                closed.append(self._current)
                self._current = Window()
            self._current.add(piece)
        return closed

    def flush(self) -> list[Window]:
        if not self._current.regions:
            return []
        window, self._current = self._current, Window()
        return [window]

    def _fit(self, region: SpeechRegion) -> list[SpeechRegion]:
        """A region longer than a window (only with unusual VAD settings) cut into window-sized pieces."""
        if region.audio.size <= self.max_samples:
            return [region]
        pieces = []
        for lo in range(0, region.audio.size, self.max_samples):
            audio = region.audio[lo : lo + self.max_samples]
            start = region.start + lo / SAMPLE_RATE
            end = start + audio.size / SAMPLE_RATE
            pieces.append(
                SpeechRegion(
                    start, end, max(start, region.speech_start), min(end, region.speech_end), audio, region.probability
                )
            )
        return pieces
