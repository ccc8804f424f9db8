"""Slash commands driven through the bot's real command tree with raw interaction payloads, answered over HTTP to
the fake Discord: what the user sees, what is stored, who is refused."""

from __future__ import annotations

import datetime as dt
import logging

from sqlmodel import select

from tests.bot.conftest import NEXT_MEETING, FakeRecorder, job_times, recording_cog, settle
from tests.fakes.discord_rest import ALICE, BOB, CAROL, DAVE, GUILD_ID, ORGANIZER_ROLE_ID, invoke
from tracker import search
from tracker.models import (
    ActionItem,
    AgendaItem,
    ItemStatus,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    TranscriptSegment,
    WishlistEntry,
)

SLASH_COMMANDS = {
    "meeting", "agenda", "actions", "wishlist", "summary", "search", "ask", "catchup", "calendar", "link", "record",
    "project", "live", "forget-me",
}  # fmt: skip


def rows(db, model, *where):
    with db.session() as session:
        return list(session.exec(select(model).where(*where)))


async def test_setup_syncs_every_command_to_the_configured_guild(bot, fake_discord):
    syncs = fake_discord.requests_to("PUT", rf"applications/\d+/guilds/{GUILD_ID}/commands")
    assert len(syncs) == 1
    assert {c["name"] for c in syncs[0].body} == SLASH_COMMANDS
    meeting = next(c for c in syncs[0].body if c["name"] == "meeting")
    assert {o["name"] for o in meeting["options"]} == {"next", "status", "skip", "reschedule", "start", "stop"}


async def test_meeting_next_shows_the_coming_thursdays_in_utc(bot, fake_discord):
    reply = await invoke(fake_discord, bot, "meeting next", user=BOB)
    assert not reply.ephemeral
    embed = reply.embeds[0]
    assert embed["title"] == "Next meetings"
    assert f"<t:{int(NEXT_MEETING.timestamp())}:F>" in embed["description"]
    assert "17:00 UTC" in reply.text and "<#" in embed["description"]  # the voice channel
    assert len(embed["fields"][0]["value"].splitlines()) == 5


async def test_agenda_add_list_and_remove(bot, fake_discord, sqlite_db):
    added = await invoke(fake_discord, bot, "agenda add", user=BOB, topic="  Release   plan ", presenter="Bob")
    assert "Added `#1` “Release plan”" in added.text and not added.ephemeral
    [item] = rows(sqlite_db, AgendaItem)
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, item.meeting_id)
        bob = session.get(Member, item.added_by_id)
    assert meeting.occurrence_start == NEXT_MEETING and bob.discord_id == BOB.id

    listed = await invoke(fake_discord, bot, "agenda list", user=CAROL)
    assert "`#1` Release plan — Bob" in listed.embeds[0]["description"]

    choices = await invoke(fake_discord, bot, "agenda remove", user=BOB, focused="item", item="rel")
    assert choices.choices == [{"name": "#1 Release plan", "value": 1}]

    refused = await invoke(fake_discord, bot, "agenda remove", user=DAVE, item=1)
    assert refused.ephemeral and "added by someone else" in refused.text
    assert rows(sqlite_db, AgendaItem)

    removed = await invoke(fake_discord, bot, "agenda remove", user=BOB, item=1)
    assert "Removed `#1`" in removed.text
    assert rows(sqlite_db, AgendaItem) == []


async def test_a_duplicate_topic_is_refused_in_plain_words(bot, fake_discord):
    await invoke(fake_discord, bot, "agenda add", user=BOB, topic="Budget")
    again = await invoke(fake_discord, bot, "agenda add", user=ALICE, topic="budget")
    assert again.ephemeral
    assert again.text.startswith("❌ “budget” is already on the agenda of 2026-12-03")


async def test_organizer_commands_refuse_members_and_change_nothing(bot, fake_discord, sqlite_db):
    for command, options in (
        ("meeting skip", {}),
        ("meeting reschedule", {"date": "2026-12-04", "time": "18:00"}),
        ("meeting start", {}),
        ("meeting stop", {}),
    ):
        reply = await invoke(fake_discord, bot, command, user=BOB, **options)
        assert reply.ephemeral, command
        assert reply.text.startswith(f"🚫 Only people with the <@&{ORGANIZER_ROLE_ID}> role"), reply.text
    assert rows(sqlite_db, Meeting, Meeting.state != MeetingState.scheduled) == []
    assert FakeRecorder.instances == []


