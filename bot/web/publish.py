"""The static site committed to the group's GitHub repository (`[web] site_branch`/`site_dir`; for GitHub Pages a
`gh-pages` branch with the site at its root), in one commit through the Git Data API.

Done once: only files whose content differs from what the branch holds are sent, so a second run with nothing new
makes no commit, and a run cut short (before the branch moved) is simply done again. Files of the folder that the
export no longer writes are removed. The bot runs it after each published meeting (`[web] publish_site`);
`wgbot site --publish` runs it by hand.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from github import InputGitTreeElement, UnknownObjectException

from bot.web.export import export_site
from tracker.config import Settings
from tracker.db import Database
from tracker.publishing.errors import PermanentError
from tracker.publishing.github import GithubClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SitePublished:
    branch: str
    folder: str
    files: int  # files of the site
    changed: int  # files added or replaced
    removed: int
    commit: str | None  # None: the branch already held this site


def _blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def _site_files(db: Database, settings: Settings, prefix: str) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="wgbot-site-") as tmp:
        export_site(db, tmp, feed_url=settings.calendar.public_url)
        files = {prefix + p.relative_to(tmp).as_posix(): p.read_bytes() for p in Path(tmp).rglob("*") if p.is_file()}
    files[prefix + ".nojekyll"] = b""  # GitHub Pages serves the files as they are
    return files


def publish_site(db: Database, settings: Settings) -> SitePublished:
    """Export the public pages and commit what changed. Raises PermanentError (missing settings, refused token) or
    RetryLater (GitHub unreachable or rate-limited) with a message fit for the user."""
    github = settings.github
    if not github.repo:
        raise PermanentError("WGBOT_GITHUB_REPO is not set (needed to publish the site)")
    if github.token is None or not github.token.get_secret_value():
        raise PermanentError("WGBOT_GITHUB_TOKEN is not set (needed to publish the site)")
    folder = settings.web.site_dir.strip("/")
    prefix = folder + "/" if folder else ""
    files = _site_files(db, settings, prefix)
    client = GithubClient(
        github.token.get_secret_value(),
        github.api_url,
        timeout=settings.publish.timeout_seconds,
        write_interval=0,  # one commit in all: the blobs are not writes anyone sees
        request_interval=0,
    )
    try:
        with client.translate(f"open repository {github.repo}"):
            repo = client.gh.get_repo(github.repo)
            branch = settings.web.site_branch or repo.default_branch
        with client.translate(f"read branch {branch}"):
            try:
                ref = repo.get_git_ref(f"heads/{branch}")
                head = repo.get_git_commit(ref.object.sha)
            except UnknownObjectException:  # a new branch (gh-pages), started from the default branch
                ref = None
                base = repo.get_git_ref(f"heads/{repo.default_branch}")
                head = repo.get_git_commit(base.object.sha)
            tree = repo.get_git_tree(head.tree.sha, recursive=True)
        held = {e.path: e.sha for e in tree.tree if e.type == "blob" and e.path.startswith(prefix)}
        if not prefix and ref is None:
            held = {}  # a new site branch holds the site only
        changed = [(path, data) for path, data in sorted(files.items()) if held.get(path) != _blob_sha(data)]
        removed = sorted(set(held) - set(files)) if prefix or ref is not None else []
        if not changed and not removed:
            log.info("site: %s already holds the %d files of the site", branch, len(files))
            return SitePublished(branch, folder, len(files), 0, 0, None)
        with client.translate("write the site"):
            elements = []
            for path, data in changed:
                blob = repo.create_git_blob(base64.b64encode(data).decode(), "base64")
                elements.append(InputGitTreeElement(path, "100644", "blob", sha=blob.sha))
            elements += [InputGitTreeElement(path, "100644", "blob", sha=None) for path in removed]
            orphan = not prefix and ref is None  # a new branch of its own for the site (gh-pages)
            new_tree = repo.create_git_tree(elements) if orphan else repo.create_git_tree(elements, tree)
            message = f"site: {len(changed)} file(s) updated, {len(removed)} removed (wgbot)"
            commit = repo.create_git_commit(message, new_tree, [] if orphan else [head])
            if ref is None:
                repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
            else:
                ref.edit(commit.sha)
        log.info("site: committed %d changed and %d removed file(s) to %s", len(changed), len(removed), branch)
        return SitePublished(branch, folder, len(files), len(changed), len(removed), commit.sha)
    finally:
        client.close()
