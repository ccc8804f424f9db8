"""A local stand-in for Discord's REST API (v10), and builders for the raw payloads Discord sends the bot.

`FakeDiscord` is an aiohttp server speaking the parts of the API the bot uses: login (`/users/@me`,
`/oauth2/applications/@me`), guild command sync, interaction callbacks and follow-ups (webhooks), channel
messages (with `enforce_nonce` as Discord implements it; edits), and guild scheduled events. It records every request.
Point discord.py at it with `discord.http.Route.BASE = fake.base` (interaction webhooks share that Route).

Interactions are built the way discord.py's own tests build them (tests/test_app_commands_invoke.py): a raw
INTERACTION_CREATE payload turned into a `discord.Interaction` and dispatched through `CommandTree._call`. The
payloads here carry what Discord sends for a guild slash command: the member with roles and permissions, the
channel, typed options (nested in subcommand options), and `resolved` users/members for user options.
Component interactions (buttons, selects: type 3) and modal submissions (type 5) are built from the message the
bot posted (as Discord sends them: the whole message, the component's custom_id and type, a select's values, a
modal's text inputs by custom_id) and go through the gateway handler (`parse_interaction_create`) and discord.py's
view store, as they do in production; a message-update callback (type 7) changes the stored message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

import discord
from aiohttp import web
from discord import app_commands

API_PREFIX = "/api/v10"
TOKEN = "fake-bot-token-0123456789"
APPLICATION_ID = 900_000_000_000_000_001
BOT_USER_ID = APPLICATION_ID  # Discord gives a bot user the application's id
GUILD_ID = 800_000_000_000_000_001
TEXT_CHANNEL_ID = 800_000_000_000_000_010
VOICE_CHANNEL_ID = 800_000_000_000_000_020
ORGANIZER_ROLE_ID = 800_000_000_000_000_030
MEMBER_ROLE_ID = 800_000_000_000_000_031

EPHEMERAL = 1 << 6
# What @everyone may do in the guild, as Discord computes `member.permissions` for a plain member.
EVERYONE_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    connect=True,
    speak=True,
    use_application_commands=True,
    read_message_history=True,
).value
MANAGE_EVENTS = discord.Permissions(manage_events=True).value


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly `application/json`, as Discord sends it: discord.py parses a response only when the header says so.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat()


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any


@dataclass
class Reply:
    """What the bot answered to one interaction: the callback and any follow-up messages, in order."""

    bodies: list[dict] = field(default_factory=list)  # each: {"type": callback type or "followup", "data": {...}}

    @property
    def messages(self) -> list[dict]:
        return [b["data"] for b in self.bodies if b.get("data") is not None]

    @property
    def ephemeral(self) -> bool:
        flags = [m.get("flags", 0) or 0 for m in self.messages]
        return bool(flags) and all(f & EPHEMERAL for f in flags)

    @property
    def embeds(self) -> list[dict]:
        return [e for m in self.messages for e in m.get("embeds") or []]

    @property
    def text(self) -> str:
        """Everything a reader sees: contents and embed titles, descriptions, fields and footers."""
        parts: list[str] = []
        for message in self.messages:
            parts.append(message.get("content") or "")
            for embed in message.get("embeds") or []:
                parts += [embed.get("title", ""), embed.get("description", "")]
                for f in embed.get("fields", []):
                    parts += [f["name"], f["value"]]
                parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    @property
    def choices(self) -> list[dict]:
        """Autocomplete answers."""
        return [c for b in self.bodies if b.get("type") == 8 for c in b.get("data", {}).get("choices", [])]


class FakeDiscord:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.messages: dict[int, list[dict]] = defaultdict(list)  # channel id -> messages, oldest first
        self.events: dict[int, dict] = {}  # scheduled events by id
        self.deleted_events: list[int] = []
        self.replies: dict[int, Reply] = defaultdict(Reply)  # interaction id -> reply
        self.synced_commands: dict[int, list[dict]] = {}
        self.refuse_token = False
        self.refuse_command_sync = False  # as when the bot was invited without the applications.commands scope
        self._token_to_interaction: dict[str, int] = {}
        self._interaction_message: dict[int, tuple[int, str]] = {}  # component interaction -> (channel, message id)
        self._ids = itertools.count(1_200_000_000_000_000_000)
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.bot_user = {
            "id": str(BOT_USER_ID),
            "username": "wgbot",
            "discriminator": "0",
            "global_name": "wgbot",
            "avatar": None,
            "bot": True,
            "flags": 0,
        }
        self.posted = asyncio.Event()  # set whenever a channel message is created
        # What `wgbot doctor` reads: the guild with its roles, the bot's membership, the two channels.
        self.bot_roles: list[int] = []
        self.role_permissions: dict[int, int] = {
            GUILD_ID: EVERYONE_PERMISSIONS | discord.Permissions(embed_links=True, change_nickname=True).value,
            ORGANIZER_ROLE_ID: MANAGE_EVENTS,
        }
        self.channel_overwrites: dict[int, list[dict]] = {TEXT_CHANNEL_ID: [], VOICE_CHANNEL_ID: []}
        self._routes = [
            ("GET", r"users/@me", self._me),
            ("GET", r"oauth2/applications/@me", self._application),
            ("PUT", r"applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands", self._sync_commands),
            ("POST", r"interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback", self._callback),
            ("POST", r"webhooks/(?P<app>\d+)/(?P<token>[^/]+)", self._followup),
            ("PATCH", r"webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/@original", self._edit_original),
            ("DELETE", r"webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/@original", self._delete_original),
            ("GET", r"channels/(?P<channel>\d+)/messages", self._history),
            ("POST", r"channels/(?P<channel>\d+)/messages", self._create_message),
            ("PATCH", r"channels/(?P<channel>\d+)/messages/(?P<message>\d+)", self._edit_message),
            ("GET", r"guilds/(?P<guild>\d+)/scheduled-events/(?P<event>\d+)", self._get_event),
            ("PATCH", r"guilds/(?P<guild>\d+)/scheduled-events/(?P<event>\d+)", self._edit_event),
            ("DELETE", r"guilds/(?P<guild>\d+)/scheduled-events/(?P<event>\d+)", self._delete_event),
            ("POST", r"guilds/(?P<guild>\d+)/scheduled-events", self._create_event),
            ("GET", r"guilds/(?P<guild>\d+)", self._guild),
            ("GET", r"guilds/(?P<guild>\d+)/members/(?P<user>\d+)", self._member),
            ("GET", r"channels/(?P<channel>\d+)", self._channel),
            ("GET", r"guilds/(?P<guild>\d+)/channels", self._guild_channels),
        ]

    # ---- server --------------------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}{API_PREFIX}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def next_id(self) -> int:
        return next(self._ids)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif request.content_type.startswith("multipart/"):
                body = {"multipart": True}
        self.requests.append(Recorded(request.method, tail, dict(request.query), body))
        webhook = tail.startswith(("interactions/", "webhooks/"))  # authorized by their token, not the bot's
        if not webhook and (self.refuse_token or request.headers.get("Authorization") != f"Bot {self.token}"):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for method, pattern, handler in self._routes:
            match = re.fullmatch(pattern, tail)
            if match and method == request.method:
                return await handler(request, body, **match.groupdict())
        return _json({"message": f"Unknown route {request.method} {tail} (fake)", "code": 0}, status=404)

    # ---- queries for tests ---------------------------------------------------------------------------------

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]

    def channel_posts(self, channel_id: int = TEXT_CHANNEL_ID) -> list[dict]:
        return list(self.messages[channel_id])

    def find_message(self, message_id: int | str, channel_id: int = TEXT_CHANNEL_ID) -> dict | None:
        return next((m for m in self.messages[channel_id] if m["id"] == str(message_id)), None)

    async def wait_for_posts(self, count: int, channel_id: int = TEXT_CHANNEL_ID, timeout: float = 10.0) -> list[dict]:
        async def enough() -> None:
            while len(self.messages[channel_id]) < count:
                self.posted.clear()
                await self.posted.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.channel_posts(channel_id)

    # ---- payloads ------------------------------------------------------------------------------------------

    def message(self, channel_id: int, body: dict, *, type_: int = 0, interaction_id: int | None = None) -> dict:
        return {
            "id": str(self.next_id()),
            "channel_id": str(channel_id),
            "author": self.bot_user,
            "content": body.get("content") or "",
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": type_,
            "flags": body.get("flags") or 0,
            "components": body.get("components") or [],
            "nonce": body.get("nonce"),
            **(
                {
                    "interaction_metadata": {
                        "id": str(interaction_id),
                        "type": 2,
                        "user": self.bot_user,
                        "authorizing_integration_owners": {},
                    }
                }
                if interaction_id
                else {}
            ),
        }

    # ---- handlers ------------------------------------------------------------------------------------------

    async def _me(self, request, body):
        return _json(self.bot_user)

    async def _guild(self, request, body, guild):
        if int(guild) != GUILD_ID:
            return _json({"message": "Unknown Guild", "code": 10004}, status=404)
        roles = [
            {
                "id": str(rid),
                "name": "@everyone" if rid == GUILD_ID else f"role-{rid}",
                "permissions": str(p),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
            }
            for rid, p in self.role_permissions.items()
        ]
        return _json({"id": str(GUILD_ID), "name": "Decentralized AI WG", "owner_id": "1", "roles": roles})

    async def _member(self, request, body, guild, user):
        if int(guild) != GUILD_ID or int(user) != BOT_USER_ID:
            return _json({"message": "Unknown Member", "code": 10007}, status=404)
        # The fields of Discord's guild member object (discord.py reads `flags` and `joined_at`).
        return _json(
            {
                "user": self.bot_user,
                "roles": [str(r) for r in self.bot_roles],
                "nick": None,
                "avatar": None,
                "joined_at": "2026-11-01T17:00:00.000000+00:00",
                "premium_since": None,
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "communication_disabled_until": None,
            }
        )

    _CHANNELS: ClassVar[dict[int, tuple[int, str]]] = {
        TEXT_CHANNEL_ID: (0, "meetings"),
        VOICE_CHANNEL_ID: (2, "weekly-call"),
    }

    def _channel_payload(self, channel_id: int) -> dict:
        kind, name = self._CHANNELS[channel_id]
        payload = {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(GUILD_ID),
            "name": name,
            "position": 0,
            "parent_id": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "permission_overwrites": self.channel_overwrites[channel_id],
        }
        if kind == 2:  # a voice channel's own fields
            payload.update(bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1)
        else:
            payload.update(topic="Weekly call minutes and agenda")
        return payload

    async def _channel(self, request, body, channel):
        if int(channel) not in self._CHANNELS:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        return _json(self._channel_payload(int(channel)))

    async def _guild_channels(self, request, body, guild):
        if int(guild) != GUILD_ID:
            return _json({"message": "Unknown Guild", "code": 10004}, status=404)
        return _json([self._channel_payload(channel_id) for channel_id in self._CHANNELS])

    async def _application(self, request, body):
        return _json(
            {
                "id": str(APPLICATION_ID),
                "name": "wgbot",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": {**self.bot_user, "bot": False},
                "summary": "",
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "interactions_endpoint_url": None,
                "bot": self.bot_user,
            }
        )

    async def _sync_commands(self, request, body, app, guild):
        if self.refuse_command_sync:
            return _json({"message": "Missing Access", "code": 50001}, status=403)
        synced = [
            {**c, "id": str(self.next_id()), "application_id": app, "guild_id": guild, "version": "1"} for c in body
        ]
        self.synced_commands[int(guild)] = synced
        return _json(synced)

    async def _callback(self, request, body, iid, token):
        interaction_id = int(iid)
        self._token_to_interaction[token] = interaction_id
        kind = body["type"]
        data = body.get("data")
        self.replies[interaction_id].bodies.append({"type": kind, "data": data})
        answer: dict[str, Any] = {
            "interaction": {
                "id": iid,
                "type": 2,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((data or {}).get("flags", 0) & EPHEMERAL),
            }
        }
        if kind in (4, 5):
            message = self.message(0, data or {}, type_=20, interaction_id=interaction_id)
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": kind, "message": message}
        elif kind == 7 and interaction_id in self._interaction_message:  # UPDATE_MESSAGE: the component's message
            channel_id, message_id = self._interaction_message[interaction_id]
            message = self.find_message(message_id, channel_id)
            if message is not None:
                self._apply_edit(message, data or {})
                answer["interaction"]["response_message_id"] = message["id"]
                answer["resource"] = {"type": kind, "message": message}
        return _json(answer)

    async def _followup(self, request, body, app, token):
        interaction_id = self._token_to_interaction.get(token, 0)
        self.replies[interaction_id].bodies.append({"type": "followup", "data": body})
        return _json(self.message(0, body or {}, type_=20, interaction_id=interaction_id))

    async def _edit_original(self, request, body, app, token):
        interaction_id = self._token_to_interaction.get(token, 0)
        self.replies[interaction_id].bodies.append({"type": "edit", "data": body})
        return _json(self.message(0, body or {}, type_=20, interaction_id=interaction_id))

    async def _delete_original(self, request, body, app, token):
        interaction_id = self._token_to_interaction.get(token, 0)
        self.replies[interaction_id].bodies.append({"type": "delete", "data": None})
        return web.Response(status=204)

    async def _history(self, request, body, channel):
        limit = int(request.query.get("limit", 50))
        return _json(list(reversed(self.messages[int(channel)]))[:limit])

    async def _create_message(self, request, body, channel):
        channel_id = int(channel)
        nonce = body.get("nonce")
        if nonce and body.get("enforce_nonce"):
            # Discord: the same nonce from the same author within a few minutes returns the first message.
            for existing in self.messages[channel_id]:
                if existing.get("nonce") == nonce:
                    return _json(existing)
        message = self.message(channel_id, body)
        self.messages[channel_id].append(message)
        self.posted.set()
        return _json(message)

    def _apply_edit(self, message: dict, body: dict) -> None:
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        message["edited_timestamp"] = iso()

    async def _edit_message(self, request, body, channel, message):
        found = self.find_message(message, int(channel))
        if found is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        if len((body or {}).get("content") or "") > 2000:
            return _json({"message": "Invalid Form Body", "code": 50035}, status=400)
        self._apply_edit(found, body or {})
        return _json(found)

    def remember_interaction_message(self, interaction_id: int, message: dict) -> None:
        self._interaction_message[interaction_id] = (int(message["channel_id"]), message["id"])

    def _event_or_404(self, event: str):
        found = self.events.get(int(event))
        if found is None:
            return None, _json({"message": "Unknown Guild Scheduled Event", "code": 10070}, status=404)
        return found, None

    async def _create_event(self, request, body, guild):
        for required in ("name", "privacy_level", "scheduled_start_time", "entity_type"):
            if required not in body:
                return _json({"message": f"Invalid Form Body: {required} is required", "code": 50035}, status=400)
        if body["entity_type"] in (1, 2) and not body.get("channel_id"):
            return _json({"message": "Invalid Form Body: channel_id is required", "code": 50035}, status=400)
        event = {
            "id": str(self.next_id()),
            "guild_id": guild,
            "channel_id": body.get("channel_id"),
            "creator_id": str(BOT_USER_ID),
            "name": body["name"],
            "description": body.get("description"),
            "scheduled_start_time": body["scheduled_start_time"],
            "scheduled_end_time": body.get("scheduled_end_time"),
            "privacy_level": body["privacy_level"],
            "status": 1,
            "entity_type": body["entity_type"],
            "entity_id": None,
            "entity_metadata": body.get("entity_metadata"),
            "user_count": 0,
            "image": None,
        }
        self.events[int(event["id"])] = event
        return _json(event)

    async def _get_event(self, request, body, guild, event):
        found, error = self._event_or_404(event)
        return error or _json(found)

    async def _edit_event(self, request, body, guild, event):
        found, error = self._event_or_404(event)
        if error:
            return error
        if found["status"] != 1 and "scheduled_start_time" in body:
            return _json({"message": "Cannot edit the start of an event that started", "code": 180000}, status=400)
        allowed = {1: {2, 4}, 2: {3}}  # scheduled -> active/canceled, active -> completed
        if (
            "status" in body
            and body["status"] != found["status"]
            and body["status"] not in allowed.get(found["status"], set())
        ):
            return _json({"message": "Invalid scheduled event status transition", "code": 180000}, status=400)
        found.update({k: v for k, v in body.items() if k != "entity_metadata" or v is not None})
        return _json(found)

    async def _delete_event(self, request, body, guild, event):
        found, error = self._event_or_404(event)
        if error:
            return error
        del self.events[int(event)]
        self.deleted_events.append(int(event))
        return web.Response(status=204)


# ---- payload builders ----------------------------------------------------------------------------------------


def user_payload(user_id: int, name: str) -> dict:
    return {
        "id": str(user_id),
        "username": name.lower(),
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": False,
        "flags": 0,
    }


def member_payload(
    user_id: int,
    name: str,
    roles: tuple[int, ...] = (),
    permissions: int = EVERYONE_PERMISSIONS,
    with_user: bool = True,
) -> dict:
    member = {
        "roles": [str(r) for r in roles],
        "joined_at": iso(dt.datetime(2025, 1, 1, tzinfo=dt.UTC)),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "pending": False,
        "permissions": str(permissions),
    }
    if with_user:
        member["user"] = user_payload(user_id, name)
    return member


def guild_payload(guild_id: int = GUILD_ID) -> dict:
    """What GUILD_CREATE brings for the working group's server: roles and the two channels."""

    def channel(channel_id: int, type_: int, name: str, **extra) -> dict:
        return {
            "id": str(channel_id),
            "type": type_,
            "name": name,
            "position": 0,
            "guild_id": str(guild_id),
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            **extra,
        }

    return {
        "id": str(guild_id),
        "name": "Working group",
        "owner_id": "1",
        "member_count": 4,
        "large": False,
        "roles": [
            {
                "id": str(guild_id),
                "name": "@everyone",
                "permissions": str(EVERYONE_PERMISSIONS),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            },
            {
                "id": str(ORGANIZER_ROLE_ID),
                "name": "organizers",
                "permissions": "0",
                "position": 2,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": True,
                "flags": 0,
            },
            {
                "id": str(MEMBER_ROLE_ID),
                "name": "members",
                "permissions": "0",
                "position": 1,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": True,
                "flags": 0,
            },
        ],
        "channels": [
            channel(TEXT_CHANNEL_ID, 0, "wg-general", topic=None, last_message_id=None, rate_limit_per_user=0),
            channel(VOICE_CHANNEL_ID, 2, "wg-call", bitrate=64000, user_limit=0, rtc_region=None),
        ],
        "members": [],
        "voice_states": [],
        "presences": [],
        "threads": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "premium_tier": 0,
    }


