"""A SPEAKING event that comes late: the unknown SSRC's packets wait (bounded) and are assigned when it arrives,
instead of being dropped after 3 s as `unknown_ssrc`."""

from __future__ import annotations

import json
from types import SimpleNamespace

from bot.voice.receiver import VoiceReceiver
from bot.voice.testing import SimulatedSpeaker
from bot.voice.transport_crypto import TransportEncryptor
from tests.voice.voice_server import Line, run_call

ALICE, BOB = 101, 202


def test_late_speaking_event_ten_seconds_on_keeps_every_packet(tmp_path):
    lines = [
        Line(1.0, ALICE, "Good morning everyone, welcome to the weekly meeting.", "en-us+m3"),
        Line(3.0, BOB, "Thanks Alice, the new release shipped on Monday.", "en-gb-x-rp"),
        Line(9.0, BOB, "Sorry I am late, the train was delayed.", "en-gb-x-rp"),
    ]
    result = run_call(
        lines, duration=30, names={ALICE: "Alice", BOB: "Bob"}, folder=tmp_path / "rec", speaking_delay={BOB: 10.0}
    )
    assert result.receiver.stats.unknown_ssrc == 0
    assert result.delivered == result.sent_speech  # Bob's first ten seconds were kept and decrypted
    assert result.receiver.dave.stats(BOB).failed == 0
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    bob = next(t for t in manifest["tracks"] if t["speaker"] == "Bob")
    assert abs(bob["offset"] - 3.03) < 0.02  # placed where he spoke, not where the event came


def test_waiting_packets_are_bounded():
    sink = SimpleNamespace(frames=[])
    sink.put_frame = lambda *args: sink.frames.append(args)
    now = [0.0]
    key = bytes(32)
    receiver = VoiceReceiver(sink, clock=lambda: now[0])
    receiver.bind(
        SimpleNamespace(
            mode="aead_xchacha20_poly1305_rtpsize", secret_key=key, dave_session=None, dave_protocol_version=0
        )
    )
    speaker = SimulatedSpeaker(7, 700, TransportEncryptor("aead_xchacha20_poly1305_rtpsize", key))
    for i in range(1600):  # 32 s of one speaker before anyone says who it is
        now[0] = i * 0.02
        receiver.feed(speaker.packet(b"\xf8\xff\xfe"), now[0])
    receiver.maintain()  # older than the 30 s wait: given up on
    receiver.handle_ws_message({"op": 5, "d": {"user_id": "7", "ssrc": 700, "speaking": 1}})
    assert len(sink.frames) + receiver.stats.unknown_ssrc == 1600
    assert 1400 <= len(sink.frames) <= 1500 and receiver.stats.unknown_ssrc >= 100
    for i in range(40):  # at most 32 SSRCs wait at once: a flood of strange ones is counted, not kept
        receiver.feed(
            SimulatedSpeaker(9, 9000 + i, TransportEncryptor("aead_xchacha20_poly1305_rtpsize", key)).packet(
                b"\xf8\xff\xfe"
            ),
            now[0],
        )
    assert len(receiver._pending) == 32
