"""The meeting timers under a controlled clock: they fire at the right UTC times, follow skips and moves, survive a
restart in a new process, respect their deadlines, and never do their work twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.bot.conftest import (
    MONDAY_NOON,
    NEXT_MEETING,
    FakeRecorder,
    advance,
    job_times,
    settle,
    timers_cog,
)
from tests.fakes.discord_rest import (
    ALICE,
    BOB,
    GUILD_ID,
    ORGANIZER_ROLE_ID,
    TEXT_CHANNEL_ID,
    TOKEN,
    VOICE_CHANNEL_ID,
    invoke,
)
from tracker import schedule, timers
from tracker.db import Database
from tracker.models import (
    ActionItem,
    Meeting,
    MeetingState,
    Publication,
    PublicationKind,
    PublicationState,
    Timer,
    WorkingGroup,
)

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]
KEY = "s20261203T1700Z"  # next Thursday's slot


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=UTC)


def publications(db) -> list[Publication]:
    with db.session() as session:
        return list(session.exec(select(Publication).order_by(Publication.id)))


async def test_each_job_is_planned_at_its_utc_time(bot):
    await settle(bot)  # next Thursday's event was due a week before it: fired at once
    with bot.db.session() as session:
        assert session.get(Timer, f"wg:{KEY}:event").fired_at is not None
    await timers_cog(bot).replan()
    times = job_times(bot)
    assert f"wg:{KEY}:event" not in times  # its work is on record: not planned again
    assert times[f"wg:{KEY}:agenda"] == at(2, 17)  # the day before
    assert times[f"wg:{KEY}:reminder"] == at(3, 16)  # an hour before
    assert times[f"wg:{KEY}:start"] == at(3, 17)
    assert times["wg:s20261210T1700Z:event"] == at(3, 17)  # a week ahead
    with bot.db.session() as session:
        agenda = session.get(Timer, f"wg:{KEY}:agenda")
        start = session.get(Timer, f"wg:{KEY}:start")
    assert (agenda.kind, agenda.key, agenda.fired_at) == ("agenda", KEY, None)  # plain columns: no code, no pickle
    assert agenda.deadline == NEXT_MEETING and start.deadline == at(3, 18)  # until the start, the end


async def test_jobs_fire_at_their_times_and_not_before(bot, clock, fake_discord, sqlite_db):
    await settle(bot)
    assert len(fake_discord.events) == 1
    await invoke(fake_discord, bot, "agenda add", user=BOB, topic="Release plan")
    with sqlite_db.session() as session:
        session.add(ActionItem(owner_name="Carol", task="Book the venue"))

    await advance(clock, bot, at(2, 16, 59))
    assert fake_discord.channel_posts() == []

    await advance(clock, bot, at(2, 17, 0, 1))
    [agenda] = fake_discord.channel_posts()
    embed = agenda["embeds"][0]
    assert agenda["content"].startswith("📋 Agenda for the next call, <t:") and "/agenda add" in agenda["content"]
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "Release plan" in fields["Topics"] and "Book the venue" in fields["Open action items"]
    assert embed["footer"]["text"].endswith("ref m1-agenda")
    assert (
        agenda["nonce"]
        and fake_discord.requests_to("POST", rf"channels/{TEXT_CHANNEL_ID}/messages")[0].body["enforce_nonce"]
    )

    await advance(clock, bot, at(3, 15, 59))
    assert len(fake_discord.channel_posts()) == 1
    await advance(clock, bot, at(3, 16, 0, 1))
    reminder = fake_discord.channel_posts()[1]
    assert f"https://discord.com/channels/{GUILD_ID}/{VOICE_CHANNEL_ID}" in reminder["content"]
    assert f"<t:{int(NEXT_MEETING.timestamp())}:R>" in reminder["content"]

    assert FakeRecorder.instances == []
    await advance(clock, bot, at(3, 17, 0, 1))
    [recorder] = FakeRecorder.instances
    assert recorder.started
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, 1)
    assert meeting.state == MeetingState.recording
    assert len(fake_discord.events) == 2  # and the week-ahead event of the meeting after
    assert sorted(e["scheduled_start_time"] for e in fake_discord.events.values())[1] == at(10, 17).isoformat()
    keys = [(p.idempotency_key, p.kind, p.state) for p in publications(sqlite_db)]
    assert keys == [
        ("m1-agenda", PublicationKind.discord_message, PublicationState.done),
        ("m1-reminder", PublicationKind.discord_message, PublicationState.done),
    ]
    fired = timers_cog(bot).fired
    assert fired[:3] == [("event", KEY), ("agenda", KEY), ("reminder", KEY)]
    assert sorted(fired[3:]) == [("event", "s20261210T1700Z"), ("start", KEY)]  # both due at 17:00


async def test_skip_and_reschedule_move_what_fires(bot, clock, fake_discord):
    await settle(bot)
    await invoke(fake_discord, bot, "meeting reschedule", user=ALICE, date="2026-12-03", time="19:00")
    await advance(clock, bot, at(3, 16, 30))  # the old reminder time has passed
    assert [p for p in fake_discord.channel_posts() if "⏰" in p["content"]] == []
    await advance(clock, bot, at(3, 18, 0, 1))
    [reminder] = [p for p in fake_discord.channel_posts() if "⏰" in p["content"]]
    assert "19:00 UTC" in reminder["content"]
    await advance(clock, bot, at(3, 19, 0, 1))
    assert len(FakeRecorder.instances) == 1

    await invoke(fake_discord, bot, "meeting skip", user=ALICE, date="2026-12-10")
    posts_before = len(fake_discord.channel_posts())
    await advance(clock, bot, at(10, 18))
    assert len(fake_discord.channel_posts()) == posts_before  # no agenda, no reminder for a skipped meeting
    assert len(FakeRecorder.instances) == 1  # and no recording


async def test_a_cadence_change_is_picked_up_by_the_refresh(bot, clock, sqlite_db):
    await settle(bot)
    with sqlite_db.session() as session:
        group = session.get(WorkingGroup, bot.group_id)
        schedule.set_cadence(session, group, weekday=1, start_time=dt.time(9, 30), duration_minutes=45)  # Tuesdays
    await advance(clock, bot, MONDAY_NOON + dt.timedelta(hours=1, seconds=1))  # the hourly refresh runs
    times = job_times(bot)
    assert times["wg:s20261201T0930Z:start"] == at(1, 9, 30)
    assert not any("s20261203T1700Z" in job for job in times)


def child_env(tmp_path: Path, base: str, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WGBOT_DISCORD_TOKEN": TOKEN,
        "WGBOT_DISCORD_GUILD_ID": str(GUILD_ID),
        "WGBOT_DISCORD_TEXT_CHANNEL_ID": str(TEXT_CHANNEL_ID),
        "WGBOT_DISCORD_VOICE_CHANNEL_ID": str(VOICE_CHANNEL_ID),
        "WGBOT_DISCORD_ORGANIZER_ROLE_ID": str(ORGANIZER_ROLE_ID),
        "WGBOT_DISCORD_API_BASE": base,
        "WGBOT_DATABASE_URL": db_url,
        "WGBOT_DATA_DIR": str(tmp_path / "data"),
        "WGBOT_CALENDAR_PORT": "0",
    }


async def run_child(env: dict[str, str], moment: dt.datetime) -> dict:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "tests" / "bot" / "restart_child.py"),
        moment.isoformat(),
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, err.decode()[-3000:]
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_jobs_survive_a_restart_in_a_new_process_and_fire_once(
    clock, bot_factory, sqlite_db, fake_discord, tmp_path
):
    first = await bot_factory(sqlite_db)
    await settle(first)
    planned = job_times(first)
    await first.close()

    # The timers are rows of the tracker's database, which outlive the process.
    engine_again = Database(sqlite_db.url)
    with engine_again.session() as session:
        assert timers.planned_times(session) == planned
    assert "apscheduler_jobs" not in sa.inspect(engine_again.engine).get_table_names()
    engine_again.dispose()
    assert planned

    # A new process, started five minutes after the agenda was due, posts it, once.
    result = await run_child(child_env(tmp_path, fake_discord.base, sqlite_db.url), at(2, 17, 5))
    assert result["fired"] == [["agenda", KEY]]
    [agenda] = fake_discord.channel_posts()
    assert agenda["embeds"][0]["footer"]["text"].endswith("ref m1-agenda")

    # And once more, in this process: nothing is due that was not done.
    clock.move_to(at(2, 17, 10))
    again = await bot_factory(sqlite_db)
    await settle(again)
    assert timers_cog(again).fired == []
    assert len(fake_discord.channel_posts()) == 1
    assert len(fake_discord.events) == 1  # the event was created once, by the first start


@pytest.mark.parametrize(
    ("down_until", "posts", "records"),
    [
        (at(3, 16, 30), ["📋", "⏰"], False),  # after the reminder time, before the start: both still useful
        (at(3, 17, 30), [], True),  # the meeting is under way: no agenda or reminder, but record the rest of it
    ],
    ids=["before-the-start", "during-the-meeting"],
)
async def test_misfired_jobs_run_only_while_useful(
    clock, bot_factory, sqlite_db, fake_discord, down_until, posts, records
):
    first = await bot_factory(sqlite_db)
    await settle(first)
    await first.close()

    clock.move_to(down_until)
    again = await bot_factory(sqlite_db)
    await settle(again)
    assert [p["content"][0] for p in fake_discord.channel_posts()] == posts
    assert bool(FakeRecorder.instances) is records


async def test_a_job_that_fires_again_does_nothing_twice(bot, clock, fake_discord, sqlite_db):
    await settle(bot)
    await advance(clock, bot, at(2, 17, 0, 1))
    [posted] = fake_discord.channel_posts()

    async def fire_again(kind: str) -> None:  # as after a restart while its work was under way
        occ = await bot.group_call(timers.find_occurrence, KEY)
        bot.dispatch(f"meeting_{kind}_timer_complete", occ)
        bot.dispatch(f"meeting_{kind}_timer_complete", occ)  # twice at once, too
        await settle(bot)

    await fire_again("agenda")
    assert len(fake_discord.channel_posts()) == 1

    # Posted, then a crash before the record was written: the post is found in the channel by its reference.
    with sqlite_db.session() as session:
        session.delete(session.exec(select(Publication)).one())
    await fire_again("agenda")
    assert len(fake_discord.channel_posts()) == 1
    [record] = publications(sqlite_db)
    assert record.external_id == posted["id"] and record.state == PublicationState.done

    await fire_again("event")
    assert len(fake_discord.events) == 1  # the event is updated in place, not created again
    before = dict(job_times(bot))
    await timers_cog(bot).replan()
    assert job_times(bot) == before


async def test_a_job_planned_before_a_move_does_not_fire_at_the_old_time(bot, clock, sqlite_db, fake_discord):
    await settle(bot)
    with sqlite_db.session() as session:  # moved behind the bot's back (the CLI, another process)
        group = session.get(WorkingGroup, bot.group_id)
        schedule.reschedule(session, group, NEXT_MEETING.date(), at(4, 17))
    await advance(clock, bot, at(3, 16, 0, 1))  # the old agenda and reminder times
    assert fake_discord.channel_posts() == []
    assert job_times(bot)[f"wg:{KEY}:reminder"] == at(4, 16)
    assert job_times(bot)[f"wg:{KEY}:agenda"] == at(3, 17)


async def test_a_job_planned_before_a_move_earlier_does_not_fire_after_the_meeting(bot, clock, sqlite_db, fake_discord):
    await settle(bot)
    clock.move_to(at(3, 10))
    with sqlite_db.session() as session:  # moved to 12:00 the same day, behind the bot's back
        group = session.get(WorkingGroup, bot.group_id)
        schedule.reschedule(session, group, NEXT_MEETING.date(), at(3, 12))
    await advance(clock, bot, at(3, 16, 0, 1))  # the old reminder time: that meeting is over
    assert fake_discord.channel_posts() == []
    assert FakeRecorder.instances == []


@pytest.mark.postgres
async def test_the_timers_are_kept_on_postgresql(clock, bot_factory, postgres_db, fake_discord):
    first = await bot_factory(postgres_db)
    await settle(first)
    planned = job_times(first)
    await first.close()
    again = await bot_factory(postgres_db)
    assert job_times(again) == planned
    await advance(clock, again, at(2, 17, 0, 1))
    assert len(fake_discord.channel_posts()) == 1
    await again.close()
