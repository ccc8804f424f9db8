"""The status message: how each state of a meeting's pipeline reads (pure rendering), and the bot keeping one
message current through the fake Discord REST API while the database advances — also across a restart."""

from __future__ import annotations

import datetime as dt

import discord
import pytest
from sqlmodel import select

from bot.pipeline_status import ActionLine, Progress, Row, read_progress, render
from tests.bot.conftest import (  # noqa: F401  (fixtures)
    bot_factory,
    clock,
    eventually,
    fake_discord,
    pipeline_cog,
    settle,
)
from tests.fakes.discord_rest import TEXT_CHANNEL_ID
from tracker.models import (
    ActionItem,
    ItemStatus,
    Meeting,
    MeetingState,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    ReviewDefault,
    ReviewState,
    TranscriptSegment,
    WishlistEntry,
    WorkingGroup,
)

DAY = dt.date(2026, 12, 3)
DEADLINE = dt.datetime(2026, 12, 4, 19, 0, tzinfo=dt.UTC)
DONE, PENDING, FAILED = PublicationState.done, PublicationState.pending, PublicationState.failed


def progress(state: MeetingState, **fields) -> Progress:
    base = {
        "meeting_id": 7,
        "title": "Parsers WG call",
        "day": DAY,
        "state": state,
        "recorded_seconds": 58 * 60 + 10,
        "speakers": 4,
    }
    return Progress(**(base | fields))


def minutes_written(**fields) -> dict:
    actions = [
        ActionLine("Alice", "Finish the RFC draft", dt.date(2026, 12, 10), "https://gh.test/wg/m/issues/1"),
        ActionLine("Bob", "Benchmark the parser", None, "https://gh.test/wg/m/issues/2"),
    ]
    return {
        "segments": 212,
        "has_minutes": True,
        "summary": "We agreed to ship the RFC.",
        "actions": actions,
        "wishes": 1,
    } | fields


def lines(embed: discord.Embed) -> list[str]:
    return embed.description.split("\n")


# ---- rendering ---------------------------------------------------------------------------------------------


def test_recorded_and_transcribing():
    embed = render(progress(MeetingState.recorded))
    assert embed.title == "Parsers WG call: 2026-12-03"
    assert lines(embed) == ["● Recorded 58 min, 4 speakers", "◌ Transcribing…"]
    assert embed.colour == discord.Colour.blurple()


def test_transcribed_then_writing_the_minutes():
    embed = render(progress(MeetingState.transcribed, segments=212))
    assert lines(embed) == ["● Recorded 58 min, 4 speakers", "● Transcribed: 212 segments", "◌ Writing the minutes…"]


def test_filing_issues_hides_what_waits_for_them():
    rows = {
        "issues": [Row(DONE, "u1"), Row(DONE, "u2"), Row(PENDING)],
        "archive": Row(PENDING),
        "minutes_message": Row(PENDING),
    }
    embed = render(progress(MeetingState.summarized, **minutes_written(**rows)))
    assert lines(embed)[2:] == ["● Minutes written: 2 action items, 1 wish", "◌ Filing issues: 2 of 3…"]


def test_a_failed_issue_is_shown_with_its_error():
    rows = {"issues": [Row(DONE, "u1"), Row(FAILED, error="GitHub answered 422 Validation Failed")]}
    embed = render(progress(MeetingState.summarized, **minutes_written(**rows)))
    assert lines(embed)[-2:] == [
        "◌ Filing issues: 1 of 2…",
        "⚠ 1 issue could not be filed: GitHub answered 422 Validation Failed",
    ]
    assert embed.colour == discord.Colour.orange()


def test_issues_filed_then_the_archive_then_the_forum():
    rows = {
        "issues": [Row(DONE, "u1"), Row(DONE, "u2"), Row(DONE, "u3")],
        "archive": Row(DONE, "https://gh.test/wg/m/blob/main/meetings/2026.12.03/README.md"),
        "forum": Row(PENDING),
        "minutes_message": Row(PENDING),
    }
    embed = render(progress(MeetingState.summarized, **minutes_written(**rows)))
    assert lines(embed)[3:] == [
        "● 3 issues filed",
        "● Archive: https://gh.test/wg/m/blob/main/meetings/2026.12.03/README.md",
        "◌ Posting to the forum…",
    ]


def test_waiting_for_review():
    embed = render(
        progress(
            MeetingState.summarized,
            review_state=ReviewState.pending,
            review_deadline=DEADLINE,
            review_default=ReviewDefault.drop,
            **minutes_written(),
        ),
        review_url="https://discord.com/channels/1/2/3",
    )
    assert lines(embed)[-1] == (
        "⏸ Waiting for an organizer to review the items in https://discord.com/channels/1/2/3 until "
        f"<t:{int(DEADLINE.timestamp())}:f> (<t:{int(DEADLINE.timestamp())}:R>); then the items are dropped"
    )
    assert embed.colour == discord.Colour.orange()


