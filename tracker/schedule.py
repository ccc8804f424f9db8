"""The weekly cadence and its exceptions: next occurrences, skip, reschedule, cancel, and the ICS calendar.

The series lives on the WorkingGroup row (weekday, start time and duration, all UTC; first and last date).
An occurrence that was touched — skipped, rescheduled, given an agenda, recorded — has a Meeting row keyed by its
slot in the series (`occurrence_start`, which the ICS feed calls RECURRENCE-ID). Everything else is computed.
Datetimes are timezone-aware UTC throughout, in this API and in the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from icalendar import Calendar, Event, vRecur
from sqlmodel import Session, col, select

from tracker.models import AgendaItem, Meeting, MeetingState, WorkingGroup, as_utc, saved_id, utcnow
from transcripts.errors import UserError

if TYPE_CHECKING:
    from tracker.config import Settings

UTC = dt.UTC
WEEKDAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
MAX_SCAN_WEEKS = 520  # ten years of slots: a bound, so a fully skipped series cannot loop forever


class ScheduleError(UserError, ValueError):
    """A schedule request that cannot be honoured; the message is fit to show a user."""


@dataclass(frozen=True)
class Occurrence:
    occurrence_start: dt.datetime | None  # the slot in the series; None for an ad-hoc meeting
    start: dt.datetime
    end: dt.datetime
    title: str
    meeting_id: int | None
    status: Literal["scheduled", "rescheduled", "skipped"]


def now() -> dt.datetime:
    return as_utc(utcnow())


# ---- the working group ---------------------------------------------------------------------------------------


def ensure_group(session: Session, settings: Settings) -> WorkingGroup:
    """The working group row, created from the settings on first use.

    Discord, GitHub and forum ids follow the settings on every start; the cadence is taken from the settings only
    when the group is created — after that it lives in the database (`set_cadence`, `wgbot schedule set`).
    """
    group = session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).first()
    if group is None:
        sched = settings.schedule
        group = WorkingGroup(
            name=settings.group.name,
            weekday=sched.weekday_index,
            start_time=sched.time.replace(tzinfo=None),
            duration_minutes=sched.duration_minutes,
            title=sched.title,
            series_start=now().date(),
        )
    group.guild_id = settings.discord.guild_id
    group.text_channel_id = settings.discord.text_channel_id
    group.voice_channel_id = settings.discord.voice_channel_id
    group.organizer_role_id = settings.discord.organizer_role_id
    group.github_repo = settings.github.repo
    group.forum_topic_id = settings.forum.topic_id
    group.review_mode = settings.group.review_mode
    session.add(group)
    session.flush()
    return group


def set_cadence(
    session: Session, group: WorkingGroup, weekday: int, start_time: dt.time, duration_minutes: int
) -> WorkingGroup:
    """Change the weekly slot. Future meetings already planned (agenda, skip) move to the new slot of their week."""
    if not 0 <= weekday <= 6:
        raise ScheduleError("weekday must be 0 (Monday) to 6 (Sunday)")
    if not 5 <= duration_minutes <= 24 * 60:
        raise ScheduleError("duration must be between 5 minutes and 24 hours")
    current = now()
    future = [m for m in _series_meetings(session, group) if _slot_of(m) > current]
    group.weekday, group.start_time, group.duration_minutes = weekday, start_time.replace(tzinfo=None), duration_minutes
    group.series_start = current.date()
    for meeting in future:
        old_slot = _slot_of(meeting)
        monday = old_slot.date() - dt.timedelta(days=old_slot.weekday())
        new_slot = _slot(group, monday + dt.timedelta(days=weekday))
        was_moved = old_slot != as_utc(meeting.scheduled_start)
        meeting.occurrence_start = new_slot
        if not was_moved:
            meeting.scheduled_start = new_slot
        meeting.duration_minutes = duration_minutes
        meeting.updated_at = utcnow()
        session.add(meeting)
    session.add(group)
    session.flush()
    return group


# ---- occurrences ---------------------------------------------------------------------------------------------


def _slot(group: WorkingGroup, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, group.start_time, tzinfo=UTC)


def _first_slot_on_or_after(group: WorkingGroup, day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(group.weekday - day.weekday()) % 7)


def _in_series(group: WorkingGroup, day: dt.date) -> bool:
    return (
        day.weekday() == group.weekday
        and day >= group.series_start
        and (group.series_end is None or day < group.series_end)
    )


def _series_meetings(session: Session, group: WorkingGroup) -> list[Meeting]:
    return list(
        session.exec(select(Meeting).where(Meeting.group_id == group.id, col(Meeting.occurrence_start).is_not(None)))
    )


def _slot_of(meeting: Meeting) -> dt.datetime:
    """The slot of a meeting of the weekly series (`_series_meetings` selects only meetings that have one)."""
    if meeting.occurrence_start is None:
        raise ValueError(f"meeting {meeting.id} is not a slot of the weekly series")
    return as_utc(meeting.occurrence_start)


def _adhoc_meetings(session: Session, group: WorkingGroup) -> list[Meeting]:
    """Meetings outside the weekly series (started with /meeting start at another time), not cancelled."""
    return list(
        session.exec(
            select(Meeting).where(
                Meeting.group_id == group.id,
                col(Meeting.occurrence_start).is_(None),
                Meeting.state != MeetingState.cancelled,
            )
        )
    )


def _occurrence(meeting: Meeting | None, group: WorkingGroup, slot: dt.datetime | None) -> Occurrence:
    if meeting is None:
        assert slot is not None
        return Occurrence(
            slot, slot, slot + dt.timedelta(minutes=group.duration_minutes), group.title, None, "scheduled"
        )
    start = as_utc(meeting.scheduled_start)
    status: Literal["scheduled", "rescheduled", "skipped"]
    if meeting.state == MeetingState.cancelled:
        status = "skipped"
    elif slot is not None and start != slot:
        status = "rescheduled"
    else:
        status = "scheduled"
    return Occurrence(
        slot, start, start + dt.timedelta(minutes=meeting.duration_minutes), meeting.title, meeting.id, status
    )


def next_occurrences(
    session: Session,
    group: WorkingGroup,
    count: int = 5,
    after: dt.datetime | None = None,
    include_skipped: bool = False,
) -> list[Occurrence]:
    """The next `count` meetings that have not ended by `after` (default: now), in start order."""
    after = as_utc(after) if after else now()
    by_slot = {as_utc(m.occurrence_start): m for m in _series_meetings(session, group)}
    # Start a week back: an earlier slot may have been rescheduled to after `after`.
    day = _first_slot_on_or_after(group, max(group.series_start, after.date() - dt.timedelta(days=7)))
    found: list[Occurrence] = []
    for _ in range(MAX_SCAN_WEEKS):
        if not _in_series(group, day):
            break
        slot = _slot(group, day)
        occ = _occurrence(by_slot.get(slot), group, slot)
        if occ.end > after and (include_skipped or occ.status != "skipped"):
            found.append(occ)
        # A slot may be rescheduled up to a week later; keep scanning a little past `count`.
        if len(found) >= count and slot > max(o.start for o in found):
            break
        day += dt.timedelta(days=7)
    for meeting in _adhoc_meetings(session, group):
        occ = _occurrence(meeting, group, None)
        if occ.end > after:
            found.append(occ)
    found.sort(key=lambda o: o.start)
    return found[:count]


def next_occurrence(session: Session, group: WorkingGroup, after: dt.datetime | None = None) -> Occurrence | None:
    found = next_occurrences(session, group, count=1, after=after)
    return found[0] if found else None


def meeting_for(session: Session, group: WorkingGroup, occurrence: Occurrence) -> Meeting:
    """The Meeting row of an occurrence, created when first needed."""
    if occurrence.meeting_id is not None:
        meeting = session.get(Meeting, occurrence.meeting_id)
        if meeting is not None:
            return meeting
    assert occurrence.occurrence_start is not None
    existing = session.exec(
        select(Meeting).where(
            Meeting.group_id == group.id, Meeting.occurrence_start == as_utc(occurrence.occurrence_start)
        )
    ).first()
    if existing:
        return existing
    meeting = Meeting(
        group_id=saved_id(group),
        occurrence_start=as_utc(occurrence.occurrence_start),
        scheduled_start=as_utc(occurrence.start),
        duration_minutes=group.duration_minutes,
        title=group.title,
    )
    session.add(meeting)
    session.flush()
    return meeting


def occurrence_on(session: Session, group: WorkingGroup, day: dt.date) -> Occurrence:
    """The series occurrence whose slot, or whose rescheduled start, falls on `day`."""
    after = dt.datetime.combine(day - dt.timedelta(days=8), dt.time(), tzinfo=UTC)
    for occ in next_occurrences(session, group, count=3, after=after, include_skipped=True):
        if occ.occurrence_start and (occ.occurrence_start.date() == day or occ.start.date() == day):
            return occ
    weekday = WEEKDAY_CODES[group.weekday]
    raise ScheduleError(
        f"there is no meeting on {day.isoformat()} (meetings are on {weekday} at {group.start_time:%H:%M} UTC)"
    )


def skip(session: Session, group: WorkingGroup, day: dt.date) -> Meeting:
    occ = occurrence_on(session, group, day)
    if occ.end <= now():
        raise ScheduleError(f"the meeting of {day.isoformat()} is already over")
    meeting = meeting_for(session, group, occ)
    if meeting.state not in (MeetingState.scheduled, MeetingState.cancelled):
        raise ScheduleError(f"the meeting of {day.isoformat()} has already started ({meeting.state.value})")
    meeting.state = MeetingState.cancelled
    meeting.state_reason = "skipped"
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    return meeting


def reschedule(session: Session, group: WorkingGroup, day: dt.date, new_start: dt.datetime) -> Meeting:
    occ = occurrence_on(session, group, day)
    if as_utc(new_start) <= now():
        raise ScheduleError("the new time is in the past")
    meeting = meeting_for(session, group, occ)
    if meeting.state not in (MeetingState.scheduled, MeetingState.cancelled):
        raise ScheduleError(f"the meeting of {day.isoformat()} has already started ({meeting.state.value})")
    meeting.scheduled_start = as_utc(new_start)
    meeting.state = MeetingState.scheduled  # rescheduling a skipped meeting brings it back
    meeting.state_reason = None
    meeting.updated_at = utcnow()
    session.add(meeting)
    session.flush()
    return meeting


def cancel_series(session: Session, group: WorkingGroup, from_day: dt.date) -> WorkingGroup:
    """End the series: no meetings on or after `from_day`."""
    group.series_end = from_day
    session.add(group)
    session.flush()
    return group


# ---- calendar ------------------------------------------------------------------------------------------------


def _series_uid(group: WorkingGroup) -> str:
    return f"wgbot-series-{group.id}@wgbot"


SEQUENCE_EPOCH = dt.datetime(2024, 1, 1, tzinfo=UTC)


def _sequence(when: dt.datetime | dt.date) -> int:
    """An ICS SEQUENCE that grows with every change: minutes since 2024 of the last change (a move, a new cadence),
    so subscribed calendars take a moved meeting as newer than what they hold."""
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time(), tzinfo=UTC)
    return max(0, int((as_utc(when) - SEQUENCE_EPOCH).total_seconds() // 60))


def join_url(group: WorkingGroup) -> str | None:
    """The voice channel's address: Discord opens the channel (and offers to join) from it."""
    if group.guild_id and group.voice_channel_id:
        return f"https://discord.com/channels/{group.guild_id}/{group.voice_channel_id}"
    return None


