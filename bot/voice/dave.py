"""DAVE end-to-end decryption of received Opus frames, through the voice connection's own `davey.DaveSession`.

discord.py 2.7 runs the DAVE/MLS key exchange for the connection (voice-gateway opcodes 21-31) and keeps the
session on `VoiceConnectionState.dave_session`; the session holds a decryptor per group member. This module only
calls `session.decrypt(user_id, MediaType.audio, frame)` and decides what to do with frames it cannot open:

- A frame without the DAVE trailer (the 0xFAFA magic marker) is not end-to-end encrypted: Opus silence frames,
  and senders in a protocol transition or downgrade. It is passed through unchanged and counted as such.
- A frame with the marker that does not decrypt is *held* (a few seconds, bounded) rather than dropped: the usual
  cause is a key transition we have not processed yet (a commit or welcome still on its way), and the same frame
  decrypts once the session's epoch moves on. Held frames are retried in the order they were sent, not the order
  they arrived: DAVE accepts a nonce older than the newest it has opened only if it saw the gap, and a fresh key
  has seen nothing. Frames still undecryptable when their time is up are counted as failed; the recorder warns in
  the text channel when that keeps happening.
- Duplicated packets must be removed *before* this layer: DAVE rejects a nonce it has already seen, so a
  duplicate would be counted as a decryption failure.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import davey

__all__ = ["DAVE_MAGIC_MARKER", "DaveDecryptor", "DaveStats", "looks_dave_encrypted", "session_status"]

log = logging.getLogger(__name__)

DAVE_MAGIC_MARKER = b"\xfa\xfa"
_AUDIO = davey.MediaType.audio

Meta = TypeVar("Meta")
# What the decryptor needs from the voice connection: (negotiated DAVE protocol version, session or None).
SessionSource = Callable[[], "tuple[int, Any]"]


def looks_dave_encrypted(frame: bytes) -> bool:
    # Smallest DAVE frame: 1 byte of media, 8-byte tag, 1-byte nonce, 1-byte supplemental size, 2-byte marker.
    return len(frame) >= 13 and frame[-2:] == DAVE_MAGIC_MARKER


def session_status(session: Any) -> str:
    """The session's status as a word ("active", "pending", ...); "none" without a session.

    davey 0.1.7's `SessionStatus` is a native enum without `.name`; its str() is "SessionStatus.active".
    """
    if session is None:
        return "none"
    try:
        status = session.status
    except Exception as exc:  # a session being reset mid-call
        return f"unknown ({type(exc).__name__})"
    name = getattr(status, "name", None)
    return name if isinstance(name, str) else str(status).rpartition(".")[2]


@dataclass(slots=True)
class DaveStats:
    decrypted: int = 0  # opened with the sender's current or previous key
    recovered: int = 0  # of those, frames that failed at first and opened after a key change
    passthrough: int = 0  # not end-to-end encrypted (silence, transition), accepted unchanged
    plain: int = 0  # the call is not using DAVE at all
    failed: int = 0  # given up on: never decrypted within the hold time, or the hold buffer was full
    held: int = 0  # waiting for a key change right now

    def as_dict(self) -> dict[str, int]:
        return {
            "decrypted": self.decrypted,
            "recovered": self.recovered,
            "passthrough": self.passthrough,
            "plain": self.plain,
            "failed": self.failed,
            "held": self.held,
        }


@dataclass(slots=True)
class _Held(Generic[Meta]):
    arrival: float
    meta: Meta
    frame: bytes


@dataclass(slots=True)
class _UserState:
    stats: DaveStats = field(default_factory=DaveStats)
    held: deque = field(default_factory=deque)
    held_key: tuple = ()  # (session identity, epoch) when the held frames last failed


class DaveDecryptor(Generic[Meta]):
    """Per-user DAVE decryption with a small hold-and-retry buffer. Not thread-safe: the receiver serializes calls."""

    def __init__(
        self,
        session_source: SessionSource,
        *,
        hold_seconds: float = 3.0,
        hold_limit: int = 200,
        send_order: Callable[[Any], Any] | None = None,  # a sort key of a frame's metadata
    ) -> None:
        self._source = session_source
        # Held frames are retried in the order they were sent (e.g. by extended RTP sequence number): DAVE accepts
        # a nonce older than the newest it has seen only if it saw a gap there, and a new key has seen nothing.
        self._send_order = send_order
        self.hold_seconds = hold_seconds
        self.hold_limit = hold_limit
        self._users: dict[int, _UserState] = {}
        # What became of the frame of the last decrypt() call: decrypted, passthrough, plain or held (the receiver's
        # per-packet verdict; an attribute rather than a return value keeps the hot path's tuple unpacking as is).
        self.last_outcome = "dave_held"

    def stats(self, user_id: int) -> DaveStats:
        return self._user(user_id).stats

    def all_stats(self) -> dict[int, DaveStats]:
        return {uid: state.stats for uid, state in self._users.items()}

    def _user(self, user_id: int) -> _UserState:
        state = self._users.get(user_id)
        if state is None:
            state = self._users[user_id] = _UserState()
        return state

    def decrypt(self, user_id: int, frame: bytes, arrival: float, meta: Meta) -> list[tuple[Meta, bytes]]:
        """Frames ready for the writer, in order: earlier held frames that now open, then this one if it opens."""
        state = self._user(user_id)
        stats = state.stats
        version, session = self._source()
        out: list[tuple[Meta, bytes]] = []
        if state.held:
            self._retry_held(user_id, state, session, arrival, out)
        if not looks_dave_encrypted(frame):
            if version and session is not None:
                stats.passthrough += 1
                self.last_outcome = "dave_passthrough"
            else:
                stats.plain += 1
                self.last_outcome = "plain"
            out.append((meta, frame))
            return out
        if session is not None and version:
            try:
                opened = session.decrypt(user_id, _AUDIO, frame)
            except ValueError:
                opened = None
            if opened is not None:
                stats.decrypted += 1
                self.last_outcome = "dave_decrypted"
                out.append((meta, opened))
                return out
        self._hold(state, session, arrival, meta, frame)
        self.last_outcome = "dave_held"
        return out

    def maintain(self, now: float) -> list[tuple[int, Meta, bytes]]:
        """Called periodically: retry held frames after a key change even if their sender has gone quiet, and give
        up on those older than the hold time. Returns (user_id, meta, frame) for frames that opened."""
        if not any(state.held for state in self._users.values()):
            return []
        _version, session = self._source()
        opened: list[tuple[int, Meta, bytes]] = []
        for user_id, state in self._users.items():
            if state.held:
                out: list[tuple[Meta, bytes]] = []
                self._retry_held(user_id, state, session, now, out)
                opened.extend((user_id, meta, frame) for meta, frame in out)
        return opened

    def _hold(self, state: _UserState, session: Any, arrival: float, meta: Meta, frame: bytes) -> None:
        if len(state.held) >= self.hold_limit:
            state.held.popleft()
            state.stats.failed += 1
        state.held.append(_Held(arrival, meta, frame))
        state.held_key = _session_key(session)
        state.stats.held = len(state.held)

    def _retry_held(self, user_id: int, state: _UserState, session: Any, now: float, out: list) -> None:
        self._drop_expired(state, now)
        if not state.held or session is None or _session_key(session) == state.held_key:
            return
        # The session moved to a new epoch (or was replaced) since these frames failed: try them again, in order.
        held_frames = list(state.held)
        send_order = self._send_order
        if send_order is not None:
            held_frames.sort(key=lambda held: send_order(held.meta))
        still_held: deque = deque()
        for held in held_frames:
            try:
                opened = session.decrypt(user_id, _AUDIO, held.frame)
            except ValueError:
                still_held.append(held)
                continue
            state.stats.decrypted += 1
            state.stats.recovered += 1
            out.append((held.meta, opened))
        if len(still_held) < len(state.held):
            log.info(
                "DAVE: %d held frames of user %s opened after a key change", len(state.held) - len(still_held), user_id
            )
        still_held = deque(sorted(still_held, key=lambda held: held.arrival))  # expiry goes by arrival
        state.held = still_held
        state.held_key = _session_key(session)
        state.stats.held = len(still_held)

    def _drop_expired(self, state: _UserState, now: float) -> int:
        dropped = 0
        while state.held and now - state.held[0].arrival > self.hold_seconds:
            state.held.popleft()
            dropped += 1
        if dropped:
            state.stats.failed += dropped
            state.stats.held = len(state.held)
        return dropped


def _session_key(session: Any) -> tuple:
    if session is None:
        return (None, None)
    try:
        epoch = session.epoch
    except Exception:  # a session being reset mid-call
        epoch = None
    return (id(session), epoch)
