"""`wgbot site --out DIR`: the public pages as a static site (search works offline from a prebuilt index)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import console, database, fail, settings
from tracker import schedule


def register(app: typer.Typer) -> None:
    @app.command("site")
    def site_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="folder to write the site into (created if missing)")],
    ) -> None:
        """Export the published meetings, items, wish list, stats and projects as static HTML."""
        loaded = settings()
        db = database(loaded)
        with db.session() as session:
            schedule.ensure_group(session, loaded)
        from bot.web.export import ExportError, export_site

        if out.exists() and not out.is_dir():
            fail(f"{out} exists and is not a folder")
        try:
            result = export_site(db, out, feed_url=loaded.calendar.public_url)
        except ExportError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"cannot write the site into {out}: {exc.strerror or exc}")
        finally:
            db.dispose()
        console.print(
            f"wrote {result.pages} pages ({result.meetings} meetings, {result.files} files) to {result.out} "
            f"in {result.seconds:.1f} s"
        )