def _describe(
    event: Event, group: WorkingGroup, page: str | None, agenda: list[str], join: str | None, sequence: int
) -> None:
    """What makes the calendar entry enough to join: the voice channel (URL, LOCATION), the agenda and the
    meeting's page (DESCRIPTION), and a SEQUENCE that grows when the meeting moves."""
    lines = []
    if join:
        event.add("url", join)
        event.add("location", f"Discord voice channel: {join}")
        lines.append(f"Join the call: {join}")
    if page:
        lines.append(f"Meeting page: {page}")
    if agenda:
        lines += ["", "Agenda:"] + [f"- {topic}" for topic in agenda]
    else:
        lines += ["", "Agenda: add topics with /agenda add in Discord."]
    event.add("description", "\n".join(lines).strip())
    event.add("sequence", sequence)


def to_ics(session: Session, group: WorkingGroup, feed_url: str | None = None, site_url: str | None = None) -> bytes:
    """The whole schedule as an iCalendar feed: one weekly series with its exceptions, plus ad-hoc meetings.

    Every event names the voice channel and, with `site_url` (the web home, ending in /), links to the meeting's
    page (`meetings/YYYY-MM-DD/`). A series meeting that moved or has an agenda is its own override event."""
    cal = Calendar()
    cal.add("prodid", "-//wgbot//working group schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", group.name)
    cal.add("x-wr-timezone", "UTC")
    if feed_url:
        cal.add("url", feed_url)
    stamp = now()
    join = join_url(group)

    def page(day: dt.date) -> str | None:
        return f"{site_url}meetings/{day.isoformat()}/" if site_url else None

    series = sorted(_series_meetings(session, group), key=_slot_of)
    adhoc = _adhoc_meetings(session, group)
    ids = [saved_id(m) for m in series + adhoc]
    agendas: dict[int, list[str]] = {}
    if ids:
        for item in session.exec(
            select(AgendaItem).where(col(AgendaItem.meeting_id).in_(ids)).order_by(col(AgendaItem.id))
        ):
            agendas.setdefault(item.meeting_id, []).append(item.topic)

    first_day = _first_slot_on_or_after(group, group.series_start)
    duration = dt.timedelta(minutes=group.duration_minutes)
    series_sequence = _sequence(group.series_start)
    master = Event()
    master.add("uid", _series_uid(group))
    master.add("dtstamp", stamp)
    master.add("summary", group.title)
    master.add("dtstart", _slot(group, first_day))
    master.add("dtend", _slot(group, first_day) + duration)
    rule: dict[str, str | dt.datetime] = {"freq": "weekly", "byday": WEEKDAY_CODES[group.weekday]}
    if group.series_end:
        # UNTIL is inclusive; the series ends before series_end.
        rule["until"] = _slot(group, group.series_end) - dt.timedelta(seconds=1)
    master.add("rrule", vRecur(rule))
    _describe(master, group, site_url, [], join, series_sequence)
    cal.add_component(master)

    overrides: list[Event] = []
    for meeting in series:
        slot = _slot_of(meeting)
        if not _in_series(group, slot.date()) or slot.time().replace(tzinfo=None) != group.start_time:
            continue  # a slot of an older cadence
        if meeting.state == MeetingState.cancelled:
            master.add("exdate", slot)
            continue
        moved = as_utc(meeting.scheduled_start) != slot or meeting.duration_minutes != group.duration_minutes
        if moved or agendas.get(saved_id(meeting)):
            start = as_utc(meeting.scheduled_start)
            override = Event()
            override.add("uid", _series_uid(group))
            override.add("dtstamp", stamp)
            override.add("recurrence-id", slot)
            override.add("summary", meeting.title)
            override.add("dtstart", start)
            override.add("dtend", start + dt.timedelta(minutes=meeting.duration_minutes))
            sequence = max(series_sequence, _sequence(meeting.updated_at)) if moved else series_sequence
            _describe(override, group, page(start.date()), agendas.get(saved_id(meeting), []), join, sequence)
            overrides.append(override)
    for override in overrides:
        cal.add_component(override)

    for meeting in adhoc:
        start = as_utc(meeting.scheduled_start)
        event = Event()
        event.add("uid", f"wgbot-meeting-{meeting.id}@wgbot")
        event.add("dtstamp", stamp)
        event.add("summary", meeting.title)
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(minutes=meeting.duration_minutes))
        _describe(
            event, group, page(start.date()), agendas.get(saved_id(meeting), []), join, _sequence(meeting.updated_at)
        )
        cal.add_component(event)
    return cal.to_ical()
