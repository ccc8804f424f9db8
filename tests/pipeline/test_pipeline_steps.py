"""Each pipeline step on its own, with the speech and language work replaced by fixed results and recording folders
made of a manifest and empty track files (the steps only read which tracks there are): what a step passes on, what
it stores, what it leaves alone, and how a failure is reported. Fast enough for mutation testing (`make mutate`)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlmodel import select

from tracker import optout, pipeline
from tracker.config import load_settings
from tracker.models import (
    ActionItem,
    AgendaItem,
    ChatMessage,
    ItemStatus,
    Link,
    Meeting,
    MeetingState,
    Member,
    MinutesRecord,
    Publication,
    PublicationKind,
    PublicationState,
    ReviewState,
    TranscriptSegment,
    WishlistEntry,
    WorkingGroup,
    utcnow,
)
from tracker.recording_files import LIVE_TRANSCRIPT, MINUTES_CACHE
from transcripts.engines import unload_engines
from transcripts.errors import EngineError
from transcripts.recording import Manifest, ManifestGap, ManifestTrack, write_manifest
from transcripts.types import ActionItem as Action
from transcripts.types import Minutes, Segment, Transcript, Wish

DAY = dt.date(2026, 12, 3)
START = dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC)
CHANNEL = 4242

TRANSCRIPT = Transcript(
    segments=[
        Segment("Bob", 3.5, 7.0, "I will update the documentation on Friday.", "bob"),
        Segment("Alice", 0.0, 3.0, "Welcome to the call.", "alice"),
    ],
    duration=7.0,
)
MINUTES = Minutes(
    summary="Bob updates the documentation.",
    action_items=[Action(owner="Bob", task="Update the documentation", due=dt.date(2026, 12, 4), at=3.5)],
)


def _folder(tmp_path: Path, *, gaps=(), user_ids=("111", "222")) -> Path:
    folder = tmp_path / "recording"
    folder.mkdir()
    tracks = []
    for (speaker, stem), user_id in zip((("Alice", "alice"), ("Bob", "bob")), user_ids, strict=True):
        (folder / f"{stem}.ogg").write_bytes(b"")
        tracks.append(ManifestTrack(file=f"{stem}.ogg", speaker=speaker, user_id=user_id))
    write_manifest(folder, Manifest(meeting="m-1", started_at=START, tracks=tracks, gaps=list(gaps)))
    return folder


def _meeting(db, folder, state=MeetingState.recorded, *, title="Weekly call", **group_fields) -> int:
    with db.session() as session:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 1), **group_fields)
        session.add(group)
        session.flush()
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=START,
            state=state,
            title=title,
            recording_dir=str(folder) if folder else None,
        )
        session.add(meeting)
        session.flush()
        return meeting.id


def _get(db, meeting_id) -> Meeting:
    with db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        session.expunge(meeting)
        return meeting


def _segments(db, meeting_id) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
        return sorted((r.speaker, r.text) for r in rows)


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("WGBOT_WHISPER_MODEL", "tiny.en")
    monkeypatch.setenv("WGBOT_LLM_MODEL", "some-llm")
    monkeypatch.setenv("WGBOT_LANGUAGE", "de")
    monkeypatch.setenv("WGBOT_WHISPER_COMPUTE_TYPE", "float32")
    monkeypatch.setenv("WGBOT_THREADS", "3")
    monkeypatch.setenv("WGBOT_GROUP_NAME", "Opus WG")
    monkeypatch.setenv("WGBOT_GROUP_GLOSSARY", '["Opus", "libdave"]')
    return load_settings()


@pytest.fixture
def whisper(monkeypatch):
    calls: list[tuple[tuple, dict]] = []

    def transcribe(*args, **kwargs):
        calls.append((args, kwargs))
        return TRANSCRIPT

    monkeypatch.setattr(pipeline, "transcribe_files", transcribe)
    return calls


@pytest.fixture
def llm(monkeypatch):
    calls: list[tuple[tuple, dict]] = []
    result = {"minutes": MINUTES}

    def make_minutes(*args, **kwargs):
        calls.append((args, kwargs))
        return result["minutes"].model_copy(deep=True)

    monkeypatch.setattr("transcripts.minutes.make_minutes", make_minutes)
    return calls, result


# ---- mark_recorded, retry -------------------------------------------------------------------------------------


def test_mark_recorded_sets_the_folder_the_end_and_the_state(sqlite_db, tmp_path):
    meeting_id = _meeting(sqlite_db, None, state=MeetingState.recording)
    ended = dt.datetime(2026, 12, 3, 18, tzinfo=dt.UTC)
    before = _get(sqlite_db, meeting_id).updated_at
    pipeline.mark_recorded(sqlite_db, meeting_id, tmp_path, ended_at=ended)
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.state == MeetingState.recorded and meeting.state_reason is None
    assert meeting.recording_dir == str(tmp_path)
    assert meeting.ended_at.replace(tzinfo=dt.UTC) == ended
    assert meeting.updated_at > before
    # A scheduled meeting handed a recording is recorded too.
    scheduled = _meeting(sqlite_db, None, state=MeetingState.scheduled)
    pipeline.mark_recorded(sqlite_db, scheduled, tmp_path)
    assert _get(sqlite_db, scheduled).state == MeetingState.recorded


def test_mark_recorded_keeps_an_end_already_known_and_defaults_to_now(sqlite_db, tmp_path):
    meeting_id = _meeting(sqlite_db, None, state=MeetingState.recording)
    known = dt.datetime(2026, 12, 3, 17, 45, tzinfo=dt.UTC)
    with sqlite_db.session() as session:
        session.get(Meeting, meeting_id).ended_at = known
    pipeline.mark_recorded(sqlite_db, meeting_id, tmp_path, ended_at=dt.datetime(2026, 12, 3, 19, tzinfo=dt.UTC))
    assert _get(sqlite_db, meeting_id).ended_at.replace(tzinfo=dt.UTC) == known
    other = _meeting(sqlite_db, None, state=MeetingState.recording)
    before = utcnow()
    pipeline.mark_recorded(sqlite_db, other, tmp_path)
    ended = _get(sqlite_db, other).ended_at
    assert ended is not None and before.replace(tzinfo=None) <= ended.replace(tzinfo=None) <= utcnow().replace(
        tzinfo=None
    )


@pytest.mark.parametrize("state", [MeetingState.failed, MeetingState.transcribed, MeetingState.published])
def test_mark_recorded_does_not_move_a_meeting_past_recording_back(sqlite_db, tmp_path, state):
    meeting_id = _meeting(sqlite_db, None, state=state)
    pipeline.mark_recorded(sqlite_db, meeting_id, tmp_path)
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.state == state and meeting.recording_dir == str(tmp_path)


def test_retry_clears_the_failure_reason(sqlite_db, tmp_path):
    meeting_id = _meeting(sqlite_db, _folder(tmp_path), state=MeetingState.failed)
    with sqlite_db.session() as session:
        session.get(Meeting, meeting_id).state_reason = "transcribe failed: boom"
    assert pipeline.retry(sqlite_db, meeting_id) == MeetingState.recorded
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.state == MeetingState.recorded and meeting.state_reason is None


# ---- transcribe ------------------------------------------------------------------------------------------------


def test_transcribe_step_hands_whisper_the_settings_and_the_meetings_hints(sqlite_db, tmp_path, settings, whisper):
    folder = _folder(tmp_path)
    meeting_id = _meeting(sqlite_db, folder)
    with sqlite_db.session() as session:
        session.add(AgendaItem(meeting_id=meeting_id, topic="Release plan"))
        session.add(AgendaItem(meeting_id=meeting_id, topic="Opus bitrate"))
    said: list[str] = []
    assert pipeline.transcribe_step(sqlite_db, settings, meeting_id, said.append) == 2
    assert said == ["transcribing 2 track(s)"]
    [(args, kwargs)] = whisper
    assert args == (folder,)
    hints = kwargs.pop("hints")
    assert kwargs == {
        "engine": "faster-whisper",
        "model": "tiny.en",
        "language": "de",
        "compute_type": "float32",
        "threads": 3,
    }
    assert hints.title == "Weekly call"
    assert hints.agenda == ["Release plan", "Opus bitrate"]
    assert hints.speakers == ["Alice", "Bob"]
    assert hints.group_name == "Opus WG"
    assert hints.glossary == ["Opus", "libdave"]
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.state == MeetingState.transcribed
    assert _segments(sqlite_db, meeting_id) == sorted((s.speaker, s.text) for s in TRANSCRIPT.segments)
    # The transcript files `wgbot process` writes, in the data folder.
    exported = list((Path(settings.storage.data_dir)).rglob("*.vtt"))
    assert len(exported) == 1 and "documentation" in exported[0].read_text()


def test_transcribe_step_without_progress_and_with_an_opt_out(sqlite_db, tmp_path, settings, whisper):
    folder = _folder(tmp_path)
    optout.record(folder, 222, speakers=["Bob"], tracks=["bob.ogg"])
    meeting_id = _meeting(sqlite_db, folder)
    assert pipeline.transcribe_step(sqlite_db, settings, meeting_id) == 1
    assert _segments(sqlite_db, meeting_id) == [("Alice", "Welcome to the call.")]


def test_whisper_runs_in_a_process_of_its_own_after_the_summary_model_is_dropped(
    sqlite_db, tmp_path, short_recording, fast_models, monkeypatch
):
    """Each model needs most of what a process may take. The cached summary model goes before Whisper starts, and
    Whisper runs in a child process, so nothing of its memory stays in the pipeline's: here real Whisper
    transcribes real speech and this process never holds a Whisper model."""
    import shutil

    import transcripts.engines
    import transcripts.llm

    unload_engines()
    held_while_transcribing = []
    real = pipeline.transcribe_files

    def spy(*args, **kwargs):
        held_while_transcribing.append(dict(transcripts.llm._loaded))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "transcribe_files", spy)
    monkeypatch.setitem(transcripts.llm._loaded, ("model.gguf", 4096, 2, 4, 12), object())
    folder = shutil.copytree(short_recording, tmp_path / "recording")
    meeting_id = _meeting(sqlite_db, folder)
    assert pipeline.transcribe_step(sqlite_db, load_settings(), meeting_id) == 2
    assert held_while_transcribing == [{}]
    assert transcripts.engines._cache == {}
    lines = _segments(sqlite_db, meeting_id)
    said = " ".join(text for _, text in lines).lower()
    assert {speaker for speaker, _ in lines} == {"Alice", "Bob"}
    assert sum(word in said for word in ("welcome", "working", "group", "documentation", "friday")) >= 3


def test_an_error_in_the_transcribing_process_reaches_the_pipeline(sqlite_db, tmp_path, short_recording, monkeypatch):
    import shutil

    monkeypatch.setenv("WGBOT_WHISPER_MODEL", "no-such-whisper")
    folder = shutil.copytree(short_recording, tmp_path / "recording")
    with pytest.raises(EngineError, match="no-such-whisper"):  # its own message, across the process boundary
        pipeline.transcribe_step(sqlite_db, load_settings(), _meeting(sqlite_db, folder))


def _write_live(folder: Path, segments: list[Segment]) -> None:
    live = Transcript(segments=segments, duration=9.0)
    (folder / LIVE_TRANSCRIPT).write_text(json.dumps(live.to_dict()))


def test_a_complete_live_transcript_is_taken_instead_of_whisper(sqlite_db, tmp_path, settings, monkeypatch):
    folder = _folder(tmp_path)
    _write_live(
        folder, [Segment("Alice", 0.0, 2.0, "Live line one.", "alice"), Segment("Bob", 2.0, 4.0, "Two.", "bob")]
    )
    (folder / MINUTES_CACHE).write_text("{}\n")

    def no_whisper(*args, **kwargs):
        raise AssertionError("whisper must not run when the live transcript is complete")

    monkeypatch.setattr(pipeline, "transcribe_files", no_whisper)
    meeting_id = _meeting(sqlite_db, folder)
    said: list[str] = []
    assert pipeline.transcribe_step(sqlite_db, settings, meeting_id, said.append) == 2
    assert said == []
    assert _segments(sqlite_db, meeting_id) == [("Alice", "Live line one."), ("Bob", "Two.")]
    assert (folder / MINUTES_CACHE).exists()  # nobody opted out: the answers read ahead stay


def test_the_live_transcript_loses_the_lines_of_someone_who_opted_out_and_the_answer_cache_goes(
    sqlite_db, tmp_path, settings, whisper
):
    folder = _folder(tmp_path)
    _write_live(
        folder, [Segment("Alice", 0.0, 2.0, "Live line one.", "alice"), Segment("Bob", 2.0, 4.0, "Two.", "bob")]
    )
    (folder / MINUTES_CACHE).write_text("{}\n")
    optout.record(folder, 222, speakers=["Bob"], tracks=["bob.ogg"])
    meeting_id = _meeting(sqlite_db, folder)
    assert pipeline.transcribe_step(sqlite_db, settings, meeting_id) == 1
    assert whisper == []
    assert _segments(sqlite_db, meeting_id) == [("Alice", "Live line one.")]
    assert not (folder / MINUTES_CACHE).exists()  # it may quote Bob


def test_an_opt_out_without_an_answer_cache_to_delete(sqlite_db, tmp_path, settings, whisper, caplog):
    folder = _folder(tmp_path)
    _write_live(
        folder, [Segment("Alice", 0.0, 2.0, "Live line one.", "alice"), Segment("Bob", 2.0, 4.0, "Two.", "bob")]
    )
    optout.record(folder, 222, speakers=["Bob"])
    meeting_id = _meeting(sqlite_db, folder)
    with caplog.at_level("INFO", logger="tracker.pipeline"):
        assert pipeline.transcribe_step(sqlite_db, settings, meeting_id) == 1
    assert f"meeting {meeting_id}: the live transcript is complete (2 segments)" in caplog.messages
    assert f"meeting {meeting_id}: 1 line(s) of people who opted out removed" in caplog.messages


def test_transcribe_step_stores_nothing_when_another_worker_got_there_first(sqlite_db, tmp_path, settings, monkeypatch):
    folder = _folder(tmp_path)
    meeting_id = _meeting(sqlite_db, folder)

    def transcribe(*args, **kwargs):
        with sqlite_db.session() as session:  # the other worker finishes while this one transcribes
            session.get(Meeting, meeting_id).state = MeetingState.transcribed
        return TRANSCRIPT

    monkeypatch.setattr(pipeline, "transcribe_files", transcribe)
    assert pipeline.transcribe_step(sqlite_db, settings, meeting_id) == 0
    assert _segments(sqlite_db, meeting_id) == []
    assert not list(Path(settings.storage.data_dir).rglob("*.vtt"))


def test_load_transcript_orders_lines_by_time_and_measures_the_duration(sqlite_db):
    meeting_id = _meeting(sqlite_db, None, state=MeetingState.transcribed)
    with sqlite_db.session() as session:
        for speaker, start, end, text in [("B", 5.0, 9.5, "later"), ("A", 1.0, 4.0, "first"), ("C", 5.0, 6.0, "tie")]:
            session.add(
                TranscriptSegment(meeting_id=meeting_id, speaker=speaker, start=start, end=end, text=text, track="t")
            )
    with sqlite_db.session() as session:
        transcript = pipeline.load_transcript(session, meeting_id)
        empty = pipeline.load_transcript(session, meeting_id + 1)
    assert [(s.speaker, s.start, s.end, s.text, s.track) for s in transcript.segments] == [
        ("A", 1.0, 4.0, "first", "t"),
        ("B", 5.0, 9.5, "later", "t"),  # same start: stored first, read first
        ("C", 5.0, 6.0, "tie", "t"),
    ]
    assert transcript.duration == 9.5
    assert empty.segments == [] and empty.duration == 0.0


# ---- summarize -------------------------------------------------------------------------------------------------


def _transcribed(db, folder, **group_fields) -> int:
    meeting_id = _meeting(db, folder, state=MeetingState.transcribed, **group_fields)
    with db.session() as session:
        for seg in TRANSCRIPT.segments:
            session.add(
                TranscriptSegment(
                    meeting_id=meeting_id,
                    speaker=seg.speaker,
                    start=seg.start,
                    end=seg.end,
                    text=seg.text,
                    track=seg.track,
                )
            )
    return meeting_id


def _publications(db, meeting_id) -> list[Publication]:
    with db.session() as session:
        rows = session.exec(select(Publication).where(Publication.meeting_id == meeting_id)).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_summarize_step_hands_the_model_the_meeting_and_stores_minutes_with_their_rows(
    sqlite_db, tmp_path, settings, llm
):
    calls, _ = llm
    folder = _folder(tmp_path)
    meeting_id = _transcribed(sqlite_db, folder, text_channel_id=CHANNEL, github_repo="wg/tasks")
    with sqlite_db.session() as session:
        for i, text in enumerate(["see https://example.org/doc", "thanks"]):
            session.add(
                ChatMessage(
                    meeting_id=meeting_id,
                    discord_message_id=900 + i,
                    channel_id=CHANNEL,
                    author_discord_id=111,
                    author_name="Alice",
                    content=text,
                    posted_at=START + dt.timedelta(seconds=5 + i),
                    at=5.0 + i,
                )
            )
    said: list[str] = []
    rows = pipeline.summarize_step(sqlite_db, settings, meeting_id, said.append)
    assert said == ["writing the minutes"]
    [(args, kwargs)] = calls
    transcript = args[0]
    assert [s.text for s in transcript.segments] == [
        "Welcome to the call.",
        "I will update the documentation on Friday.",
    ]
    assert kwargs["meeting_date"] == DAY
    assert kwargs["llm"] == "some-llm"
    assert kwargs["hints"].title == "Weekly call" and kwargs["hints"].speakers == ["Alice", "Bob"]
    assert kwargs["cache"].path == folder / MINUTES_CACHE
    assert kwargs["chat_text"] == "see https://example.org/doc\nthanks"
    assert kwargs["next_meeting"] == dt.date(2026, 12, 10)  # the series' next Thursday
    assert rows == len(_publications(sqlite_db, meeting_id))


def test_summarize_step_stores_minutes_and_their_rows(sqlite_db, tmp_path, settings, llm):
    calls, _ = llm
    folder = _folder(tmp_path)
    meeting_id = _transcribed(sqlite_db, folder, text_channel_id=CHANNEL, github_repo="wg/tasks")
    rows = pipeline.summarize_step(sqlite_db, settings, meeting_id)
    publications = _publications(sqlite_db, meeting_id)
    assert rows == len(publications) >= 2  # the issue and the Discord message at least
    kinds = {p.kind for p in publications}
    assert PublicationKind.action_issue in kinds and PublicationKind.discord_message in kinds
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.state == MeetingState.summarized and meeting.review_state is None
    assert calls[0][1]["chat_text"] is None  # no chat in the call
    with sqlite_db.session() as session:
        record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)).one()
        assert record.summary == MINUTES.summary and record.model == "some-llm"
        # The tracks' Discord accounts own the lines and the items (not display names).
        bob = session.exec(select(Member).where(Member.discord_id == 222)).one()
        item = session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting_id)).one()
        assert item.owner_id == bob.id
        lines = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
        assert {line.speaker: line.member_id for line in lines}["Bob"] == bob.id


def test_a_meeting_without_speech_gets_a_short_note_in_the_channel_only(sqlite_db, tmp_path, settings, llm):
    calls, _ = llm
    meeting_id = _meeting(
        sqlite_db, _folder(tmp_path), state=MeetingState.transcribed, text_channel_id=CHANNEL, github_repo="wg/tasks"
    )
    said: list[str] = []
    rows = pipeline.summarize_step(sqlite_db, settings, meeting_id, said.append)
    assert calls == [] and said == []  # no model run for nothing
    publications = _publications(sqlite_db, meeting_id)
    assert rows == len(publications) == 1
    assert publications[0].kind == PublicationKind.discord_message and publications[0].target.endswith(str(CHANNEL))
    with sqlite_db.session() as session:
        minutes = pipeline.load_minutes(session, meeting_id)
    assert minutes.summary == pipeline.NO_SPEECH_SUMMARY
    assert minutes.notes == ["No speech was recorded."]


@pytest.mark.parametrize(
    ("speakers", "tracks"), [(["Bob"], ["bob.ogg"]), (["Bob"], []), ([], ["bob.ogg"])], ids=["both", "name", "track"]
)
def test_someone_who_opted_out_after_transcription_is_gone_before_the_minutes(
    sqlite_db, tmp_path, settings, llm, speakers, tracks
):
    calls, result = llm
    folder = _folder(tmp_path)
    meeting_id = _transcribed(sqlite_db, folder)
    with sqlite_db.session() as session:
        for i, author in enumerate((111, 222)):
            session.add(
                ChatMessage(
                    meeting_id=meeting_id,
                    discord_message_id=950 + i,
                    channel_id=CHANNEL,
                    author_discord_id=author,
                    author_name=str(author),
                    content=f"typed by {author}",
                    posted_at=START + dt.timedelta(seconds=i),
                    at=float(i),
                )
            )
    optout.record(folder, 222, speakers=speakers, tracks=tracks)
    result["minutes"] = Minutes(
        summary="s",
        action_items=[Action(owner="Bob", task="Update the documentation", at=3.5, excerpt="Bob: I will update it")],
    )
    pipeline.summarize_step(sqlite_db, settings, meeting_id)
    [(args, kwargs)] = calls
    assert [s.speaker for s in args[0].segments] == ["Alice"]
    assert kwargs["chat_text"] == "typed by 111"
    assert _segments(sqlite_db, meeting_id) == [("Alice", "Welcome to the call.")]
    with sqlite_db.session() as session:
        authors = session.exec(select(ChatMessage.author_discord_id).where(ChatMessage.meeting_id == meeting_id)).all()
        item = session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting_id)).one()
    assert authors == [111]
    if speakers:  # known by name: the item stays, without Bob
        assert (item.owner_name, item.excerpt or "") == (optout.UNASSIGNED, "")


def test_summarize_step_without_a_recording_folder(sqlite_db, settings, llm):
    calls, _ = llm
    meeting_id = _transcribed(sqlite_db, None)
    pipeline.summarize_step(sqlite_db, settings, meeting_id)
    assert calls[0][1]["cache"] is None
    assert _get(sqlite_db, meeting_id).state == MeetingState.summarized


def test_gaps_the_recorder_noted_are_said_in_the_minutes(sqlite_db, tmp_path, settings, llm):
    gaps = [ManifestGap(start=3.0, end=6.0, note="no audio received from 17:00:03 to 17:00:06 UTC")]
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path, gaps=gaps))
    pipeline.summarize_step(sqlite_db, settings, meeting_id)
    with sqlite_db.session() as session:
        notes = pipeline.load_minutes(session, meeting_id).notes
    assert notes == ["Recording: no audio received from 17:00:03 to 17:00:06 UTC."]


def test_gap_notes_of_a_folder_that_is_not_a_recording(tmp_path):
    assert pipeline._gap_notes(None) == []
    assert pipeline._gap_notes(tmp_path / "missing") == []
    (tmp_path / "notes.txt").write_text("no audio here")
    assert pipeline._gap_notes(tmp_path) == []  # read_recording refuses a folder without audio


def test_summarize_step_stores_nothing_when_another_worker_got_there_first(sqlite_db, tmp_path, settings, monkeypatch):
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path), text_channel_id=CHANNEL)

    def make_minutes(*args, **kwargs):
        with sqlite_db.session() as session:
            session.get(Meeting, meeting_id).state = MeetingState.summarized
        return MINUTES

    monkeypatch.setattr("transcripts.minutes.make_minutes", make_minutes)
    assert pipeline.summarize_step(sqlite_db, settings, meeting_id) == 0
    assert _publications(sqlite_db, meeting_id) == []
    with sqlite_db.session() as session:
        assert pipeline.load_minutes(session, meeting_id) is None


def test_a_reviewing_group_holds_minutes_with_items_and_creates_no_rows(sqlite_db, tmp_path, settings, llm):
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path), text_channel_id=CHANNEL, review_mode=True)
    assert pipeline.summarize_step(sqlite_db, settings, meeting_id) == 0
    assert _publications(sqlite_db, meeting_id) == []
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.state == MeetingState.summarized and meeting.review_state == ReviewState.pending
    with sqlite_db.session() as session:
        assert pipeline.load_minutes(session, meeting_id).action_items[0].owner == "Bob"


def test_a_reviewing_group_holds_minutes_with_only_wishes(sqlite_db, tmp_path, settings, llm):
    _, result = llm
    result["minutes"] = Minutes(summary="Wishes.", wishes=[Wish(title="A dashboard", at=1.0)])
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path), text_channel_id=CHANNEL, review_mode=True)
    assert pipeline.summarize_step(sqlite_db, settings, meeting_id) == 0
    assert _get(sqlite_db, meeting_id).review_state == ReviewState.pending


def test_the_configured_channel_is_used_when_the_group_has_none(sqlite_db, tmp_path, monkeypatch, llm):
    monkeypatch.setenv("WGBOT_DISCORD_TEXT_CHANNEL_ID", str(CHANNEL))
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path))
    assert pipeline.summarize_step(sqlite_db, load_settings(), meeting_id) == 1
    assert _publications(sqlite_db, meeting_id)[0].target.endswith(str(CHANNEL))


def test_chat_notes_reach_the_minutes_with_owners_and_dates(sqlite_db, tmp_path, settings, llm):
    # The group meets on Mondays (this call was an extra one on a Thursday): the next meeting is 4 days later.
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path), weekday=0)
    with sqlite_db.session() as session:
        session.add(Member(discord_id=333, display_name="Dana"))
        for i, text in enumerate(
            ["#action Bob: send the slides by the next meeting", "#action Dana: book the room by Friday"]
        ):
            session.add(
                ChatMessage(
                    meeting_id=meeting_id,
                    discord_message_id=970 + i,
                    channel_id=CHANNEL,
                    author_discord_id=111,
                    author_name="Alice",
                    content=text,
                    posted_at=START + dt.timedelta(seconds=10 + i),
                    at=10.0 + i,
                )
            )
    pipeline.summarize_step(sqlite_db, settings, meeting_id)
    with sqlite_db.session() as session:
        items = {a.task: (a.owner, a.due) for a in pipeline.load_minutes(session, meeting_id).action_items}
    assert items["send the slides by the next meeting"] == ("Bob", dt.date(2026, 12, 7))
    assert items["book the room by Friday"] == ("Dana", dt.date(2026, 12, 4))


def test_a_reviewing_group_publishes_minutes_without_items_at_once(sqlite_db, tmp_path, settings, llm):
    _, result = llm
    result["minutes"] = Minutes(summary="Only talk.")
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path), text_channel_id=CHANNEL, review_mode=True)
    assert pipeline.summarize_step(sqlite_db, settings, meeting_id) == 1
    assert _get(sqlite_db, meeting_id).review_state is None


def _earlier_open_item(db, meeting_id, *, issue: bool) -> int:
    """An open item of an earlier meeting of the same group, which Bob reports done in this one."""
    with db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        earlier = Meeting(
            group_id=meeting.group_id,
            scheduled_start=START - dt.timedelta(days=7),
            state=MeetingState.published,
        )
        session.add(earlier)
        session.flush()
        item = ActionItem(
            meeting_id=earlier.id,
            owner_name="Bob",
            task="Update the documentation",
            github_issue_number=7 if issue else None,
        )
        session.add(item)
        session.flush()
        if issue:
            session.add(
                Publication(
                    meeting_id=earlier.id,
                    kind=PublicationKind.action_issue,
                    target="wg/tasks",
                    subject_id=item.id,
                    idempotency_key=f"wgbot-{earlier.id}-action-{item.id}",
                    state=PublicationState.done,
                    external_id="7",
                )
            )
        return item.id


@pytest.mark.parametrize("review_mode", [False, True])
def test_an_earlier_item_reported_done_is_closed_unless_the_meeting_is_held(
    sqlite_db, tmp_path, settings, llm, review_mode
):
    folder = _folder(tmp_path)
    meeting_id = _meeting(
        sqlite_db, folder, state=MeetingState.transcribed, github_repo="wg/tasks", review_mode=review_mode
    )
    with sqlite_db.session() as session:
        session.add(
            TranscriptSegment(
                meeting_id=meeting_id,
                speaker="Bob",
                start=1.0,
                end=4.0,
                text="I finished updating the documentation, it is done.",
                track="bob",
            )
        )
    item_id = _earlier_open_item(sqlite_db, meeting_id, issue=True)
    pipeline.summarize_step(sqlite_db, settings, meeting_id)
    with sqlite_db.session() as session:
        item = session.get(ActionItem, item_id)
        assert item.status == ItemStatus.done and item.done_in_meeting_id == meeting_id
        updates = session.exec(select(Publication).where(Publication.kind == PublicationKind.issue_update)).all()
    assert len(updates) == (0 if review_mode else 1)
    with sqlite_db.session() as session:
        long_summary = pipeline.load_minutes(session, meeting_id).long_summary
    assert "### Done since last time" in long_summary and "Update the documentation (#7)" in long_summary


def test_an_item_reported_done_in_the_chat_is_closed(sqlite_db, tmp_path, settings, llm):
    folder = _folder(tmp_path)
    meeting_id = _transcribed(sqlite_db, folder)
    item_id = _earlier_open_item(sqlite_db, meeting_id, issue=False)
    with sqlite_db.session() as session:
        session.add(
            ChatMessage(
                meeting_id=meeting_id,
                discord_message_id=990,
                channel_id=CHANNEL,
                author_discord_id=222,
                author_name="Bob",
                content="#done Update the documentation",
                posted_at=START + dt.timedelta(seconds=30),
                at=30.0,
            )
        )
    pipeline.summarize_step(sqlite_db, settings, meeting_id)
    with sqlite_db.session() as session:
        item = session.get(ActionItem, item_id)
        assert item.status == ItemStatus.done and "in the chat of" in item.done_note


# ---- publish ---------------------------------------------------------------------------------------------------


@pytest.fixture
def drains(monkeypatch):
    from tracker.publishing.outbox import Publisher

    calls: list[dict] = []
    behaviour = {"raise": None}

    def drain(self, **kwargs):
        calls.append(kwargs)
        if behaviour["raise"] is not None:
            raise behaviour["raise"]

    monkeypatch.setattr(Publisher, "drain", drain)
    return calls, behaviour


def _summarized(db, *, rows: list[tuple[PublicationKind, str, PublicationState]] = (), **group_fields) -> int:
    meeting_id = _meeting(db, None, state=MeetingState.summarized, **group_fields)
    with db.session() as session:
        for kind, key, state in rows:
            session.add(
                Publication(
                    meeting_id=meeting_id, kind=kind, target="discord:channel/1", idempotency_key=key, state=state
                )
            )
    return meeting_id


def test_publish_step_with_nothing_of_its_own_to_publish_marks_the_meeting_published(sqlite_db, settings, drains):
    calls, _ = drains
    # The agenda message is recorded as a done discord_message row; it is the bot's announcement, not ours.
    meeting_id = _summarized(
        sqlite_db, rows=[(PublicationKind.discord_message, "wgbot-agenda-1", PublicationState.done)]
    )
    said: list[str] = []
    assert pipeline.publish_step(sqlite_db, settings, meeting_id, said.append) == MeetingState.published
    assert said == ["publishing"] and calls == [{"lock_timeout": 60}]
    assert _get(sqlite_db, meeting_id).state == MeetingState.published


def test_publish_step_leaves_a_meeting_with_rows_to_the_publisher(sqlite_db, settings, drains):
    meeting_id = _summarized(
        sqlite_db, rows=[(PublicationKind.discord_message, "wgbot-1-discord-minutes", PublicationState.pending)]
    )
    assert pipeline.publish_step(sqlite_db, settings, meeting_id) == MeetingState.summarized


def test_publish_step_when_another_publisher_is_draining(sqlite_db, settings, drains, caplog):
    from tracker.publishing.lock import PublisherBusy

    calls, behaviour = drains
    behaviour["raise"] = PublisherBusy("busy")
    meeting_id = _summarized(sqlite_db)
    with caplog.at_level("INFO", logger="tracker.pipeline"):
        assert pipeline.publish_step(sqlite_db, settings, meeting_id) == MeetingState.published
    assert len(calls) == 1
    assert f"meeting {meeting_id}: another publisher is draining; it will publish this meeting" in caplog.messages


def test_publish_step_waits_for_the_review(sqlite_db, settings, drains, caplog):
    calls, _ = drains
    meeting_id = _summarized(sqlite_db)
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        meeting.review_state = ReviewState.pending
        meeting.review_deadline = utcnow() + dt.timedelta(hours=5)
    said: list[str] = []
    with caplog.at_level("INFO", logger="tracker.pipeline"):
        assert pipeline.publish_step(sqlite_db, settings, meeting_id, said.append) == MeetingState.summarized
    assert calls == [] and said == []
    deadline = _get(sqlite_db, meeting_id).review_deadline
    assert f"meeting {meeting_id}: waiting for the organizers' review (until {deadline})" in caplog.messages
    assert _get(sqlite_db, meeting_id).state == MeetingState.summarized


def test_publish_step_applies_a_review_whose_deadline_passed(sqlite_db, settings, drains):
    meeting_id = _summarized(sqlite_db)
    with sqlite_db.session() as session:
        session.add(ActionItem(meeting_id=meeting_id, owner_name="Bob", task="Write the docs"))
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        meeting.review_state = ReviewState.pending
        meeting.review_deadline = utcnow() - dt.timedelta(minutes=1)
        meeting.review_default = "file"
    assert pipeline.publish_step(sqlite_db, settings, meeting_id) == MeetingState.published
    assert _get(sqlite_db, meeting_id).review_state == ReviewState.expired


def test_an_expired_review_files_to_the_configured_targets(sqlite_db, monkeypatch, drains):
    monkeypatch.setenv("WGBOT_DISCORD_TEXT_CHANNEL_ID", str(CHANNEL))
    meeting_id = _summarized(sqlite_db)
    with sqlite_db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        meeting.review_state = ReviewState.pending
        meeting.review_deadline = utcnow() - dt.timedelta(minutes=1)
        meeting.review_default = "file"
        session.add(MinutesRecord(meeting_id=meeting_id, summary="s", long_summary=""))
    # The minutes message waits for the publisher (its drain is stubbed here): the meeting is not published yet.
    assert pipeline.publish_step(sqlite_db, load_settings(), meeting_id) == MeetingState.summarized
    assert [p.target for p in _publications(sqlite_db, meeting_id)] == [f"discord:channel/{CHANNEL}"]


# ---- run -------------------------------------------------------------------------------------------------------


def test_run_goes_from_recorded_to_published(sqlite_db, tmp_path, settings, whisper, llm, drains):
    meeting_id = _meeting(sqlite_db, _folder(tmp_path))
    said: list[str] = []
    assert pipeline.run(sqlite_db, settings, meeting_id, progress=said.append) == MeetingState.published
    assert said == ["transcribing 2 track(s)", "writing the minutes", "publishing"]


def test_run_without_publishing_stops_at_summarized(sqlite_db, tmp_path, settings, whisper, llm, drains):
    calls, _ = drains
    meeting_id = _meeting(sqlite_db, _folder(tmp_path))
    assert pipeline.run(sqlite_db, settings, meeting_id, publish=False) == MeetingState.summarized
    assert calls == []


@pytest.mark.parametrize("state", [MeetingState.scheduled, MeetingState.failed, MeetingState.published])
def test_run_leaves_a_meeting_without_a_step_alone(sqlite_db, settings, state):
    meeting_id = _meeting(sqlite_db, None, state=state)
    assert pipeline.run(sqlite_db, settings, meeting_id) == state


def test_run_of_a_meeting_that_does_not_exist(sqlite_db, settings):
    with pytest.raises(pipeline.PipelineError, match=r"^meeting 999 does not exist$"):
        pipeline.run(sqlite_db, settings, 999)


def test_run_stops_when_a_step_cannot_finish_now(sqlite_db, settings, drains):
    meeting_id = _summarized(
        sqlite_db, rows=[(PublicationKind.action_issue, "wgbot-1-action-1", PublicationState.pending)]
    )
    assert pipeline.run(sqlite_db, settings, meeting_id) == MeetingState.summarized
    assert len(drains[0]) == 1  # tried once, not in a loop


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (RuntimeError("whisper crashed\nTraceback: more lines"), "transcribe failed: whisper crashed"),
        (ValueError(), "transcribe failed: ValueError"),
    ],
)
def test_a_failing_step_marks_the_meeting_failed_with_its_first_line(
    sqlite_db, tmp_path, settings, monkeypatch, caplog, error, reason
):
    def transcribe(*args, **kwargs):
        raise error

    monkeypatch.setattr(pipeline, "transcribe_files", transcribe)
    meeting_id = _meeting(sqlite_db, _folder(tmp_path))
    with pytest.raises(pipeline.PipelineError) as raised, caplog.at_level("ERROR", logger="tracker.pipeline"):
        pipeline.run(sqlite_db, settings, meeting_id)
    assert str(raised.value) == reason and raised.value.__cause__ is error
    assert f"meeting {meeting_id}: {reason}" in caplog.messages
    meeting = _get(sqlite_db, meeting_id)
    assert (meeting.state, meeting.state_reason) == (MeetingState.failed, reason)


def test_a_failing_summary_is_named_as_such(sqlite_db, tmp_path, settings, monkeypatch):
    def make_minutes(*args, **kwargs):
        raise RuntimeError("the model crashed")

    monkeypatch.setattr("transcripts.minutes.make_minutes", make_minutes)
    meeting_id = _transcribed(sqlite_db, _folder(tmp_path))
    with pytest.raises(pipeline.PipelineError, match="^summarize failed: the model crashed$"):
        pipeline.run(sqlite_db, settings, meeting_id)
    assert _segments(sqlite_db, meeting_id)  # the transcript is kept: a retry resumes at summarize
    assert pipeline.retry(sqlite_db, meeting_id) == MeetingState.transcribed


# ---- load_minutes ----------------------------------------------------------------------------------------------


def test_load_minutes_reads_the_items_as_they_are_now(sqlite_db):
    meeting_id = _meeting(sqlite_db, None, state=MeetingState.summarized)
    other_id = _meeting(sqlite_db, None, state=MeetingState.summarized)
    with sqlite_db.session() as session:
        assert pipeline.load_minutes(session, meeting_id) is None
        session.add(
            MinutesRecord(
                meeting_id=meeting_id,
                summary="Short.",
                long_summary="Longer.",
                decisions=["Ship it"],
                next_topics=["Budget"],
                notes=["A note"],
            )
        )
        session.add(ActionItem(meeting_id=meeting_id, owner_name="Bob", task="Second", at=None, excerpt=None))
        session.add(ActionItem(meeting_id=meeting_id, owner_name="Eve", task="Dropped", status=ItemStatus.dropped))
        session.add(
            ActionItem(
                meeting_id=meeting_id, owner_name="Ann", task="Third", due=DAY, at=12.5, excerpt="Ann: I'll do it"
            )
        )
        session.add(ActionItem(meeting_id=other_id, owner_name="Zed", task="Elsewhere"))
        session.add(WishlistEntry(meeting_id=meeting_id, title="A dashboard", details="for GPUs", at=None))
        session.add(WishlistEntry(meeting_id=meeting_id, title="Gone", status=ItemStatus.dropped))
        session.add(WishlistEntry(meeting_id=other_id, title="Someone else's"))
        session.add(WishlistEntry(meeting_id=meeting_id, title="Docs site", at=3.0, excerpt="Bob: docs site"))
        session.add(Link(meeting_id=meeting_id, url="https://b.example"))
        session.add(Link(meeting_id=meeting_id, url="https://a.example"))
        session.add(Link(meeting_id=other_id, url="https://other.example"))
    with sqlite_db.session() as session:
        minutes = pipeline.load_minutes(session, meeting_id)
    assert minutes == Minutes(
        summary="Short.",
        long_summary="Longer.",
        decisions=["Ship it"],
        action_items=[
            Action(owner="Bob", task="Second", due=None, at=0.0, excerpt=""),
            Action(owner="Ann", task="Third", due=DAY, at=12.5, excerpt="Ann: I'll do it"),
        ],
        wishes=[
            Wish(title="A dashboard", details="for GPUs", at=0.0, excerpt=""),
            Wish(title="Docs site", details="", at=3.0, excerpt="Bob: docs site"),
        ],
        links=["https://b.example", "https://a.example"],
        next_topics=["Budget"],
        notes=["A note"],
    )


# ---- meeting_for_recording -------------------------------------------------------------------------------------


def test_a_recording_on_a_series_day_belongs_to_that_occurrence(sqlite_db, tmp_path, settings):
    folder = _folder(tmp_path)
    with sqlite_db.session() as session:
        from tracker import schedule

        group = schedule.ensure_group(session, settings)
        group.series_start = dt.date(2026, 11, 1)
        group.weekday = DAY.weekday()
        session.add(group)
    meeting_id = pipeline.meeting_for_recording(sqlite_db, settings, folder, DAY, None, ["Release", "Budget"])
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.occurrence_start is not None and meeting.occurrence_start.date() == DAY
    assert meeting.state == MeetingState.recorded and meeting.recording_dir == str(folder.resolve())
    assert meeting.title == settings.schedule.title
    # Run again (a re-run resumes): the same meeting, the title given now, the agenda not doubled.
    again = pipeline.meeting_for_recording(sqlite_db, settings, folder, DAY, "Special", ["Budget", "Hiring"])
    assert again == meeting_id and _get(sqlite_db, meeting_id).title == "Special"
    with sqlite_db.session() as session:
        topics = session.exec(select(AgendaItem.topic).where(AgendaItem.meeting_id == meeting_id)).all()
    assert sorted(topics) == ["Budget", "Hiring", "Release"]
    # Another recording of the same day is another meeting, not the occurrence that already has one.
    other_folder = tmp_path / "second"
    other_folder.mkdir()
    other = pipeline.meeting_for_recording(sqlite_db, settings, other_folder, DAY, None, [])
    assert other != meeting_id
    assert _get(sqlite_db, other).occurrence_start is None


def test_a_recording_on_a_day_without_a_meeting_is_a_new_ad_hoc_meeting(sqlite_db, tmp_path, settings):
    with sqlite_db.session() as session:
        from tracker import schedule

        group = schedule.ensure_group(session, settings)
        group.series_start = dt.date(2026, 11, 1)
        group.weekday = (DAY.weekday() + 2) % 7
        group.start_time = dt.time(9, 30)
        group.duration_minutes = 45
        group.title = "Opus sync"
        session.add(group)
    folder = tmp_path / "adhoc"
    folder.mkdir()
    meeting_id = pipeline.meeting_for_recording(sqlite_db, settings, folder, DAY, "Ad hoc", [])
    meeting = _get(sqlite_db, meeting_id)
    assert meeting.scheduled_start.replace(tzinfo=dt.UTC) == dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    assert (meeting.duration_minutes, meeting.title, meeting.occurrence_start) == (45, "Ad hoc", None)
    assert meeting.state == MeetingState.recorded
    assert pipeline.meeting_for_recording(sqlite_db, settings, folder, DAY, None, []) == meeting_id  # a re-run
    untitled_folder = tmp_path / "untitled"
    untitled_folder.mkdir()
    untitled = pipeline.meeting_for_recording(sqlite_db, settings, untitled_folder, DAY, None, [])
    assert untitled != meeting_id and _get(sqlite_db, untitled).title == "Opus sync"
