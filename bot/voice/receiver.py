"""The receive path: one UDP packet from Discord's voice server in, one speaker's Opus frame out. No decoding.

    UDP packet -> RTP header -> SSRC -> user (from the voice gateway's SPEAKING / CLIENT_CONNECT events)
               -> opted out? drop -> transport decryption (rtpsize AEAD) -> duplicate? drop
               -> DAVE end-to-end decryption (the connection's davey session) -> sink.put_frame(...)

`VoiceReceiver.feed` is called on discord.py's socket-reader thread for every datagram (it is registered with
`VoiceConnectionState.add_socket_listener`), so it does no I/O and never raises: RTCP, IP-discovery replies,
packets of unknown SSRCs (video, people we have not heard of yet) and packets that fail to decrypt are counted and
dropped. In deferred mode (what MeetingRecorder uses) `feed` only timestamps and queues the datagram, and
`process()` — run by the writer thread every 20 ms — takes the batch through the path above: discord.py's reader
thread is never held up, and a batch runs with warm caches where single packets would run cold. Packets of an SSRC not yet mapped to a user wait (up to 30 s, 1500 packets per SSRC, 32 SSRCs),
because audio can arrive well before the SPEAKING event that names its sender; they are assigned, in order, when it
comes. `handle_ws_message` takes the voice gateway's JSON messages (discord.py's
websocket `hook`). Everything about the connection — mode, secret key, DAVE session — is read from the bound
connection state on every packet, so reconnects and key changes need no re-wiring.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.voice.dave import DaveDecryptor
from bot.voice.rtp import RtpError, parse_rtp_header
from bot.voice.transport_crypto import TransportCryptoError, TransportDecryptor

__all__ = ["OUTCOMES", "FrameSink", "PacketObserver", "ReceiveStats", "UserReceiveStats", "VoiceReceiver"]

log = logging.getLogger(__name__)

# Voice-gateway opcodes that tell us who is behind an SSRC (discord.py's DiscordVoiceWebSocket numbering).
OP_SPEAKING = 5
OP_CLIENTS_CONNECT = 11
OP_CLIENT_CONNECT = 12
OP_CLIENT_DISCONNECT = 13

_SEQ_WINDOW = 512  # packets (about 10 s of one speaker) remembered for duplicate detection
_PENDING_SSRCS = 32  # SSRCs waiting for their SPEAKING event at once (more: a flood of strange SSRCs)
_PENDING_PACKETS = 1500  # packets kept per waiting SSRC: 30 s of one speaker

# What became of one datagram (the receive path's verdict; `wgbot doctor --voice --capture` records it per packet).
OUTCOMES = (
    "not_rtp",  # IP-discovery replies, keepalive echoes, noise
    "rtcp",
    "unknown_ssrc",  # video, or a sender never announced within the wait
    "opted_out",
    "no_key",  # before the session had a secret key
    "malformed",
    "transport_failed",
    "duplicate",
    "empty",  # an RTP packet without payload
    "dave_decrypted",  # end-to-end decrypted
    "dave_passthrough",  # not end-to-end encrypted in a DAVE call (silence frames, transitions)
    "plain",  # the call does not use DAVE
    "dave_held",  # could not be decrypted yet: held for a key change (see DaveStats for how that ended)
)


class PacketObserver(Protocol):
    def __call__(self, arrival: float, packet: bytes, outcome: str, user_id: int | None) -> None:
        """Told the verdict on each datagram, with the receiver's lock held (keep it quick)."""


class FrameSink(Protocol):
    def put_frame(self, user_id: int, ssrc: int, arrival: float, timestamp: int, sequence: int, frame: bytes) -> None:
        """Take one decrypted Opus frame. Called with the receiver's lock held: must be quick and not block."""


