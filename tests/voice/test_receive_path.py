"""The receive path packet by packet: RTP header parsing at its boundaries, the duplicate window, and every verdict
`VoiceReceiver` can reach, with the counters and the observer that report it. The packets are built here byte by
byte with `struct` (RFC 3550's layout), independently of the parser; the payloads are opaque bytes because the
receiver never decodes audio. Fast enough for mutation testing (`make mutate`)."""

from __future__ import annotations

import logging
import struct
from types import SimpleNamespace

import pytest

from bot.voice import receiver as receiver_module
from bot.voice.receiver import OUTCOMES, VoiceReceiver, _SequenceWindow
from bot.voice.rtp import RtpError, RtpHeader, is_rtcp, is_rtp, parse_rtp_header, peek_ssrc
from bot.voice.testing import SimulatedSpeaker
from bot.voice.transport_crypto import TransportEncryptor

XCHACHA = "aead_xchacha20_poly1305_rtpsize"
KEY = bytes(range(32))


def rtp(
    *,
    version=2,
    padding=False,
    extension=False,
    csrcs=(),
    marker=False,
    payload_type=120,
    sequence=1,
    timestamp=2,
    ssrc=3,
    words=0,
    tail=b"",
) -> bytes:
    first = version << 6 | (0x20 if padding else 0) | (0x10 if extension else 0) | len(csrcs)
    second = (0x80 if marker else 0) | payload_type
    packet = struct.pack(">BBHII", first, second, sequence, timestamp, ssrc)
    packet += b"".join(struct.pack(">I", c) for c in csrcs)
    if extension:
        packet += struct.pack(">HH", 0xBEDE, words)
    return packet + tail


# ---- rtp.py ----------------------------------------------------------------------------------------------------


def test_a_bare_twelve_byte_header():
    header = parse_rtp_header(rtp(sequence=0x1234, timestamp=0x89ABCDEF, ssrc=0xFEDCBA98, payload_type=111))
    assert header == RtpHeader(
        marker=False,
        payload_type=111,
        sequence=0x1234,
        timestamp=0x89ABCDEF,
        ssrc=0xFEDCBA98,
        padding=False,
        csrcs=(),
        extension_profile=None,
        extension_size=0,
        aad_size=12,
    )


def test_every_field_of_a_full_header():
    packet = rtp(padding=True, extension=True, csrcs=(1, 0xFFFFFFFF, 5), marker=True, payload_type=0x7F, words=3)
    header = parse_rtp_header(packet + bytes(12))
    assert header.marker is True and header.padding is True
    assert header.payload_type == 0x7F
    assert header.csrcs == (1, 0xFFFFFFFF, 5)
    assert (header.extension_profile, header.extension_size, header.aad_size) == (0xBEDE, 12, 12 + 12 + 4)


def test_the_marker_and_padding_bits_are_read_from_their_own_bits():
    header = parse_rtp_header(rtp(payload_type=0x7F))  # every payload-type bit set, the marker not
    assert header.marker is False and header.payload_type == 0x7F
    header = parse_rtp_header(rtp(extension=True, csrcs=tuple(range(15))))  # X and CC bits set, P not
    assert header.padding is False and header.extension_profile == 0xBEDE and len(header.csrcs) == 15
    assert header.aad_size == 12 + 60 + 4 and header.extension_size == 0


def test_one_csrc_is_not_an_extension():
    header = parse_rtp_header(rtp(csrcs=(0xBEDE0001,), tail=bytes(8)))
    assert header.csrcs == (0xBEDE0001,) and header.extension_profile is None
    assert (header.extension_size, header.aad_size) == (0, 16)


def test_an_extension_preamble_that_ends_the_packet_is_enough():
    header = parse_rtp_header(rtp(extension=True, csrcs=(9,), words=1))  # exactly 12 + 4 + 4 bytes
    assert header.aad_size == 20 and header.extension_size == 4


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (rtp()[:11], "packet of 11 bytes is shorter than an RTP header"),
        (b"", "packet of 0 bytes is shorter than an RTP header"),
        (rtp(version=1), "RTP version 1, expected 2"),
        (rtp(version=3), "RTP version 3, expected 2"),
        (rtp(csrcs=(1, 2))[:19], "packet of 19 bytes is too short for its 2 CSRCs"),
        (rtp(extension=True)[:15], "packet ends inside its RTP header-extension preamble"),
        (rtp(extension=True, csrcs=(1,))[:19], "packet ends inside its RTP header-extension preamble"),
    ],
)
def test_malformed_headers_are_refused_with_the_reason(packet, message):
    with pytest.raises(RtpError) as raised:
        parse_rtp_header(packet)
    assert str(raised.value) == message


