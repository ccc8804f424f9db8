"""Review mode: nothing is filed before the organizers approve (or the deadline passes); their edits are what is
filed; a dropped item never is. First the tracker side with the real publisher against the fake GitHub, then the
Discord side: the real review message, select menus, modal and button, driven by raw interaction payloads."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import time_machine
from sqlmodel import select
from typer.testing import CliRunner

from tests.bot.conftest import (  # noqa: F401  (fixtures)
    bot_factory,
    clock,
    eventually,
    fake_discord,
    pipeline_cog,
    settle,
)
from tests.fakes.discord_rest import (
    ALICE,
    BOB,
    MEMBER_ROLE_ID,
    ORGANIZER_ROLE_ID,
    Person,
    modal_of,
    press,
    submit_modal,
)
from tests.fakes.github_server import FakeGithub
from tests.publishing.conftest import (
    MEETING_START,
    MINUTES,
    REPO,
    TRANSCRIPT,
    FakeClock,
    add_meeting,
    make_publisher,
    make_settings,
)
from tracker import pipeline, review
from tracker.minutes_store import Targets, save_transcript
from tracker.models import (
    ActionItem,
    ItemStatus,
    Meeting,
    MeetingState,
    Member,
    Publication,
    PublicationKind,
    ReviewDefault,
    ReviewState,
    WishlistEntry,
    WorkingGroup,
)
from tracker.review import ReviewError
from transcripts.types import Minutes

HELD_AT = dt.datetime(2024, 3, 7, 19, 0, tzinfo=dt.UTC)
CAROL_ORGANIZER = Person(700_000_000_000_000_003, "Carol", roles=(MEMBER_ROLE_ID, ORGANIZER_ROLE_ID))


@pytest.fixture
def github():
    with FakeGithub(repo=REPO, assignable=("alice",)) as fake:
        yield fake


def review_settings(github, timeout_hours: float = 24.0, default: str = "file", **extra):
    settings = make_settings(github, None, None, **extra)
    settings.group = settings.group.model_copy(
        update={"review_mode": True, "review_timeout_hours": timeout_hours, "review_default": default}
    )
    return settings


def held_meeting(
    db,
    settings,
    minutes: Minutes = MINUTES,
    *,
    review_mode: bool = True,
    at=HELD_AT,
    start: dt.datetime = MEETING_START,
) -> int:
    """A transcribed meeting summarized the way the pipeline's summarize step stores it (held at `at`, or now)."""
    meeting_id = add_meeting(db, start)
    with db.session() as session:
        if session.exec(select(Member).where(Member.github_login == "alice")).first() is None:  # the bot's own group
            session.add(Member(display_name="Alice", github_login="alice"))
        session.exec(select(WorkingGroup)).one().review_mode = review_mode
        meeting = session.get(Meeting, meeting_id)
        save_transcript(session, meeting, TRANSCRIPT)
        targets = Targets.resolve(session.get(WorkingGroup, meeting.group_id), settings)
        if at is None:
            pipeline.store_summary(session, meeting, minutes, targets, settings)
        else:
            with time_machine.travel(at, tick=False):
                pipeline.store_summary(session, meeting, minutes, targets, settings)
        meeting.state = MeetingState.summarized
    return meeting_id


def publications(db) -> list[Publication]:
    with db.session() as session:
        return list(session.exec(select(Publication).order_by(Publication.id)).all())


def items(db) -> dict[str, ActionItem | WishlistEntry]:
    """Action items by owner, wishes by title."""
    with db.session() as session:
        found: dict = {a.owner_name: a for a in session.exec(select(ActionItem)).all()}
        found |= {w.title: w for w in session.exec(select(WishlistEntry)).all()}
        return found


def section(markdown: str, heading: str) -> str:
    """The text under `## heading` in an archived README, up to the next heading."""
    _, found, rest = markdown.partition(f"## {heading}\n")
    return rest.split("\n## ")[0] if found else ""


def state_of(db, meeting_id: int) -> Meeting:
    with db.session() as session:
        return session.get(Meeting, meeting_id)


