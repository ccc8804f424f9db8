"""The process that gets killed in test_crash_safety: a recorder fed in real time, reporting what it has flushed.

    python -m tests.voice.crash_drill FOLDER MEETING SCHEDULE_PICKLE

It resumes FOLDER (as a restarted bot would), builds a DAVE group of simulated speakers and the bot, then replays
the schedule — (send time, user id, Opus frame) — in real time: each frame is DAVE- and transport-encrypted by its
speaker's client and fed to the receive path 30 ms after its send time, while the writer thread flushes pages on
its own 1 s timer. On stdout (line-buffered, read by the test through a pipe):

    start <time.monotonic() when send time 0 happened>
    flush <speech frames handed to the kernel so far> <time.monotonic()>
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import davey

from bot.voice.manifest import RecordingFolder
from bot.voice.receiver import VoiceReceiver
from bot.voice.testing import ExternalSender, SimulatedSpeaker, form_group
from bot.voice.transport_crypto import TransportEncryptor
from bot.voice.writer import RecordingWriter

CHANNEL = 4242
BOT = 9
MODE = "aead_xchacha20_poly1305_rtpsize"
NETWORK_DELAY = 0.03


def main(folder: Path, meeting: str, schedule_file: Path) -> None:
    schedule: list[tuple[float, int, bytes]] = pickle.loads(schedule_file.read_bytes())
    users = sorted({user for _t, user, _f in schedule})
    key = bytes(range(1, 33))
    gateway = ExternalSender()
    sessions = {user: davey.DaveSession(1, user, CHANNEL) for user in [BOT, *users]}
    form_group(gateway, CHANNEL, [sessions[u] for u in [BOT, *users]])
    speakers = {u: SimulatedSpeaker(u, 1000 + u, TransportEncryptor(MODE, key), sessions[u]) for u in users}

    recording = RecordingFolder.open(folder, meeting)
    writer = RecordingWriter(
        recording,
        speaker_name=lambda user: f"speaker{user}",
        on_flush=lambda report: print(f"flush {report['speech_frames']} {time.monotonic():.6f}", flush=True),
    )
    receiver = VoiceReceiver(writer, deferred=True)  # as MeetingRecorder wires them
    writer.maintenance, writer.intake = receiver.maintain, receiver.process
    receiver.bind(SimpleNamespace(mode=MODE, secret_key=key, dave_session=sessions[BOT], dave_protocol_version=1))
    for user in users:
        receiver.map_ssrc(1000 + user, user)
    writer.start()

    start = time.monotonic() + 0.05
    print(f"start {start:.6f}", flush=True)
    next_send: dict[int, float] = {}
    for send_time, user, frame in schedule:
        speaker = speakers[user]
        if user in next_send and send_time > next_send[user] + 0.001:
            speaker.skip(round((send_time - next_send[user]) * 48_000))
        next_send[user] = send_time + 0.02
        packet = speaker.packet(frame)
        delay = start + send_time + NETWORK_DELAY - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        receiver.feed(packet)
    time.sleep(3600)  # wait to be killed


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
