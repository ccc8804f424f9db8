"""`wgbot health`, the container healthcheck: healthy only while the bot (or worker) beats, as the real command."""

from __future__ import annotations

import time

from tests.tracker.test_cli import run
from tracker import health


def test_health_fails_before_the_first_heartbeat_and_passes_after_it(tmp_path):
    env = {"WGBOT_DATA_DIR": str(tmp_path)}
    before = run("health", env=env)
    assert before.returncode == 1 and "no heartbeat from the bot" in before.stderr
    health.beat(tmp_path, "bot")
    after = run("health", env=env)
    assert after.returncode == 0, after.stderr
    assert run("health", "--role", "worker", env=env).returncode == 1  # the worker's heartbeat is its own


def test_a_stale_heartbeat_is_unhealthy(tmp_path):
    health.beat(tmp_path, "worker", now=time.time() - 600)
    result = run("health", "--role", "worker", "--max-age", "120", env={"WGBOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1 and "s old (more than 120 s)" in result.stderr


def test_a_torn_or_foreign_heartbeat_file_is_reported_not_a_traceback(tmp_path):
    path = health.heartbeat_path(tmp_path, "bot")
    path.parent.mkdir(parents=True)
    path.write_text('{"at": ')
    assert "unreadable heartbeat" in health.problem(tmp_path, "bot", max_age=60)
    result = run("health", "--role", "nobody", env={"WGBOT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
