"""Reading a recording folder: manifest.json in all its forms, folders without one, single files, bad manifests."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from transcripts.errors import RecordingError
from transcripts.recording import MIXED_SPEAKER, Manifest, ManifestTrack, read_recording, write_manifest


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"OggS")  # reading a recording never decodes


def test_manifest_names_speakers_offsets_and_the_start(tmp_path):
    _touch(tmp_path, "alice-1.ogg", "bob-2.ogg")
    write_manifest(
        tmp_path,
        Manifest(
            meeting="2026-11-26-weekly",
            started_at=dt.datetime(2026, 11, 26, 17, 0, 3, tzinfo=dt.UTC),
            tracks=[
                ManifestTrack(file="alice-1.ogg", speaker="Alice", user_id="1", offset=0.0),
                ManifestTrack(file="bob-2.ogg", speaker="Bob", user_id="2", offset=12.5),
            ],
        ),
    )
    recording = read_recording(tmp_path)
    assert recording.speakers == ["Alice", "Bob"]
    assert recording.started_at == dt.datetime(2026, 11, 26, 17, 0, 3, tzinfo=dt.UTC)
    assert recording.meeting == "2026-11-26-weekly"
    assert [(t.user_id, t.parts[0].offset) for t in recording.tracks] == [("1", 0.0), ("2", 12.5)]
    assert not recording.warnings and not recording.mixed


def test_part_files_after_a_restart_join_one_track(tmp_path):
    _touch(tmp_path, "alice.ogg", "alice.part2.ogg", "bob.ogg", "bob-b.ogg")
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "meeting": "m",
                "started_at": "2026-11-26T17:00:00Z",
                "tracks": [
                    {"file": "alice.ogg", "speaker": "Alice", "user_id": 1, "offset": 0.0},
                    {"file": "bob.ogg", "speaker": "Bob", "offset": 3.0},
                    {"file": "alice.part2.ogg", "speaker": "Alice", "user_id": "1", "offset": 1830.5},
                    {"file": ["bob-b.ogg"], "speaker": "Bob", "offset": 900},
                ],
            }
        )
    )
    recording = read_recording(tmp_path)
    alice, bob = recording.tracks
    assert alice.user_id == "1"  # numbers are accepted as ids
    assert [(p.path.name, p.offset) for p in alice.parts] == [("alice.ogg", 0.0), ("alice.part2.ogg", 1830.5)]
    assert [(p.path.name, p.offset) for p in bob.parts] == [("bob.ogg", 3.0), ("bob-b.ogg", 900.0)]
    assert alice.name == "alice.ogg, alice.part2.ogg"


def test_a_list_of_files_continues_without_gaps(tmp_path):
    _touch(tmp_path, "a1.ogg", "a2.ogg")
    (tmp_path / "manifest.json").write_text(
        json.dumps({"tracks": [{"file": ["a1.ogg", "a2.ogg"], "speaker": "Ann", "offset": 4}]})
    )
    (track,) = read_recording(tmp_path).tracks
    assert [(p.path.name, p.offset) for p in track.parts] == [("a1.ogg", 4.0), ("a2.ogg", None)]


def test_missing_and_unlisted_files_are_warnings_not_failures(tmp_path):
    _touch(tmp_path, "alice.ogg", "stray.flac")
    (tmp_path / "manifest.json").write_text(
        json.dumps({"tracks": [{"file": "alice.ogg", "speaker": "Alice"}, {"file": "gone.ogg", "speaker": "Bob"}]})
    )
    recording = read_recording(tmp_path)
    assert recording.speakers == ["Alice"]
    assert recording.warnings == [
        "gone.ogg: listed in manifest.json but missing",
        "stray.flac: not listed in manifest.json; ignored",
    ]


def test_without_manifest_the_file_stem_is_the_speaker(tmp_path):
    _touch(tmp_path, "Jeshli.ogg", "bob.m4a", "carol.wav")
    (tmp_path / "notes.txt").write_text("not audio")
    recording = read_recording(tmp_path)
    assert recording.speakers == ["Jeshli", "bob", "carol"]
    assert all(t.parts[0].offset == 0.0 for t in recording.tracks)


def test_a_single_file_is_one_mixed_track(tmp_path):
    _touch(tmp_path, "call.mp3")
    recording = read_recording(tmp_path / "call.mp3")
    assert recording.mixed and recording.speakers == [MIXED_SPEAKER]


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("{not json", r"manifest.json: not valid JSON \(line 1"),
        ('{"tracks": [{"speaker": "A"}]}', r"manifest.json: tracks.0.file: Field required"),
        ('{"tracks": [{"file": "../etc/passwd", "speaker": "A"}]}', r"must be a file name inside"),
        ('{"tracks": [{"file": "a.ogg", "speaker": "A", "offset": -2}]}', r"tracks.0.offset"),
        ('{"started_at": "yesterday", "tracks": []}', r"started_at"),
        ('{"tracks": [{"file": "nothere.ogg", "speaker": "A"}]}', r"lists no track that exists"),
    ],
)
def test_a_bad_manifest_is_one_clear_error(tmp_path, manifest, message):
    (tmp_path / "manifest.json").write_text(manifest)
    with pytest.raises(RecordingError, match=message) as info:
        read_recording(tmp_path)
    assert "\n" not in str(info.value)


def test_nothing_to_read(tmp_path):
    with pytest.raises(RecordingError, match="no such file or folder"):
        read_recording(tmp_path / "nope")
    with pytest.raises(RecordingError, match="no audio files"):
        read_recording(tmp_path)
