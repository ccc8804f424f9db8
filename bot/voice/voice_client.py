"""A discord.py `VoiceClient` that can feed a `VoiceReceiver`: discord.py 2.7 sends voice but has no receive API.

It uses only the two seams discord.py's `VoiceConnectionState` offers: the websocket `hook` (every JSON message of
the voice gateway, after discord.py has handled it — SPEAKING and CLIENT_CONNECT tell us whose SSRC is whose) and
`add_socket_listener` (every UDP datagram, on discord.py's socket-reader thread). Mode, secret key and the DAVE
session are read from the connection state by the receiver itself. Connect with

    vc = await channel.connect(cls=RecordingVoiceClient, self_deaf=False, self_mute=True)
    vc.attach(receiver)

Deafened clients receive no audio, so `self_deaf` must stay False; muting ourselves is fine (we never speak) —
but then the bot sends no UDP at all, and Discord stops forwarding audio to a silent client: a `UdpKeepAlive` runs
from `connect` until `cleanup` (discord.py calls it on every disconnect), over every socket discord.py's own
reconnects create.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import discord
from discord.voice_state import VoiceConnectionState

from bot.voice.keepalive import UdpKeepAlive
from bot.voice.receiver import VoiceReceiver

__all__ = ["RecordingVoiceClient"]

log = logging.getLogger(__name__)


class RecordingVoiceClient(discord.VoiceClient):
    def __init__(self, client: discord.Client, channel: discord.abc.Connectable) -> None:
        self.receiver: VoiceReceiver | None = None
        # Told every voice-gateway JSON message with its arrival time (the doctor's capture); set before attach().
        self.gateway_listener: Callable[[dict, float], None] | None = None
        # Gateway messages that arrive before a receiver is attached (SPEAKING events during the handshake).
        self._early_messages: list[tuple[float, dict]] = []
        super().__init__(client, channel)
        self.keepalive = UdpKeepAlive(self._connection)

    async def connect(self, **kwargs: Any) -> None:
        await super().connect(**kwargs)
        self.keepalive.start()

    def cleanup(self) -> None:
        self.keepalive.stop()
        super().cleanup()

    def create_connection_state(self) -> VoiceConnectionState:
        return VoiceConnectionState(self, hook=self._on_voice_ws_message)

    async def _on_voice_ws_message(self, _ws: Any, msg: dict) -> None:
        receiver = self.receiver
        if receiver is None:
            if len(self._early_messages) < 1000:
                self._early_messages.append((time.monotonic(), msg))
            return
        self._deliver(receiver, msg, time.monotonic())

    def _deliver(self, receiver: VoiceReceiver, msg: dict, at: float) -> None:
        listener = self.gateway_listener
        try:
            if listener is not None:
                listener(msg, at)
            receiver.handle_ws_message(msg)
        except Exception:  # a malformed event must not break discord.py's websocket loop
            log.exception("could not handle voice gateway message op=%s", msg.get("op"))

    @property
    def connection_state(self) -> VoiceConnectionState:
        return self._connection

    def attach(self, receiver: VoiceReceiver) -> None:
        """Start delivering this connection's packets and gateway events to `receiver`."""
        self.detach()
        self.receiver = receiver
        receiver.bind(self._connection)
        early, self._early_messages = self._early_messages, []
        for at, msg in early:
            self._deliver(receiver, msg, at)
        self._connection.add_socket_listener(receiver.feed)

    def detach(self) -> None:
        if self.receiver is not None:
            self._connection.remove_socket_listener(self.receiver.feed)
            self.receiver = None
