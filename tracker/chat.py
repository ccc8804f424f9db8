"""The call's chat: messages typed in the voice channel's own text chat and in the group's text channel while a
meeting is being recorded, kept with the meeting.

The bot (bot/exts/chat.py) hands every message here; what is kept is decided here: only while a meeting of the
group is `recording`, never from bots, never from someone who opted out of recording (`/record optout`, for the
whole group or during this call). An edit replaces the text, a deletion removes the message. The minutes take links
and MeetBot-style notes from them (transcripts/minutes/chat_notes.py); forget-me removes a person's messages.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from tracker import members, optout, schedule, search
from tracker.models import ChatMessage, Meeting, MeetingState, WorkingGroup, as_utc, saved_id
from transcripts.minutes.chat_notes import ChatLine

log = logging.getLogger(__name__)

MAX_CONTENT = 4000  # Discord's limit for Nitro users; longer is not a chat message


@dataclass(frozen=True)
class Incoming:
    """A message as the gateway delivered it (bot/exts/chat.py fills this from MESSAGE_CREATE)."""

    message_id: int
    channel_id: int
    author_id: int
    author_name: str
    content: str  # with mentions shown as @name (discord.py's clean_content)
    posted_at: dt.datetime
    author_is_bot: bool = False


def recording_meeting(session: Session, group: WorkingGroup) -> Meeting | None:
    """The group's meeting being recorded now, if any."""
    return session.exec(
        select(Meeting)
        .where(Meeting.group_id == group.id, Meeting.state == MeetingState.recording)
        .order_by(col(Meeting.started_at).desc())
    ).first()


def _opted_out(session: Session, meeting: Meeting, author_id: int) -> bool:
    if members.is_opted_out(session, author_id):
        return True
    entries = optout.load(meeting.recording_dir) if meeting.recording_dir else []
    return any(e.user_id == str(author_id) for e in entries)


def keep(session: Session, group: WorkingGroup, message: Incoming) -> ChatMessage | None:
    """Store `message` with the meeting being recorded; None when it is not kept (see the module). Idempotent: a
    message delivered twice (a gateway resume) is stored once."""
    if message.author_is_bot or not message.content.strip():
        return None
    meeting = recording_meeting(session, group)
    if meeting is None:
        return None
    meeting_id = saved_id(meeting)
    existing = session.exec(select(ChatMessage).where(ChatMessage.discord_message_id == message.message_id)).first()
    if existing is not None:
        return existing
    if _opted_out(session, meeting, message.author_id):
        log.debug("chat: message %s not kept (its author opted out)", message.message_id)
        return None
    started = as_utc(meeting.started_at or meeting.scheduled_start)
    posted = as_utc(message.posted_at)
    member = members.find(session, message.author_id)
    row = ChatMessage(
        meeting_id=meeting_id,
        discord_message_id=message.message_id,
        channel_id=message.channel_id,
        author_discord_id=message.author_id,
        member_id=member.id if member else None,
        author_name=message.author_name,
        content=message.content[:MAX_CONTENT],
        posted_at=posted,
        at=round(max(0.0, (posted - started).total_seconds()), 3),
    )
    session.add(row)
    session.flush()
    search.index_meeting(session, meeting_id)
    log.info("chat: kept message %s of meeting %s", message.message_id, meeting_id)
    return row


def edited(session: Session, message_id: int, content: str, edited_at: dt.datetime | None = None) -> bool:
    row = session.exec(select(ChatMessage).where(ChatMessage.discord_message_id == message_id)).first()
    if row is None or row.content == content[:MAX_CONTENT]:
        return False
    row.content = content[:MAX_CONTENT]
    row.edited_at = edited_at or schedule.now()
    session.add(row)
    session.flush()
    search.index_meeting(session, row.meeting_id)
    return True


def deleted(session: Session, message_id: int) -> bool:
    row = session.exec(select(ChatMessage).where(ChatMessage.discord_message_id == message_id)).first()
    if row is None:
        return False
    meeting_id = row.meeting_id
    session.delete(row)
    session.flush()
    search.index_meeting(session, meeting_id)
    return True


def messages(session: Session, meeting_id: int) -> list[ChatMessage]:
    return list(
        session.exec(
            select(ChatMessage)
            .where(ChatMessage.meeting_id == meeting_id)
            .order_by(col(ChatMessage.posted_at), col(ChatMessage.id))
        ).all()
    )


def chat_lines(session: Session, meeting_id: int) -> list[ChatLine]:
    """The meeting's chat as the minutes read it."""
    return [ChatLine(author=m.author_name, at=m.at, text=m.content) for m in messages(session, meeting_id)]


def forget(session: Session, discord_id: int) -> int:
    """Forget-me: delete every chat message of this Discord user, and their texts in the search index."""
    meeting_ids = set(
        session.exec(select(ChatMessage.meeting_id).where(ChatMessage.author_discord_id == discord_id)).all()
    )
    result = session.exec(delete(ChatMessage).where(col(ChatMessage.author_discord_id) == discord_id))
    search.forget_person(session, discord_id=discord_id)
    log.info("chat: %d message(s) of a user forgotten in %d meeting(s)", result.rowcount or 0, len(meeting_ids))
    return result.rowcount or 0


def forget_in_meeting(session: Session, meeting_id: int, discord_ids: list[int | str]) -> int:
    """Someone opted out during the call: what they typed in it goes too (before the minutes are written)."""
    ids = [int(i) for i in discord_ids if str(i).isdigit()]
    if not ids:
        return 0
    result = session.exec(
        delete(ChatMessage).where(
            col(ChatMessage.meeting_id) == meeting_id, col(ChatMessage.author_discord_id).in_(ids)
        )
    )
    if result.rowcount:
        search.index_meeting(session, meeting_id)
    return result.rowcount or 0
