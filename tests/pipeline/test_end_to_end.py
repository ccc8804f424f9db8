"""One meeting end to end: a synthesized four-speaker call through the voice receive path (Opus, DAVE, RTP,
transport encryption) into a recording folder, transcribed live while it "happens", minutes by the local model,
then GitHub issues, the archive, the forum post and the Discord message on local servers that speak those APIs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlmodel import select

from bot.voice.testing import CallLine, play_call
from tests.fakes.discord_messages import FakeDiscordMessages
from tests.fakes.discourse_server import FakeDiscourse
from tests.fakes.github_server import FakeGithub
from tracker import pipeline
from tracker.config import load_settings
from tracker.live import LIVE_SEGMENTS, LiveOptions, LiveTranscription
from tracker.models import (
    ActionItem,
    Meeting,
    MeetingState,
    Publication,
    PublicationState,
    TranscriptSegment,
    WorkingGroup,
)
from transcripts.llm import load_llm, unload_llms
from transcripts.synthesize import ESPEAK_RATE, ScriptLine, assign_voices, render_line

REPO, TOPIC, CHANNEL = "wg/search", 41, 777
MEETING_DAY = dt.date(2026, 12, 3)  # a Thursday: "by Friday" is 2026-12-04
SCRIPT = [
    (1.0, 101, "Alice", "Welcome everyone to the weekly call of the search working group."),
    (6.0, 202, "Jeshli", "I finished the SIMD kernel for the distance function last week."),
    (11.0, 303, "Carol", "I will write the fallback path for older processors by Friday."),
    (16.5, 404, "Bob", "It would be nice to have a nightly benchmark, please put it on the wish list."),
    (22.5, 101, "Alice", "Thank you all, see you next week."),
]
TITLE = "Search WG call"  # the bot hands the live worker the meeting's title (bot/exts/recording.py)
LLM = "qwen2.5-coder-1.5b-q8_0"  # the default model: the content of the minutes is asserted below


def _pcm48k(text: str, voice: str) -> np.ndarray:
    speech = render_line(text, voice)
    n = int(len(speech) / ESPEAK_RATE * 48_000)
    return np.interp(np.arange(n) / 48_000, np.arange(len(speech)) / ESPEAK_RATE, speech).astype(np.float32)


@pytest.fixture(scope="module")
def recorded_call(tmp_path_factory):
    """The call through the receive path, each closed utterance handed to a live transcriber process."""
    folder = tmp_path_factory.mktemp("recordings") / "2026.12.03-m1"
    voices = assign_voices([ScriptLine(name, text) for _, _, name, text in SCRIPT])
    lines = [CallLine(start, user, name, _pcm48k(text, voices[name])) for start, user, name, text in SCRIPT]
    live = LiveTranscription(
        folder,
        LiveOptions(
            model="tiny.en",
            threads=1,
            speakers=("Alice", "Jeshli", "Carol", "Bob"),
            title=TITLE,
            glossary=("SIMD",),
            max_delay=4.0,
            llm_model=LLM,  # the read-ahead: at the call's end it asks what the minutes will ask
            meeting_date=MEETING_DAY,
        ),
    )
    folder.mkdir(parents=True)
    live.start()
    play_call(lines, folder, meeting="2026.12.03-m1", on_utterance=live.submit)
    complete = live.finish(timeout=300)
    return folder, complete, live.submitted


@pytest.fixture
def services():
    with (
        FakeGithub(repo=REPO, assignable=("carol",)) as github,
        FakeDiscourse() as forum,
        FakeDiscordMessages() as discord,
    ):
        forum.add_topic(TOPIC, replies=1)
        yield github, forum, discord


def test_a_recorded_call_becomes_published_minutes(recorded_call, services, sqlite_db, monkeypatch):
    folder, live_complete, utterances = recorded_call
    github, forum, discord = services
    assert live_complete and utterances >= len(SCRIPT)
    assert (folder / LIVE_SEGMENTS).read_text().count("\n") >= 1  # segments arrived during the call

    settings = load_settings(
        models={"whisper_model": "tiny.en", "llm_model": LLM},
        github={"token": github.token, "repo": REPO, "api_url": github.api_url},
        forum={"url": forum.origin, "api_key": forum.api_key, "api_username": forum.username, "topic_id": TOPIC},
        discord={"token": discord.token, "api_base": discord.api_base, "text_channel_id": CHANNEL, "guild_id": 1},
        publish={"write_interval_seconds": 0.0, "timeout_seconds": 5},
    )
    with sqlite_db.session() as session:
        group = WorkingGroup(
            name="Search WG",
            series_start=dt.date(2026, 11, 1),
            github_repo=REPO,
            forum_topic_id=TOPIC,
            text_channel_id=CHANNEL,
        )
        session.add(group)
        session.flush()
        start = dt.datetime.combine(MEETING_DAY, dt.time(17), tzinfo=dt.UTC)
        meeting = Meeting(
            group_id=group.id,
            scheduled_start=start,
            occurrence_start=start,
            title=TITLE,
            state=MeetingState.recording,
        )
        session.add(meeting)
        session.flush()
        meeting_id = meeting.id
    pipeline.mark_recorded(sqlite_db, meeting_id, folder)

    def no_batch(*args, **kwargs):
        raise AssertionError("the live transcript was complete: the recording must not be transcribed again")

    monkeypatch.setattr(pipeline, "transcribe_files", no_batch)
    unload_llms()  # the model this process loads now is the pipeline's
    progress: list[str] = []
    assert pipeline.run(sqlite_db, settings, meeting_id, progress=progress.append) == MeetingState.published
    # The read-ahead process answered every question at the call's end: the pipeline never loaded the weights.
    model = load_llm(LLM)
    assert model.stats and all(s.cached for s in model.stats) and not model.weights_loaded

    with sqlite_db.session() as session:
        segments = session.exec(
            select(TranscriptSegment)
            .where(TranscriptSegment.meeting_id == meeting_id)
            .order_by(TranscriptSegment.start)
        ).all()
        actions = session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting_id)).all()
        rows = session.exec(select(Publication)).all()
    # The transcript: every speaker, in order, at the right times.
    assert [s.speaker for s in segments] == [name for _, _, name, _ in SCRIPT]
    for segment, (start, _, _, _) in zip(segments, SCRIPT):
        assert abs(segment.start - start) < 0.6
    assert "SIMD" in segments[1].text and "fallback" in segments[2].text.lower()

    # The minutes: Carol's commitment, due the Friday after the meeting, filed once and assigned to her.
    carol = [a for a in actions if a.owner_name == "Carol"]
    assert len(carol) == 1 and "fallback" in carol[0].task.lower() and carol[0].due == dt.date(2026, 12, 4)
    issues = [i for i in github.repo.issues if "action-item" in i["_labels"]]
    assert len(issues) == len(actions)
    carol_issue = next(i for i in issues if "fallback" in i["title"].lower())
    assert "Due: 2026-12-04" in carol_issue["body"] and "<!-- wgbot:" in carol_issue["body"]
    # Carol has linked no GitHub login: named in the body, left for triage, not assigned.
    assert carol_issue["_assignees"] == [] and "needs-triage" in carol_issue["_labels"]
    assert "Carol" in carol_issue["body"]
    wishes = [i for i in github.repo.issues if "wish-list" in i["_labels"]]
    assert any("benchmark" in w["title"].lower() for w in wishes)

    # The archive, the forum post and the Discord message: each once, each with the summary and the issue links.
    archive = {path for (_branch, path) in github.repo.files}
    assert {"meetings/2026.12.03/README.md", "meetings/2026.12.03/transcript.md"} <= archive
    posts = forum.posts_in(TOPIC, username=forum.username)
    assert len(posts) == 1 and carol_issue["html_url"] in posts[0]["raw"]
    messages = discord.channel(CHANNEL)
    assert len(messages) == 1 and carol_issue["html_url"] in messages[0]["content"]
    assert all(r.state == PublicationState.done for r in rows)
    assert progress  # the steps reported what they were doing
