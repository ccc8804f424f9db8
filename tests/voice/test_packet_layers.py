"""RTP parsing, transport decryption, DAVE hold-and-retry, the Ogg page format and the receiver's edge cases."""

from __future__ import annotations

import os
import struct
import subprocess
from types import SimpleNamespace

import davey
import nacl.bindings
import pytest

from bot.voice.dave import DaveDecryptor
from bot.voice.ogg_writer import OggOpusWriter, build_page, iter_pages, ogg_crc32, read_opus_packets, repair_tail
from bot.voice.opus_frames import SILENCE_FRAME, decode_mono, packet_samples, silence_frames
from bot.voice.receiver import VoiceReceiver
from bot.voice.rtp import RtpError, is_rtcp, is_rtp, parse_rtp_header
from bot.voice.testing import ExternalSender, SimulatedSpeaker, add_to_group, form_group
from bot.voice.transport_crypto import TransportCryptoError, TransportDecryptor, TransportEncryptor
from tests.voice.speech import decode_file, encode_line

XCHACHA, AES = "aead_xchacha20_poly1305_rtpsize", "aead_aes256_gcm_rtpsize"
KEY = bytes(range(32))


def _reference_ogg_crc(data: bytes) -> int:
    """Ogg's CRC the slow, obvious way (RFC 3533 / libogg), to check the zlib-based one."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


@pytest.mark.parametrize("size", [0, 1, 27, 255, 4096])
def test_ogg_crc_matches_the_reference(size):
    data = os.urandom(size)
    assert ogg_crc32(data) == _reference_ogg_crc(data)


def test_rtp_header_with_csrcs_and_extension():
    header = struct.pack(">BBHII", 0x80 | 0x20 | 0x10 | 2, 0x80 | 0x78, 65_535, 4_294_967_295, 99)
    header += struct.pack(">II", 7, 8) + struct.pack(">HH", 0xBEDE, 2)
    parsed = parse_rtp_header(header + bytes(40))
    assert parsed.marker and parsed.padding and parsed.payload_type == 0x78
    assert (parsed.sequence, parsed.timestamp, parsed.ssrc, parsed.csrcs) == (65_535, 4_294_967_295, 99, (7, 8))
    assert (parsed.extension_profile, parsed.extension_size, parsed.aad_size) == (0xBEDE, 8, 12 + 8 + 4)
    with pytest.raises(RtpError):
        parse_rtp_header(header[:14])  # ends inside the CSRC list
    assert is_rtcp(bytes([0x80, 200]) + bytes(10)) and not is_rtcp(header)
    assert not is_rtp(b"\x00\x02" + bytes(72))  # Discord's IP-discovery reply


@pytest.mark.parametrize("mode", [XCHACHA, AES])
@pytest.mark.parametrize("extension,csrcs,padding", [(False, (), 0), (True, (), 0), (True, (5, 6, 7), 9)])
def test_transport_roundtrip_strips_extension_and_padding(mode, extension, csrcs, padding):
    speaker = SimulatedSpeaker(
        1, 1234, TransportEncryptor(mode, KEY), extension=extension, csrcs=csrcs, padding=padding
    )
    frame = encode_line("Testing one two three.", "en-us").frames[3]
    packet = speaker.packet(frame)
    header = parse_rtp_header(packet)
    assert TransportDecryptor(mode, list(KEY)).decrypt(packet, header) == frame
    tampered = bytearray(packet)
    tampered[5] ^= 1  # the clear header is authenticated too
    with pytest.raises(TransportCryptoError):
        TransportDecryptor(mode, KEY).decrypt(bytes(tampered), parse_rtp_header(bytes(tampered)))
    with pytest.raises(TransportCryptoError):
        TransportDecryptor(mode, bytes(32)).decrypt(packet, header)


def test_transport_layout_matches_an_independent_decryption():
    """Decrypt the way @discordjs/voice does (AAD = 12 bytes + extension preamble, strip 4*length after)."""
    speaker = SimulatedSpeaker(1, 1234, TransportEncryptor(XCHACHA, KEY), extension=True)
    frame = encode_line("Testing one two three.", "en-us").frames[4]
    packet = speaker.packet(frame)
    nonce = packet[-4:] + bytes(20)
    plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(packet[16:-4], packet[:16], nonce, KEY)
    length = struct.unpack(">H", packet[14:16])[0]
    assert plain[4 * length :] == frame


def test_unsupported_mode_and_bad_key_are_clear_errors():
    with pytest.raises(TransportCryptoError, match="xsalsa20_poly1305.*not supported"):
        TransportDecryptor("xsalsa20_poly1305", KEY)
    with pytest.raises(TransportCryptoError, match="16 bytes"):
        TransportDecryptor(XCHACHA, bytes(16))


def test_opus_durations_and_silence():
    frame = encode_line("Testing one two three.", "en-us").frames[0]
    assert packet_samples(frame) == 960 and packet_samples(SILENCE_FRAME) == 960
    assert packet_samples(bytes([0xE0, 0xFF, 0xFE])) == 120
    assert packet_samples(bytes([0x1B, 0x02])) == 2 * 2880  # SILK 60 ms frames, code 3 with 2 of them
    assert packet_samples(bytes([0x1B, 0x03])) == 0  # 180 ms: longer than Opus allows, so not a real packet
    frames, covered = silence_frames(960 * 3 + 250)
    assert covered == 960 * 3 + 240 and sum(packet_samples(f) for f in frames) == covered
    pcm = decode_mono(frames, 16_000)
    assert len(pcm) == covered // 3 and float(abs(pcm).max()) < 1e-6


def test_ogg_writer_pages_granules_and_repair(tmp_path):
    frames = list(encode_line("Good morning everyone, welcome to the weekly meeting.", "en-us+m3").frames)
    path = tmp_path / "a.ogg"
    writer = OggOpusWriter(path, (frames[0], 960), comments={"WGBOT_SPEAKER": "Ålice"})
    assert not path.with_name("a.ogg.tmp").exists()
    for frame in frames[1:] + [SILENCE_FRAME] * 600:  # > 255 packets between flushes: several pages
        writer.append(frame, 960)
    writer.flush()
    writer.close()
    pages = list(iter_pages(path.read_bytes()))
    assert pages[0].flags == 2 and pages[-1].flags == 4  # beginning and end of stream
    assert all(len(p.segments) <= 255 for p in pages)
    granules = [p.granule for p in pages[2:]]
    assert granules == sorted(granules) and granules[-1] == writer.granule
    packets, tags = read_opus_packets(path)
    assert packets[: len(frames)] == frames and tags["WGBOT_SPEAKER"] == "Ålice"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert abs(float(probe.stdout) - writer.granule / 48_000) < 0.01
    # A crash mid-write leaves a torn page: readers stop before it, repair_tail cuts it off.
    whole = path.read_bytes()
    path.write_bytes(whole[:-100])
    assert len(decode_file(path)) > 0
    assert repair_tail(path) > 0 and repair_tail(path) == 0
    assert list(iter_pages(path.read_bytes()))[-1].offset + list(iter_pages(path.read_bytes()))[-1].size == len(
        path.read_bytes()
    )


def test_build_page_refuses_too_many_segments():
    with pytest.raises(ValueError):
        build_page(0, 0, 1, 0, [bytes(300)] * 200)


def _group():
    gateway = ExternalSender()
    sender, bot = davey.DaveSession(1, 1, 77), davey.DaveSession(1, 2, 77)
    form_group(gateway, 77, [sender, bot])
    return gateway, sender, bot


def test_dave_passthrough_plain_and_held_frames_retry_after_a_key_change():
    gateway, sender, bot = _group()
    state = {"session": bot, "version": 1}
    dave = DaveDecryptor(
        lambda: (state["version"], state["session"]),
        hold_seconds=2.0,
        send_order=lambda meta: meta if isinstance(meta, int) else -1,
    )
    frame = encode_line("Testing one two three.", "en-us").frames[2]
    assert dave.decrypt(1, sender.encrypt_opus(frame), 0.0, "a") == [("a", frame)]
    assert dave.decrypt(1, SILENCE_FRAME, 0.1, "b") == [("b", SILENCE_FRAME)]  # passthrough

    # The sender moves to a new epoch before the bot does: frames are held, then open after the bot's commit.
    newcomer = davey.DaveSession(1, 3, 77)
    proposals, commit, _ = add_to_group(gateway, 77, [sender], newcomer)
    early = [sender.encrypt_opus(frame) for _ in range(3)]
    # ... and they arrive out of order. Retried in arrival order, frame 0 would be refused: DAVE takes a nonce older
    # than the newest it saw only if it saw the gap, and the new key has seen nothing yet.
    for index in (1, 0, 2):
        assert dave.decrypt(1, early[index], 0.2 + index / 50, index) == []
    assert dave.stats(1).held == 3
    bot.process_proposals(davey.ProposalsOperationType.append, proposals)
    bot.process_commit(commit)
    later = sender.encrypt_opus(frame)
    assert [m for m, _f in dave.decrypt(1, later, 0.5, "later")] == [0, 1, 2, "later"]
    assert (dave.stats(1).recovered, dave.stats(1).held, dave.stats(1).failed) == (3, 0, 0)

    # Frames that never open are given up after the hold time and counted.
    garbage = os.urandom(60) + b"\x08\xfa\xfa"
    dave.decrypt(1, garbage, 1.0, "g")
    assert dave.maintain(3.5) == [] and dave.stats(1).failed == 1

    # A call without DAVE: frames are plain Opus.
    state["version"] = 0
    assert dave.decrypt(1, frame, 4.0, "p") == [("p", frame)] and dave.stats(1).plain == 1


class ListSink:
    def __init__(self):
        self.frames = []

    def put_frame(self, user_id, ssrc, arrival, timestamp, sequence, frame):
        self.frames.append((user_id, sequence, frame))


def test_receiver_drops_duplicates_before_dave_and_survives_garbage():
    _gateway, sender, bot = _group()
    sink = ListSink()
    receiver = VoiceReceiver(sink)
    receiver.bind(SimpleNamespace(mode=XCHACHA, secret_key=list(KEY), dave_session=bot, dave_protocol_version=1))
    receiver.map_ssrc(555, 1)
    speaker = SimulatedSpeaker(1, 555, TransportEncryptor(XCHACHA, KEY), sender)
    frames = encode_line("Testing one two three.", "en-us").frames[:6]
    packets = [speaker.packet(f) for f in frames]
    for packet in [packets[0], packets[1], packets[1], packets[3], packets[2], packets[0], packets[4], packets[5]]:
        receiver.feed(packet, 0.0)
    for junk in (b"", b"\x80", os.urandom(11), b"\x80\x78" + bytes(10), packets[2][:20], os.urandom(200)):
        receiver.feed(junk, 0.0)
    assert [f for _u, _s, f in sink.frames] == [frames[i] for i in (0, 1, 3, 2, 4, 5)]
    stats = receiver.user_stats[1]
    assert stats.duplicates == 2 and receiver.dave.stats(1).failed == 0  # the duplicates never reached DAVE


def test_receiver_waits_briefly_for_unannounced_ssrcs_and_forgets_departed_users():
    sink = ListSink()
    now = [0.0]
    receiver = VoiceReceiver(sink, clock=lambda: now[0], unknown_ssrc_wait=1.0)
    receiver.bind(SimpleNamespace(mode=XCHACHA, secret_key=KEY, dave_session=None, dave_protocol_version=0))
    speaker = SimulatedSpeaker(9, 900, TransportEncryptor(XCHACHA, KEY))
    frames = encode_line("Testing one two three.", "en-us").frames[:4]
    receiver.feed(speaker.packet(frames[0]), 0.0)
    receiver.feed(speaker.packet(frames[1]), 0.5)
    now[0] = 1.2  # the first packet waited too long, the second one did not
    receiver.handle_ws_message({"op": 5, "d": {"user_id": "9", "ssrc": 900, "speaking": 1}})
    assert [f for _u, _s, f in sink.frames] == [frames[1]]
    receiver.handle_ws_message({"op": 13, "d": {"user_id": "9"}})
    receiver.feed(speaker.packet(frames[2]), 1.3)
    now[0] = 3.0
    receiver.maintain()
    assert len(sink.frames) == 1 and receiver.stats.unknown_ssrc == 2


def test_a_full_disk_leaves_whole_pages_and_the_next_flush_catches_up(tmp_path, monkeypatch):
    import errno

    from bot.voice import ogg_writer

    frames = list(encode_line("Good morning everyone, welcome to the weekly meeting.", "en-us+m3").frames[:40])
    path = tmp_path / "full.ogg"
    writer = OggOpusWriter(path, (frames[0], 960))
    for frame in frames[1:]:
        writer.append(frame, 960)
    real_write, calls = os.write, []

    def write_half_then_fail(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(ogg_writer.os, "write", write_half_then_fail)
    with pytest.raises(OSError):
        writer.flush()
    data = path.read_bytes()
    pages = list(iter_pages(data))
    assert pages[-1].offset + pages[-1].size == len(data)  # the torn half page was cut off
    writer.flush()
    writer.close()
    assert read_opus_packets(path)[0][: len(frames)] == frames