def test_is_rtp_is_version_two_and_at_least_a_header():
    assert is_rtp(rtp())
    assert not is_rtp(rtp()[:11])
    assert not is_rtp(rtp(version=1)) and not is_rtp(rtp(version=3)) and not is_rtp(rtp(version=0))


@pytest.mark.parametrize(("second", "rtcp"), [(63, False), (64, True), (95, True), (96, False), (0x80 | 72, True)])
def test_rtcp_packet_types_fall_where_marker_and_payload_type_are(second, rtcp):
    assert is_rtcp(bytes([0x80, second]) + bytes(10)) is rtcp


def test_peek_ssrc_reads_bytes_eight_to_twelve():
    assert peek_ssrc(rtp(ssrc=0x01020304, sequence=0xFFFF, timestamp=0xFFFFFFFF, tail=b"\xff" * 8)) == 0x01020304


# ---- the duplicate window --------------------------------------------------------------------------------------


def test_the_window_unwraps_sequence_numbers_and_drops_replays():
    window = _SequenceWindow()
    assert window.record(65_534) == 65_534
    assert window.record(65_535) == 65_535
    assert window.record(0) == 65_536  # wrapped: still later
    assert window.record(3) == 65_539
    assert window.record(1) == 65_537  # late but new
    assert window.record(1) is None  # seen
    assert window.record(65_535) is None
    assert window.record(2) == 65_538
    assert window.record(3) is None  # the newest, again


def test_the_window_remembers_the_last_512_numbers():
    window = _SequenceWindow()
    window.record(1000)
    window.record(1511)  # 1000 is now 511 back: still inside
    assert window.record(1000) is None
    assert window.record(1001) == 1001
    window.record(1512)  # 1000 falls out
    assert window.record(1000) is None  # too old to tell: dropped all the same
    assert window.record(1002) == 1002  # 510 back


def test_a_jump_forward_by_less_than_half_the_number_space_is_new():
    window = _SequenceWindow()
    window.record(10)
    assert window.record(10 + 0x7FFF) == 10 + 0x7FFF
    assert window.record(10 + 0x7FFF + 0x8000) is None  # exactly half: treated as behind, and far too old
    window = _SequenceWindow()
    window.record(10)
    assert window.record(10 + 600) == 610
    assert window.record(10) is None  # the jump pushed it out of the window


# ---- the receiver ----------------------------------------------------------------------------------------------


class Sink:
    def __init__(self):
        self.frames: list[tuple] = []

    def put_frame(self, user_id, ssrc, arrival, timestamp, sequence, frame):
        self.frames.append((user_id, ssrc, arrival, timestamp, sequence, frame))


def connection(mode=XCHACHA, key=KEY, session=None, version=0):
    return SimpleNamespace(mode=mode, secret_key=key, dave_session=session, dave_protocol_version=version)


def speaker(ssrc=700, user_id=7, **kwargs) -> SimulatedSpeaker:
    return SimulatedSpeaker(user_id, ssrc, TransportEncryptor(XCHACHA, KEY), **kwargs)


def frame(n: int) -> bytes:
    return bytes([0x78, n, n, n])  # an opaque Opus-like payload, not DAVE-encrypted


def receiver_with(*, observe=True, **kwargs):
    sink = Sink()
    seen: list[tuple] = []
    receiver = VoiceReceiver(sink, **kwargs)
    receiver.bind(connection())
    if observe:

        def observer(arrival, packet, outcome, user):
            receiver.observed_packets.append(packet)
            seen.append((arrival, outcome, user))

        receiver.observed_packets = []
        receiver.observer = observer
    return receiver, sink, seen


