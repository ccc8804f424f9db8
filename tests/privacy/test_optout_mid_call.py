"""`/record optout` in the middle of a call: everything of that person in this meeting — audio, live-transcript lines,
minutes answers read ahead — is gone before anything is stored or published.

The call goes through the real receive path and writer into a real live transcriber process; the opt-out arrives
through `Recording.member_opted`, as `/record optout` delivers it, after the worker had already written the
person's first words to `transcript.live.jsonl` (the leak this test is about)."""

from __future__ import annotations

import datetime as dt
import json
import time
from types import SimpleNamespace

import numpy as np
import pytest
from sqlmodel import select

import bot.voice.writer as writer_module
from bot.exts.recording import Recording
from bot.voice.testing import CallLine, play_call
from tracker import optout, pipeline
from tracker.config import load_settings
from tracker.live import LIVE_SEGMENTS, LiveOptions, LiveTranscription, _ReadAhead
from tracker.models import Meeting, MeetingState, MinutesRecord, TranscriptSegment, WorkingGroup
from tracker.pipeline import LIVE_TRANSCRIPT, MINUTES_CACHE
from transcripts.synthesize import ESPEAK_RATE, ScriptLine, assign_voices, render_line
from transcripts.types import ActionItem, Minutes, Segment, Wish

ALICE, BOB = 101, 202
SCRIPT = [
    (1.0, ALICE, "Alice", "The purple giraffe protocol is finished and ready for review."),
    (6.0, BOB, "Bob", "Thank you, I will update the documentation on Friday."),
    (11.0, ALICE, "Alice", "The giraffe benchmark also passed on every machine."),
    (16.5, BOB, "Bob", "Good, then we can release next week."),
]
SECRET_WORDS = ("giraffe", "purple")  # only Alice says them


def _pcm48k(text: str, voice: str) -> np.ndarray:
    speech = render_line(text, voice)
    n = int(len(speech) / ESPEAK_RATE * 48_000)
    return np.interp(np.arange(n) / 48_000, np.arange(len(speech)) / ESPEAK_RATE, speech).astype(np.float32)


def _wait_for(predicate, timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture(scope="module")
def call_with_optout(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings") / "2026.12.03-m1"
    folder.mkdir(parents=True)
    voices = assign_voices([ScriptLine(name, text) for _, _, name, text in SCRIPT])
    lines = [CallLine(start, user, name, _pcm48k(text, voices[name])) for start, user, name, text in SCRIPT]
    live = LiveTranscription(folder, LiveOptions(model="tiny.en", threads=1, speakers=("Alice", "Bob"), max_delay=4.0))
    live.start()

    writers = []

    class CapturedWriter(writer_module.RecordingWriter):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            writers.append(self)

    control = Recording(SimpleNamespace(services=SimpleNamespace(recorder_factory=None)))
    control._live[1] = live
    seen = {"leaked": False, "opted": False}

    def on_utterance(user_id, speaker, file, start, pcm):
        live.submit(user_id, speaker, file, start, pcm)
        if user_id == BOB and start > 15 and not seen["opted"]:
            # The attack's precondition: Alice's first words are already in the live transcript on disk.
            seen["leaked"] = _wait_for(lambda: "Alice" in _read(folder / LIVE_SEGMENTS))
            # A minutes answer read ahead from her words (the worker's read-ahead runs every two meeting minutes).
            (folder / MINUTES_CACHE).write_text(json.dumps({"key": "k", "answer": "the purple giraffe"}) + "\n")
            control._active[1] = SimpleNamespace(opt_out=writers[0].drop_user)  # what MeetingRecorder.opt_out does
            control.member_opted(ALICE, True)
            seen["opted"] = True

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writer_module, "RecordingWriter", CapturedWriter)
        # At twice the real pace, and a tail long enough that the call is still "on" (the writer running) when
        # the opt-out arrives.
        play_call(lines, folder, meeting="2026.12.03-m1", on_utterance=on_utterance, realtime=2.0, tail=30.0)
    complete = live.finish(timeout=300)
    return folder, complete, seen


def _read(path) -> str:
    return path.read_text() if path.exists() else ""


def test_an_optout_mid_call_removes_their_lines_audio_and_answers_from_the_live_worker(call_with_optout):
    folder, complete, seen = call_with_optout
    assert seen["leaked"] and seen["opted"]
    assert complete  # Bob's transcript is still complete: the call is not transcribed again
    for name in (LIVE_SEGMENTS, LIVE_TRANSCRIPT):
        text = _read(folder / name)
        assert "Alice" not in text and not any(w in text.lower() for w in SECRET_WORDS), name
    assert "Bob" in _read(folder / LIVE_TRANSCRIPT)
    assert "giraffe" not in _read(folder / MINUTES_CACHE)
    assert not [f for f in folder.iterdir() if "alice" in f.name.lower()]
    assert "Alice" not in _read(folder / "manifest.json")
    recorded = optout.load(folder)
    assert [e.user_id for e in recorded] == [str(ALICE)] and "Alice" in recorded[0].speakers
    assert oct((folder / LIVE_SEGMENTS).stat().st_mode & 0o777) == "0o600"


def test_the_pipeline_stores_and_summarizes_nothing_of_them(call_with_optout, sqlite_db, fast_models):
    folder, _, _ = call_with_optout
    settings = load_settings(models={"whisper_model": "tiny.en", "llm_model": fast_models["WGBOT_LLM_MODEL"]})
    with sqlite_db.session() as session:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 1))
        session.add(group)
        session.flush()
        start = dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC)
        meeting = Meeting(group_id=group.id, scheduled_start=start, state=MeetingState.recording)
        session.add(meeting)
        session.flush()
        meeting_id = meeting.id
    pipeline.mark_recorded(sqlite_db, meeting_id, folder)
    assert pipeline.run(sqlite_db, settings, meeting_id, publish=False) == MeetingState.summarized
    with sqlite_db.session() as session:
        rows = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
        record = session.exec(select(MinutesRecord).where(MinutesRecord.meeting_id == meeting_id)).one()
    assert rows and {r.speaker for r in rows} == {"Bob"}
    stored = " ".join([r.text for r in rows] + [record.summary, record.long_summary, *record.decisions]).lower()
    assert not any(w in stored for w in SECRET_WORDS)


