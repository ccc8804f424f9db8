"""The bookkeeping around Whisper's output: timestamp tokens to pieces, and what is decoded again when a window
ends early."""

from __future__ import annotations

import numpy as np

from transcripts.engines import EngineSegment, EngineWord, split_at_timestamps
from transcripts.transcribe import _rest
from transcripts.vad import SpeechRegion
from transcripts.windows import Window

TS = 50364  # <|0.00|> in the multilingual vocabulary
EOT = 50257


def test_timestamp_tokens_become_pieces_and_an_unfinished_tail_is_kept():
    tokens = [TS, 1, 2, TS + 120, TS + 120, 3, 4, TS + 250, TS + 260, 5, 6]  # last piece never closed
    assert split_at_timestamps(tokens, TS, EOT, content_duration=12.0) == [
        (0.0, 2.4, [1, 2]),
        (2.4, 5.0, [3, 4]),
        (5.2, 12.0, [5, 6]),
    ]
    assert split_at_timestamps([TS, 7, TS + 50, EOT], TS, EOT, 3.0) == [(0.0, 1.0, [7])]
    assert split_at_timestamps([8, 9], TS, EOT, 3.0) == [(0.0, 3.0, [8, 9])]  # no timestamps at all
    assert split_at_timestamps([TS, TS + 10, EOT], TS, EOT, 3.0) == []


def _region(start: float, seconds: float) -> SpeechRegion:
    return SpeechRegion(
        start, start + seconds, start + 0.2, start + seconds - 0.2, np.full(int(seconds * 16_000), 0.1, np.float32), 0.9
    )


def _heard(*spans) -> list[EngineSegment]:
    words = [EngineWord(a, b, f" w{i}", 0.9) for i, (a, b) in enumerate(spans)]
    return [EngineSegment(spans[0][0], spans[-1][1], "".join(w.text for w in words), words)]


def test_what_whisper_skipped_at_the_end_of_a_window_is_decoded_again():
    window = Window()
    for start, seconds in ((10.0, 6.0), (40.0, 8.0), (70.0, 5.0)):
        window.add(_region(start, seconds))  # window offsets 0, 6, 14
    # heard the first region and the first 3 s of the second, then end-of-text
    rest = _rest(window, _heard((0.3, 2.0), (2.1, 5.7), (6.3, 8.0), (8.1, 9.0)))
    assert [round(r.start, 2) for r in rest.regions] == [43.0, 70.0]  # the second's tail, then the third
    assert rest.regions[0].audio.size == 5 * 16_000 and rest.regions[0].speech_end == window.regions[1].speech_end
    # everything heard: nothing more
    assert _rest(window, _heard((0.3, 5.7), (6.3, 13.7), (14.3, 18.7))) is None
    # nothing heard at all: the window was silence, not skipped
    assert _rest(window, []) is None
    # a tail Whisper keeps stopping at the very start of is not decoded again and again
    tail = Window()
    tail.add(_region(100.0, 10.0))
    assert _rest(tail, _heard((0.0, 0.2))) is None
