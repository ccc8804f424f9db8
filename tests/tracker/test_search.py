"""Reading the past: minutes by date, and word search over transcripts and minutes (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.tracker.group_clock import clock, group  # noqa: F401
from tracker import search
from tracker.models import (
    Meeting,
    MeetingState,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    TranscriptSegment,
)
from tracker.search import SearchError

UTC = dt.UTC


@pytest.fixture
def archive(db, group):
    with db.session() as session:
        older = Meeting(
            group_id=group.id, scheduled_start=dt.datetime(2026, 11, 19, 17, tzinfo=UTC), state=MeetingState.published
        )
        newer = Meeting(
            group_id=group.id, scheduled_start=dt.datetime(2026, 11, 26, 17, tzinfo=UTC), state=MeetingState.published
        )
        pending = Meeting(
            group_id=group.id, scheduled_start=dt.datetime(2026, 11, 12, 17, tzinfo=UTC), state=MeetingState.transcribed
        )
        session.add_all([older, newer, pending])
        session.flush()
        session.add_all(
            [
                MinutesRecord(
                    meeting_id=older.id,
                    summary="Discussed the café budget.",
                    long_summary="Long.",
                    decisions=["Move CI to self-hosted runners"],
                ),
                MinutesRecord(
                    meeting_id=newer.id,
                    summary="Release 2.0 planning.",
                    long_summary="Longer.",
                    next_topics=["Budget review"],
                ),
                TranscriptSegment(
                    meeting_id=older.id,
                    speaker="Ada",
                    start=61.0,
                    end=65.0,
                    text="The budget for the runners is 100% approved, says finance.",
                ),
                TranscriptSegment(
                    meeting_id=newer.id,
                    speaker="Bob",
                    start=5.0,
                    end=9.0,
                    text="Before the release we need the Budget numbers.",
                ),
                TranscriptSegment(meeting_id=newer.id, speaker="Ada", start=1.0, end=3.0, text="Hello everyone."),
                Publication(
                    meeting_id=newer.id,
                    kind=PublicationKind.archive,
                    target="o/r",
                    idempotency_key="m-archive",
                    state=PublicationState.done,
                    external_url="https://github.com/o/r/blob/main/meetings/2026.11.26/README.md",
                ),
            ]
        )
        return {"older": older.id, "newer": newer.id}


def test_every_word_must_match_newest_meeting_first(db, group, archive):
    with db.session() as session:
        hits = search.search(session, group, "BUDGET release")
        assert [(h.meeting_id, h.kind) for h in hits] == [
            (archive["newer"], "minutes"),
            (archive["newer"], "transcript"),
        ]
        budget = search.search(session, group, "budget")
        assert [(h.meeting_id, h.kind, h.speaker) for h in budget] == [
            (archive["newer"], "minutes", None),
            (archive["newer"], "transcript", "Bob"),
            (archive["older"], "minutes", None),
            (archive["older"], "transcript", "Ada"),
        ]
        assert budget[3].at == 61.0 and "100% approved" in budget[3].snippet
        assert [h.kind for h in search.search(session, group, "self-hosted")] == ["minutes"]  # inside decisions
        assert search.search(session, group, "100%") and not search.search(session, group, "10_%")  # literal
        assert search.search(session, group, "kubernetes") == []
        with pytest.raises(SearchError, match="give at least one word"):
            search.search(session, group, "a ! ?")


def test_snippets_are_cut_around_the_word():
    text = "word " * 100 + "NEEDLE in the middle " + "word " * 100
    cut = search.snippet(text, ["needle"], width=60)
    assert cut.startswith("…") and cut.endswith("…") and "NEEDLE" in cut and len(cut) <= 62


def test_minutes_by_date_or_the_latest(db, group, archive):
    with db.session() as session:
        latest = search.minutes_for(session, group)
        assert latest.meeting.id == archive["newer"] and latest.archive_url.endswith("2026.11.26/README.md")
        older = search.minutes_for(session, group, dt.date(2026, 11, 19))
        assert older.minutes.decisions == ["Move CI to self-hosted runners"] and older.archive_url is None
        with pytest.raises(SearchError, match="the meeting of 2026-11-12 has no minutes yet \\(transcribed\\)"):
            search.minutes_for(session, group, dt.date(2026, 11, 12))
        with pytest.raises(SearchError, match="there was no meeting on 2026-11-13"):
            search.minutes_for(session, group, dt.date(2026, 11, 13))
        assert search.days_with_minutes(session, group) == [dt.date(2026, 11, 26), dt.date(2026, 11, 19)]