def find_command(tree: app_commands.CommandTree, qualified_name: str, guild_id: int = GUILD_ID) -> app_commands.Command:
    root, *rest = qualified_name.split()
    command: Any = tree.get_command(root, guild=discord.Object(guild_id))
    for name in rest:
        command = command.get_command(name) if command is not None else None
    if not isinstance(command, app_commands.Command):
        raise LookupError(f"no slash command /{qualified_name} in the tree")
    return command


def _option(param: app_commands.Parameter, value: Any, resolved: dict, focused: bool) -> dict:
    kind = param.type
    if kind is discord.AppCommandOptionType.user:
        user_id, name, roles = value  # (id, display name, roles) for a member option
        resolved.setdefault("users", {})[str(user_id)] = user_payload(user_id, name)
        resolved.setdefault("members", {})[str(user_id)] = member_payload(user_id, name, roles, with_user=False)
        raw: Any = str(user_id)
    elif focused:
        raw = str(value)  # Discord sends the partial text of a focused option as typed
    elif kind is discord.AppCommandOptionType.integer:
        raw = int(value)
    elif kind is discord.AppCommandOptionType.number:
        raw = float(value)
    elif kind is discord.AppCommandOptionType.boolean:
        raw = bool(value)
    else:
        raw = str(value)
    option = {"name": param.display_name, "type": kind.value, "value": raw}
    if focused:
        option["focused"] = True
    return option