def test_published_links_to_the_minutes_message_instead_of_repeating_it():
    rows = {
        "issues": [Row(DONE, "u1"), Row(DONE, "u2")],
        "archive": Row(DONE, "https://gh.test/readme"),
        "forum": Row(DONE, "https://forum.test/t/77/5"),
        "minutes_message": Row(DONE, "https://discord.com/channels/1/2/99"),
    }
    embed = render(progress(MeetingState.published, review_state=ReviewState.approved, **minutes_written(**rows)))
    assert lines(embed)[3:] == [
        "● Items reviewed and approved",
        "● 2 issues filed",
        "● Archive: https://gh.test/readme",
        "● Forum post: https://forum.test/t/77/5",
        "● Minutes posted: https://discord.com/channels/1/2/99",
        "✔ Published",
    ]
    assert embed.fields == [] and embed.colour == discord.Colour.green()


def test_published_without_a_minutes_message_carries_the_minutes_itself():
    rows = {"issues": [Row(DONE, "u1"), Row(DONE, "u2")], "archive": Row(DONE, "https://gh.test/readme")}
    embed = render(progress(MeetingState.published, **minutes_written(**rows)))
    assert lines(embed)[-1] == "✔ Published"
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Summary"] == "We agreed to ship the RFC."
    assert fields["Action items"] == (
        "• **Alice**: Finish the RFC draft (due 2026-12-10) [issue](https://gh.test/wg/m/issues/1)\n"
        "• **Bob**: Benchmark the parser [issue](https://gh.test/wg/m/issues/2)"
    )


def test_failed():
    embed = render(progress(MeetingState.failed, reason="transcribe failed: no audio track could be decoded"))
    assert lines(embed) == [
        "● Recorded 58 min, 4 speakers",
        "✘ Failed: transcribe failed: no audio track could be decoded",
    ]
    assert embed.colour == discord.Colour.red()


# ---- the bot keeps one message current -------------------------------------------------------------------------


def _meeting(db, folder) -> int:
    with db.session() as session:
        group = session.exec(select(WorkingGroup)).one()
        start = dt.datetime(2026, 12, 3, 17, 0, tzinfo=dt.UTC)
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=start,
            started_at=start,  # an ad-hoc meeting
            ended_at=start + dt.timedelta(minutes=58),
            state=MeetingState.recorded,
            recording_dir=str(folder),
            title="Parsers WG call",
        )
        session.add(meeting)
        session.flush()
        return meeting.id


def _advance(db, meeting_id: int, step: str) -> None:
    """What the pipeline's steps and the publisher write, written directly."""
    with db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        if step == "transcribed":
            for i, speaker in enumerate(["Alice", "Bob", "Alice"]):
                session.add(
                    TranscriptSegment(
                        meeting_id=meeting_id, speaker=speaker, start=i * 10.0, end=i * 10.0 + 5, text=f"line {i}"
                    )
                )
            meeting.state = MeetingState.transcribed
        elif step == "summarized":
            session.add(MinutesRecord(meeting_id=meeting_id, summary="Short.", long_summary="Longer."))
            for owner, status in (("Alice", ItemStatus.open), ("Bob", ItemStatus.open), ("Eve", ItemStatus.dropped)):
                session.add(ActionItem(meeting_id=meeting_id, owner_name=owner, task=f"{owner}'s task", status=status))
            session.add(WishlistEntry(meeting_id=meeting_id, title="Dark mode"))
            session.flush()
            for item in session.exec(select(ActionItem).where(ActionItem.status == ItemStatus.open)):
                session.add(
                    Publication(
                        meeting_id=meeting_id,
                        kind=PublicationKind.action_issue,
                        target="wg/m",
                        subject_id=item.id,
                        idempotency_key=f"m{meeting_id}-action-{item.id}",
                    )
                )
            for kind, key in (
                (PublicationKind.archive, "archive"),
                (PublicationKind.discord_message, "discord-minutes"),
            ):
                session.add(
                    Publication(meeting_id=meeting_id, kind=kind, target="x", idempotency_key=f"m{meeting_id}-{key}")
                )
            meeting.state = MeetingState.summarized
        elif step == "published":
            for row in session.exec(select(Publication).where(Publication.meeting_id == meeting_id)):
                row.state = PublicationState.done
                row.external_url = f"https://example.test/{row.idempotency_key}"
                session.add(row)
            meeting.state = MeetingState.published
        session.add(meeting)


