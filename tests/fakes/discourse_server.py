"""A local Discourse API (the subset wgbot uses), with Discourse's JSON shapes and errors:

- `Api-Key` / `Api-Username` headers (403 `invalid_access` otherwise);
- POST /posts.json {topic_id, raw}: the post; 422 when `raw` is over `max_post_length` (32,000) or when it would be
  the user's 4th consecutive reply (unless staff or the topic owner);
- PUT /posts/{id}.json {post: {raw}}: {"post": …}; GET /posts/{id}.json: the post with `raw`;
- GET /t/{id}.json: the topic with `post_stream.posts` (first 20, cooked only) and `post_stream.stream` (all ids);
- GET /t/{id}/posts.json?post_ids[]=…&include_raw=true: those posts (with `raw` when asked);
- 429 faults with `Retry-After` and/or `extras.wait_seconds` (see tests/fakes/fault_http.py).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
import time

from tests.fakes.fault_http import FakeServer, Request, Response, RouteNotFound

MAX_POST_LENGTH = 32_000
MAX_CONSECUTIVE_REPLIES = 3


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def rate_limited(retry_after: str | None = "1", wait_seconds: int | None = 1) -> dict:
    """Keyword arguments for `fault(...)`: Discourse's 429, with either or both ways of saying how long to wait."""
    body = {
        "errors": ["You’ve performed this action too many times. Please wait a few seconds before trying again."],
        "error_type": "rate_limit",
    }
    if wait_seconds is not None:
        body["extras"] = {"wait_seconds": wait_seconds, "time_left": f"{wait_seconds} seconds"}
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return {"status": 429, "body": body, "headers": headers}


