"""`wgbot doctor`'s Discord checks, through discord.py itself: its REST client logs in and fetches the guild, the
bot's member and the channels, and its `permissions_for` computes what the bot may do there (roles, @everyone,
channel overwrites, owner and administrator), exactly as the running bot will see it. Nothing is changed.

The other checks (database, models, GitHub, forum) are in `tracker.doctor`; `run_checks` runs them all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import discord

from bot.app import use_api_base
from tracker.config import Settings
from tracker.doctor import Check, local_checks, service_checks

NEEDED_GUILD = discord.Permissions(manage_events=True, change_nickname=True)
NEEDED_TEXT = discord.Permissions(view_channel=True, send_messages=True, embed_links=True, read_message_history=True)
NEEDED_VOICE = discord.Permissions(view_channel=True, connect=True)


# discord.py names View Channel by its API flag, read_messages.
_LABELS = {"read_messages": "View Channel"}


def _names(permissions: discord.Permissions) -> list[str]:
    return [_LABELS.get(name, name.replace("_", " ").title()) for name, granted in permissions if granted]


def _missing(have: discord.Permissions, needed: discord.Permissions) -> list[str]:
    return _names(discord.Permissions(needed.value & ~have.value))


async def discord_checks(settings: Settings) -> list[Check]:
    d = settings.discord
    if not d.token:
        return [Check("discord", "skip", "WGBOT_DISCORD_TOKEN is not set")]
    use_api_base(d.api_base)
    client = discord.Client(intents=discord.Intents.none())
    checks: list[Check] = []
    try:
        try:
            await client.login(d.token.get_secret_value())
        except discord.LoginFailure:
            return [
                Check("discord token", "fail", "the token was rejected (401): create a new one in the Developer Portal")
            ]
        except (discord.HTTPException, OSError) as exc:
            return [Check("discord token", "fail", f"cannot reach Discord ({type(exc).__name__})")]
        me = client.user
        if me is None:  # login() sets it
            return [Check("discord token", "fail", "logged in, but Discord did not say who the bot is")]
        checks.append(Check("discord token", "ok", f"logged in as {me} ({me.id})"))

        if not d.guild_id:
            checks.append(Check("discord guild", "skip", "WGBOT_DISCORD_GUILD_ID is not set"))
            return checks
        try:
            guild = await client.fetch_guild(d.guild_id)
            member = await guild.fetch_member(me.id)
            channels = {channel.id: channel for channel in await guild.fetch_channels()}
        except (discord.NotFound, discord.Forbidden):
            checks.append(Check("discord guild", "fail", f"guild {d.guild_id} not found: is the bot invited to it?"))
            return checks
        missing = _missing(member.guild_permissions, NEEDED_GUILD)
        if missing:
            checks.append(Check("discord guild", "fail", f"guild {guild.name}: the bot lacks {', '.join(missing)}"))
        else:
            checks.append(Check("discord guild", "ok", f"{guild.name}: {', '.join(_names(NEEDED_GUILD))} granted"))

        for label, channel_id, needed in (
            ("text channel", d.text_channel_id, NEEDED_TEXT),
            ("voice channel", d.voice_channel_id, NEEDED_VOICE),
        ):
            name = f"discord {label}"
            channel = channels.get(channel_id) if channel_id else None
            if not channel_id:
                checks.append(Check(name, "skip", f"WGBOT_DISCORD_{label.upper().replace(' ', '_')}_ID is not set"))
            elif channel is None:
                checks.append(Check(name, "fail", f"channel {channel_id} is not in guild {guild.name} or not visible"))
            elif missing := _missing(channel.permissions_for(member), needed):
                checks.append(Check(name, "fail", f"#{channel.name}: the bot lacks {', '.join(missing)}"))
            else:
                checks.append(Check(name, "ok", f"#{channel.name}: {', '.join(_names(needed))} granted"))
        return checks
    finally:
        await client.close()


def run_checks(settings: Settings, *, models: bool = True) -> Iterator[Check]:
    """Every check, one line each: database, models, Discord, GitHub, forum."""
    yield from local_checks(settings, models=models)
    yield from asyncio.run(discord_checks(settings))
    yield from service_checks(settings)
