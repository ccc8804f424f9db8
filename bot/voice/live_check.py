"""`wgbot doctor --voice`: join the configured channel, listen for a while, report per person how many packets
arrived, how many got through transport and DAVE decryption and where their packet stream had gaps, and when no
audio arrived at all. Nothing is written to disk, unless a capture file is asked for (`--capture FILE`: what reached
the bot, without any audio content, for a maintainer to debug a real call; see `bot.voice.capture`).

This is the only test of the receive path against the real Discord: the test suite works offline, at the packet
seam, with simulated senders and a simulated voice server (see `bot.voice.testing`, `tests/voice`). `--seconds 900`
is the soak check to run before the first real meeting: long enough for every stall the issue tracker has seen
(Discord stopping to forward to a silent client after a minute, NATs forgetting the socket, 15-minute cut-offs).

The check takes the bot's voice connection, so it refuses to run while this deployment is recording: the meeting
state in the database says so, and so does the bot's own voice state once logged in.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import IO, Any

from bot.voice.capture import STALL_AFTER, CallAnalysis, CaptureRecorder
from bot.voice.dave import session_status
from bot.voice.receiver import VoiceReceiver

__all__ = ["check_voice", "recording_in_progress", "run_voice_check"]

log = logging.getLogger(__name__)


class _NullSink:
    def put_frame(self, user_id: int, ssrc: int, arrival: float, timestamp: int, sequence: int, frame: bytes) -> None:
        pass


def _member_entry(member: Any) -> dict:
    voice = getattr(member, "voice", None)
    return {
        "id": str(member.id),
        "name": getattr(member, "display_name", None) or getattr(member, "name", None) or str(member.id),
        "bot": bool(getattr(member, "bot", False)),
        "muted": bool(getattr(voice, "self_mute", False) or getattr(voice, "mute", False)),
    }


async def check_voice(
    bot: Any,
    channel: Any,
    seconds: float = 10,
    *,
    voice_client_cls: type | None = None,
    capture: IO[str] | None = None,
    stall_after: float = STALL_AFTER,
) -> list[str]:
    """Lines for the doctor to print, each starting with OK, WARN or FAIL. `capture`: a text file to write the
    capture to (JSON Lines)."""
    if voice_client_cls is None:
        from bot.voice.voice_client import RecordingVoiceClient

        voice_client_cls = RecordingVoiceClient
    lines: list[str] = []
    guild = channel.guild
    permissions = channel.permissions_for(guild.me)
    if not permissions.connect:
        return [f"FAIL voice: no Connect permission in #{channel.name}"]
    if getattr(guild, "voice_client", None) is not None:
        return [f"FAIL voice: already connected to voice in {guild.name} (a recording running?); check skipped"]
    in_voice = getattr(getattr(guild.me, "voice", None), "channel", None)
    if in_voice is not None:
        return [
            f"FAIL voice: not checked: the bot is in #{getattr(in_voice, 'name', in_voice)} already (recording a "
            "meeting?); the check would take that voice connection. Run it when the bot is not in a call."
        ]
    analysis = CallAnalysis(stall_after=stall_after)
    receiver = VoiceReceiver(_NullSink())
    try:
        vc = await channel.connect(cls=voice_client_cls, self_deaf=False, self_mute=True, timeout=30)
    except Exception as exc:
        return [*lines, f"FAIL voice: could not join #{channel.name}: {type(exc).__name__}: {exc}"]
    recorder = CaptureRecorder(analysis, capture, clock=receiver.clock)
    connection = vc.connection_state
    keepalive = getattr(vc, "keepalive", None)
    finished = False
    try:
        recorder.header(
            channel=getattr(channel, "name", None),
            seconds=seconds,
            mode=connection.mode,
            dave_protocol_version=connection.dave_protocol_version,
            keepalive=keepalive is not None,
            members=[_member_entry(m) for m in getattr(channel, "members", [])],
        )
        receiver.observer = recorder.packet
        vc.gateway_listener = lambda msg, at: recorder.gateway(msg, at)
        if keepalive is not None:
            keepalive.on_sent = recorder.keepalive
        vc.attach(receiver)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(0.5, left))
            receiver.maintain()
            recorder.dave_state(connection.dave_protocol_version, connection.dave_session)
        receiver.maintain()
        session = connection.dave_session
        dave = f"DAVE protocol v{connection.dave_protocol_version}"
        if session is not None:
            dave += f", session {session_status(session)}, epoch {session.epoch}"
        lines.append(f"OK voice: joined #{channel.name}; transport {connection.mode}; {dave}")
        finished = True
    except Exception as exc:
        lines.append(f"FAIL voice: listening in #{channel.name} failed: {type(exc).__name__}: {exc}")
    finally:
        try:
            vc.detach()
            await vc.disconnect(force=True)
        except Exception:
            log.debug("ignoring error leaving voice after the check", exc_info=True)
    recorder.end(receiver.snapshot())
    if not finished:
        return lines

    def display(user_id: str) -> str | None:
        member = guild.get_member(int(user_id)) if user_id.isdigit() else None
        return getattr(member, "display_name", None)

    lines.extend(analysis.lines(display))
    if keepalive is not None:
        lines.append(f"OK voice: {keepalive.sent} UDP keepalives sent (one every {keepalive.interval:g} s)")
    return lines


def recording_in_progress(settings: Any) -> str | None:
    """Why the voice check must not run now — the meeting this deployment is recording, per the database — or None.
    A database that cannot be read is a reason too: the check could take a running recording's connection."""
    from sqlmodel import col, select

    from tracker import recordings
    from tracker.db import Database
    from tracker.models import WorkingGroup

    db = Database(settings.storage.url)
    try:
        with db.session() as session:
            group = session.exec(select(WorkingGroup).order_by(col(WorkingGroup.id))).first()
            meeting = recordings.active(session, group) if group is not None else None
            if meeting is None:
                return None
            since = f" since {meeting.started_at:%Y-%m-%d %H:%M} UTC" if meeting.started_at else ""
            return f'this deployment is recording "{meeting.title}" (meeting {meeting.id}){since}'
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"cannot tell from the database whether a recording is running ({detail})"
    finally:
        db.dispose()


def run_voice_check(settings: Any, seconds: float = 10, capture: Path | None = None) -> list[str]:
    """`wgbot doctor --voice`: log in, join the configured voice channel, listen, report. Needs live Discord."""
    if not settings.discord.token or not settings.discord.voice_channel_id:
        return ["FAIL voice: WGBOT_DISCORD_TOKEN and WGBOT_DISCORD_VOICE_CHANNEL_ID are needed for the voice check"]
    busy = recording_in_progress(settings)
    if busy is not None:
        return [
            f"FAIL voice: not checked: {busy}. The check joins the voice channel with the bot's account and would "
            "take the recording's connection; run it when no meeting is being recorded (`/meeting stop` ends one)."
        ]
    if capture is None:
        return asyncio.run(_login_and_check(settings, seconds, None))
    try:
        out = Path(capture).open("w", encoding="utf-8")  # noqa: SIM115 - closed below, also when the check fails
    except OSError as exc:
        return [f"FAIL voice: cannot write the capture file {capture}: {exc.strerror or exc}"]
    with out:
        lines = asyncio.run(_login_and_check(settings, seconds, out))
    lines.append(f"OK voice: capture written to {capture} (no audio content: sizes, times, headers, events)")
    return lines


async def _login_and_check(settings: Any, seconds: float, capture: IO[str] | None) -> list[str]:
    import discord

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
                lines.extend(await check_voice(client, channel, seconds, capture=capture))
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
