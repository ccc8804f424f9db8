"""DAVE against Discord's own implementation: libdave (C++, with mlspp), through PyPI's `dave.py` 1.1.0 wheel.

Every other DAVE frame in these tests is made by davey and opened by davey, so they agree with themselves. Here a
libdave member is the *sender* in a real MLS group — the simulated voice gateway is the external sender, the
bot's davey session is the other member — and wgbot's receive path (RTP, transport decryption, DAVE through the
bot's session) must open its frames: across a key change where the sender moves to the new epoch before the bot
(a member joins), another one (a member leaves), and a downgrade to passthrough and back to a fresh group. The
reverse direction — frames a davey member encrypts, opened by libdave's Decryptor — checks the test itself.
"""

from __future__ import annotations

from types import SimpleNamespace

import dave  # dave.py: a test dependency (pyproject's [test] extra), so a missing wheel fails here, loudly
import davey

from bot.voice.receiver import VoiceReceiver
from bot.voice.testing import ExternalSender, SimulatedSpeaker
from bot.voice.transport_crypto import TransportEncryptor
from tests.voice.speech import encode_line

CHANNEL = 927_310_423_890_473_011
BOT, LIB, CAROL = 1_000_000_000_000_010, 1_000_000_000_000_020, 1_000_000_000_000_030
MODE = "aead_xchacha20_poly1305_rtpsize"
KEY = bytes(range(9, 41))
SSRC = 5151
USERS = {str(BOT), str(LIB), str(CAROL)}


class LibdaveMember:
    """A Discord client's DAVE side, in libdave: its MLS session and its frame encryptor."""

    def __init__(self, user_id: int, gateway: ExternalSender) -> None:
        self.user_id = user_id
        self.failures: list[tuple[str, str]] = []
        self.session = dave.Session(lambda source, reason: self.failures.append((source, reason)))
        self.gateway = gateway
        self.encryptor = dave.Encryptor()
        self.encryptor.assign_ssrc_to_codec(SSRC, dave.Codec.opus)
        self.init()

    def init(self) -> None:
        self.session.init(1, CHANNEL, str(self.user_id), None)
        self.session.set_external_sender(self.gateway.package())

    def key_package(self) -> bytes:
        return self.session.get_marshalled_key_package()

    def use_current_key(self) -> None:
        self.encryptor.set_key_ratchet(self.session.get_key_ratchet(str(self.user_id)))

    def encrypt_opus(self, frame: bytes) -> bytes:  # what SimulatedSpeaker calls
        out = self.encryptor.encrypt(dave.MediaType.audio, SSRC, frame)
        assert out is not None, "libdave refused to encrypt"
        return out


class Sink:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def put_frame(self, user_id, ssrc, arrival, timestamp, sequence, frame):
        assert user_id == LIB
        self.frames.append(frame)


def _commit_proposals(gateway, committer: davey.DaveSession, proposals: bytes):
    result = committer.process_proposals(davey.ProposalsOperationType.append, proposals)
    return result.commit, result.welcome


