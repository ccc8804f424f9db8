"""DAVE protocol flows the calls go through, each with what it costs: the channel empties and refills, a commit the
bot cannot process (discord.py's own recovery), a member leaves and rejoins, the bot joins late. And the transport
decryptor on packets sealed by another AEAD implementation (OpenSSL's ChaCha20-Poly1305 under an XChaCha20
construction, not libsodium) with a two-byte RTP header extension, CSRCs and padding, laid out by hand.

What each flow loses (asserted below):
- empties and refills: nothing, when the bot's Welcome comes within the hold time (3 s) of the first new frames;
- failed commit: the frames sent while the bot is out of the group and not back within the hold time — the bot
  cannot have those keys; everything after its new Welcome opens;
- leave and rejoin: nothing of the rejoined member, under a new SSRC and a new leaf;
- the bot's late join: frames encrypted before it was in the group (earlier epochs: never its keys); frames of
  the epoch it joins, arriving before its Welcome, are held and opened.
"""

from __future__ import annotations

import struct
from types import SimpleNamespace

import davey
import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from bot.voice.receiver import VoiceReceiver
from bot.voice.rtp import parse_rtp_header
from bot.voice.testing import ExternalSender, SimulatedSpeaker, add_to_group, form_group
from bot.voice.transport_crypto import TransportDecryptor, TransportEncryptor
from tests.voice.speech import encode_line

CHANNEL = 4_242_424_242
BOT, ALICE, BOB = 10, 20, 30
MODE = "aead_xchacha20_poly1305_rtpsize"
KEY = bytes(range(50, 82))
FRAMES = list(encode_line("Good morning everyone, welcome to the weekly meeting.", "en-us+m3").frames)


class Sink:
    def __init__(self) -> None:
        self.frames: dict[int, list[bytes]] = {}

    def put_frame(self, user_id, ssrc, arrival, timestamp, sequence, frame):
        self.frames.setdefault(user_id, []).append(frame)


class Call:
    """The bot's receive path with a clock the test moves."""

    def __init__(self, bot: davey.DaveSession) -> None:
        self.now = 0.0
        self.sink = Sink()
        self.connection = SimpleNamespace(mode=MODE, secret_key=list(KEY), dave_session=bot, dave_protocol_version=1)
        self.receiver = VoiceReceiver(self.sink, clock=lambda: self.now)
        self.receiver.bind(self.connection)

    def speaker(self, user: int, ssrc: int, session: davey.DaveSession) -> SimulatedSpeaker:
        self.receiver.handle_ws_message({"op": 5, "d": {"user_id": str(user), "ssrc": ssrc, "speaking": 1}})
        return SimulatedSpeaker(user, ssrc, TransportEncryptor(MODE, KEY), session)

    def send(self, speaker: SimulatedSpeaker, count: int, seconds: float = 0.02) -> list[bytes]:
        sent = []
        for i in range(count):
            frame = FRAMES[i % len(FRAMES)]
            self.receiver.feed(speaker.packet(frame), self.now)
            sent.append(frame)
            self.now += seconds
        return sent

    def wait(self, seconds: float) -> None:
        self.now += seconds
        self.receiver.maintain()

    def got(self, user: int) -> list[bytes]:
        return self.sink.frames.get(user, [])


def test_channel_empties_and_refills_loses_nothing():
    gateway = ExternalSender()
    alice, bot = davey.DaveSession(1, ALICE, CHANNEL), davey.DaveSession(1, BOT, CHANNEL)
    form_group(gateway, CHANNEL, [alice, bot])
    call = Call(bot)
    speaker = call.speaker(ALICE, 111, alice)
    first = call.send(speaker, 20)
    call.receiver.handle_ws_message({"op": 13, "d": {"user_id": str(ALICE)}})  # she leaves; the bot is alone
    call.wait(60)
    # She comes back: a new group from epoch 1 (opcode 24): discord.py re-inits the bot's session; her client makes
    # the group and sends at once, the bot's Welcome follows 0.5 s later.
    bot.reinit(1, BOT, CHANNEL)
    alice = davey.DaveSession(1, ALICE, CHANNEL)
    alice.set_external_sender(gateway.package())
    bot.set_external_sender(gateway.package())
    result = alice.process_proposals(
        davey.ProposalsOperationType.append, gateway.proposals(CHANNEL, 0, [bot.get_serialized_key_package()])
    )
    alice.process_commit(result.commit)
    speaker = call.speaker(ALICE, 112, alice)  # a new SSRC for the new connection
    early = call.send(speaker, 25)
    assert call.got(ALICE) == first  # held, not lost
    bot.process_welcome(result.welcome)
    later = call.send(speaker, 10)
    assert call.got(ALICE) == first + early + later
    assert call.receiver.dave.stats(ALICE).failed == 0


