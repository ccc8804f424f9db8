"""Speech detection streamed over a track, and packing of utterances into 30-second Whisper windows."""

from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.vad import VadOptions, get_speech_timestamps

from transcripts.audio import SAMPLE_RATE, read_audio, stream_audio
from transcripts.vad import SpeechDetector, VadConfig, detect_speech
from transcripts.windows import Window, WindowPacker


@pytest.fixture(scope="module")
def alice(synthesized_meeting):
    return read_audio(synthesized_meeting.tracks["Alice"])


@pytest.mark.parametrize("chunk_seconds", [0.7, 5.0, 31.0])
def test_streamed_detection_decides_like_faster_whisper_on_the_whole_track(alice, chunk_seconds):
    config = VadConfig()
    reference = get_speech_timestamps(
        alice.copy(),  # it zeroes samples of its input
        VadOptions(
            threshold=config.threshold,
            min_speech_duration_ms=config.min_speech_ms,
            max_speech_duration_s=config.max_speech_s,
            min_silence_duration_ms=config.min_silence_ms,
            speech_pad_ms=config.speech_pad_ms,
        ),
    )
    detector = SpeechDetector(config)
    regions = []
    step = int(chunk_seconds * SAMPLE_RATE)
    for i in range(0, len(alice), step):
        regions += detector.feed(alice[i : i + step])
    regions += detector.finish()
    assert len(regions) == len(reference) >= 4
    for region, ref in zip(regions, reference):
        # the same decisions (the model sees 32 ms windows either way); padding to the sample
        assert abs(region.start - ref["start"] / SAMPLE_RATE) < 0.035
        assert abs(region.end - ref["end"] / SAMPLE_RATE) < 0.035
        a = int(round(region.start * SAMPLE_RATE))
        assert np.array_equal(region.audio, alice[a : a + region.audio.size])


def test_regions_are_the_spoken_lines_and_nothing_else(synthesized_meeting):
    for speaker, path in synthesized_meeting.tracks.items():
        detector = SpeechDetector()
        regions = []
        for chunk in stream_audio(path, chunk_seconds=3.0):
            regions += detector.feed(chunk)
        regions += detector.finish()
        truth = [line for line in synthesized_meeting.lines if line.speaker == speaker]
        assert len(regions) == len(truth), speaker
        for region, line in zip(regions, truth):
            assert abs(region.speech_start - line.start) < 0.25  # a soft onset is heard a little late
            assert abs(region.speech_end - line.end) < 0.3
            assert region.probability > 0.6


def test_silence_and_noise_have_no_speech():
    rng = np.random.default_rng(1)
    assert detect_speech(np.zeros(SAMPLE_RATE * 20, np.float32)) == []
    assert detect_speech(rng.normal(0, 0.01, SAMPLE_RATE * 20).astype(np.float32)) == []
    hum = 0.2 * np.sin(2 * np.pi * 50 * np.arange(SAMPLE_RATE * 20) / SAMPLE_RATE)
    assert detect_speech(hum.astype(np.float32)) == []


def test_long_speech_is_split_so_every_region_fits_a_window(alice):
    # the whole track's speech laid end to end: one long monologue with short pauses
    regions = detect_speech(alice)
    monologue = np.concatenate([r.audio for r in regions] * 3)
    long_regions = detect_speech(monologue)
    assert len(long_regions) >= 2
    assert all(r.duration <= 28.0 + 0.4 + 0.04 for r in long_regions)


def test_packing_fills_windows_and_maps_times_back(alice):
    regions = detect_speech(alice)
    packer = WindowPacker(max_seconds=12.0)
    windows: list[Window] = []
    for region in regions:
        windows += packer.add(region)
    windows += packer.flush()
    assert sum(len(w.regions) for w in windows) == len(regions)
    assert all(w.duration <= 12.0 for w in windows)
    for window in windows:
        assert window.audio.size == sum(r.audio.size for r in window.regions)
        for region, offset in zip(window.regions, window.offsets):
            # a time inside the region maps back to its true time
            assert window.to_timeline(offset + 0.5) == pytest.approx(region.start + 0.5)
            assert window.region_index(offset + 0.5) == window.regions.index(region)
    # greedy: a window was closed only because the next region did not fit
    for a, b in zip(windows, windows[1:]):
        assert a.duration + b.regions[0].duration > 12.0
