"""SIGKILL the pipeline at each state and start it again: it finishes, with nothing duplicated and nothing lost.

The real `wgbot process PATH --publish` runs in a subprocess against local GitHub, Discourse and Discord servers;
the test kills it while it transcribes, while it writes the minutes, and while it publishes (the forum server kills
it right after creating the post, before answering), then runs the same command again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from tests.fakes.discord_messages import FakeDiscordMessages
from tests.fakes.discourse_server import FakeDiscourse
from tests.fakes.github_server import FakeGithub
from tracker.db import Database
from tracker.models import Meeting, MeetingState, Publication, PublicationState, TranscriptSegment

WGBOT = str(Path(sys.executable).with_name("wgbot"))
REPO, TOPIC, CHANNEL = "wg/search", 41, 777


@pytest.fixture
def services():
    with FakeGithub(repo=REPO) as github, FakeDiscourse() as forum, FakeDiscordMessages() as discord:
        forum.add_topic(TOPIC, replies=1)
        yield github, forum, discord


def _env(tmp_path: Path, services, fast_models) -> dict:
    github, forum, discord = services
    return {
        **os.environ,
        **fast_models,
        "WGBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'wgbot.db'}",
        "WGBOT_GITHUB_TOKEN": github.token,
        "WGBOT_GITHUB_REPO": REPO,
        "WGBOT_GITHUB_API_URL": github.api_url,
        "WGBOT_FORUM_URL": forum.origin,
        "WGBOT_FORUM_API_KEY": forum.api_key,
        "WGBOT_FORUM_API_USERNAME": forum.username,
        "WGBOT_FORUM_TOPIC_ID": str(TOPIC),
        "WGBOT_DISCORD_TOKEN": discord.token,
        "WGBOT_DISCORD_API_BASE": discord.api_base,
        "WGBOT_DISCORD_TEXT_CHANNEL_ID": str(CHANNEL),
        "WGBOT_PUBLISH_WRITE_INTERVAL_SECONDS": "0",
        "WGBOT_PUBLISH_TIMEOUT_SECONDS": "5",
        "WGBOT_PUBLISH_BACKOFF_SECONDS": "0.2",
    }


def _start(recording: Path, out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [WGBOT, "process", str(recording), "--date", "2026-12-03", "--out", str(out), "--publish"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(db: Database) -> MeetingState | None:
    try:
        with db.session() as session:
            meeting = session.exec(select(Meeting)).first()
            return meeting.state if meeting else None
    except Exception:  # the schema is not there yet
        return None


def _kill_when(process: subprocess.Popen, predicate, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if predicate():
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            return
        time.sleep(0.05)
    raise AssertionError(f"never reached the kill point (exit {process.poll()}): {process.stderr.read()[-2000:]}")


def test_killed_at_every_state_it_finishes_once(short_recording, services, tmp_path, fast_models):
    github, forum, discord = services
    env = _env(tmp_path, services, fast_models)
    db = Database(env["WGBOT_DATABASE_URL"])
    out = tmp_path / "out"
    killed_at = []

    # 1. while transcribing (the meeting is `recorded`), 2. while summarizing (`transcribed`).
    for state in (MeetingState.recorded, MeetingState.transcribed):
        process = _start(short_recording, out, env)
        _kill_when(process, lambda state=state: _state(db) == state)
        killed_at.append(_state(db))

    # 3. while publishing: the forum creates the post, then the process dies before it hears back.
    process = _start(short_recording, out, env)
    forum.fault(
        "POST", r"/posts\.json", action="slow", delay=30, on_hit=lambda request: process.send_signal(signal.SIGKILL)
    )
    process.wait(240)
    assert process.returncode == -signal.SIGKILL
    killed_at.append(_state(db))
    assert killed_at == [MeetingState.recorded, MeetingState.transcribed, MeetingState.summarized]
    forum.clear_faults()

    final = _start(short_recording, out, env)
    _, err = final.communicate(timeout=240)
    assert final.returncode == 0, err[-3000:]
    assert _state(db) == MeetingState.published

    with db.session() as session:
        assert len(session.exec(select(Meeting)).all()) == 1  # the same meeting each time, not a new one
        segments = session.exec(select(TranscriptSegment)).all()
        rows = session.exec(select(Publication)).all()
    assert len(segments) == 2
    assert rows and all(r.state == PublicationState.done for r in rows)
    assert len(forum.posts_in(TOPIC, username=forum.username)) == 1  # the post made before the kill was found
    assert len(discord.channel(CHANNEL)) == 1
    archive = [c for c in github.repo.commits if c["path"].endswith("README.md")]
    assert len(archive) == 1
    markers = [i["body"].split("<!-- wgbot:")[1].split(" -->")[0] for i in github.repo.issues]
    assert len(markers) == len(set(markers))  # no issue twice
    assert (out / "minutes.json").exists() and (out / "transcript.json").exists()
