"""The meeting timers as database rows (tracker/timers.py), on SQLite and PostgreSQL: planned from the schedule,
moved with a meeting, fired once, dropped past their deadline, fired again only when their work did not happen."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.tracker.group_clock import NEXT_MEETING, NOW, clock, group  # noqa: F401  (fixtures)
from tracker import discord_state, schedule, timers
from tracker.config import load_settings
from tracker.models import Timer

UTC = dt.UTC
SETTINGS = load_settings().schedule  # event a week ahead, agenda a day, reminder an hour
KEY = "s20261203T1700Z"


def replan(db, group, now):
    with db.session() as session:
        return timers.replan(session, session.merge(group), SETTINGS, now)


def claim(db, now):
    with db.session() as session:
        return timers.claim_due(session, now)


def rows(db) -> dict[str, Timer]:
    with db.session() as session:
        return {row.id: row for row in session.exec(select(Timer))}


def test_the_plan_becomes_rows_and_a_move_moves_them_and_arms_them_again(db, group):
    replan(db, group, NOW)
    times = {k: v for k, v in rows(db).items() if k.startswith(f"wg:{KEY}")}
    assert {k: v.run_at for k, v in times.items()} == {
        f"wg:{KEY}:event": NEXT_MEETING - dt.timedelta(days=7),
        f"wg:{KEY}:agenda": NEXT_MEETING - dt.timedelta(days=1),
        f"wg:{KEY}:reminder": NEXT_MEETING - dt.timedelta(hours=1),
        f"wg:{KEY}:start": NEXT_MEETING,
    }
    assert times[f"wg:{KEY}:start"].deadline == NEXT_MEETING + dt.timedelta(hours=1)

    [event] = claim(db, NOW)  # a week ahead is already past: due at once
    assert (event.kind, event.key) == ("event", KEY)
    assert claim(db, NOW) == []  # fired once

    with db.session() as session:
        schedule.reschedule(session, session.merge(group), NEXT_MEETING.date(), NEXT_MEETING + dt.timedelta(hours=2))
    replan(db, group, NOW)
    moved = rows(db)
    assert moved[f"wg:{KEY}:reminder"].run_at == NEXT_MEETING + dt.timedelta(hours=1)
    assert moved[f"wg:{KEY}:event"].fired_at is None  # moved: armed again, to update the event's time
    with db.session() as session:
        schedule.skip(session, session.merge(group), NEXT_MEETING.date())
    replan(db, group, NOW)
    assert not any(k.startswith(f"wg:{KEY}") for k in rows(db))  # skipped: nothing left to fire


def test_a_timer_past_its_deadline_is_dropped_not_fired(db, group):
    replan(db, group, NOW)
    late = NEXT_MEETING + dt.timedelta(minutes=5)  # the bot was down from before the event's time until now
    fired = {(t.kind, t.key) for t in claim(db, late)}
    assert ("start", KEY) in fired  # recording the rest of the meeting is still worth it
    assert not {("event", KEY), ("agenda", KEY), ("reminder", KEY)} & fired  # the rest was for before the start
    left = rows(db)
    assert not {f"wg:{KEY}:{kind}" for kind in ("event", "agenda", "reminder")} & set(left)


def test_work_that_did_not_happen_fires_again_later_and_done_work_is_forgotten(db, group):
    replan(db, group, NOW)
    agenda_time = NEXT_MEETING - dt.timedelta(days=1)
    claim(db, agenda_time)  # event and agenda fired
    replan(db, group, agenda_time + dt.timedelta(minutes=1))
    assert rows(db)[f"wg:{KEY}:agenda"].fired_at is not None  # under way: not fired a second time
    assert claim(db, agenda_time + dt.timedelta(minutes=2)) == []

    later = agenda_time + timers.RETRY_AFTER + dt.timedelta(minutes=1)
    replan(db, group, later)  # still not posted after a while: its work failed
    assert [(t.kind, t.key) for t in claim(db, later)] == [("event", KEY), ("agenda", KEY)]

    with db.session() as session:  # now it is on record
        meeting = schedule.meeting_for(session, session.merge(group), schedule.next_occurrence(session, group))
        discord_state.record_posted(session, meeting.id, discord_state.announcement_key(meeting.id, "agenda"), 1, 2)
        meeting.discord_event_id = 99
        session.add(meeting)
    replan(db, group, later + dt.timedelta(minutes=1))
    assert f"wg:{KEY}:agenda" not in rows(db) and f"wg:{KEY}:event" not in rows(db)


def test_a_restart_arms_what_the_previous_process_fired(db, group):
    replan(db, group, NOW)
    claim(db, NOW)
    with db.session() as session:
        timers.reopen(session)
    assert [(t.kind, t.key) for t in claim(db, NOW)] == [("event", KEY)]


def test_a_fired_timer_for_a_moved_meeting_is_not_wanted_at_its_old_time(db, group):
    replan(db, group, NOW)
    with db.session() as session:
        schedule.reschedule(session, session.merge(group), NEXT_MEETING.date(), NEXT_MEETING + dt.timedelta(days=1))
    reminder = timers.DueTimer("reminder", KEY, NEXT_MEETING - dt.timedelta(hours=1))
    with db.session() as session:
        occ, why = timers.still_wanted(session, session.merge(group), SETTINGS, reminder, reminder.run_at)
    assert occ is None and why == "moved"
    with db.session() as session:
        schedule.skip(session, session.merge(group), (NEXT_MEETING + dt.timedelta(days=1)).date())
        occ, why = timers.still_wanted(session, session.merge(group), SETTINGS, reminder, reminder.run_at)
    assert occ is None and why == "the meeting is no longer scheduled"
