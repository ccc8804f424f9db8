"""The tracker's tables: the system of record for meetings and everything that comes out of them.

Changing a table means a new Alembic migration in tracker/migrations/versions/ (tests/tracker/test_migrations.py
fails while the models and the migrations disagree).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Protocol, overload

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlalchemy.types import JSON
from sqlmodel import Field, SQLModel


def utcnow() -> dt.datetime:
    # Datetime columns are timezone-aware UTC (SQLModel's UTCDateTime rejects naive values and returns UTC).
    return dt.datetime.now(dt.UTC)


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Timezone-aware UTC; a naive value is taken to be UTC already (older SQLite rows, some API payloads)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


class _Row(Protocol):
    id: int | None


def saved_id(row: _Row) -> int:
    """The primary key of a row that is in the database (loaded, or added and flushed); a row without one is a bug."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: add it to the session and flush first")
    return row.id


class MeetingState(str, enum.Enum):
    scheduled = "scheduled"
    recording = "recording"
    recorded = "recorded"
    transcribed = "transcribed"
    summarized = "summarized"
    published = "published"
    failed = "failed"
    cancelled = "cancelled"  # a skipped occurrence


class ItemStatus(str, enum.Enum):
    open = "open"
    done = "done"
    dropped = "dropped"


class ReviewState(str, enum.Enum):
    """Review mode (tracker/review.py): organizers approve the minutes' items before anything is filed."""

    pending = "pending"  # held: nothing is filed until an organizer decides or the deadline passes
    approved = "approved"  # an organizer pressed "File all"
    expired = "expired"  # nobody decided in time; `review_default` was applied


class ReviewDefault(str, enum.Enum):
    """What happens to held items when the review deadline passes."""

    file = "file"  # file them as they are (with the edits made so far)
    drop = "drop"  # file nothing for them; the minutes are still archived and posted


class PublicationState(str, enum.Enum):
    pending = "pending"
    done = "done"
    failed = "failed"


class PublicationKind(str, enum.Enum):
    action_issue = "action_issue"  # GitHub issue for an action item
    wish_issue = "wish_issue"  # GitHub issue for a wish-list entry (or a comment on an existing one)
    archive = "archive"  # meetings/YYYY.MM.DD/README.md + transcript.md in the repo
    forum_post = "forum_post"  # reply in the forum topic
    discord_message = "discord_message"  # agenda, reminder, minutes in the text channel
    issue_update = "issue_update"  # a filed issue closed with a comment, or its assignee changed (followthrough)


class WorkingGroup(SQLModel, table=True):
    __tablename__ = "working_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    guild_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    text_channel_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    voice_channel_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    organizer_role_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # The cadence: weekly on `weekday` (0 = Monday) at `start_time` UTC, from `series_start` until `series_end`.
    weekday: int = 3
    start_time: dt.time = dt.time(17, 0)
    duration_minutes: int = 60
    title: str = "Working group call"
    series_start: dt.date
    series_end: dt.date | None = None  # the series was cancelled from this date on (exclusive)
    github_repo: str | None = None
    forum_topic_id: int | None = None
    review_mode: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow)