def test_failed_commit_recovers_through_discord_py_and_loses_only_the_frames_of_the_outage():
    import asyncio

    from discord.gateway import DiscordVoiceWebSocket

    from tests.voice.test_voice_client import _binary

    async def flow():
        loop = asyncio.get_running_loop()
        state = SimpleNamespace(
            dave_session=davey.DaveSession(1, BOT, CHANNEL),
            dave_protocol_version=1,
            dave_pending_transitions={},
            user=SimpleNamespace(id=BOT),
            voice_client=SimpleNamespace(channel=SimpleNamespace(id=CHANNEL)),
        )
        sent_json, sent_binary = [], []

        async def send_as_json(payload):
            sent_json.append(payload)

        async def send_binary(op, data):
            sent_binary.append((op, data))

        ws = DiscordVoiceWebSocket.__new__(DiscordVoiceWebSocket)
        ws._connection, ws.loop, ws.seq_ack = state, loop, 0
        ws.send_as_json, ws.send_binary = send_as_json, send_binary
        state.voice_client.ws = ws

        from discord.voice_state import VoiceConnectionState

        state.reinit_dave_session = lambda: VoiceConnectionState.reinit_dave_session(state)
        state._recover_from_invalid_commit = lambda tid: VoiceConnectionState._recover_from_invalid_commit(state, tid)

        gateway = ExternalSender()
        alice = davey.DaveSession(1, ALICE, CHANNEL)
        form_group(gateway, CHANNEL, [alice, state.dave_session])
        call = Call(state.dave_session)  # discord.py re-inits this same session object in place
        speaker = call.speaker(ALICE, 111, alice)
        before = call.send(speaker, 20)

        # A commit the bot's session cannot process: discord.py answers opcode 31 and re-inits with a new key package.
        await ws.received_binary_message(
            _binary(DiscordVoiceWebSocket.MLS_ANNOUNCE_COMMIT_TRANSITION, struct.pack(">H", 7) + b"\x00garbage")
        )
        assert sent_json[-1] == {"op": DiscordVoiceWebSocket.MLS_INVALID_COMMIT_WELCOME, "d": {"transition_id": 7}}
        key_package = sent_binary[-1][1]
        assert sent_binary[-1][0] == DiscordVoiceWebSocket.MLS_KEY_PACKAGE

        # The gateway removes the bot's old leaf and adds the new one; Alice commits; she keys on meanwhile.
        proposals = gateway.proposals(CHANNEL, alice.epoch, [key_package], removed=[1])
        result = alice.process_proposals(davey.ProposalsOperationType.append, proposals)
        alice.process_commit(result.commit)
        outage = call.send(speaker, 250)  # 5 s without the new keys: more than the 3 s hold
        state.dave_session.set_external_sender(gateway.package())
        state.dave_session.process_welcome(result.welcome)
        after = call.send(speaker, 20)
        got = call.got(ALICE)
        assert got[:20] == before and got[-20:] == after
        lost = len(before) + len(outage) + len(after) - len(got)
        # Frames of the last 3 s before the Welcome were held and opened; only the older ones are lost.
        assert 90 <= lost <= 110, lost
        assert call.receiver.dave.stats(ALICE).failed == lost

    asyncio.run(flow())


def test_member_leaves_and_rejoins_under_a_new_ssrc_loses_nothing():
    gateway = ExternalSender()
    alice, bob, bot = (davey.DaveSession(1, u, CHANNEL) for u in (ALICE, BOB, BOT))
    form_group(gateway, CHANNEL, [alice, bot, bob])
    call = Call(bot)
    speaker = call.speaker(BOB, 301, bob)
    first = call.send(speaker, 20)
    proposals = gateway.proposals(CHANNEL, alice.epoch, removed=[bob.own_leaf_index])
    result = alice.process_proposals(davey.ProposalsOperationType.append, proposals)
    for member in (alice, bot):
        if member is bot:
            bot.process_proposals(davey.ProposalsOperationType.append, proposals)
        member.process_commit(result.commit)
    call.receiver.handle_ws_message({"op": 13, "d": {"user_id": str(BOB)}})
    call.wait(10)
    bob = davey.DaveSession(1, BOB, CHANNEL)
    add_to_group(gateway, CHANNEL, [alice, bot], bob)
    speaker = call.speaker(BOB, 302, bob)
    second = call.send(speaker, 20)
    assert call.got(BOB) == first + second and call.receiver.dave.stats(BOB).failed == 0


