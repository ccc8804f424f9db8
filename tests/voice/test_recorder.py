"""MeetingRecorder's control logic against stand-ins for the Discord objects it touches.

Discord cannot be reached from here, so the guild, channels, members and the voice connection are small fakes
recording what the recorder does to them; the receiver, the writer and the recording folder are the real ones,
fed with real encrypted packets.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from types import SimpleNamespace

import pytest

from bot.voice.consent import RECORDING_MARKER
from bot.voice.recorder import MeetingRecorder, RecorderState
from bot.voice.testing import SimulatedSpeaker
from bot.voice.transport_crypto import TransportEncryptor
from tests.voice.speech import decode_file, encode_line

MODE = "aead_xchacha20_poly1305_rtpsize"
KEY = bytes(range(7, 39))
ALICE, OPTED_OUT, CAROL = 501, 502, 503


class FakeMember:
    def __init__(self, id: int, name: str, *, bot: bool = False, nick: str | None = None) -> None:
        self.id, self.display_name, self.nick, self.bot = id, nick or name, nick, bot
        self.name = name
        self.mention = f"<@{id}>"
        self.nick_changes: list[str | None] = []

    async def edit(self, *, nick):
        self.nick_changes.append(nick)
        self.nick = nick
        self.display_name = nick or self.name


class FakeTextChannel:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def send(self, content: str):
        self.messages.append(content)


class FakeVoiceClient:
    def __init__(self, channel) -> None:
        self.channel = channel
        self.connected = True
        self.receiver = None
        self.connection_state = SimpleNamespace(
            mode=MODE, secret_key=list(KEY), dave_session=None, dave_protocol_version=0
        )

    def is_connected(self) -> bool:
        return self.connected

    def attach(self, receiver) -> None:
        self.receiver = receiver
        receiver.bind(self.connection_state)

    def detach(self) -> None:
        self.receiver = None

    async def disconnect(self, *, force: bool = False) -> None:
        self.connected = False


class FakeVoiceChannel:
    def __init__(self, guild, members) -> None:
        self.id, self.name, self.guild, self.members = 4000, "weekly-call", guild, members
        self.connects: list[dict] = []
        self.clients: list[FakeVoiceClient] = []

    async def connect(self, **kwargs):
        self.connects.append(kwargs)
        client = FakeVoiceClient(self)
        self.clients.append(client)
        return client


class FakeBot:
    def __init__(self) -> None:
        self.listeners: dict[str, list] = {}

    def add_listener(self, func, name):
        self.listeners.setdefault(name, []).append(func)

    def remove_listener(self, func, name):
        self.listeners.get(name, []).remove(func)


@pytest.fixture
def discord_world():
    me = FakeMember(1, "wgbot", bot=True)
    members = [FakeMember(ALICE, "Alice"), FakeMember(OPTED_OUT, "Olivia"), me]
    guild = SimpleNamespace(id=9, name="WG", me=me, voice_client=None)
    guild.get_member = lambda uid: next((m for m in members if m.id == uid), None)
    channel = FakeVoiceChannel(guild, members)
    return SimpleNamespace(me=me, members=members, guild=guild, voice=channel, text=FakeTextChannel(), bot=FakeBot())


def _recorder(world, folder, **overrides) -> MeetingRecorder:
    options = dict(
        meeting_id="2026-11-26-weekly",
        folder=folder,
        voice_channel=world.voice,
        text_channel=world.text,
        opted_out=lambda uid: uid == OPTED_OUT,
        empty_timeout=300,
        max_length=3600,
        retention_days=14,
        contact="the WG chairs",
        tick=0.05,
        reconnect_grace=0.1,
    )
    options.update(overrides)
    return MeetingRecorder(world.bot, **options)


def _speak(recorder, user, ssrc, text, voice="en-us"):
    receiver = recorder.voice_client.receiver
    receiver.handle_ws_message({"op": 5, "d": {"user_id": str(user), "ssrc": ssrc, "speaking": 1}})
    speaker = SimulatedSpeaker(user, ssrc, TransportEncryptor(MODE, KEY))
    frames = encode_line(text, voice).frames
    start = time.monotonic()
    for i, frame in enumerate(frames):
        receiver.feed(speaker.packet(frame), start + i * 0.02)  # as if paced by a real client
    return frames


async def test_start_record_and_stop(discord_world, tmp_path):
    world = discord_world
    stopped = []
    recorder = _recorder(world, tmp_path / "rec", on_stopped=lambda result: stopped.append(result))
    await recorder.start()
    assert recorder.state is RecorderState.RECORDING
    assert world.voice.connects[0]["self_deaf"] is False  # deafened clients receive nothing
    notice = world.text.messages[0]
    assert "Recording started" in notice and "14 days" in notice and "the WG chairs" in notice
    assert "/record optout" in notice
    assert world.me.nick.startswith(RECORDING_MARKER)

    alice_frames = _speak(recorder, ALICE, 11, "Good morning everyone.")
    _speak(recorder, OPTED_OUT, 12, "Please do not record me.")
    carol = FakeMember(CAROL, "Carol")
    world.members.append(carol)
    for listener in world.bot.listeners["on_voice_state_update"]:
        await listener(carol, SimpleNamespace(channel=None), SimpleNamespace(channel=world.voice))
    assert any(carol.mention in m and "/record optout" in m for m in world.text.messages)
    carol_frames = _speak(recorder, CAROL, 13, "Sorry I am late.", "en-gb-x-rp")
    status = recorder.status
    assert status.packets_received >= len(alice_frames) and status.state is RecorderState.RECORDING

    result = await recorder.stop("stopped by /meeting stop")
    assert result is await recorder.stop("again") and stopped == [result]  # idempotent, told once
    assert result.speakers == ["Alice", "Carol"] and result.stop_reason == "stopped by /meeting stop"
    assert world.me.nick is None and not world.voice.clients[0].connected
    assert "Recording stopped" in world.text.messages[-1]
    assert not world.bot.listeners["on_voice_state_update"]
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    assert manifest["ended_at"] and [t["speaker"] for t in manifest["tracks"]] == ["Alice", "Carol"]
    assert not any(str(OPTED_OUT) in name for name in os.listdir(tmp_path / "rec"))
    receiver_stats = result.packets["receiver"]["users"]
    assert receiver_stats[OPTED_OUT]["delivered"] == 0 and receiver_stats[OPTED_OUT]["opted_out"] > 0
    for track, frames in zip(manifest["tracks"], (alice_frames, carol_frames)):
        audio = decode_file(tmp_path / "rec" / track["file"])
        assert abs(len(audio) / 48_000 - len(frames) * 0.02) < 0.05


async def test_a_stop_while_starting_is_refused_and_the_recording_goes_on(discord_world, tmp_path, monkeypatch):
    import threading

    from bot.voice import recorder as recorder_module

    opening, release = threading.Event(), threading.Event()
    real_open = recorder_module.RecordingFolder.open

    def slow_open(*args, **kwargs):  # the folder is being opened (a slow disk) while someone stops
        opening.set()
        release.wait(10)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(recorder_module.RecordingFolder, "open", slow_open)
    recorder = _recorder(discord_world, tmp_path / "rec")
    starting = asyncio.create_task(recorder.start())
    await asyncio.to_thread(opening.wait, 10)
    with pytest.raises(RuntimeError, match="still starting"):
        await recorder.stop("too early")
    assert recorder.state is RecorderState.STARTING
    release.set()
    await starting
    assert recorder.state is RecorderState.RECORDING
    result = await recorder.stop("stopped")
    assert result.stop_reason == "stopped" and recorder.state is RecorderState.STOPPED


async def test_leaves_when_the_channel_stays_empty(discord_world, tmp_path):
    world = discord_world
    world.members[:] = [world.me]
    recorder = _recorder(world, tmp_path / "rec", empty_timeout=0.3)
    await recorder.start()
    result = await asyncio.wait_for(recorder.wait_stopped(), 5)
    assert "empty" in result.stop_reason and recorder.state is RecorderState.STOPPED
    assert "Recording stopped" in world.text.messages[-1]


async def test_stops_at_the_maximum_length_and_says_so(discord_world, tmp_path):
    world = discord_world
    recorder = _recorder(world, tmp_path / "rec", max_length=0.3)
    await recorder.start()
    result = await asyncio.wait_for(recorder.wait_stopped(), 5)
    assert "maximum length" in result.stop_reason
    assert "maximum length" in world.text.messages[-1]


async def test_reconnects_after_losing_the_voice_connection(discord_world, tmp_path):
    world = discord_world
    recorder = _recorder(world, tmp_path / "rec")
    await recorder.start()
    _speak(recorder, ALICE, 11, "Good morning everyone.")
    world.voice.clients[0].connected = False  # discord.py gave up on the voice connection
    for _ in range(100):
        await asyncio.sleep(0.05)
        if recorder.reconnects:
            break
    assert recorder.reconnects == 1 and len(world.voice.connects) == 2
    assert world.voice.clients[1].receiver is recorder.receiver
    _speak(recorder, ALICE, 14, "Welcome back to the meeting.")
    result = await recorder.stop("done")
    assert result.tracks == [f"alice-{ALICE}.ogg"]  # the same track continues after the reconnect


async def test_warns_in_the_text_channel_when_decryption_keeps_failing(discord_world, tmp_path):
    world = discord_world
    recorder = _recorder(world, tmp_path / "rec", decrypt_warning_threshold=20, decrypt_window=10)
    await recorder.start()
    recorder.receiver.dave.hold_seconds = 0.1
    recorder.voice_client.connection_state.dave_protocol_version = 1
    recorder.voice_client.connection_state.dave_session = SimpleNamespace(
        epoch=1, decrypt=lambda *a: (_ for _ in ()).throw(ValueError("no key"))
    )
    receiver = recorder.voice_client.receiver
    receiver.handle_ws_message({"op": 5, "d": {"user_id": str(ALICE), "ssrc": 11, "speaking": 1}})
    speaker = SimulatedSpeaker(ALICE, 11, TransportEncryptor(MODE, KEY))
    for _ in range(40):
        receiver.feed(speaker.packet(os.urandom(80) + b"\x08\xfa\xfa"))  # DAVE frames we cannot open
    for _ in range(100):
        await asyncio.sleep(0.05)
        if recorder.warnings:
            break
    assert recorder.warnings and "could not decrypt" in world.text.messages[-1] and "Alice" in world.text.messages[-1]
    assert recorder.reconnects == 1  # rejoined for fresh keys
    await recorder.stop("done")


async def test_opt_out_during_the_call_deletes_what_was_recorded(discord_world, tmp_path):
    world = discord_world
    recorder = _recorder(world, tmp_path / "rec")
    await recorder.start()
    _speak(recorder, ALICE, 11, "Good morning everyone.")
    await asyncio.sleep(1.3)  # flushed to disk
    assert (tmp_path / "rec" / f"alice-{ALICE}.ogg").exists()
    recorder.opt_out(ALICE)
    _speak(recorder, ALICE, 11, "Welcome back to the meeting.")
    result = await recorder.stop("done")
    assert result.tracks == [] and not list((tmp_path / "rec").glob("*.ogg"))


async def test_restart_resumes_the_same_meeting_folder(discord_world, tmp_path):
    world = discord_world
    first = _recorder(world, tmp_path / "rec")
    await first.start()
    _speak(first, ALICE, 11, "Good morning everyone.")
    await first.stop("bot restarting")
    started = json.loads((tmp_path / "rec" / "manifest.json").read_text())["started_at"]
    second = _recorder(world, tmp_path / "rec")
    await second.start()
    assert "Recording resumed" in world.text.messages[-1]
    _speak(second, ALICE, 21, "Welcome back to the meeting.")
    result = await second.stop("done")
    assert result.tracks == [f"alice-{ALICE}.ogg", f"alice-{ALICE}.part2.ogg"]
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    assert manifest["started_at"] == started and manifest["tracks"][1]["offset"] > manifest["tracks"][0]["offset"]


async def test_a_folder_of_another_meeting_is_refused(discord_world, tmp_path):
    world = discord_world
    first = _recorder(world, tmp_path / "rec")
    await first.start()
    await first.stop("done")
    other = _recorder(world, tmp_path / "rec", meeting_id="another-meeting")
    with pytest.raises(Exception, match="belongs to meeting '2026-11-26-weekly'"):
        await other.start()
    assert other.state is RecorderState.IDLE


async def test_opt_out_state_is_rechecked_and_a_failed_lookup_records_nobody(discord_world, tmp_path):
    world = discord_world
    answers = {ALICE: RuntimeError("database unavailable"), CAROL: False}

    def opted_out(uid):
        answer = answers.get(uid, False)
        if isinstance(answer, Exception):
            raise answer
        return answer

    recorder = _recorder(world, tmp_path / "rec", opted_out=opted_out, optout_recheck=0.1)
    await recorder.start()
    assert ALICE in recorder.receiver.opted_out  # unknown: not recorded until a lookup succeeds
    answers[ALICE] = False
    _speak(recorder, CAROL, 13, "Sorry I am late.")
    for _ in range(60):
        await asyncio.sleep(0.05)
        if ALICE not in recorder.receiver.opted_out:
            break
    assert ALICE not in recorder.receiver.opted_out
    answers[CAROL] = True  # Carol runs /record optout during the call
    for _ in range(60):
        await asyncio.sleep(0.05)
        if CAROL in recorder.receiver.opted_out:
            break
    _speak(recorder, ALICE, 11, "Good morning everyone.")
    result = await recorder.stop("done")
    assert result.speakers == ["Alice"] and not list((tmp_path / "rec").glob(f"*-{CAROL}*.ogg"))


async def test_a_failed_join_is_announced_and_leaves_nothing_running(discord_world, tmp_path):
    world = discord_world

    async def refuse(**kwargs):
        raise TimeoutError("voice handshake timed out")

    world.voice.connect = refuse
    recorder = _recorder(world, tmp_path / "rec")
    with pytest.raises(TimeoutError):
        await recorder.start()
    assert recorder.state is RecorderState.IDLE and world.me.nick is None
    assert "could not start" in world.text.messages[-1]
    assert json.loads((tmp_path / "rec" / "manifest.json").read_text())["stop_reason"].startswith("could not start")


async def test_two_people_with_one_display_name_get_two_speakers(discord_world, tmp_path):
    world = discord_world
    twin = FakeMember(CAROL, "Alice")
    world.members.append(twin)
    recorder = _recorder(world, tmp_path / "rec")
    await recorder.start()
    _speak(recorder, ALICE, 11, "Good morning everyone.")
    _speak(recorder, CAROL, 13, "Sorry I am late.")
    result = await recorder.stop("done")
    assert sorted(result.speakers) == ["Alice", f"Alice ({CAROL})"]