async def test_the_bot_edits_one_status_message_as_the_meeting_advances(
    clock,
    bot_factory,
    fake_discord,
    sqlite_db,
    tmp_path,
):
    bot = await bot_factory(sqlite_db)
    pipeline_cog(bot).status.poll_seconds = 0.05
    folder = tmp_path / "recording"
    folder.mkdir()
    for name in ("alice-1.ogg", "bob-2.ogg"):
        (folder / name).write_bytes(b"OggS" + bytes(100))
    meeting_id = _meeting(sqlite_db, folder)
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, meeting_id)
    bot.dispatch("recording_finished", meeting, None)  # as when a recording ends
    await settle(bot)
    assert (meeting_id, "recorded") in pipeline_cog(bot).runner.started

    def status_text() -> str:
        message_id = read(sqlite_db, meeting_id).status_message_id
        message = fake_discord.find_message(message_id) if message_id else None
        return message["embeds"][0]["description"] if message else ""

    await eventually(lambda: "◌ Transcribing…" in status_text(), what="the first status")
    assert status_text().startswith("● Recorded 58 min, 2 speakers")
    message_id = read(sqlite_db, meeting_id).status_message_id

    _advance(sqlite_db, meeting_id, "transcribed")
    await eventually(lambda: "● Transcribed: 3 segments" in status_text(), what="the transcript")
    _advance(sqlite_db, meeting_id, "summarized")
    await eventually(lambda: "◌ Filing issues: 0 of 2…" in status_text(), what="the minutes")
    assert "● Minutes written: 2 action items, 1 wish" in status_text()  # the dropped item is not counted

    await bot.close()  # a restart in the middle: the new bot goes on with the same message
    again = await bot_factory(sqlite_db)
    pipeline_cog(again).status.poll_seconds = 0.05
    assert pipeline_cog(again).status.watching(meeting_id)
    assert pipeline_cog(again).runner.started == []  # publishing is the publisher's: no second pipeline run
    _advance(sqlite_db, meeting_id, "published")
    await pipeline_cog(again).status.wait(meeting_id)  # it stops following a published meeting
    final = status_text()
    assert final.endswith(f"● Minutes posted: https://example.test/m{meeting_id}-discord-minutes\n✔ Published")
    assert "● 2 issues filed" in final

    [post] = [m for m in fake_discord.channel_posts() if m["embeds"] and m["embeds"][0]["title"].startswith("Parsers")]
    assert post["id"] == str(message_id)  # one message, edited
    edits = fake_discord.requests_to("PATCH", rf"channels/{TEXT_CHANNEL_ID}/messages/{message_id}")
    assert len(edits) >= 3


async def test_a_deleted_status_message_is_posted_again(clock, bot_factory, fake_discord, sqlite_db, tmp_path):
    bot = await bot_factory(sqlite_db)
    pipeline_cog(bot).status.poll_seconds = 0.05
    meeting_id = _meeting(sqlite_db, tmp_path)
    pipeline_cog(bot).status.track(meeting_id)
    await eventually(lambda: read(sqlite_db, meeting_id).status_message_id is not None, what="the status message")
    first = read(sqlite_db, meeting_id).status_message_id
    fake_discord.messages[TEXT_CHANNEL_ID].remove(fake_discord.find_message(first))  # someone deleted it
    _advance(sqlite_db, meeting_id, "transcribed")
    await eventually(lambda: read(sqlite_db, meeting_id).status_message_id != first, what="a new status message")
    second = fake_discord.find_message(read(sqlite_db, meeting_id).status_message_id)
    assert "● Transcribed: 3 segments" in second["embeds"][0]["description"]


def read(db, meeting_id: int) -> Meeting:
    with db.session() as session:
        return session.get(Meeting, meeting_id)


def test_progress_is_read_from_the_database(sqlite_db, tmp_path):
    with sqlite_db.session() as session:
        session.add(WorkingGroup(name="WG", series_start=DAY))
    meeting_id = _meeting(sqlite_db, tmp_path)
    _advance(sqlite_db, meeting_id, "transcribed")
    _advance(sqlite_db, meeting_id, "summarized")
    with sqlite_db.session() as session:
        p = read_progress(session, meeting_id)
        with pytest.raises(LookupError):
            read_progress(session, meeting_id + 1)
    assert (p.state, p.segments, p.speakers, p.recorded_seconds) == (MeetingState.summarized, 3, 2, 58 * 60)
    assert [a.owner for a in p.actions] == ["Alice", "Bob"] and p.wishes == 1
    assert [r.state for r in p.issues] == [PENDING, PENDING]
    assert p.archive == Row(PENDING) and p.minutes_message == Row(PENDING) and p.forum is None