def interaction_payload(
    command: app_commands.Command,
    options: dict[str, Any],
    *,
    interaction_id: int,
    user_id: int,
    user_name: str,
    roles: tuple[int, ...] = (),
    permissions: int = EVERYONE_PERMISSIONS,
    focused: str | None = None,
    guild_id: int = GUILD_ID,
    channel_id: int = TEXT_CHANNEL_ID,
) -> dict:
    """INTERACTION_CREATE for `/command options...` (type 2), or an autocomplete request (type 4) for `focused`."""
    resolved: dict = {}
    params = {p.name: p for p in command.parameters}
    unknown = set(options) - set(params)
    if unknown:
        raise TypeError(f"/{command.qualified_name} has no option(s) {sorted(unknown)}")
    data_options = [
        _option(params[name], value, resolved, name == focused) for name, value in options.items() if value is not None
    ]
    node: Any = command
    while node.parent is not None:  # wrap in the subcommand (and group) levels, innermost first
        data_options = [{"name": node.name, "type": 1 if node is command else 2, "options": data_options}]
        node = node.parent
    data = {"id": str(hash(node)), "name": node.name, "type": 1, "guild_id": str(guild_id), "options": data_options}
    if resolved:
        data["resolved"] = resolved
    return {
        "id": str(interaction_id),
        "application_id": str(APPLICATION_ID),
        "type": 4 if focused else 2,
        "token": f"interaction-token-{interaction_id}",
        "version": 1,
        "data": data,
        "guild_id": str(guild_id),
        "channel_id": str(channel_id),
        "channel": {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(guild_id),
            "name": "wg-general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
        "member": member_payload(user_id, user_name, roles, permissions),
        "app_permissions": str(discord.Permissions.all().value),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": 26_214_400,
    }


@dataclass(frozen=True)
class Person:
    """Someone on the working group's server."""

    id: int
    name: str
    roles: tuple[int, ...] = (MEMBER_ROLE_ID,)
    permissions: int = EVERYONE_PERMISSIONS

    @property
    def as_option(self) -> tuple[int, str, tuple[int, ...]]:
        return (self.id, self.name, self.roles)


ALICE = Person(700_000_000_000_000_001, "Alice", roles=(MEMBER_ROLE_ID, ORGANIZER_ROLE_ID))  # an organizer
BOB = Person(700_000_000_000_000_002, "Bob")
CAROL = Person(700_000_000_000_000_003, "Carol", permissions=EVERYONE_PERMISSIONS | MANAGE_EVENTS)  # may manage events
DAVE = Person(700_000_000_000_000_004, "Dave")


async def invoke(
    fake: FakeDiscord,
    client: discord.Client,
    command: str,
    *,
    user: Person = BOB,
    focused: str | None = None,
    **options: Any,
) -> Reply:
    """Run `/command` as `user` through the client's real command tree; what the bot answered."""
    cmd = find_command(client.tree, command)
    interaction_id = fake.next_id()
    payload = interaction_payload(
        cmd,
        {k: (v.as_option if isinstance(v, Person) else v) for k, v in options.items()},
        interaction_id=interaction_id,
        user_id=user.id,
        user_name=user.name,
        roles=user.roles,
        permissions=user.permissions,
        focused=focused,
    )
    interaction = discord.Interaction(data=payload, state=client._connection)
    await client.tree._call(interaction)
    return fake.replies[interaction_id]


# ---- message components and modals -------------------------------------------------------------------------------


def _base_interaction(
    type_: int,
    data: dict,
    *,
    interaction_id: int,
    user: Person,
    guild_id: int = GUILD_ID,
    channel_id: int = TEXT_CHANNEL_ID,
) -> dict:
    return {
        "id": str(interaction_id),
        "application_id": str(APPLICATION_ID),
        "type": type_,
        "token": f"interaction-token-{interaction_id}",
        "version": 1,
        "data": data,
        "guild_id": str(guild_id),
        "channel_id": str(channel_id),
        "channel": {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(guild_id),
            "name": "wg-general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        },
        "member": member_payload(user.id, user.name, user.roles, user.permissions),
        "app_permissions": str(discord.Permissions.all().value),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)},
        "context": 0,
        "attachment_size_limit": 26_214_400,
    }


