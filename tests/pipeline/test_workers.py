"""Scale-out on PostgreSQL with Procrastinate: `wgbot worker` processes, distinct meetings, none twice, and a job
whose worker is killed is retried by another."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from tracker import tasks
from tracker.models import Meeting, MeetingState, TranscriptSegment, WorkingGroup

pytestmark = pytest.mark.postgres
WGBOT = str(Path(sys.executable).with_name("wgbot"))


def _meetings(db, recording: Path, tmp_path: Path, count: int) -> list[int]:
    ids = []
    with db.session() as session:
        group = WorkingGroup(name="WG", series_start=dt.date(2026, 11, 1))
        session.add(group)
        session.flush()
        for i in range(count):
            folder = tmp_path / f"rec-{i}"
            shutil.copytree(recording, folder)
            meeting = Meeting(
                group_id=group.id,
                scheduled_start=dt.datetime(2026, 12, 3 + i, 17, tzinfo=dt.UTC),
                state=MeetingState.recorded,
                recording_dir=str(folder),
            )
            session.add(meeting)
            session.flush()
            ids.append(meeting.id)
    return ids


async def _defer(url: str, meeting_ids: list[int]) -> None:
    app = tasks.make_app(url)
    async with app.open_async():
        await tasks.ensure_schema(app)
        await app.connector.execute_query_async("DELETE FROM procrastinate_jobs")
        for meeting_id in meeting_ids:
            await tasks.defer_async(app, meeting_id)
        assert await tasks.defer_async(app, meeting_ids[0]) is None  # queued once only


def _worker(env: dict, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [WGBOT, "worker", "--heartbeat", "0.5", "--stalled-after", "2", *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _states(db, ids) -> dict[int, MeetingState]:
    with db.session() as session:
        return {m.id: m.state for m in session.exec(select(Meeting).where(Meeting.id.in_(ids)))}


def _job_events(db) -> dict[int, list[str]]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT j.args->>'meeting_id', e.type FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
                "ORDER BY e.id"
            )
        ).all()
    events: dict[int, list[str]] = {}
    for meeting_id, kind in rows:
        events.setdefault(int(meeting_id), []).append(kind)
    return events


@pytest.fixture
def worker_env(postgres_url, fast_models):
    env = {**os.environ, **fast_models, "WGBOT_DATABASE_URL": postgres_url}
    return env


def test_two_workers_take_distinct_meetings_and_none_twice(
    postgres_db, postgres_url, short_recording, tmp_path, worker_env
):
    ids = _meetings(postgres_db, short_recording, tmp_path, 3)
    asyncio.run(_defer(postgres_url, ids))
    workers = [_worker(worker_env), _worker(worker_env)]
    try:
        _wait_for(
            lambda: set(_states(postgres_db, ids).values()) == {MeetingState.summarized}, 300, "3 meetings summarized"
        )
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(30)
    events = _job_events(postgres_db)
    assert sorted(events) == sorted(ids)
    for meeting_id, kinds in events.items():
        assert kinds.count("started") == 1, (meeting_id, kinds)  # taken by one worker, once
        assert kinds[-1] == "succeeded"
    with postgres_db.session() as session:
        for meeting_id in ids:
            segments = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
            assert len(segments) == 2, segments  # one per spoken line, stored once


def test_a_job_whose_worker_is_killed_is_retried_by_another(
    postgres_db, postgres_url, short_recording, tmp_path, worker_env
):
    [meeting_id] = _meetings(postgres_db, short_recording, tmp_path, 1)
    asyncio.run(_defer(postgres_url, [meeting_id]))

    def doing() -> bool:
        with postgres_db.engine.connect() as connection:
            return connection.execute(text("SELECT status FROM procrastinate_jobs")).scalar() == "doing"

    first = _worker(worker_env)
    try:
        _wait_for(doing, 120, "the first worker to take the job")
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(30)
    assert _states(postgres_db, [meeting_id])[meeting_id] != MeetingState.summarized

    second = _worker(worker_env)
    try:
        _wait_for(
            lambda: _states(postgres_db, [meeting_id])[meeting_id] == MeetingState.summarized,
            240,
            "the meeting summarized by the second worker",
        )
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(30)
    kinds = _job_events(postgres_db)[meeting_id]
    assert kinds.count("started") == 2 and kinds[-1] == "succeeded", kinds
    with postgres_db.session() as session:
        segments = session.exec(select(TranscriptSegment).where(TranscriptSegment.meeting_id == meeting_id)).all()
    assert len(segments) == 2


def test_worker_refuses_sqlite():
    result = subprocess.run(
        [WGBOT, "worker"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "WGBOT_DATABASE_URL"},
    )
    assert result.returncode == 1 and "workers need PostgreSQL" in result.stderr


def test_a_worker_job_leaves_publishing_to_the_process_that_holds_the_secrets(
    sqlite_db, short_recording, tmp_path, fast_models, monkeypatch
):
    """compose.yaml gives the worker the database and the targets (wgbot.toml), not the GitHub token: its job stops
    at `summarized` with the outbox rows stored, and the bot's publisher, which has the token, files them."""
    from tests.fakes.github_server import FakeGithub
    from tracker.config import load_settings
    from tracker.models import Publication
    from tracker.publishing import Publisher

    with FakeGithub(repo="wg/meetings") as github:
        monkeypatch.setenv("WGBOT_DATABASE_URL", str(sqlite_db.engine.url))
        monkeypatch.setenv("WGBOT_GITHUB_REPO", "wg/meetings")
        monkeypatch.setenv("WGBOT_GITHUB_API_URL", github.api_url)
        monkeypatch.delenv("WGBOT_GITHUB_TOKEN", raising=False)
        [meeting_id] = _meetings(sqlite_db, short_recording, tmp_path, 1)

        assert tasks.queued_job(meeting_id) == MeetingState.summarized.value
        with sqlite_db.session() as session:
            pending = session.exec(select(Publication)).all()
        assert pending and not github.repo.commits and not github.repo.issues  # nothing left the worker

        monkeypatch.setenv("WGBOT_GITHUB_TOKEN", github.token)
        Publisher(sqlite_db, load_settings()).drain()
        assert _states(sqlite_db, [meeting_id])[meeting_id] == MeetingState.published
        assert github.repo.commits  # the archive, committed by the process with the token
