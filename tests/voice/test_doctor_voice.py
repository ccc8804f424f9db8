"""`wgbot doctor --voice`: honest lines and exit code, a real davey session, the refusal while recording, the capture
file (no audio content) and its replay — from a capture the simulated voice server made (shipped as a fixture)."""

from __future__ import annotations

import asyncio
import io
import json
import time
from types import SimpleNamespace

import davey
import pytest
from typer.testing import CliRunner

from bot.voice import live_check
from bot.voice.capture import CallAnalysis, CaptureError, read_capture
from bot.voice.live_check import check_voice, recording_in_progress, run_voice_check
from bot.voice.testing import SimulatedSpeaker
from bot.voice.transport_crypto import TransportEncryptor
from tests.voice.make_capture_fixture import FIXTURE, build_capture
from tests.voice.speech import encode_line
from tests.voice.test_consent_retention_doctor import _doctor_world
from tests.voice.test_recorder import KEY, MODE

RECORD_KEYS = {
    "t",
    "ev",
    "n",
    "r",
    "ssrc",
    "u",
    "seq",
    "ts",
    "pt",
    "m",
    "x",
    "xn",
    "p",
    "cc",
    "op",
    "d",
    "version",
    "epoch",
    "status",
    "dave",
    "totals",
}


async def _talk(channel, *, frames=25, secret=None):
    while not channel.clients or channel.clients[0].receiver is None:
        await asyncio.sleep(0.01)
    client = channel.clients[0]
    receiver = client.receiver
    if secret is not None:  # the gateway's session description, as the capture sees it
        client.gateway_listener({"op": 4, "d": {"mode": MODE, "secret_key": secret}}, time.monotonic())
    for user, ssrc in ((11, 111), (12, 222)):
        msg = {"op": 5, "d": {"user_id": str(user), "ssrc": ssrc, "speaking": 1}}
        client.gateway_listener(msg, time.monotonic())
        receiver.handle_ws_message(msg)
        speaker = SimulatedSpeaker(user, ssrc, TransportEncryptor(MODE, KEY))
        for i, frame in enumerate(encode_line("Testing one two three.", "en-us").frames[:frames]):
            if user == 12 and i == 10:
                speaker.packet(frame)  # lost on the way: a gap in Bob's sequence numbers
                continue
            receiver.feed(speaker.packet(frame), time.monotonic())


async def test_doctor_voice_reports_a_real_davey_session_status(tmp_path):
    """davey 0.1.7's SessionStatus has no `.name`: the doctor must not crash on a real session."""
    channel = _doctor_world()
    session = davey.DaveSession(1, 1, 4000)
    assert not hasattr(session.status, "name")

    async def connect(**kwargs):
        client = await type(channel).connect(channel, **kwargs)
        client.connection_state.dave_session = session
        client.connection_state.dave_protocol_version = 1
        return client

    channel.connect = connect
    talker = asyncio.create_task(_talk(channel))
    lines = await check_voice(None, channel, seconds=0.3)
    await talker
    assert lines[0] == (
        "OK voice: joined #weekly-call; transport aead_xchacha20_poly1305_rtpsize; DAVE protocol v1, "
        "session inactive, epoch None"
    ), lines
    assert any(line.startswith("OK voice: Alice: 25 packets received, 25 decrypted") for line in lines), lines
    bob = next(line for line in lines if ": Bob:" in line)
    assert "24 packets received" in bob and "1 lost in 1 gap" in bob, bob
    assert not list(tmp_path.iterdir())


async def test_doctor_voice_refuses_when_the_bot_is_already_in_a_call():
    channel = _doctor_world()
    channel.guild.me.voice = SimpleNamespace(channel=SimpleNamespace(name="weekly-call"), deaf=False)
    lines = await check_voice(None, channel, seconds=0.1)
    assert lines[0].startswith("FAIL voice: not checked: the bot is in #weekly-call already") and not channel.connects


async def test_doctor_voice_capture_has_no_audio_and_replays_to_the_same_report():
    channel = _doctor_world()
    out = io.StringIO()
    talker = asyncio.create_task(_talk(channel, secret=list(KEY)))
    lines = await check_voice(None, channel, seconds=0.3, capture=out)
    await talker
    text = out.getvalue()
    records = [json.loads(line) for line in text.splitlines()]
    assert records[0]["capture"] == "wgbot-voice" and records[0]["members"][0]["name"] == "Alice"
    assert records[-1]["ev"] == "end"
    packets = [r for r in records[1:] if r["ev"] == "pkt"]
    assert len(packets) == 49 and {r["r"] for r in packets} == {"plain"}
    assert all(set(r) <= RECORD_KEYS for r in records[1:])
    gateway = [r for r in records if r.get("ev") == "gw"]
    assert gateway[0]["d"]["secret_key"] == "<removed>" and str(list(KEY)) not in text
    frame = encode_line("Testing one two three.", "en-us").frames[3]
    assert frame.hex() not in text and frame[:8].hex() not in text  # no payload, in any form
    replayed = CallAnalysis.replay(records).lines()
    assert replayed == [line for line in lines[1:]], (replayed, lines)


