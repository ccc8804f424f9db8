"""`wgbot project add|list|remove|refresh`: the group's projects and their GitHub figures."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bot.cli.common import console, database, fail, settings
from tracker import projects, schedule
from tracker.models import saved_id

project_app = typer.Typer(help="The group's projects (shown on the web home with their GitHub figures).")


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def _refresh(loaded, db, ids: list[int]) -> dict[int, str | None]:
    return projects.refresh(db, ids, api_url=loaded.github.api_url, token=_secret(loaded.github.token))


@project_app.command("add")
def add_cmd(
    name: Annotated[str, typer.Argument(help="the project's name")],
    repo: Annotated[str, typer.Argument(help="its GitHub repository, owner/name")],
    description: Annotated[str | None, typer.Argument(help="one line about it")] = None,
) -> None:
    """Add a project and fetch its GitHub figures."""
    loaded = settings()
    db = database(loaded)
    with db.session() as session:
        try:
            project = projects.add(session, schedule.ensure_group(session, loaded), name, repo, description)
        except projects.ProjectError as exc:
            fail(str(exc))
    project_id = saved_id(project)
    error = _refresh(loaded, db, [project_id]).get(project_id)
    console.print(f"added {project.name} ({project.repo})" + (f"; no GitHub figures yet: {error}" if error else ""))


@project_app.command("list")
def list_cmd() -> None:
    """The projects with their GitHub figures as last fetched."""
    loaded = settings()
    with database(loaded).session() as session:
        rows = projects.list_projects(session, schedule.ensure_group(session, loaded))
    if not rows:
        console.print("no projects yet: `wgbot project add NAME OWNER/REPO`")
        return
    table = Table(title="projects")
    for column in ("name", "repo", "stars", "open issues", "last release", "last commit", "fetched"):
        table.add_column(column)
    for p in rows:
        table.add_row(
            p.name,
            p.repo,
            str(p.stars) if p.stars is not None else "—",
            str(p.open_issues) if p.open_issues is not None else "—",
            p.last_release or "—",
            p.last_commit_at.date().isoformat() if p.last_commit_at else "—",
            p.fetched_at.strftime("%Y-%m-%d %H:%M") if p.fetched_at else (p.fetch_error or "never"),
        )
    console.print(table)


@project_app.command("remove")
def remove_cmd(name: Annotated[str, typer.Argument(help="the project's name")]) -> None:
    """Remove a project."""
    loaded = settings()
    with database(loaded).session() as session:
        try:
            project = projects.remove(session, schedule.ensure_group(session, loaded), name)
        except projects.ProjectError as exc:
            fail(str(exc))
    console.print(f"removed {project.name}")


@project_app.command("refresh")
def refresh_cmd() -> None:
    """Fetch every project's GitHub figures again."""
    loaded = settings()
    db = database(loaded)
    with db.session() as session:
        ids = [saved_id(p) for p in projects.list_projects(session, schedule.ensure_group(session, loaded))]
    errors = _refresh(loaded, db, ids)
    failed = {i: e for i, e in errors.items() if e}
    for error in failed.values():
        console.print(f"[yellow]{error}[/]")
    console.print(f"refreshed {len(errors) - len(failed)} of {len(errors)} project(s)")


def register(app: typer.Typer) -> None:
    app.add_typer(project_app, name="project")
