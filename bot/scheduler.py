"""The meeting jobs: APScheduler 3 (`AsyncIOScheduler`), its jobs in memory and rebuilt from the schedule.

For each upcoming meeting there are up to four one-shot jobs, derived from the schedule (cadence plus skips and
moves) by `plan()`:

  event     `event_days` before the start: create or update the Discord scheduled event
  agenda    `agenda_hours` before: post the agenda (topics, open action items, recent wishes)
  reminder  `reminder_minutes` before: post a reminder with the voice channel's link
  start     at the start: join the voice channel and record

(a setting of 0 turns that job off, except `start`). Job ids are `wg:<meeting key>:<kind>`, the meeting key being its
slot in the series (`s20261203T1700Z`) or, for an ad-hoc meeting, its id (`a42`): moving a meeting moves its jobs,
skipping it removes them. `sync()` reconciles the stored jobs with the plan; it runs at start, after every schedule
change made through the bot, and every hour (`wg:refresh`), which also picks up changes made with the CLI. Because
the plan is derived from the database at every start, the jobs need no store of their own: APScheduler's database
job store would unpickle rows from a shared database (code execution for anyone who can write to it), so the jobs
stay in memory.

Misfires, deliberately: each job's `misfire_grace_time` lasts until its deadline — the meeting's start for the
event, agenda and reminder, its end for `start` — so a bot that was down at the planned time still does the work
while it is useful, and drops it once it is not. `coalesce` folds a backlog of the hourly refresh into one run.
A job whose work is recorded as done (event id on the meeting, announcement `Publication`, meeting state) is not
planned again, and the work itself checks the same records, so nothing happens twice even if a job fires again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import Session

from tracker import discord_state, schedule
from tracker.config import ScheduleSettings
from tracker.models import Meeting, MeetingState, WorkingGroup, as_utc

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

UTC = dt.UTC
JOBS_TABLE = "apscheduler_jobs"  # where versions before the in-memory store kept their jobs (no longer read)
PREFIX = "wg:"
REFRESH_JOB_ID = "wg:refresh"
REFRESH_EVERY = dt.timedelta(hours=1)
RETENTION_JOB_ID = "wg:retention"  # deletes expired recordings (tracker/retention.py); also run at every start
RETENTION_EVERY = dt.timedelta(days=1)
KINDS = ("event", "agenda", "reminder", "start")
STALE_TOLERANCE = dt.timedelta(minutes=1)  # a job firing this much earlier than its meeting now needs is stale

# Job functions are module-level references ("bot.scheduler:run_meeting_job"), so they do not hold the bot; the
# running bot registers itself here when its scheduler starts.
_active: MeetingJobs | None = None


@dataclass(frozen=True)
class PlannedJob:
    kind: str
    key: str  # the meeting: its series slot (s20261203T1700Z) or ad-hoc id (a42)
    run_at: dt.datetime  # aware UTC
    deadline: dt.datetime  # after this the work is pointless

    @property
    def id(self) -> str:
        return f"{PREFIX}{self.key}:{self.kind}"

    @property
    def grace_seconds(self) -> int:
        return max(1, int((self.deadline - self.run_at).total_seconds()))

    @property
    def args(self) -> list[str]:
        return [self.kind, self.key, self.run_at.isoformat()]


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
    raise ValueError(f"unknown job kind {kind!r}")


def is_done(session: Session, kind: str, occ: schedule.Occurrence) -> bool:
    """Whether the work of `kind` for `occ` is on record as done."""
    meeting = session.get(Meeting, occ.meeting_id) if occ.meeting_id is not None else None
    if meeting is None:
        return False
    if kind == "event":
        return meeting.discord_event_id is not None
    if kind in ("agenda", "reminder"):
        return discord_state.posted(session, discord_state.announcement_key(meeting.id, kind)) is not None
    return meeting.state != MeetingState.scheduled


def plan(
    session: Session, group: WorkingGroup, settings: ScheduleSettings, now: dt.datetime, kinds: tuple[str, ...] = KINDS
) -> list[PlannedJob]:
    """The jobs the upcoming meetings need, as of `now`."""
    count = settings.event_days // 7 + 3  # every meeting whose event is due before the next refresh, and then some
    jobs: list[PlannedJob] = []
    for occ in schedule.next_occurrences(session, group, count=count, after=now):
        for kind in kinds:
            times = target_time(kind, occ, settings)
            if times is None:
                continue
            run_at, deadline = times
            if deadline <= now:
                continue
            if run_at <= now and is_done(session, kind, occ):
                continue  # overdue but already done: a job that ran must not be planned again
            jobs.append(PlannedJob(kind, occurrence_key(occ), run_at, deadline))
    return jobs


def find_occurrence(session: Session, group: WorkingGroup, key: str) -> schedule.Occurrence | None:
    """The current state of the meeting a job was planned for (moved, skipped, or gone from the series)."""
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


async def run_meeting_job(kind: str, key: str, planned_for: str) -> None:
    """The job function APScheduler stores: hands over to the running bot."""
    jobs = _active
    if jobs is None:
        log.warning("meeting job %s:%s fired with no bot running; ignored", key, kind)
        return
    await jobs.run(kind, key, dt.datetime.fromisoformat(planned_for))


async def refresh_schedule() -> None:
    if _active is not None:
        await _active.sync(reconcile_events=True)


async def run_retention() -> None:
    if _active is not None:
        await _active.bot.recording.purge_expired_audio()


class MeetingJobs:
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self.settings = bot.settings.schedule
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},  # rebuilt by sync() at every start: nothing to unpickle
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            timezone=UTC,
        )
        self._lock = asyncio.Lock()
        self._running: set[str] = set()  # ids of jobs submitted or working: not to be planned again meanwhile
        self._meeting_locks: dict[str, asyncio.Lock] = {}  # one meeting's jobs run one at a time, in firing order
        self._finished_while_planning: set[str] = set()  # a plan computed before these finished must skip them
        self.scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        # A job past its misfire grace is submitted, then dropped by the executor without running.
        self.scheduler.add_listener(self._ended, EVENT_JOB_MISSED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.done: list[tuple[str, str]] = []  # (kind, key) of the jobs that did their work, in order (status, tests)

    def kinds(self) -> tuple[str, ...]:
        """Only the jobs the configured channels allow."""
        kinds = ["start"]
        if self.bot.voice_channel_id:
            kinds.append("event")
        if self.bot.text_channel_id:
            kinds += ["agenda", "reminder"]
        return tuple(k for k in KINDS if k in kinds)

    def _submitted(self, event: JobSubmissionEvent) -> None:
        if event.job_id.startswith(PREFIX) and event.job_id != REFRESH_JOB_ID:
            self._running.add(event.job_id)

    def _ended(self, event: JobEvent) -> None:
        if event.job_id in self._running and event.code == EVENT_JOB_MISSED:
            log.info("job %s missed its time by more than its grace; dropped", event.job_id)
        self._running.discard(event.job_id)

    def start(self) -> None:
        global _active
        _active = self
        self.scheduler.start()

    def shutdown(self) -> None:
        global _active
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if _active is self:
            _active = None

    async def sync(self, reconcile_events: bool = True) -> list[PlannedJob]:
        """Make the stored jobs match the plan; with `reconcile_events`, bring the Discord events in line too."""
        async with self._lock:
            self._finished_while_planning = set()
            planned = await self.bot.group_call(plan, self.settings, schedule.now(), self.kinds())
            existing = {job.id: job for job in self.scheduler.get_jobs() if job.id.startswith(PREFIX)}
            existing.pop(REFRESH_JOB_ID, None)
            existing.pop(RETENTION_JOB_ID, None)
            for job in planned:
                current = existing.pop(job.id, None)
                if job.id in self._running or job.id in self._finished_while_planning:
                    continue
                if (
                    current is not None
                    and current.next_run_time == job.run_at
                    and list(current.args) == job.args
                    and current.misfire_grace_time == job.grace_seconds
                ):
                    continue
                self.scheduler.add_job(
                    run_meeting_job,
                    trigger=DateTrigger(run_date=job.run_at, timezone=UTC),
                    args=job.args,
                    id=job.id,
                    name=f"{job.kind} for {job.key}",
                    replace_existing=True,
                    misfire_grace_time=job.grace_seconds,
                    coalesce=True,
                    max_instances=1,
                )
                log.debug("planned %s at %s", job.id, job.run_at.isoformat())
            for job_id in existing:  # skipped, cancelled, or done
                self.scheduler.remove_job(job_id)
                log.info("removed job %s: its meeting no longer needs it", job_id)
            for job_id, run, every, name in (
                (REFRESH_JOB_ID, refresh_schedule, REFRESH_EVERY, "rebuild the meeting jobs"),
                (RETENTION_JOB_ID, run_retention, RETENTION_EVERY, "delete expired recordings"),
            ):
                if self.scheduler.get_job(job_id) is None:
                    self.scheduler.add_job(
                        run,
                        trigger=IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
                        id=job_id,
                        name=name,
                        replace_existing=True,
                        coalesce=True,
                        misfire_grace_time=None,
                        max_instances=1,
                    )
        if reconcile_events and self.bot.voice_channel_id:
            await self.bot.events.reconcile()
        return planned

    async def run(self, kind: str, key: str, planned_for: dt.datetime) -> None:
        job_id = f"{PREFIX}{key}:{kind}"
        self._running.add(job_id)
        try:
            async with self._meeting_locks.setdefault(key, asyncio.Lock()):
                await self._run(kind, key, planned_for)
        finally:
            self._running.discard(job_id)
            self._finished_while_planning.add(job_id)

    async def _run(self, kind: str, key: str, planned_for: dt.datetime) -> None:
        try:
            occ = await self.bot.group_call(find_occurrence, key)
            if occ is None or occ.status == "skipped":
                log.info("%s for %s: the meeting is no longer scheduled; nothing to do", kind, key)
                return
            times = target_time(kind, occ, self.settings)
            if times is not None and schedule.now() >= times[1]:
                log.info("%s for %s: too late now (the meeting moved earlier); nothing to do", kind, key)
                return
            if times is None or times[0] - planned_for > STALE_TOLERANCE:
                log.info("%s for %s: the meeting moved since this job was planned; re-planning", kind, key)
                self._running.discard(f"{PREFIX}{key}:{kind}")  # this very job is to be planned anew
                await self.sync(reconcile_events=False)
                return
            if kind == "event":
                await self.bot.events.ensure(occ)
            elif kind == "agenda":
                await self.bot.announcer.post_agenda(occ)
            elif kind == "reminder":
                await self.bot.announcer.post_reminder(occ)
            elif kind == "start":
                await self.bot.recording.start_scheduled(occ)
            self.done.append((kind, key))
        except Exception:
            log.exception("the %s job for meeting %s failed", kind, key)
