"""The retention and opt-out rules at their edges: when exactly a recording's audio expires (published, unpublished,
still recording), which files go and which stay, what the deletion marker says; and the opt-out record — written
owner-only, merged, unreadable means failure — and what it removes from a transcript and from minutes. Fast enough
for mutation testing (`make mutate`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
from pathlib import Path

import pytest

from tracker import optout, retention
from tracker.models import Meeting, MeetingState, WorkingGroup
from tracker.recording_files import DELETED_MARKER, LIVE_SEGMENTS, LIVE_TRANSCRIPT, MINUTES_CACHE, OPTED_OUT
from tracker.recordings import folder_name
from transcripts.types import ActionItem, Minutes, Segment, Transcript, Wish

NOW = dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC)
UTC = dt.UTC


# ---- audio_expiry ----------------------------------------------------------------------------------------------


def _meeting(session, state, *, ended=None, updated=NOW, recorded=True) -> Meeting:
    group = WorkingGroup(name="WG", series_start=dt.date(2026, 1, 1))
    session.add(group)
    session.flush()
    meeting = Meeting(
        group_id=group.id,
        scheduled_start=dt.datetime(2026, 12, 1, 17, tzinfo=UTC),
        state=state,
        ended_at=ended,
        updated_at=updated,
    )
    session.add(meeting)
    session.flush()
    if recorded:
        meeting.recording_dir = f"/recordings/{folder_name(meeting)}"
    return meeting


def test_a_published_meeting_expires_retention_days_after_publishing(sqlite_db):
    with sqlite_db.session() as session:
        published = _meeting(session, MeetingState.published, ended=NOW - dt.timedelta(days=9), updated=NOW)
        expiry = retention.audio_expiry(session, 7)
        assert expiry == {folder_name(published): NOW + dt.timedelta(days=7)}
        assert retention.audio_expiry(session, 0) == {folder_name(published): NOW}


def test_an_unpublished_meeting_expires_after_the_recording_ended_with_a_grace_day(sqlite_db):
    ended = NOW - dt.timedelta(hours=5)
    with sqlite_db.session() as session:
        _meeting(session, MeetingState.recording, ended=ended)  # still recording: never (and the others still count)
        failed = _meeting(session, MeetingState.failed, ended=ended, updated=NOW)
        no_end = _meeting(session, MeetingState.recorded, ended=None, updated=NOW - dt.timedelta(hours=1))
        in_review = _meeting(session, MeetingState.summarized, ended=ended, updated=NOW)
        _meeting(session, MeetingState.recording, ended=ended)  # still recording: never
        _meeting(session, MeetingState.failed, ended=ended, recorded=False)  # no folder: nothing to expire
        expiry = retention.audio_expiry(session, 0)
        assert expiry == {
            folder_name(failed): ended + retention.UNPUBLISHED_GRACE,
            folder_name(no_end): NOW - dt.timedelta(hours=1) + retention.UNPUBLISHED_GRACE,
            folder_name(in_review): ended + retention.UNPUBLISHED_GRACE,
        }
        assert all(moment.tzinfo is not None for moment in expiry.values())
        longer = retention.audio_expiry(session, 3)
        assert longer[folder_name(failed)] == ended + dt.timedelta(days=3)
    assert dt.timedelta(days=1) == retention.UNPUBLISHED_GRACE


def test_recordings_dir_is_the_data_folders_recordings():
    settings = type("S", (), {"storage": type("St", (), {"data_dir": "/srv/wgbot"})()})()
    assert retention.recordings_dir(settings) == Path("/srv/wgbot/recordings")


# ---- purge_expired_audio ---------------------------------------------------------------------------------------


def _recording(root: Path, meeting: str, *, audio=("alice-1.ogg", "bob-2.ogg"), speech=(), manifest=None) -> Path:
    folder = root / meeting
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"meeting": meeting}) if manifest is None else manifest)
    for name in audio:
        (folder / name).write_bytes(b"OggS" + bytes(96))
    for name in speech:
        (folder / name).write_text("what was said\n")
    (folder / "notes.txt").write_text("kept")
    return folder


def test_purge_deletes_audio_and_speech_files_and_writes_a_marker(tmp_path, caplog):
    folder = _recording(tmp_path, "m-1", speech=(LIVE_SEGMENTS, LIVE_TRANSCRIPT, MINUTES_CACHE))
    expired = NOW - dt.timedelta(hours=1)
    with caplog.at_level(logging.INFO, logger="tracker.retention"):
        purged = retention.purge_expired_audio(
            tmp_path, retention_days=3, expires_at={"m-1": expired}.get, now=NOW, speech_files=retention.SPEECH_FILES
        )
    assert caplog.messages == ["deleted the audio of m-1 (5 files, 0.0 MB): its retention ended"]
    assert len(purged) == 1
    item = purged[0]
    assert (item.folder, item.meeting) == (folder, "m-1")
    assert item.files == ["alice-1.ogg", "bob-2.ogg", LIVE_SEGMENTS, LIVE_TRANSCRIPT, MINUTES_CACHE]
    assert item.bytes == 2 * 100 + 3 * len("what was said\n")
    assert sorted(p.name for p in folder.iterdir()) == sorted(["manifest.json", "notes.txt", DELETED_MARKER])
    marker = json.loads((folder / DELETED_MARKER).read_text())
    assert (folder / DELETED_MARKER).read_text().startswith('{\n  "deleted_at": ')
    assert (folder / DELETED_MARKER).read_text().endswith("]\n}\n")
    assert marker == {
        "deleted_at": NOW.isoformat(),
        "expired_at": expired.isoformat(),
        "retention_days": 3,
        "files": sorted(item.files),
    }
    assert stat.S_IMODE((folder / DELETED_MARKER).stat().st_mode) == 0o600
    # Run again: nothing left to delete, nothing reported.
    assert retention.purge_expired_audio(tmp_path, retention_days=3, expires_at={"m-1": expired}.get, now=NOW) == []


def test_the_log_says_the_size_in_megabytes(tmp_path, caplog):
    _recording(tmp_path, "m-big", audio=())
    (tmp_path / "m-big" / "a-1.ogg").write_bytes(bytes(775_000))
    (tmp_path / "m-big" / "b-2.ogg").write_bytes(bytes(775_000))
    with caplog.at_level(logging.INFO, logger="tracker.retention"):
        retention.purge_expired_audio(tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW)
    assert caplog.messages == ["deleted the audio of m-big (2 files, 1.6 MB): its retention ended"]


def test_a_speech_file_named_twice_is_deleted_once(tmp_path):
    folder = _recording(tmp_path, "m-1", speech=(MINUTES_CACHE,))
    purged = retention.purge_expired_audio(
        tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW, speech_files=(MINUTES_CACHE, MINUTES_CACHE)
    )
    assert purged[0].files == ["alice-1.ogg", "bob-2.ogg", MINUTES_CACHE, MINUTES_CACHE]
    assert not (folder / MINUTES_CACHE).exists()


def test_times_are_written_in_utc_whatever_the_local_zone(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        _recording(tmp_path, "m-1")
        plus_two = dt.timezone(dt.timedelta(hours=2))
        retention.purge_expired_audio(
            tmp_path,
            retention_days=1,
            expires_at=lambda m: dt.datetime(2026, 12, 31, 13, tzinfo=plus_two),
            now=dt.datetime(2026, 12, 31, 14, tzinfo=plus_two),
        )
        marker = json.loads((tmp_path / "m-1" / DELETED_MARKER).read_text())
        assert (marker["deleted_at"], marker["expired_at"]) == (
            "2026-12-31T12:00:00+00:00",
            "2026-12-31T11:00:00+00:00",
        )
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_marker_without_a_file_list_is_merged_as_empty(tmp_path):
    folder = _recording(tmp_path, "m-1")
    (folder / DELETED_MARKER).write_text(json.dumps({"deleted_at": "2026-01-01T00:00:00+00:00"}))
    retention.purge_expired_audio(tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW)
    assert json.loads((folder / DELETED_MARKER).read_text())["files"] == ["alice-1.ogg", "bob-2.ogg"]


def test_speech_files_go_only_when_named(tmp_path):
    folder = _recording(tmp_path, "m-1", speech=(MINUTES_CACHE,))
    purged = retention.purge_expired_audio(tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW)
    assert purged[0].files == ["alice-1.ogg", "bob-2.ogg"] and (folder / MINUTES_CACHE).exists()
    # A folder with only what was said left still has something to delete.
    again = retention.purge_expired_audio(
        tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW, speech_files=(MINUTES_CACHE, LIVE_SEGMENTS)
    )
    assert [p.files for p in again] == [[MINUTES_CACHE]]
    marker = json.loads((folder / DELETED_MARKER).read_text())
    assert marker["files"] == sorted(["alice-1.ogg", "bob-2.ogg", MINUTES_CACHE])  # merged with the first deletion


def test_the_expiry_moment_itself_deletes_and_a_moment_before_does_not(tmp_path):
    _recording(tmp_path, "m-1")
    expires = {"m-1": NOW}.get
    before = NOW - dt.timedelta(microseconds=1)
    assert retention.purge_expired_audio(tmp_path, retention_days=1, expires_at=expires, now=before) == []
    assert len(retention.purge_expired_audio(tmp_path, retention_days=1, expires_at=expires, now=NOW)) == 1


def test_times_in_other_zones_and_naive_times_are_compared_as_utc(tmp_path):
    _recording(tmp_path, "m-1")
    _recording(tmp_path, "m-2")
    plus_two = dt.timezone(dt.timedelta(hours=2))
    expiry = {"m-1": dt.datetime(2026, 12, 31, 13, 30, tzinfo=plus_two), "m-2": dt.datetime(2026, 12, 31, 12, 30)}
    now = dt.datetime(2026, 12, 31, 14, 0, tzinfo=plus_two)  # 12:00 UTC
    purged = retention.purge_expired_audio(tmp_path, retention_days=1, expires_at=expiry.get, now=now)
    assert [p.meeting for p in purged] == ["m-1"]  # m-2 expires at 12:30 UTC
    marker = json.loads((tmp_path / "m-1" / DELETED_MARKER).read_text())
    assert marker["deleted_at"] == "2026-12-31T12:00:00+00:00"
    assert marker["expired_at"] == "2026-12-31T11:30:00+00:00"


def test_without_now_the_current_time_is_used(tmp_path):
    _recording(tmp_path, "past")
    _recording(tmp_path, "future")
    real_now = dt.datetime.now(UTC)
    expiry = {"past": real_now - dt.timedelta(minutes=1), "future": real_now + dt.timedelta(hours=1)}
    purged = retention.purge_expired_audio(tmp_path, retention_days=1, expires_at=expiry.get)
    assert [p.meeting for p in purged] == ["past"]


def test_published_at_gives_the_expiry_retention_days_later(tmp_path):
    _recording(tmp_path, "m-old")
    _recording(tmp_path, "m-new")
    _recording(tmp_path, "m-unpublished")
    published = {
        "m-old": NOW - dt.timedelta(days=7),
        "m-new": (NOW - dt.timedelta(days=7, seconds=-1)).replace(tzinfo=None),
    }
    purged = retention.purge_expired_audio(tmp_path, retention_days=7, published_at=published.get, now=NOW)
    assert [p.meeting for p in purged] == ["m-old"]


def test_dry_run_reports_without_deleting(tmp_path):
    folder = _recording(tmp_path, "m-1")
    _recording(tmp_path, "m-2", audio=("carol-3.ogg",))
    purged = retention.purge_expired_audio(tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW, dry_run=True)
    assert [p.files for p in purged] == [["alice-1.ogg", "bob-2.ogg"], ["carol-3.ogg"]]
    assert (folder / "alice-1.ogg").exists() and not (folder / DELETED_MARKER).exists()


def test_folders_that_cannot_be_judged_are_left_alone(tmp_path, caplog):
    _recording(tmp_path, "broken", manifest="{not json")
    _recording(tmp_path, "no-meeting", manifest=json.dumps({"started_at": "x"}))
    _recording(tmp_path, "a-list", manifest="[]")
    _recording(tmp_path, "unknown")  # expires_at says None: keep
    _recording(tmp_path, "no-audio", audio=())
    (tmp_path / "loose.ogg").write_bytes(b"OggS")  # not in a recording folder
    with caplog.at_level(logging.WARNING, logger="tracker.retention"):
        purged = retention.purge_expired_audio(tmp_path, retention_days=0, expires_at={}.get, now=NOW)
    assert purged == []
    assert caplog.text.count("unreadable manifest, its audio is left alone") == 3
    assert (
        f"{tmp_path / 'a-list' / 'manifest.json'}: unreadable manifest, its audio is left alone: " in caplog.messages[0]
    )
    assert caplog.messages[0].endswith("list indices must be integers or slices, not str")
    assert all((tmp_path / name / "alice-1.ogg").exists() for name in ("broken", "no-meeting", "a-list", "unknown"))
    assert (tmp_path / "loose.ogg").exists()


def test_bad_arguments_and_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"^recording.retention_days must be 0 or more, not -1$"):
        retention.purge_expired_audio(tmp_path, retention_days=-1, expires_at=lambda m: NOW)
    with pytest.raises(TypeError, match=r"^purge_expired_audio needs expires_at or published_at$"):
        retention.purge_expired_audio(tmp_path, retention_days=1)
    assert retention.purge_expired_audio(tmp_path / "missing", retention_days=0, expires_at=lambda m: NOW) == []
    (tmp_path / "file").write_text("")
    assert retention.purge_expired_audio(str(tmp_path / "file"), retention_days=0, expires_at=lambda m: NOW) == []


def test_an_unreadable_marker_is_replaced(tmp_path):
    folder = _recording(tmp_path, "m-1")
    (folder / DELETED_MARKER).write_text("{broken")
    retention.purge_expired_audio(tmp_path, retention_days=0, expires_at=lambda m: NOW, now=NOW)
    assert json.loads((folder / DELETED_MARKER).read_text())["files"] == ["alice-1.ogg", "bob-2.ogg"]


def test_purge_uses_the_databases_expiry_and_the_speech_files(sqlite_db, tmp_path, caplog):
    with sqlite_db.session() as session:
        published = _meeting(session, MeetingState.published, updated=NOW - dt.timedelta(days=2))
        waiting = _meeting(session, MeetingState.failed, ended=NOW - dt.timedelta(hours=2))
        names = folder_name(published), folder_name(waiting)
    for name in names:
        _recording(tmp_path, name, speech=(LIVE_TRANSCRIPT + ".tmp",))
    with caplog.at_level(logging.INFO, logger="tracker.retention"):
        purged = retention.purge(sqlite_db, tmp_path, retention_days=1, now=NOW)
    assert [p.meeting for p in purged] == [names[0]]
    assert f"deleted the audio of {names[0]} (3 files, retention over)" in caplog.messages
    assert purged[0].files == ["alice-1.ogg", "bob-2.ogg", LIVE_TRANSCRIPT + ".tmp"]
    assert (tmp_path / names[1] / "alice-1.ogg").exists()


# ---- the opt-out record ----------------------------------------------------------------------------------------


def test_record_merges_and_is_private(tmp_path):
    assert optout.load(tmp_path) == [] and optout.load(None) == [] and optout.load("") == []
    optout.record(tmp_path, 42, speakers=["Bob", ""], tracks=["bob-42.ogg", "", "sub/bob-42b.ogg"])
    optout.record(str(tmp_path), "42", speakers=["Bobby"], tracks=[])
    optout.record(tmp_path, 7)
    path = tmp_path / OPTED_OUT
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / (OPTED_OUT + ".tmp")).exists()
    assert json.loads(path.read_text()) == {
        "opted_out": [
            {"user_id": "42", "speakers": ["Bob", "Bobby"], "tracks": ["bob-42", "bob-42b"]},
            {"user_id": "7", "speakers": [], "tracks": []},
        ]
    }
    assert path.read_text().endswith("}\n") and '\n  "opted_out"' in path.read_text()
    assert optout.load(tmp_path) == [
        optout.OptedOut("42", frozenset({"Bob", "Bobby"}), frozenset({"bob-42", "bob-42b"})),
        optout.OptedOut("7"),
    ]


def test_load_accepts_entries_without_names_and_numeric_ids(tmp_path):
    (tmp_path / OPTED_OUT).write_text(json.dumps({"opted_out": [{"user_id": 5}]}))
    assert optout.load(tmp_path) == [optout.OptedOut("5", frozenset(), frozenset())]


@pytest.mark.parametrize(
    "content", ["{broken", json.dumps({"other": []}), json.dumps({"opted_out": [{"speakers": []}]}), "[1]", "null"]
)
def test_an_unreadable_record_fails_loudly(tmp_path, content):
    (tmp_path / OPTED_OUT).write_text(content)
    with pytest.raises(RuntimeError, match=r"unreadable opt-out record \(") as raised:
        optout.load(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / OPTED_OUT}: ")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_write_private_replaces_atomically(tmp_path, monkeypatch):
    renames = []
    real_replace = os.replace
    monkeypatch.setattr(optout.os, "replace", lambda src, dst: renames.append((src, dst)) or real_replace(src, dst))
    path = tmp_path / "f.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    optout.write_private(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    assert renames == [(tmp_path / "f.json.tmp", path)]


ENTRIES = [optout.OptedOut("42", frozenset({"Bob"}), frozenset({"bob-42"})), optout.OptedOut("9", frozenset({"Zed"}))]


def test_is_theirs_by_name_or_by_track():
    assert optout.is_theirs(ENTRIES, speaker="Bob")
    assert optout.is_theirs(ENTRIES, speaker="Robert", track="recordings/bob-42.ogg")
    assert optout.is_theirs(ENTRIES, speaker="Zed", track="zed.ogg")
    assert not optout.is_theirs(ENTRIES, speaker="Alice", track="alice-1.ogg")
    assert not optout.is_theirs(ENTRIES, speaker="Alice")
    assert not optout.is_theirs([optout.OptedOut("1", tracks=frozenset({""}))], speaker="Alice", track="")
    assert not optout.is_theirs([], speaker="Bob")
    assert optout.speakers_of(ENTRIES) == {"Bob", "Zed"}


def test_scrub_transcript_removes_their_lines_and_keeps_the_rest():
    started = dt.datetime(2026, 12, 3, 17, tzinfo=UTC)
    transcript = Transcript(
        segments=[
            Segment("Alice", 0.0, 1.0, "Hello.", "alice-1"),
            Segment("Bob", 1.0, 2.0, "Mine.", "bob-42"),
            Segment("Speaker 2", 2.0, 3.0, "Also mine.", "bob-42.ogg"),
        ],
        started_at=started,
        duration=3.0,
        warnings=["w"],
    )
    scrubbed, removed = optout.scrub_transcript(transcript, ENTRIES)
    assert removed == 2
    assert [s.text for s in scrubbed.segments] == ["Hello."]
    assert (scrubbed.started_at, scrubbed.duration, scrubbed.warnings) == (started, 3.0, ["w"])
    assert scrubbed.warnings is not transcript.warnings
    same, none = optout.scrub_transcript(transcript, [])
    assert same is transcript and none == 0


def test_scrub_minutes_unassigns_their_items_and_removes_their_words():
    minutes = Minutes(
        summary="s",
        action_items=[
            ActionItem(owner="bob", task="Write docs", at=1.0, excerpt="Bob: I'll write docs\nAlice: thanks"),
            ActionItem(owner="Alice", task="Review", at=2.0, excerpt="Alice: can you, Bob?\nBOB: sure: tomorrow"),
            ActionItem(owner="Alice", task="Ship", at=3.0, excerpt="Alice: I ship it"),
            ActionItem(owner="Alice", task="No excerpt", at=4.0),
            ActionItem(owner="Bob", task="Bob's, unquoted", at=5.0),
            ActionItem(owner="Ann", task="Two lines kept", at=6.0, excerpt="Bob: go\nAnn: ok: done\nCarl: fine"),
        ],
        wishes=[
            Wish(title="Dashboard", at=1.0, excerpt="Bob: a dashboard\nAlice: yes\nCarl: me too"),
            Wish(title="Docs site", at=2.0, excerpt="Alice: a docs site"),
            Wish(title="Colons", at=3.0, excerpt="Bob: see: the docs\nAlice: ok"),
        ],
    )
    scrubbed = optout.scrub_minutes(minutes, ENTRIES)
    assert [(i.owner, i.excerpt) for i in scrubbed.action_items] == [
        (optout.UNASSIGNED, "Alice: thanks"),
        ("Alice", "Alice: can you, Bob?"),
        ("Alice", "Alice: I ship it"),
        ("Alice", ""),
        (optout.UNASSIGNED, ""),
        ("Ann", "Ann: ok: done\nCarl: fine"),
    ]
    assert scrubbed.action_items[2] is minutes.action_items[2]  # untouched items are the same objects
    assert [w.excerpt for w in scrubbed.wishes] == ["Alice: yes\nCarl: me too", "Alice: a docs site", "Alice: ok"]
    assert scrubbed.wishes[1] is minutes.wishes[1]
    assert minutes.action_items[0].owner == "bob"  # the original is not changed
    assert optout.scrub_minutes(minutes, []) is minutes
    assert optout.scrub_minutes(minutes, [optout.OptedOut("3")]) is minutes  # nobody named: nothing to look for
