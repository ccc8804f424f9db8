"""The discord.py seam, with discord.py's own code on the receiving side.

The bot's DAVE session is created and driven by discord.py 2.7 itself: its `DiscordVoiceWebSocket` handles the
voice gateway's SESSION_DESCRIPTION, MLS external sender, welcome, proposals, commit and transition messages
exactly as in production (we only play the gateway and the other clients). Packets travel over a real UDP socket
and reach the receiver through discord.py's `SocketReader` thread and `add_socket_listener`; SPEAKING events reach
it through the websocket `hook` of `RecordingVoiceClient`. We also check our decryption against packets made by
discord.py's own sending code.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
import types
from types import SimpleNamespace

import davey
import discord
import pytest
from discord.gateway import DiscordVoiceWebSocket

from bot.voice.receiver import VoiceReceiver
from bot.voice.rtp import parse_rtp_header
from bot.voice.testing import ExternalSender, SimulatedSpeaker, add_to_group, form_group
from bot.voice.transport_crypto import TransportDecryptor, TransportEncryptor
from bot.voice.voice_client import RecordingVoiceClient
from tests.voice.speech import encode_line

CHANNEL = 1_111_222_333
BOT, ALICE, BOB = 10, 20, 30
MODE = "aead_xchacha20_poly1305_rtpsize"
KEY = bytes(range(100, 132))


class FakeAiohttpSocket:
    """What DiscordVoiceWebSocket sends goes here (key packages, commits, transition-ready messages)."""

    def __init__(self) -> None:
        self.binary: list[bytes] = []
        self.json: list[str] = []

    async def send_bytes(self, data: bytes) -> None:
        self.binary.append(data)

    async def send_str(self, data: str) -> None:
        self.json.append(data)


class CollectingSink:
    def __init__(self) -> None:
        self.frames: list[tuple[int, bytes]] = []
        self.changed = threading.Condition()

    def put_frame(self, user_id, ssrc, arrival, timestamp, sequence, frame):
        with self.changed:
            self.frames.append((user_id, frame))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.frames) >= count, timeout), (len(self.frames), count)


def _binary(op: int, payload: bytes, seq: int = 1) -> bytes:
    return struct.pack(">H", seq) + bytes([op]) + payload


@pytest.fixture
async def voice_client():
    loop = asyncio.get_running_loop()
    client = SimpleNamespace(_connection=SimpleNamespace(loop=loop, user=SimpleNamespace(id=BOT)))
    channel = SimpleNamespace(id=CHANNEL, guild=SimpleNamespace(id=5))
    vc = RecordingVoiceClient(client, channel)
    ws = DiscordVoiceWebSocket(FakeAiohttpSocket(), loop, hook=vc.connection_state.hook)
    ws._connection = vc.connection_state
    vc.connection_state.ws = ws
    vc.connection_state.ssrc = 999  # from READY, which we skip
    yield vc, ws
    vc.connection_state._socket_reader.stop()
    if vc.connection_state.socket:
        vc.connection_state.socket.close()


async def test_receive_through_discord_py_dave_session_and_socket_reader(voice_client):
    vc, ws = voice_client
    state = vc.connection_state
    assert state.hook == vc._on_voice_ws_message

    # Voice gateway: session description (mode, key, DAVE v1). discord.py creates its DaveSession, sends a key package.
    await ws.received_message({"op": 4, "d": {"mode": MODE, "secret_key": list(KEY), "dave_protocol_version": 1}})
    key_package = next(m[1:] for m in ws.ws.binary if m[0] == DiscordVoiceWebSocket.MLS_KEY_PACKAGE)
    gateway = ExternalSender()
    await ws.received_binary_message(_binary(DiscordVoiceWebSocket.MLS_EXTERNAL_SENDER, gateway.package()))

    # Alice is already in the call: her client commits the gateway's proposal adding the bot; the bot gets the Welcome.
    alice = davey.DaveSession(1, ALICE, CHANNEL)
    alice.set_external_sender(gateway.package())
    proposals = gateway.proposals(CHANNEL, alice.epoch, [key_package])
    result = alice.process_proposals(davey.ProposalsOperationType.append, proposals)
    alice.process_commit(result.commit)
    await ws.received_binary_message(_binary(DiscordVoiceWebSocket.MLS_WELCOME, struct.pack(">H", 3) + result.welcome))
    await ws.received_message({"op": DiscordVoiceWebSocket.DAVE_EXECUTE_TRANSITION, "d": {"transition_id": 3}})
    assert state.dave_session.ready and state.dave_session.epoch == alice.epoch

    # SPEAKING before a receiver is attached is kept and replayed on attach.
    await ws.received_message({"op": 5, "d": {"user_id": str(ALICE), "ssrc": 7001, "speaking": 1}})
    sink = CollectingSink()
    receiver = VoiceReceiver(sink)
    vc.attach(receiver)
    assert receiver.ssrc_to_user == {7001: ALICE}

    # The UDP socket, as discord.py's _create_socket sets it up; packets arrive on its SocketReader thread.
    state.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    state.socket.bind(("127.0.0.1", 0))
    state.socket.setblocking(False)
    state._socket_reader.resume()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    address = state.socket.getsockname()
    frames = encode_line("Testing one two three.", "en-us").frames[:20]
    speaker = SimulatedSpeaker(ALICE, 7001, TransportEncryptor(MODE, KEY), alice)
    for frame in frames:
        sender.sendto(speaker.packet(frame), address)
        time.sleep(0.002)  # loopback UDP drops bursts that overrun the socket buffer
    await asyncio.to_thread(sink.wait_for, len(frames))
    assert [f for _u, f in sink.frames] == list(frames)

    # Bob joins: proposals to the bot (discord.py answers with its own commit, which the gateway discards), Alice's
    # commit announced as a transition — a DAVE key change handled by discord.py, picked up by the receiver.
    bob = davey.DaveSession(1, BOB, CHANNEL)
    proposals, commit, _welcome = add_to_group(gateway, CHANNEL, [alice], bob)
    await ws.received_binary_message(_binary(DiscordVoiceWebSocket.MLS_PROPOSALS, bytes([0]) + proposals))
    await ws.received_binary_message(
        _binary(DiscordVoiceWebSocket.MLS_ANNOUNCE_COMMIT_TRANSITION, struct.pack(">H", 4) + commit)
    )
    await ws.received_message({"op": DiscordVoiceWebSocket.DAVE_EXECUTE_TRANSITION, "d": {"transition_id": 4}})
    assert state.dave_session.epoch == alice.epoch == bob.epoch
    await ws.received_message({"op": 5, "d": {"user_id": str(BOB), "ssrc": 7002, "speaking": 1}})
    bob_speaker = SimulatedSpeaker(BOB, 7002, TransportEncryptor(MODE, KEY), bob)
    for frame in frames[:10]:
        sender.sendto(speaker.packet(frame), address)
        sender.sendto(bob_speaker.packet(frame), address)
        time.sleep(0.002)
    await asyncio.to_thread(sink.wait_for, len(frames) + 20)
    assert sum(1 for u, _f in sink.frames if u == BOB) == 10
    assert receiver.dave.stats(ALICE).failed == receiver.dave.stats(BOB).failed == 0
    sender.close()
    vc.detach()
    assert receiver.feed not in state._socket_reader._callbacks


def test_decrypts_what_discord_py_itself_sends():
    """A packet built by discord.py's own send path (RTP header, DAVE encrypt_opus, xchacha transport) opens."""
    gateway = ExternalSender()
    sender_session, bot_session = davey.DaveSession(1, ALICE, CHANNEL), davey.DaveSession(1, BOT, CHANNEL)
    form_group(gateway, CHANNEL, [sender_session, bot_session])
    fake = SimpleNamespace(
        _connection=SimpleNamespace(dave_session=sender_session, can_encrypt=True),
        sequence=65_535,
        timestamp=4_294_966_000,
        ssrc=4321,
        mode=MODE,
        secret_key=list(KEY),
        _incr_nonce=0,
    )
    fake.checked_add = types.MethodType(discord.VoiceClient.checked_add, fake)
    fake._encrypt_aead_xchacha20_poly1305_rtpsize = types.MethodType(
        discord.VoiceClient._encrypt_aead_xchacha20_poly1305_rtpsize, fake
    )
    frame = encode_line("Testing one two three.", "en-us").frames[5]
    packet = discord.VoiceClient._get_voice_packet(fake, frame)

    header = parse_rtp_header(packet)
    assert (header.sequence, header.timestamp, header.ssrc, header.payload_type) == (65_535, 4_294_966_000, 4321, 0x78)
    payload = TransportDecryptor(MODE, KEY).decrypt(packet, header)
    assert payload != frame and payload.endswith(b"\xfa\xfa")  # still end-to-end encrypted
    assert bot_session.decrypt(ALICE, davey.MediaType.audio, payload) == frame

    # Without DAVE, our simulated sender produces byte-for-byte what discord.py sends.
    fake._connection.can_encrypt, fake._incr_nonce = False, 0
    ours = SimulatedSpeaker(ALICE, 4321, TransportEncryptor(MODE, KEY), None, extension=False)
    ours.sequence, ours.timestamp = 65_535, 4_294_966_000
    assert ours.packet(frame) == discord.VoiceClient._get_voice_packet(fake, frame)
