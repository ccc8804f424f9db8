"""The static site committed to the GitHub repository through the Git Data API (a local GitHub): one commit with
what changed, nothing when nothing did, a folder of the default branch or a branch of its own for GitHub Pages."""

from __future__ import annotations

import pytest

from bot.web.publish import publish_site
from tests.fakes.github_server import FakeGithub
from tests.web.sample import PHRASE, UNPUBLISHED_WORDS
from tracker.config import load_settings
from tracker.models import Meeting, MeetingState

TOKEN = "ghp_test_token_0123456789"


@pytest.fixture
def github():
    with FakeGithub(token=TOKEN, repo="wg/meetings") as fake:
        # What the archive already keeps in the repository: never touched by the site.
        fake.repo.files[("main", "meetings/2026.11.26/README.md")] = {"content": b"# minutes", "sha": "a" * 40}
        yield fake


def _settings(github, **web):
    return load_settings(github={"repo": "wg/meetings", "token": TOKEN, "api_url": github.api_url}, web=web)


def _files(github, branch: str) -> dict[str, bytes]:
    return {path: entry["content"] for (b, path), entry in github.repo.files.items() if b == branch}


def test_the_site_goes_into_its_folder_in_one_commit_and_only_once(db, sample, github):
    done = publish_site(db, _settings(github))
    assert done.branch == "main" and done.folder == "site" and done.commit and done.changed == done.files
    files = _files(github, "main")
    assert files["meetings/2026.11.26/README.md"] == b"# minutes"
    assert PHRASE.encode() in files["site/meetings/2026-11-26/index.html"]
    assert "site/index.html" in files and "site/search-index.js" in files and "site/.nojekyll" in files
    assert not any(UNPUBLISHED_WORDS.encode() in content for content in files.values())
    assert [c["sha"] for c in github.repo.commits] == [done.commit]

    again = publish_site(db, _settings(github))
    assert again.commit is None and again.changed == 0 and len(github.repo.commits) == 1


def test_a_newly_published_meeting_commits_only_what_changed(db, sample, github):
    first = publish_site(db, _settings(github))
    with db.session() as session:
        session.get(Meeting, sample.unpublished).state = MeetingState.published
    second = publish_site(db, _settings(github))
    assert second.commit and 0 < second.changed < first.changed and second.removed == 0
    assert UNPUBLISHED_WORDS.encode() in _files(github, "main")["site/meetings/2026-11-12/index.html"]
    assert len(github.repo.commits) == 2


def test_github_pages_gets_a_branch_of_its_own_with_the_site_at_its_root(db, sample, github):
    done = publish_site(db, _settings(github, site_branch="gh-pages", site_dir=""))
    assert done.branch == "gh-pages" and done.commit
    pages = _files(github, "gh-pages")
    assert "index.html" in pages and "meetings/2026-11-26/index.html" in pages
    assert "meetings/2026.11.26/README.md" not in pages  # the site alone
    assert _files(github, "main") == {"meetings/2026.11.26/README.md": b"# minutes"}
    assert publish_site(db, _settings(github, site_branch="gh-pages", site_dir="")).commit is None


def test_publishing_without_a_repository_or_token_says_which_setting_is_missing(db, sample):
    from tracker.publishing.errors import PermanentError

    with pytest.raises(PermanentError, match="WGBOT_GITHUB_REPO is not set"):
        publish_site(db, load_settings())
    with pytest.raises(PermanentError, match="WGBOT_GITHUB_TOKEN is not set"):
        publish_site(db, load_settings(github={"repo": "wg/meetings"}))
