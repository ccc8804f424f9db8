"""A working group's published history for the web tests and the web benchmark, stored through the tracker's own
write path (`tracker.minutes_store.store_minutes`, which also indexes the meetings for search).

`build_sample`: two published meetings, one summarized but unpublished meeting whose words must never show, a
member who opted out (a line of theirs slipped into the database: it must never show either), hostile names and
topics that must stay inert text, overdue, open and done items, a wish raised twice, a project.
`build_many`: N one-hour meetings of generated talk, for the benchmark.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlmodel import select

from tracker import schedule
from tracker.config import load_settings
from tracker.db import Database
from tracker.minutes_store import Targets, store_minutes
from tracker.models import (
    ActionItem,
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingState,
    Member,
    Project,
    WishlistEntry,
    utcnow,
)
from transcripts.types import ActionItem as MinutesAction
from transcripts.types import Minutes, Segment, Transcript, Wish

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday; the group meets on Thursdays at 17:00 UTC
GUILD_ID, VOICE_CHANNEL_ID = 111222333444555666, 777888999000111222
HOSTILE = '<script>alert("pwned")</script>'
HOSTILE_TOPIC = "<img src=x onerror=alert(1)> budget"
PHRASE = "self-hosted runners"  # said at 12:34 in the second meeting
UNPUBLISHED_WORDS = "zebraquartz"  # only in the unpublished meeting
OPTED_OUT_WORDS = "marmaladesecret"  # only in a line of the member who opted out


@dataclass
class Sample:
    group_id: int
    published: list[int]  # meeting ids, oldest first
    unpublished: int
    phrase_meeting_slug: str
    phrase_at: int


def settings(data_dir) -> object:
    return load_settings(
        storage={"data_dir": str(data_dir)},
        discord={"guild_id": GUILD_ID, "voice_channel_id": VOICE_CHANNEL_ID},
        group={"name": "DAI working group"},
    )


def _group(db: Database, loaded):
    with db.session() as session:
        group = schedule.ensure_group(session, loaded)
        group.series_start = dt.date(2026, 10, 1)
        session.add(group)
        return group


def _meeting(db: Database, group_id: int, start: dt.datetime, title: str, minutes_long: int = 60) -> int:
    with db.session() as session:
        meeting = Meeting(
            group_id=group_id,
            occurrence_start=start,
            scheduled_start=start,
            title=title,
            state=MeetingState.recorded,
            started_at=start,
            ended_at=start + dt.timedelta(minutes=minutes_long),
            duration_minutes=60,
        )
        session.add(meeting)
        session.flush()
        return meeting.id


def _publish(db: Database, meeting_id: int) -> None:
    with db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        meeting.state = MeetingState.published
        session.add(meeting)


def build_sample(db: Database, data_dir) -> Sample:
    loaded = settings(data_dir)
    group = _group(db, loaded)
    with db.session() as session:
        session.add(Member(discord_id=1, display_name="Ada", github_login="ada"))
        session.add(Member(discord_id=2, display_name="Bob"))
        session.add(Member(discord_id=3, display_name="Olga", recording_opt_out=True))

    first = _meeting(db, group.id, dt.datetime(2026, 11, 19, 17, tzinfo=UTC), "DAI WG call")
    store_minutes(
        db,
        first,
        Minutes(
            summary="**CI**\n- The team agreed to look at the runner costs.",
            long_summary="## CI\n\nAda explained the runner costs ([0:05](transcript.md#t=5)).",
            decisions=["Keep the weekly call at 17:00 UTC"],
            action_items=[
                MinutesAction(owner="Ada", task="Collect the runner invoices", due=dt.date(2026, 11, 26), at=5.0),
                MinutesAction(owner="Bob", task="Write the CI budget note", due=None, at=12.0),
            ],
            wishes=[Wish(title="Dark mode for the dashboard", details="People read at night", at=20.0)],
            links=["https://example.org/ci-costs"],
        ),
        Transcript(
            segments=[
                Segment("Ada", 5.0, 9.0, "Let us look at what the runners cost us every month."),
                Segment("Bob", 12.0, 16.0, "I can write the budget note for CI."),
                Segment("Ada", 20.0, 25.0, "Someone asked for a dark mode on the dashboard again."),
            ],
            duration=3600.0,
        ),
        targets=Targets(),
    )
    _publish(db, first)

    second = _meeting(db, group.id, dt.datetime(2026, 11, 26, 17, tzinfo=UTC), f"Call {HOSTILE}")
    lines = [
        Segment("Ada" if i % 2 else "Bob", i * 15.0, i * 15.0 + 12.0, f"Filler line number {i} about the roadmap.")
        for i in range(1, 60)
    ]
    lines.append(Segment("Ada", 754.0, 760.0, f"We should move to {PHRASE} before the budget review."))
    lines.append(Segment(HOSTILE, 800.0, 805.0, "My name is not markup, it is text."))
    lines.append(Segment("Olga", 810.0, 815.0, f"Please keep this {OPTED_OUT_WORDS} between us."))
    lines.sort(key=lambda s: s.start)
    store_minutes(
        db,
        second,
        Minutes(
            summary=f"**Runners**\n- Move to {PHRASE} ([12:34](transcript.md#t=754)).\n- {HOSTILE}",
            long_summary=f"## Runners\n\nThe group discussed {PHRASE} ([12:34](transcript.md#t=754)).\n\n<b>raw html</b>",
            decisions=[f"Move CI to {PHRASE}"],
            action_items=[
                MinutesAction(owner="Ada", task=f"Price {PHRASE}", due=dt.date(2026, 12, 10), at=754.0),
                MinutesAction(owner=HOSTILE, task="Escape everything", due=None, at=800.0),
            ],
            wishes=[Wish(title="Dark mode for the dashboard", details="", at=700.0)],
            links=["https://example.org/runners", "javascript:alert(1)"],
        ),
        Transcript(segments=lines, duration=3600.0),
        targets=Targets(),
    )
    _publish(db, second)

    hidden = _meeting(db, group.id, dt.datetime(2026, 11, 12, 17, tzinfo=UTC), "Not yet reviewed")
    store_minutes(
        db,
        hidden,
        Minutes(
            summary=f"Secret {UNPUBLISHED_WORDS} plans.",
            action_items=[MinutesAction(owner="Bob", task=f"Hide {UNPUBLISHED_WORDS}", at=3.0)],
        ),
        Transcript(segments=[Segment("Bob", 3.0, 6.0, f"The {UNPUBLISHED_WORDS} plan is not public yet.")]),
        targets=Targets(),
    )

    with db.session() as session:
        items = {a.task: a for a in session.exec(select(ActionItem))}
        done = items["Write the CI budget note"]
        done.status, done.closed_at = ItemStatus.done, dt.datetime(2026, 11, 24, 9, tzinfo=UTC)
        done.created_at = dt.datetime(2026, 11, 19, 18, tzinfo=UTC)
        done.github_issue_number, done.github_issue_url = 7, "https://github.com/wg/meetings/issues/7"
        session.add(done)
        for wish in session.exec(select(WishlistEntry)):
            wish.github_issue_number, wish.github_issue_url = 9, "https://github.com/wg/meetings/issues/9"
            session.add(wish)
        nxt = schedule.meeting_for(session, group, schedule.next_occurrence(session, group, after=NOW))
        session.add(AgendaItem(meeting_id=nxt.id, topic=HOSTILE_TOPIC, presenter="Ada"))
        session.add(AgendaItem(meeting_id=nxt.id, topic="Release 1.2 planning"))
        session.add(
            Project(
                group_id=group.id,
                name="runner-kit",
                repo="wg/runner-kit",
                description="Tools for self-hosted runners",
                stars=42,
                open_issues=3,
                last_release="v1.2.0",
                last_release_at=dt.datetime(2026, 11, 1, tzinfo=UTC),
                last_commit_at=dt.datetime(2026, 11, 28, tzinfo=UTC),
                fetched_at=utcnow(),
            )
        )
    return Sample(group.id, [first, second], hidden, "2026-11-26", 754)


WORDS = [
    "runner",
    "budget",
    "release",
    "roadmap",
    "review",
    "dashboard",
    "documentation",
    "sprint",
    "milestone",
    "deploy",
    "cluster",
    "cache",
    "build",
    "test",
    "coverage",
    "issue",
    "triage",
    "security",
    "audit",
    "dependency",
    "upgrade",
    "python",
    "rust",
    "api",
    "schema",
    "migration",
    "index",
    "search",
    "meeting",
    "agenda",
    "owner",
    "deadline",
    "design",
    "proposal",
    "benchmark",
    "latency",
    "memory",
    "profile",
    "storage",
    "backup",
    "mirror",
]


def build_many(db: Database, data_dir, count: int = 200, minutes: int = 60, seed: int = 7) -> list[int]:
    """`count` published one-hour meetings, weekly, the newest last week: about 5 s per transcript line."""
    rng = random.Random(seed)
    group = _group(db, settings(data_dir))
    speakers = ["Ada", "Bob", "Chen", "Dana", "Eve", "Femi", "Gus"]
    first_start = dt.datetime(2026, 11, 26, 17, tzinfo=UTC) - dt.timedelta(weeks=count - 1)
    ids = []
    for n in range(count):
        start = first_start + dt.timedelta(weeks=n)
        meeting_id = _meeting(db, group.id, start, "Working group call", minutes)
        present = rng.sample(speakers, rng.randint(3, 6))
        segments, t = [], 0.0
        while t < minutes * 60 - 10:
            length = rng.uniform(2.0, 8.0)
            text = " ".join(rng.choice(WORDS) for _ in range(int(length * 2.5))).capitalize() + "."
            segments.append(Segment(rng.choice(present), round(t, 2), round(t + length, 2), text))
            t += length + rng.uniform(0.1, 1.5)
        owners = rng.sample(present, 3)
        store_minutes(
            db,
            meeting_id,
            Minutes(
                summary="\n".join(f"- {segments[i].text}" for i in range(0, 40, 10)),
                long_summary="\n\n".join(f"## Topic {k}\n\n{segments[k * 100].text}" for k in range(5)),
                decisions=[segments[7].text],
                action_items=[
                    MinutesAction(
                        owner=o,
                        task=f"Follow up on {rng.choice(WORDS)} {k}",
                        at=segments[k * 50].start,
                        due=(start + dt.timedelta(days=14)).date(),
                    )
                    for k, o in enumerate(owners)
                ],
                wishes=[Wish(title=f"Better {rng.choice(WORDS)}", at=segments[300].start)],
            ),
            Transcript(segments=segments, started_at=start, duration=minutes * 60.0),
            targets=Targets(),
        )
        _publish(db, meeting_id)
        ids.append(meeting_id)
    with db.session() as session:  # opened at their meeting; half of them done a few days to weeks later
        starts = {m.id: m.scheduled_start for m in session.exec(select(Meeting))}
        for item in session.exec(select(ActionItem)):
            item.created_at = starts[item.meeting_id] + dt.timedelta(hours=1)
            if rng.random() < 0.5:
                item.status = ItemStatus.done
                item.closed_at = item.created_at + dt.timedelta(days=rng.uniform(1, 40))
                session.add(item)
    return ids
