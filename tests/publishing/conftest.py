"""Fixtures for the publishing tests: the three fake services, settings pointing at them, a meeting with minutes,
and a clock that lets retries wait without waiting (the HTTP itself is real)."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pytest
from sqlmodel import select

from tests.fakes.discord_messages import FakeDiscordMessages
from tests.fakes.discourse_server import FakeDiscourse
from tests.fakes.github_server import FakeGithub
from tracker.config import load_settings
from tracker.db import Database
from tracker.minutes_store import Targets, store_minutes
from tracker.models import Meeting, MeetingState, Member, Publication, WorkingGroup, utcnow
from tracker.publishing import Publisher, RetryPolicy
from transcripts.types import ActionItem, Minutes, Segment, Transcript, Wish

REPO = "wg/meetings"
TOPIC = 77
CHANNEL = 123456789
MEETING_START = dt.datetime(2024, 3, 7, 17, 0, tzinfo=dt.UTC)


@pytest.fixture
def github():
    with FakeGithub(repo=REPO, assignable=("alice",)) as fake:
        # An open wish-list issue that one of the meeting's wishes repeats.
        fake.add_issue("Add dark mode to the dashboard", "Filed earlier.", labels=("wish-list",))
        yield fake


@pytest.fixture
def forum():
    with FakeDiscourse() as fake:
        fake.add_topic(TOPIC, replies=1)
        yield fake


@pytest.fixture
def discord():
    with FakeDiscordMessages() as fake:
        yield fake


def make_settings(
    github: FakeGithub | None, forum: FakeDiscourse | None, discord: FakeDiscordMessages | None, **publish
):
    overrides = {
        "publish": {
            "backoff_seconds": 1.0,
            "max_attempts": 6,
            "timeout_seconds": 2,
            "write_interval_seconds": 0.0,
            **publish,
        }
    }
    if github:
        overrides["github"] = {"token": github.token, "repo": REPO, "api_url": github.api_url}
    if forum:
        overrides["forum"] = {
            "url": forum.origin,
            "api_key": forum.api_key,
            "api_username": forum.username,
            "topic_id": TOPIC,
        }
    if discord:
        overrides["discord"] = {
            "token": discord.token,
            "api_base": discord.api_base,
            "text_channel_id": CHANNEL,
            "guild_id": 555,
        }
    return load_settings(**overrides)


@pytest.fixture
def settings(github, forum, discord):
    return make_settings(github, forum, discord)


@dataclass
class FakeClock:
    """Real time plus whatever the publisher 'slept': retries become due at once, and the waits are recorded."""

    offset: dt.timedelta = dt.timedelta(0)
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> dt.datetime:
        return utcnow() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_publisher(db: Database, settings, clock: FakeClock, **policy) -> Publisher:
    base = {
        "max_attempts": settings.publish.max_attempts,
        "base": settings.publish.backoff_seconds,
        "cap": 60.0,
        "rng": random.Random(7),
    }
    return Publisher(db, settings, policy=RetryPolicy(**{**base, **policy}), now=clock.now, sleep=clock.sleep)


# ---- a meeting -----------------------------------------------------------------------------------------------------

MINUTES = Minutes(
    summary="We agreed to ship the RFC draft next week and to collect feedback on the dashboard.",
    long_summary="The group reviewed the RFC draft. Alice will finish it; Bob will benchmark the parser; Carol will "
    "write the migration guide. Two wishes came up again: dark mode and PDF export.",
    decisions=["Ship the RFC draft on 2024-03-14", "Keep the weekly slot"],
    action_items=[
        ActionItem(
            owner="Alice",
            task="Finish the RFC draft",
            due=dt.date(2024, 3, 14),
            at=75.0,
            excerpt="Alice: I'll finish the RFC draft by next Thursday.",
        ),
        ActionItem(
            owner="Bob",
            task="Benchmark the new parser",
            due=None,
            at=312.5,
            excerpt="Bob: I can benchmark the new parser.",
        ),
        ActionItem(
            owner="Carol",
            task="Write the migration guide",
            due=dt.date(2024, 3, 21),
            at=1290.0,
            excerpt="Carol: I'll write the migration guide.",
        ),
    ],
    wishes=[
        Wish(
            title="Dark mode for the dashboard",
            details="Several people asked again.",
            at=600.0,
            excerpt="Dave: Can we please get dark mode on the dashboard?",
        ),
        Wish(title="Export the minutes as PDF", at=900.0, excerpt="Erin: A PDF export of the minutes would help."),
    ],
    links=["https://example.org/rfc-draft"],
    next_topics=["Parser benchmark results"],
)

TRANSCRIPT = Transcript(
    segments=[
        Segment("Alice", 75.0, 79.0, "I'll finish the RFC draft by next Thursday."),
        Segment("Bob", 312.5, 315.0, "I can benchmark the new parser."),
        Segment("Dave", 600.0, 603.0, "Can we please get dark mode on the dashboard?"),
        Segment("Erin", 900.0, 903.0, "A PDF export of the minutes would help."),
        Segment("Carol", 1290.0, 1293.0, "I'll write the migration guide."),
    ],
    started_at=MEETING_START,
    duration=1400.0,
)


def add_meeting(db: Database, start: dt.datetime = MEETING_START) -> int:
    with db.session() as s:
        group = s.exec(select(WorkingGroup)).first()
        if group is None:
            group = WorkingGroup(name="Parsers WG", series_start=dt.date(2024, 1, 4))
            s.add(group)
            s.add(Member(display_name="Alice", github_login="alice"))
            s.add(Member(display_name="Bob"))
            s.add(Member(display_name="Carol", github_login="carol-gh"))  # linked, but not assignable in the repo
            s.flush()
        meeting = Meeting(
            group_id=group.id,
            occurrence_start=start,
            scheduled_start=start,
            started_at=start,
            title="Parsers WG call",
            state=MeetingState.transcribed,
        )
        s.add(meeting)
        s.flush()
        return meeting.id


def store(db: Database, meeting_id: int, minutes: Minutes = MINUTES, *, repo=True, forum=True, discord=True):
    targets = Targets(
        github_repo=REPO if repo else None,
        forum_topic_id=TOPIC if forum else None,
        discord_channel_id=CHANNEL if discord else None,
    )
    return store_minutes(db, meeting_id, minutes, TRANSCRIPT, targets=targets, model="test")


def rows(db: Database) -> list[Publication]:
    with db.session() as s:
        return list(s.exec(select(Publication).order_by(Publication.id)).all())