def test_the_defaults():
    receiver = VoiceReceiver(Sink())
    assert receiver.unknown_ssrc_wait == 30.0 and receiver.dave.hold_seconds == 3.0
    assert receiver.on_user_seen is None and receiver.observer is None and receiver.deferred is False
    assert VoiceReceiver(Sink(), dave_hold_seconds=1.5).dave.hold_seconds == 1.5


def test_a_normal_run_logs_no_error(caplog):
    sink = Sink()
    receiver = VoiceReceiver(sink)  # no callback, no observer
    receiver.bind(connection())
    with caplog.at_level(logging.DEBUG, logger="bot.voice.receiver"):
        receiver.handle_ws_message({"op": 5, "d": {"user_id": "7", "ssrc": 0x01000700}})
        receiver.handle_ws_message({"op": 12, "d": {"user_id": "8"}})
        receiver.feed(speaker(0x01000700).packet(frame(1)), 1.0)
    assert [r.levelname for r in caplog.records] == ["DEBUG"]
    assert caplog.messages == [f"SSRC {0x01000700} is user 7"]
    assert [(f[0], f[1]) for f in sink.frames] == [(7, 0x01000700)]  # all four SSRC bytes count


def test_the_observer_is_told_the_user_of_a_large_ssrc():
    receiver, _sink, seen = receiver_with()
    receiver.map_ssrc(0xFE000700, 7)
    receiver.feed(speaker(0xFE000700).packet(frame(1)), 1.0)
    assert seen == [(1.0, "plain", 7)]


def test_a_plain_packet_reaches_the_sink_with_its_rtp_fields():
    receiver, sink, seen = receiver_with()
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    first_sequence, first_timestamp = alice.sequence, alice.timestamp
    receiver.feed(alice.packet(frame(1)), 5.0)
    receiver.feed(alice.packet(frame(2)), 5.02)
    assert sink.frames == [
        (7, 700, 5.0, first_timestamp, first_sequence, frame(1)),
        (7, 700, 5.02, (first_timestamp + 960) & 0xFFFFFFFF, (first_sequence + 1) & 0xFFFF, frame(2)),
    ]
    assert seen == [(5.0, "plain", 7), (5.02, "plain", 7)]
    assert receiver.user_stats[7].as_dict() == {
        "packets": 2,
        "opted_out": 0,
        "transport_failed": 0,
        "duplicates": 0,
        "delivered": 2,
    }
    assert receiver.stats.as_dict() == {
        "datagrams": 2,
        "not_rtp": 0,
        "rtcp": 0,
        "malformed": 0,
        "unknown_ssrc": 0,
        "no_key": 0,
    }
    assert receiver.last_audio == 5.02


def test_not_rtp_and_rtcp_are_counted_and_dropped():
    receiver, sink, seen = receiver_with()
    receiver.map_ssrc(3, 7)
    receiver.feed(b"\x00\x02" + bytes(72), 1.0)  # an IP-discovery reply
    receiver.feed(rtp()[:11], 1.1)
    receiver.feed(rtp(version=1), 1.2)
    receiver.feed(bytes([0x80, 200]) + bytes(10), 1.3)  # RTCP sender report
    receiver.feed(bytes([0x80, 0x80 | 95]) + bytes(10), 1.4)
    receiver.feed(bytes([0x80, 64]) + bytes(10), 1.5)
    assert receiver.last_audio is None  # none of it was audio
    receiver.feed(rtp(payload_type=63, ssrc=3), 1.6)  # RTP: a mapped SSRC, but no key to open it here
    receiver.feed(rtp(payload_type=96, ssrc=3), 1.7)
    assert sink.frames == []
    outcomes = [outcome for _a, outcome, _u in seen]
    assert outcomes == ["not_rtp", "not_rtp", "not_rtp", "rtcp", "rtcp", "rtcp", "transport_failed", "transport_failed"]
    assert (receiver.stats.datagrams, receiver.stats.not_rtp, receiver.stats.rtcp) == (8, 3, 3)
    assert receiver.last_audio == 1.7


def test_opted_out_users_are_dropped_before_anything_is_opened():
    receiver, sink, seen = receiver_with(opted_out=[7])
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    receiver.feed(alice.packet(frame(1)), 2.0)
    receiver.feed(alice.packet(frame(2)), 1.5)
    assert sink.frames == [] and seen == [(2.0, "opted_out", 7), (1.5, "opted_out", 7)]
    assert (receiver.user_stats[7].packets, receiver.user_stats[7].opted_out) == (2, 2)
    assert receiver.last_audio == 2.0  # still audio: the watchdog hears it


