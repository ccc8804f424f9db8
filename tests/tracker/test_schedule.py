"""The weekly cadence on a UTC clock: occurrences, skip, reschedule, cancel, cadence changes, and the ICS feed."""

from __future__ import annotations

import datetime as dt

import pytest
import recurring_ical_events
from icalendar import Calendar
from sqlmodel import select

from tracker import schedule as sched
from tracker.config import load_settings
from tracker.models import Meeting, MeetingState

UTC = dt.UTC
# Wednesday 2026-12-02 12:00 UTC: the next Thursday is 2026-12-03.
NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    current = {"now": NOW}
    monkeypatch.setattr(sched, "now", lambda: current["now"])
    return current


@pytest.fixture
def group(db, clock):
    with db.session() as session:
        g = sched.ensure_group(session, load_settings())
        g.series_start = dt.date(2026, 11, 1)
        session.add(g)
    return g


def test_default_cadence_is_thursday_1700_utc_for_60_minutes(db, group):
    with db.session() as session:
        occs = sched.next_occurrences(session, group, count=4)
    assert [o.start for o in occs] == [dt.datetime(2026, 12, d, 17, 0, tzinfo=UTC) for d in (3, 10, 17, 24)]
    assert all(o.end - o.start == dt.timedelta(minutes=60) for o in occs)
    assert all(o.status == "scheduled" and o.meeting_id is None for o in occs)


