"""A simulated Discord voice server, and whole calls through it on a simulated clock.

`SimulatedVoiceServer` does what Discord's voice server does as far as the bot's UDP socket can tell: it answers
IP discovery, forwards every other participant's RTP packets to each connected client — and, as Discord does
(discord-ext-voice-recv #8, pycord #3388, discord.js #9202), stops forwarding to a client it has heard nothing from
for `idle_cutoff` (60 s). Datagrams travel over real loopback UDP sockets; time is simulated, so an hour-long call
runs in seconds: the server and the bot read the one simulated clock, and loopback delivery is immediate.

`run_call` plays a scripted call through it into the real receive path (`VoiceReceiver`, deferred as the recorder
wires it), the real `UdpKeepAlive` and, if asked, the real `RecordingWriter` and a `CaptureRecorder`: speakers'
clients DAVE-encrypt with their own davey sessions (one MLS group with the bot), packetize to RTP, transport-encrypt.
"""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import davey

from bot.voice.keepalive import UdpKeepAlive
from bot.voice.opus_frames import SILENCE_FRAME
from bot.voice.receiver import VoiceReceiver
from bot.voice.testing import ExternalSender, SimulatedSpeaker, form_group
from bot.voice.transport_crypto import TransportEncryptor
from tests.voice.speech import encode_line

MODE = "aead_xchacha20_poly1305_rtpsize"
IDLE_CUTOFF = 60.0  # seconds of silence from a client after which Discord stops forwarding to it
NETWORK_DELAY = 0.03


class SimulatedVoiceServer:
    """Forwards RTP to clients that have sent something within `idle_cutoff` seconds of simulated time."""

    def __init__(self, *, idle_cutoff: float = IDLE_CUTOFF) -> None:
        self.idle_cutoff = idle_cutoff
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()
        self.last_heard: dict[tuple, float] = {}  # client address -> simulated time of its last datagram
        self.heard: list[tuple[float, int]] = []  # (time, size) of every datagram from a client
        self.forwarded = 0
        self.withheld = 0  # packets not forwarded to a client that had gone silent

    def close(self) -> None:
        self.sock.close()

    def poll(self, now: float) -> None:
        """Read what clients sent: keepalives, IP discovery (answered, as Discord does)."""
        while True:
            try:
                data, address = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            self.last_heard[address] = now
            self.heard.append((now, len(data)))
            if len(data) == 74 and data[:2] == b"\x00\x01":
                ip = address[0].encode().ljust(64, b"\0")
                reply = (
                    struct.pack(">HHI", 2, 70, struct.unpack_from(">I", data, 4)[0])
                    + ip
                    + struct.pack(">H", address[1])
                )
                self.sock.sendto(reply, address)

    def forwarding_to(self, address: tuple, now: float) -> bool:
        last = self.last_heard.get(address)
        return last is not None and now - last <= self.idle_cutoff

    def send(self, packet: bytes, now: float) -> None:
        """One participant's packet, to every client the server still forwards to."""
        for address in list(self.last_heard):
            if self.forwarding_to(address, now):
                self.sock.sendto(packet, address)
                self.forwarded += 1
            else:
                self.withheld += 1


