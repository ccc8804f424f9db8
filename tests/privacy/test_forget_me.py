"""`/forget-me`: the member sees what would go, and nothing happens until they press "Forget me"."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from tests.fakes.discord_rest import BOB, TEXT_CHANNEL_ID, invoke, press
from tracker.models import Meeting, MeetingState, Member, TranscriptSegment, WorkingGroup


def _seed(db) -> None:
    with db.session() as s:
        group = s.exec(select(WorkingGroup)).first()
        bob = Member(discord_id=BOB.id, display_name="Bob")
        s.add(bob)
        s.flush()
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=dt.datetime(2026, 11, 19, 17, tzinfo=dt.UTC),
            state=MeetingState.published,
        )
        s.add(meeting)
        s.flush()
        s.add_all(
            [
                TranscriptSegment(meeting_id=meeting.id, speaker="Bob", member_id=bob.id, start=1, end=2, text="Mine."),
                TranscriptSegment(meeting_id=meeting.id, speaker="Carol", start=3, end=4, text="Hers."),
            ]
        )


def _ephemeral_message(bot, fake, reply) -> dict:
    """The bot's ephemeral answer with its buttons, as Discord would show it: its id is the one the bot's view is
    bound to (the fake keeps no ephemeral answers: it is put where the command was used, for the press)."""
    views = bot._connection._view_store._views
    message_id = next(m for m, items in views.items() if m and any(k[1] == "wgbot:forget:yes" for k in items))
    message = {**fake.message(TEXT_CHANNEL_ID, reply.messages[0]), "id": str(message_id)}
    fake.messages[TEXT_CHANNEL_ID].append(message)
    return message


async def test_forget_me_asks_then_removes_the_members_lines(bot, fake_discord, sqlite_db):
    _seed(sqlite_db)
    asked = await invoke(fake_discord, bot, "forget-me", user=BOB)
    assert asked.ephemeral and "1 transcript line(s)" in asked.text
    with sqlite_db.session() as s:
        assert s.exec(select(TranscriptSegment).where(TranscriptSegment.speaker == "Bob")).first() is not None

    done = await press(fake_discord, bot, _ephemeral_message(bot, fake_discord, asked), "wgbot:forget:yes", user=BOB)
    assert "Done: 1 transcript line(s)" in done.text
    with sqlite_db.session() as s:
        assert [r.speaker for r in s.exec(select(TranscriptSegment))] == ["Carol"]


async def test_forget_me_cancelled_changes_nothing(bot, fake_discord, sqlite_db):
    _seed(sqlite_db)
    asked = await invoke(fake_discord, bot, "forget-me", user=BOB)
    message = _ephemeral_message(bot, fake_discord, asked)
    cancelled = await press(fake_discord, bot, message, "wgbot:forget:no", user=BOB)
    assert "Nothing was changed" in cancelled.text
    with sqlite_db.session() as s:
        assert len(s.exec(select(TranscriptSegment)).all()) == 2
