"""The consent wording, audio retention, and the doctor's live voice check (against stand-ins for Discord)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from types import SimpleNamespace

import pytest

from bot.voice.consent import (
    RECORDING_MARKER,
    consent_notice,
    late_joiner_notice,
    plain_nickname,
    recording_nickname,
)
from bot.voice.live_check import check_voice
from bot.voice.manifest import RecordingFolder
from bot.voice.testing import SimulatedSpeaker
from bot.voice.transport_crypto import TransportEncryptor
from tests.voice.speech import encode_line
from tests.voice.test_recorder import KEY, MODE, FakeMember, FakeVoiceChannel
from tracker.retention import DELETED_MARKER, purge_expired_audio

UTC = dt.UTC


def test_consent_notice_says_who_what_how_long_and_how_to_opt_out():
    text = consent_notice(recorder="wgbot", retention_days=30, contact="chairs@example.org", meeting="Weekly sync")
    assert "wgbot is recording **Weekly sync**" in text
    assert "30 days after the minutes are published" in text
    assert "/record optout" in text and "chairs@example.org" in text
    assert "transcribed on our own server" in text
    assert "deleted after the minutes are published" in consent_notice(recorder="b", retention_days=0, contact="c")
    assert "1 day after" in consent_notice(recorder="b", retention_days=1, contact="c")
    assert "<@5>" in late_joiner_notice("<@5>", recorder="wgbot")


def test_recording_nickname_marks_and_unmarks_within_discords_limit():
    marked = recording_nickname("Working Group Coordination Bot Deluxe")
    assert marked.startswith(RECORDING_MARKER) and len(marked) <= 32
    assert recording_nickname(marked) == marked
    assert plain_nickname(recording_nickname("wgbot")) == "wgbot" and plain_nickname("wgbot") == "wgbot"


def _folder_with_audio(root, meeting, started):
    folder = RecordingFolder.open(root / meeting, meeting, now=started)
    (folder.path / "alice-1.ogg").write_bytes(b"OggS audio")
    (folder.path / "notes.txt").write_text("kept")
    return folder.path


def test_audio_is_deleted_only_after_publication_plus_retention(tmp_path):
    now = dt.datetime(2026, 12, 31, 12, tzinfo=UTC)
    old_published = _folder_with_audio(tmp_path, "m-old", now - dt.timedelta(days=60))
    recent = _folder_with_audio(tmp_path, "m-recent", now - dt.timedelta(days=60))
    unpublished = _folder_with_audio(tmp_path, "m-unpublished", now - dt.timedelta(days=400))
    published = {
        "m-old": now - dt.timedelta(days=31),
        "m-recent": now - dt.timedelta(days=29),
    }
    dry = purge_expired_audio(tmp_path, retention_days=30, published_at=published.get, now=now, dry_run=True)
    assert [p.meeting for p in dry] == ["m-old"] and (old_published / "alice-1.ogg").exists()

    purged = purge_expired_audio(tmp_path, retention_days=30, published_at=published.get, now=now)
    assert [(p.meeting, p.files) for p in purged] == [("m-old", ["alice-1.ogg"])]
    assert not (old_published / "alice-1.ogg").exists()
    assert (old_published / "manifest.json").exists() and (old_published / "notes.txt").exists()
    marker = json.loads((old_published / DELETED_MARKER).read_text())
    assert marker["files"] == ["alice-1.ogg"] and marker["retention_days"] == 30
    assert (recent / "alice-1.ogg").exists() and (unpublished / "alice-1.ogg").exists()
    assert purge_expired_audio(tmp_path, retention_days=30, published_at=published.get, now=now) == []
    with pytest.raises(ValueError, match="retention_days"):
        purge_expired_audio(tmp_path, retention_days=-1, published_at=published.get)


def test_what_was_said_goes_with_the_audio(tmp_path):
    """The live transcript and the minutes' answer cache hold what was said: they go when the audio goes, also
    from a folder whose audio was deleted before they were named."""
    from tracker.live import LIVE_SEGMENTS
    from tracker.pipeline import LIVE_TRANSCRIPT, MINUTES_CACHE

    now = dt.datetime(2026, 12, 31, 12, tzinfo=UTC)
    speech = (LIVE_SEGMENTS, LIVE_TRANSCRIPT, MINUTES_CACHE)
    folder = _folder_with_audio(tmp_path, "m-old", now - dt.timedelta(days=60))
    for name in speech:
        (folder / name).write_text('{"text": "I will send the numbers"}\n')
    kept = _folder_with_audio(tmp_path, "m-recent", now - dt.timedelta(days=5))
    (kept / MINUTES_CACHE).write_text("{}\n")
    published = {"m-old": now - dt.timedelta(days=31), "m-recent": now - dt.timedelta(days=2)}

    purged = purge_expired_audio(tmp_path, retention_days=30, published_at=published.get, now=now, speech_files=speech)
    assert [(p.meeting, sorted(p.files)) for p in purged] == [("m-old", sorted(["alice-1.ogg", *speech]))]
    assert not any((folder / name).exists() for name in speech) and (folder / "notes.txt").exists()
    assert (kept / MINUTES_CACHE).exists() and (kept / "alice-1.ogg").exists()

    # A folder purged before: its audio is gone, a cache left over goes on the next pass.
    (folder / MINUTES_CACHE).write_text("{}\n")
    again = purge_expired_audio(tmp_path, retention_days=30, published_at=published.get, now=now, speech_files=speech)
    assert [(p.meeting, p.files) for p in again] == [("m-old", [MINUTES_CACHE])]
    marker = json.loads((folder / DELETED_MARKER).read_text())
    assert set(marker["files"]) == {"alice-1.ogg", *speech}


def test_unreadable_manifest_keeps_its_audio(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json")
    (folder / "a.ogg").write_bytes(b"x")
    assert purge_expired_audio(tmp_path, retention_days=0, published_at=lambda m: dt.datetime(2000, 1, 1)) == []
    assert (folder / "a.ogg").exists()


def _doctor_world(connect_allowed=True):
    me = FakeMember(1, "wgbot", bot=True)
    me.voice = None
    alice, bob = FakeMember(11, "Alice"), FakeMember(12, "Bob")
    members = [alice, bob, me]
    guild = SimpleNamespace(id=9, name="WG", me=me, voice_client=None)
    guild.get_member = lambda uid: next((m for m in members if m.id == uid), None)
    channel = FakeVoiceChannel(guild, members)
    channel.permissions_for = lambda member: SimpleNamespace(connect=connect_allowed)
    return channel


async def test_live_check_reports_packets_per_user_and_leaves(tmp_path):
    channel = _doctor_world()

    async def talk():
        while not channel.clients or channel.clients[0].receiver is None:
            await asyncio.sleep(0.01)
        receiver = channel.clients[0].receiver
        for user, ssrc in ((11, 111), (12, 222)):
            receiver.handle_ws_message({"op": 5, "d": {"user_id": str(user), "ssrc": ssrc, "speaking": 1}})
            speaker = SimulatedSpeaker(user, ssrc, TransportEncryptor(MODE, KEY))
            for frame in encode_line("Testing one two three.", "en-us").frames[:25]:
                receiver.feed(speaker.packet(frame), time.monotonic())
        receiver.feed(bytes([0x80, 0x78, 0, 1, 0, 0, 0, 1, 0, 0, 0, 99]) + bytes(40), time.monotonic())

    talker = asyncio.create_task(talk())
    lines = await check_voice(None, channel, seconds=0.3)
    await talker
    assert lines[0].startswith("OK voice: joined #weekly-call; transport aead_xchacha20_poly1305_rtpsize")
    assert any(l.startswith("OK voice: Alice: 25 packets received, 25 decrypted") for l in lines), lines
    assert any(l.startswith("OK voice: Bob: 25 packets received") for l in lines), lines
    assert not channel.clients[0].connected and channel.connects[0]["self_deaf"] is False
    assert not list(tmp_path.iterdir())  # nothing written anywhere


async def test_live_check_without_permission_or_audio():
    assert (await check_voice(None, _doctor_world(connect_allowed=False), seconds=0.1))[0].startswith("FAIL voice")
    lines = await check_voice(None, _doctor_world(), seconds=0.1)
    assert lines[-1].startswith("WARN voice: no audio packets from anyone")
