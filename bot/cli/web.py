"""`wgbot web`: the web home and the calendar feed, without the Discord bot (`wgbot run` serves them too)."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer

from bot.cli.common import console, database, fail, settings
from tracker import schedule

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    @app.command("web")
    def web_cmd(
        host: Annotated[
            str | None, typer.Option(help="address to listen on (default: [calendar] host, 127.0.0.1)")
        ] = None,
        port: Annotated[
            int | None, typer.Option(min=0, max=65535, help="port (default: [calendar] port, 8080)")
        ] = None,
    ) -> None:
        """Serve the web home (meetings, minutes, transcripts, items, search, stats) and the calendar feed."""
        loaded = settings()
        if host is not None:
            loaded.calendar.host = host
        if port is not None:
            loaded.calendar.port = port
        db = database(loaded)
        with db.session() as session:
            schedule.ensure_group(session, loaded)

        from bot.web.server import WebServer

        async def serve() -> None:
            server = WebServer(loaded, db)
            await server.start()
            console.print(f"web home at {server.site_url} · calendar feed at {server.url} (Ctrl-C stops)")
            try:
                await asyncio.Event().wait()
            finally:
                await server.stop()

        try:
            asyncio.run(serve())
        except KeyboardInterrupt:
            pass
        except RuntimeError as exc:  # the port is taken
            fail(str(exc).splitlines()[0])
        finally:
            db.dispose()
