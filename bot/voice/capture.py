"""What reached the bot in a call, without any audio content: the record `wgbot doctor --voice --capture FILE`
writes for a maintainer to read, and the one analysis the doctor's report comes from — live, or replayed from a file.

A capture is JSON Lines, one object per line; `t` is seconds since the capture started:

    {"capture": "wgbot-voice", "version": 1, "started_at": "2026-11-26T17:00:03+00:00", "channel": "weekly-call",
     "seconds": 900, "members": [{"id": "123", "name": "Alice", "bot": false, "muted": false}], ...}
    {"t": 0.41, "ev": "gw", "op": 5, "d": {"user_id": "123", "ssrc": 4711, "speaking": 1}}   voice gateway event
    {"t": 0.43, "ev": "pkt", "n": 87, "ssrc": 4711, "u": "123", "seq": 5012, "ts": 960, "pt": 120, "m": 0,
     "x": 48862, "xn": 4, "p": 0, "cc": 0, "r": "dave_decrypted"}                               one datagram
    {"t": 5.00, "ev": "ka", "n": 1}                                  a keepalive datagram the bot sent
    {"t": 0.40, "ev": "dave", "version": 1, "epoch": 2, "status": "active"}   the DAVE session changed
    {"t": 900.0, "ev": "end", "dave": {"123": {"decrypted": 9000, "failed": 0, ...}}, "totals": {...}}

`n` is the datagram's size; the RTP fields are the clear header's (`x`: extension profile, `xn`: extension bytes,
`p`: padding flag, `cc`: CSRC count); `r` is the receiver's verdict (`bot.voice.receiver.OUTCOMES`). The gateway's
session description loses its `secret_key`; nothing of any payload is kept. A capture of 15 minutes with a few
speakers is a few MB.

`CallAnalysis` reads these records (in order, as they are made or from a file) and says per person how many packets
arrived, how many were decrypted and where their packet stream had gaps, and when no audio arrived at all for
`stall_after` seconds after someone had been heard: what `wgbot doctor --voice` prints.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.voice.rtp import RtpError, parse_rtp_header
from bot.voice.watchdog import STALL_AFTER
from transcripts import clock as meeting_clock

__all__ = ["CAPTURE_FORMAT", "CallAnalysis", "CaptureError", "CaptureRecorder", "read_capture"]

CAPTURE_FORMAT = "wgbot-voice"
CAPTURE_VERSION = 1
_NOT_AUDIO = frozenset({"not_rtp", "rtcp", "unknown_ssrc"})
_DECRYPTED = frozenset({"dave_decrypted", "dave_passthrough", "plain"})
_SPEECH_BYTES = 60  # a datagram this large carries speech: silence frames make datagrams of about 40 bytes
_REDACTED_KEYS = ("secret_key",)


class CaptureError(ValueError):
    """A file that is not a wgbot voice capture, or a damaged one."""


# ---- reading ------------------------------------------------------------------------------------------------


def read_capture(path: str | Path) -> Iterator[dict]:
    """The records of a capture file, header first. Raises CaptureError for anything else."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise CaptureError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaptureError(f"{path}, line {number}: not JSON ({exc.msg})") from None
            if number == 1 and (not isinstance(record, dict) or record.get("capture") != CAPTURE_FORMAT):
                raise CaptureError(f'{path}: not a wgbot voice capture (its first line has no "capture" header)')
            if not isinstance(record, dict):
                raise CaptureError(f"{path}, line {number}: not a JSON object")
            yield record