class ConnectionInfo(Protocol):
    """What the receiver reads from discord.py's `VoiceConnectionState` (or a test's stand-in)."""

    @property
    def mode(self) -> str: ...  # read-only here, so discord.py's Literal of mode names fits

    secret_key: Any  # list[int] from the voice gateway, or bytes
    dave_session: Any
    dave_protocol_version: int


@dataclass(slots=True)
class UserReceiveStats:
    packets: int = 0  # RTP packets for this user's SSRC(s), before any check
    opted_out: int = 0  # dropped unopened because the user opted out
    transport_failed: int = 0
    duplicates: int = 0
    delivered: int = 0  # frames handed to the sink

    def as_dict(self) -> dict[str, int]:
        return {
            "packets": self.packets,
            "opted_out": self.opted_out,
            "transport_failed": self.transport_failed,
            "duplicates": self.duplicates,
            "delivered": self.delivered,
        }


@dataclass(slots=True)
class ReceiveStats:
    datagrams: int = 0
    not_rtp: int = 0  # IP-discovery replies, keep-alives, noise
    rtcp: int = 0
    malformed: int = 0
    unknown_ssrc: int = 0  # never mapped to a user within the wait (video, or a sender we were not told about)
    no_key: int = 0  # arrived before the session had a secret key

    def as_dict(self) -> dict[str, int]:
        return {
            "datagrams": self.datagrams,
            "not_rtp": self.not_rtp,
            "rtcp": self.rtcp,
            "malformed": self.malformed,
            "unknown_ssrc": self.unknown_ssrc,
            "no_key": self.no_key,
        }


class _SequenceWindow:
    """Which of the recent RTP sequence numbers of one SSRC have been seen (a replay window over extended numbers)."""

    __slots__ = ("top", "mask")

    def __init__(self) -> None:
        self.top: int | None = None
        self.mask = 0

    def record(self, sequence: int) -> int | None:
        """Record `sequence`; returns its extended (unwrapped) number, or None if it was seen already or is too old
        to tell (so: drop it)."""
        if self.top is None:
            self.top, self.mask = sequence, 1
            return sequence
        diff = (sequence - self.top) & 0xFFFF
        if diff and diff < 0x8000:
            self.mask = ((self.mask << diff) | 1) & ((1 << _SEQ_WINDOW) - 1)
            self.top += diff
            return self.top
        back = (0x10000 - diff) & 0xFFFF
        if back >= _SEQ_WINDOW:
            return None
        bit = 1 << back
        if self.mask & bit:
            return None
        self.mask |= bit
        return self.top - back