async def test_skip_by_role_or_by_manage_events_permission(bot, fake_discord, sqlite_db):
    await settle(bot)  # the first start created next Thursday's Discord event
    [event] = fake_discord.events.values()
    assert event["scheduled_start_time"] == NEXT_MEETING.isoformat()

    skipped = await invoke(fake_discord, bot, "meeting skip", user=CAROL)  # no role, but may manage events
    assert not skipped.ephemeral and "Thursday 2026-12-03 is skipped" in skipped.text
    await settle(bot)  # the calendar, the event and the timers follow the schedule
    [meeting] = rows(sqlite_db, Meeting)
    assert meeting.state == MeetingState.cancelled and meeting.discord_event_id is None
    assert fake_discord.events == {} and fake_discord.deleted_events == [int(event["id"])]
    jobs = set(job_times(bot))
    assert not any(j.startswith("wg:s20261203T1700Z") for j in jobs)
    assert "wg:s20261210T1700Z:agenda" in jobs

    shown = await invoke(fake_discord, bot, "meeting next", user=BOB)
    assert "**skipped**" in shown.text

    again = await invoke(fake_discord, bot, "meeting skip", user=ALICE, date="2026-12-05")
    assert again.ephemeral and "There is no meeting on 2026-12-05" in again.text


async def test_reschedule_moves_the_event_and_the_jobs(bot, fake_discord, sqlite_db):
    await settle(bot)
    moved = await invoke(fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-04", time="18:30")
    assert "moved to" in moved.text and "18:30 UTC" in moved.text
    await settle(bot)
    [event] = fake_discord.events.values()
    assert event["scheduled_start_time"] == "2026-12-04T18:30:00+00:00"
    assert event["scheduled_end_time"] == "2026-12-04T19:30:00+00:00"
    assert fake_discord.requests_to("PATCH", r"guilds/\d+/scheduled-events/\d+")
    times = job_times(bot)
    assert times["wg:s20261203T1700Z:start"] == dt.datetime(2026, 12, 4, 18, 30, tzinfo=dt.UTC)
    assert times["wg:s20261203T1700Z:reminder"] == dt.datetime(2026, 12, 4, 17, 30, tzinfo=dt.UTC)


async def test_bad_dates_and_times_get_a_plain_answer(bot, fake_discord):
    reply = await invoke(fake_discord, bot, "meeting reschedule", user=ALICE, date="next friday", time="18:00")
    assert reply.ephemeral and reply.text.startswith("❌ “next friday” is not a date: use YYYY-MM-DD")
    reply = await invoke(fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-04", time="25:00")
    assert reply.ephemeral and "is not a time: use HH:MM in UTC" in reply.text
    reply = await invoke(fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-11-01", time="18:00")
    assert reply.ephemeral and "the new time is in the past" in reply.text.lower()


async def test_meeting_date_autocomplete_offers_the_next_meetings(bot, fake_discord):
    reply = await invoke(fake_discord, bot, "meeting skip", user=ALICE, focused="date", date="12-1")
    assert [c["value"] for c in reply.choices] == ["2026-12-10", "2026-12-17"]
    assert reply.choices[0]["name"] == "Thu 2026-12-10 17:00 UTC"


async def test_start_and_stop_recording(bot, fake_discord, sqlite_db, clock):
    await settle(bot)
    clock.move_to(NEXT_MEETING - dt.timedelta(minutes=5))  # a few minutes early: it is that meeting's recording
    started = await invoke(fake_discord, bot, "meeting start", user=ALICE)
    assert started.bodies[0]["type"] == 5  # deferred, then a follow-up
    assert "🔴 Recording **Working group call**" in started.text
    [recorder] = FakeRecorder.instances
    assert recorder.started and recorder.voice_channel.id == bot.voice_channel_id
    assert recorder.text_channel.id == bot.text_channel_id
    [meeting] = rows(sqlite_db, Meeting)
    assert meeting.state == MeetingState.recording and meeting.occurrence_start == NEXT_MEETING
    assert recorder.folder == bot.recordings_dir / f"2026.12.03-m{meeting.id}"
    await settle(bot)  # the Discord event follows the recording
    [event] = fake_discord.events.values()
    assert event["status"] == 2  # active

    status = await invoke(fake_discord, bot, "meeting status", user=BOB)
    assert "🔴 Working group call" in status.text

    twice = await invoke(fake_discord, bot, "meeting start", user=ALICE)
    assert [b["type"] for b in twice.bodies] == [5, "delete", "followup"]  # the public "thinking…" goes away
    assert twice.ephemeral and twice.text == "❌ Already recording the meeting of 2026-12-03 17:00 UTC."

    stopped = await invoke(fake_discord, bot, "meeting stop", user=ALICE)
    # At once a public "stopping" message, which becomes the result once the transcript is finished.
    assert [b["type"] for b in stopped.bodies] == [4, "edit"]
    assert stopped.messages[0]["content"].startswith("⏹️ Stopping the recording")
    assert "Recording of **Working group call** stopped" in stopped.messages[1]["content"]
    assert recorder.stopped_with == "stopped by Alice"
    [meeting] = rows(sqlite_db, Meeting)
    assert meeting.state == MeetingState.recorded and meeting.ended_at is not None
    await settle(bot)
    assert event["status"] == 3  # completed

    nothing = await invoke(fake_discord, bot, "meeting stop", user=ALICE)
    assert nothing.text == "❌ Nothing is being recorded."


async def seed_items(db) -> dict[str, int]:
    with db.session() as session:
        carol = Member(discord_id=CAROL.id, display_name="Carol")
        bob = Member(discord_id=BOB.id, display_name="Bob")  # Bob's track said it: owned by his account
        session.add_all([carol, bob])
        session.flush()
        items = [
            ActionItem(owner_name="Bob", owner_id=bob.id, task="Write the release notes"),
            ActionItem(owner_name="Carol", owner_id=carol.id, task="Book the venue"),
            ActionItem(owner_name="Dave", task="Fix the CI cache"),
        ]
        session.add_all(items)
        session.flush()
        return {i.owner_name: i.id for i in items}


async def test_a_stop_that_fails_takes_back_its_stopping_message(bot, fake_discord, clock, monkeypatch, caplog):
    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    [recorder] = FakeRecorder.instances

    async def broken_stop(reason: str = "stopped"):
        raise RuntimeError("the voice connection is gone")

    monkeypatch.setattr(recorder, "stop", broken_stop)
    with caplog.at_level(logging.ERROR):
        reply = await invoke(fake_discord, bot, "meeting stop", user=ALICE)
    # the public "stopping…" goes, and the error reaches the organizer alone
    assert [b["type"] for b in reply.bodies] == [4, "delete", "followup"]
    assert reply.bodies[0]["data"]["content"].startswith("⏹️ Stopping the recording")
    assert reply.bodies[2]["data"]["flags"] & 64 and "Something went wrong" in reply.bodies[2]["data"]["content"]
    assert "the voice connection is gone" in caplog.text


async def test_actions_list_mine_done_and_assign(bot, fake_discord, sqlite_db):
    ids = await seed_items(sqlite_db)
    listed = await invoke(fake_discord, bot, "actions list", user=BOB)
    assert all(task in listed.text for task in ("Write the release notes", "Book the venue", "Fix the CI cache"))
    only_carol = await invoke(fake_discord, bot, "actions list", user=BOB, owner="car")
    assert "Book the venue" in only_carol.text and "release notes" not in only_carol.text
    owners = await invoke(fake_discord, bot, "actions list", user=BOB, focused="owner", owner="")
    assert [c["value"] for c in owners.choices] == ["Bob", "Carol", "Dave"]

    mine = await invoke(fake_discord, bot, "actions mine", user=BOB)
    assert mine.ephemeral and "Write the release notes" in mine.text and "Book the venue" not in mine.text

    refused = await invoke(fake_discord, bot, "actions done", user=BOB, item=ids["Carol"])
    assert refused.ephemeral and "belongs to Carol: only they or an organizer" in refused.text
    done = await invoke(fake_discord, bot, "actions done", user=BOB, item=ids["Bob"])
    assert "— done." in done.text
    assert rows(sqlite_db, ActionItem, ActionItem.id == ids["Bob"])[0].status == ItemStatus.done

    not_yours = await invoke(fake_discord, bot, "actions assign", user=BOB, item=ids["Dave"], member=CAROL)
    assert not_yours.ephemeral and "Only organizers can assign" in not_yours.text
    taken = await invoke(fake_discord, bot, "actions assign", user=BOB, item=ids["Dave"], member=BOB)
    assert f"<@{BOB.id}>" in taken.text
    given = await invoke(fake_discord, bot, "actions assign", user=ALICE, item=ids["Carol"], member=BOB)
    assert not given.ephemeral
    item = rows(sqlite_db, ActionItem, ActionItem.id == ids["Carol"])[0]
    bob = rows(sqlite_db, Member, Member.discord_id == BOB.id)[0]
    assert item.owner_id == bob.id and item.owner_name == "Bob"

    choices = await invoke(fake_discord, bot, "actions done", user=BOB, focused="item", item="venue")
    assert [c["value"] for c in choices.choices] == [ids["Carol"]]


async def test_wishlist_add_and_list(bot, fake_discord, sqlite_db):
    added = await invoke(fake_discord, bot, "wishlist add", user=BOB, title="Dark mode", details="for the docs site")
    assert "Added `#1` “Dark mode”" in added.text
    duplicate = await invoke(fake_discord, bot, "wishlist add", user=CAROL, title="dark mode")
    assert duplicate.ephemeral and "already on the wish list (#1)" in duplicate.text
    listed = await invoke(fake_discord, bot, "wishlist list", user=CAROL)
    assert "`#1` Dark mode" in listed.embeds[0]["description"]
    [entry] = rows(sqlite_db, WishlistEntry)
    assert entry.details == "for the docs site" and entry.added_by_id is not None


async def seed_past_meeting(db) -> int:
    with db.session() as session:
        meeting = Meeting(
            group_id=1,
            occurrence_start=dt.datetime(2026, 11, 26, 17, tzinfo=dt.UTC),
            scheduled_start=dt.datetime(2026, 11, 26, 17, tzinfo=dt.UTC),
            state=MeetingState.published,
        )
        session.add(meeting)
        session.flush()
        session.add(
            MinutesRecord(
                meeting_id=meeting.id,
                summary="We agreed to ship version 2.0 in January.",
                long_summary="A longer account of the release discussion.",
                decisions=["Ship 2.0 in January"],
                next_topics=["Budget"],
            )
        )
        session.add(
            TranscriptSegment(
                meeting_id=meeting.id,
                speaker="Carol",
                start=754.0,
                end=760.0,
                text="I think the migration guide needs screenshots before we ship.",
            )
        )
        search.index_meeting(session, meeting.id)  # as storing a meeting does
        return meeting.id


async def test_summary_and_search(bot, fake_discord, sqlite_db):
    await seed_past_meeting(sqlite_db)
    summary = await invoke(fake_discord, bot, "summary", user=BOB)
    embed = summary.embeds[0]
    assert embed["title"] == "Minutes: Working group call, 2026-11-26"
    assert "ship version 2.0" in embed["description"] and "Ship 2.0 in January" in summary.text
    by_date = await invoke(fake_discord, bot, "summary", user=BOB, date="2026-11-26")
    assert by_date.embeds[0]["title"] == embed["title"]
    missing = await invoke(fake_discord, bot, "summary", user=BOB, date="2026-11-19")
    assert missing.ephemeral and "There was no meeting on 2026-11-19" in missing.text

    found = await invoke(fake_discord, bot, "search", user=BOB, words="migration SCREENSHOTS")
    assert found.ephemeral
    assert "2026-11-26 17:12** · transcript · Carol" in found.text
    assert "**migration** guide needs **screenshots**" in found.text
    none = await invoke(fake_discord, bot, "search", user=BOB, words="kubernetes")
    assert "Nothing found" in none.text


async def test_calendar_link_and_record_optout(bot, fake_discord, sqlite_db):
    calendar = await invoke(fake_discord, bot, "calendar", user=BOB)
    assert calendar.ephemeral and bot.web.url in calendar.text and "webcal://" in calendar.text

    linked = await invoke(fake_discord, bot, "link github", user=BOB, login="https://github.com/bob-the-dev")
    assert linked.ephemeral and "**bob-the-dev**" in linked.text
    bad = await invoke(fake_discord, bot, "link github", user=BOB, login="not a login!")
    assert bad.ephemeral and "is not a GitHub login" in bad.text

    assert not recording_cog(bot).opted_out(BOB.id)
    out = await invoke(fake_discord, bot, "record optout", user=BOB)
    assert out.ephemeral and "opted out" in out.text
    await settle(bot)
    assert recording_cog(bot).opted_out(BOB.id)
    await invoke(fake_discord, bot, "record optin", user=BOB)
    await settle(bot)
    assert not recording_cog(bot).opted_out(BOB.id)
    [bob] = rows(sqlite_db, Member, Member.discord_id == BOB.id)
    assert bob.github_login_pending == "bob-the-dev" and not bob.recording_opt_out  # until an organizer confirms


async def test_an_unexpected_error_is_logged_with_context_and_answered_politely(bot, fake_discord, monkeypatch, caplog):
    from tracker import wishlist

    def broken(session, group, limit=20):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(wishlist, "list_entries", broken)
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        reply = await invoke(fake_discord, bot, "wishlist list", user=BOB)
    assert reply.ephemeral and reply.text.startswith("⚠️ Something went wrong on my side")
    reference = reply.text.split("(ref `")[1].split("`")[0]
    [record] = caplog.records
    assert reference in record.getMessage() and "/wishlist list" in record.getMessage()
    assert f"by user {BOB.id}" in record.getMessage()
    assert record.exc_info[1].args == ("disk on fire",)
    assert "disk on fire" not in reply.text