class Meeting(SQLModel, table=True):
    """One occurrence of the call. Rows exist for occurrences that were touched: skipped, rescheduled, recorded."""

    __table_args__ = (UniqueConstraint("group_id", "occurrence_start"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True)
    # The slot in the weekly series this meeting fills (None for an ad-hoc meeting); the ICS RECURRENCE-ID.
    occurrence_start: dt.datetime | None = None
    scheduled_start: dt.datetime  # UTC; differs from occurrence_start when rescheduled
    duration_minutes: int = 60
    title: str = "Working group call"
    state: MeetingState = MeetingState.scheduled
    state_reason: str | None = None  # why it failed or was cancelled
    recording_dir: str | None = None
    started_at: dt.datetime | None = None  # recording actually started
    ended_at: dt.datetime | None = None
    discord_event_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    status_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Review mode: the state of the organizers' review, when it ends by itself and how, and the message with its
    # buttons (None while not held for review).
    review_state: ReviewState | None = None
    review_deadline: dt.datetime | None = None
    review_default: ReviewDefault | None = None
    review_message_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    discord_id: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    display_name: str
    github_login: str | None = None  # confirmed by an organizer: what issues are assigned to
    github_login_pending: str | None = None  # claimed with /link github, waiting for an organizer's /link confirm
    recording_opt_out: bool = False
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    topic: str
    presenter: str | None = None
    added_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: dt.datetime = Field(default_factory=utcnow)


class TranscriptSegment(SQLModel, table=True):
    __tablename__ = "transcript_segment"
    __table_args__ = (Index("ix_transcript_segment_meeting_start", "meeting_id", "start"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id")
    speaker: str
    member_id: int | None = Field(default=None, foreign_key="member.id")
    track: str = ""
    start: float  # seconds from the meeting start
    end: float
    text: str = Field(sa_column=Column(Text, nullable=False))


class MinutesRecord(SQLModel, table=True):
    __tablename__ = "minutes"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    long_summary: str = Field(sa_column=Column(Text, nullable=False))
    decisions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    next_topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    model: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_item"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    owner_name: str
    owner_id: int | None = Field(default=None, foreign_key="member.id")
    task: str = Field(sa_column=Column(Text, nullable=False))
    due: dt.date | None = None
    at: float | None = None  # transcript time, seconds from the meeting start
    excerpt: str | None = Field(default=None, sa_column=Column(Text))
    status: ItemStatus = ItemStatus.open
    github_issue_number: int | None = None
    github_issue_url: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    closed_at: dt.datetime | None = None
    # Reported done in a later meeting (tracker/followthrough.py): which one, and the line that said so.
    done_in_meeting_id: int | None = None
    done_note: str | None = Field(default=None, sa_column=Column(Text))


class WishlistEntry(SQLModel, table=True):
    __tablename__ = "wishlist_entry"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)  # None: added by /wishlist
    title: str
    details: str = Field(default="", sa_column=Column(Text, nullable=False))
    at: float | None = None
    excerpt: str | None = Field(default=None, sa_column=Column(Text))
    added_by_id: int | None = Field(default=None, foreign_key="member.id")
    status: ItemStatus = ItemStatus.open
    github_issue_number: int | None = None
    github_issue_url: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)


class Link(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    at: float | None = None


class Publication(SQLModel, table=True):
    """The outbox: one row per outward effect, done once (see tracker/publishing/)."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    kind: PublicationKind
    target: str  # "owner/repo", "forum:topic/123", "discord:channel/456"
    subject_id: int | None = None  # the action item / wish-list entry it publishes
    idempotency_key: str = Field(unique=True)  # also the hidden marker in what it creates
    state: PublicationState = Field(default=PublicationState.pending, index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow)
    external_id: str | None = None
    external_url: str | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    done_at: dt.datetime | None = None


class ChatMessage(SQLModel, table=True):
    """A message typed in the call's text chat (the voice channel's chat or the group's text channel) while the
    meeting was being recorded (tracker/chat.py)."""

    __tablename__ = "chat_message"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    discord_message_id: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    channel_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    author_discord_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    member_id: int | None = Field(default=None, foreign_key="member.id")
    author_name: str
    content: str = Field(sa_column=Column(Text, nullable=False))
    posted_at: dt.datetime
    at: float  # seconds from the meeting start
    edited_at: dt.datetime | None = None


class SearchDoc(SQLModel, table=True):
    """One searchable text of a meeting: a transcript line, a part of the minutes, an item or a chat message.

    Rebuilt per meeting by `tracker.search.index_meeting`; the full-text index over it is SQLite FTS5 (`search_fts`,
    kept in step by triggers) or PostgreSQL's generated `search_tsv` column with a GIN index (see the migration).
    """

    __tablename__ = "search_doc"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    kind: str  # transcript, minutes, item, chat
    ref_id: int | None = None  # the row it was made from (segment, action item, wish, chat message)
    speaker: str | None = None
    member_id: int | None = Field(default=None, index=True)  # whose words they are, for forget-me
    author_discord_id: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    start: float | None = None  # seconds from the meeting start
    text: str = Field(sa_column=Column(Text, nullable=False))


class Project(SQLModel, table=True):
    """One of the group's projects (`/project add`), with its GitHub figures as last fetched (tracker/projects.py)."""

    __table_args__ = (UniqueConstraint("group_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="working_group.id", index=True)
    name: str
    repo: str  # owner/name on GitHub
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    stars: int | None = None
    open_issues: int | None = None
    last_release: str | None = None  # the latest release's tag
    last_release_at: dt.datetime | None = None
    last_commit_at: dt.datetime | None = None
    fetched_at: dt.datetime | None = None  # when the figures were fetched (None: never)
    fetch_error: str | None = None  # why the last fetch failed, if it did
    created_at: dt.datetime = Field(default_factory=utcnow)


class Timer(SQLModel, table=True):
    """A piece of work due at a time (tracker/timers.py): planned from the schedule, fired once by the bot's
    dispatcher (bot/exts/timers.py). Plain columns only: a row names the work, it never carries code or pickles."""

    id: str = Field(primary_key=True)  # "wg:<meeting key>:<kind>"
    kind: str  # event | agenda | reminder | start
    key: str  # the meeting: its series slot (s20261203T1700Z) or ad-hoc id (a42)
    run_at: dt.datetime = Field(index=True)
    deadline: dt.datetime  # after this the work is pointless: the timer is dropped, not fired
    fired_at: dt.datetime | None = None  # handed to the bot's listeners; not fired again unless its work failed
