"""Posting to the text channel through Discord's REST API with the bot token (httpx, synchronous): usable from the
CLI without a gateway connection, and from the bot (in a worker thread).

Never twice: a create carries a `nonce` with `enforce_nonce`, so Discord itself answers a repeated create within a
few minutes with the message it already made; beyond that, a retry reads the channel's latest messages and takes
ours (same author, same content).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import httpx

from tracker.publishing.errors import redact
from tracker.publishing.http_errors import Service, send

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://discord.com/api/v10"
DISCORD = Service(
    name="Discord",
    credentials_hint=" — check WGBOT_DISCORD_TOKEN",
    describe=lambda body: str(body.get("message") or ""),
    waits=lambda body: (body.get("retry_after"),),
)
USER_AGENT = "DiscordBot (https://github.com/wgbot/wgbot, 0.1)"


@dataclass(frozen=True, slots=True)
class MessageRef:
    id: int
    channel_id: int
    url: str | None


def nonce_for(key: str) -> str:
    """The nonce of every message wgbot creates (here and in the bot): a repeat of the same create within minutes
    is the same message. Discord nonces are at most 25 characters; the idempotency key is longer, so hash it."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


class DiscordRest:
    def __init__(
        self,
        token: str,
        api_base: str | None = None,
        *,
        guild_id: int | None = None,
        timeout: float = 15.0,
        default_wait: float = 5.0,
    ) -> None:
        self._token = token
        self.guild_id = guild_id
        self.default_wait = default_wait
        self.http = httpx.Client(
            base_url=(api_base or DEFAULT_API_BASE).rstrip("/"),
            headers={"Authorization": f"Bot {token}", "User-Agent": USER_AGENT},
            timeout=timeout,
        )
        self._me: dict | None = None

    def close(self) -> None:
        self.http.close()

    def me(self) -> dict:
        if self._me is None:
            self._me = self._request("GET", "/users/@me", "read the bot user")
        return self._me

    def post_message(self, channel_id: int, content: str, key: str | None = None) -> MessageRef:
        payload: dict = {"content": content, "allowed_mentions": {"parse": []}}
        if key:
            payload |= {"nonce": nonce_for(key), "enforce_nonce": True}
        data = self._request("POST", f"/channels/{channel_id}/messages", f"post to channel {channel_id}", json=payload)
        return self._ref(data, channel_id)

    def edit_message(self, channel_id: int, message_id: int, content: str) -> MessageRef:
        data = self._request(
            "PATCH",
            f"/channels/{channel_id}/messages/{message_id}",
            f"edit message {message_id}",
            json={"content": content, "allowed_mentions": {"parse": []}},
        )
        return self._ref(data, channel_id)

    def recent_messages(self, channel_id: int, limit: int = 50) -> list[dict]:
        return self._request(
            "GET",
            f"/channels/{channel_id}/messages",
            f"read channel {channel_id}",
            params={"limit": max(1, min(limit, 100))},
        )

    def find_own_message(self, channel_id: int, content: str, limit: int = 50) -> MessageRef | None:
        me = str(self.me().get("id"))
        for message in self.recent_messages(channel_id, limit):
            if str(message.get("author", {}).get("id")) == me and message.get("content") == content:
                return self._ref(message, channel_id)
        return None

    # ---- plumbing ----------------------------------------------------------------------------------------------

    def _ref(self, message: dict, channel_id: int) -> MessageRef:
        guild = message.get("guild_id") or self.guild_id
        url = f"https://discord.com/channels/{guild}/{channel_id}/{message['id']}" if guild else None
        return MessageRef(id=int(message["id"]), channel_id=int(channel_id), url=url)

    def _request(self, method: str, path: str, action: str, **kwargs):
        return send(
            self.http, DISCORD, method, path, action, secrets=[self._token], default_wait=self.default_wait, **kwargs
        )

    def _clean(self, text: str) -> str:
        return redact(text, [self._token])
