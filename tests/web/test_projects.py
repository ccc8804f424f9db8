"""The group's projects: kept in the tracker, their GitHub figures fetched through PyGithub from a local GitHub and
cached on the row, managed from the command line; a failed fetch keeps the last figures."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.github_server import FakeGithub
from tracker import projects, schedule
from tracker.config import load_settings
from tracker.models import Project

WGBOT = str(Path(sys.executable).with_name("wgbot"))
TOKEN = "ghp_test_token_0123456789"


@pytest.fixture
def github():
    with FakeGithub(token=TOKEN) as fake:
        fake.add_repo("wg/runner-kit", stars=42)
        fake.add_release("wg/runner-kit", "v1.2.0", when=dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp())
        fake.add_commit("wg/runner-kit", "Fix the cache key", when=dt.datetime(2026, 11, 28, tzinfo=dt.UTC).timestamp())
        yield fake


@pytest.fixture
def group(db):
    with db.session() as session:
        return schedule.ensure_group(session, load_settings())


def test_a_project_needs_a_name_and_a_github_repository(db, group):
    with db.session() as session:
        added = projects.add(session, group, "  Runner   kit ", "https://github.com/wg/runner-kit.git", "CI tools")
        assert (added.name, added.repo, added.description) == ("Runner kit", "wg/runner-kit", "CI tools")
        with pytest.raises(projects.ProjectError, match="already a project called"):
            projects.add(session, group, "runner KIT", "wg/other")
        with pytest.raises(projects.ProjectError, match="not a GitHub repository"):
            projects.add(session, group, "Other", "not a repo")
        with pytest.raises(projects.ProjectError, match="no project called"):
            projects.remove(session, group, "nothing")
        projects.remove(session, group, "runner kit")
        assert projects.list_projects(session, group) == []


def test_figures_come_from_github_and_are_kept_on_the_row(db, group, github):
    with db.session() as session:
        project_id = projects.add(session, group, "runner-kit", "wg/runner-kit").id
    github.add_issue("A bug")
    errors = projects.refresh(db, [project_id], api_url=github.api_url, token=TOKEN)
    assert errors == {project_id: None}
    with db.session() as session:
        p = session.get(Project, project_id)
        assert (p.stars, p.last_release, p.fetch_error) == (42, "v1.2.0", None)
        assert p.open_issues == 0  # the issue was filed in wg/meetings, not in this repository
        assert p.last_release_at == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        assert p.last_commit_at == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
        assert p.fetched_at is not None and not projects.stale(p)
    reads = [r.path for r in github.requests]
    assert "/api/v3/repos/wg/runner-kit/releases/latest" in reads and "/api/v3/repos/wg/runner-kit/commits" in reads


def test_a_failed_fetch_keeps_the_last_figures_and_says_why(db, group, github):
    with db.session() as session:
        project_id = projects.add(session, group, "runner-kit", "wg/runner-kit").id
    projects.refresh(db, [project_id], api_url=github.api_url, token=TOKEN)
    with db.session() as session:
        session.get(Project, project_id).repo = "wg/gone"
    errors = projects.refresh(db, [project_id], api_url=github.api_url, token=TOKEN)
    assert "GitHub answered 404 for wg/gone" in errors[project_id]
    with db.session() as session:
        p = session.get(Project, project_id)
        assert p.stars == 42 and "404" in p.fetch_error


def test_a_repository_without_releases_or_commits_has_none(db, group, github):
    github.add_repo("wg/empty", stars=1)
    with db.session() as session:
        project_id = projects.add(session, group, "empty", "wg/empty").id
    assert projects.refresh(db, [project_id], api_url=github.api_url, token=TOKEN) == {project_id: None}
    with db.session() as session:
        p = session.get(Project, project_id)
        assert (p.stars, p.last_release, p.last_commit_at) == (1, None, None)


def _wgbot(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [WGBOT, *args], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200", **env}
    )


def test_wgbot_project_add_list_remove(github, tmp_path):
    env = {"WGBOT_DATA_DIR": str(tmp_path), "WGBOT_GITHUB_API_URL": github.api_url, "WGBOT_GITHUB_TOKEN": TOKEN}
    added = _wgbot("project", "add", "runner-kit", "wg/runner-kit", "Tools for self-hosted runners", env=env)
    assert added.returncode == 0, added.stderr
    assert "added runner-kit (wg/runner-kit)" in added.stdout
    listed = _wgbot("project", "list", env=env)
    assert (
        listed.returncode == 0 and "runner-kit" in listed.stdout and "42" in listed.stdout and "v1.2.0" in listed.stdout
    )
    again = _wgbot("project", "add", "runner-kit", "wg/runner-kit", env=env)
    assert again.returncode == 1 and "already a project called" in again.stderr and "Traceback" not in again.stderr
    removed = _wgbot("project", "remove", "runner-kit", env=env)
    assert removed.returncode == 0 and "removed runner-kit" in removed.stdout
    assert "no projects yet" in _wgbot("project", "list", env=env).stdout