def test_packets_before_the_session_has_a_key(caplog):
    receiver, sink, seen = receiver_with()
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    receiver.bind(connection(key=None))
    receiver.feed(alice.packet(frame(1)), 1.0)
    receiver.bind(connection(mode=""))
    receiver.feed(alice.packet(frame(2)), 1.1)
    unbound = VoiceReceiver(Sink())
    unbound.map_ssrc(700, 7)
    unbound.feed(alice.packet(frame(3)), 1.2)
    assert sink.frames == [] and [o for _a, o, _u in seen] == ["no_key", "no_key"]
    assert receiver.stats.no_key == 2 and unbound.stats.no_key == 1


def test_malformed_transport_failures_duplicates_and_empty_payloads():
    receiver, sink, seen = receiver_with()
    receiver.map_ssrc(3, 7)
    receiver.map_ssrc(700, 7)
    receiver.feed(rtp(csrcs=(1, 2, 3))[:20], 1.0)  # says 3 CSRCs, carries 2
    receiver.feed(rtp(csrcs=(1, 2, 3))[:20], 1.05)
    alice = speaker(700)
    good = alice.packet(frame(1))
    tampered = bytearray(good)
    tampered[-6] ^= 1
    receiver.feed(bytes(tampered), 1.1)
    receiver.feed(bytes(tampered), 1.15)
    receiver.feed(good, 1.2)
    receiver.feed(good, 1.3)
    receiver.feed(good, 1.35)
    receiver.feed(alice.packet(b""), 1.4)
    assert [o for _a, o, _u in seen] == [
        "malformed",
        "malformed",
        "transport_failed",
        "transport_failed",
        "plain",
        "duplicate",
        "duplicate",
        "empty",
    ]
    assert receiver.stats.malformed == 2
    stats = receiver.user_stats[7]
    assert (stats.packets, stats.transport_failed, stats.duplicates, stats.delivered) == (8, 2, 2, 1)
    assert receiver.observed_packets[4] == good
    assert [f[-1] for f in sink.frames] == [frame(1)]


def test_a_bytearray_packet_as_discordpy_reads_it():
    receiver, sink, _seen = receiver_with()
    receiver.map_ssrc(700, 7)
    receiver.feed(bytearray(speaker(700).packet(frame(1))), 1.0)
    assert [f[-1] for f in sink.frames] == [frame(1)]


def test_the_transport_cipher_is_built_once_per_key_and_again_for_a_new_one(monkeypatch):
    built = []
    real = receiver_module.TransportDecryptor

    def counting(mode, key):
        built.append((mode, bytes(key)))
        return real(mode, key)

    monkeypatch.setattr(receiver_module, "TransportDecryptor", counting)
    receiver, sink, _seen = receiver_with()
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    key = list(KEY)
    receiver.bind(connection(key=key))
    for n in range(3):
        receiver.feed(alice.packet(frame(n)), float(n))
    assert len(built) == 1
    receiver._connection.secret_key = list(KEY)  # a reconnect: an equal key, but a new object
    receiver.feed(alice.packet(frame(5)), 5.0)
    assert len(built) == 2
    receiver._connection.mode = "aead_aes256_gcm_rtpsize"  # same key object, another mode
    receiver.feed(alice.packet(frame(6)), 6.0)  # (sealed with XChaCha: it cannot open)
    assert len(built) == 3 and built[-1][0] == "aead_aes256_gcm_rtpsize"
    assert len(sink.frames) == 4


def test_a_packet_of_an_unannounced_ssrc_waits_for_its_speaking_event():
    now = [10.0]
    receiver, sink, seen = receiver_with(clock=lambda: now[0], unknown_ssrc_wait=2.0)
    alice = speaker(700)
    receiver.feed(alice.packet(frame(1)), 9.0)
    receiver.feed(alice.packet(frame(2)), 9.5)
    assert sink.frames == [] and seen == []  # no verdict yet
    assert receiver.last_audio == 9.5
    receiver.handle_ws_message({"op": 5, "d": {"user_id": "7", "ssrc": 700, "speaking": 1}})
    assert [f[-1] for f in sink.frames] == [frame(1), frame(2)]  # in order, with their arrival times
    assert [f[2] for f in sink.frames] == [9.0, 9.5]
    assert receiver.stats.unknown_ssrc == 0 and receiver.heard == {7}


