"""The meeting timers: work due at a time, kept as database rows (`tracker.models.Timer`).

For each upcoming meeting there are up to four timers, derived from the schedule (cadence plus skips and moves) by
`plan()`:

  event     `event_days` before the start: create or update the Discord scheduled event
  agenda    `agenda_hours` before: post the agenda (topics, open action items, recent wishes)
  reminder  `reminder_minutes` before: post a reminder with the voice channel's link
  start     at the start: join the voice channel and record

(a setting of 0 turns that timer off, except `start`). Timer ids are `wg:<meeting key>:<kind>`, the meeting key being
its slot in the series (`s20261203T1700Z`) or, for an ad-hoc meeting, its id (`a42`): moving a meeting moves its
timers, skipping it removes them. `replan()` makes the rows match the plan; the bot runs it at start, after every
schedule change, and every hour (which picks up changes made with the CLI or another process).

A timer fires once: `claim_due()` marks it fired and the bot hands it to the feature that does the work. Its
deadline — the meeting's start for the event, agenda and reminder, its end for `start` — bounds a bot that was down
at the planned time: it still does the work while it is useful, and drops the timer once it is not. Work that is on
record as done (event id on the meeting, announcement `Publication`, meeting state) is not planned again, and the
work itself checks the same records, so nothing happens twice even if a timer fires again: after a restart
(`reopen()`: the work in flight died with the process) or when its work failed (`RETRY_AFTER`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlmodel import Session, col, select

from tracker import discord_state, schedule
from tracker.config import ScheduleSettings
from tracker.models import Meeting, MeetingState, Timer, WorkingGroup, as_utc

log = logging.getLogger(__name__)

UTC = dt.UTC
PREFIX = "wg:"
KINDS = ("event", "agenda", "reminder", "start")
STALE_TOLERANCE = dt.timedelta(minutes=1)  # a timer firing this much earlier than its meeting now needs is stale
RETRY_AFTER = dt.timedelta(minutes=15)  # a fired timer still in the plan this long after firing: its work failed


@dataclass(frozen=True)
class PlannedTimer:
    kind: str
    key: str  # the meeting: its series slot (s20261203T1700Z) or ad-hoc id (a42)
    run_at: dt.datetime  # aware UTC
    deadline: dt.datetime  # after this the work is pointless

    @property
    def id(self) -> str:
        return timer_id(self.key, self.kind)


@dataclass(frozen=True)
class DueTimer:
    """A claimed timer, detached from its session."""

    kind: str
    key: str
    run_at: dt.datetime


def timer_id(key: str, kind: str) -> str:
    return f"{PREFIX}{key}:{kind}"


def occurrence_key(occ: schedule.Occurrence) -> str:
    if occ.occurrence_start is not None:
        return "s" + occ.occurrence_start.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    return f"a{occ.meeting_id}"


def target_time(
    kind: str, occ: schedule.Occurrence, settings: ScheduleSettings
) -> tuple[dt.datetime, dt.datetime] | None:
    """(when to run, deadline) of `kind` for `occ`, or None when the settings turn it off."""
    if kind == "event":
        return (occ.start - dt.timedelta(days=settings.event_days), occ.start) if settings.event_days else None
    if kind == "agenda":
        return (occ.start - dt.timedelta(hours=settings.agenda_hours), occ.start) if settings.agenda_hours else None
    if kind == "reminder":
        return (
            (occ.start - dt.timedelta(minutes=settings.reminder_minutes), occ.start)
            if settings.reminder_minutes
            else None
        )
    if kind == "start":
        return occ.start, occ.end
    raise ValueError(f"unknown timer kind {kind!r}")


def is_done(session: Session, kind: str, occ: schedule.Occurrence) -> bool:
    """Whether the work of `kind` for `occ` is on record as done."""
    meeting = session.get(Meeting, occ.meeting_id) if occ.meeting_id is not None else None
    if meeting is None or occ.meeting_id is None:
        return False
    if kind == "event":
        return meeting.discord_event_id is not None
    if kind in ("agenda", "reminder"):
        return discord_state.posted(session, discord_state.announcement_key(occ.meeting_id, kind)) is not None
    return meeting.state != MeetingState.scheduled


def plan(
    session: Session, group: WorkingGroup, settings: ScheduleSettings, now: dt.datetime, kinds: tuple[str, ...] = KINDS
) -> list[PlannedTimer]:
    """The timers the upcoming meetings need, as of `now`."""
    count = settings.event_days // 7 + 3  # every meeting whose event is due before the next refresh, and then some
    timers: list[PlannedTimer] = []
    for occ in schedule.next_occurrences(session, group, count=count, after=now):
        for kind in kinds:
            times = target_time(kind, occ, settings)
            if times is None:
                continue
            run_at, deadline = times
            if deadline <= now:
                continue
            if run_at <= now and is_done(session, kind, occ):
                continue  # overdue but already done: a timer that fired must not be planned again
            timers.append(PlannedTimer(kind, occurrence_key(occ), run_at, deadline))
    return timers


def replan(
    session: Session, group: WorkingGroup, settings: ScheduleSettings, now: dt.datetime, kinds: tuple[str, ...] = KINDS
) -> list[PlannedTimer]:
    """Make the timer rows match the plan: new ones added, moved ones moved (and armed again), the ones no meeting
    needs any more (skipped, cancelled, done) deleted. A fired timer keeps its mark unless its work failed."""
    planned = plan(session, group, settings, now, kinds)
    rows = {row.id: row for row in session.exec(select(Timer))}
    for timer in planned:
        row = rows.pop(timer.id, None)
        if row is None:
            session.add(
                Timer(id=timer.id, kind=timer.kind, key=timer.key, run_at=timer.run_at, deadline=timer.deadline)
            )
            log.debug("planned %s at %s", timer.id, timer.run_at.isoformat())
            continue
        if as_utc(row.run_at) != timer.run_at or as_utc(row.deadline) != timer.deadline:
            row.run_at, row.deadline, row.fired_at = timer.run_at, timer.deadline, None
            log.info("moved timer %s to %s", timer.id, timer.run_at.isoformat())
        elif row.fired_at is not None and now - as_utc(row.fired_at) >= RETRY_AFTER:
            log.info("timer %s fired at %s and its work is not done: firing it again", row.id, row.fired_at)
            row.fired_at = None
        session.add(row)
    for row in rows.values():
        session.delete(row)
        log.debug("removed timer %s: its meeting no longer needs it", row.id)
    return planned


def reopen(session: Session) -> None:
    """At start: the work of timers fired by a previous process died with it (its work checks what is done)."""
    for row in session.exec(select(Timer).where(col(Timer.fired_at).is_not(None))):
        row.fired_at = None
        session.add(row)


def next_run_at(session: Session) -> dt.datetime | None:
    """When the next armed timer is due."""
    row = session.exec(select(Timer).where(col(Timer.fired_at).is_(None)).order_by(col(Timer.run_at))).first()
    return as_utc(row.run_at) if row is not None else None


def claim_due(session: Session, now: dt.datetime) -> list[DueTimer]:
    """The armed timers due by `now`, marked fired, in time order; those past their deadline are dropped."""
    due = session.exec(
        select(Timer).where(col(Timer.fired_at).is_(None), col(Timer.run_at) <= now).order_by(col(Timer.run_at))
    ).all()
    claimed = []
    for row in due:
        if as_utc(row.deadline) <= now:
            log.info("timer %s missed its time by more than its deadline; dropped", row.id)
            session.delete(row)
            continue
        row.fired_at = now
        session.add(row)
        claimed.append(DueTimer(row.kind, row.key, as_utc(row.run_at)))
    return claimed


def planned_times(session: Session) -> dict[str, dt.datetime]:
    """The armed timers: id and time (status, tests)."""
    return {row.id: as_utc(row.run_at) for row in session.exec(select(Timer).where(col(Timer.fired_at).is_(None)))}


def find_occurrence(session: Session, group: WorkingGroup, key: str) -> schedule.Occurrence | None:
    """The current state of the meeting a timer was planned for (moved, skipped, or gone from the series)."""
    if key.startswith("a"):
        meeting = session.get(Meeting, int(key[1:]))
        if meeting is None:
            return None
        after = as_utc(meeting.scheduled_start) - dt.timedelta(seconds=1)
        return next(
            (
                o
                for o in schedule.next_occurrences(session, group, count=20, after=after, include_skipped=True)
                if o.meeting_id == meeting.id
            ),
            None,
        )
    slot = dt.datetime.strptime(key[1:], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    # A slot can be moved up to a few days either way; scan the weeks around it.
    candidates = schedule.next_occurrences(
        session, group, count=20, after=slot - dt.timedelta(days=8), include_skipped=True
    )
    return next((o for o in candidates if o.occurrence_start == slot), None)


def still_wanted(
    session: Session, group: WorkingGroup, settings: ScheduleSettings, timer: DueTimer, now: dt.datetime
) -> tuple[schedule.Occurrence | None, str]:
    """The meeting a fired timer is for, if its work is still wanted now; else None and why not ("moved": the
    meeting moved since the timer was planned, so the timers are to be planned again)."""
    occ = find_occurrence(session, group, timer.key)
    if occ is None or occ.status == "skipped":
        return None, "the meeting is no longer scheduled"
    times = target_time(timer.kind, occ, settings)
    if times is not None and now >= times[1]:
        return None, "too late now (the meeting moved earlier)"
    if times is None or times[0] - timer.run_at > STALE_TOLERANCE:
        return None, "moved"
    return occ, ""