def test_a_meeting_in_progress_is_still_next_until_it_ends(db, group):
    with db.session() as session:
        during = sched.next_occurrence(session, group, after=dt.datetime(2026, 12, 3, 17, 30, tzinfo=UTC))
        after = sched.next_occurrence(session, group, after=dt.datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    assert during.start.date() == dt.date(2026, 12, 3)
    assert after.start.date() == dt.date(2026, 12, 10)


def test_skip_hides_the_occurrence_and_keeps_the_rest(db, group):
    with db.session() as session:
        meeting = sched.skip(session, group, dt.date(2026, 12, 10))
        assert meeting.state == MeetingState.cancelled
        occs = sched.next_occurrences(session, group, count=3)
        with_skipped = sched.next_occurrences(session, group, count=3, include_skipped=True)
    assert [o.start.day for o in occs] == [3, 17, 24]
    assert [(o.start.day, o.status) for o in with_skipped] == [(3, "scheduled"), (10, "skipped"), (17, "scheduled")]


def test_skip_of_a_day_without_meeting_names_the_cadence(db, group):
    with db.session() as session, pytest.raises(sched.ScheduleError, match="no meeting on 2026-12-09.*TH at 17:00"):
        sched.skip(session, group, dt.date(2026, 12, 9))


def test_skip_of_a_past_meeting_is_refused(db, group):
    with db.session() as session, pytest.raises(sched.ScheduleError, match="already over"):
        sched.skip(session, group, dt.date(2026, 11, 26))


def test_reschedule_moves_one_occurrence_and_can_revive_a_skipped_one(db, group):
    new_start = dt.datetime(2026, 12, 11, 15, 30, tzinfo=UTC)
    with db.session() as session:
        sched.skip(session, group, dt.date(2026, 12, 10))
        meeting = sched.reschedule(session, group, dt.date(2026, 12, 10), new_start)
        assert meeting.state == MeetingState.scheduled
        occs = sched.next_occurrences(session, group, count=3)
    assert [(o.start, o.status) for o in occs] == [
        (dt.datetime(2026, 12, 3, 17, 0, tzinfo=UTC), "scheduled"),
        (new_start, "rescheduled"),
        (dt.datetime(2026, 12, 17, 17, 0, tzinfo=UTC), "scheduled"),
    ]
    assert occs[1].occurrence_start == dt.datetime(2026, 12, 10, 17, 0, tzinfo=UTC)


def test_a_rescheduled_meeting_is_found_by_its_new_date_too(db, group):
    with db.session() as session:
        sched.reschedule(session, group, dt.date(2026, 12, 10), dt.datetime(2026, 12, 11, 9, 0, tzinfo=UTC))
        sched.skip(session, group, dt.date(2026, 12, 11))
        occ = sched.next_occurrences(session, group, count=2, include_skipped=True)[1]
    assert occ.status == "skipped" and occ.occurrence_start.day == 10


def test_reschedule_into_the_past_is_refused(db, group):
    with db.session() as session, pytest.raises(sched.ScheduleError, match="past"):
        sched.reschedule(session, group, dt.date(2026, 12, 3), dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


def test_meeting_rows_are_materialized_once(db, group):
    with db.session() as session:
        occ = sched.next_occurrence(session, group)
        first = sched.meeting_for(session, group, occ)
        second = sched.meeting_for(session, group, occ)
        assert first.id == second.id
        again = sched.next_occurrence(session, group)
        assert again.meeting_id == first.id


def test_cancel_series_ends_it(db, group):
    with db.session() as session:
        sched.cancel_series(session, group, dt.date(2026, 12, 17))
        occs = sched.next_occurrences(session, group, count=10)
    assert [o.start.day for o in occs] == [3, 10]


def test_change_of_cadence_moves_planned_meetings_to_the_new_slot(db, group):
    with db.session() as session:
        sched.skip(session, group, dt.date(2026, 12, 17))
        sched.set_cadence(session, group, weekday=1, start_time=dt.time(16, 0), duration_minutes=90)
        occs = sched.next_occurrences(session, group, count=3, include_skipped=True)
        moved = session.exec(select(Meeting)).one()
    assert [(o.start, o.status) for o in occs] == [
        (dt.datetime(2026, 12, 8, 16, 0, tzinfo=UTC), "scheduled"),
        (dt.datetime(2026, 12, 15, 16, 0, tzinfo=UTC), "skipped"),
        (dt.datetime(2026, 12, 22, 16, 0, tzinfo=UTC), "scheduled"),
    ]
    assert moved.occurrence_start == dt.datetime(2026, 12, 15, 16, 0, tzinfo=UTC)
    assert all(o.end - o.start == dt.timedelta(minutes=90) for o in occs)


def test_a_fully_skipped_far_future_does_not_loop_forever(db, group):
    with db.session() as session:
        sched.cancel_series(session, group, dt.date(2026, 12, 1))
        assert sched.next_occurrences(session, group, count=5) == []


# ---- ICS ------------------------------------------------------------------------------------------------------


def _events_between(ics: bytes, start: dt.datetime, end: dt.datetime):
    calendar = Calendar.from_ical(ics)
    return sorted(recurring_ical_events.of(calendar).between(start, end), key=lambda e: e["DTSTART"].dt)


def test_ics_round_trip_through_icalendar_matches_the_schedule(db, group):
    with db.session() as session:
        sched.skip(session, group, dt.date(2026, 12, 10))
        sched.reschedule(session, group, dt.date(2026, 12, 17), dt.datetime(2026, 12, 18, 15, 0, tzinfo=UTC))
        ics = sched.to_ics(session, group, feed_url="https://wg.example.org/calendar.ics")
        expected = sched.next_occurrences(session, group, count=5)

    calendar = Calendar.from_ical(ics)
    assert str(calendar["VERSION"]) == "2.0" and "wgbot" in str(calendar["PRODID"])
    master = [c for c in calendar.walk("VEVENT") if "RRULE" in c][0]
    assert master["RRULE"]["FREQ"] == ["WEEKLY"] and master["RRULE"]["BYDAY"] == ["TH"]
    assert master["DTSTART"].dt.tzinfo is not None and master["DTSTART"].dt.utcoffset() == dt.timedelta(0)
    exdates = (
        [d.dt for d in master["EXDATE"].dts]
        if not isinstance(master["EXDATE"], list)
        else [d.dt for e in master["EXDATE"] for d in e.dts]
    )
    assert dt.datetime(2026, 12, 10, 17, 0, tzinfo=UTC) in exdates
    override = [c for c in calendar.walk("VEVENT") if "RECURRENCE-ID" in c][0]
    assert override["RECURRENCE-ID"].dt == dt.datetime(2026, 12, 17, 17, 0, tzinfo=UTC)
    assert override["UID"] == master["UID"]

    # What a calendar app would show equals what wgbot will do.
    shown = _events_between(ics, NOW, dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert [e["DTSTART"].dt for e in shown] == [o.start for o in expected if o.start.year == 2026]


def test_ics_ends_with_a_cancelled_series(db, group):
    with db.session() as session:
        sched.cancel_series(session, group, dt.date(2026, 12, 17))
        ics = sched.to_ics(session, group)
    shown = _events_between(ics, NOW, dt.datetime(2027, 3, 1, tzinfo=UTC))
    assert [e["DTSTART"].dt.day for e in shown] == [3, 10]