# ---- the tracker side ----------------------------------------------------------------------------------------


def test_held_minutes_are_stored_without_any_outbox_row(db, github):
    settings = review_settings(github, timeout_hours=6)
    meeting_id = held_meeting(db, settings)
    meeting = state_of(db, meeting_id)
    assert meeting.review_state == ReviewState.pending and meeting.review_default == ReviewDefault.file
    assert meeting.review_deadline == HELD_AT + dt.timedelta(hours=6)
    assert len([i for i in items(db).values() if isinstance(i, ActionItem)]) == 3
    assert publications(db) == []  # no issue, archive, forum or Discord row

    with time_machine.travel(HELD_AT + dt.timedelta(hours=5), tick=False):  # before the deadline: it waits
        assert pipeline.publish_step(db, settings, meeting_id) == MeetingState.summarized
    assert state_of(db, meeting_id).review_state == ReviewState.pending
    assert github.repo.issues == [] and github.writes() == []


def test_without_review_mode_or_without_items_nothing_is_held(db, github):
    settings = review_settings(github)
    plain = held_meeting(db, settings, review_mode=False)
    assert state_of(db, plain).review_state is None
    assert {r.kind for r in publications(db)} == {
        PublicationKind.action_issue,
        PublicationKind.wish_issue,
        PublicationKind.archive,
    }
    nothing = held_meeting(
        db,
        settings,
        Minutes(summary="Only a chat.", long_summary="Only a chat."),
        at=HELD_AT + dt.timedelta(days=7),
        start=MEETING_START + dt.timedelta(days=7),
    )
    assert state_of(db, nothing).review_state is None


def test_edited_items_are_filed_as_edited_and_dropped_ones_never(db, github):
    settings = review_settings(github)
    meeting_id = held_meeting(db, settings)
    before = items(db)
    with db.session() as session:
        # Bob's benchmark goes to Alice (a linked member: the issue is assigned to her), due on the 28th.
        edited = review.edit_action(session, meeting_id, before["Bob"].id, "  alice ", "2024-03-28")
        assert (edited.owner, edited.due) == ("alice", dt.date(2024, 3, 28))
        review.set_dropped(
            session, meeting_id, [f"a{before['Carol'].id}", f"w{before['Export the minutes as PDF'].id}"]
        )
        review.set_dropped(session, meeting_id, [f"w{before['Dark mode for the dashboard'].id}"])  # dropped...
        review.set_dropped(session, meeting_id, [f"w{before['Dark mode for the dashboard'].id}"])  # ...and kept
    assert publications(db) == []  # still nothing before the approval

    with db.session() as session:
        approved = review.approve(session, meeting_id, settings)
    assert approved.state == ReviewState.approved
    keys = {r.idempotency_key for r in publications(db)}
    assert keys == {
        f"m{meeting_id}-action-{before['Alice'].id}",
        f"m{meeting_id}-action-{before['Bob'].id}",
        f"m{meeting_id}-wish-{before['Dark mode for the dashboard'].id}",
        f"m{meeting_id}-archive",
    }

    report = make_publisher(db, settings, FakeClock()).drain()
    assert report.failed == [] and report.pending == 0
    assert state_of(db, meeting_id).state == MeetingState.published
    bench = next(i for i in github.repo.issues if i["title"] == "Benchmark the new parser")
    assert "Owner: alice (@alice)" in bench["body"] and "Due: 2024-03-28" in bench["body"]
    assert bench["_assignees"] == ["alice"]
    everything = "\n".join(i["title"] + "\n" + i["body"] for i in github.repo.issues)
    assert "migration guide" not in everything and "PDF" not in everything
    readme = github.file_text("meetings/2024.03.07/README.md")
    assert "- **alice**: Benchmark the new parser, due 2024-03-28 ([#" in section(readme, "Action items")
    assert "migration guide" not in section(readme, "Action items")  # not part of the published minutes
    assert "PDF" not in section(readme, "Wish list") and "Dark mode" in section(readme, "Wish list")
    assert items(db)["Carol"].status == ItemStatus.dropped and items(db)["Carol"].github_issue_number is None

    with db.session() as session, pytest.raises(ReviewError, match="review of this meeting is over"):
        review.edit_action(session, meeting_id, before["Alice"].id, "Bob", "")


