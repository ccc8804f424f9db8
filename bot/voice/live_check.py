"""`wgbot doctor`'s live voice check: join the configured channel, listen for a few seconds, report per user how
many packets arrived and how many got through transport and DAVE decryption. Nothing is written to disk.

This is the only test of the receive path against the real Discord: the test suite works offline, at the packet
seam, with simulated senders (see `bot.voice.testing`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from bot.voice.opus_frames import is_silence
from bot.voice.receiver import VoiceReceiver

__all__ = ["check_voice"]

log = logging.getLogger(__name__)


class _CountingSink:
    """Counts decrypted frames per user instead of writing them."""

    def __init__(self) -> None:
        self.frames: Counter[int] = Counter()
        self.speech: Counter[int] = Counter()

    def put_frame(self, user_id: int, ssrc: int, arrival: float, timestamp: int, sequence: int, frame: bytes) -> None:
        self.frames[user_id] += 1
        if not is_silence(frame):
            self.speech[user_id] += 1


async def check_voice(
    bot: Any, channel: Any, seconds: float = 10, *, voice_client_cls: type | None = None
) -> list[str]:
    """Lines for the doctor to print, each starting with OK, WARN or FAIL."""
    if voice_client_cls is None:
        from bot.voice.voice_client import RecordingVoiceClient

        voice_client_cls = RecordingVoiceClient
    lines: list[str] = []
    guild = channel.guild
    permissions = channel.permissions_for(guild.me)
    if not permissions.connect:
        return [f"FAIL voice: no Connect permission in #{channel.name}"]
    if getattr(guild.me.voice, "deaf", False):
        lines.append("WARN voice: the bot is server-deafened; a deafened client receives no audio")
    if getattr(guild, "voice_client", None) is not None:
        return [f"FAIL voice: already connected to voice in {guild.name} (a recording running?); check skipped"]
    sink = _CountingSink()
    receiver = VoiceReceiver(sink)
    try:
        vc = await channel.connect(cls=voice_client_cls, self_deaf=False, self_mute=True, timeout=30)
    except Exception as exc:
        return [*lines, f"FAIL voice: could not join #{channel.name}: {type(exc).__name__}: {exc}"]
    snapshot = None
    try:
        vc.attach(receiver)
        await asyncio.sleep(seconds)
        receiver.maintain()
        snapshot = receiver.snapshot()
        connection = vc.connection_state
        session = connection.dave_session
        dave = f"DAVE protocol v{connection.dave_protocol_version}"
        if session is not None:
            dave += f", session {session.status.name}, epoch {session.epoch}"
        lines.append(f"OK voice: joined #{channel.name}; transport {connection.mode}; {dave}")
    except Exception as exc:
        lines.append(f"FAIL voice: listening in #{channel.name} failed: {type(exc).__name__}: {exc}")
    finally:
        try:
            vc.detach()
            await vc.disconnect(force=True)
        except Exception:
            log.debug("ignoring error leaving voice after the check", exc_info=True)
    if snapshot is None:
        return lines

    totals = snapshot["totals"]
    users = snapshot["users"]
    humans = [m for m in getattr(channel, "members", []) if not getattr(m, "bot", False)]
    if not users:
        level = "WARN" if humans else "OK"
        lines.append(
            f"{level} voice: no audio packets from anyone in {seconds:g} s "
            f"({len(humans)} people in the channel; someone must talk during the check)"
        )
    for user_id, counts in sorted(users.items()):
        member = guild.get_member(user_id)
        name = getattr(member, "display_name", None) or str(user_id)
        opened = sink.frames[user_id]
        failed = counts["transport_failed"] + counts["dave_failed"] + counts["dave_held"]
        received = counts["packets"] - counts["duplicates"]
        level = "OK" if received and failed <= max(2, received // 50) else "FAIL"
        lines.append(
            f"{level} voice: {name}: {counts['packets']} packets received, {opened} decrypted "
            f"({counts['dave_decrypted']} end-to-end, {counts['dave_passthrough'] + counts['dave_plain']} unencrypted), "
            f"{sink.speech[user_id]} with speech, {counts['transport_failed']} failed transport decryption, "
            f"{counts['dave_failed'] + counts['dave_held']} failed DAVE decryption"
        )
    if totals["unknown_ssrc"]:
        lines.append(f"OK voice: {totals['unknown_ssrc']} packets of unknown SSRCs ignored (video, or not announced)")
    return lines


def run_voice_check(settings: Any, seconds: float = 10) -> list[str]:
    """`wgbot doctor --voice`: log in, join the configured voice channel, listen, report. Needs live Discord."""
    import discord

    if not settings.discord.token or not settings.discord.voice_channel_id:
        return ["FAIL voice: WGBOT_DISCORD_TOKEN and WGBOT_DISCORD_VOICE_CHANNEL_ID are needed for the voice check"]

    async def main() -> list[str]:
        intents = discord.Intents.default()  # guilds and voice states
        client = discord.Client(intents=intents)
        lines: list[str] = []

        @client.event
        async def on_ready() -> None:
            try:
                channel = client.get_channel(settings.discord.voice_channel_id)
                if channel is None:
                    lines.append(f"FAIL voice: channel {settings.discord.voice_channel_id} not found")
                else:
                    lines.extend(await check_voice(client, channel, seconds))
            finally:
                await client.close()

        try:
            await asyncio.wait_for(client.start(settings.discord.token.get_secret_value()), seconds + 90)
        except discord.LoginFailure:
            lines.append("FAIL voice: the token was rejected")
        except (TimeoutError, OSError) as exc:
            lines.append(f"FAIL voice: could not reach Discord ({type(exc).__name__})")
        finally:
            if not client.is_closed():
                await client.close()
        return lines

    return asyncio.run(main())