def message_components(message: dict) -> list[dict]:
    """Every interactive component of a message (inside its action rows), in order."""
    found: list[dict] = []
    for row in message.get("components") or []:
        for component in row.get("components", [row]):
            if component.get("custom_id"):
                found.append(component)
    return found


def component_payload(
    message: dict, custom_id: str, *, interaction_id: int, user: Person, values: list[str] | None = None
) -> dict:
    """INTERACTION_CREATE for a press on a button, or a choice in a select menu, of `message` (type 3)."""
    component = next((c for c in message_components(message) if c["custom_id"] == custom_id), None)
    if component is None:
        raise LookupError(f"message {message['id']} has no component {custom_id!r}")
    if component["type"] == 2 and values is not None:
        raise TypeError("a button has no values")
    if component["type"] == 3:
        allowed = {o["value"] for o in component.get("options", [])}
        unknown = set(values or []) - allowed
        if unknown:
            raise ValueError(f"select {custom_id!r} offers no {sorted(unknown)} (it offers {sorted(allowed)})")
        if not component.get("min_values", 1) <= len(values or []) <= component.get("max_values", 1):
            raise ValueError(
                f"select {custom_id!r} takes {component.get('min_values', 1)}..{component.get('max_values', 1)} values"
            )
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
    if component["type"] != 2:
        data["values"] = list(values or [])
    payload = _base_interaction(
        3, data, interaction_id=interaction_id, user=user, channel_id=int(message["channel_id"])
    )
    payload["message"] = message
    return payload


