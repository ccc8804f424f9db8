"""`wgbot doctor`: check a deployment end to end, changing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli.common import console, fail, settings


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd(
        models: Annotated[bool, typer.Option(help="also load the Whisper and summary models")] = True,
        voice: Annotated[
            bool,
            typer.Option(
                help="also join the voice channel and listen (live Discord; refused while a meeting is recorded)"
            ),
        ] = False,
        seconds: Annotated[
            float,
            typer.Option(
                "--seconds",
                min=1,
                max=4 * 3600,
                help="how long --voice listens; 900 is the soak check before the first real meeting",
            ),
        ] = 10,
        capture: Annotated[
            Path | None,
            typer.Option(
                "--capture",
                dir_okay=False,
                help="with --voice: write what arrived (sizes, times, RTP headers, gateway events, decryption "
                "results; no audio content) to this file, to send to a maintainer",
            ),
        ] = None,
    ) -> None:
        """Check the token, guild, channels, permissions, GitHub, forum, models and database; one line each."""
        from bot.doctor import run_checks

        if capture is not None and not voice:
            fail("--capture needs --voice", code=2)
        loaded = settings()
        failed = 0
        for check in run_checks(loaded, models=models):
            style = {"ok": "green", "fail": "red", "skip": "dim"}[check.status]
            console.print(f"[{style}]{check.line}[/]", highlight=False, soft_wrap=True)
            failed += check.status == "fail"
        if voice:
            from bot.voice.live_check import run_voice_check

            for line in run_voice_check(loaded, seconds, capture):
                style = "red" if line.startswith("FAIL") else "yellow" if line.startswith("WARN") else "green"
                console.print(f"[{style}]{escape(line)}[/]", highlight=False, soft_wrap=True)
                failed += line.startswith("FAIL")
        raise typer.Exit(1 if failed else 0)
