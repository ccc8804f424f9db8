"""Which meeting a recording belongs to, and its state before and after."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.tracker.group_clock import NEXT_MEETING, clock, group  # noqa: F401
from tracker import recordings, schedule
from tracker.models import MeetingState
from tracker.recordings import RecordingError


def test_a_recording_near_the_start_belongs_to_the_scheduled_meeting(db, group, clock, tmp_path):
    clock.move_to(NEXT_MEETING - dt.timedelta(minutes=30))
    with db.session() as session:
        meeting = recordings.begin(session, group, tmp_path)
        assert meeting.occurrence_start == NEXT_MEETING and meeting.state == MeetingState.recording
        assert meeting.recording_dir == str(tmp_path / f"2026.12.03-m{meeting.id}")
        assert meeting.started_at == NEXT_MEETING - dt.timedelta(minutes=30)
        with pytest.raises(RecordingError, match="already recording the meeting of 2026-12-03 17:00 UTC"):
            recordings.begin(session, group, tmp_path)
        assert recordings.status(session, group).recording.id == meeting.id
    clock.move_to(NEXT_MEETING + dt.timedelta(minutes=55))
    with db.session() as session:
        done = recordings.finish(session, meeting.id, ok=True, reason="stopped by Ada")
        assert done.state == MeetingState.recorded and done.ended_at == NEXT_MEETING + dt.timedelta(minutes=55)
        assert recordings.finish(session, meeting.id, ok=False, reason="again").state == MeetingState.recorded
        status = recordings.status(session, group)
        assert status.recording is None and status.last.id == meeting.id


def test_far_from_any_meeting_it_is_an_ad_hoc_meeting(db, group, tmp_path):
    with db.session() as session:
        meeting = recordings.begin(session, group, tmp_path)
        assert meeting.occurrence_start is None and meeting.title.endswith("(unscheduled)")
        failed = recordings.finish(session, meeting.id, ok=False, reason="no audio was recorded")
        assert failed.state == MeetingState.failed and failed.state_reason == "no audio was recorded"


def test_a_finished_meeting_is_not_recorded_again(db, group, clock, tmp_path):
    clock.move_to(NEXT_MEETING)
    with db.session() as session:
        meeting = recordings.begin(session, group, tmp_path)
        recordings.finish(session, meeting.id, ok=True, reason="stopped by Ada")
        with pytest.raises(
            RecordingError, match="the meeting of 2026-12-03 cannot be recorded again \\(it is recorded\\)"
        ):
            recordings.begin(session, group, tmp_path)


def test_recording_on_a_skipped_date_is_ad_hoc(db, group, clock, tmp_path):
    with db.session() as session:
        schedule.skip(session, group, NEXT_MEETING.date())
    clock.move_to(NEXT_MEETING)
    with db.session() as session:
        meeting = recordings.begin(session, group, tmp_path)
        assert meeting.occurrence_start is None and meeting.state == MeetingState.recording