def modal_submit_payload(
    modal: dict, values: dict[str, str], *, interaction_id: int, user: Person, message: dict | None = None
) -> dict:
    """INTERACTION_CREATE for submitting `modal` (the data of the bot's MODAL callback, type 9) with text `values` by
    custom_id (type 5). Discord answers with the modal's layout: labels (type 18) or legacy action rows."""

    def filled(component: dict) -> dict:
        if component["type"] == 1:
            return {"type": 1, "components": [filled(c) for c in component["components"]]}
        if component["type"] == 18:
            return {"type": 18, "id": component.get("id", 0), "component": filled(component["component"])}
        value = values.get(component.get("custom_id", ""), component.get("value") or "")
        return {
            "type": component["type"],
            "id": component.get("id", 0),
            "custom_id": component["custom_id"],
            "value": value,
        }

    known = {c.get("custom_id") for c in _modal_inputs(modal["components"])}
    unknown = set(values) - known
    if unknown:
        raise LookupError(f"modal {modal['custom_id']!r} has no input(s) {sorted(unknown)}")
    payload = _base_interaction(
        5,
        {"custom_id": modal["custom_id"], "components": [filled(c) for c in modal["components"]]},
        interaction_id=interaction_id,
        user=user,
        channel_id=int(message["channel_id"]) if message else TEXT_CHANNEL_ID,
    )
    if message is not None:
        payload["message"] = message
    return payload


