"""The receive watchdog: notices when audio stops reaching the bot although people are talking.

When packets simply stop (Discord no longer forwards to the bot, a NAT forgot the socket), nothing fails: there is
nothing to decrypt, so no decryption warning, and the websocket is fine. The only sign is silence where there should
be audio. Discord tells the bot who speaks with one SPEAKING event per user and connection (when they first talk),
so "audio expected" means: someone reported speaking on this connection is in the channel and not muted.

`ReceiveWatchdog.check` is called every tick with the newest audio arrival and whether audio is expected; it says
what to do. After `stall_after` (15 s) without audio while it is expected: "stalled" (warn once, reconnect) and a
gap opens at the last audio. While the gap lasts it says "reconnect" again every `retry_after` seconds as long as
audio is still expected (after a reconnect that means: someone spoke on the new connection, yet nothing arrived).
The first audio after the gap closes it: "resumed". A pause in the talk looks the same from here; that costs one
needless reconnect and a note, and after the reconnect nobody is expected until someone speaks again.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STALL_AFTER", "ReceiveGap", "ReceiveWatchdog"]

STALL_AFTER = 15.0
RETRY_AFTER = 60.0


@dataclass(slots=True)
class ReceiveGap:
    start: float  # clock time of the last audio before it (or of the connection, if none came)
    end: float | None = None  # clock time of the first audio after it
    reconnects: int = 0


class ReceiveWatchdog:
    def __init__(self, *, stall_after: float = STALL_AFTER, retry_after: float = RETRY_AFTER) -> None:
        self.stall_after = stall_after
        self.retry_after = retry_after
        self.gaps: list[ReceiveGap] = []
        self.open: ReceiveGap | None = None
        self._connected_at: float | None = None
        self._last_action = float("-inf")

    def connected(self, now: float) -> None:
        """A (re)connection is up: silence is measured from here at the earliest."""
        self._connected_at = now

    def check(self, now: float, last_audio: float | None, expecting: bool) -> str | None:
        """'stalled', 'reconnect', 'resumed' or None."""
        gap = self.open
        if gap is not None:
            if last_audio is not None and last_audio > gap.start:
                gap.end = last_audio
                self.open = None
                return "resumed"
            if expecting and now - self._last_action >= self.retry_after:
                self._last_action = now
                gap.reconnects += 1
                return "reconnect"
            return None
        if not expecting:
            return None
        candidates = [t for t in (last_audio, self._connected_at) if t is not None]
        if not candidates or now - max(candidates) < self.stall_after:
            return None
        start = candidates[0]  # last_audio, or when there is none the connection time
        self.open = ReceiveGap(start, reconnects=1)
        self.gaps.append(self.open)
        self._last_action = now
        return "stalled"
