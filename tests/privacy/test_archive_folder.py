"""The archive folder of a meeting is fixed when it is first published: a meeting with a lower id moved onto the same
day later must not take it over (and overwrite the published minutes)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.publishing.conftest import (
    MEETING_START,
    MINUTES,
    FakeClock,
    add_meeting,
    make_publisher,
    make_settings,
    store,
)
from tracker.models import Meeting, Publication, PublicationKind


def _archive_row(db, meeting_id: int) -> Publication:
    with db.session() as s:
        return s.exec(
            select(Publication).where(Publication.meeting_id == meeting_id, Publication.kind == PublicationKind.archive)
        ).one()


def test_a_lower_id_meeting_moved_onto_a_published_day_gets_its_own_folder(sqlite_db, github):
    settings = make_settings(github, None, None)
    later = add_meeting(sqlite_db, MEETING_START + dt.timedelta(days=7))  # lower id, a week later for now
    published = add_meeting(sqlite_db, MEETING_START)
    assert later < published
    store(sqlite_db, published, MINUTES, forum=False, discord=False)
    make_publisher(sqlite_db, settings, FakeClock()).drain()
    assert _archive_row(sqlite_db, published).external_id == "meetings/2024.03.07"
    first = github.file_text("meetings/2024.03.07/README.md")
    assert "RFC draft" in first

    with sqlite_db.session() as s:  # rescheduled onto the published meeting's day
        moved = s.get(Meeting, later)
        moved.scheduled_start = moved.occurrence_start = MEETING_START + dt.timedelta(hours=2)
    other = MINUTES.model_copy(update={"summary": "The moved meeting.", "long_summary": "The moved meeting."})
    store(sqlite_db, later, other, forum=False, discord=False)
    make_publisher(sqlite_db, settings, FakeClock()).drain()

    assert _archive_row(sqlite_db, later).external_id == "meetings/2024.03.07-2"
    assert github.file_text("meetings/2024.03.07/README.md") == first  # untouched
    assert "The moved meeting." in github.file_text("meetings/2024.03.07-2/README.md")
    assert _archive_row(sqlite_db, published).external_id == "meetings/2024.03.07"
