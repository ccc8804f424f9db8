"""The records that keep the bot from creating anything twice on Discord."""

from __future__ import annotations

import datetime as dt

from tests.tracker.group_clock import clock, group  # noqa: F401
from tracker import discord_state
from tracker.models import Meeting, PublicationKind, PublicationState


def test_an_announcement_is_recorded_once_as_done(db, group):
    with db.session() as session:
        meeting = Meeting(group_id=group.id, scheduled_start=dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC))
        session.add(meeting)
        session.flush()
        key = discord_state.announcement_key(meeting.id, "agenda")
        assert discord_state.posted(session, key) is None
        row = discord_state.record_posted(session, meeting.id, key, 10, 111, "https://discord.com/channels/1/10/111")
        again = discord_state.record_posted(session, meeting.id, key, 10, 111)
        assert again.id == row.id and row.kind == PublicationKind.discord_message
        assert row.state == PublicationState.done and row.target == "discord:channel/10"
    with db.session() as session:
        assert discord_state.posted(session, key).external_id == "111"


def test_the_event_id_lives_on_the_meeting(db, group):
    with db.session() as session:
        meeting = Meeting(group_id=group.id, scheduled_start=dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC))
        session.add(meeting)
        session.flush()
        discord_state.set_event_id(session, meeting.id, 1_200_000_000_000_000_001)  # a snowflake: needs BIGINT
        assert [m.id for m in discord_state.meetings_with_events(session, group)] == [meeting.id]
        discord_state.set_event_id(session, meeting.id, None)
        assert discord_state.meetings_with_events(session, group) == []
