"""Retention as a job: audio (and what was said, derived from it) goes also for meetings that failed or were never
published, counted from the end of the recording; with `retention_days=0` right after publishing; the bot runs the
job at start and every day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import select

from bot.exts.recording import RETENTION_HOURS
from bot.voice.manifest import RecordingFolder
from tests.bot.conftest import eventually, recording_cog
from tests.publishing.conftest import FakeClock, add_meeting, make_publisher, make_settings, store
from tracker import retention
from tracker.models import Meeting, MeetingState, WorkingGroup
from tracker.recording_files import DELETED_MARKER, LIVE_SEGMENTS, MINUTES_CACHE
from tracker.recordings import folder_name
from transcripts.types import Minutes

NOW = dt.datetime(2026, 12, 31, 12, tzinfo=dt.UTC)


def _meeting(db, recordings: Path, state: MeetingState, ended: dt.datetime, updated: dt.datetime) -> Path:
    with db.session() as s:
        group = s.exec(select(WorkingGroup)).first() or WorkingGroup(name="WG", series_start=dt.date(2026, 1, 1))
        s.add(group)
        s.flush()
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=ended - dt.timedelta(hours=1),
            state=state,
            ended_at=ended,
            updated_at=updated,
        )
        s.add(meeting)
        s.flush()
        folder = recordings / folder_name(meeting)
        meeting.recording_dir = str(folder)
    RecordingFolder.open(folder, folder.name, now=ended - dt.timedelta(hours=1))
    (folder / "alice-1.ogg").write_bytes(b"OggS audio")
    (folder / LIVE_SEGMENTS).write_text('{"speaker": "Alice", "text": "I will send the numbers"}\n')
    (folder / MINUTES_CACHE).write_text('{"key": "k", "answer": "numbers"}\n')
    return folder


def _gone(folder: Path) -> bool:
    return not (folder / "alice-1.ogg").exists() and not (folder / LIVE_SEGMENTS).exists()


def test_a_failed_or_never_published_meeting_loses_its_audio_after_the_end_of_the_recording(sqlite_db, tmp_path):
    old = NOW - dt.timedelta(days=31)
    failed = _meeting(sqlite_db, tmp_path, MeetingState.failed, ended=old, updated=old)
    in_review = _meeting(sqlite_db, tmp_path, MeetingState.summarized, ended=old, updated=NOW)
    recent_failure = _meeting(sqlite_db, tmp_path, MeetingState.failed, ended=NOW - dt.timedelta(days=3), updated=NOW)
    recording = _meeting(sqlite_db, tmp_path, MeetingState.recording, ended=old, updated=old)
    purged = retention.purge(sqlite_db, tmp_path, retention_days=30, now=NOW)
    assert sorted(p.folder for p in purged) == sorted([failed, in_review])
    assert _gone(failed) and _gone(in_review) and not (failed / MINUTES_CACHE).exists()
    assert not _gone(recent_failure) and not _gone(recording)
    assert (failed / "manifest.json").exists() and (failed / DELETED_MARKER).exists()


def test_with_no_retention_an_unpublished_meeting_keeps_its_audio_while_the_pipeline_may_need_it(sqlite_db, tmp_path):
    running = _meeting(sqlite_db, tmp_path, MeetingState.recorded, ended=NOW - dt.timedelta(hours=2), updated=NOW)
    published = _meeting(sqlite_db, tmp_path, MeetingState.published, ended=NOW - dt.timedelta(hours=2), updated=NOW)
    purged = retention.purge(sqlite_db, tmp_path, retention_days=0, now=NOW)
    assert [p.folder for p in purged] == [published]
    assert not _gone(running)
    later = NOW + retention.UNPUBLISHED_GRACE
    assert [p.folder for p in retention.purge(sqlite_db, tmp_path, retention_days=0, now=later)] == [running]


def test_with_no_retention_the_audio_goes_right_after_publishing(sqlite_db, discord, monkeypatch):
    monkeypatch.setenv("WGBOT_RECORDING_RETENTION_DAYS", "0")
    settings = make_settings(None, None, discord)
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id, Minutes(summary="Short."), repo=False, forum=False)
    with sqlite_db.session() as s:
        meeting = s.get(Meeting, meeting_id)
        meeting.state = MeetingState.summarized
        folder = retention.recordings_dir(settings) / folder_name(meeting)
        meeting.recording_dir = str(folder)
        meeting.ended_at = dt.datetime.now(dt.UTC)
    RecordingFolder.open(folder, folder.name)
    (folder / "alice-1.ogg").write_bytes(b"OggS audio")
    (folder / MINUTES_CACHE).write_text("{}\n")

    make_publisher(sqlite_db, settings, FakeClock()).drain()
    with sqlite_db.session() as s:
        assert s.get(Meeting, meeting_id).state == MeetingState.published
    assert not (folder / "alice-1.ogg").exists() and not (folder / MINUTES_CACHE).exists()


async def test_the_bot_runs_the_retention_job_at_start_and_schedules_it_daily(clock, bot_factory, sqlite_db, tmp_path):
    now = dt.datetime.now(dt.UTC)
    ended = now - dt.timedelta(days=40)
    failed = _meeting(sqlite_db, tmp_path / "data" / "recordings", MeetingState.failed, ended=ended, updated=ended)
    bot = await bot_factory(sqlite_db)
    await eventually(lambda: _gone(failed), what="the expired recording deleted at start")
    retention_loop = recording_cog(bot).retention
    assert retention_loop.is_running() and retention_loop.hours == RETENTION_HOURS == 24