def test_waiting_packets_older_than_the_wait_are_given_up_when_the_mapping_comes():
    now = [10.0]
    receiver, sink, _seen = receiver_with(clock=lambda: now[0], unknown_ssrc_wait=2.0)
    alice = speaker(700)
    receiver.stats.unknown_ssrc = 5  # given up earlier
    receiver.feed(alice.packet(frame(1)), 7.9)
    receiver.feed(alice.packet(frame(2)), 8.0)  # exactly the wait: still fresh
    receiver.map_ssrc(700, 7)
    assert [f[-1] for f in sink.frames] == [frame(2)]
    assert receiver.stats.unknown_ssrc == 6


def test_maintain_expires_packets_nobody_claimed():
    receiver, sink, seen = receiver_with(unknown_ssrc_wait=1.0)
    expired = speaker(700).packet(frame(1))
    receiver.feed(expired, 0.0)
    receiver.feed(speaker(800).packet(frame(1)), 0.5)
    receiver.maintain(1.0)  # exactly the wait: kept
    assert receiver.stats.unknown_ssrc == 0 and len(receiver._pending) == 2
    receiver.maintain(1.2)
    assert receiver.stats.unknown_ssrc == 1 and list(receiver._pending) == [800]
    assert seen == [(0.0, "unknown_ssrc", None)] and receiver.observed_packets == [expired]
    receiver.maintain(2.0)
    assert receiver.stats.unknown_ssrc == 2 and receiver._pending == {}
    receiver.map_ssrc(700, 7)
    assert sink.frames == []


def test_maintain_uses_the_clock_when_not_told_the_time():
    now = [0.0]
    receiver, _sink, _seen = receiver_with(clock=lambda: now[0], unknown_ssrc_wait=1.0)
    receiver.feed(speaker(700).packet(frame(1)), 0.0)
    now[0] = 0.9
    receiver.maintain()
    assert receiver._pending
    now[0] = 1.1
    receiver.maintain()
    assert not receiver._pending and receiver.stats.unknown_ssrc == 1


def test_the_wait_is_bounded_per_ssrc_and_in_ssrcs(monkeypatch):
    monkeypatch.setattr(receiver_module, "_PENDING_PACKETS", 3)
    monkeypatch.setattr(receiver_module, "_PENDING_SSRCS", 2)
    receiver, sink, seen = receiver_with(unknown_ssrc_wait=100.0, clock=lambda: 7.0)
    alice = speaker(700)
    first_two = []
    for n in range(5):
        packet = alice.packet(frame(n))
        first_two.append(packet)
        receiver.feed(packet, float(n))
    assert len(receiver._pending[700]) == 3
    assert seen == [(0.0, "unknown_ssrc", None), (1.0, "unknown_ssrc", None)]  # the oldest go first
    assert receiver.observed_packets == [first_two[0], first_two[1]]
    receiver.feed(speaker(800).packet(frame(0)), 5.0)
    receiver.feed(speaker(900).packet(frame(0)), 6.0)  # a third SSRC: refused at once
    assert sorted(receiver._pending) == [700, 800]
    assert seen[-1] == (6.0, "unknown_ssrc", None) and receiver.stats.unknown_ssrc == 3
    receiver.map_ssrc(700, 7)
    assert [f[-1] for f in sink.frames] == [frame(2), frame(3), frame(4)]


