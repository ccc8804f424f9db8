"""Discourse through its REST API (httpx): reply to a topic, edit that reply, find it again by its marker.

- `POST /posts.json` with `topic_id` and `raw` creates the reply; `PUT /posts/{id}.json` with `post[raw]` edits it.
- A create whose outcome is unknown (timeout, reset, 5xx) is resolved by reading the topic's latest posts
  (`GET /t/{id}.json` for the post ids, then `GET /t/{id}/posts.json?post_ids[]=…&include_raw=true`) and looking
  for the hidden marker in a post by our user.
- 429: wait for `Retry-After`, else the JSON `extras.wait_seconds`, else a default.
- Discourse refuses a 4th consecutive reply in a topic from the same user (site setting `max_consecutive_replies`,
  default 3) unless the user is staff or the topic owner: make the API user one of those.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from tracker.publishing.errors import PermanentError, redact
from tracker.publishing.http_errors import Service, send
from tracker.publishing.texts import carries_marker

log = logging.getLogger(__name__)


def _discourse_errors(body: dict) -> str:
    errors = body.get("errors") or []
    return "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)


DISCOURSE = Service(
    name="the forum",
    credentials_hint=" — check WGBOT_FORUM_API_KEY and WGBOT_FORUM_API_USERNAME",
    describe=_discourse_errors,
    waits=lambda body: (
        (body.get("extras") or {}).get("wait_seconds") if isinstance(body.get("extras"), dict) else None,
    ),
    forbidden_is_credentials=True,
    hints={
        422: (
            ("in a row", "consecutive"),
            " — Discourse allows the same user 3 consecutive replies unless it is staff or the topic owner; make the "
            "API user staff (or let someone reply), then `wgbot publish --retry-failed`",
        )
    },
)


@dataclass(frozen=True, slots=True)
class PostRef:
    id: int
    post_number: int
    url: str


class DiscourseClient:
    def __init__(
        self,
        url: str,
        api_key: str,
        api_username: str,
        *,
        timeout: float = 15.0,
        default_wait: float = 30.0,
        recent_posts: int = 50,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.username = api_username
        self._api_key = api_key
        self.default_wait = default_wait
        self.recent_posts = recent_posts
        self.http = httpx.Client(
            base_url=self.base_url,
            headers={"Api-Key": api_key, "Api-Username": api_username, "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self.http.close()

    # ---- operations --------------------------------------------------------------------------------------------

    def create_post(self, topic_id: int, raw: str) -> PostRef:
        data = self._request(
            "POST", "/posts.json", f"reply to topic {topic_id}", json={"topic_id": topic_id, "raw": raw}
        )
        return self.post_ref(data)

    def update_post(self, post_id: int, raw: str) -> PostRef:
        data = self._request("PUT", f"/posts/{post_id}.json", f"edit post {post_id}", json={"post": {"raw": raw}})
        return self.post_ref(data.get("post", data))

    def get_post(self, post_id: int) -> dict | None:
        """The post with its `raw`, or None when it was deleted."""
        try:
            return self._request("GET", f"/posts/{post_id}.json", f"read post {post_id}")
        except PermanentError as exc:
            if "404" in str(exc):
                return None
            raise

    def find_post_by_marker(self, topic_id: int, marker: str) -> PostRef | None:
        """Our post in the topic's latest `recent_posts` whose raw text carries `marker`."""
        topic = self._request("GET", f"/t/{topic_id}.json", f"read topic {topic_id}")
        stream = topic.get("post_stream", {}).get("stream") or [
            p["id"] for p in topic.get("post_stream", {}).get("posts", [])
        ]
        ids = list(stream)[-self.recent_posts :]
        for start in range(0, len(ids), 20):  # Discourse serves posts in chunks of 20
            chunk = ids[start : start + 20]
            params = [("post_ids[]", str(i)) for i in chunk] + [("include_raw", "true")]
            data = self._request("GET", f"/t/{topic_id}/posts.json", f"read posts of topic {topic_id}", params=params)
            for post in data.get("post_stream", {}).get("posts", []):
                raw = post.get("raw")
                if raw is None:  # an older Discourse without include_raw on this route: one post at a time
                    raw = (self.get_post(post["id"]) or {}).get("raw", "")
                if carries_marker(raw, marker) and str(post.get("username", "")).lower() == self.username.lower():
                    return self.post_ref(post)
        return None

    # ---- plumbing ----------------------------------------------------------------------------------------------

    def post_ref(self, post: dict) -> PostRef:
        slug = post.get("topic_slug") or "-"
        url = f"{self.base_url}/t/{slug}/{post['topic_id']}/{post['post_number']}"
        return PostRef(id=int(post["id"]), post_number=int(post["post_number"]), url=url)

    def _request(self, method: str, path: str, action: str, **kwargs) -> dict:
        return send(
            self.http,
            DISCOURSE,
            method,
            path,
            action,
            secrets=[self._api_key],
            default_wait=self.default_wait,
            **kwargs,
        )

    def _clean(self, text: str) -> str:
        return redact(text, [self._api_key])
