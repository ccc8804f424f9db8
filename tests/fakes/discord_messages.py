"""A local Discord REST API for channel messages (the subset the publisher uses), under `/api/v10`:

- `Authorization: Bot <token>` (401 otherwise); GET /users/@me;
- POST /channels/{id}/messages: content up to 2,000 characters (400 `Invalid Form Body` otherwise); a repeated
  `nonce` with `enforce_nonce` returns the message already created, as Discord does for a few minutes;
- PATCH /channels/{id}/messages/{id}; GET /channels/{id}/messages?limit= (newest first);
- 429 faults with `Retry-After` and the JSON `retry_after`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time

from tests.fakes.fault_http import FakeServer, Request, Response, RouteNotFound


def rate_limited(seconds: float = 0.2) -> dict:
    return {
        "status": 429,
        "headers": {"Retry-After": str(seconds), "X-RateLimit-Scope": "user"},
        "body": {"message": "You are being rate limited.", "retry_after": seconds, "global": False},
    }


class FakeDiscordMessages(FakeServer):
    def __init__(self, token: str = "discord_bot_token_0123456789", bot_id: int = 4242) -> None:
        super().__init__()
        self.token = token
        self.bot_id = bot_id
        self.ids = itertools.count(9_000_000)
        self.messages: dict[int, list[dict]] = {}  # channel id → messages, oldest first
        self.nonces: dict[str, dict] = {}

    @property
    def api_base(self) -> str:
        return self.origin + "/api/v10"

    def channel(self, channel_id: int) -> list[dict]:
        with self.lock:
            return list(self.messages.get(channel_id, []))

    def check_auth(self, request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bot {self.token}":
            return Response(401, {"message": "401: Unauthorized", "code": 0})
        return None

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": "Unknown Message", "code": 10008})

    def handle(self, request: Request) -> Response:
        routes = [
            ("GET", r"/api/v10/users/@me", self._me),
            ("POST", r"/api/v10/channels/(?P<channel>\d+)/messages", self._create),
            ("GET", r"/api/v10/channels/(?P<channel>\d+)/messages", self._list),
            ("PATCH", r"/api/v10/channels/(?P<channel>\d+)/messages/(?P<message>\d+)", self._edit),
        ]
        for method, pattern, fn in routes:
            found = re.fullmatch(pattern, request.path)
            if found and method == request.method:
                return fn(request, **found.groupdict())
        raise RouteNotFound

    def _author(self) -> dict:
        return {"id": str(self.bot_id), "username": "wgbot", "discriminator": "0", "bot": True, "global_name": None}

    def _me(self, request: Request) -> Response:
        return Response(200, self._author())

    def _invalid(self, content: str) -> Response | None:
        if len(content) > 2000:
            return Response(
                400,
                {
                    "message": "Invalid Form Body",
                    "code": 50035,
                    "errors": {
                        "content": {
                            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
                        }
                    },
                },
            )
        return None

    def _create(self, request: Request, channel: str) -> Response:
        data = request.json()
        content = data.get("content") or ""
        bad = self._invalid(content)
        if bad:
            return bad
        nonce = data.get("nonce")
        if nonce and data.get("enforce_nonce") and nonce in self.nonces:
            return Response(200, _public(self.nonces[nonce]))
        message = {
            "id": str(next(self.ids)),
            "channel_id": channel,
            "author": self._author(),
            "content": content,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "_created": time.time(),
        }
        if nonce:
            message["nonce"] = nonce
            self.nonces[nonce] = message
        self.messages.setdefault(int(channel), []).append(message)
        return Response(200, _public(message))

    def _list(self, request: Request, channel: str) -> Response:
        limit = max(1, min(100, int(request.arg("limit", "50"))))
        messages = [
            {k: v for k, v in _public(m).items() if k != "nonce"} for m in reversed(self.messages.get(int(channel), []))
        ]
        return Response(200, messages[:limit])

    def _edit(self, request: Request, channel: str, message: str) -> Response:
        found = next((m for m in self.messages.get(int(channel), []) if m["id"] == message), None)
        if found is None:
            return self.not_found(request)
        content = request.json().get("content") or ""
        bad = self._invalid(content)
        if bad:
            return bad
        found["content"] = content
        found["edited_timestamp"] = dt.datetime.now(dt.UTC).isoformat()
        return Response(200, _public(found))


def _public(message: dict) -> dict:
    return {k: v for k, v in message.items() if not k.startswith("_")}