class FakeDiscourse(FakeServer):
    def __init__(self, api_key: str = "discourse_key_0123456789", username: str = "wgbot", staff: bool = False) -> None:
        super().__init__()
        self.api_key = api_key
        self.username = username
        self.staff = staff
        self.ids = itertools.count(500)
        self.topics: dict[int, dict] = {}
        self.posts: dict[int, dict] = {}

    # ---- setup and inspection ------------------------------------------------------------------------------------

    def add_topic(
        self, topic_id: int, title: str = "Working group meetings", owner: str = "organizer", replies: int = 0
    ) -> dict:
        with self.lock:
            self.topics[topic_id] = {
                "id": topic_id,
                "title": title,
                "slug": re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"),
                "owner": owner,
                "post_ids": [],
            }
            self._add_post(topic_id, owner, f"# {title}\n\nMinutes of each call are posted below.")
            for i in range(replies):
                self._add_post(topic_id, f"member{i % 3}", f"An earlier reply, number {i + 1}.")
            return self.topics[topic_id]

    def posts_in(self, topic_id: int, username: str | None = None) -> list[dict]:
        with self.lock:
            posts = [self.posts[i] for i in self.topics[topic_id]["post_ids"]]
        return [p for p in posts if username is None or p["username"] == username]

    def posts_with_marker(self, marker: str) -> list[dict]:
        with self.lock:
            return [p for p in self.posts.values() if marker in p["raw"]]

    # ---- protocol ------------------------------------------------------------------------------------------------

    def check_auth(self, request: Request) -> Response | None:
        if request.headers.get("api-key") != self.api_key or request.headers.get("api-username") != self.username:
            return Response(
                403,
                {
                    "errors": [
                        "You are not permitted to view the requested resource. The API username or key is invalid."
                    ],
                    "error_type": "invalid_access",
                },
            )
        return None

    def not_found(self, request: Request) -> Response:
        return Response(
            404, {"errors": ["The requested URL or resource could not be found."], "error_type": "not_found"}
        )

    def handle(self, request: Request) -> Response:
        routes = [
            ("POST", r"/posts\.json", self._create_post),
            ("PUT", r"/posts/(?P<post_id>\d+)\.json", self._update_post),
            ("GET", r"/posts/(?P<post_id>\d+)\.json", self._get_post),
            ("GET", r"/t/(?P<topic_id>\d+)\.json", self._get_topic),
            ("GET", r"/t/(?P<topic_id>\d+)/posts\.json", self._topic_posts),
        ]
        for method, pattern, fn in routes:
            found = re.fullmatch(pattern, request.path)
            if found and method == request.method:
                return fn(request, **found.groupdict())
        raise RouteNotFound

    # ---- JSON ----------------------------------------------------------------------------------------------------

    def _add_post(self, topic_id: int, username: str, raw: str) -> dict:
        topic = self.topics[topic_id]
        post_id = next(self.ids)
        now = time.time()
        post = {
            "id": post_id,
            "topic_id": topic_id,
            "post_number": len(topic["post_ids"]) + 1,
            "username": username,
            "raw": raw,
            "created": now,
            "updated": now,
            "version": 1,
        }
        topic["post_ids"].append(post_id)
        self.posts[post_id] = post
        return post

    def _post_json(self, post: dict, include_raw: bool) -> dict:
        topic = self.topics[post["topic_id"]]
        # Discourse's cooked HTML drops HTML comments: the marker is only visible in `raw`.
        visible = re.sub(r"<!--.*?-->", "", post["raw"], flags=re.S)
        data = {
            "id": post["id"],
            "name": post["username"].title(),
            "username": post["username"],
            "avatar_template": f"/user_avatar/{post['username']}/{{size}}/1.png",
            "created_at": iso(post["created"]),
            "cooked": "<p>" + html.escape(visible).replace("\n\n", "</p><p>") + "</p>",
            "post_number": post["post_number"],
            "post_type": 1,
            "updated_at": iso(post["updated"]),
            "reply_count": 0,
            "reply_to_post_number": None,
            "quote_count": 0,
            "incoming_link_count": 0,
            "reads": 1,
            "score": 0,
            "yours": post["username"] == self.username,
            "topic_id": post["topic_id"],
            "topic_slug": topic["slug"],
            "display_username": post["username"].title(),
            "version": post["version"],
            "can_edit": post["username"] == self.username,
            "user_id": abs(hash(post["username"])) % 100000,
            "staff": self.staff and post["username"] == self.username,
        }
        if include_raw:
            data["raw"] = post["raw"]
        return data

    # ---- routes --------------------------------------------------------------------------------------------------

    def _create_post(self, request: Request) -> Response:
        data = request.json() if request.body.startswith(b"{") else {k: v[0] for k, v in _form(request).items()}
        topic_id = int(data.get("topic_id") or 0)
        raw = data.get("raw") or ""
        topic = self.topics.get(topic_id)
        if topic is None:
            return self.not_found(request)
        if len(raw) > MAX_POST_LENGTH:
            return Response(
                422,
                {
                    "action": "create_post",
                    "errors": [f"Body is limited to {MAX_POST_LENGTH} characters; you entered {len(raw)}."],
                },
            )
        if not self.staff and topic["owner"] != self.username:
            last = [self.posts[i]["username"] for i in topic["post_ids"][-MAX_CONSECUTIVE_REPLIES:]]
            if len(last) == MAX_CONSECUTIVE_REPLIES and all(u == self.username for u in last):
                return Response(
                    422,
                    {
                        "action": "create_post",
                        "errors": [
                            f"You can’t post more than {MAX_CONSECUTIVE_REPLIES} times in a row. Please edit your previous "
                            "reply, or wait for someone to reply to you."
                        ],
                    },
                )
        post = self._add_post(topic_id, self.username, raw)
        return Response(200, self._post_json(post, include_raw=True))

    def _update_post(self, request: Request, post_id: str) -> Response:
        post = self.posts.get(int(post_id))
        if post is None:
            return self.not_found(request)
        data = request.json()
        raw = (data.get("post") or {}).get("raw")
        if raw is None:
            return Response(
                400, {"errors": ["param is missing or the value is empty: post"], "error_type": "invalid_parameters"}
            )
        if len(raw) > MAX_POST_LENGTH:
            return Response(
                422, {"errors": [f"Body is limited to {MAX_POST_LENGTH} characters; you entered {len(raw)}."]}
            )
        if raw != post["raw"]:
            post["raw"] = raw
            post["version"] += 1
            post["updated"] = time.time()
        return Response(200, {"post": self._post_json(post, include_raw=True)})

    def _get_post(self, request: Request, post_id: str) -> Response:
        post = self.posts.get(int(post_id))
        return Response(200, self._post_json(post, include_raw=True)) if post else self.not_found(request)

    def _get_topic(self, request: Request, topic_id: str) -> Response:
        topic = self.topics.get(int(topic_id))
        if topic is None:
            return self.not_found(request)
        posts = [self._post_json(self.posts[i], include_raw=False) for i in topic["post_ids"][:20]]
        return Response(
            200,
            {
                "id": topic["id"],
                "title": topic["title"],
                "fancy_title": topic["title"],
                "slug": topic["slug"],
                "posts_count": len(topic["post_ids"]),
                "highest_post_number": len(topic["post_ids"]),
                "post_stream": {"posts": posts, "stream": list(topic["post_ids"])},
                "details": {"created_by": {"username": topic["owner"]}},
                "closed": topic.get("closed", False),
                "archived": topic.get("archived", False),
            },
        )

    def _topic_posts(self, request: Request, topic_id: str) -> Response:
        topic = self.topics.get(int(topic_id))
        if topic is None:
            return self.not_found(request)
        wanted = [int(i) for i in request.query.get("post_ids[]", [])]
        include_raw = bool(request.arg("include_raw"))
        ids = [i for i in wanted if i in topic["post_ids"]] if wanted else topic["post_ids"][:20]
        return Response(
            200,
            {"post_stream": {"posts": [self._post_json(self.posts[i], include_raw) for i in ids]}, "id": topic["id"]},
        )


def _form(request: Request) -> dict[str, list[str]]:
    import urllib.parse

    return urllib.parse.parse_qs(request.body.decode())
