"""The recorded tracks checked by tools nobody here wrote: Xiph's `opusinfo` (opus-tools) accepts them without an
error or a warning, and FFmpeg decodes them with their silences intact, each line where it was spoken."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from bot.voice.ogg_writer import PRE_SKIP
from tests.voice.speech import decode_file, encode_line, onset
from tests.voice.voice_server import Line, run_call

ALICE, BOB = 101, 202
LINES = [
    Line(1.0, ALICE, "Good morning everyone, welcome to the weekly meeting.", "en-us+m3"),
    Line(5.0, BOB, "Thanks Alice, the new release shipped on Monday.", "en-gb-x-rp"),
    Line(12.0, ALICE, "Let us review the open action items next week.", "en-us+m3"),
    Line(40.0, BOB, "I will write the summary and send it out.", "en-gb-x-rp"),
]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ogg") / "rec"
    run_call(LINES, duration=50, names={ALICE: "Alice", BOB: "Bob"}, folder=folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    return folder, {t["speaker"]: t for t in manifest["tracks"]}


def test_opusinfo_accepts_every_track_without_a_warning(recording):
    folder, tracks = recording
    assert set(tracks) == {"Alice", "Bob"}
    for track in tracks.values():
        info = subprocess.run(["opusinfo", str(folder / track["file"])], capture_output=True, text=True)
        output = info.stdout + info.stderr
        assert info.returncode == 0, output
        assert "WARNING" not in output.upper() and "ERROR" not in output.upper(), output
        assert f"Pre-skip: {PRE_SKIP}" in output and "Channels: 2" in output, output


def test_ffmpeg_decodes_the_tracks_with_their_silences_and_lines_in_place(recording):
    folder, tracks = recording
    for name, user in (("Alice", ALICE), ("Bob", BOB)):
        track = tracks[name]
        path = folder / track["file"]
        decode = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True
        )
        assert decode.returncode == 0 and decode.stderr == "", decode.stderr
        audio = decode_file(path)
        own = [line for line in LINES if line.user_id == user]
        last = own[-1]
        end = last.start + len(encode_line(last.text, last.voice).frames) * 0.02
        # The file runs from the first line to the end of the last one, the pauses between filled with silence.
        assert abs(track["offset"] + len(audio) / 48_000 - (end + 0.1 + 0.03)) < 0.1, name
        for line, following in zip(own, own[1:] + [None]):
            truth = line.start + onset(encode_line(line.text, line.voice).pcm, 48_000)
            lo = round((line.start - 0.3 - track["offset"]) * 48_000)
            found = track["offset"] + (max(lo, 0) + onset(audio[max(lo, 0) :], 48_000) * 48_000) / 48_000
            assert 0.0 <= found - truth <= 0.06, (name, line.text, found - truth)
            if following is not None:  # the pause: silence, not missing samples
                quiet = audio[
                    round((line.start + 5.5 - track["offset"]) * 48_000) : round(
                        (following.start - 0.2 - track["offset"]) * 48_000
                    )
                ]
                assert len(quiet) > 48_000 and float(np.abs(quiet).max()) < 1e-3, name