# ---- analysis -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Stream:
    """One SSRC's sequence numbers: how many distinct ones arrived, and the runs missing between them."""

    top: int | None = None  # highest extended sequence number seen
    first: int | None = None
    seen: set[int] = field(default_factory=set)

    def add(self, sequence: int) -> None:
        if self.top is None or self.first is None:  # (both are set by the first packet)
            self.top = self.first = sequence
            self.seen.add(sequence)
            return
        diff = (sequence - self.top) & 0xFFFF
        extended = self.top + diff if diff < 0x8000 else self.top - (0x10000 - diff)
        self.top = max(self.top, extended)
        self.first = min(self.first, extended)
        self.seen.add(extended)

    def gaps(self) -> tuple[int, int]:
        """(runs of missing sequence numbers, packets missing in them)."""
        if self.top is None:
            return 0, 0
        runs = missing = 0
        previous = None
        for number in sorted(self.seen):
            if previous is not None and number > previous + 1:
                runs += 1
                missing += number - previous - 1
            previous = number
        return runs, missing


@dataclass(slots=True)
class Person:
    user_id: str
    packets: int = 0
    decrypted: int = 0
    end_to_end: int = 0
    unencrypted: int = 0
    speech: int = 0
    transport_failed: int = 0
    dave_held: int = 0
    duplicates: int = 0
    opted_out: int = 0
    dave_failed: int | None = None  # from the end record: held frames never decrypted
    dave_recovered: int | None = None
    streams: dict[int, _Stream] = field(default_factory=dict)

    def gaps(self) -> tuple[int, int]:
        runs = missing = 0
        for stream in self.streams.values():
            r, m = stream.gaps()
            runs += r
            missing += m
        return runs, missing


@dataclass(slots=True)
class Stall:
    start: float  # capture time of the last audio datagram before the stall (or when someone was first heard)
    end: float | None  # ... of the first one after it; None: audio never came back before the end
    heard: int  # people heard before the stall and still in the call

    def text(self, until: float) -> str:
        end = self.end if self.end is not None else until
        tail = "" if self.end is not None else " (the end of the check)"
        return f"no audio received from {meeting_clock.padded(self.start)} to {meeting_clock.padded(end)}{tail}, {end - self.start:.0f} s"


