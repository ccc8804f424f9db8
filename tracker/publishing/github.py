"""GitHub through PyGithub: labels, issues (found again by their hidden marker), comments, files, issue state.

Never twice: PyGithub's own retries are limited to GET/HEAD (a retried POST after a timeout is how duplicates
happen); everything else fails up to the outbox, which retries the whole step and looks for the marker first.
Rate limits (403/429 with `Retry-After`, or `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`) become a
`RetryLater` with the wait the server asked for. PyGithub keeps writes at least `write_interval` apart.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from github import Auth, Github, GithubException, UnknownObjectException
from github.GithubObject import NotSet
from github.NamedUser import NamedUser
from github.Repository import Repository
from urllib3.util.retry import Retry

from tracker.models import as_utc
from tracker.publishing.errors import PermanentError, RetryLater, redact
from tracker.publishing.texts import carries_marker

log = logging.getLogger(__name__)

LABEL_COLORS = {"action-item": "0e8a16", "wish-list": "5319e7", "needs-triage": "d93f0b"}
MEETING_LABEL_COLOR = "c5def5"
SECONDARY_RATE_LIMIT_WAIT = 60.0  # GitHub: "wait at least one minute" when it names no time


@dataclass(frozen=True, slots=True)
class IssueRef:
    number: int
    url: str  # html_url
    title: str = ""
    body: str = ""
    state: str = "open"
    state_reason: str | None = None  # completed / not_planned / reopened
    updated_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class CommentRef:
    id: int
    url: str  # html_url
    issue_number: int


@dataclass(frozen=True, slots=True)
class FileRef:
    path: str
    url: str  # html_url
    sha: str
    changed: bool  # False: the file already had this content, no commit was made


def _issue_ref(issue) -> IssueRef:
    return IssueRef(
        number=issue.number,
        url=issue.html_url,
        title=issue.title or "",
        body=issue.body or "",
        state=issue.state,
        state_reason=issue.state_reason,
        updated_at=as_utc(issue.updated_at),
        closed_at=as_utc(issue.closed_at),
    )


def rate_limit_wait(headers: dict | None, now: float | None = None) -> float | None:
    """The wait a rate-limited response asks for: `Retry-After` (seconds or an HTTP date) first, then the
    `X-RateLimit-Reset` epoch when `X-RateLimit-Remaining` is 0."""
    h = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    now = time.time() if now is None else now
    retry_after = h.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    if h.get("x-ratelimit-remaining") == "0" and h.get("x-ratelimit-reset", "").split(".")[0].isdigit():
        return max(0.0, float(h["x-ratelimit-reset"]) - now) + 1.0  # +1: the reset second itself
    return None


class GithubClient:
    """One PyGithub session for the publisher (write pacing is per session, so keep one per process)."""

    def __init__(
        self,
        token: str,
        api_url: str = "https://api.github.com",
        *,
        timeout: int = 15,
        write_interval: float = 1.0,
        request_interval: float = 0.25,
        get_retries: int = 3,
        backoff_factor: float = 0.5,
    ) -> None:
        self._token = token
        # Retries for idempotent reads only; 5xx and connection errors. Rate limits are not retried here
        # (a long in-request sleep would hold the publisher); they surface as RetryLater with the server's wait.
        retry = Retry(
            total=get_retries,
            connect=get_retries,
            read=get_retries,
            status=get_retries,
            backoff_factor=backoff_factor,
            backoff_jitter=backoff_factor / 2,
            status_forcelist=(500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "HEAD"}),
            raise_on_status=False,
            respect_retry_after_header=True,
            retry_after_max=30,
        )
        self.gh = Github(
            base_url=api_url.rstrip("/"),
            auth=Auth.Token(token),
            timeout=int(timeout),
            retry=retry,
            per_page=100,
            seconds_between_requests=request_interval or None,
            seconds_between_writes=write_interval or None,
        )
        self._repos: dict[str, RepoClient] = {}
        self._login: str | None = None

    @property
    def login(self) -> str:
        """The token's account: only what it wrote can carry wgbot's markers (anyone can type the marker's text)."""
        if self._login is None:
            with self.translate("read the token's user"):
                self._login = self.gh.get_user().login
        return self._login

    def wrote(self, item) -> bool:
        """True when `item` (an issue or comment) was written by the token's account."""
        author = getattr(item, "user", None)
        return author is not None and str(author.login).lower() == self.login.lower()

    def repo(self, full_name: str) -> RepoClient:
        if full_name not in self._repos:
            with self.translate(f"open repository {full_name}"):
                self._repos[full_name] = RepoClient(self, self.gh.get_repo(full_name))
        return self._repos[full_name]

    def close(self) -> None:
        self.gh.close()

    # ---- errors ------------------------------------------------------------------------------------------------

    def check_budget(self) -> None:
        """Before a write: if the last response said the hourly budget is spent, wait for its reset."""
        remaining, _limit = self.gh.requester.rate_limiting
        reset = self.gh.requester.rate_limiting_resettime
        if remaining == 0 and reset and reset > time.time():
            raise RetryLater("GitHub rate limit exhausted", wait=reset - time.time() + 1.0)

    @contextmanager
    def translate(self, action: str) -> Iterator[None]:
        """PyGithub/requests exceptions → RetryLater / PermanentError with one secret-free line."""
        try:
            yield
        except GithubException as exc:
            raise self._from_github(action, exc) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise RetryLater(self._clean(f"{action}: cannot connect to GitHub ({type(exc).__name__})")) from None
        except requests.exceptions.Timeout as exc:
            raise RetryLater(
                self._clean(f"{action}: no answer from GitHub in time ({type(exc).__name__})"), outcome_unknown=True
            ) from None
        except requests.exceptions.RequestException as exc:
            raise RetryLater(
                self._clean(f"{action}: connection to GitHub failed ({type(exc).__name__}: {exc})"),
                outcome_unknown=True,
            ) from None

    def _clean(self, text: str) -> str:
        return redact(text, [self._token])

    def _from_github(self, action: str, exc: GithubException) -> Exception:
        status = exc.status
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message") or exc.message or "").strip()
        details = "; ".join(
            str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e)
            for e in data.get("errors", [])
        )
        text = (
            f"{action}: GitHub answered {status}"
            + (f" {message}" if message else "")
            + (f" ({details})" if details else "")
        )
        text = self._clean(text)
        wait = rate_limit_wait(exc.headers)
        rate_limited = status == 429 or (status == 403 and (wait is not None or "rate limit" in message.lower()))
        if rate_limited:
            return RetryLater(text, wait=wait if wait is not None else SECONDARY_RATE_LIMIT_WAIT)
        if status == 401:
            return PermanentError(text + " — check WGBOT_GITHUB_TOKEN")
        if status >= 500:
            return RetryLater(text, outcome_unknown=True)
        if status in (408, 409):  # timeout; conflict (e.g. a file changed under us: re-read and retry)
            return RetryLater(text)
        return PermanentError(text)


