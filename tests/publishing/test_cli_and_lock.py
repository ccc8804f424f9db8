"""`wgbot publish` / `wgbot publish --status` / `wgbot sync`, and one publisher at a time."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.publish import register
from tests.publishing.conftest import CHANNEL, TOPIC, add_meeting, store
from tracker.publishing import Publisher, PublisherBusy
from tracker.publishing.lock import PublisherLock

ISSUES = r"/api/v3/repos/wg/meetings/issues"


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        pass

    register(app)
    return app


@pytest.fixture
def env(monkeypatch, sqlite_db, github, forum, discord):
    values = {
        "WGBOT_DATABASE_URL": sqlite_db.url,
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
        "WGBOT_PUBLISH_TIMEOUT_SECONDS": "2",
        "WGBOT_PUBLISH_WRITE_INTERVAL_SECONDS": "0",
        "WGBOT_PUBLISH_MAX_ATTEMPTS": "2",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def test_publish_status_and_retry_failed(app, env, sqlite_db, github, forum, discord):
    runner = CliRunner()
    meeting_id = add_meeting(sqlite_db)
    store(sqlite_db, meeting_id)
    github.fault(
        "POST",
        ISSUES,
        status=500,
        times=2,
        body={"message": f"upstream said token {github.token}"},
        when=lambda request: b"Finish the RFC draft" in request.body,
    )  # Alice's issue, both attempts

    result = runner.invoke(app, ["publish", "--max-wait", "5"])
    assert result.exit_code == 1, result.output
    assert "failed 1" in result.output and "wgbot publish --retry-failed" in result.output

    status = runner.invoke(app, ["publish", "--status"])
    assert status.exit_code == 1
    assert f"m{meeting_id}-action-1" in status.output and "failed" in status.output
    assert "GitHub answered 500" in status.output and github.token not in status.output
    assert f"after m{meeting_id}-action-1" in status.output  # the archive waits for it

    result = runner.invoke(app, ["publish", "--retry-failed", "--max-wait", "5"])
    assert result.exit_code == 0, result.output
    assert "1 failed publication(s) will be tried again" in result.output
    assert runner.invoke(app, ["publish", "--status"]).output.strip() == "nothing to publish: every publication is done"
    assert len(github.repo.issues) == 5 and len(forum.posts_in(TOPIC, forum.username)) == 1


def test_sync_command(app, env, sqlite_db, github):
    runner = CliRunner()
    store(sqlite_db, add_meeting(sqlite_db), forum=False, discord=False)
    assert runner.invoke(app, ["publish"]).exit_code == 0
    github.set_state(2, "closed")
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "1 closed, 0 reopened" in result.output


def test_publish_refuses_to_run_beside_another_publisher(app, env, sqlite_db):
    with PublisherLock(sqlite_db):
        result = CliRunner().invoke(app, ["publish", "--lock-wait", "0"])
    assert result.exit_code == 1 and "another publisher is draining" in result.output


def test_one_publisher_at_a_time(db, settings):
    first, second = PublisherLock(db), PublisherLock(db)
    assert first.acquire()
    assert not second.acquire(timeout=0.2)
    with pytest.raises(PublisherBusy):
        Publisher(db, settings).drain()
    first.release()
    assert second.acquire()
    second.release()
