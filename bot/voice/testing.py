"""Simulated Discord voice senders, for the tests, the benchmark and offline self-checks. Not used in production.

- `ExternalSender` plays the part Discord's voice gateway plays in DAVE: the MLS *external sender* that proposes
  adding members to the call's group (RFC 9420 PublicMessage proposals with sender type `external`, signed with
  ECDSA P-256 as ciphersuite 2 requires). With it, real `davey.DaveSession`s form a real MLS group — one member
  commits the proposals, the others join from its Welcome or process its Commit — exactly the messages of voice
  gateway opcodes 25 (external sender), 27 (proposals), 29 (commit) and 30 (welcome).
- `SimulatedSpeaker` is another participant's client: it DAVE-encrypts each Opus frame with its own session,
  wraps it in RTP (sequence numbers, 48 kHz timestamps, a one-byte header extension like Discord clients send)
  and transport-encrypts it with the voice session's secret key.
- `network` turns per-speaker packet streams into one arrival-ordered list with jitter, loss, duplicates and
  reordering, seeded so a failing test can be replayed.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import davey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.voice.opus_frames import packet_samples
from bot.voice.transport_crypto import TransportEncryptor

__all__ = ["ExternalSender", "SimulatedSpeaker", "TimedPacket", "add_to_group", "form_group", "network"]

MLS_VERSION_10 = 1
WIRE_FORMAT_PUBLIC_MESSAGE = 1
SENDER_TYPE_EXTERNAL = 2
CONTENT_TYPE_PROPOSAL = 2
PROPOSAL_TYPE_ADD = 1
PROPOSAL_TYPE_REMOVE = 3
CREDENTIAL_TYPE_BASIC = 1


def _varint(value: int) -> bytes:
    """MLS variable-length integer (RFC 9420 §2.1.2)."""
    if value < 1 << 6:
        return bytes([value])
    if value < 1 << 14:
        return struct.pack(">H", value | 0x4000)
    return struct.pack(">I", value | 0x80000000)


def _vector(data: bytes) -> bytes:
    return _varint(len(data)) + data


class ExternalSender:
    """The MLS external sender of a simulated voice channel (the role of Discord's voice gateway)."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def package(self) -> bytes:
        """ExternalSender {signature_key, Credential}: the payload of voice opcode 25."""
        return _vector(self.public_key) + struct.pack(">H", CREDENTIAL_TYPE_BASIC) + _vector(b"")

    def _sign(self, label: bytes, content: bytes) -> bytes:
        sign_content = _vector(b"MLS 1.0 " + label) + _vector(content)
        return self._key.sign(sign_content, ec.ECDSA(hashes.SHA256()))  # DER, as MLS specifies for ECDSA

    def add_proposal(self, channel_id: int, epoch: int, key_package: bytes) -> bytes:
        """One MLSMessage: a PublicMessage from the external sender proposing to add `key_package`."""
        return self._proposal(channel_id, epoch, struct.pack(">H", PROPOSAL_TYPE_ADD) + key_package)

    def remove_proposal(self, channel_id: int, epoch: int, leaf_index: int) -> bytes:
        """One MLSMessage proposing to remove the member at `leaf_index` (someone left the call)."""
        return self._proposal(channel_id, epoch, struct.pack(">HI", PROPOSAL_TYPE_REMOVE, leaf_index))

    def _proposal(self, channel_id: int, epoch: int, proposal: bytes) -> bytes:
        content = (
            _vector(struct.pack(">Q", channel_id))  # group id: DAVE uses the channel id
            + struct.pack(">Q", epoch)
            + bytes([SENDER_TYPE_EXTERNAL])
            + struct.pack(">I", 0)  # index into the group's external senders
            + _vector(b"")  # authenticated data
            + bytes([CONTENT_TYPE_PROPOSAL])
            + proposal
        )
        prefix = struct.pack(">HH", MLS_VERSION_10, WIRE_FORMAT_PUBLIC_MESSAGE)
        signature = self._sign(b"FramedContentTBS", prefix + content)
        return prefix + content + _vector(signature)

    def proposals(
        self, channel_id: int, epoch: int, key_packages: Iterable[bytes] = (), removed: Iterable[int] = ()
    ) -> bytes:
        """The payload of voice opcode 27 after its operation-type byte: a vector of proposal messages (adds for
        `key_packages`, removes for the leaf indexes in `removed`)."""
        messages = [self.add_proposal(channel_id, epoch, kp) for kp in key_packages]
        messages += [self.remove_proposal(channel_id, epoch, leaf) for leaf in removed]
        return _vector(b"".join(messages))


def _commit_and_welcome(result: davey.CommitWelcome | None) -> tuple[bytes, bytes]:
    """The commit and Welcome of proposals that add someone (both are there when a session joins)."""
    if result is None or result.welcome is None:
        raise ValueError("the proposals made no commit with a Welcome")
    return result.commit, result.welcome


def form_group(sender: ExternalSender, channel_id: int, sessions: Sequence[davey.DaveSession]) -> None:
    """Make `sessions` one MLS group, as the voice gateway does when a DAVE call starts: each session learns the
    external sender and makes a key package; the first commits the proposals adding the others, who join from its
    Welcome."""
    if len(sessions) < 2:
        raise ValueError("a group needs at least two sessions (one alone has nothing to commit)")
    packages = []
    for session in sessions:
        session.set_external_sender(sender.package())
        packages.append(session.get_serialized_key_package())
    committer, *joiners = sessions
    proposals = sender.proposals(channel_id, committer.epoch or 0, packages[1:])
    commit, welcome = _commit_and_welcome(committer.process_proposals(davey.ProposalsOperationType.append, proposals))
    committer.process_commit(commit)
    for joiner in joiners:
        joiner.process_welcome(welcome)


def add_to_group(
    sender: ExternalSender, channel_id: int, members: Sequence[davey.DaveSession], newcomer: davey.DaveSession
) -> tuple[bytes, bytes, bytes]:
    """Someone joins an established call: a new epoch, so new keys for everyone (a DAVE key change).

    Every member in `members` receives the proposal, the first member's commit wins, the others process it, and the
    newcomer joins from the Welcome. Returns (proposals, commit, welcome) so that a test can deliver them to another
    session later (a receiver that learns of the change after the senders switched keys).
    """
    epoch = members[0].epoch
    if epoch is None:
        raise ValueError("the members are in no group yet (form_group first)")
    newcomer.set_external_sender(sender.package())
    proposals = sender.proposals(channel_id, epoch, [newcomer.get_serialized_key_package()])
    results = [m.process_proposals(davey.ProposalsOperationType.append, proposals) for m in members]
    commit, welcome = _commit_and_welcome(results[0])
    for member in members:
        member.process_commit(commit)
    newcomer.process_welcome(welcome)
    return proposals, commit, welcome


# -- RTP senders ------------------------------------------------------------------------------------------------

_ONE_BYTE_PROFILE = 0xBEDE


class SimulatedSpeaker:
    """One remote participant's client: Opus frame in, encrypted RTP packet out."""

    def __init__(
        self,
        user_id: int,
        ssrc: int,
        transport: TransportEncryptor,
        dave: davey.DaveSession | None = None,
        *,
        rng: random.Random | None = None,
        extension: bool = True,
        csrcs: Sequence[int] = (),
        padding: int = 0,
    ) -> None:
        rng = rng or random.Random(ssrc)
        self.user_id = user_id
        self.ssrc = ssrc
        self.transport = transport
        self.dave = dave
        self.sequence = rng.randrange(1 << 16)
        self.timestamp = rng.randrange(1 << 32)
        self.extension = extension
        self.csrcs = tuple(csrcs)
        self.padding = padding

    def skip(self, samples: int) -> None:
        """Let the RTP clock run through a pause without sending (what WebRTC clients do between talk spurts)."""
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF

    def packet(self, opus_frame: bytes) -> bytes:
        payload = self.dave.encrypt_opus(opus_frame) if self.dave is not None else opus_frame
        first = 0x80 | len(self.csrcs)
        if self.padding:
            first |= 0x20
        extension_body = b""
        if self.extension:
            first |= 0x10
            # One-byte extensions (RFC 8285): id 1, 1 byte (an audio level, as Discord clients send), padded to a word.
            extension_body = bytes([0x10, 0x7F, 0x00, 0x00])
        header = struct.pack(">BBHII", first, 0x78, self.sequence, self.timestamp, self.ssrc)
        header += b"".join(struct.pack(">I", c) for c in self.csrcs)
        if self.extension:
            header += struct.pack(">HH", _ONE_BYTE_PROFILE, len(extension_body) // 4)
        packet = self.transport.encrypt(header, extension_body, payload, self.padding)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + (packet_samples(opus_frame) or 960)) & 0xFFFFFFFF
        return packet


@dataclass(slots=True)
class TimedPacket:
    send_time: float  # seconds on the simulation clock when the sender emitted it
    arrival: float  # ... when it reaches us
    user_id: int
    packet: bytes
    frame: bytes  # the Opus frame inside (ground truth for tests)
    kind: str = "normal"  # normal | duplicate | reordered


def network(
    streams: Iterable[Iterable[TimedPacket]],
    *,
    seed: int = 1,
    jitter: float = 0.008,
    loss: float = 0.0,
    duplicate: float = 0.0,
    reorder: float = 0.0,
) -> tuple[list[TimedPacket], list[TimedPacket]]:
    """Deliver packets through a simulated network. Returns (delivered in arrival order, lost packets).

    Every packet gets a base delay of 30 ms plus uniform jitter; `reorder` of them are held back 30-70 ms (behind
    their successors, within the receiver's 100 ms reorder window); `duplicate` arrive twice.
    """
    rng = random.Random(seed)
    delivered: list[TimedPacket] = []
    lost: list[TimedPacket] = []
    for stream in streams:
        for item in stream:
            if rng.random() < loss:
                lost.append(item)
                continue
            item.arrival = item.send_time + 0.030 + rng.uniform(0, jitter)
            if rng.random() < reorder:
                item.arrival += rng.uniform(0.030, 0.070)
                item.kind = "reordered"
            delivered.append(item)
            if rng.random() < duplicate:
                delivered.append(
                    TimedPacket(
                        item.send_time,
                        item.arrival + rng.uniform(0.001, 0.040),
                        item.user_id,
                        item.packet,
                        item.frame,
                        "duplicate",
                    )
                )
    delivered.sort(key=lambda p: p.arrival)
    return delivered, lost


# ---- a whole simulated call into a recording folder -----------------------------------------------------------


@dataclass(slots=True)
class CallLine:
    start: float  # seconds from the call's start
    user_id: int
    speaker: str
    pcm48k: object  # mono float32 at 48 kHz (numpy array)


def encode_opus(pcm48k) -> list[bytes]:
    """20 ms Opus frames (48 kHz stereo, as a Discord client sends) of a mono 48 kHz float32 signal, via libopus."""
    import discord.opus
    import numpy as np

    if not discord.opus.is_loaded() and not discord.opus._load_default():
        raise RuntimeError("libopus is not installed")
    frame = 960
    pcm = np.concatenate([pcm48k, np.zeros((-len(pcm48k)) % frame, np.float32)])
    stereo = np.repeat((np.clip(pcm, -1, 1) * 32767).astype(np.int16)[:, None], 2, axis=1).tobytes()
    encoder = discord.opus.Encoder()
    step = frame * 4
    return [encoder.encode(stereo[i : i + step], frame) for i in range(0, len(stereo), step)]


def play_call(
    lines: Sequence[CallLine],
    folder,
    *,
    meeting: str = "simulated-call",
    on_utterance=None,
    seed: int = 3,
    loss: float = 0.005,
    realtime: float | None = None,
    tail: float = 2.0,
):
    """Send `lines` as Discord clients would (Opus → DAVE in one MLS group → RTP → transport encryption), through a
    simulated network, into the real receive path and writer. Returns the `RecordingWriter` (closed).

    `realtime`: None feeds as fast as possible on a simulated clock; 1.0 plays at the real pace, 10.0 ten times faster
    (the writer's clock runs at that rate), for benchmarks of the live path.
    """
    import time
    from types import SimpleNamespace

    from bot.voice.manifest import RecordingFolder
    from bot.voice.opus_frames import SILENCE_FRAME
    from bot.voice.receiver import VoiceReceiver
    from bot.voice.writer import RecordingWriter

    mode = "aead_xchacha20_poly1305_rtpsize"
    channel, bot_id = 1_234_567_890_123, 999
    key = bytes(range(32))
    users = {line.user_id: line.speaker for line in lines}
    gateway = ExternalSender()
    sessions = {user: davey.DaveSession(1, user, channel) for user in [*users, bot_id]}
    form_group(gateway, channel, list(sessions.values()))
    speakers = {
        user: SimulatedSpeaker(user, 1000 + i, TransportEncryptor(mode, key), sessions[user])
        for i, user in enumerate(users)
    }

    timeline = []
    for line in lines:
        frames = encode_opus(line.pcm48k) + [SILENCE_FRAME] * 5
        timeline += [(line.start + i * 0.02, line.user_id, f) for i, f in enumerate(frames)]
    timeline.sort(key=lambda item: item[0])
    streams: dict[int, list[TimedPacket]] = {user: [] for user in users}
    next_send: dict[int, float | None] = {user: None for user in users}
    for send_time, user, frame in timeline:
        speaker = speakers[user]
        previous = next_send[user]
        if previous is not None and send_time > previous + 0.001:
            speaker.skip(round((send_time - previous) * 48_000))
        streams[user].append(TimedPacket(send_time, 0.0, user, speaker.packet(frame), frame))
        next_send[user] = send_time + 0.02
    delivered, _lost = network(streams.values(), seed=seed, loss=loss, jitter=0.008)

    recording = RecordingFolder.open(folder, meeting)
    now = [0.0]
    if realtime:
        origin = time.monotonic()
        clock = lambda: (time.monotonic() - origin) * realtime  # noqa: E731
    else:
        clock = lambda: now[0]  # noqa: E731
    writer = RecordingWriter(
        recording, speaker_name=users.get, clock=clock, meeting_time_at_start=0.0, on_utterance=on_utterance
    )
    receiver = VoiceReceiver(writer, clock=clock, deferred=True)
    writer.maintenance, writer.intake = receiver.maintain, receiver.process
    receiver.bind(
        SimpleNamespace(mode=mode, secret_key=list(key), dave_session=sessions[bot_id], dave_protocol_version=1)
    )
    for user, speaker in speakers.items():
        receiver.handle_ws_message({"op": 5, "d": {"user_id": str(user), "ssrc": speaker.ssrc, "speaking": 1}})
    end = (delivered[-1].arrival if delivered else 0.0) + tail
    for packet in delivered:
        if realtime:
            delay = packet.arrival - clock()
            if delay > 0:
                time.sleep(delay / realtime)
        now[0] = packet.arrival
        receiver.feed(packet.packet, packet.arrival)
        writer.pump(clock())
    while clock() < end:
        if realtime:
            time.sleep(0.05 / realtime)
        now[0] += 0.05
        writer.pump(clock())
    writer.close()
    return writer
