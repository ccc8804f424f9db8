"""`wgbot doctor`: check a deployment end to end, changing nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import console, settings


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd(
        models: Annotated[bool, typer.Option(help="also load the Whisper and summary models")] = True,
        voice: Annotated[
            bool, typer.Option(help="also join the voice channel and record 10 seconds (live Discord)")
        ] = False,
    ) -> None:
        """Check the token, guild, channels, permissions, GitHub, forum, models and database; one line each."""
        from tracker.doctor import run_checks

        loaded = settings()
        failed = 0
        for check in run_checks(loaded, models=models):
            style = {"ok": "green", "fail": "red", "skip": "dim"}[check.status]
            console.print(f"[{style}]{check.line}[/]", highlight=False, soft_wrap=True)
            failed += check.status == "fail"
        if voice:
            from bot.voice.live_check import run_voice_check

            for line in run_voice_check(loaded):
                console.print(line, highlight=False, soft_wrap=True)
        raise typer.Exit(1 if failed else 0)
