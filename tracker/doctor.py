"""`wgbot doctor`: check a real deployment end to end without changing anything. One line per check.

Each check returns (ok, message). Checks that need a setting which is not configured are reported as skipped,
so a partial deployment (no forum, say) still gets a useful report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tracker.config import Settings

log = logging.getLogger(__name__)

DISCORD_API = "https://discord.com/api/v10"
TIMEOUT = httpx.Timeout(15.0)

# Discord permission bits (https://discord.com/developers/docs/topics/permissions)
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
CONNECT = 1 << 20
CHANGE_NICKNAME = 1 << 26
MANAGE_EVENTS = 1 << 33
NEEDED_TEXT = {
    "View Channel": VIEW_CHANNEL,
    "Send Messages": SEND_MESSAGES,
    "Embed Links": EMBED_LINKS,
    "Read Message History": READ_MESSAGE_HISTORY,
}
NEEDED_VOICE = {"View Channel": VIEW_CHANNEL, "Connect": CONNECT}
NEEDED_GUILD = {"Manage Events": MANAGE_EVENTS, "Change Nickname": CHANGE_NICKNAME}


@dataclass
class Check:
    name: str
    status: str  # "ok", "fail", "skip"
    detail: str

    @property
    def line(self) -> str:
        mark = {"ok": "✔", "fail": "✘", "skip": "–"}[self.status]
        return f"{mark} {self.name}: {self.detail}"


def _guarded(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, "ok", fn())
    except _Skip as exc:
        return Check(name, "skip", str(exc))
    except Exception as exc:  # a check's failure is its report, never a crash of the doctor
        return Check(name, "fail", _plain(exc))


class _Skip(Exception):
    pass


def _plain(exc: Exception) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.copy_with(query=None)}"
    if isinstance(exc, httpx.HTTPError):
        return f"cannot reach {exc.request.url.host if exc.request else 'the server'} ({type(exc).__name__})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---- database and models -------------------------------------------------------------------------------------


def check_database(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    from tracker import db as dbmod

    url = make_url(dbmod.normalize_url(settings.storage.url))
    if url.drivername.startswith("sqlite") and url.database and not Path(url.database).exists():
        raise RuntimeError(f"no database at {url.database}: run `wgbot db upgrade`")  # and do not create one
    database = dbmod.Database(settings.storage.url)
    try:
        current, head = dbmod.current_revision(database.engine), dbmod.head_revision()
    finally:
        database.dispose()
    if current != head:
        raise RuntimeError(f"schema at {current or 'nothing'}, wgbot needs {head}: run `wgbot db upgrade`")
    return f"{database.engine.url.render_as_string(hide_password=True)} at revision {head}"


def check_whisper(settings: Settings) -> str:
    from transcripts.engines import load_engine

    m = settings.models
    load_engine(m.whisper_engine, m.whisper_model, m.whisper_compute_type, m.threads)
    return f"{m.whisper_engine} {m.whisper_model} ({m.whisper_compute_type}) loaded"


def check_llm(settings: Settings) -> str:
    from transcripts.model_files import llm_model_path

    path = llm_model_path(settings.models.llm_model)
    from transcripts.llm import load_llm

    load_llm(settings.models.llm_model, threads=settings.models.threads)
    return f"{settings.models.llm_model} loaded from {path}"


# ---- Discord -------------------------------------------------------------------------------------------------


def _discord(settings: Settings) -> httpx.Client:
    d = settings.discord
    if not d.token:
        raise _Skip("WGBOT_DISCORD_TOKEN is not set")
    return httpx.Client(
        base_url=(d.api_base or DISCORD_API).rstrip("/"),
        headers={"Authorization": f"Bot {d.token.get_secret_value()}", "User-Agent": "DiscordBot (wgbot, 0.1)"},
        timeout=TIMEOUT,
    )


def _permissions(guild: dict, roles: list[dict], member: dict, channel: dict | None, user_id: str) -> int:
    """The member's effective permissions (the algorithm in Discord's permissions documentation)."""
    by_id = {r["id"]: int(r["permissions"]) for r in roles}
    if guild.get("owner_id") == user_id:
        return ~0
    perms = by_id.get(guild["id"], 0)
    for role in member.get("roles", []):
        perms |= by_id.get(role, 0)
    if perms & ADMINISTRATOR:
        return ~0
    if channel is None:
        return perms
    overwrites = {o["id"]: o for o in channel.get("permission_overwrites", [])}
    if everyone := overwrites.get(guild["id"]):
        perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
    allow = deny = 0
    for role in member.get("roles", []):
        if o := overwrites.get(role):
            allow |= int(o["allow"])
            deny |= int(o["deny"])
    perms = (perms & ~deny) | allow
    if o := overwrites.get(user_id):
        perms = (perms & ~int(o["deny"])) | int(o["allow"])
    return perms


def _missing(perms: int, needed: dict[str, int]) -> list[str]:
    return [name for name, bit in needed.items() if not perms & bit]


def discord_checks(settings: Settings) -> Iterator[Check]:
    try:
        client = _discord(settings)
    except _Skip as exc:
        yield Check("discord", "skip", str(exc))
        return
    d = settings.discord
    with client:
        me: dict = {}

        def token() -> str:
            response = client.get("/users/@me")
            if response.status_code == 401:
                raise RuntimeError("the token was rejected (401): create a new one in the Developer Portal")
            response.raise_for_status()
            me.update(response.json())
            return f"logged in as {me['username']} ({me['id']})"

        yield (result := _guarded("discord token", token))
        if result.status != "ok":
            return
        state: dict = {}

        def guild() -> str:
            if not d.guild_id:
                raise _Skip("WGBOT_DISCORD_GUILD_ID is not set")
            response = client.get(f"/guilds/{d.guild_id}")
            if response.status_code in (403, 404):
                raise RuntimeError(f"guild {d.guild_id} not found: is the bot invited to it?")
            response.raise_for_status()
            state["guild"] = response.json()
            state["roles"] = state["guild"].get("roles") or client.get(f"/guilds/{d.guild_id}/roles").json()
            member = client.get(f"/guilds/{d.guild_id}/members/{me['id']}")
            member.raise_for_status()
            state["member"] = member.json()
            perms = _permissions(state["guild"], state["roles"], state["member"], None, me["id"])
            missing = _missing(perms, NEEDED_GUILD)
            if missing:
                raise RuntimeError(f"guild {state['guild']['name']}: the bot lacks {', '.join(missing)}")
            return f"{state['guild']['name']}: Manage Events and Change Nickname granted"

        yield (result := _guarded("discord guild", guild))
        if result.status != "ok":
            return
        for label, channel_id, needed in (
            ("text channel", d.text_channel_id, NEEDED_TEXT),
            ("voice channel", d.voice_channel_id, NEEDED_VOICE),
        ):

            def channel(channel_id=channel_id, needed=needed, label=label) -> str:
                if not channel_id:
                    raise _Skip(f"WGBOT_DISCORD_{label.upper().replace(' ', '_')}_ID is not set")
                response = client.get(f"/channels/{channel_id}")
                if response.status_code in (403, 404):
                    raise RuntimeError(f"channel {channel_id} not found or not visible to the bot")
                response.raise_for_status()
                data = response.json()
                if str(data.get("guild_id")) != str(d.guild_id):
                    raise RuntimeError(f"channel {channel_id} is not in guild {d.guild_id}")
                perms = _permissions(state["guild"], state["roles"], state["member"], data, me["id"])
                missing = _missing(perms, needed)
                if missing:
                    raise RuntimeError(f"#{data.get('name')}: the bot lacks {', '.join(missing)}")
                return f"#{data.get('name')}: {', '.join(needed)} granted"

            yield _guarded(f"discord {label}", channel)


# ---- GitHub and the forum ------------------------------------------------------------------------------------


def check_github(settings: Settings) -> str:
    g = settings.github
    if not g.repo or not g.token:
        raise _Skip("WGBOT_GITHUB_REPO or WGBOT_GITHUB_TOKEN is not set")
    headers = {"Authorization": f"Bearer {g.token.get_secret_value()}", "Accept": "application/vnd.github+json"}
    with httpx.Client(base_url=g.api_url.rstrip("/"), headers=headers, timeout=TIMEOUT) as client:
        response = client.get(f"/repos/{g.repo}")
        if response.status_code == 401:
            raise RuntimeError("the token was rejected (401)")
        if response.status_code == 404:
            raise RuntimeError(f"{g.repo} not found, or the token cannot see it")
        response.raise_for_status()
        repo = response.json()
    permissions = repo.get("permissions") or {}
    # Creating labels and issues and committing the archive needs write (push) access; triage alone cannot commit.
    if not (permissions.get("push") or permissions.get("admin") or permissions.get("maintain")):
        raise RuntimeError(
            f"{g.repo}: the token can read but not write (labels, issues and the archive need write access)"
        )
    if not repo.get("has_issues", True):
        raise RuntimeError(f"{g.repo}: issues are disabled on the repository")
    return f"{repo['full_name']} reachable; the token can create labels, issues and commit the archive"


def check_forum(settings: Settings) -> str:
    f = settings.forum
    if not (f.url and f.api_key and f.api_username and f.topic_id):
        raise _Skip("WGBOT_FORUM_URL, _API_KEY, _API_USERNAME or _TOPIC_ID is not set")
    headers = {"Api-Key": f.api_key.get_secret_value(), "Api-Username": f.api_username, "Accept": "application/json"}
    with httpx.Client(base_url=f.url, headers=headers, timeout=TIMEOUT) as client:
        response = client.get(f"/t/{f.topic_id}.json")
        if response.status_code in (403, 404):
            raise RuntimeError(f"topic {f.topic_id} not found or not readable by {f.api_username}")
        response.raise_for_status()
        topic = response.json()
    if topic.get("closed") or topic.get("archived"):
        raise RuntimeError(f"topic {f.topic_id} ({topic.get('title')}) is closed: replies would be refused")
    return f'topic {f.topic_id} "{topic.get("title")}" readable by {f.api_username}'


def run_checks(settings: Settings, *, models: bool = True) -> Iterator[Check]:
    yield _guarded("database", lambda: check_database(settings))
    if models:
        yield _guarded("whisper model", lambda: check_whisper(settings))
        yield _guarded("summary model", lambda: check_llm(settings))
    yield from discord_checks(settings)
    yield _guarded("github", lambda: check_github(settings))
    yield _guarded("forum", lambda: check_forum(settings))
