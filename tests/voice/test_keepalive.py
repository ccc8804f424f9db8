"""UDP keepalive on the voice socket, and what it is for: a simulated voice server that, like Discord's, stops
forwarding to a client it has not heard from for 60 s. An hour-long call (on a simulated clock) through it records
every speaker with the keepalive, and loses nearly everything without it."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import subprocess
import time
from types import SimpleNamespace

import pytest
from discord.voice_state import ConnectionFlowState

from bot.voice.keepalive import KEEPALIVE_INTERVAL, UdpKeepAlive, keepalive_datagram
from tests.voice.test_voice_client import voice_client  # noqa: F401 - the fixture
from tests.voice.voice_server import IDLE_CUTOFF, meeting_script, run_call

SPEAKERS = {101: "en-us+m3", 202: "en-gb-x-rp", 303: "en-us", 404: "en-gb+f4"}
NAMES = {101: "Alice", 202: "Bob", 303: "Carol", 404: "Dave"}


def _server() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(1.0)
    return server


def _client(server: socket.socket) -> socket.socket:
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.connect(server.getsockname())
    client.setblocking(False)
    return client


def _received(server: socket.socket) -> list[tuple[bytes, tuple]]:
    server.setblocking(False)
    out = []
    while True:
        try:
            out.append(server.recvfrom(2048))
        except BlockingIOError:
            server.settimeout(1.0)
            return out


def test_keepalive_every_5_s_restarts_on_a_new_socket_and_pauses_while_disconnected():
    server = _server()
    connection = SimpleNamespace(socket=_client(server), connected=True)
    connection.is_connected = lambda: connection.connected
    keepalive = UdpKeepAlive(connection)
    assert KEEPALIVE_INTERVAL == 5.0
    sent = [t for t in (0.0, 1.0, 4.9, 5.0, 7.0, 10.0, 14.99, 15.0) if keepalive.tick(t)]
    assert sent == [0.0, 5.0, 10.0, 15.0]
    datagrams = _received(server)
    assert [d for d, _a in datagrams] == [keepalive_datagram(n) for n in range(4)]
    assert all(len(d) == 8 and struct.unpack_from("<I", d)[0] == n for n, (d, _a) in enumerate(datagrams))
    first_port = datagrams[0][1][1]

    connection.connected = False  # discord.py lost the connection: nothing is sent meanwhile
    assert not any(keepalive.tick(t) for t in (20.0, 25.0, 30.0))
    connection.socket.close()
    connection.socket, connection.connected = _client(server), True  # reconnected: a new socket
    assert keepalive.tick(31.0) and not keepalive.tick(35.0) and keepalive.tick(36.0)
    again = _received(server)
    assert len(again) == 2 and {a[1] for _d, a in again} != {first_port} and keepalive.restarts == 1
    connection.socket.close()
    server.close()


def test_keepalive_survives_a_closed_socket():
    server = _server()
    connection = SimpleNamespace(socket=_client(server), is_connected=lambda: True)
    keepalive = UdpKeepAlive(connection)
    connection.socket.close()  # closed under it mid-reconnect
    assert not keepalive.tick(0.0) and keepalive.sent == 0
    server.close()


async def test_keepalive_runs_on_discord_py_voice_socket_from_connect_to_cleanup(voice_client):
    """discord.py's own VoiceConnectionState: the keepalive starts with connect(), uses the socket discord.py
    made, follows it to the new socket discord.py makes when it reconnects, and stops at cleanup()."""
    vc, _ws = voice_client
    state = vc.connection_state
    server = _server()

    async def connect(**kwargs):  # discord.py's handshake, as far as the socket goes
        state._create_socket()
        state.socket.connect(server.getsockname())
        state.state = ConnectionFlowState.connected

    state.connect = connect
    vc.keepalive.interval = 0.1  # 5 s, time-compressed
    await vc.connect(reconnect=True, timeout=5, self_deaf=False, self_mute=True)
    assert vc.keepalive.running
    await asyncio.sleep(0.55)
    first = await asyncio.to_thread(_received, server)
    assert 4 <= len(first) <= 8 and all(len(d) == 8 for d, _a in first), first
    port = first[0][1][1]

    # discord.py reconnects (voice server change): soft disconnect, a new socket, connected again.
    state.state = ConnectionFlowState.got_both_voice_updates
    state.socket.close()
    await asyncio.sleep(0.3)
    assert not await asyncio.to_thread(_received, server)  # not connected: nothing sent
    await connect()
    await asyncio.sleep(0.35)
    second = await asyncio.to_thread(_received, server)
    assert second and {a[1] for _d, a in second} == {state.socket.getsockname()[1]} != {port}

    vc.channel._get_voice_client_key = lambda: (5, "guild_id")
    vc.client._connection._remove_voice_client = lambda key: None
    vc.cleanup()  # what discord.py calls on every disconnect
    assert not vc.keepalive.running
    await asyncio.sleep(0.3)
    assert not await asyncio.to_thread(_received, server)
    server.close()


# ---- a long call through a server that drops silent clients ------------------------------------------------------


def test_keepalive_sixty_minute_call_records_every_speaker_end_to_end(tmp_path):
    script = meeting_script(60, SPEAKERS)
    started = time.monotonic()
    result = run_call(script, duration=3600, keepalive=True, names=NAMES, folder=tmp_path / "rec")
    took = time.monotonic() - started
    assert script[-1].start > 3400 and len(script) > 40
    assert result.keepalive.sent >= 3600 / KEEPALIVE_INTERVAL - 1
    assert result.server.withheld == 0
    assert result.delivered == result.sent_speech  # every speech frame of every speaker
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())

    def track_path(track: dict) -> str:
        return str(tmp_path / "rec" / track["file"])

    assert sorted(t["speaker"] for t in manifest["tracks"]) == sorted(NAMES.values())
    snapshot = result.writer.snapshot()
    for user, name in NAMES.items():
        assert snapshot[user]["speech_frames"] == result.sent_speech[user], name
        track = next(t for t in manifest["tracks"] if t["speaker"] == name)
        last_line = max(line.start for line in script if line.user_id == user)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", track_path(track)],
            capture_output=True,
            text=True,
            check=True,
        )
        # The track runs (with its silences) from the speaker's first line to past their last one.
        assert track["offset"] + float(probe.stdout) > last_line + 1.0, name
    decode = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(tmp_path / "rec" / manifest["tracks"][0]["file"]), "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert decode.returncode == 0 and decode.stderr == ""
    assert took < 120, f"the simulated hour took {took:.0f} s"


def test_without_keepalive_the_server_stops_forwarding_after_a_minute():
    """The same kind of call, 15 minutes, without the keepalive: only what was said in the first minute arrives."""
    script = meeting_script(15, SPEAKERS)
    result = run_call(script, duration=900, keepalive=False, names=NAMES)
    assert result.server.withheld > 0
    early = [line for line in script if line.start < IDLE_CUTOFF - 5]
    assert early  # something was said before the cut-off, and that much arrived
    for user in NAMES:
        arrivals = result.arrivals[user]
        assert all(t < IDLE_CUTOFF + 1 for t in arrivals), NAMES[user]
    total_sent = sum(result.sent_speech.values())
    assert sum(result.delivered.values()) < 0.2 * total_sent


@pytest.mark.parametrize("keepalive", [True, False])
def test_keepalive_fifteen_minute_call_through_the_server(keepalive):
    script = meeting_script(15, SPEAKERS, every=45)
    result = run_call(script, duration=900, keepalive=keepalive, names=NAMES)
    lines_heard = 0
    for line in script:
        heard = [t for t in result.arrivals[line.user_id] if line.start <= t <= line.start + 6]
        lines_heard += bool(heard)
    if keepalive:
        assert lines_heard == len(script) and result.delivered == result.sent_speech
    else:
        assert lines_heard <= 2 < len(script)