class RepoClient:
    """The operations the publisher needs on one repository."""

    def __init__(self, client: GithubClient, repo: Repository) -> None:
        self.client = client
        self.repo = repo
        self.full_name = repo.full_name
        self.html_url = repo.html_url
        self.default_branch = repo.default_branch
        self._labels: set[str] | None = None

    def blob_url(self, path: str, branch: str | None = None) -> str:
        """Where a file will be on github.com, known before it exists (issues link to the archive)."""
        return f"{self.html_url}/blob/{urllib.parse.quote(branch or self.default_branch)}/{urllib.parse.quote(path)}"

    # ---- labels ------------------------------------------------------------------------------------------------

    def ensure_labels(self, names: list[str]) -> None:
        if self._labels is None:
            with self.client.translate("list labels"):
                self._labels = {label.name.lower() for label in self.repo.get_labels()}
        for name in names:
            if name.lower() in self._labels:
                continue
            color = LABEL_COLORS.get(name, MEETING_LABEL_COLOR)
            description = "Meeting of " + name.split(":", 1)[1] if name.startswith("meeting:") else "Filed by wgbot"
            self.client.check_budget()
            try:
                with self.client.translate(f"create label {name}"):
                    self.repo.create_label(name, color, description)
            except PermanentError as exc:
                if "already_exists" not in str(exc) and "already exists" not in str(exc):
                    raise
            self._labels.add(name.lower())

    # ---- issues ------------------------------------------------------------------------------------------------

    def is_assignable(self, login: str) -> bool:
        """GitHub's answer to "can issues here be assigned to `login`?" (204 yes, 404 no; anything else is an error —
        PyGithub's has_in_assignees would read a 500 as "no")."""
        url = f"{self.repo.url}/assignees/{urllib.parse.quote(login, safe='')}"
        with self.client.translate(f"check assignee {login}"):
            status, headers, body = self.client.gh.requester.requestJson("GET", url)
        if status == 204:
            return True
        if status == 404:
            return False
        exc = GithubException(status, None, headers)
        raise self.client._from_github(f"check assignee {login}", exc)

    def find_issue_by_marker(self, marker: str, since: dt.datetime) -> IssueRef | None:
        """The issue the bot's account wrote with `marker` as its last line, among those updated since `since`."""
        with self.client.translate("look for an issue by its marker"):
            for issue in self.repo.get_issues(state="all", sort="created", direction="desc", since=since):
                if issue.pull_request is None and carries_marker(issue.body, marker) and self.client.wrote(issue):
                    return _issue_ref(issue)
        return None

    def create_issue(self, title: str, body: str, labels: list[str], assignees: list[str]) -> IssueRef:
        self.client.check_budget()
        with self.client.translate("create issue"):
            issue = self.repo.create_issue(title=title, body=body, labels=labels, assignees=assignees)
        return _issue_ref(issue)

    def update_issue(self, number: int, title: str, body: str, labels_to_add: list[str]) -> IssueRef:
        """Replace title and body (when they differ) and add missing labels; state and assignees are the humans'."""
        with self.client.translate(f"read issue #{number}"):
            issue = self.repo.get_issue(number)
            current = {label.name for label in issue.labels}
        missing = [label for label in labels_to_add if label not in current]
        if issue.title != title or (issue.body or "") != body or missing:
            self.client.check_budget()
            with self.client.translate(f"update issue #{number}"):
                issue.edit(title=title, body=body, labels=sorted(current | set(labels_to_add)))
        return _issue_ref(issue)

    def get_issue(self, number: int) -> IssueRef | None:
        """The issue, or None when it is gone (deleted, transferred out of reach)."""
        with self.client.translate(f"read issue #{number}"):
            try:
                return _issue_ref(self.repo.get_issue(number))
            except UnknownObjectException:
                return None

    def open_issues(self, label: str) -> list[IssueRef]:
        with self.client.translate(f"list open {label} issues"):
            return [_issue_ref(i) for i in self.repo.get_issues(state="open", labels=[label]) if i.pull_request is None]

    def issues_with_label(self, label: str, since: dt.datetime | None = None) -> Iterator[IssueRef]:
        """Every issue (open and closed) carrying `label`, updated since `since` if given."""
        with self.client.translate(f"list {label} issues"):
            for issue in self.repo.get_issues(
                state="all", labels=[label], sort="updated", direction="desc", since=since if since else NotSet
            ):
                if issue.pull_request is None:
                    yield _issue_ref(issue)

    # ---- comments ----------------------------------------------------------------------------------------------

    def find_comment_by_marker(self, marker: str, since: dt.datetime) -> CommentRef | None:
        """The bot's comment ending with `marker` on any issue of the repository (open or closed), updated since
        `since`."""
        with self.client.translate("look for a comment by its marker"):
            for comment in self.repo.get_issues_comments(sort="created", direction="desc", since=since):
                if carries_marker(comment.body, marker) and self.client.wrote(comment):
                    number = int(comment.issue_url.rstrip("/").rsplit("/", 1)[1])
                    return CommentRef(comment.id, comment.html_url, number)
        return None

    def create_comment(self, number: int, body: str) -> CommentRef:
        self.client.check_budget()
        with self.client.translate(f"comment on #{number}"):
            issue = self.repo.get_issue(number)
            comment = issue.create_comment(body)
        return CommentRef(comment.id, comment.html_url, number)

    def close_issue(self, number: int, reason: str = "completed") -> IssueRef:
        """Close the issue (a no-op when it is closed already)."""
        with self.client.translate(f"read issue #{number}"):
            issue = self.repo.get_issue(number)
        if issue.state != "closed":
            self.client.check_budget()
            with self.client.translate(f"close issue #{number}"):
                issue.edit(state="closed", state_reason=reason)
        return _issue_ref(issue)

    def set_assignees(self, number: int, logins: list[str]) -> IssueRef:
        """Make `logins` the issue's assignees (a no-op when they are already)."""
        with self.client.translate(f"read issue #{number}"):
            issue = self.repo.get_issue(number)
        if sorted(a.login.lower() for a in issue.assignees) != sorted(login.lower() for login in logins):
            self.client.check_budget()
            with self.client.translate(f"assign issue #{number}"):
                assignees: list[NamedUser | str] = list(logins)
                issue.edit(assignees=assignees)
        return _issue_ref(issue)

    # ---- files -------------------------------------------------------------------------------------------------

    def put_file(self, path: str, content: str, message: str, branch: str | None = None) -> FileRef:
        """Create or replace `path` through the contents API; no commit when it already has this content (which is
        also how a PUT with an unknown outcome is resolved: the next attempt reads the file first)."""
        branch = branch or self.default_branch
        with self.client.translate(f"read {path}"):
            try:
                existing = self.repo.get_contents(path, ref=branch)
            except UnknownObjectException:
                existing = None
        if isinstance(existing, list):
            raise PermanentError(f"{path} is a folder in {self.full_name}, not a file")
        if existing is not None and existing.decoded_content == content.encode("utf-8"):
            return FileRef(path, existing.html_url, existing.sha, changed=False)
        self.client.check_budget()
        with self.client.translate(f"write {path}"):
            if existing is None:
                result = self.repo.create_file(path, message, content, branch=branch)
            else:
                result = self.repo.update_file(path, message, content, existing.sha, branch=branch)
        written = result["content"]
        return FileRef(path, written.html_url or self.blob_url(path, branch), written.sha, changed=True)
