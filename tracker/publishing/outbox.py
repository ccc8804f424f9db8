"""The outbox: every outward effect of a meeting is a `publication` row, and the publisher drains them.

A row is attempted when it is due (`next_attempt_at`) and the rows it links to are done: a meeting's issues first,
then its archive (which links the issues), then the forum post (issues + archive), then the Discord message (all of
them). Each attempt is counted in the database *before* anything is sent, so after a crash or an unknown outcome the
next attempt knows to look for what the earlier one may have created (by its hidden marker) instead of creating it
again. Failures are retried with exponential backoff and jitter (or after the wait a rate-limited server asked for)
until `max_attempts`, then the row is `failed` with its last error; `wgbot publish --retry-failed` gives it another
round. When a row is re-published in place, the done rows that embed its links are re-rendered (edited, not
re-posted). One publisher runs at a time (see lock.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from tracker import retention
from tracker.config import Settings
from tracker.db import Database
from tracker.models import Meeting, MeetingState, Publication, PublicationKind, PublicationState, saved_id, utcnow
from tracker.publishing.clients import Clients
from tracker.publishing.errors import NotReady, PermanentError, PublishError, RetryLater, redact
from tracker.publishing.handlers import make_handlers
from tracker.publishing.lock import PublisherBusy, PublisherLock

log = logging.getLogger(__name__)

# Publication order inside a meeting: a row waits for every row of a lower rank.
RANK = {
    PublicationKind.action_issue: 0,
    PublicationKind.wish_issue: 0,
    PublicationKind.archive: 1,
    PublicationKind.forum_post: 2,
    PublicationKind.discord_message: 3,
    PublicationKind.issue_update: 1,  # after the item's issue is filed (its row carries the item's meeting)
}


# ---- writing rows --------------------------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    kind: PublicationKind,
    target: str,
    key: str,
    meeting_id: int | None = None,
    subject_id: int | None = None,
) -> Publication:
    """The row for `key`, created pending if it does not exist yet (the caller's transaction commits it)."""
    existing = session.exec(select(Publication).where(Publication.idempotency_key == key)).first()
    if existing is not None:
        return existing
    row = Publication(kind=kind, target=target, idempotency_key=key, meeting_id=meeting_id, subject_id=subject_id)
    session.add(row)
    session.flush()
    return row


def republish(session: Session, rows: Iterable[Publication], now: dt.datetime | None = None) -> int:
    """Publish done rows again, in place (their external id stays: the issue/post/file is edited, not recreated)."""
    now = now or utcnow()
    count = 0
    for row in rows:
        if row.state != PublicationState.done:
            continue
        row.state = PublicationState.pending
        row.attempts = 0
        row.next_attempt_at = now
        row.updated_at = now
        session.add(row)
        count += 1
    return count


def retry_failed(session: Session, now: dt.datetime | None = None) -> int:
    """Give every failed row a new round of attempts. `last_error` stays until it succeeds, which also tells the
    next attempt that something may already exist (it looks for the marker first)."""
    now = now or utcnow()
    rows = [
        r
        for r in session.exec(select(Publication).where(Publication.state == PublicationState.failed)).all()
        if owned(r)
    ]
    for row in rows:
        row.state = PublicationState.pending
        row.attempts = 0
        row.next_attempt_at = now
        row.updated_at = now
        session.add(row)
    return len(rows)


def owned(row: Publication) -> bool:
    """Rows this publisher publishes. The bot records its own announcements (agenda, reminder) as done
    `discord_message` rows (tracker/discord_state.py); only the minutes message of that kind is ours."""
    return row.kind != PublicationKind.discord_message or row.idempotency_key.endswith("-discord-minutes")


def blocked_by(session: Session, row: Publication) -> list[Publication]:
    """The rows `row` waits for: same meeting, lower rank, not done."""
    if row.meeting_id is None or RANK[row.kind] == 0:
        return []
    lower = [k for k, r in RANK.items() if r < RANK[row.kind]]
    return list(
        session.exec(
            select(Publication).where(
                Publication.meeting_id == row.meeting_id,
                col(Publication.kind).in_(lower),
                Publication.state != PublicationState.done,
            )
        ).all()
    )


# ---- retry timing ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RetryPolicy:
    max_attempts: int = 10
    base: float = 30.0  # seconds before the 2nd attempt
    cap: float = 3600.0
    jitter: float = 0.5  # the delay is drawn from [(1 - jitter) * d, d]
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        p = settings.publish
        return cls(max_attempts=p.max_attempts, base=p.backoff_seconds, cap=p.max_backoff_seconds)

    def delay(self, attempts: int, server_wait: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        if server_wait is not None:
            # The server said when: honour it (even past the cap), plus a little jitter so parallel clients spread.
            return server_wait + self.rng.uniform(0, min(1.0, 0.1 * server_wait))
        exponential = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return exponential * (1 - self.jitter * self.rng.random())


# ---- the drain ---------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DrainReport:
    done: list[str] = field(default_factory=list)  # idempotency keys
    retried: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    delays: dict[str, list[float]] = field(default_factory=dict)  # the retry delays scheduled, per key
    pending: int = 0  # still pending at the end (waiting for a retry or for other rows)
    next_attempt_at: dt.datetime | None = None

    def merge(self, other: DrainReport) -> None:
        self.done += other.done
        self.retried += other.retried
        self.failed += other.failed
        self.errors |= other.errors
        for key, delays in other.delays.items():
            self.delays.setdefault(key, []).extend(delays)


class Publisher:
    """Drains the outbox. `now` and `sleep` are injectable so tests run retries without waiting in real time."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        policy: RetryPolicy | None = None,
        clients: Clients | None = None,
        now: Callable[[], dt.datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.settings = settings
        self.policy = policy or RetryPolicy.from_settings(settings)
        self.clients = clients or Clients(settings)
        self.handlers = make_handlers(self.clients)
        self.now = now
        self.sleep = sleep
        self._secrets = [
            s.get_secret_value() for s in (settings.github.token, settings.forum.api_key, settings.discord.token) if s
        ]
        self._published: set[int] = set()  # meetings this publisher saw become published

    def drain(self, *, max_wait: float = 0.0, lock_timeout: float = 0.0) -> DrainReport:
        """Attempt every due row (repeatedly, as rows become unblocked); then, while the next retry is due within
        `max_wait` seconds, sleep until it and go on. Raises PublisherBusy if another publisher holds the lock."""
        lock = PublisherLock(self.db)
        if not lock.acquire(timeout=lock_timeout):
            raise PublisherBusy("another publisher is draining this database (the bot, or another `wgbot publish`)")
        report = DrainReport()
        deadline = time.monotonic() + max_wait
        try:
            while True:
                report.merge(self._drain_due())
                upcoming = self._next_due()
                if upcoming is None:
                    break
                wait = (upcoming - self.now()).total_seconds()
                if wait > deadline - time.monotonic():
                    break
                self.sleep(max(0.0, wait))
        finally:
            self.clients.close()
            lock.release()
        if self._published and self.settings.recording.retention_days == 0:
            # "Keep no audio": it goes right after publishing, not at the next daily retention run.
            retention.purge(self.db, retention.recordings_dir(self.settings), 0)
            self._published.clear()
        with self.db.session() as session:
            pending = session.exec(select(Publication).where(Publication.state == PublicationState.pending)).all()
            report.pending = len(pending)
            report.next_attempt_at = min((r.next_attempt_at for r in pending), default=None)
        return report

    def _drain_due(self) -> DrainReport:
        report = DrainReport()
        while True:
            progressed = False
            for row_id in self._due_ids():
                state = self.attempt(row_id, report)
                progressed |= state == PublicationState.done
            if not progressed:  # nothing became done: no blocked row can have become ready
                return report

    def _due_ids(self) -> list[int]:
        now = self.now()
        with self.db.session() as session:
            rows = session.exec(
                select(Publication).where(
                    Publication.state == PublicationState.pending, Publication.next_attempt_at <= now
                )
            ).all()
            ready = [r for r in rows if owned(r) and not blocked_by(session, r)]
        ready.sort(key=lambda r: (RANK[r.kind], r.meeting_id or 0, r.id))
        return [saved_id(r) for r in ready]

    def _next_due(self) -> dt.datetime | None:
        """When the earliest pending row that is not waiting for another row becomes due."""
        with self.db.session() as session:
            rows = session.exec(select(Publication).where(Publication.state == PublicationState.pending)).all()
            times = [r.next_attempt_at for r in rows if owned(r) and not blocked_by(session, r)]
        return min(times, default=None)

    # ---- one attempt ---------------------------------------------------------------------------------------------

    def attempt(self, row_id: int, report: DrainReport | None = None) -> PublicationState:
        report = report if report is not None else DrainReport()
        handler = None
        try:
            with self.db.session() as session:
                row = session.get(Publication, row_id)
                if row is None or row.state != PublicationState.pending or blocked_by(session, row):
                    return row.state if row else PublicationState.failed
                handler = self.handlers[row.kind]
                maybe_created = row.attempts > 0 or row.last_error is not None
                key = row.idempotency_key
                job = handler.prepare(session, row)
                # Counted before anything is sent: a crash from here on leaves a row that knows to look first.
                row.attempts += 1
                row.updated_at = self.now()
                session.add(row)
        except NotReady as exc:
            log.info("publication %s not ready: %s", row_id, exc)
            return PublicationState.pending
        except PermanentError as exc:
            return self._failed(row_id, str(exc), report)
        except Exception as exc:  # a bug reading this row: it must not stop the other rows
            log.exception("preparing publication %s failed unexpectedly", row_id)
            with self.db.session() as session:  # the attempt was rolled back with the failure: count it here
                row = _row(session, row_id)
                row.attempts += 1
                session.add(row)
            return self._retry(row_id, f"unexpected {type(exc).__name__}: {exc}", None, report)

        log.debug("publishing %s (maybe created before: %s)", key, maybe_created)
        try:
            outcome = handler.perform(job, maybe_created)
        except RetryLater as exc:
            return self._retry(row_id, str(exc), exc.wait, report)
        except PermanentError as exc:
            return self._failed(row_id, str(exc), report)
        except PublishError as exc:
            return self._retry(row_id, str(exc), None, report)
        except Exception as exc:  # a bug or an unexpected library error: keep the row, keep the evidence
            log.exception("publishing %s failed unexpectedly", key)
            return self._retry(row_id, f"unexpected {type(exc).__name__}: {exc}", None, report)

        with self.db.session() as session:
            row = _row(session, row_id)
            handler.record(session, row, job, outcome)
            now = self.now()
            row.state = PublicationState.done
            row.external_id = outcome.external_id
            row.external_url = outcome.external_url
            row.last_error = None
            row.done_at = now
            row.updated_at = now
            session.add(row)
            session.flush()
            if outcome.changed:
                self._rerender_dependents(session, row, now)
            self._maybe_published(session, row.meeting_id, now)
        report.done.append(key)
        return PublicationState.done

    def _rerender_dependents(self, session: Session, row: Publication, now: dt.datetime) -> None:
        """Done rows of the same meeting that embed this row's links are published again, in place."""
        if row.meeting_id is None:
            return
        higher = [k for k, r in RANK.items() if r > RANK[row.kind]]
        dependents = [
            d
            for d in session.exec(
                select(Publication).where(
                    Publication.meeting_id == row.meeting_id,
                    col(Publication.kind).in_(higher),
                    Publication.state == PublicationState.done,
                )
            ).all()
            if owned(d)
        ]
        if republish(session, dependents, now):
            log.info(
                "%s changed: %d dependent publication(s) will be updated in place", row.idempotency_key, len(dependents)
            )

    def _maybe_published(self, session: Session, meeting_id: int | None, now: dt.datetime) -> None:
        if meeting_id is None:
            return
        states = session.exec(select(Publication.state).where(Publication.meeting_id == meeting_id)).all()
        meeting = session.get(Meeting, meeting_id)
        if (
            meeting
            and states
            and all(s == PublicationState.done for s in states)
            and meeting.state == MeetingState.summarized
        ):
            meeting.state = MeetingState.published
            meeting.updated_at = now
            session.add(meeting)
            self._published.add(meeting_id)

    def _retry(self, row_id: int, error: str, wait: float | None, report: DrainReport) -> PublicationState:
        error = redact(error, self._secrets)
        with self.db.session() as session:
            row = _row(session, row_id)
            now = self.now()
            row.last_error = error
            row.updated_at = now
            if row.attempts >= self.policy.max_attempts:
                row.state = PublicationState.failed
                session.add(row)
                log.error("%s failed after %d attempts: %s", row.idempotency_key, row.attempts, error)
                report.failed.append(row.idempotency_key)
                report.errors[row.idempotency_key] = error
                return PublicationState.failed
            delay = self.policy.delay(row.attempts, wait)
            row.next_attempt_at = now + dt.timedelta(seconds=delay)
            session.add(row)
            log.warning("%s: attempt %d failed (%s); next in %.1fs", row.idempotency_key, row.attempts, error, delay)
            report.retried.append(row.idempotency_key)
            report.errors[row.idempotency_key] = error
            report.delays.setdefault(row.idempotency_key, []).append(delay)
            return PublicationState.pending

    def _failed(self, row_id: int, error: str, report: DrainReport) -> PublicationState:
        error = redact(error, self._secrets)
        with self.db.session() as session:
            row = _row(session, row_id)
            row.state = PublicationState.failed
            row.last_error = error
            row.updated_at = self.now()
            session.add(row)
            log.error("%s failed: %s", row.idempotency_key, error)
            report.failed.append(row.idempotency_key)
            report.errors[row.idempotency_key] = error
        return PublicationState.failed


def _row(session: Session, row_id: int) -> Publication:
    """A row this attempt has read already (one deleted meanwhile fails the attempt as a bug would)."""
    row = session.get(Publication, row_id)
    if row is None:
        raise LookupError(f"publication {row_id} is gone")
    return row


# ---- status --------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RowStatus:
    id: int
    key: str
    kind: str
    target: str
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    external_url: str | None
    last_error: str | None
    waiting_for: list[str]


def status(db: Database, include_done: bool = False) -> list[RowStatus]:
    with db.session() as session:
        query = select(Publication).order_by(col(Publication.meeting_id), col(Publication.id))
        if not include_done:
            query = query.where(Publication.state != PublicationState.done)
        rows = session.exec(query).all()
        return [
            RowStatus(
                id=saved_id(r),
                key=r.idempotency_key,
                kind=r.kind.value,
                target=r.target,
                state=r.state.value,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at if r.state == PublicationState.pending else None,
                external_url=r.external_url,
                last_error=r.last_error,
                waiting_for=[b.idempotency_key for b in blocked_by(session, r)]
                if r.state == PublicationState.pending
                else [],
            )
            for r in rows
        ]
