"""The call's chat is kept with the meeting: real MESSAGE_CREATE/UPDATE/DELETE payloads through the bot's gateway
handlers, during a recording started with /meeting start, on a real database."""

from __future__ import annotations

import datetime as dt
import itertools

import discord
from sqlmodel import select

from tests.bot.conftest import NEXT_MEETING, bot, bot_factory, clock, eventually, fake_discord  # noqa: F401
from tests.fakes.discord_rest import (
    ALICE,
    BOB,
    DAVE,
    GUILD_ID,
    TEXT_CHANNEL_ID,
    VOICE_CHANNEL_ID,
    Person,
    invoke,
    iso,
    member_payload,
    user_payload,
)
from tracker import chat, search
from tracker.models import ChatMessage, Meeting
from transcripts.minutes.chat_notes import parse_chat

OTHER_CHANNEL_ID = 800_000_000_000_000_099
_sequence = itertools.count(1)


def message_create(
    author: Person, channel_id: int, content: str, at: dt.datetime, mentions=(), bot_author: bool = False
) -> dict:
    """MESSAGE_CREATE as the gateway sends it for a guild message (the id is a snowflake of its time)."""
    user = user_payload(author.id, author.name) | {"bot": bot_author}
    return {
        "type": 0,
        "tts": False,
        "timestamp": iso(at),
        "referenced_message": None,
        "pinned": False,
        "nonce": str(next(_sequence)),
        "mentions": [
            user_payload(p.id, p.name) | {"member": member_payload(p.id, p.name, with_user=False)} for p in mentions
        ],
        "mention_roles": [],
        "mention_everyone": False,
        "member": member_payload(author.id, author.name, author.roles, with_user=False),
        "id": str(discord.utils.time_snowflake(at) + next(_sequence)),
        "flags": 0,
        "embeds": [],
        "edited_timestamp": None,
        "content": content,
        "components": [],
        "channel_id": str(channel_id),
        "author": user,
        "attachments": [],
        "guild_id": str(GUILD_ID),
    }


def kept(db) -> list[ChatMessage]:
    with db.session() as session:
        return list(session.exec(select(ChatMessage).order_by(ChatMessage.id)).all())


async def deliver(bot, payload: dict, event: str = "MESSAGE_CREATE") -> None:
    handler = {"MESSAGE_CREATE": "parse_message_create", "MESSAGE_UPDATE": "parse_message_update"}.get(event)
    getattr(bot._connection, handler or "parse_message_delete")(payload)
    for _ in range(5):  # the listeners run as tasks, then in a worker thread
        await discord.utils.sleep_until(discord.utils.utcnow() + dt.timedelta(milliseconds=20))


async def test_messages_during_the_recording_are_kept_with_the_meeting(bot, clock, fake_discord, sqlite_db):
    before = message_create(ALICE, TEXT_CHANNEL_ID, "anyone around?", NEXT_MEETING - dt.timedelta(minutes=5))
    await deliver(bot, before)
    assert kept(sqlite_db) == []  # no recording yet

    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "record optout", user=DAVE)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    start = NEXT_MEETING
    action = message_create(
        ALICE, VOICE_CHANNEL_ID, f"#action <@{BOB.id}> update the CI matrix by Friday", start + dt.timedelta(minutes=5),
        mentions=[BOB],
    )  # fmt: skip
    link = message_create(BOB, TEXT_CHANNEL_ID, "plan: https://example.org/plan", start + dt.timedelta(minutes=6))
    await deliver(bot, action)
    await deliver(bot, action)  # the gateway resent it after a resume
    await deliver(bot, link)
    await deliver(bot, message_create(DAVE, TEXT_CHANNEL_ID, "my secret", start + dt.timedelta(minutes=7)))
    await deliver(bot, message_create(BOB, OTHER_CHANNEL_ID, "elsewhere", start + dt.timedelta(minutes=7)))
    await deliver(
        bot, message_create(ALICE, TEXT_CHANNEL_ID, "a bot line", start + dt.timedelta(minutes=8), bot_author=True)
    )
    await eventually(lambda: len(kept(sqlite_db)) >= 2, what="the chat to be stored")
    rows = kept(sqlite_db)
    assert [(r.author_name, r.channel_id, r.content) for r in rows] == [
        ("Alice", VOICE_CHANNEL_ID, "#action @Bob update the CI matrix by Friday"),
        ("Bob", TEXT_CHANNEL_ID, "plan: https://example.org/plan"),
    ]
    assert [round(r.at) for r in rows] == [300, 360] and rows[0].author_discord_id == ALICE.id

    # An edit replaces the text; a deletion removes the message.
    edit = dict(
        link, content="plan: https://example.org/plan-v2", edited_timestamp=iso(start + dt.timedelta(minutes=9))
    )
    await deliver(bot, edit, "MESSAGE_UPDATE")
    await eventually(lambda: kept(sqlite_db)[1].content.endswith("plan-v2"), what="the edit")

    with sqlite_db.session() as session:
        meeting = session.get(Meeting, rows[0].meeting_id)
        [hit] = search.search(session, "matrix")
        assert hit.kind == "chat" and hit.speaker == "Alice" and hit.cite == "2026-12-03 17:05"
        notes = parse_chat(chat.chat_lines(session, meeting.id), meeting_date=dt.date(2026, 12, 3), names=["Bob"])
    assert [(a.owner, a.task, a.due) for a in notes.actions] == [
        ("Bob", "update the CI matrix by Friday", dt.date(2026, 12, 4))
    ]
    assert [link.url for link in notes.links] == ["https://example.org/plan-v2"]

    await deliver(bot, {"id": link["id"], "channel_id": str(TEXT_CHANNEL_ID), "guild_id": str(GUILD_ID)}, "DELETE")
    await eventually(lambda: len(kept(sqlite_db)) == 1, what="the deletion")

    await invoke(fake_discord, bot, "meeting stop", user=ALICE)
    await deliver(bot, message_create(BOB, TEXT_CHANNEL_ID, "after the call", start + dt.timedelta(minutes=70)))
    assert [r.content for r in kept(sqlite_db)] == ["#action @Bob update the CI matrix by Friday"]


async def test_forget_me_removes_a_persons_chat_and_its_search_entries(bot, clock, fake_discord, sqlite_db):
    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    await deliver(
        bot, message_create(BOB, TEXT_CHANNEL_ID, "the budget is fine", NEXT_MEETING + dt.timedelta(minutes=1))
    )
    await deliver(bot, message_create(ALICE, TEXT_CHANNEL_ID, "budget agreed", NEXT_MEETING + dt.timedelta(minutes=2)))
    await eventually(lambda: len(kept(sqlite_db)) == 2, what="the chat to be stored")
    with sqlite_db.session() as session:
        assert chat.forget(session, BOB.id) == 1
        assert [h.speaker for h in search.search(session, "budget")] == ["Alice"]
    assert [r.author_name for r in kept(sqlite_db)] == ["Alice"]


async def test_the_message_content_intent_follows_the_setting(clock, bot_factory, sqlite_db):
    assert (await bot_factory(sqlite_db)).intents.message_content
    assert not (await bot_factory(sqlite_db, discord={"capture_chat": False})).intents.message_content