class CallAnalysis:
    """Counts per person and stalls, from capture records in the order they were made."""

    def __init__(self, *, stall_after: float = STALL_AFTER) -> None:
        self.stall_after = stall_after
        self.header: dict = {}
        self.people: dict[str, Person] = {}
        self.stalls: list[Stall] = []
        self.keepalives = 0
        self.gateway_events = 0
        self.not_audio: dict[str, int] = {"not_rtp": 0, "rtcp": 0, "unknown_ssrc": 0}
        self.dave_states: list[dict] = []
        self.end_time: float | None = None
        self._heard: set[str] = set()  # users with a SPEAKING event, still in the call
        self._last_audio: float | None = None
        self._first_heard: float | None = None
        self._last_t = 0.0

    @classmethod
    def replay(cls, records: Iterable[dict], **options: Any) -> CallAnalysis:
        analysis = cls(**options)
        for record in records:
            analysis.add(record)
        return analysis

    def person(self, user_id: str) -> Person:
        person = self.people.get(user_id)
        if person is None:
            person = self.people[user_id] = Person(user_id)
        return person

    def add(self, record: dict) -> None:
        if "capture" in record:
            self.header = record
            return
        t = float(record.get("t", self._last_t))
        self._last_t = max(self._last_t, t)
        kind = record.get("ev")
        if kind == "pkt":
            self._packet(t, record)
        elif kind == "gw":
            self._gateway(t, record)
        elif kind == "ka":
            self.keepalives += 1
        elif kind == "dave":
            self.dave_states.append(record)
        elif kind == "end":
            self._end(t, record)

    def _packet(self, t: float, record: dict) -> None:
        outcome = record.get("r")
        if outcome in _NOT_AUDIO:
            self.not_audio[outcome] += 1
            return
        self._audio_at(t)
        user = record.get("u")
        if user is None:
            return
        person = self.person(str(user))
        person.packets += 1
        if outcome == "opted_out":
            person.opted_out += 1
            return
        if outcome == "transport_failed":
            person.transport_failed += 1
            return
        if outcome == "duplicate":
            person.duplicates += 1
            return
        if "seq" in record and "ssrc" in record:
            stream = person.streams.get(record["ssrc"])
            if stream is None:
                stream = person.streams[record["ssrc"]] = _Stream()
            stream.add(int(record["seq"]))
        if outcome in _DECRYPTED:
            person.decrypted += 1
            if outcome == "dave_decrypted":
                person.end_to_end += 1
            else:
                person.unencrypted += 1
            if record.get("n", 0) >= _SPEECH_BYTES:
                person.speech += 1
        elif outcome == "dave_held":
            person.dave_held += 1

    def _audio_at(self, t: float) -> None:
        if self._heard:
            since = self._last_audio if self._last_audio is not None else self._first_heard
            if since is not None and t - since >= self.stall_after:
                self.stalls.append(Stall(since, t, len(self._heard)))
        if self._last_audio is None or t > self._last_audio:
            self._last_audio = t

    def _gateway(self, t: float, record: dict) -> None:
        self.gateway_events += 1
        op, data = record.get("op"), record.get("d") or {}
        if op == 5 and data.get("user_id") is not None and data.get("speaking", 1):
            if not self._heard and self._first_heard is None:
                self._first_heard = t
            self._heard.add(str(data["user_id"]))
        elif op == 13 and data.get("user_id") is not None:
            self._heard.discard(str(data["user_id"]))

    def _end(self, t: float, record: dict) -> None:
        self.end_time = t
        for user, stats in (record.get("dave") or {}).items():
            person = self.person(str(user))
            person.dave_failed = int(stats.get("failed", 0))
            person.dave_recovered = int(stats.get("recovered", 0))
            person.decrypted += person.dave_recovered
            person.end_to_end += person.dave_recovered
        if self._heard:
            since = self._last_audio if self._last_audio is not None else self._first_heard
            if since is not None and t - since >= self.stall_after:
                self.stalls.append(Stall(since, None, len(self._heard)))

    # -- the doctor's lines --------------------------------------------------------------------------------------

    def lines(self, name: Callable[[str], str | None] | None = None) -> list[str]:
        """One line per person and per stall, each starting with OK, WARN or FAIL."""
        names = {str(m.get("id")): m.get("name") for m in self.header.get("members") or [] if m.get("id")}

        def label(user: str) -> str:
            return (name(user) if name else None) or names.get(user) or user

        seconds = self.end_time if self.end_time is not None else self._last_t
        out: list[str] = []
        people = [p for p in self.people.values() if p.packets]
        if not people:
            humans = [m for m in self.header.get("members") or [] if not m.get("bot")]
            level = "WARN" if humans else "OK"
            out.append(
                f"{level} voice: no audio packets from anyone in {seconds:.0f} s "
                f"({len(humans)} people in the channel; someone must talk during the check)"
            )
        for person in sorted(people, key=lambda p: label(p.user_id).lower()):
            held_failed = person.dave_failed if person.dave_failed is not None else person.dave_held
            failed = person.transport_failed + held_failed
            received = person.packets - person.duplicates - person.opted_out
            level = "OK" if received and failed <= max(2, received // 50) else "FAIL"
            if person.opted_out == person.packets:
                level, received = "OK", person.packets
            runs, missing = person.gaps()
            gaps = f"{missing} lost in {runs} gap{'s' if runs != 1 else ''}" if runs else "no gaps"
            out.append(
                f"{level} voice: {label(person.user_id)}: {person.packets} packets received, {person.decrypted} "
                f"decrypted ({person.end_to_end} end-to-end, {person.unencrypted} unencrypted), {person.speech} with "
                f"speech, {gaps}, {person.transport_failed} failed transport decryption, {held_failed} failed DAVE "
                "decryption" + (f", {person.opted_out} dropped (opted out)" if person.opted_out else "")
            )
        for stall in self.stalls:
            out.append(
                f"WARN voice: {stall.text(seconds)} although {stall.heard} "
                f"{'person' if stall.heard == 1 else 'people'} had been heard: Discord stopped sending audio, or "
                "nobody spoke"
            )
        if self.header.get("keepalive") and seconds >= 10 and not self.keepalives:
            out.append("FAIL voice: no UDP keepalive was sent during the check")
        if self.not_audio["unknown_ssrc"]:
            out.append(
                f"OK voice: {self.not_audio['unknown_ssrc']} packets of unknown SSRCs ignored (video, or not announced)"
            )
        return out


# ---- recording one --------------------------------------------------------------------------------------------


def _redact(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: ("<removed>" if k in _REDACTED_KEYS else _redact(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_redact(v) for v in data]
    return data


def packet_record(t: float, packet: bytes, outcome: str, user_id: int | None) -> dict:
    """The capture line of one datagram: its size, clear RTP header fields and the verdict; never its payload."""
    record: dict = {"t": round(t, 4), "ev": "pkt", "n": len(packet), "r": outcome}
    if outcome in ("not_rtp",):
        return record
    try:
        header = parse_rtp_header(packet)
    except RtpError:
        return record
    record.update(
        ssrc=header.ssrc,
        seq=header.sequence,
        ts=header.timestamp,
        pt=header.payload_type,
        m=int(header.marker),
        x=header.extension_profile,
        xn=header.extension_size,
        p=int(header.padding),
        cc=len(header.csrcs),
    )
    if user_id is not None:
        record["u"] = str(user_id)
    return record


class CaptureRecorder:
    """Makes capture records from the receiver's verdicts, the gateway's events and the keepalives; hands each to a
    `CallAnalysis` and, if given, writes it to `out`. Thread-safe (packets come on discord.py's socket thread)."""

    def __init__(
        self,
        analysis: CallAnalysis,
        out: IO[str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        origin: float | None = None,
    ) -> None:
        self.analysis = analysis
        self.out = out
        self.clock = clock
        self.origin = clock() if origin is None else origin
        self._lock = threading.Lock()
        self._dave_state: tuple | None = None

    def _emit(self, record: dict) -> None:
        with self._lock:
            self.analysis.add(record)
            if self.out is not None:
                self.out.write(json.dumps(record, separators=(",", ":")) + "\n")

    def header(self, **info: Any) -> None:
        record = {
            "capture": CAPTURE_FORMAT,
            "version": CAPTURE_VERSION,
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        record.update(info)
        self._emit(record)

    def packet(self, arrival: float, packet: bytes, outcome: str, user_id: int | None) -> None:
        """A `bot.voice.receiver.PacketObserver`."""
        self._emit(packet_record(arrival - self.origin, packet, outcome, user_id))

    def gateway(self, msg: dict, at: float | None = None) -> None:
        t = (self.clock() if at is None else at) - self.origin
        self._emit({"t": round(t, 4), "ev": "gw", "op": msg.get("op"), "d": _redact(msg.get("d"))})

    def keepalive(self, counter: int) -> None:
        self._emit({"t": round(self.clock() - self.origin, 4), "ev": "ka", "n": counter})

    def dave_state(self, version: int, session: Any) -> None:
        """Record the DAVE session's state when it differs from the last one recorded."""
        from bot.voice.dave import session_status

        state = (version, getattr(session, "epoch", None), session_status(session))
        if state == self._dave_state:
            return
        self._dave_state = state
        self._emit(
            {
                "t": round(self.clock() - self.origin, 4),
                "ev": "dave",
                "version": state[0],
                "epoch": state[1],
                "status": state[2],
            }
        )

    def end(self, snapshot: dict) -> None:
        """The receiver's final counters (`VoiceReceiver.snapshot()`), DAVE's per user."""
        dave = {
            str(user): {k[5:]: v for k, v in counts.items() if k.startswith("dave_")}
            for user, counts in snapshot.get("users", {}).items()
        }
        self._emit(
            {"t": round(self.clock() - self.origin, 4), "ev": "end", "dave": dave, "totals": snapshot.get("totals", {})}
        )
