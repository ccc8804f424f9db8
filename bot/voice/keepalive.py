"""UDP keepalive on the voice socket: one small datagram every 5 seconds while connected.

The bot joins self-muted and discord.py sends UDP only while playing, so without this the bot's voice socket is
silent for the whole call. Discord's voice server stops forwarding audio to a client it has not heard from for a
while (discord-ext-voice-recv #8, pycord #3388, discord.js #9202), and a NAT (Docker's bridge) forgets the mapping
of a silent socket. Receive libraries therefore send a keepalive every 5 s; this is the same datagram discord.js
sends: 8 bytes, a counter as unsigned 32-bit little-endian in the first four. It is too short to be RTP, so the
receive path ignores an echo of it.

`UdpKeepAlive.tick()` decides and sends (testable on any clock); `start()` runs it on the event loop until
`stop()`. It reads the connection's socket on every tick, so after discord.py reconnects (a new socket) the first
tick sends at once and the 5 s schedule starts again from there; while discord.py is not connected nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Callable
from typing import Any

__all__ = ["KEEPALIVE_INTERVAL", "UdpKeepAlive", "keepalive_datagram"]

log = logging.getLogger(__name__)

KEEPALIVE_INTERVAL = 5.0
_POLL = 0.5  # how often the running task looks: a new socket after a reconnect is served within this


def keepalive_datagram(counter: int) -> bytes:
    return struct.pack("<I", counter & 0xFFFFFFFF) + bytes(4)


class UdpKeepAlive:
    """Sends `keepalive_datagram`s on `connection.socket` (discord.py's `VoiceConnectionState`, or a stand-in with
    `socket` and `is_connected()`)."""

    def __init__(
        self,
        connection: Any,
        *,
        interval: float = KEEPALIVE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        on_sent: Callable[[int], None] | None = None,
    ) -> None:
        self.connection = connection
        self.interval = interval
        self.clock = clock
        self.on_sent = on_sent
        self.counter = 0
        self.sent = 0  # datagrams sent, over every socket
        self.restarts = 0  # sockets served after the first (reconnects)
        self._socket: Any = None
        self._next = 0.0
        self._task: asyncio.Task | None = None

    def tick(self, now: float | None = None) -> bool:
        """Send a keepalive if one is due (or the socket is new). Returns whether one was sent."""
        now = self.clock() if now is None else now
        connection = self.connection
        try:
            connected = connection.is_connected()
            sock = connection.socket
        except Exception:
            return False
        if not connected or not sock:  # discord.py's MISSING socket is falsy
            return False
        if sock is not self._socket:
            if self._socket is not None:
                self.restarts += 1
                log.debug("voice keepalive: a new voice socket (reconnected); sending at once")
            self._socket, self._next = sock, now
        if now < self._next:
            return False
        try:
            sock.send(keepalive_datagram(self.counter))
        except (OSError, ValueError) as exc:  # closed mid-reconnect: the next socket gets the next one
            log.debug("voice keepalive not sent: %s", exc)
            self._next = now + _POLL
            return False
        self.counter = (self.counter + 1) & 0xFFFFFFFF
        self.sent += 1
        # On the 5 s grid (a late tick does not push the next one later), unless a whole interval was missed.
        self._next = self._next + self.interval if now - self._next < self.interval else now + self.interval
        if self.on_sent is not None:
            try:
                self.on_sent(self.counter)
            except Exception:
                log.exception("voice keepalive callback failed")
        return True

    # -- on the event loop ------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="voice-udp-keepalive")

    def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        self._socket = None

    async def _run(self) -> None:
        poll = min(_POLL, self.interval / 5)
        while True:
            try:
                self.tick()
            except Exception:  # never let the keepalive die of a bug; it is what keeps the audio coming
                log.exception("voice keepalive failed")
            await asyncio.sleep(poll)
