"""A publisher killed with SIGKILL in the worst place — after the service created the issue / comment / file /
post / message, before the answer reached it — again and again: every restart resumes, and in the end everything
exists exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.publishing.conftest import CHANNEL, TOPIC, add_meeting, rows, store
from tracker.models import PublicationState
from tracker.publishing import texts

ROOT = Path(__file__).resolve().parents[2]

# The CLI command itself, in a fresh interpreter (bot.cli wires it in for `wgbot publish`).
WORKER = """
import sys, typer
from bot.cli.publish import register
app = typer.Typer()
@app.callback()
def main() -> None:
    pass
register(app)
app(["publish", "--max-wait", "30", "--lock-wait", "0"])
"""

CREATES = [  # (fake, method, path) of every request that creates something
    ("github", "POST", r"/api/v3/repos/wg/meetings/issues"),
    ("github", "POST", r"/api/v3/repos/wg/meetings/issues/\d+/comments"),
    ("github", "PUT", r"/api/v3/repos/wg/meetings/contents/.*"),
    ("forum", "POST", r"/posts\.json"),
    ("discord", "POST", r"/api/v10/channels/\d+/messages"),
]


def _env(db, github, forum, discord) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WGBOT_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "WGBOT_CONFIG": os.environ["WGBOT_CONFIG"],
            "WGBOT_DATABASE_URL": db.url,
            "WGBOT_GITHUB_TOKEN": github.token,
            "WGBOT_GITHUB_REPO": "wg/meetings",
            "WGBOT_GITHUB_API_URL": github.api_url,
            "WGBOT_FORUM_URL": forum.origin,
            "WGBOT_FORUM_API_KEY": forum.api_key,
            "WGBOT_FORUM_API_USERNAME": forum.username,
            "WGBOT_FORUM_TOPIC_ID": str(TOPIC),
            "WGBOT_DISCORD_TOKEN": discord.token,
            "WGBOT_DISCORD_API_BASE": discord.api_base,
            "WGBOT_DISCORD_TEXT_CHANNEL_ID": str(CHANNEL),
            "WGBOT_PUBLISH_BACKOFF_SECONDS": "0.05",
            "WGBOT_PUBLISH_MAX_BACKOFF_SECONDS": "0.2",
            "WGBOT_PUBLISH_TIMEOUT_SECONDS": "5",
            "WGBOT_PUBLISH_WRITE_INTERVAL_SECONDS": "0",
        }
    )
    return env


@pytest.mark.timeout(120)
def test_killed_publishers_resume_without_duplicates(db, github, forum, discord):
    meeting_id = add_meeting(db)
    store(db, meeting_id)
    fakes = {"github": github, "forum": forum, "discord": discord}
    current: dict[str, subprocess.Popen] = {}
    kills: list[str] = []
    kill_lock = threading.Lock()

    def kill(request) -> None:
        with kill_lock:
            process = current.get("p")
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                kills.append(f"{request.method} {request.path}")

    # Every creation, the first time it happens, kills the publisher right after the service made it.
    expected_kills = {"POST issues": 4, "POST comments": 1, "PUT contents": 2, "POST posts": 1, "POST messages": 1}
    for (name, method, path), times in zip(CREATES, expected_kills.values()):
        fakes[name].fault(method, path, action="slow", delay=0.3, times=times, on_hit=kill)

    env = _env(db, github, forum, discord)
    outputs = []
    for _ in range(sum(expected_kills.values()) + 2):
        process = subprocess.Popen(
            [sys.executable, "-c", WORKER],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        current["p"] = process
        out, _ = process.communicate(timeout=60)
        outputs.append((process.returncode, out))
        if process.returncode == 0:
            break
        assert process.returncode == -signal.SIGKILL, out
    assert outputs[-1][0] == 0, outputs[-1][1]
    assert len(kills) == sum(expected_kills.values()), kills

    # exactly once, everything
    states = {r.idempotency_key: r.state for r in rows(db)}
    assert set(states.values()) == {PublicationState.done}, states
    for row in rows(db):
        marker = texts.marker(row.idempotency_key)
        if row.kind.value == "action_issue" or (
            row.kind.value == "wish_issue" and not row.external_id.startswith("comment:")
        ):
            assert len(github.issues_with_marker(marker)) == 1, row.idempotency_key
        elif row.kind.value == "wish_issue":
            assert len([c for c in github.repo.comments if marker in c["body"]]) == 1
    assert len(github.repo.issues) == 1 + 3 + 1
    assert len(github.repo.comments) == 1
    assert sorted(c["path"] for c in github.repo.commits) == [
        "meetings/2024.03.07/README.md",
        "meetings/2024.03.07/transcript.md",
    ]
    assert len(forum.posts_in(TOPIC, forum.username)) == 1
    assert len(discord.channel(CHANNEL)) == 1
