"""The recording's life around the recorder: the pipeline hand-over, stopping by itself, opting out during a call,
and a crash in the middle of a meeting."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.bot.conftest import NEXT_MEETING, FakeRecorder, FakeRunner, recording_cog, settle
from tests.fakes.discord_rest import ALICE, BOB, invoke
from tracker.models import Meeting, MeetingState


@pytest.fixture
def pipeline() -> list[tuple[int, str]]:
    """The meetings the bot handed to its pipeline runner (tracker.tasks.PipelineRunner), with their state then."""
    return FakeRunner.started


def meeting(db, meeting_id: int = 1) -> Meeting:
    with db.session() as session:
        return session.get(Meeting, meeting_id)


async def wait_for_pipeline(bot) -> None:
    await settle(bot)  # the pipeline takes the meeting in its `recording_finished` listener


async def test_a_recording_that_stops_by_itself_goes_to_the_pipeline(bot, clock, fake_discord, sqlite_db, pipeline):
    await settle(bot)
    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    [recorder] = FakeRecorder.instances
    assert recorder.meeting_id == "2026.12.03-m1"  # the manifest's name for it, also when resumed
    assert recorder.retention_days == bot.settings.recording.retention_days
    assert recorder.contact == bot.settings.recording.contact

    await recorder.stop("everyone left the channel")  # the recorder's watchdog, not a command
    await wait_for_pipeline(bot)
    assert meeting(sqlite_db).state == MeetingState.recorded
    assert meeting(sqlite_db).state_reason == "everyone left the channel"
    assert pipeline == [(1, "recorded")]
    assert not recording_cog(bot).recording

    again = await invoke(fake_discord, bot, "meeting stop", user=ALICE)
    assert again.text == "❌ Nothing is being recorded."
    assert pipeline == [(1, "recorded")]  # handed over once


async def test_opting_out_during_a_call_reaches_the_recorder(bot, clock, fake_discord):
    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    [recorder] = FakeRecorder.instances
    assert not recorder.opted_out(BOB.id)
    await invoke(fake_discord, bot, "record optout", user=BOB)
    assert recorder.dropped == [BOB.id] and recorder.opted_out(BOB.id)
    await invoke(fake_discord, bot, "record optin", user=BOB)
    assert not recorder.opted_out(BOB.id)


async def test_opted_out_members_are_known_to_the_recorder_from_the_start(bot, clock, fake_discord):
    await invoke(fake_discord, bot, "record optout", user=BOB)
    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    [recorder] = FakeRecorder.instances
    assert recorder.opted_out(BOB.id) and not recorder.opted_out(ALICE.id)


async def crash_while_recording(bot, clock, fake_discord) -> Meeting:
    """Start a recording, then lose the process (no stop, nothing finished)."""
    await settle(bot)
    clock.move_to(NEXT_MEETING + dt.timedelta(minutes=1))
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    recording_cog(bot)._active.clear()  # the recorder dies with the process
    await bot.close()
    return FakeRecorder.instances[0]


async def test_after_a_crash_during_the_meeting_the_recording_resumes(bot, bot_factory, clock, fake_discord, sqlite_db):
    lost = await crash_while_recording(bot, clock, fake_discord)
    clock.move_to(NEXT_MEETING + dt.timedelta(minutes=20))
    again = await bot_factory(sqlite_db)
    await settle(again)
    [resumed] = FakeRecorder.instances
    assert resumed is not lost and resumed.started
    assert resumed.folder == lost.folder and resumed.meeting_id == lost.meeting_id
    assert meeting(sqlite_db).state == MeetingState.recording  # and the start job did not start a second one


async def test_after_a_crash_past_the_meeting_what_was_saved_is_processed(
    bot, bot_factory, clock, fake_discord, sqlite_db, pipeline
):
    lost = await crash_while_recording(bot, clock, fake_discord)
    (lost.folder / "alice-1.ogg").write_bytes(b"OggS" + bytes(100))  # what reached the disk before the crash
    clock.move_to(NEXT_MEETING + dt.timedelta(hours=3))
    again = await bot_factory(sqlite_db)
    await wait_for_pipeline(again)
    assert FakeRecorder.instances == []
    assert meeting(sqlite_db).state == MeetingState.recorded
    assert meeting(sqlite_db).state_reason == "the bot stopped during the recording"
    assert pipeline == [(1, "recorded")]


async def test_expired_recordings_lose_their_audio_and_what_was_said(bot, clock, fake_discord, sqlite_db):
    """Retention as the bot runs it: the audio and the files that hold what was said (live transcript, the
    minutes' answer cache) go once the minutes have been published for `retention_days`."""
    from pathlib import Path

    from bot.voice.manifest import RecordingFolder
    from tracker.live import LIVE_SEGMENTS
    from tracker.pipeline import MINUTES_CACHE
    from tracker.recordings import folder_name

    await settle(bot)
    clock.move_to(NEXT_MEETING)
    await invoke(fake_discord, bot, "meeting start", user=ALICE)
    [recorder] = FakeRecorder.instances
    await recorder.stop("everyone left the channel")
    await wait_for_pipeline(bot)
    held = meeting(sqlite_db)
    folder = Path(held.recording_dir)
    RecordingFolder.open(folder, folder_name(held))  # (the fake recorder writes no manifest)
    for name in (LIVE_SEGMENTS, MINUTES_CACHE):
        (folder / name).write_text('{"text": "I will send the numbers"}\n')
    with sqlite_db.session() as session:
        published = session.get(Meeting, held.id)
        published.state = MeetingState.published
        published.updated_at = NEXT_MEETING
        session.add(published)
        session.commit()

    await recording_cog(bot).purge_expired_audio()  # not yet: published today
    assert (folder / MINUTES_CACHE).exists() and list(folder.glob("*.ogg"))
    clock.move_to(NEXT_MEETING + dt.timedelta(days=bot.settings.recording.retention_days + 1))
    await recording_cog(bot).purge_expired_audio()
    assert not list(folder.glob("*.ogg"))
    assert not (folder / MINUTES_CACHE).exists() and not (folder / LIVE_SEGMENTS).exists()
    assert (folder / "manifest.json").exists()
