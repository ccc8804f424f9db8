"""The pipeline's promise, checked at every commit: a meeting's state and the result that state stands for are
stored in one transaction (never the state first and the result in a later commit), and a failed meeting resumes
from the last step whose result is stored.

The speech and language work is replaced by fixed results here: what is under test is the state machine's
transactions, which the crash drills (test_crash_resume.py) only see when a state appears."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func
from sqlmodel import Session, select

from tracker import pipeline
from tracker.config import load_settings
from tracker.models import Meeting, MeetingState, MinutesRecord, TranscriptSegment, WorkingGroup
from transcripts.types import ActionItem, Minutes, Segment, Transcript

TRANSCRIPT = Transcript(
    segments=[
        Segment("Alice", 0.0, 3.0, "Welcome to the call.", "alice"),
        Segment("Bob", 3.5, 7.0, "I will update the documentation on Friday.", "bob"),
    ],
    duration=7.0,
)
MINUTES = Minutes(
    summary="Bob updates the documentation.",
    action_items=[ActionItem(owner="Bob", task="Update the documentation", due=dt.date(2026, 12, 4), at=3.5)],
)


@pytest.fixture
def fixed_results(monkeypatch):
    monkeypatch.setattr(pipeline, "transcribe_files", lambda *a, **k: TRANSCRIPT)
    monkeypatch.setattr("transcripts.minutes.make_minutes", lambda *a, **k: MINUTES)


def _meeting(db, folder, state=MeetingState.recorded) -> int:
    with db.session() as session:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 1))
        session.add(group)
        session.flush()
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC),
            state=state,
            recording_dir=str(folder) if folder else None,
        )
        session.add(meeting)
        session.flush()
        return meeting.id


def _stored(db, meeting_id: int) -> tuple[MeetingState, int, int]:
    with db.engine.connect() as connection:
        session = Session(bind=connection)
        state = session.get(Meeting, meeting_id).state
        segments = session.exec(
            select(func.count()).select_from(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)
        ).one()
        minutes = session.exec(
            select(func.count()).select_from(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)
        ).one()
        session.close()
    return state, segments, minutes


def test_every_commit_stores_a_state_together_with_its_result(sqlite_db, short_recording, fixed_results):
    meeting_id = _meeting(sqlite_db, short_recording)
    seen: list[tuple[MeetingState, int, int]] = []

    def after_commit(session):
        seen.append(_stored(sqlite_db, meeting_id))

    event.listen(Session, "after_commit", after_commit)
    try:
        final = pipeline.run(sqlite_db, load_settings(), meeting_id)
    finally:
        event.remove(Session, "after_commit", after_commit)

    assert final == MeetingState.published  # nothing configured to publish to
    states = [state for state, _, _ in seen]
    assert MeetingState.transcribed in states and MeetingState.summarized in states
    for state, segments, minutes in seen:
        if state in (MeetingState.transcribed, MeetingState.summarized, MeetingState.published):
            assert segments == len(TRANSCRIPT.segments), (state, segments)
        if state in (MeetingState.summarized, MeetingState.published):
            assert minutes == 1, (state, minutes)
        if state == MeetingState.recorded:
            assert segments == 0 and minutes == 0  # a result without its state would be redone and doubled


@pytest.mark.parametrize(
    ("stored", "resumes_at"),
    [
        ("nothing", MeetingState.recorded),
        ("transcript", MeetingState.transcribed),
        ("minutes", MeetingState.summarized),
    ],
)
def test_a_failed_meeting_resumes_after_its_last_stored_step(
    sqlite_db, short_recording, fixed_results, stored, resumes_at
):
    meeting_id = _meeting(sqlite_db, short_recording)
    pipeline.run(sqlite_db, load_settings(), meeting_id, publish=False)  # up to summarized
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        if stored != "minutes":
            for row in session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)):
                session.delete(row)
        if stored == "nothing":
            for row in session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)):
                session.delete(row)
        meeting.state = MeetingState.failed
        meeting.state_reason = "summarize failed: the model crashed"
        session.add(meeting)
    assert pipeline.retry(sqlite_db, meeting_id) == resumes_at


def test_retry_leaves_a_meeting_that_did_not_fail_alone(sqlite_db, short_recording):
    meeting_id = _meeting(sqlite_db, short_recording, state=MeetingState.transcribed)
    assert pipeline.retry(sqlite_db, meeting_id) == MeetingState.transcribed
    unrecorded = _meeting(sqlite_db, None, state=MeetingState.failed)
    assert pipeline.retry(sqlite_db, unrecorded) == MeetingState.scheduled  # nothing to transcribe yet


def test_a_gap_the_recorder_noted_reaches_the_minutes_notes(sqlite_db, short_recording, fixed_results, tmp_path):
    import shutil

    from transcripts.recording import ManifestGap, read_manifest, write_manifest

    folder = tmp_path / "recording"
    shutil.copytree(short_recording, folder)
    manifest = read_manifest(folder / "manifest.json")
    manifest.gaps = [ManifestGap(start=3.0, end=6.0, note="no audio received from 17:00:03 to 17:00:06 UTC")]
    write_manifest(folder, manifest)
    meeting_id = _meeting(sqlite_db, folder)
    pipeline.run(sqlite_db, load_settings(), meeting_id, publish=False)
    with sqlite_db.session() as session:
        notes = pipeline.load_minutes(session, meeting_id).notes
    assert "Recording: no audio received from 17:00:03 to 17:00:06 UTC." in notes