class BotConnection:
    """The bot's side of the voice connection, as the receiver and the keepalive read discord.py's
    `VoiceConnectionState`: mode, key, DAVE session, and the UDP socket (connected to the server, as discord.py's)."""

    def __init__(self, server: SimulatedVoiceServer, key: bytes, dave_session: davey.DaveSession | None) -> None:
        self.server = server
        self.mode = MODE
        self.secret_key = list(key)
        self.dave_session = dave_session
        self.dave_protocol_version = 1 if dave_session is not None else 0
        self.socket: socket.socket | None = None
        self.ssrc = 424_242

    def is_connected(self) -> bool:
        return self.socket is not None

    def connect(self) -> None:
        """A (re)connect: a new socket, and IP discovery — the first datagram the server hears from it."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(self.server.address)
        sock.setblocking(False)
        sock.send(struct.pack(">HHI", 1, 70, self.ssrc) + bytes(66))
        self.socket = sock

    def disconnect(self) -> None:
        if self.socket is not None:
            self.socket.close()
        self.socket = None

    def drain(self) -> list[bytes]:
        out = []
        while self.socket is not None:
            try:
                out.append(self.socket.recv(2048))
            except BlockingIOError:
                break
        return out


@dataclass(slots=True)
class Line:
    start: float  # seconds from the call's start
    user_id: int
    text: str
    voice: str


@dataclass
class CallResult:
    receiver: VoiceReceiver
    server: SimulatedVoiceServer
    keepalive: UdpKeepAlive | None
    writer: object | None
    sent_speech: dict[int, int]  # speech frames each speaker sent
    sent_by_line: list[tuple[Line, int]]  # (line, first sequence number of it) for per-line checks
    delivered: dict[int, int] = field(default_factory=dict)  # frames the receiver handed to the sink per user
    line_frames: dict[int, list[bytes]] = field(default_factory=dict)


class _CountingSink:
    def __init__(self, inner=None) -> None:
        self.inner = inner
        self.frames: dict[int, list[tuple[float, bytes]]] = {}

    def put_frame(self, user_id, ssrc, arrival, timestamp, sequence, frame):
        self.frames.setdefault(user_id, []).append((arrival, frame))
        if self.inner is not None:
            self.inner.put_frame(user_id, ssrc, arrival, timestamp, sequence, frame)


def run_call(
    lines: Sequence[Line],
    *,
    duration: float,
    keepalive: bool = True,
    names: dict[int, str] | None = None,
    ssrcs: dict[int, int] | None = None,
    folder: Path | None = None,
    capture=None,
    speaking_delay: dict[int, float] | None = None,
    on_tick: Callable[[float, VoiceReceiver, BotConnection], None] | None = None,
    idle_cutoff: float = IDLE_CUTOFF,
    seed: int = 5,
    now: list[float] | None = None,
) -> CallResult:
    """Play `lines` through a `SimulatedVoiceServer` to the bot for `duration` simulated seconds.

    `keepalive`: run the bot's `UdpKeepAlive` (on the simulated clock). `folder`: record into it with a
    `RecordingWriter`. `capture`: a `CaptureRecorder` to observe the receiver and the keepalives. `speaking_delay`:
    a speaker's SPEAKING event arrives this long after their first packet (default: right before it).
    `on_tick(now, receiver, connection)` runs every simulated second (a watchdog under test). `now`: a one-element
    list holding the simulated clock, to share it with the caller's own observers.
    """
    rng = random.Random(seed)
    now = now if now is not None else [0.0]
    clock = lambda: now[0]  # noqa: E731
    channel, bot_id = 1_234_567_890_123, 999
    key = bytes(range(40, 72))
    users = sorted({line.user_id for line in lines})
    names = names or {u: f"user{u}" for u in users}
    ssrcs = ssrcs or {u: 2000 + i for i, u in enumerate(users)}
    gateway = ExternalSender()
    sessions = {u: davey.DaveSession(1, u, channel) for u in [*users, bot_id]}
    form_group(gateway, channel, list(sessions.values()))
    speakers = {u: SimulatedSpeaker(u, ssrcs[u], TransportEncryptor(MODE, key), sessions[u]) for u in users}

    # Every packet each speaker sends, at its send time (the RTP clock runs on through pauses).
    timeline: list[tuple[float, int, bytes, bytes]] = []
    sent_speech: dict[int, int] = dict.fromkeys(users, 0)
    sent_by_line = []
    next_send: dict[int, float | None] = dict.fromkeys(users)
    for line in sorted(lines, key=lambda item: item.start):
        speaker = speakers[line.user_id]
        frames = [*encode_line(line.text, line.voice).frames, *[SILENCE_FRAME] * 5]
        if next_send[line.user_id] is not None:
            speaker.skip(round((line.start - next_send[line.user_id]) * 48_000))
        sent_by_line.append((line, speaker.sequence))
        for i, frame in enumerate(frames):
            timeline.append((line.start + i * 0.02, line.user_id, speaker.packet(frame), frame))
            sent_speech[line.user_id] += len(frame) > 3
        next_send[line.user_id] = line.start + len(frames) * 0.02
    timeline.sort(key=lambda item: item[0])

    server = SimulatedVoiceServer(idle_cutoff=idle_cutoff)
    connection = BotConnection(server, key, sessions[bot_id])
    writer = None
    if folder is not None:
        from bot.voice.manifest import RecordingFolder
        from bot.voice.writer import RecordingWriter

        writer = RecordingWriter(
            RecordingFolder.open(folder, "simulated-call"),
            speaker_name=names.get,
            clock=clock,
            meeting_time_at_start=0.0,
        )
    sink = _CountingSink(writer)
    receiver = VoiceReceiver(sink, clock=clock, deferred=True)
    if writer is not None:
        writer.maintenance, writer.intake = receiver.maintain, receiver.process
    receiver.bind(connection)
    if capture is not None:
        receiver.observer = capture.packet
    ka = UdpKeepAlive(connection, clock=clock, on_sent=capture.keepalive if capture is not None else None)
    connection.connect()
    first_packet = {u: next(t for t, user, _p, _f in timeline if user == u) for u in users}
    speaking = sorted(
        (first_packet[u] + (speaking_delay or {}).get(u, -0.001), u) for u in users
    )  # (time, user) of each SPEAKING event

    def announce_until(t: float) -> None:
        while speaking and speaking[0][0] <= t:
            at, user = speaking.pop(0)
            now[0] = max(now[0], at)
            msg = {"op": 5, "d": {"user_id": str(user), "ssrc": ssrcs[user], "speaking": 1}}
            if capture is not None:
                capture.gateway(msg)
            receiver.handle_ws_message(msg)

    def pump() -> None:
        if writer is not None:
            writer.pump(now[0])
        else:
            receiver.process()
            receiver.maintain()

    def advance_to(t: float) -> None:
        """Let simulated time pass up to `t` in 1 s steps: keepalives, the server's reading, the watchdog."""
        while now[0] + 1.0 <= t:
            now[0] = float(int(now[0]) + 1)
            announce_until(now[0])
            if keepalive:
                ka.tick(now[0])
            server.poll(now[0])
            deliver()
            pump()
            if on_tick is not None:
                on_tick(now[0], receiver, connection)
        now[0] = max(now[0], t)

    def deliver() -> None:
        for data in connection.drain():
            receiver.feed(data, now[0] + NETWORK_DELAY + rng.uniform(0, 0.006))

    for send_time, _user, packet, _frame in timeline:
        advance_to(send_time)
        announce_until(send_time)
        if keepalive:
            ka.tick(now[0])
        server.poll(now[0])
        server.send(packet, now[0])
        deliver()
        pump()
    advance_to(max(duration, now[0] + 2.0))
    if writer is not None:
        writer.close()
    else:
        receiver.process()
        receiver.maintain(now[0] + 10)
    connection.disconnect()
    server.close()
    result = CallResult(receiver, server, ka if keepalive else None, writer, sent_speech, sent_by_line)
    result.delivered = {u: sum(1 for _a, f in sink.frames.get(u, []) if len(f) > 3) for u in users}
    result.line_frames = {u: [f for _a, f in sink.frames.get(u, [])] for u in users}
    result.arrivals = {u: [a for a, f in sink.frames.get(u, []) if len(f) > 3] for u in users}
    return result


def meeting_script(minutes: float, speakers: dict[int, str], *, every: float = 70.0, seed: int = 11) -> list[Line]:
    """Lines spread over `minutes`: each speaker talks now and then, with pauses of a minute or more between, so the
    bot's socket is silent far longer than the server's idle cut-off."""
    rng = random.Random(seed)
    texts = [
        "Good morning everyone, welcome to the weekly meeting.",
        "Thanks Alice, the new release shipped on Monday.",
        "Sorry I am late, the train was delayed.",
        "Let us review the open action items next week.",
        "I will write the summary and send it out.",
    ]
    out = []
    t = 2.0
    users = list(speakers)
    while t < minutes * 60 - 10:
        user = users[len(out) % len(users)]
        out.append(Line(t, user, rng.choice(texts), speakers[user]))
        t += every * rng.uniform(0.8, 1.4)
    return out