def test_bad_edits_are_refused_with_a_reason_and_change_nothing(db, github):
    settings = review_settings(github)
    meeting_id = held_meeting(db, settings)
    alice = items(db)["Alice"]
    wish = items(db)["Dark mode for the dashboard"]
    with db.session() as session:
        with pytest.raises(ReviewError, match="“next friday” is not a due date: use YYYY-MM-DD"):
            review.edit_action(session, meeting_id, alice.id, "Alice", "next friday")
        with pytest.raises(ReviewError, match="needs an owner"):
            review.edit_action(session, meeting_id, alice.id, "   ", "")
        with pytest.raises(ReviewError, match="is not one of this meeting's"):
            review.edit_action(session, meeting_id, wish.id + 1000, "Alice", "")
        with pytest.raises(ReviewError, match="does not name an item"):
            review.set_dropped(session, meeting_id, ["x1"])
    kept = items(db)["Alice"]
    assert (kept.owner_name, kept.due, kept.status) == ("Alice", dt.date(2024, 3, 14), ItemStatus.open)
    with db.session() as session:  # no due date at all is a valid answer
        assert review.edit_action(session, meeting_id, alice.id, "Alice", "").due is None


@pytest.mark.parametrize("default", ["file", "drop"])
def test_when_nobody_reviews_in_time_the_default_applies(db, github, default):
    settings = review_settings(github, timeout_hours=2, default=default)
    meeting_id = held_meeting(db, settings)
    with db.session() as session:
        assert review.expire_due(session, HELD_AT + dt.timedelta(hours=1, minutes=59), settings) == []
        assert review.next_deadline(session) == HELD_AT + dt.timedelta(hours=2)
    assert publications(db) == []

    # The pipeline's publish step applies the deadline (as the bot's check and `wgbot publish` do).
    with time_machine.travel(HELD_AT + dt.timedelta(hours=2, seconds=1), tick=False):
        pipeline.publish_step(db, settings, meeting_id)
    meeting = state_of(db, meeting_id)
    assert meeting.review_state == ReviewState.expired and meeting.state == MeetingState.published
    titles = {i["title"] for i in github.repo.issues}
    if default == "file":
        assert titles == {
            "Finish the RFC draft",
            "Benchmark the new parser",
            "Write the migration guide",
            "Dark mode for the dashboard",
            "Export the minutes as PDF",
        }
    else:
        assert titles == set()  # nothing filed for the items...
        assert all(i.status == ItemStatus.dropped for i in items(db).values())
        readme = github.file_text("meetings/2024.03.07/README.md")  # ...and the minutes still archived
        assert MINUTES.long_summary in readme and section(readme, "Action items").strip() == "(none)"