def test_libdave_sender_decrypts_in_wgbots_receive_path_across_key_changes_and_passthrough():
    gateway = ExternalSender()
    bot = davey.DaveSession(1, BOT, CHANNEL)
    bot.set_external_sender(gateway.package())
    lib = LibdaveMember(LIB, gateway)

    # The call starts: the gateway proposes adding libdave's member; the bot's commit wins; libdave joins by Welcome.
    commit, welcome = _commit_proposals(gateway, bot, gateway.proposals(CHANNEL, 0, [lib.key_package()]))
    bot.process_commit(commit)
    roster = lib.session.process_welcome(welcome, USERS)
    assert roster is not None and set(roster) == {BOT, LIB} and not lib.failures
    lib.use_current_key()

    connection = SimpleNamespace(mode=MODE, secret_key=list(KEY), dave_session=bot, dave_protocol_version=1)
    sink = Sink()
    receiver = VoiceReceiver(sink)
    receiver.bind(connection)
    receiver.handle_ws_message({"op": 5, "d": {"user_id": str(LIB), "ssrc": SSRC, "speaking": 1}})
    speaker = SimulatedSpeaker(LIB, SSRC, TransportEncryptor(MODE, KEY), lib, extension=True, padding=5)
    frames = list(encode_line("Good morning everyone, welcome to the weekly meeting.", "en-us+m3").frames)
    sent: list[bytes] = []

    def send(count: int) -> None:
        for _ in range(count):
            frame = frames[len(sent) % len(frames)]
            sent.append(frame)
            receiver.feed(speaker.packet(frame))

    send(40)
    assert sink.frames == sent and receiver.dave.stats(LIB).decrypted == 40

    # Carol (a davey client) joins: a new epoch. libdave processes the commit and sends with the new key *before*
    # the bot's session has processed it; those frames are held, then open once it has.
    carol = davey.DaveSession(1, CAROL, CHANNEL)
    carol.set_external_sender(gateway.package())
    proposals = gateway.proposals(CHANNEL, bot.epoch, [carol.get_serialized_key_package()])
    # libdave takes opcode 27's payload with its operation type (0: append); its own commit loses to the bot's.
    assert lib.session.process_proposals(bytes([0]) + proposals, USERS)
    commit, welcome = _commit_proposals(gateway, bot, proposals)
    assert isinstance(lib.session.process_commit(commit), dict) and not lib.failures
    carol.process_welcome(welcome)
    lib.use_current_key()
    send(10)
    assert len(sink.frames) == 40 and receiver.dave.stats(LIB).held == 10
    bot.process_commit(commit)
    send(20)
    assert sink.frames == sent and receiver.dave.stats(LIB).recovered == 10 and bot.epoch == carol.epoch == 2

    # The reverse, as a check on the test: Carol's davey frames open in libdave's Decryptor.
    decryptor = dave.Decryptor()
    decryptor.transition_to_key_ratchet(lib.session.get_key_ratchet(str(CAROL)))
    for frame in frames[:20]:
        assert decryptor.decrypt(dave.MediaType.audio, carol.encrypt_opus(frame)) == frame
    assert decryptor.get_stats(dave.MediaType.audio).decrypt_success_count == 20

    # Carol leaves: the gateway proposes removing her leaf; another new epoch.
    proposals = gateway.proposals(CHANNEL, bot.epoch, removed=[carol.own_leaf_index])
    assert lib.session.process_proposals(bytes([0]) + proposals, USERS)
    commit, _welcome = _commit_proposals(gateway, bot, proposals)
    bot.process_commit(commit)
    assert isinstance(lib.session.process_commit(commit), dict) and not lib.failures
    lib.use_current_key()
    send(30)
    assert sink.frames == sent and bot.epoch == 3

    # Downgrade to protocol 0 (someone without DAVE joined): discord.py puts the bot's session in passthrough and,
    # on execute, sets the version to 0; the libdave client sends plain Opus.
    bot.set_passthrough_mode(True, 120)
    lib.encryptor.set_passthrough_mode(True)
    send(10)  # still announced as v1: passed through as unencrypted
    connection.dave_protocol_version = 0
    send(10)
    stats = receiver.dave.stats(LIB)
    assert sink.frames == sent and stats.passthrough >= 10 and stats.plain >= 10

    # ... and back: a new group from epoch 1 (opcode 24), both sides fresh; the first frames after it open too.
    connection.dave_protocol_version = 1
    bot.reinit(1, BOT, CHANNEL)
    bot.set_external_sender(gateway.package())
    lib.session.reset()
    lib.init()
    commit, welcome = _commit_proposals(gateway, bot, gateway.proposals(CHANNEL, 0, [lib.key_package()]))
    bot.process_commit(commit)
    assert lib.session.process_welcome(welcome, USERS) is not None
    bot.set_passthrough_mode(True, 10)  # discord.py, on the upgrade
    lib.encryptor.set_passthrough_mode(False)
    lib.use_current_key()
    before = receiver.dave.stats(LIB).decrypted
    send(30)
    assert sink.frames == sent and receiver.dave.stats(LIB).decrypted == before + 30
    assert receiver.dave.stats(LIB).failed == 0 and receiver.user_stats[LIB].transport_failed == 0
    encrypt_stats = lib.encryptor.get_stats(dave.MediaType.audio)
    assert encrypt_stats.encrypt_failure_count == 0 and encrypt_stats.encrypt_success_count == 130
