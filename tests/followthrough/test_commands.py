"""The follow-through slash commands through the bot's real command tree: /actions done and assign queue the GitHub
change, /wishlist add queues the wish-list issue, /actions sync is for organizers, /ask and /catchup answer."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.bot.conftest import bot, bot_factory, clock, fake_discord  # noqa: F401
from tests.fakes.discord_rest import ALICE, BOB, invoke
from tracker import search
from tracker.models import (
    ActionItem,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    TranscriptSegment,
)


def _seed(db) -> int:
    """A published meeting with Bob's action item, its issue filed as #7."""
    with db.session() as session:
        start = dt.datetime(2026, 11, 26, 17, tzinfo=dt.UTC)
        meeting = Meeting(group_id=1, scheduled_start=start, started_at=start, state=MeetingState.published)
        session.add(meeting)
        session.flush()
        bob = Member(discord_id=BOB.id, display_name="Bob")  # his track said it: the item is his account's
        session.add(bob)
        session.flush()
        item = ActionItem(
            meeting_id=meeting.id, owner_name="Bob", owner_id=bob.id, task="Write the FAQ", github_issue_number=7
        )
        session.add(item)
        session.add(MinutesRecord(meeting_id=meeting.id, summary="FAQ talk.", long_summary="", decisions=["Do a FAQ"]))
        session.add(
            TranscriptSegment(meeting_id=meeting.id, speaker="Bob", start=60, end=65, text="I'll write the FAQ.")
        )
        session.flush()
        session.add(
            Publication(
                meeting_id=meeting.id,
                kind=PublicationKind.action_issue,
                target="wg/meetings",
                subject_id=item.id,
                idempotency_key=f"m{meeting.id}-action-{item.id}",
                state=PublicationState.done,
                external_id="7",
            )
        )
        search.index_meeting(session, meeting.id)
        return item.id


def _updates(db) -> list[Publication]:
    with db.session() as session:
        return list(session.exec(select(Publication).where(Publication.kind == PublicationKind.issue_update)).all())


async def test_actions_done_queues_closing_the_issue_once(bot, fake_discord, sqlite_db):
    item = _seed(sqlite_db)
    done = await invoke(fake_discord, bot, "actions done", user=BOB, item=item)
    assert "done" in done.text and not done.ephemeral
    [row] = _updates(sqlite_db)
    assert row.subject_id == item and "-close-" in row.idempotency_key and row.target == "wg/meetings"
    again = await invoke(fake_discord, bot, "actions done", user=BOB, item=item)
    assert again.ephemeral and "already done" in again.text
    assert len(_updates(sqlite_db)) == 1


async def test_actions_assign_queues_the_assignee_when_the_member_linked_github(bot, fake_discord, sqlite_db):
    item = _seed(sqlite_db)
    await invoke(fake_discord, bot, "actions assign", user=ALICE, item=item, member=BOB.as_option)
    assert _updates(sqlite_db) == []  # Bob has no GitHub login yet: nothing to tell GitHub
    await invoke(fake_discord, bot, "link github", user=BOB, login="bob-gh")
    await invoke(fake_discord, bot, "link confirm", user=ALICE, member=BOB.as_option)  # an organizer confirms it
    await invoke(fake_discord, bot, "actions assign", user=ALICE, item=item, member=BOB.as_option)
    [row] = _updates(sqlite_db)
    assert "-assign-" in row.idempotency_key


async def test_actions_sync_is_for_organizers(bot, fake_discord, sqlite_db):
    refused = await invoke(fake_discord, bot, "actions sync", user=BOB)
    assert refused.ephemeral and "Only" in refused.text
    synced = await invoke(fake_discord, bot, "actions sync", user=ALICE)
    assert "Checked 0 issue(s)" in synced.text


async def test_wishlist_add_queues_the_wish_list_issue(clock, bot_factory, fake_discord, sqlite_db):
    bot = await bot_factory(sqlite_db, github={"repo": "wg/meetings"})
    added = await invoke(fake_discord, bot, "wishlist add", user=BOB, title="Offline mode")
    assert "Added" in added.text
    with sqlite_db.session() as session:
        rows = session.exec(select(Publication).where(Publication.kind == PublicationKind.wish_issue)).all()
    assert [(r.idempotency_key, r.target, r.meeting_id) for r in rows] == [("w1-wish", "wg/meetings", None)]


async def test_ask_without_a_discussion_and_catchup(bot, fake_discord, sqlite_db):
    _seed(sqlite_db)
    asked = await invoke(fake_discord, bot, "ask", user=BOB, question="What is the travel budget for Lisbon?")
    assert "No recorded meeting discussed this." in asked.text
    caught = await invoke(fake_discord, bot, "catchup", user=BOB, meetings=2)
    assert "2026-11-26" in caught.text and "Do a FAQ" in caught.text and "Write the FAQ" in caught.text
    found = await invoke(fake_discord, bot, "search", user=BOB, words="faq", speaker="bob")
    assert "2026-11-26 17:01** · transcript · Bob" in found.text
