"""`wgbot health`: the container healthcheck (exit 0 when the bot or worker beat recently)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import console, fail, settings
from tracker import health


def register(app: typer.Typer) -> None:
    @app.command("health")
    def health_cmd(
        role: Annotated[str, typer.Option(help="bot or worker")] = "bot",
        max_age: Annotated[float, typer.Option(min=1.0, help="seconds since the last heartbeat")] = 120.0,
    ) -> None:
        """Exit 0 when this deployment's bot (or worker) is alive and working, 1 otherwise."""
        if role not in health.ROLES:
            fail(f"--role must be one of {', '.join(health.ROLES)}", code=2)
        trouble = health.problem(settings().storage.data_dir, role, max_age=max_age)
        if trouble:
            fail(trouble)
        console.print(f"{role}: healthy")
