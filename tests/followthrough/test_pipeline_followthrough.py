"""The pipeline's summarize step with the call's chat, the real next meeting and "done since last time" (tiny model:
everything asserted here is decided in code), and the transcribe step's transcript files."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from sqlmodel import select

from tests.pipeline.conftest import short_recording  # noqa: F401
from tests.publishing.conftest import MEETING_START, REPO, FakeClock, add_meeting, make_publisher, store
from tracker import followthrough, optout, pipeline, review
from tracker.config import load_settings
from tracker.models import (
    ActionItem,
    ChatMessage,
    ItemStatus,
    Link,
    Meeting,
    MeetingState,
    MinutesRecord,
    Publication,
    PublicationKind,
    TranscriptSegment,
    WorkingGroup,
)
from tracker.recording_files import LIVE_TRANSCRIPT
from transcripts.types import Segment, Transcript

WEEK = dt.timedelta(days=7)
SECOND = MEETING_START + WEEK  # 2024-03-14
SKIPPED = MEETING_START + 2 * WEEK  # 2024-03-21
NEXT = MEETING_START + 3 * WEEK  # 2024-03-28


def _settings(github, tmp_path):
    return load_settings(
        github={"token": github.token, "repo": REPO, "api_url": github.api_url},
        storage={"data_dir": str(tmp_path / "data")},
        models={"llm_model": "smollm2-135m-q8_0", "threads": 1},
        publish={"backoff_seconds": 1.0, "max_attempts": 3, "timeout_seconds": 2, "write_interval_seconds": 0.0},
    )


def _skip(db, start: dt.datetime, moved_to: dt.datetime | None = None) -> None:
    with db.session() as s:
        group = s.exec(select(WorkingGroup)).first()
        state = MeetingState.cancelled if moved_to is None else MeetingState.scheduled
        s.add(Meeting(group_id=group.id, occurrence_start=start, scheduled_start=moved_to or start, state=state))


def test_next_meeting_counts_skips_and_reschedules(db):
    first = add_meeting(db)
    with db.session() as s:
        assert followthrough.next_meeting_date(s, s.get(Meeting, first)) == SECOND.date()
    _skip(db, SECOND)
    with db.session() as s:
        assert followthrough.next_meeting_date(s, s.get(Meeting, first)) == SKIPPED.date()
    _skip(db, SKIPPED, moved_to=SKIPPED + dt.timedelta(days=1, hours=1))
    with db.session() as s:
        assert followthrough.next_meeting_date(s, s.get(Meeting, first)) == dt.date(2024, 3, 22)
        group = s.exec(select(WorkingGroup)).first()
        assert followthrough.next_meeting_on(s, group, MEETING_START.date()) == dt.date(2024, 3, 22)


def _second_meeting(db, github, tmp_path, review: bool = False):
    """Meeting 1 published (three items filed), the next slot skipped, meeting 2 transcribed with its chat."""
    settings = _settings(github, tmp_path)
    first = add_meeting(db)
    store(db, first, forum=False, discord=False)
    clock = FakeClock()
    make_publisher(db, settings, clock).drain()
    _skip(db, SKIPPED)
    second = add_meeting(db, SECOND)
    said = [
        Segment("Alice", 10.0, 14.0, "Welcome back. Let's go through last week's items."),
        Segment("Bob", 20.0, 26.0, "The benchmark of the new parser is done, it is twice as fast now."),
        Segment("Carol", 30.0, 34.0, "The migration guide is not done yet."),
        Segment("Alice", 40.0, 46.0, "Dave will write the FAQ before we meet again."),
    ]
    with db.session() as s:
        for seg in said:
            s.add(
                TranscriptSegment(meeting_id=second, speaker=seg.speaker, start=seg.start, end=seg.end, text=seg.text)
            )
        for n, (who, text) in enumerate(
            [
                ("Carol", "#action @Dave book the room by the next meeting"),
                ("Alice", "slides: https://example.org/slides"),
                ("Carol", "#agreed keep the weekly slot"),
            ]
        ):
            s.add(
                ChatMessage(
                    meeting_id=second,
                    discord_message_id=5000 + n,
                    channel_id=1,
                    author_discord_id=600 + n,
                    author_name=who,
                    content=text,
                    posted_at=SECOND + dt.timedelta(minutes=1 + n),
                    at=60.0 + 60 * n,
                )
            )
    if review:
        with db.session() as s:
            group = s.exec(select(WorkingGroup)).first()
            group.review_mode = True
            s.add(group)
    return settings, second, clock


def test_the_minutes_take_the_chat_the_real_next_meeting_and_items_reported_done(db, github, tmp_path):
    settings, second, clock = _second_meeting(db, github, tmp_path)
    pipeline.summarize_step(db, settings, second)
    with db.session() as s:
        record = s.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == second)).one()
        items = s.exec(select(ActionItem).where(ActionItem.meeting_id == second)).all()
        links = [link.url for link in s.exec(select(Link).where(Link.meeting_id == second)).all()]
        bench = s.exec(select(ActionItem).where(ActionItem.task == "Benchmark the new parser")).one()
        guide = s.exec(select(ActionItem).where(ActionItem.task == "Write the migration guide")).one()
    room = next(i for i in items if i.task == "book the room by the next meeting")
    assert room.owner_name == "Dave" and room.due == NEXT.date()  # 2024-03-21 is skipped
    assert "keep the weekly slot" in record.decisions and "https://example.org/slides" in links
    assert "https://example.org/slides (posted by Alice)" in record.long_summary
    assert "### Done since last time" in record.long_summary and "twice as fast" in record.long_summary
    assert bench.status == ItemStatus.done and bench.done_in_meeting_id == second
    assert guide.status == ItemStatus.open  # "not done yet"

    make_publisher(db, settings, clock).drain()
    issue = github.issue(bench.github_issue_number)
    assert issue["state"] == "closed"
    assert github.issue(guide.github_issue_number)["state"] == "open"
    with db.session() as s:
        closes = s.exec(select(Publication).where(Publication.kind == PublicationKind.issue_update)).all()
    assert len(closes) == 1 and closes[0].subject_id == bench.id


def test_in_review_mode_a_reported_done_closes_the_issue_once_the_organizers_approve(db, github, tmp_path):
    settings, second, clock = _second_meeting(db, github, tmp_path, review=True)
    pipeline.summarize_step(db, settings, second)
    with db.session() as s:
        bench = s.exec(select(ActionItem).where(ActionItem.task == "Benchmark the new parser")).one()
        assert bench.status == ItemStatus.done
        assert s.exec(select(Publication).where(Publication.kind == PublicationKind.issue_update)).all() == []
    make_publisher(db, settings, clock).drain()
    assert github.issue(bench.github_issue_number)["state"] == "open"  # held with the meeting's items
    with db.session() as s:
        review.approve(s, second, settings)
    make_publisher(db, settings, clock).drain()
    assert github.issue(bench.github_issue_number)["state"] == "closed"


def test_what_someone_typed_before_opting_out_stays_out_of_the_minutes(db, github, tmp_path):
    settings, second, _ = _second_meeting(db, github, tmp_path)
    folder = tmp_path / "rec"
    folder.mkdir()
    optout.record(folder, 602)  # typed "#agreed keep the weekly slot", then ran /record optout
    with db.session() as s:
        meeting = s.get(Meeting, second)
        meeting.recording_dir = str(folder)
        s.add(meeting)
    pipeline.summarize_step(db, settings, second)
    with db.session() as s:
        record = s.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == second)).one()
        authors = [m.author_discord_id for m in s.exec(select(ChatMessage)).all()]
    assert "keep the weekly slot" not in record.decisions and 602 not in authors and 600 in authors


def test_a_bot_recorded_meeting_gets_the_transcript_files_of_wgbot_process(db, github, tmp_path, short_recording):
    settings = _settings(github, tmp_path)
    folder = tmp_path / "recording"
    shutil.copytree(short_recording, folder)
    transcript = Transcript(
        [Segment("Alice", 0.5, 2.5, "Welcome to the working group call."), Segment("Bob", 3.0, 5.0, "I will.")],
        duration=6.0,
    )
    (folder / LIVE_TRANSCRIPT).write_text(json.dumps(transcript.to_dict()))
    meeting_id = add_meeting(db)
    with db.session() as s:
        meeting = s.get(Meeting, meeting_id)
        meeting.state, meeting.recording_dir = MeetingState.recorded, str(folder)
        s.add(meeting)
    assert pipeline.transcribe_step(db, settings, meeting_id) == 2
    out = tmp_path / "data" / "transcripts" / f"2024-03-07-{meeting_id}"
    assert sorted(p.name for p in out.iterdir()) == [
        "transcript.json",
        "transcript.md",
        "transcript.srt",
        "transcript.vtt",
    ]
    assert json.loads((out / "transcript.json").read_text())["segments"][1]["text"] == "I will."
    assert "<v Alice>Welcome to the working group call.</v>" in (out / "transcript.vtt").read_text()
    assert "Bob: I will." in (out / "transcript.srt").read_text()


def test_the_live_read_ahead_is_told_the_next_meeting_the_pipeline_takes(db):
    """Its answers are the pipeline's only if both resolve "by the next meeting" alike (bot/exts/recording.py)."""
    first = add_meeting(db)
    _skip(db, SECOND)
    with db.session() as s:
        assert followthrough.next_meeting_date_of(s, first) == followthrough.next_meeting_date(s, s.get(Meeting, first))
        assert followthrough.next_meeting_date_of(s, first) == SKIPPED.date()
        assert followthrough.next_meeting_date_of(s, first + 1000) is None
