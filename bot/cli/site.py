"""`wgbot site --out DIR`: the public pages as a static site (search works offline from a prebuilt index);
`wgbot site --publish`: the same committed to the GitHub repository (`[web] site_branch` and `site_dir`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import console, database, fail, settings
from tracker import schedule


def register(app: typer.Typer) -> None:
    @app.command("site")
    def site_cmd(
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="folder to write the site into (created if missing)")
        ] = None,
        publish: Annotated[
            bool,
            typer.Option("--publish", help="commit the site to the GitHub repository ([web] site_branch/site_dir)"),
        ] = False,
    ) -> None:
        """Export the published meetings, items, wish list, stats and projects as static HTML."""
        if out is None and not publish:
            fail("say where the site goes: --out DIR, or --publish for the GitHub repository", code=2)
        if out is not None and out.exists() and not out.is_dir():
            fail(f"{out} exists and is not a folder")
        loaded = settings()
        db = database(loaded)
        with db.session() as session:
            schedule.ensure_group(session, loaded)
        from bot.web.export import ExportError, export_site
        from bot.web.publish import publish_site
        from tracker.publishing.errors import PermanentError, RetryLater

        try:
            if out is not None:
                result = export_site(db, out, feed_url=loaded.calendar.public_url)
                console.print(
                    f"wrote {result.pages} pages ({result.meetings} meetings, {result.files} files) to {result.out} "
                    f"in {result.seconds:.1f} s"
                )
            if publish:
                done = publish_site(db, loaded)
                where = f"{loaded.github.repo} {done.branch}:{done.folder or '/'}"
                if done.commit is None:
                    console.print(f"{where} already holds this site ({done.files} files): nothing to commit")
                else:
                    console.print(
                        f"committed {done.changed} changed and {done.removed} removed file(s) to {where} "
                        f"({done.commit[:7]})"
                    )
        except ExportError as exc:
            fail(str(exc))
        except (PermanentError, RetryLater) as exc:
            fail(f"the site was not published: {exc}")
        except OSError as exc:
            fail(f"cannot write the site: {exc.strerror or exc}")
        finally:
            db.dispose()