def test_lines_stored_before_the_optout_are_dropped_before_the_minutes(tmp_path, sqlite_db, fast_models):
    """The opt-out is noted after the transcribe step stored the transcript: the summarize step drops them."""
    from tracker.minutes_store import save_transcript
    from transcripts.types import Transcript

    settings = load_settings(models={"llm_model": fast_models["WGBOT_LLM_MODEL"]})
    with sqlite_db.session() as session:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 1))
        session.add(group)
        session.flush()
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC),
            state=MeetingState.transcribed,
            recording_dir=str(tmp_path),
        )
        session.add(meeting)
        session.flush()
        save_transcript(
            session,
            meeting,
            Transcript(
                [
                    Segment("Alice", 1.0, 4.0, "The purple giraffe protocol is ready.", "Alice-101"),
                    Segment("Bob", 5.0, 8.0, "I will update the documentation on Friday.", "Bob-202"),
                ]
            ),
        )
        meeting_id = meeting.id
    optout.record(tmp_path, ALICE, speakers=["Alice"], tracks=["Alice-101.ogg"])
    assert pipeline.run(sqlite_db, settings, meeting_id, publish=False) == MeetingState.summarized
    with sqlite_db.session() as session:
        rows = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
    assert [r.speaker for r in rows] == ["Bob"]


def test_their_action_items_stay_unassigned_and_without_their_words():
    entries = [optout.OptedOut("101", frozenset({"Alice"}))]
    minutes = Minutes(
        summary="s",
        action_items=[
            ActionItem(owner="Alice", task="Review the parser", at=1.0, excerpt="Alice: I will review the parser."),
            ActionItem(owner="Bob", task="Docs", at=5.0, excerpt="Alice: Bob, docs?\nBob: I will write the docs."),
        ],
        wishes=[Wish(title="Faster CI", at=2.0, excerpt="Alice: CI is slow, we should make it faster.")],
    )
    scrubbed = optout.scrub_minutes(minutes, entries)
    alice_item, bob_item = scrubbed.action_items
    assert alice_item.owner == optout.UNASSIGNED and alice_item.task == "Review the parser"
    assert alice_item.excerpt == "" and bob_item.excerpt == "Bob: I will write the docs." and bob_item.owner == "Bob"
    assert scrubbed.wishes[0].excerpt == ""


def test_reading_ahead_forgets_what_it_had_read(tmp_path):
    ahead = _ReadAhead(tmp_path, LiveOptions(llm_model="unused", meeting_date=dt.date(2026, 12, 3)))
    ahead.segments = [Segment("Alice", 1, 2, "purple giraffe", "Alice-101"), Segment("Bob", 3, 4, "docs", "Bob-202")]
    ahead.cache.put("k", "purple giraffe")
    ahead.parts = 1
    ahead.forget({"Alice-101"}, {"Alice"})
    assert [s.speaker for s in ahead.segments] == ["Bob"] and ahead.parts == 0 and len(ahead.cache) == 0
    assert not (tmp_path / MINUTES_CACHE).exists()


async def test_an_optout_after_the_call_removes_them_before_the_minutes_are_written(
    bot, fake_discord, sqlite_db, short_recording, tmp_path, fast_models
):
    """The call is over, the minutes are not written yet: `/record optout` still takes them out of that meeting."""
    import shutil

    from tests.fakes.discord_rest import BOB, invoke

    folder = tmp_path / "2026.12.03-m9"
    shutil.copytree(short_recording, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    for track in manifest["tracks"]:  # in SHORT_SCRIPT Bob says "I will update the documentation on Friday."
        track["user_id"] = str(BOB.id if track["speaker"] == "Bob" else ALICE)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with sqlite_db.session() as s:
        group = s.exec(select(WorkingGroup)).first()
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC),
            state=MeetingState.recorded,
            recording_dir=str(folder),
        )
        s.add(meeting)
        s.flush()
        meeting_id = meeting.id

    await invoke(fake_discord, bot, "record optout", user=BOB)
    assert not [f for f in folder.iterdir() if f.name.lower().startswith("bob")]
    assert [e.user_id for e in optout.load(folder)] == [str(BOB.id)]

    settings = load_settings(models={"whisper_model": "tiny.en", "llm_model": fast_models["WGBOT_LLM_MODEL"]})
    assert pipeline.run(sqlite_db, settings, meeting_id, publish=False) == MeetingState.summarized
    with sqlite_db.session() as s:
        rows = s.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
    assert rows and {r.speaker for r in rows} == {"Alice"}
    assert not any("documentation" in r.text.lower() for r in rows)
