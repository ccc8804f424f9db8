"""Where the heavy steps of the pipeline run.

- Embedded default (SQLite): a local process pool of one worker process, so transcription and summarization never
  run on the bot's event loop and the models stay loaded between meetings.
- PostgreSQL (`WGBOT_DATABASE_URL`): Procrastinate, a PostgreSQL task queue. `wgbot worker` on any machine that
  reaches the database (and the recording folder) takes the jobs: one job per meeting, locked so no two workers
  process the same meeting, retried on failure, and retried when its worker dies (no heartbeat).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
from typing import TYPE_CHECKING

from tracker import health
from tracker.config import Settings, load_settings
from tracker.db import Database, normalize_url
from tracker.models import MeetingState

if TYPE_CHECKING:
    import procrastinate

log = logging.getLogger(__name__)

QUEUE = "pipeline"
TASK_NAME = "wgbot.process_meeting"


def process_meeting(meeting_id: int, publish: bool = True) -> str:
    """Run the pipeline of one meeting as far as it goes (in whatever process runs it); with `publish=False` it
    stops once the minutes and their outbox rows are stored."""
    from tracker import pipeline

    settings = load_settings()
    db = Database(settings.storage.url)
    try:
        pipeline.retry(db, meeting_id)  # a failed meeting resumes from its last finished step
        return pipeline.run(db, settings, meeting_id, publish=publish).value
    finally:
        db.dispose()


def queued_job(meeting_id: int) -> str:
    """A `wgbot worker` job: transcribe and summarize. Publishing is left to the bot's background publisher, which
    holds the GitHub, forum and Discord secrets; a worker needs none of them."""
    return process_meeting(meeting_id, publish=False)


# ---- embedded: a local process pool --------------------------------------------------------------------------


class LocalRunner:
    """One worker process (spawned: no fork of the bot's threads and event loop); the models load there once."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, meeting_id: int) -> concurrent.futures.Future:
        return self._pool.submit(process_meeting, meeting_id)

    async def run(self, meeting_id: int) -> MeetingState:
        return MeetingState(await asyncio.wrap_future(self.submit(meeting_id)))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# ---- PostgreSQL: Procrastinate -------------------------------------------------------------------------------


def _conninfo(url: str) -> str:
    # Procrastinate takes a libpq connection string; SQLAlchemy's driver suffix is not part of it.
    return normalize_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def make_app(url: str) -> procrastinate.App:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(url)))
    app.task(
        name=TASK_NAME,
        queue=QUEUE,
        # Exponential backoff: 10 s, 100 s, 1000 s; after that the meeting stays `failed` with its reason.
        retry=procrastinate.RetryStrategy(max_attempts=4, exponential_wait=10),
    )(queued_job)
    return app


async def ensure_schema(app) -> None:
    """Procrastinate's tables, created once (its own schema, beside wgbot's Alembic-managed tables)."""
    exists = await app.connector.execute_query_one_async("SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS x")
    if not exists["x"]:
        await app.schema_manager.apply_schema_async()


async def defer_async(app, meeting_id: int) -> int | None:
    """Queue the meeting once: a second defer while one is queued is a no-op; the lock keeps workers apart."""
    from procrastinate import exceptions

    lock = f"meeting-{meeting_id}"
    try:
        return await app.configure_task(TASK_NAME, lock=lock, queueing_lock=lock).defer_async(meeting_id=meeting_id)
    except exceptions.AlreadyEnqueued:
        log.info("meeting %s is already queued", meeting_id)
        return None


async def requeue_stalled(app, stalled_after: float) -> int:
    """Jobs whose worker stopped sending heartbeats (killed, machine lost) go back to the queue."""
    stalled = list(await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after))
    for job in stalled:
        log.warning("job %s (%s) lost its worker; retrying it", job.id, job.task_kwargs)
        await app.job_manager.retry_job(job)
    return len(stalled)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 1,
    heartbeat_seconds: float = 10.0,
    stalled_after_seconds: float = 30.0,
    stop: asyncio.Event | None = None,
) -> None:
    """`wgbot worker`: take pipeline jobs until stopped, and requeue jobs of dead workers."""
    app = make_app(settings.storage.url)
    async with app.open_async():
        await ensure_schema(app)

        async def watch_stalled() -> None:
            while True:
                try:
                    await requeue_stalled(app, stalled_after_seconds)
                    health.beat(settings.storage.data_dir, "worker")  # the queue answered: alive and working
                except Exception:
                    log.exception("could not check for stalled jobs")
                await asyncio.sleep(max(1.0, heartbeat_seconds))

        watcher = asyncio.create_task(watch_stalled())
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                update_heartbeat_interval=heartbeat_seconds,
                stalled_worker_timeout=stalled_after_seconds,
                install_signal_handlers=stop is None,
            )
        )
        try:
            if stop is None:
                await worker
            else:
                await stop.wait()
        finally:
            watcher.cancel()
            worker.cancel()
            await asyncio.gather(watcher, worker, return_exceptions=True)


# ---- the one entry point the bot and the CLI use --------------------------------------------------------------


class PipelineRunner:
    """Hand a meeting to whichever backend the database calls for."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db_url = settings.storage.url
        self.uses_queue = not normalize_url(self.db_url).startswith("sqlite")
        self._local: LocalRunner | None = None
        self._app: procrastinate.App | None = None

    async def start(self, meeting_id: int) -> None:
        """Queue (PostgreSQL) or start (SQLite) the meeting's pipeline; returns without waiting for it."""
        if self.uses_queue:
            app = self._app
            if app is None:
                app = self._app = make_app(self.db_url)
                await app.open_async()
                await ensure_schema(app)
            await defer_async(app, meeting_id)
        else:
            self._local = self._local or LocalRunner()
            future = self._local.submit(meeting_id)

            def report(f: concurrent.futures.Future) -> None:
                error = f.exception()
                if error:
                    log.error("meeting %s: %s", meeting_id, error)

            future.add_done_callback(report)

    async def close(self) -> None:
        if self._local:
            self._local.close()
        if self._app is not None:
            await self._app.close_async()
