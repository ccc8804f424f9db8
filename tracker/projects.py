"""The group's projects: a name, a GitHub repository and a line about it, with GitHub figures fetched and cached.

The figures (stars, open issues, last release, last commit) are fetched through PyGithub by `refresh` — when a
project is added, and by `wgbot project refresh` or the bot when they are older than `MAX_AGE` — and kept on the
row, so the web pages never wait for GitHub. A failed fetch keeps the last figures and notes the error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from tracker.models import Project, WorkingGroup, as_utc, saved_id, utcnow
from transcripts.errors import UserError

log = logging.getLogger(__name__)

MAX_NAME = 80
MAX_DESCRIPTION = 500
MAX_AGE = dt.timedelta(hours=6)
REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_REPO_URL = re.compile(r"^(?:https?://)?(?:www\.)?github\.com/([^/]+/[^/?#]+?)(?:\.git)?/?$", re.IGNORECASE)


class ProjectError(UserError, ValueError):
    """A project request that cannot be honoured; the message is fit to show the user."""


@dataclass(frozen=True)
class Figures:
    stars: int
    open_issues: int
    last_release: str | None
    last_release_at: dt.datetime | None
    last_commit_at: dt.datetime | None


def normalize_repo(value: str) -> str:
    """`owner/name`, `https://github.com/owner/name` and `github.com/owner/name.git` all mean `owner/name`."""
    text = value.strip()
    match = _REPO_URL.match(text)
    if match:
        text = match.group(1)
    if not REPO.fullmatch(text):
        raise ProjectError(f"{value.strip()[:80]!r} is not a GitHub repository (owner/name or its github.com URL)")
    return text


def add(session: Session, group: WorkingGroup, name: str, repo: str, description: str | None = None) -> Project:
    name = " ".join(name.split())
    description = " ".join((description or "").split())
    if not name:
        raise ProjectError("the project needs a name")
    if len(name) > MAX_NAME:
        raise ProjectError(f"the name is too long ({len(name)} characters, at most {MAX_NAME})")
    if len(description) > MAX_DESCRIPTION:
        raise ProjectError(f"the description is too long ({len(description)} characters, at most {MAX_DESCRIPTION})")
    repo = normalize_repo(repo)
    if find(session, group, name) is not None:
        raise ProjectError(f"there is already a project called “{name}”")
    project = Project(group_id=saved_id(group), name=name, repo=repo, description=description)
    session.add(project)
    session.flush()
    log.info("project %s (%s) added", name, repo)
    return project


def find(session: Session, group: WorkingGroup, name: str) -> Project | None:
    wanted = " ".join(name.split()).casefold()
    return next((p for p in list_projects(session, group) if p.name.casefold() == wanted), None)


def list_projects(session: Session, group: WorkingGroup) -> list[Project]:
    return list(session.exec(select(Project).where(Project.group_id == group.id).order_by(col(Project.name))))


def remove(session: Session, group: WorkingGroup, name: str) -> Project:
    project = find(session, group, name)
    if project is None:
        raise ProjectError(f"there is no project called “{' '.join(name.split())[:MAX_NAME]}”")
    session.delete(project)
    session.flush()
    log.info("project %s removed", project.name)
    return project


def stale(project: Project, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    return project.fetched_at is None or now - project.fetched_at.astimezone(dt.UTC) > MAX_AGE


def fetch_figures(repo: str, *, api_url: str = "https://api.github.com", token: str | None = None) -> Figures:
    """The repository's figures from GitHub (PyGithub). Raises ProjectError with a short reason."""
    from github import Auth, Github, GithubException

    gh = Github(base_url=api_url.rstrip("/"), auth=Auth.Token(token) if token else None, timeout=15, retry=None)
    try:
        remote = gh.get_repo(repo)
        try:
            release = remote.get_latest_release()
            last_release, last_release_at = release.tag_name, as_utc(release.published_at or release.created_at)
        except GithubException as exc:
            if exc.status != 404:  # 404: no release yet
                raise
            last_release, last_release_at = None, None
        last_commit_at = None
        try:
            commits = remote.get_commits()
            first = next(iter(commits), None)
            if first is not None:
                last_commit_at = as_utc(first.commit.committer.date if first.commit.committer else None)
        except GithubException as exc:
            if exc.status != 409:  # 409: an empty repository
                raise
        return Figures(remote.stargazers_count, remote.open_issues_count, last_release, last_release_at, last_commit_at)
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        raise ProjectError(f"GitHub answered {exc.status} for {repo}: {message or 'error'}") from None
    except OSError as exc:
        raise ProjectError(f"cannot reach GitHub for {repo}: {exc}") from None
    finally:
        gh.close()


def store_figures(session: Session, project_id: int, figures: Figures | None, error: str | None = None) -> Project:
    """Keep what a fetch returned (or, when it failed, the error beside the last good figures)."""
    project = session.get(Project, project_id)
    if project is None:
        raise ProjectError(f"project #{project_id} is gone")
    if figures is not None:
        project.stars = figures.stars
        project.open_issues = figures.open_issues
        project.last_release = figures.last_release
        project.last_release_at = figures.last_release_at
        project.last_commit_at = figures.last_commit_at
        project.fetched_at = utcnow()
        project.fetch_error = None
    else:
        project.fetch_error = (error or "unknown error")[:300]
    session.add(project)
    session.flush()
    return project


def refresh(db, project_ids: list[int], *, api_url: str, token: str | None) -> dict[int, str | None]:
    """Fetch and store the figures of these projects (no transaction is held while GitHub answers).
    Returns each project's error, or None where the fetch worked."""
    errors: dict[int, str | None] = {}
    for project_id in project_ids:
        with db.session() as session:
            project = session.get(Project, project_id)
            repo = project.repo if project else None
        if repo is None:
            continue
        try:
            figures, error = fetch_figures(repo, api_url=api_url, token=token), None
        except ProjectError as exc:
            figures, error = None, str(exc)
            log.warning("project figures: %s", error)
        with db.session() as session:
            store_figures(session, project_id, figures, error)
        errors[project_id] = error
    return errors