def test_the_bots_late_join_loses_only_what_was_sent_before_it_was_in_the_group():
    gateway = ExternalSender()
    alice, bob = davey.DaveSession(1, ALICE, CHANNEL), davey.DaveSession(1, BOB, CHANNEL)
    form_group(gateway, CHANNEL, [alice, bob])
    bot = davey.DaveSession(1, BOT, CHANNEL)
    call = Call(bot)
    speaker = call.speaker(ALICE, 111, alice)
    before_group = call.send(speaker, 50)  # epoch 1: keys the bot never gets
    bot.set_external_sender(gateway.package())
    proposals = gateway.proposals(CHANNEL, alice.epoch, [bot.get_serialized_key_package()])
    result = alice.process_proposals(davey.ProposalsOperationType.append, proposals)
    bob.process_proposals(davey.ProposalsOperationType.append, proposals)
    for member in (alice, bob):
        member.process_commit(result.commit)
    early = call.send(speaker, 30)  # epoch 2, before the bot processed its Welcome: held
    bot.process_welcome(result.welcome)
    later = call.send(speaker, 20)
    call.wait(5)
    assert call.got(ALICE) == early + later
    assert call.receiver.dave.stats(ALICE).failed == len(before_group)


# ---- transport: another AEAD implementation, a hand-made RTP layout ------------------------------------------------


def _hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha §2.2), written out here: the subkey XChaCha20 derives."""
    mask = 0xFFFFFFFF
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *struct.unpack("<8I", key), *struct.unpack("<4I", nonce16)]

    def quarter(a, b, c, d):
        for x, y, z, r in ((a, b, d, 16), (c, d, b, 12), (a, b, d, 8), (c, d, b, 7)):
            state[x] = (state[x] + state[y]) & mask
            state[z] ^= state[x]
            state[z] = ((state[z] << r) | (state[z] >> (32 - r))) & mask

    for _ in range(10):
        for a, b, c, d in (
            (0, 4, 8, 12),
            (1, 5, 9, 13),
            (2, 6, 10, 14),
            (3, 7, 11, 15),
            (0, 5, 10, 15),
            (1, 6, 11, 12),
            (2, 7, 8, 13),
            (3, 4, 9, 14),
        ):
            quarter(a, b, c, d)
    return struct.pack("<8I", *state[0:4], *state[12:16])


@pytest.mark.parametrize("padding", [1, 7])
def test_transport_decryptor_opens_packets_sealed_by_openssl_with_extensions_and_padding(padding):
    frame = FRAMES[5]
    # RTP by hand: padding and extension bits, 2 CSRCs, a two-byte-header extension (RFC 8285, profile 0x100X) with
    # two elements, padded to a word; the marker set, payload type 120.
    extension = bytes([1, 2, 0xAA, 0xBB, 3, 1, 0xCC]) + bytes(1)
    header = struct.pack(">BBHII", 0x80 | 0x20 | 0x10 | 2, 0x80 | 120, 4242, 123_456, 9_999)
    header += struct.pack(">II", 7, 8) + struct.pack(">HH", 0x1000, len(extension) // 4)
    plain = extension + frame + bytes(padding - 1) + bytes([padding])
    counter = 77
    nonce24 = struct.pack(">I", counter) + bytes(20)
    subkey = _hchacha20(KEY, nonce24[:16])
    sealed = ChaCha20Poly1305(subkey).encrypt(bytes(4) + nonce24[16:], plain, header)
    packet = header + sealed + struct.pack(">I", counter)

    parsed = parse_rtp_header(packet)
    assert (parsed.marker, parsed.padding, parsed.csrcs, parsed.extension_profile) == (True, True, (7, 8), 0x1000)
    assert TransportDecryptor(MODE, KEY).decrypt(packet, parsed) == frame
    # ... and the receive path takes it whole.
    sink = Sink()
    receiver = VoiceReceiver(sink)
    receiver.bind(SimpleNamespace(mode=MODE, secret_key=list(KEY), dave_session=None, dave_protocol_version=0))
    receiver.map_ssrc(9_999, ALICE)
    receiver.feed(packet)
    assert sink.frames == {ALICE: [frame]}