def _modal_inputs(components: list[dict]) -> list[dict]:
    found: list[dict] = []
    for component in components:
        if component["type"] == 1:
            found += _modal_inputs(component["components"])
        elif component["type"] == 18:
            found += _modal_inputs([component["component"]])
        else:
            found.append(component)
    return found


async def _dispatched(client: discord.Client, payload: dict) -> None:
    """Hand a raw interaction to the client as the gateway does, and wait for the view/modal callbacks it started."""
    store = client._connection._view_store
    client._connection.parse_interaction_create(payload)
    tasks = set(store._ViewStore__tasks)  # the callbacks discord.py scheduled for this interaction
    if tasks:
        await asyncio.gather(*tasks)


async def press(
    fake: FakeDiscord,
    client: discord.Client,
    message: dict | int | str,
    custom_id: str,
    *,
    user: Person = BOB,
    values: list[str] | None = None,
) -> Reply:
    """`user` presses button `custom_id` (or picks `values` in that select) on the bot's `message` (or message id,
    as it is now in the fake channel); what the bot answered."""
    if not isinstance(message, dict):
        found = fake.find_message(message)
        if found is None:
            raise LookupError(f"no message {message} in the text channel")
        message = found
    interaction_id = fake.next_id()
    fake.remember_interaction_message(interaction_id, message)
    await _dispatched(
        client, component_payload(message, custom_id, interaction_id=interaction_id, user=user, values=values)
    )
    return fake.replies[interaction_id]


def modal_of(reply: Reply) -> dict:
    """The modal the bot opened in answer to an interaction (callback type 9)."""
    modals = [b["data"] for b in reply.bodies if b.get("type") == 9]
    if not modals:
        raise AssertionError(f"the bot opened no modal; it answered {reply.bodies}")
    return modals[-1]


async def submit_modal(
    fake: FakeDiscord,
    client: discord.Client,
    modal: dict,
    values: dict[str, str],
    *,
    user: Person = BOB,
    message: dict | int | str | None = None,
) -> Reply:
    """`user` fills in `modal` (opened from a component of `message`, if given) and submits it."""
    if message is not None and not isinstance(message, dict):
        message = fake.find_message(message)
    interaction_id = fake.next_id()
    if message is not None:
        fake.remember_interaction_message(interaction_id, message)
    await _dispatched(
        client, modal_submit_payload(modal, values, interaction_id=interaction_id, user=user, message=message)
    )
    return fake.replies[interaction_id]
