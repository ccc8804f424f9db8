"""The receive watchdog in the recorder: packets stop while unmuted people who were heard are in the call → one
warning in the text channel, a reconnect, the gap in the status, the manifest and the result's notes."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from bot.voice.watchdog import ReceiveWatchdog
from tests.voice.test_recorder import ALICE, _recorder, _speak, discord_world  # noqa: F401 - the fixture


async def _wait_for(condition, seconds=5.0):
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


def _stall_messages(world):
    return [m for m in world.text.messages if m.startswith("⚠️ No audio has reached me")]


async def test_packets_stop_while_people_talk_warns_once_reconnects_and_notes_the_gap(discord_world, tmp_path):
    world = discord_world
    recorder = _recorder(world, tmp_path / "rec", stall_after=0.4)
    await recorder.start()
    _speak(recorder, ALICE, 11, "Good morning everyone.")
    assert await _wait_for(lambda: recorder.reconnects == 1)
    stalls = _stall_messages(world)
    assert len(stalls) == 1 and "Alice" in stalls[0] and "reconnecting" in stalls[0]
    assert len(world.voice.connects) == 2 and world.voice.clients[1].receiver is recorder.receiver
    open_gap = recorder.status.gaps
    assert len(open_gap) == 1 and open_gap[0].endswith("UTC to the end of the recording")
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    assert manifest["gaps"][0]["end"] is None

    # After the reconnect nobody has been reported speaking on the new connection: silence is not a new stall.
    await asyncio.sleep(1.0)
    assert len(_stall_messages(world)) == 1 and recorder.reconnects == 1

    _speak(recorder, ALICE, 12, "Welcome back to the meeting.")  # audio arrives again: the gap closes
    assert await _wait_for(lambda: recorder.receive_watchdog.open is None)
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    gap = manifest["gaps"][0]
    assert gap["end"] is not None and gap["end"] - gap["start"] >= 0.4
    assert gap["note"].startswith("no audio received from ") and gap["note"].endswith(" UTC")
    result = await recorder.stop("done")
    assert result.notes == [gap["note"]] and len(_stall_messages(world)) == 1
    assert json.loads((tmp_path / "rec" / "manifest.json").read_text())["gaps"] == [gap]


async def test_no_stall_warning_when_the_speakers_are_muted_or_nobody_was_heard(discord_world, tmp_path):
    world = discord_world
    recorder = _recorder(world, tmp_path / "rec", stall_after=0.3)
    await recorder.start()
    await asyncio.sleep(0.8)  # unmuted people, but nobody reported speaking: a quiet start, not a stall
    assert not _stall_messages(world) and recorder.reconnects == 0
    alice = next(m for m in world.members if m.id == ALICE)
    alice.voice = SimpleNamespace(self_mute=True, mute=False)
    _speak(recorder, ALICE, 11, "Good morning everyone.")
    await asyncio.sleep(3.0)  # her line is about 1.5 s; then she mutes herself: no audio expected
    assert not _stall_messages(world) and recorder.reconnects == 0
    result = await recorder.stop("done")
    assert result.notes == []


def test_watchdog_retries_only_while_audio_is_expected():
    watchdog = ReceiveWatchdog(stall_after=15, retry_after=60)
    watchdog.connected(0.0)
    assert watchdog.check(10.0, None, True) is None
    assert watchdog.check(15.0, None, True) == "stalled" and watchdog.open.start == 0.0
    watchdog.connected(16.0)  # reconnected
    assert watchdog.check(50.0, None, False) is None
    assert watchdog.check(80.0, None, False) is None  # a long pause: nobody expected, no reconnects
    assert watchdog.check(80.0, None, True) == "reconnect"  # someone spoke on the new connection; nothing came
    assert watchdog.check(100.0, None, True) is None  # not again before retry_after
    assert watchdog.check(101.0, 100.5, True) == "resumed" and watchdog.gaps[0].end == 100.5
    assert watchdog.check(110.0, 109.0, True) is None
    assert watchdog.check(124.0, 109.0, True) == "stalled" and watchdog.open.start == 109.0