def test_video_ssrcs_announced_by_the_gateway_are_dropped_at_once():
    receiver, _sink, seen = receiver_with()
    users: list[int] = []
    receiver.on_user_seen = users.append
    receiver.handle_ws_message(
        {
            "op": 12,
            "d": {
                "user_id": "7",
                "audio_ssrc": 700,
                "video_ssrc": 701,
                "rtx_ssrc": 702,
                "streams": [{"ssrc": 703, "rtx_ssrc": 704}, {"ssrc": 0}],
            },
        }
    )
    assert receiver.ssrc_to_user == {700: 7}
    assert receiver.ignored_ssrcs == {701, 702, 703, 704}
    assert users == [7, 7]  # told of the mapping, and of the user connecting
    receiver.feed(rtp(ssrc=701, tail=bytes(40)), 3.0)
    receiver.feed(rtp(ssrc=703, tail=bytes(40)), 3.1)
    assert seen == [(3.0, "unknown_ssrc", None), (3.1, "unknown_ssrc", None)] and receiver._pending == {}
    assert receiver.stats.unknown_ssrc == 2
    assert receiver.last_audio is None  # video is not audio
    # An SSRC that turns out to be audio after all (reused) is no longer ignored.
    receiver.map_ssrc(702, 8)
    assert 702 not in receiver.ignored_ssrcs


def test_client_connect_without_audio_and_clients_connect():
    receiver, _sink, _seen = receiver_with()
    users: list[int] = []
    receiver.on_user_seen = users.append
    receiver.handle_ws_message({"op": 12, "d": {"user_id": "5", "audio_ssrc": 0, "streams": None}})
    receiver.handle_ws_message({"op": 11, "d": {"user_ids": ["8", "9"]}})
    receiver.handle_ws_message({"op": 11, "d": {}})
    receiver.handle_ws_message({"op": 99, "d": {"user_id": "1"}})
    assert users == [5, 8, 9] and receiver.ssrc_to_user == {} and receiver.ignored_ssrcs == set()


def test_speaking_events_and_disconnects_keep_the_heard_set():
    receiver, _sink, _seen = receiver_with()
    receiver.handle_ws_message({"op": 5, "d": {"user_id": "7", "ssrc": 700, "speaking": 0}})
    assert receiver.ssrc_to_user == {700: 7} and receiver.heard == set()
    receiver.handle_ws_message({"op": 5, "d": {"user_id": "8", "ssrc": 800}})  # speaking missing: counts
    receiver.handle_ws_message({"op": 5, "d": {"user_id": "9", "ssrc": 900, "speaking": 2}})
    assert receiver.heard == {8, 9}
    receiver.handle_ws_message({"op": 13, "d": {"user_id": "8"}})
    assert receiver.heard == {9} and receiver.ssrc_to_user == {700: 7, 900: 9}
    receiver.bind(connection())  # a new connection: Discord says SPEAKING again
    assert receiver.heard == set()


def test_a_failing_user_callback_does_not_stop_the_mapping(caplog):
    receiver, sink, _seen = receiver_with()

    def broken(user_id):
        raise RuntimeError("callback bug")

    receiver.on_user_seen = broken
    with caplog.at_level(logging.ERROR, logger="bot.voice.receiver"):
        receiver.handle_ws_message({"op": 5, "d": {"user_id": "7", "ssrc": 700}})
    assert receiver.ssrc_to_user == {700: 7}
    assert caplog.messages == ["on_user_seen callback failed for user 7"]


def test_the_user_callback_runs_before_the_first_packet_is_opened():
    receiver, sink, seen = receiver_with(clock=lambda: 1.5)
    receiver.feed(speaker(700).packet(frame(1)), 1.0)  # waits for the mapping
    # The callback learns who this is and opts them out: the waiting packet must not be delivered.
    receiver.on_user_seen = receiver.opted_out.add
    receiver.map_ssrc(700, 7)
    assert sink.frames == [] and seen == [(1.0, "opted_out", 7)]
    calls: list[int] = []
    receiver.on_user_seen = calls.append
    receiver.map_ssrc(700, 7)  # the same mapping again: nobody new
    receiver.map_ssrc(0, 9)  # SSRC 0 is not a stream
    assert calls == [] and 0 not in receiver.ssrc_to_user


def test_remapping_an_ssrc_to_another_user_resets_its_duplicate_window():
    receiver, sink, _seen = receiver_with()
    receiver.map_ssrc(700, 7)
    first = speaker(700, rng=None)
    packet = first.packet(frame(1))
    receiver.feed(packet, 1.0)
    receiver.map_ssrc(700, 7)  # the same user: the window stays
    receiver.feed(packet, 1.1)
    assert receiver.user_stats[7].duplicates == 1
    receiver.map_ssrc(700, 8)  # another user now sends with this SSRC, from the same sequence number
    receiver.feed(packet, 1.2)
    assert [f[0] for f in sink.frames] == [7, 8]


