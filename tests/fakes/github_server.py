"""A local GitHub REST API (the subset wgbot uses), laid out like GitHub Enterprise: the API under `/api/v3`, web
pages at the root. Real JSON shapes (PyGithub follows the `url` fields back here), `Link` pagination, the
`X-RateLimit-*` headers, GitHub's error bodies, and fault injection from tests/fakes/fault_http.py.

Routes: GET /repos/{o}/{r}; labels (list, get, create); GET assignees/{login} (204/404); issues (list with state,
labels, since, sort, direction, per_page, page; create; get; edit); issue comments (per issue: list, create;
per repository: list); contents (get, create/update with `sha`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from tests.fakes.fault_http import FakeServer, Request, Response, RouteNotFound, link_header

DOCS = "https://docs.github.com/rest"
HUMAN_LOGIN = "octocat"  # who writes the issues and comments a test adds by hand


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@dataclass
class RepoState:
    owner: str
    name: str
    default_branch: str = "main"
    labels: dict[str, dict] = field(default_factory=dict)  # lower-case name → label
    issues: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)
    files: dict[tuple[str, str], dict] = field(default_factory=dict)  # (branch, path) → {"content": bytes, "sha"}
    commits: list[dict] = field(default_factory=list)  # {"path", "branch", "message", "sha"}
    stars: int = 0
    releases: list[dict] = field(default_factory=list)  # {"tag_name", "_published"}, oldest first
    # The Git Data API (blobs, trees, commits, refs): one commit for many files. Trees are {path: blob sha}.
    heads: dict[str, str] = field(default_factory=dict)  # branch → head commit sha
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)
    git_commits: dict[str, dict] = field(default_factory=dict)  # sha → {"tree", "parents", "message"}


class FakeGithub(FakeServer):
    def __init__(
        self, token: str = "ghp_test_token_0123456789", repo: str = "wg/meetings", assignable: tuple[str, ...] = ()
    ) -> None:
        super().__init__()
        self.token = token
        owner, name = repo.split("/")
        self.repos: dict[str, RepoState] = {repo.lower(): RepoState(owner, name)}
        self.assignable = {login.lower() for login in assignable}
        self.ids = itertools.count(1000)
        self.bot_login = "wgbot[bot]"
        self.rate_remaining = 5000
        self.can_push = True  # the token's write access (what `wgbot doctor` checks)

    # ---- addresses -----------------------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.origin + "/api/v3"

    def _api(self, repo: RepoState, tail: str = "") -> str:
        return f"{self.api_url}/repos/{repo.owner}/{repo.name}{tail}"

    def _html(self, repo: RepoState, tail: str = "") -> str:
        return f"{self.origin}/{repo.owner}/{repo.name}{tail}"

    # ---- inspection helpers for tests ----------------------------------------------------------------------------

    @property
    def repo(self) -> RepoState:
        return next(iter(self.repos.values()))

    def issue(self, number: int) -> dict:
        return next(i for i in self.repo.issues if i["number"] == number)

    def issues_with_marker(self, marker: str) -> list[dict]:
        return [i for i in self.repo.issues if marker in (i["body"] or "")]

    def add_issue(
        self,
        title: str,
        body: str = "",
        labels: tuple[str, ...] = (),
        state: str = "open",
        author: str = HUMAN_LOGIN,
    ) -> dict:
        """An issue someone wrote on GitHub (by default a person, not the token's account)."""
        with self.lock:
            for name in labels:
                self._label(self.repo, name, created_by_issue=True)
            issue = self._new_issue(self.repo, title, body, list(labels), [], author=author)
            if state == "closed":
                self.set_state(issue["number"], "closed")
            return issue

    def add_repo(self, full_name: str, stars: int = 0) -> RepoState:
        """Another repository (a project the group follows), with `stars` stargazers."""
        owner, name = full_name.split("/")
        with self.lock:
            repo = self.repos[full_name.lower()] = RepoState(owner, name, stars=stars)
            return repo

    def add_release(self, full_name: str, tag: str, when: float | None = None) -> None:
        with self.lock:
            self.repos[full_name.lower()].releases.append({"tag_name": tag, "_published": when or time.time()})

    def add_commit(self, full_name: str, message: str, when: float | None = None) -> None:
        with self.lock:
            repo = self.repos[full_name.lower()]
            sha = hashlib.sha1(f"{message}{len(repo.commits)}".encode()).hexdigest()
            repo.commits.append(
                {"path": "", "branch": repo.default_branch, "message": message, "sha": sha, "time": when}
            )

    def set_state(self, number: int, state: str, reason: str | None = None) -> None:
        with self.lock:
            issue = self.issue(number)
            now = time.time()
            issue["state"] = state
            issue["state_reason"] = reason or ("completed" if state == "closed" else "reopened")
            issue["closed_at"] = iso(now) if state == "closed" else None
            issue["updated_at"] = iso(now)
            issue["_updated"] = now

    def file_text(self, path: str, branch: str | None = None) -> str | None:
        entry = self.repo.files.get((branch or self.repo.default_branch, path))
        return entry["content"].decode() if entry else None

    def writes(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method != "GET"]

    # ---- protocol ------------------------------------------------------------------------------------------------

    def common_headers(self, request: Request) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": str(5000 - self.rate_remaining),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Media-Type": "github.v3; format=json",
        }

    def check_auth(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return Response(401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"})
        return None

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def add_comment(self, number: int, body: str, author: str = HUMAN_LOGIN) -> dict:
        """A comment someone wrote on GitHub (by default a person, not the token's account)."""
        with self.lock:
            return self._new_comment(self.repo, self.issue(number), body, author)

    def handle(self, request: Request) -> Response:
        path = request.path
        if request.method == "GET" and path == "/api/v3/user":
            return Response(200, self._user(self.bot_login))  # the token's account
        if not path.startswith("/api/v3/repos/"):
            raise RouteNotFound
        m = re.fullmatch(r"/api/v3/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m:
            raise RouteNotFound
        repo = self.repos.get(f"{m.group(1)}/{m.group(2)}".lower())
        if repo is None:
            raise RouteNotFound
        tail = m.group(3) or ""
        method = request.method
        routes = [
            ("GET", r"", self._get_repo),
            ("GET", r"/releases/latest", self._latest_release),
            ("GET", r"/git/ref/heads/(?P<branch>.+)", self._get_ref),
            ("POST", r"/git/refs", self._create_ref),
            ("PATCH", r"/git/refs/heads/(?P<branch>.+)", self._update_ref),
            ("GET", r"/git/commits/(?P<sha>[0-9a-f]+)", self._get_git_commit),
            ("POST", r"/git/commits", self._create_git_commit),
            ("GET", r"/git/trees/(?P<sha>[0-9a-f]+)", self._get_tree),
            ("POST", r"/git/trees", self._create_tree),
            ("POST", r"/git/blobs", self._create_blob),
            ("GET", r"/commits", self._list_commits),
            ("GET", r"/labels", self._list_labels),
            ("POST", r"/labels", self._create_label),
            ("GET", r"/labels/(?P<name>.+)", self._get_label),
            ("GET", r"/assignees/(?P<login>[^/]+)", self._check_assignee),
            ("GET", r"/issues", self._list_issues),
            ("POST", r"/issues", self._create_issue),
            ("GET", r"/issues/comments", self._list_repo_comments),
            ("GET", r"/issues/(?P<number>\d+)", self._get_issue),
            ("PATCH", r"/issues/(?P<number>\d+)", self._edit_issue),
            ("GET", r"/issues/(?P<number>\d+)/comments", self._list_comments),
            ("POST", r"/issues/(?P<number>\d+)/comments", self._create_comment),
            ("GET", r"/contents/(?P<path>.+)", self._get_contents),
            ("PUT", r"/contents/(?P<path>.+)", self._put_contents),
        ]
        for route_method, pattern, fn in routes:
            found = re.fullmatch(pattern, tail)
            if found and route_method == method:
                return fn(repo, request, **found.groupdict())
        raise RouteNotFound

    # ---- JSON shapes ---------------------------------------------------------------------------------------------

    def _user(self, login: str) -> dict:
        return {
            "login": login,
            "id": abs(hash(login)) % 10_000_000,
            "node_id": f"U_{login}",
            "type": "User",
            "url": f"{self.api_url}/users/{urllib.parse.quote(login)}",
            "html_url": f"{self.origin}/{login}",
            "avatar_url": f"{self.origin}/avatars/{login}",
            "site_admin": False,
        }

    def _repo_json(self, repo: RepoState) -> dict:
        return {
            "id": 1,
            "node_id": "R_1",
            "name": repo.name,
            "full_name": f"{repo.owner}/{repo.name}",
            "owner": self._user(repo.owner),
            "private": False,
            "html_url": self._html(repo),
            "description": "meetings",
            "fork": False,
            "url": self._api(repo),
            "issues_url": self._api(repo, "/issues{/number}"),
            "labels_url": self._api(repo, "/labels{/name}"),
            "contents_url": self._api(repo, "/contents/{+path}"),
            "default_branch": repo.default_branch,
            "has_issues": True,
            "open_issues_count": sum(i["state"] == "open" for i in repo.issues),
            "stargazers_count": repo.stars,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "pushed_at": "2024-01-01T00:00:00Z",
            "permissions": {"admin": False, "maintain": False, "push": self.can_push, "triage": True, "pull": True},
        }

    def _label(
        self,
        repo: RepoState,
        name: str,
        color: str = "ededed",
        description: str | None = None,
        created_by_issue: bool = False,
    ) -> dict:
        key = name.lower()
        if key not in repo.labels:
            label_id = next(self.ids)
            repo.labels[key] = {
                "id": label_id,
                "node_id": f"LA_{label_id}",
                "url": self._api(repo, f"/labels/{urllib.parse.quote(name)}"),
                "name": name,
                "color": color,
                "default": False,
                "description": description,
                "_created_by_issue": created_by_issue,
            }
        return repo.labels[key]

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _new_issue(
        self,
        repo: RepoState,
        title: str,
        body: str | None,
        labels: list[str],
        assignees: list[str],
        author: str | None = None,
    ) -> dict:
        number = len(repo.issues) + 1
        now = time.time()
        issue_id = next(self.ids)
        issue = {
            "id": issue_id,
            "node_id": f"I_{issue_id}",
            "url": self._api(repo, f"/issues/{number}"),
            "repository_url": self._api(repo),
            "labels_url": self._api(repo, f"/issues/{number}/labels{{/name}}"),
            "comments_url": self._api(repo, f"/issues/{number}/comments"),
            "events_url": self._api(repo, f"/issues/{number}/events"),
            "html_url": self._html(repo, f"/issues/{number}"),
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": title,
            "body": body,
            "user": self._user(author or self.bot_login),
            "labels": [],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None,
            "created_at": iso(now),
            "updated_at": iso(now),
            "closed_by": None,
            "author_association": "NONE",
            "_created": now,
            "_updated": now,
            "_labels": list(labels),
            "_assignees": list(assignees),
        }
        repo.issues.append(issue)
        return issue

    def _issue_json(self, repo: RepoState, issue: dict) -> dict:
        data = self._public(issue)
        data["labels"] = [self._public(repo.labels[n.lower()]) for n in issue["_labels"] if n.lower() in repo.labels]
        data["assignees"] = [self._user(login) for login in issue["_assignees"]]
        data["assignee"] = data["assignees"][0] if data["assignees"] else None
        data["comments"] = sum(c["_issue"] == issue["number"] for c in repo.comments)
        return data

    def _comment_json(self, comment: dict) -> dict:
        return self._public(comment)

    # ---- routes --------------------------------------------------------------------------------------------------

    def _get_repo(self, repo: RepoState, request: Request) -> Response:
        return Response(200, self._repo_json(repo))

    def _latest_release(self, repo: RepoState, request: Request) -> Response:
        if not repo.releases:
            return Response(404, {"message": "Not Found", "documentation_url": f"{DOCS}/releases/releases"})
        release = repo.releases[-1]
        return Response(
            200,
            {
                "id": 1,
                "tag_name": release["tag_name"],
                "name": release["tag_name"],
                "url": self._api(repo, "/releases/1"),
                "html_url": self._html(repo, f"/releases/tag/{release['tag_name']}"),
                "draft": False,
                "prerelease": False,
                "created_at": iso(release["_published"]),
                "published_at": iso(release["_published"]),
            },
        )

    def _list_commits(self, repo: RepoState, request: Request) -> Response:
        if not repo.commits:
            return Response(409, {"message": "Git Repository is empty.", "documentation_url": f"{DOCS}/commits"})
        items = []
        for entry in reversed(repo.commits):  # newest first, as GitHub lists them
            when = iso(entry.get("time") or time.time())
            person = {"name": "wgbot", "email": "wgbot@example.org", "date": when}
            items.append(
                {
                    "sha": entry["sha"],
                    "url": self._api(repo, f"/commits/{entry['sha']}"),
                    "html_url": self._html(repo, f"/commit/{entry['sha']}"),
                    "commit": {"message": entry["message"], "author": person, "committer": person},
                }
            )
        return self._paginate(request, items, self._api(repo, "/commits"))

    # ---- Git Data API ----------------------------------------------------------------------------------------------

    def _branch_tree(self, repo: RepoState, branch: str) -> str:
        files = {p: e["sha"] for (b, p), e in repo.files.items() if b == branch}
        for (b, _path), e in repo.files.items():
            if b == branch:
                repo.blobs.setdefault(e["sha"], e["content"])
        sha = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
        repo.trees[sha] = files
        return sha

    def _head(self, repo: RepoState, branch: str) -> str | None:
        if branch in repo.heads:
            return repo.heads[branch]
        if branch != repo.default_branch and not any(b == branch for b, _ in repo.files):
            return None
        tree = self._branch_tree(repo, branch)
        sha = hashlib.sha1(f"head {branch} {tree}".encode()).hexdigest()
        repo.git_commits[sha] = {"tree": tree, "parents": [], "message": "files written through the contents API"}
        repo.heads[branch] = sha
        return sha

    def _ref_json(self, repo: RepoState, branch: str) -> dict:
        sha = repo.heads[branch]
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": f"REF_{branch}",
            "url": self._api(repo, f"/git/refs/heads/{branch}"),
            "object": {"type": "commit", "sha": sha, "url": self._api(repo, f"/git/commits/{sha}")},
        }

    def _checkout(self, repo: RepoState, branch: str, commit_sha: str) -> None:
        """The branch's files become the commit's tree (what the contents API then reads)."""
        tree = repo.trees[repo.git_commits[commit_sha]["tree"]]
        for key in [k for k in repo.files if k[0] == branch]:
            del repo.files[key]
        for path, blob in tree.items():
            repo.files[(branch, path)] = {"content": repo.blobs[blob], "sha": blob}
        repo.heads[branch] = commit_sha
        repo.commits.append(
            {"path": "", "branch": branch, "message": repo.git_commits[commit_sha]["message"], "sha": commit_sha}
        )

    def _get_ref(self, repo: RepoState, request: Request, branch: str) -> Response:
        if self._head(repo, branch) is None:
            return self.not_found(request)
        return Response(200, self._ref_json(repo, branch))

    def _create_ref(self, repo: RepoState, request: Request) -> Response:
        data = request.json()
        branch = data["ref"].removeprefix("refs/heads/")
        if self._head(repo, branch) is not None:
            return Response(422, {"message": "Reference already exists", "documentation_url": DOCS})
        if data["sha"] not in repo.git_commits:
            return Response(422, {"message": "Object does not exist", "documentation_url": DOCS})
        self._checkout(repo, branch, data["sha"])
        return Response(201, self._ref_json(repo, branch))

    def _update_ref(self, repo: RepoState, request: Request, branch: str) -> Response:
        data = request.json()
        head = self._head(repo, branch)
        commit = repo.git_commits.get(data["sha"])
        if head is None or commit is None:
            return self.not_found(request)
        if head not in commit["parents"] and not data.get("force"):
            return Response(422, {"message": "Update is not a fast forward", "documentation_url": DOCS})
        self._checkout(repo, branch, data["sha"])
        return Response(200, self._ref_json(repo, branch))

    def _git_commit_json(self, repo: RepoState, sha: str) -> dict:
        commit = repo.git_commits[sha]
        person = {"name": "wgbot", "email": "wgbot@example.org", "date": iso(time.time())}
        return {
            "sha": sha,
            "node_id": f"C_{sha[:8]}",
            "url": self._api(repo, f"/git/commits/{sha}"),
            "html_url": self._html(repo, f"/commit/{sha}"),
            "message": commit["message"],
            "author": person,
            "committer": person,
            "tree": {"sha": commit["tree"], "url": self._api(repo, f"/git/trees/{commit['tree']}")},
            "parents": [{"sha": p, "url": self._api(repo, f"/git/commits/{p}")} for p in commit["parents"]],
        }

    def _get_git_commit(self, repo: RepoState, request: Request, sha: str) -> Response:
        if sha not in repo.git_commits:
            return self.not_found(request)
        return Response(200, self._git_commit_json(repo, sha))

    def _create_git_commit(self, repo: RepoState, request: Request) -> Response:
        data = request.json()
        if data.get("tree") not in repo.trees:
            return Response(422, {"message": "Tree SHA does not exist", "documentation_url": DOCS})
        sha = hashlib.sha1(f"{data['tree']}{data.get('parents')}{data['message']}{time.time()}".encode()).hexdigest()
        repo.git_commits[sha] = {
            "tree": data["tree"],
            "parents": list(data.get("parents") or []),
            "message": data["message"],
        }
        return Response(201, self._git_commit_json(repo, sha))

    def _tree_json(self, repo: RepoState, sha: str) -> dict:
        entries = [
            {"path": path, "mode": "100644", "type": "blob", "sha": blob, "size": len(repo.blobs.get(blob, b"")),
             "url": self._api(repo, f"/git/blobs/{blob}")}
            for path, blob in sorted(repo.trees[sha].items())
        ]  # fmt: skip
        return {"sha": sha, "url": self._api(repo, f"/git/trees/{sha}"), "tree": entries, "truncated": False}

    def _get_tree(self, repo: RepoState, request: Request, sha: str) -> Response:
        if sha not in repo.trees:
            return self.not_found(request)
        return Response(200, self._tree_json(repo, sha))

    def _create_tree(self, repo: RepoState, request: Request) -> Response:
        data = request.json()
        files = dict(repo.trees.get(data.get("base_tree") or "", {}))
        for entry in data["tree"]:
            if entry.get("content") is not None:
                content = entry["content"].encode()
                blob = self.blob_sha(content)
                repo.blobs[blob] = content
                files[entry["path"]] = blob
            elif entry.get("sha") is None:
                files.pop(entry["path"], None)
            elif entry["sha"] not in repo.blobs:
                return Response(422, {"message": "Invalid tree info", "documentation_url": DOCS})
            else:
                files[entry["path"]] = entry["sha"]
        sha = hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()
        repo.trees[sha] = files
        return Response(201, self._tree_json(repo, sha))

    def _create_blob(self, repo: RepoState, request: Request) -> Response:
        data = request.json()
        content = base64.b64decode(data["content"]) if data.get("encoding") == "base64" else data["content"].encode()
        sha = self.blob_sha(content)
        repo.blobs[sha] = content
        return Response(201, {"sha": sha, "url": self._api(repo, f"/git/blobs/{sha}")})

    def _paginate(self, request: Request, items: list, url: str) -> Response:
        per_page = max(1, min(100, int(request.arg("per_page", "30"))))
        page = max(1, int(request.arg("page", "1")))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        link = link_header(url, request.query, page, last)
        if link:
            headers["Link"] = link
        return Response(200, chunk, headers)

    def _list_labels(self, repo: RepoState, request: Request) -> Response:
        labels = [self._public(label) for label in repo.labels.values()]
        return self._paginate(request, labels, self._api(repo, "/labels"))

    def _get_label(self, repo: RepoState, request: Request, name: str) -> Response:
        label = repo.labels.get(name.lower())
        return Response(200, self._public(label)) if label else self.not_found(request)

    def _create_label(self, repo: RepoState, request: Request) -> Response:
        data = request.json()
        name = data.get("name", "")
        if not name:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Label", "code": "missing_field", "field": "name"}],
                },
            )
        if name.lower() in repo.labels:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": DOCS,
                    "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                },
            )
        label = self._label(repo, name, data.get("color", "ededed"), data.get("description"))
        return Response(201, self._public(label), {"Location": label["url"]})

    def _check_assignee(self, repo: RepoState, request: Request, login: str) -> Response:
        if login.lower() in self.assignable:
            return Response(204, None)
        return self.not_found(request)

    def _list_issues(self, repo: RepoState, request: Request) -> Response:
        state = request.arg("state", "open")
        labels = [n.strip().lower() for n in (request.arg("labels") or "").split(",") if n.strip()]
        since = request.arg("since")
        sort = request.arg("sort", "created")
        direction = request.arg("direction", "desc")
        items = list(repo.issues)
        if state != "all":
            items = [i for i in items if i["state"] == state]
        if labels:
            items = [i for i in items if set(labels) <= {n.lower() for n in i["_labels"]}]
        if since:
            cutoff = parse_iso(since)
            items = [i for i in items if i["_updated"] >= cutoff - 0.999]  # second resolution, like GitHub
        key = {
            "created": lambda i: (i["_created"], i["number"]),
            "updated": lambda i: (i["_updated"], i["number"]),
            "comments": lambda i: i["comments"],
        }.get(sort, lambda i: i["_created"])
        items.sort(key=key, reverse=direction == "desc")
        return self._paginate(request, [self._issue_json(repo, i) for i in items], self._api(repo, "/issues"))

    def _create_issue(self, repo: RepoState, request: Request) -> Response:
        data = request.json()
        title = data.get("title")
        if not title:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                },
            )
        if len(title) > 256:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "Issue",
                            "code": "custom",
                            "field": "title",
                            "message": "title is too long (maximum is 256 characters)",
                        }
                    ],
                },
            )
        assignees = list(data.get("assignees") or ([] if not data.get("assignee") else [data["assignee"]]))
        for login in assignees:
            if login.lower() not in self.assignable:
                return Response(
                    422,
                    {
                        "message": "Validation Failed",
                        "documentation_url": DOCS,
                        "errors": [{"value": login, "resource": "Issue", "field": "assignees", "code": "invalid"}],
                    },
                )
        labels = list(data.get("labels") or [])
        for name in labels:  # GitHub creates unknown labels on the fly (grey, no description)
            self._label(repo, name, created_by_issue=True)
        issue = self._new_issue(repo, title, data.get("body"), labels, assignees)
        return Response(201, self._issue_json(repo, issue), {"Location": issue["url"]})

    def _find_issue(self, repo: RepoState, number: str) -> dict | None:
        return next((i for i in repo.issues if i["number"] == int(number)), None)

    def _get_issue(self, repo: RepoState, request: Request, number: str) -> Response:
        issue = self._find_issue(repo, number)
        return Response(200, self._issue_json(repo, issue)) if issue else self.not_found(request)

    def _edit_issue(self, repo: RepoState, request: Request, number: str) -> Response:
        issue = self._find_issue(repo, number)
        if issue is None:
            return self.not_found(request)
        data = request.json()
        for field_name in ("title", "body"):
            if field_name in data:
                issue[field_name] = data[field_name]
        if "labels" in data:
            for name in data["labels"]:
                self._label(repo, name, created_by_issue=True)
            issue["_labels"] = list(data["labels"])
        if "assignees" in data:
            issue["_assignees"] = [a for a in data["assignees"] if a.lower() in self.assignable]
        if "state" in data and data["state"] != issue["state"]:
            self.set_state(issue["number"], data["state"], data.get("state_reason"))
        now = time.time()
        issue["_updated"] = now
        issue["updated_at"] = iso(now)
        return Response(200, self._issue_json(repo, issue))

    def _list_comments(self, repo: RepoState, request: Request, number: str) -> Response:
        if self._find_issue(repo, number) is None:
            return self.not_found(request)
        items = [c for c in repo.comments if c["_issue"] == int(number)]
        if request.arg("since"):
            cutoff = parse_iso(request.arg("since"))
            items = [c for c in items if c["_updated"] >= cutoff - 0.999]
        return self._paginate(
            request, [self._comment_json(c) for c in items], self._api(repo, f"/issues/{number}/comments")
        )

    def _list_repo_comments(self, repo: RepoState, request: Request) -> Response:
        items = list(repo.comments)
        if request.arg("since"):
            cutoff = parse_iso(request.arg("since"))
            items = [c for c in items if c["_updated"] >= cutoff - 0.999]
        items.sort(key=lambda c: (c["_created"], c["id"]), reverse=request.arg("direction", "asc") == "desc")
        return self._paginate(request, [self._comment_json(c) for c in items], self._api(repo, "/issues/comments"))

    def _create_comment(self, repo: RepoState, request: Request, number: str) -> Response:
        issue = self._find_issue(repo, number)
        if issue is None:
            return self.not_found(request)
        body = request.json().get("body")
        if not body:
            return Response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
                },
            )
        comment = self._new_comment(repo, issue, body, self.bot_login)
        return Response(201, self._comment_json(comment), {"Location": comment["url"]})

    def _new_comment(self, repo: RepoState, issue: dict, body: str, author: str) -> dict:
        number = issue["number"]
        now = time.time()
        comment_id = next(self.ids)
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": self._api(repo, f"/issues/comments/{comment_id}"),
            "html_url": self._html(repo, f"/issues/{number}#issuecomment-{comment_id}"),
            "issue_url": self._api(repo, f"/issues/{number}"),
            "body": body,
            "user": self._user(author),
            "created_at": iso(now),
            "updated_at": iso(now),
            "author_association": "NONE",
            "_issue": int(number),
            "_created": now,
            "_updated": now,
        }
        repo.comments.append(comment)
        issue["_updated"] = now
        issue["updated_at"] = iso(now)
        return comment

    # ---- contents ------------------------------------------------------------------------------------------------

    @staticmethod
    def blob_sha(content: bytes) -> str:
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    def _content_json(self, repo: RepoState, path: str, branch: str, entry: dict, with_content: bool = True) -> dict:
        data = {
            "type": "file",
            "encoding": "base64",
            "size": len(entry["content"]),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": entry["sha"],
            "url": self._api(repo, f"/contents/{urllib.parse.quote(path)}?ref={branch}"),
            "git_url": self._api(repo, f"/git/blobs/{entry['sha']}"),
            "html_url": self._html(repo, f"/blob/{branch}/{urllib.parse.quote(path)}"),
            "download_url": f"{self.origin}/raw/{repo.owner}/{repo.name}/{branch}/{urllib.parse.quote(path)}",
        }
        data["_links"] = {"self": data["url"], "git": data["git_url"], "html": data["html_url"]}
        if with_content:
            encoded = base64.b64encode(entry["content"]).decode()
            data["content"] = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
        return data

    def _get_contents(self, repo: RepoState, request: Request, path: str) -> Response:
        branch = request.arg("ref") or repo.default_branch
        entry = repo.files.get((branch, path))
        if entry is None:
            if any(b == branch and p.startswith(path.rstrip("/") + "/") for b, p in repo.files):
                return Response(
                    200,
                    [
                        self._content_json(repo, p, b, e, with_content=False)
                        for (b, p), e in repo.files.items()
                        if b == branch and p.startswith(path.rstrip("/") + "/")
                    ],
                )
            return self.not_found(request)
        return Response(200, self._content_json(repo, path, branch, entry))

    def _put_contents(self, repo: RepoState, request: Request, path: str) -> Response:
        data = request.json()
        branch = data.get("branch") or repo.default_branch
        if not data.get("message") or "content" not in data:
            return Response(
                422, {"message": 'Invalid request.\n\n"message" and "content" are required.', "documentation_url": DOCS}
            )
        content = base64.b64decode(data["content"])
        existing = repo.files.get((branch, path))
        if existing is not None and not data.get("sha"):
            return Response(
                422,
                {"message": 'Invalid request.\n\n"sha" wasn\'t supplied.', "documentation_url": DOCS, "status": "422"},
            )
        if existing is not None and data["sha"] != existing["sha"]:
            return Response(
                409, {"message": f"{path} does not match {data['sha']}", "documentation_url": DOCS, "status": "409"}
            )
        if existing is None and data.get("sha"):
            return Response(
                422, {"message": "Invalid request.\n\nsha does not match any file", "documentation_url": DOCS}
            )
        entry = {"content": content, "sha": self.blob_sha(content)}
        repo.files[(branch, path)] = entry
        commit_sha = hashlib.sha1(f"{path}{time.time()}{len(repo.commits)}".encode()).hexdigest()
        repo.commits.append({"path": path, "branch": branch, "message": data["message"], "sha": commit_sha})
        repo.heads.pop(branch, None)  # the branch moved on outside the Git Data API: its tree is read from the files
        now = iso(time.time())
        commit = {
            "sha": commit_sha,
            "node_id": f"C_{commit_sha[:8]}",
            "url": self._api(repo, f"/git/commits/{commit_sha}"),
            "html_url": self._html(repo, f"/commit/{commit_sha}"),
            "message": data["message"],
            "author": {"name": "wgbot", "email": "wgbot@example.org", "date": now},
            "committer": {"name": "wgbot", "email": "wgbot@example.org", "date": now},
            "tree": {"sha": "0" * 40, "url": self._api(repo, f"/git/trees/{'0' * 40}")},
            "parents": [],
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None},
        }
        return Response(
            201 if existing is None else 200,
            {"content": self._content_json(repo, path, branch, entry, with_content=False), "commit": commit},
        )