def test_wgbot_publish_applies_the_deadline(sqlite_db, github, tmp_path, monkeypatch):
    db = sqlite_db  # the command reads its database from the environment; SQLite is enough to show it
    settings = review_settings(github, timeout_hours=1)
    meeting_id = held_meeting(db, settings, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    for name, value in {
        "WGBOT_DATABASE_URL": db.url.replace("+pysqlite", ""),
        "WGBOT_GITHUB_TOKEN": github.token,
        "WGBOT_GITHUB_REPO": REPO,
        "WGBOT_GITHUB_API_URL": github.api_url,
        "WGBOT_PUBLISH_WRITE_INTERVAL_SECONDS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    from bot.cli import app

    result = CliRunner().invoke(app, ["publish", "--max-wait", "0"])
    assert result.exit_code == 0, result.output
    assert f"meeting {meeting_id}: nobody reviewed it in time" in result.output
    assert state_of(db, meeting_id).state == MeetingState.published
    assert len(github.repo.issues) == 5


# ---- the Discord side ----------------------------------------------------------------------------------------


def _components(message: dict) -> dict[str, dict]:
    return {c["custom_id"]: c for row in message["components"] for c in row["components"]}


def _options(message: dict, custom_id: str) -> dict[str, str]:
    return {o["label"]: o["value"] for o in _components(message)[custom_id]["options"]}


def _sections(fake_discord, github, **review_options) -> dict:
    return {
        "github": {"token": github.token, "repo": REPO, "api_url": github.api_url},
        "group": {"review_mode": True, **review_options},
        "publish": {"write_interval_seconds": 0.0},
        "discord": {"api_base": fake_discord.base},
    }


async def _held_in_bot(bot_factory, fake_discord, db, github, **review_options):
    bot = await bot_factory(db, **_sections(fake_discord, github, **review_options))
    pipeline_cog(bot).status.poll_seconds = 0.05
    meeting_id = await asyncio.to_thread(held_meeting, db, bot.settings, at=None)
    pipeline_cog(bot).status.track(meeting_id)  # as after a recording: the status watcher posts the review message
    await eventually(lambda: state_of(db, meeting_id).review_message_id is not None, what="the review message")
    return bot, meeting_id


async def _drain(db, settings) -> None:
    await asyncio.to_thread(lambda: make_publisher(db, settings, FakeClock()).drain())


async def test_organizers_review_in_discord_and_only_what_they_kept_is_filed(
    clock,
    bot_factory,
    fake_discord,
    sqlite_db,
    github,
):
    bot, meeting_id = await _held_in_bot(bot_factory, fake_discord, sqlite_db, github)
    message_id = state_of(sqlite_db, meeting_id).review_message_id
    message = fake_discord.find_message(message_id)
    assert message["content"].startswith(f"<@&{ORGANIZER_ROLE_ID}>: the items of **Parsers WG call**")
    [embed] = message["embeds"]
    assert "1. **Alice**: Finish the RFC draft · due 2024-03-14" in embed["description"]
    assert "Nothing from this meeting is filed until an organizer decides" in embed["description"]
    assert set(_components(message)) == {"wgbot:review:edit", "wgbot:review:drop", "wgbot:review:file"}

    # Not an organizer: refused, and nothing happens.
    refused = await press(fake_discord, bot, message_id, "wgbot:review:file", user=BOB)
    assert refused.ephemeral and "Only people with the" in refused.text and "review the minutes" in refused.text
    assert publications(sqlite_db) == [] and state_of(sqlite_db, meeting_id).review_state == ReviewState.pending

    # Bob's item goes to Alice, due 2024-03-28: the select opens a modal, the modal saves it.
    bob_item = _options(message, "wgbot:review:edit")["2. Bob: Benchmark the new parser"]
    opened = await press(fake_discord, bot, message_id, "wgbot:review:edit", user=ALICE, values=[bob_item])
    modal = modal_of(opened)
    bad = await submit_modal(
        fake_discord, bot, modal, {"owner": "Alice", "due": "soon"}, user=ALICE, message=message_id
    )
    assert bad.ephemeral and "is not a due date" in bad.text
    saved = await submit_modal(
        fake_discord, bot, modal, {"owner": "Alice", "due": "2024-03-28"}, user=ALICE, message=message_id
    )
    assert saved.bodies[0]["type"] == 7  # the review message itself shows the change
    message = fake_discord.find_message(message_id)
    assert "2. **Alice**: Benchmark the new parser · due 2024-03-28" in message["embeds"][0]["description"]

    # Carol's item is dropped.
    carol = _options(message, "wgbot:review:drop")["Drop 3. Carol: Write the migration guide"]
    await press(fake_discord, bot, message_id, "wgbot:review:drop", user=CAROL_ORGANIZER, values=[carol])
    message = fake_discord.find_message(message_id)
    assert (
        "~~3. **Carol**: Write the migration guide · due 2024-03-21~~ (dropped)" in message["embeds"][0]["description"]
    )
    assert "Keep 3. Carol: Write the migration guide" in _options(message, "wgbot:review:drop")
    assert publications(sqlite_db) == []  # nothing before the approval

    # File all: the rows for what was kept; the message closes; the pipeline goes on.
    before_filing = fake_discord.find_message(message_id) | {}
    filed = await press(fake_discord, bot, message_id, "wgbot:review:file", user=ALICE)
    assert filed.bodies[0]["type"] == 7
    message = fake_discord.find_message(message_id)
    assert message["components"] == [] and "✔ Approved by Alice" in message["embeds"][0]["description"]
    await settle(bot)
    assert (meeting_id, "summarized") in pipeline_cog(bot).runner.started  # handed back to the pipeline
    await _drain(sqlite_db, bot.settings)
    titles = {i["title"] for i in github.repo.issues}
    assert titles == {
        "Finish the RFC draft",
        "Benchmark the new parser",
        "Dark mode for the dashboard",
        "Export the minutes as PDF",
    }
    bench = next(i for i in github.repo.issues if i["title"] == "Benchmark the new parser")
    assert "Owner: Alice (@alice)" in bench["body"] and "Due: 2024-03-28" in bench["body"]
    assert state_of(sqlite_db, meeting_id).state == MeetingState.published
    minutes_post = fake_discord.channel_posts()[-1]["content"]  # the outbox's minutes message
    assert (
        "- Alice: Benchmark the new parser (due 2024-03-28)" in minutes_post and "migration guide" not in minutes_post
    )

    # A second organizer pressed "File all" on the message as it was a moment earlier.
    late = await press(fake_discord, bot, before_filing, "wgbot:review:file", user=CAROL_ORGANIZER)
    assert late.ephemeral and "The review of this meeting is over: its items were approved." in late.text
    assert len(github.repo.issues) == 4


async def test_the_buttons_work_after_a_restart(clock, bot_factory, fake_discord, sqlite_db, github):
    bot, meeting_id = await _held_in_bot(bot_factory, fake_discord, sqlite_db, github)
    message_id = state_of(sqlite_db, meeting_id).review_message_id
    await bot.close()

    again = await bot_factory(sqlite_db, **_sections(fake_discord, github))
    message = fake_discord.find_message(message_id)
    wish = _options(message, "wgbot:review:drop")["Drop 5. Wish: Export the minutes as PDF"]
    await press(fake_discord, again, message_id, "wgbot:review:drop", user=ALICE, values=[wish])
    assert items(sqlite_db)["Export the minutes as PDF"].status == ItemStatus.dropped
    await press(fake_discord, again, message_id, "wgbot:review:file", user=ALICE)
    assert state_of(sqlite_db, meeting_id).review_state == ReviewState.approved
    assert not any(
        r.subject_id == items(sqlite_db)["Export the minutes as PDF"].id
        for r in publications(sqlite_db)
        if r.kind == PublicationKind.wish_issue
    )


@pytest.mark.parametrize("default", ["file", "drop"])
async def test_the_bot_applies_the_default_when_the_deadline_passes(
    clock,
    bot_factory,
    fake_discord,
    sqlite_db,
    github,
    default,
):
    bot, meeting_id = await _held_in_bot(
        bot_factory, fake_discord, sqlite_db, github, review_timeout_hours=1, review_default=default
    )
    message_id = state_of(sqlite_db, meeting_id).review_message_id
    cog = bot.get_cog("Review")
    assert await cog.expire_now() == []
    clock.shift(dt.timedelta(hours=1, minutes=1))
    assert await cog.expire_now() == [meeting_id]
    assert state_of(sqlite_db, meeting_id).review_state == ReviewState.expired

    def closed() -> bool:
        return fake_discord.find_message(message_id)["components"] == []

    await eventually(closed, what="the review message to close")
    text = fake_discord.find_message(message_id)["embeds"][0]["description"]
    await _drain(sqlite_db, bot.settings)
    titles = {i["title"] for i in github.repo.issues}
    if default == "file":
        assert "⏰ Nobody decided" in text and "5 item(s) were filed as they were" in text
        assert len(titles) == 5
    else:
        assert "nothing was filed" in text
        assert titles == set()
        assert MINUTES.long_summary in github.file_text("meetings/2024.03.07/README.md")
    assert state_of(sqlite_db, meeting_id).state == MeetingState.published