def test_unmap_user_forgets_all_their_ssrcs():
    receiver, sink, _seen = receiver_with(unknown_ssrc_wait=5.0)
    receiver.map_ssrc(700, 7)
    receiver.map_ssrc(701, 7)
    receiver.map_ssrc(800, 8)
    receiver.feed(speaker(700).packet(frame(1)), 1.0)
    receiver.unmap_user(7)
    assert receiver.ssrc_to_user == {800: 8}
    assert 700 not in receiver._windows
    receiver.feed(speaker(700).packet(frame(2)), 2.0)
    assert 700 in receiver._pending and len(sink.frames) == 1


def test_deferred_mode_queues_on_the_socket_thread_and_processes_in_a_batch():
    now = [4.0]
    receiver, sink, seen = receiver_with(clock=lambda: now[0], deferred=True)
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    receiver.feed(alice.packet(frame(1)))  # arrival from the clock
    now[0] = 4.5
    receiver.feed(alice.packet(frame(2)), 4.4)
    assert sink.frames == [] and receiver.stats.datagrams == 0
    assert receiver.process() == 2
    assert [(f[2], f[-1]) for f in sink.frames] == [(4.0, frame(1)), (4.4, frame(2))]
    assert receiver.process() == 0


def test_deferred_mode_replays_waiting_packets_before_newer_ones():
    receiver, sink, _seen = receiver_with(deferred=True, clock=lambda: 1.0)
    bob = speaker(800, user_id=8)
    early = [bob.packet(frame(n)) for n in range(2)]
    receiver.feed(early[0], 0.5)
    receiver.feed(early[1], 0.6)
    receiver.process()
    later = bob.packet(frame(2))
    receiver.feed(later, 0.9)  # queued, not processed yet
    receiver.map_ssrc(800, 8)
    receiver.process()
    assert [f[-1] for f in sink.frames] == [frame(0), frame(1), frame(2)]


def test_the_clock_gives_the_arrival_in_direct_mode_too():
    receiver, sink, _seen = receiver_with(clock=lambda: 42.0)
    receiver.map_ssrc(700, 7)
    receiver.feed(speaker(700).packet(frame(1)))
    assert sink.frames[0][2] == 42.0


def test_last_audio_only_moves_forward():
    receiver, _sink, _seen = receiver_with()
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    receiver.feed(alice.packet(frame(1)), 5.0)
    receiver.feed(alice.packet(frame(2)), 4.0)
    assert receiver.last_audio == 5.0
    receiver.feed(speaker(800).packet(frame(1)), 4.5)  # waiting packets count too, forward only
    assert receiver.last_audio == 5.0
    receiver.feed(speaker(800).packet(frame(2)), 6.0)
    assert receiver.last_audio == 6.0


def test_a_bug_in_the_path_or_the_observer_is_logged_not_raised(caplog, monkeypatch):
    receiver, sink, _seen = receiver_with()
    receiver.map_ssrc(700, 7)

    def broken_observer(*args):
        raise RuntimeError("observer bug")

    receiver.observer = broken_observer
    alice = speaker(700)
    with caplog.at_level(logging.ERROR, logger="bot.voice.receiver"):
        receiver.feed(alice.packet(frame(1)), 1.0)
        assert len(sink.frames) == 1 and caplog.messages == ["voice packet observer failed"]

        def broken_sink(*args):
            raise RuntimeError("sink bug")

        monkeypatch.setattr(sink, "put_frame", broken_sink)
        packet = alice.packet(frame(2))
        receiver.feed(packet, 2.0)
    assert caplog.messages[-1] == f"voice receive path failed on a {len(packet)}-byte packet"


def test_a_failing_observer_of_a_given_up_packet_is_logged(caplog, monkeypatch):
    monkeypatch.setattr(receiver_module, "_PENDING_PACKETS", 1)
    receiver, _sink, _seen = receiver_with()

    def broken_observer(*args):
        raise RuntimeError("observer bug")

    receiver.observer = broken_observer
    with caplog.at_level(logging.ERROR, logger="bot.voice.receiver"):
        receiver.feed(speaker(700).packet(frame(1)), 1.0)
        receiver.feed(speaker(700).packet(frame(2)), 1.1)
    assert receiver.stats.unknown_ssrc == 1 and caplog.messages == ["voice packet observer failed"]


