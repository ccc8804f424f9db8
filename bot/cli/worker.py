"""`wgbot worker`: take transcription and summarization jobs from PostgreSQL (Procrastinate)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.common import console, database, fail, settings


def register(app: typer.Typer) -> None:
    @app.command("worker")
    def worker_cmd(
        concurrency: Annotated[int, typer.Option(min=1, max=16, help="meetings processed at once")] = 1,
        heartbeat: Annotated[float, typer.Option(min=0.5, help="seconds between heartbeats")] = 10.0,
        stalled_after: Annotated[
            float, typer.Option(min=1.0, help="a worker silent this long is dead: its job is retried")
        ] = 30.0,
    ) -> None:
        """Process meetings queued in PostgreSQL, on this machine (run as many as you like, anywhere)."""
        loaded = settings()
        if loaded.storage.url.startswith("sqlite"):
            fail("workers need PostgreSQL: set WGBOT_DATABASE_URL (with SQLite the bot processes meetings itself)")
        database(loaded)  # migrated before taking jobs
        from tracker.tasks import run_worker

        console.print(f"worker started (concurrency {concurrency}); Ctrl-C stops it")
        try:
            asyncio.run(
                run_worker(
                    loaded, concurrency=concurrency, heartbeat_seconds=heartbeat, stalled_after_seconds=stalled_after
                )
            )
        except KeyboardInterrupt:
            pass
