"""What people are told about a recording: the notice when it starts, the one for late joiners, and the bot's
nickname marker while it records. Plain text builders, so the bot helper and the tests share one wording."""

from __future__ import annotations

__all__ = [
    "RECORDING_MARKER",
    "consent_notice",
    "late_joiner_notice",
    "plain_nickname",
    "recording_nickname",
    "stopped_notice",
    "decrypt_warning",
    "stall_warning",
]

RECORDING_MARKER = "🔴 REC"
_NICK_LIMIT = 32  # Discord's nickname length limit


def consent_notice(
    *,
    recorder: str,
    retention_days: int,
    contact: str,
    meeting: str | None = None,
    optout_command: str = "/record optout",
    resumed: bool = False,
) -> str:
    """The message posted in the meeting's text channel when recording starts (or resumes after a restart)."""
    what = f"**{meeting}**" if meeting else "this call"
    head = "Recording resumed" if resumed else "Recording started"
    kept = (
        "The audio is deleted after the minutes are published"
        if retention_days == 0
        else f"The audio is kept for {retention_days} day{'s' if retention_days != 1 else ''} after the minutes are published, then deleted"
    )
    return (
        f"{RECORDING_MARKER} **{head}** — {recorder} is recording {what}, one audio track per speaker.\n"
        "• What happens to it: the audio is transcribed on our own server (no third-party service) and turned into "
        "the meeting minutes, which are published with action items and decisions.\n"
        f"• How long: {kept}.\n"
        f"• Opting out: use `{optout_command}` and your voice is never written to disk (it is dropped on arrival, "
        "and anything already recorded of you in this meeting is deleted). You can also simply leave the voice channel.\n"
        f"• Questions or deletion requests: {contact}."
    )


def late_joiner_notice(mention: str, *, recorder: str, optout_command: str = "/record optout") -> str:
    """Posted when someone joins the voice channel while a recording is running."""
    return (
        f"{RECORDING_MARKER} {mention}, this call is being recorded by {recorder} for the meeting minutes "
        f"(see the notice above). Use `{optout_command}` if you do not want your voice recorded."
    )


def stopped_notice(*, reason: str, duration_seconds: float, speakers: int) -> str:
    minutes, seconds = divmod(int(round(duration_seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    length = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"
    return (
        f"⏹️ **Recording stopped** ({reason}) after {length}, {speakers} speaker{'s' if speakers != 1 else ''} recorded."
    )


def decrypt_warning(*, failed: int, window_seconds: float, users: list[str]) -> str:
    who = ", ".join(users) if users else "some speakers"
    return (
        f"⚠️ I could not decrypt {failed} audio packets from {who} in the last {int(window_seconds)} s, so their "
        "audio is missing from the recording. I am reconnecting to the call to get fresh encryption keys; if this "
        "message repeats, ask them to rejoin the voice channel."
    )


def stall_warning(*, seconds: float, users: list[str]) -> str:
    who = ", ".join(users) if users else "people in the call"
    return (
        f"⚠️ No audio has reached me for {int(seconds)} s although {who} "
        f"{'is' if len(users) == 1 else 'are'} unmuted, so anything said since is missing from the recording. "
        "I am reconnecting to the call; the gap will be noted in the minutes."
    )


def recording_nickname(current: str) -> str:
    """The bot's nickname while recording: the marker in front, within Discord's 32-character limit."""
    if current.startswith(RECORDING_MARKER):
        return current[:_NICK_LIMIT]
    return f"{RECORDING_MARKER} {current}"[:_NICK_LIMIT]


def plain_nickname(current: str) -> str:
    """Undo `recording_nickname` (also after a crash left the marker on)."""
    if current.startswith(RECORDING_MARKER):
        return current[len(RECORDING_MARKER) :].lstrip() or current
    return current