class FakeDaveSession:
    """A DAVE session that opens frames only from a given epoch on (a key change), like davey's."""

    def __init__(self):
        self.epoch = 1
        self.opens_from = 2

    def decrypt(self, user_id, media_type, frame):
        if self.epoch < self.opens_from:
            raise ValueError("no key for this epoch")
        return frame[:-13]


def dave_frame(n: int) -> bytes:
    return bytes([0x78, n]) + bytes(11) + b"\xfa\xfa"  # ends in DAVE's marker


def test_dave_frames_held_over_a_key_change_are_delivered_by_maintain():
    sink = Sink()
    session = FakeDaveSession()
    receiver = VoiceReceiver(sink, dave_hold_seconds=3.0)
    receiver.bind(connection(session=session, version=1))
    receiver.map_ssrc(700, 7)
    outcomes: list[str] = []
    receiver.observer = lambda arrival, packet, outcome, user: outcomes.append(outcome)
    alice = speaker(700)
    first_sequence, first_timestamp = alice.sequence, alice.timestamp
    receiver.feed(alice.packet(dave_frame(1)), 1.0)
    receiver.feed(alice.packet(frame(9)), 1.02)  # not end-to-end encrypted: passes through
    assert outcomes == ["dave_held", "dave_passthrough"] and [f[-1] for f in sink.frames] == [frame(9)]
    session.epoch = 2
    receiver.maintain(1.5)
    assert sink.frames[-1] == (7, 700, 1.0, first_timestamp, first_sequence, bytes([0x78, 1]))
    snapshot = receiver.snapshot()
    assert snapshot["totals"]["datagrams"] == 2
    user = snapshot["users"][7]
    assert (user["packets"], user["delivered"]) == (2, 2)  # the held frame counted when it was delivered
    assert (user["dave_recovered"], user["dave_passthrough"], user["dave_held"]) == (1, 1, 0)
    receiver.feed(alice.packet(dave_frame(2)), 2.0)
    assert outcomes[-1] == "dave_decrypted" and sink.frames[-1][-1] == bytes([0x78, 2])


def test_held_dave_frames_are_retried_in_the_order_they_were_sent():
    sink = Sink()
    session = FakeDaveSession()
    receiver = VoiceReceiver(sink)
    receiver.bind(connection(session=session, version=1))
    receiver.map_ssrc(700, 7)
    alice = speaker(700)
    packets = [alice.packet(dave_frame(n)) for n in range(3)]
    # Sent 0, 1, 2; arrived 2, 0, 1 (the arrival times say so too).
    receiver.feed(packets[2], 1.00)
    receiver.feed(packets[0], 1.01)
    receiver.feed(packets[1], 1.02)
    session.epoch = 2
    receiver.maintain(1.5)
    assert [f[-1] for f in sink.frames] == [bytes([0x78, n]) for n in range(3)]


def test_the_dave_source_follows_the_bound_connection():
    receiver = VoiceReceiver(Sink())
    assert receiver._dave_source() == (0, None)
    session = FakeDaveSession()
    receiver.bind(connection(session=session, version=None))
    assert receiver._dave_source() == (0, session)
    receiver.bind(connection(session=session, version=1))
    assert receiver._dave_source() == (1, session)


def test_snapshot_lists_users_known_only_to_dave_and_every_outcome_is_declared():
    receiver = VoiceReceiver(Sink())
    receiver.dave.stats(5)  # DAVE state for a user whose packets the receiver has not counted
    receiver.user_stats[6] = receiver_module.UserReceiveStats(packets=3)
    snapshot = receiver.snapshot()
    assert sorted(snapshot["users"]) == [5, 6]
    assert snapshot["users"][6]["packets"] == 3 and snapshot["users"][5]["packets"] == 0
    assert "dave_decrypted" in snapshot["users"][5]
    assert len(set(OUTCOMES)) == len(OUTCOMES) == 13