def test_replay_of_a_capture_from_the_simulated_server_finds_the_stall():
    """The shipped fixture: a bot without keepalives; the simulated server stops forwarding 60 s after the bot's
    IP discovery. The analysis must see every speaker until then, nothing after, and the stall."""
    analysis = CallAnalysis.replay(read_capture(FIXTURE))
    lines = analysis.lines()
    by_name = {
        line.split(":")[1].strip(): line for line in lines if line.count(":") >= 2 and "packets received" in line
    }
    assert set(by_name) == {"Alice", "Bob", "Carol"}, lines
    assert all(line.startswith("OK voice:") for line in by_name.values()), lines
    carol = analysis.people["303"]
    # Carol's SPEAKING event came 2 s late: her first packets waited for it and were decrypted, not dropped.
    assert carol.packets == carol.decrypted > 100 and carol.dave_failed == 0
    assert all(p.dave_failed == 0 and p.transport_failed == 0 for p in analysis.people.values())
    # Nothing arrived after the server's cut-off at 60 s: Bob's line at 90 s and Carol's at 120 s never came.
    last_packet = max(r["t"] for r in read_capture(FIXTURE) if r.get("ev") == "pkt" and r["r"] != "not_rtp")
    assert 45 < last_packet < 61
    stalls = [line for line in lines if line.startswith("WARN voice: no audio received")]
    # A pause in the talk looks the same from the bot's side as a stall; both are reported, neither is a FAIL.
    assert len(stalls) == 2, lines
    assert "from 00:22 to 00:45" in stalls[0] and "to 02:30 (the end of the check)" in stalls[1], lines
    assert analysis.keepalives == 0 and analysis.dave_states[0]["status"] == "active"


def test_the_capture_fixture_is_what_the_simulated_server_makes_today():
    """The fixture is not stale: a fresh run of its generator gives the same report (counts, gaps, stalls)."""
    fresh = CallAnalysis.replay(json.loads(line) for line in build_capture().splitlines())
    shipped = CallAnalysis.replay(read_capture(FIXTURE))
    assert fresh.lines() == shipped.lines()


def test_a_file_that_is_not_a_capture_is_a_clear_error(tmp_path):
    wrong = tmp_path / "x.jsonl"
    wrong.write_text('{"hello": 1}\n')
    with pytest.raises(CaptureError, match="not a wgbot voice capture"):
        list(read_capture(wrong))
    with pytest.raises(CaptureError, match="cannot be read"):
        list(read_capture(tmp_path / "missing.jsonl"))


# ---- the command: exit code, --seconds, --capture, refusal while recording ------------------------------------


@pytest.fixture
def doctor_cli(monkeypatch):
    import importlib

    from bot.cli import app

    for name in ("bot.doctor", "tracker.doctor"):  # wherever the command takes its other checks from
        module = importlib.import_module(name) if importlib.util.find_spec(name) else None
        if hasattr(module, "run_checks"):
            monkeypatch.setattr(module, "run_checks", lambda settings, models=True: iter(()))
    calls = []

    def fake_voice(lines):
        def run(settings, seconds=10, capture=None):
            calls.append((seconds, capture))
            return lines

        monkeypatch.setattr(live_check, "run_voice_check", run)

    return SimpleNamespace(app=app, calls=calls, voice=fake_voice, run=lambda *args: CliRunner().invoke(app, args))


def test_doctor_voice_fail_makes_the_exit_code_nonzero(doctor_cli, tmp_path):
    doctor_cli.voice(["OK voice: joined #weekly-call", "FAIL voice: Alice: 50 packets received, 0 decrypted"])
    result = doctor_cli.run("doctor", "--no-models", "--voice", "--seconds", "900", "--capture", str(tmp_path / "c"))
    assert result.exit_code == 1, result.output
    assert "FAIL voice: Alice" in result.output
    assert doctor_cli.calls == [(900.0, tmp_path / "c")]
    doctor_cli.voice(["OK voice: joined #weekly-call", "WARN voice: no audio packets from anyone in 10 s"])
    assert doctor_cli.run("doctor", "--no-models", "--voice").exit_code == 0
    assert doctor_cli.calls[-1] == (10.0, None)
    refused = doctor_cli.run("doctor", "--no-models", "--capture", str(tmp_path / "c"))
    assert refused.exit_code == 2 and "--capture needs --voice" in refused.output


def test_doctor_voice_refuses_while_this_deployment_is_recording(sqlite_db, monkeypatch, tmp_path):
    from tracker import recordings, schedule
    from tracker.config import load_settings

    monkeypatch.setenv("WGBOT_DATABASE_URL", str(sqlite_db.engine.url))
    monkeypatch.setenv("WGBOT_DISCORD_TOKEN", "x" * 30)
    monkeypatch.setenv("WGBOT_DISCORD_VOICE_CHANNEL_ID", "4000")
    settings = load_settings()
    assert recording_in_progress(settings) is None
    with sqlite_db.session() as session:
        meeting = recordings.begin(session, schedule.ensure_group(session, settings), tmp_path)
        title = meeting.title

    import discord

    def no_login(*args, **kwargs):
        raise AssertionError("the check must not log in while a recording runs")

    monkeypatch.setattr(discord, "Client", no_login)
    lines = run_voice_check(settings, seconds=5, capture=tmp_path / "capture.jsonl")
    assert len(lines) == 1 and lines[0].startswith(f'FAIL voice: not checked: this deployment is recording "{title}"')
    assert "would take the recording's connection" in lines[0]
    assert not (tmp_path / "capture.jsonl").exists()

    monkeypatch.setenv("WGBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    assert "cannot tell from the database" in recording_in_progress(load_settings())