class VoiceReceiver:
    """Turns voice UDP packets into per-user Opus frames for a `FrameSink`."""

    def __init__(
        self,
        sink: FrameSink,
        *,
        opted_out: Iterable[int] = (),
        clock: Callable[[], float] = time.monotonic,
        unknown_ssrc_wait: float = 30.0,
        dave_hold_seconds: float = 3.0,
        deferred: bool = False,
    ) -> None:
        self.sink = sink
        self.clock = clock
        # deferred: feed() only timestamps and queues the datagram; process() (the writer thread, every 20 ms) does
        # the rest in a batch. Keeps discord.py's socket-reader thread free, and batches run with warm caches.
        self.deferred = deferred
        self._inbox: deque[tuple[bytes, float]] = deque()
        self.opted_out: set[int] = set(opted_out)  # user ids; checked before anything is decrypted
        self.unknown_ssrc_wait = unknown_ssrc_wait
        self.stats = ReceiveStats()
        self.user_stats: dict[int, UserReceiveStats] = {}
        self.ssrc_to_user: dict[int, int] = {}
        self.ignored_ssrcs: set[int] = set()  # video and screen-share SSRCs announced by the gateway
        self.on_user_seen: Callable[[int], None] | None = None  # called (on the hook's thread) for each new user id
        self.observer: PacketObserver | None = None  # told what became of every datagram (the doctor's capture)
        self.last_audio: float | None = None  # arrival of the newest audio datagram (RTP of a non-video SSRC)
        # Users the voice gateway reported speaking on the current connection (Discord sends SPEAKING once per user
        # and connection, when they first talk): the receive watchdog expects audio while one of them is unmuted.
        self.heard: set[int] = set()
        self._connection: ConnectionInfo | None = None
        self._transport: TransportDecryptor | None = None
        self._transport_source: tuple[Any, Any] = (None, None)
        self._windows: dict[int, _SequenceWindow] = {}
        self._pending: dict[int, deque[tuple[float, bytes]]] = {}
        self._lock = threading.Lock()
        # DAVE metadata per frame: (ssrc, arrival, RTP timestamp, RTP sequence, extended sequence = send order)
        self.dave: DaveDecryptor[tuple[int, float, int, int, int]] = DaveDecryptor(
            self._dave_source, hold_seconds=dave_hold_seconds, send_order=lambda meta: (meta[0], meta[4])
        )

    # -- wiring -----------------------------------------------------------------------------------------------

    def bind(self, connection: ConnectionInfo) -> None:
        """Read mode, key and DAVE session from `connection` (discord.py's VoiceConnectionState) from now on."""
        with self._lock:
            self._connection = connection
            self._transport = None
            self._transport_source = (None, None)
            self.heard.clear()

    def _dave_source(self) -> tuple[int, Any]:
        connection = self._connection
        if connection is None:
            return 0, None
        return connection.dave_protocol_version or 0, connection.dave_session

    def _transport_for(self, connection: ConnectionInfo) -> TransportDecryptor | None:
        mode, key = connection.mode, connection.secret_key
        if not mode or not key:
            return None
        source = self._transport_source
        if source[0] is not key or source[1] != mode:
            # A new voice session (reconnect) brings a new key object; build the cipher once per key.
            self._transport = TransportDecryptor(mode, key)
            self._transport_source = (key, mode)
        return self._transport

    def _user_stats(self, user_id: int) -> UserReceiveStats:
        stats = self.user_stats.get(user_id)
        if stats is None:
            stats = self.user_stats[user_id] = UserReceiveStats()
        return stats

    # -- voice gateway events (discord.py's websocket hook) -----------------------------------------------------

    def handle_ws_message(self, msg: dict) -> None:
        op = msg.get("op")
        data = msg.get("d") or {}
        if op == OP_SPEAKING:
            self.map_ssrc(int(data["ssrc"]), int(data["user_id"]))
            if data.get("speaking", 1):
                self.heard.add(int(data["user_id"]))
        elif op == OP_CLIENT_CONNECT:
            user_id = int(data["user_id"])
            if data.get("audio_ssrc"):
                self.map_ssrc(int(data["audio_ssrc"]), user_id)
            for key in ("video_ssrc", "rtx_ssrc"):
                if data.get(key):
                    self.ignored_ssrcs.add(int(data[key]))
            for stream in data.get("streams") or ():
                for key in ("ssrc", "rtx_ssrc"):
                    if stream.get(key):
                        self.ignored_ssrcs.add(int(stream[key]))
            self._notify_user(user_id)
        elif op == OP_CLIENTS_CONNECT:
            for user_id in data.get("user_ids") or ():
                self._notify_user(int(user_id))
        elif op == OP_CLIENT_DISCONNECT:
            self.unmap_user(int(data["user_id"]))
            self.heard.discard(int(data["user_id"]))

    def _notify_user(self, user_id: int) -> None:
        if self.on_user_seen is not None:
            try:
                self.on_user_seen(user_id)
            except Exception:
                log.exception("on_user_seen callback failed for user %s", user_id)

    def map_ssrc(self, ssrc: int, user_id: int) -> None:
        if not ssrc:
            return
        if self.ssrc_to_user.get(ssrc) != user_id:
            # Before the mapping is visible to the packet thread, so an opt-out check it triggers is in place
            # before the first packet of this user can be decrypted.
            self._notify_user(user_id)
        with self._lock:
            previous = self.ssrc_to_user.get(ssrc)
            self.ssrc_to_user[ssrc] = user_id
            self.ignored_ssrcs.discard(ssrc)
            if previous != user_id:
                self._windows.pop(ssrc, None)
                log.debug("SSRC %s is user %s", ssrc, user_id)
            waiting = self._pending.pop(ssrc, None)
            if not waiting:
                return
            # Replay what waited for this mapping before anything newer of the same SSRC: DAVE refuses a nonce older
            # than the first one a key has opened, so the order matters. Still under the lock, so nothing overtakes.
            now = self.clock()
            fresh = [(packet, arrival) for arrival, packet in waiting if now - arrival <= self.unknown_ssrc_wait]
            self.stats.unknown_ssrc += len(waiting) - len(fresh)
            if self.deferred:
                self._inbox.extendleft(reversed(fresh))
                return
            for packet, arrival in fresh:
                self._feed_one(packet, arrival)

    def unmap_user(self, user_id: int) -> None:
        with self._lock:
            for ssrc in [s for s, u in self.ssrc_to_user.items() if u == user_id]:
                del self.ssrc_to_user[ssrc]
                self._windows.pop(ssrc, None)

    # -- the packet path (socket-reader thread) -----------------------------------------------------------------

    def feed(self, packet: bytes, arrival: float | None = None) -> None:
        """Handle one UDP datagram. Never raises (an exception would only be logged by discord.py's reader)."""
        if arrival is None:
            arrival = self.clock()
        if self.deferred:
            self._inbox.append((packet, arrival))  # deque.append is atomic: no lock on the socket thread
            return
        with self._lock:
            self._feed_one(packet, arrival)

    def process(self) -> int:
        """Run the queued datagrams through the receive path (deferred mode). Returns how many there were."""
        inbox = self._inbox
        count = 0
        with self._lock:
            while inbox:
                packet, arrival = inbox.popleft()
                count += 1
                self._feed_one(packet, arrival)
        return count

    def _feed_one(self, packet: bytes, arrival: float) -> None:
        """One datagram through the path, its verdict to the observer; with the lock held. Never raises."""
        try:
            outcome = self._feed_locked(packet, arrival)
        except Exception:  # a bug here must not stop the recording of everyone else
            log.exception("voice receive path failed on a %d-byte packet", len(packet))
            return
        if outcome is not None and self.observer is not None:
            try:
                self.observer(arrival, packet, outcome, self.ssrc_to_user.get(int.from_bytes(packet[8:12], "big")))
            except Exception:
                log.exception("voice packet observer failed")

    def _feed_locked(self, packet: bytes, arrival: float) -> str | None:
        """The datagram's outcome (one of OUTCOMES), or None while it waits for its SSRC to be announced."""
        stats = self.stats
        stats.datagrams += 1
        if len(packet) < 12 or packet[0] >> 6 != 2:  # rtp.is_rtp, inlined: this runs for every datagram
            stats.not_rtp += 1
            return "not_rtp"
        if 64 <= (packet[1] & 0x7F) < 96:  # rtp.is_rtcp
            stats.rtcp += 1
            return "rtcp"
        ssrc = int.from_bytes(packet[8:12], "big")  # rtp.peek_ssrc
        user_id = self.ssrc_to_user.get(ssrc)
        if user_id is None:
            return self._wait_for_ssrc(ssrc, packet, arrival)
        if self.last_audio is None or arrival > self.last_audio:
            self.last_audio = arrival
        ustats = self.user_stats.get(user_id) or self._user_stats(user_id)
        ustats.packets += 1
        if user_id in self.opted_out:
            ustats.opted_out += 1
            return "opted_out"
        connection = self._connection
        transport = self._transport_for(connection) if connection is not None else None
        if transport is None:
            stats.no_key += 1
            return "no_key"
        try:
            header = parse_rtp_header(packet)
        except RtpError:
            stats.malformed += 1
            return "malformed"
        try:
            payload = transport.decrypt(packet, header)
        except TransportCryptoError:
            ustats.transport_failed += 1
            return "transport_failed"
        window = self._windows.get(ssrc)
        if window is None:
            window = self._windows[ssrc] = _SequenceWindow()
        extended_sequence = window.record(header.sequence)
        if extended_sequence is None:
            ustats.duplicates += 1
            return "duplicate"
        if not payload:
            return "empty"
        put = self.sink.put_frame
        dave = self.dave
        for (m_ssrc, m_arrival, m_timestamp, m_sequence, _order), frame in dave.decrypt(
            user_id, payload, arrival, (ssrc, arrival, header.timestamp, header.sequence, extended_sequence)
        ):
            ustats.delivered += 1
            put(user_id, m_ssrc, m_arrival, m_timestamp, m_sequence, frame)
        return dave.last_outcome

    def _wait_for_ssrc(self, ssrc: int, packet: bytes, arrival: float) -> str | None:
        """Keep a packet of an SSRC nobody has claimed yet: its SPEAKING event can come late (seconds, after a
        reconnect or for a newcomer). Bounded: `_PENDING_SSRCS` SSRCs, `_PENDING_PACKETS` packets and
        `unknown_ssrc_wait` seconds each."""
        if ssrc in self.ignored_ssrcs:
            self.stats.unknown_ssrc += 1
            return "unknown_ssrc"
        if self.last_audio is None or arrival > self.last_audio:
            self.last_audio = arrival
        queue = self._pending.get(ssrc)
        if queue is None:
            if len(self._pending) >= _PENDING_SSRCS:  # a flood of strange SSRCs: do not let it grow without bound
                self.stats.unknown_ssrc += 1
                return "unknown_ssrc"
            queue = self._pending[ssrc] = deque()
        if len(queue) >= _PENDING_PACKETS:
            old_arrival, old_packet = queue.popleft()
            self._unknown(old_packet, old_arrival)
        queue.append((arrival, packet))
        return None

    def _unknown(self, packet: bytes, arrival: float) -> None:
        """A waiting packet given up on: its SSRC was never claimed in time."""
        self.stats.unknown_ssrc += 1
        if self.observer is not None:
            try:
                self.observer(arrival, packet, "unknown_ssrc", None)
            except Exception:
                log.exception("voice packet observer failed")

    # -- periodic upkeep (called by the writer's or the recorder's timer) ----------------------------------------

    def maintain(self, now: float | None = None) -> None:
        """Expire packets of SSRCs nobody claimed, and retry DAVE frames held over a key change."""
        now = self.clock() if now is None else now
        with self._lock:
            for ssrc in list(self._pending):
                queue = self._pending[ssrc]
                while queue and now - queue[0][0] > self.unknown_ssrc_wait:
                    arrival, packet = queue.popleft()
                    self._unknown(packet, arrival)
                if not queue:
                    del self._pending[ssrc]
            for user_id, (ssrc, arrival, timestamp, sequence, _order), frame in self.dave.maintain(now):
                # Held frames keep their own arrival time, so they land where they were spoken.
                self._user_stats(user_id).delivered += 1
                self.sink.put_frame(user_id, ssrc, arrival, timestamp, sequence, frame)

    def snapshot(self) -> dict:
        """Counters for status displays and the doctor: totals and per user (transport and DAVE layers)."""
        with self._lock:
            users = {}
            for user_id in set(self.user_stats) | set(self.dave.all_stats()):
                entry = self._user_stats(user_id).as_dict()
                entry.update({f"dave_{k}": v for k, v in self.dave.stats(user_id).as_dict().items()})
                users[user_id] = entry
            return {"totals": self.stats.as_dict(), "users": users}
