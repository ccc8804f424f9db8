"""How much CPU the voice receive path costs: packets per second, and a real-time call of N speakers.

    .venv/bin/python bench/bench_receive.py [--speakers 25] [--seconds 5]

Packets are real: espeak-ng speech encoded by libopus, DAVE-encrypted by each speaker's davey session (all in one
MLS group with the bot), RTP-packetized and transport-encrypted (aead_xchacha20_poly1305_rtpsize). Two measurements:

1. Throughput, single thread, as fast as possible: the transport AEAD alone (the baseline: no receive path can be
   cheaper), the receive path with a null sink (RTP, transport, duplicate check, DAVE), and the whole path into Ogg
   files (writer on a simulated clock, flushing every simulated second).
2. A real-time call: N speakers all talking at once (50 packets/s each), fed from one thread at the real pace, as
   discord.py's socket reader would, with the writer thread running as in production. Process CPU time over the
   run, against the same feeder calling a no-op. Target: 25 speakers < 5 % of one core.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import davey
import nacl.bindings

from bot.voice.manifest import RecordingFolder
from bot.voice.receiver import VoiceReceiver
from bot.voice.rtp import parse_rtp_header
from bot.voice.testing import ExternalSender, SimulatedSpeaker, form_group
from bot.voice.transport_crypto import TransportEncryptor
from bot.voice.writer import RecordingWriter
from transcripts.cpu import cpu_line

MODE = "aead_xchacha20_poly1305_rtpsize"
KEY = bytes(range(32))
CHANNEL = 1234
BOT = 1
LINES = [
    ("Good morning everyone, welcome to the weekly meeting.", "en-us+m3"),
    ("Thanks Alice, the new release shipped on Monday.", "en-gb-x-rp"),
    ("Sorry I am late, the train was delayed.", "en-us"),
    ("Let us review the open action items next week.", "en-gb+f4"),
]


class NullSink:
    def put_frame(self, *args) -> None:
        pass


def build_call(speakers: int, seconds: float) -> tuple[list[tuple[float, bytes]], davey.DaveSession]:
    """(send time, packet) for `speakers` people talking without pause for `seconds`, and the bot's DAVE session."""
    from tests.voice.speech import encode_line

    frames = [f for text, voice in LINES for f in encode_line(text, voice).frames]
    gateway = ExternalSender()
    bot = davey.DaveSession(1, BOT, CHANNEL)
    sessions = [davey.DaveSession(1, 100 + i, CHANNEL) for i in range(speakers)]
    form_group(gateway, CHANNEL, [sessions[0], bot, *sessions[1:]])
    packets = []
    per_speaker = int(seconds * 50)
    for i, session in enumerate(sessions):
        speaker = SimulatedSpeaker(100 + i, 5000 + i, TransportEncryptor(MODE, KEY), session)
        source = itertools.islice(itertools.cycle(frames), i * 37, None)
        packets += [(n * 0.02 + i * 0.0007, speaker.packet(next(source))) for n in range(per_speaker)]
    packets.sort(key=lambda item: item[0])
    return packets, bot


def make_receiver(sink, bot: davey.DaveSession, speakers: int, clock=time.monotonic) -> VoiceReceiver:
    """Wired as MeetingRecorder does: a RecordingWriter sink drives the (deferred) receiver from its own thread."""
    deferred = isinstance(sink, RecordingWriter)
    receiver = VoiceReceiver(sink, clock=clock, deferred=deferred)
    if deferred:
        sink.maintenance, sink.intake = receiver.maintain, receiver.process
    receiver.bind(SimpleNamespace(mode=MODE, secret_key=list(KEY), dave_session=bot, dave_protocol_version=1))
    for i in range(speakers):
        receiver.map_ssrc(5000 + i, 100 + i)
    return receiver


def throughput(packets, speakers: int) -> list[tuple[str, float]]:
    """Microseconds per packet for each stage, measured on fresh sessions (DAVE refuses replayed nonces)."""
    rows = []
    payloads = []
    for _t, packet in packets:
        header = parse_rtp_header(packet)
        payloads.append((packet[header.aad_size : -4], packet[: header.aad_size], packet[-4:] + bytes(20)))
    start = time.perf_counter()
    for ciphertext, aad, nonce in payloads:
        nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, aad, nonce, KEY)
    rows.append(("PyNaCl AEAD call alone (baseline)", (time.perf_counter() - start) / len(packets) * 1e6))

    fresh, bot = build_call(speakers, len(packets) / speakers / 50)
    receiver = make_receiver(NullSink(), bot, speakers)
    start = time.perf_counter()
    for arrival, packet in fresh:
        receiver.feed(packet, arrival)
    rows.append(("receive path, null sink", (time.perf_counter() - start) / len(fresh) * 1e6))
    assert sum(u.delivered for u in receiver.user_stats.values()) == len(fresh), "packets were lost"

    fresh, bot = build_call(speakers, len(packets) / speakers / 50)
    with tempfile.TemporaryDirectory() as tmp:
        now = [0.0]
        folder = RecordingFolder.open(Path(tmp), "bench")
        writer = RecordingWriter(folder, clock=lambda: now[0], meeting_time_at_start=0.0)
        receiver = make_receiver(writer, bot, speakers, clock=lambda: now[0])
        # The first 0.3 s create every speaker's track (files, fsyncs, manifest): once per speaker and meeting,
        # so they are left out of the steady-state figure.
        warm_up = [p for p in fresh if p[0] < 0.3]
        for arrival, packet in warm_up:
            now[0] = arrival + 0.03
            receiver.feed(packet, now[0])
            writer.pump(now[0])
        start = time.perf_counter()
        next_pump = 0.0
        for arrival, packet in fresh[len(warm_up) :]:
            now[0] = arrival + 0.03
            receiver.feed(packet, now[0])
            if now[0] >= next_pump:  # the writer thread wakes every 20 ms
                writer.pump(now[0])
                next_pump = now[0] + 0.02
        writer.pump(now[0] + 0.2)
        writer.flush()  # the last pages, as the 1 s timer would
        elapsed = time.perf_counter() - start
        writer.close()
        written = sum(t["frames"] for t in writer.snapshot().values())
        assert written == len(fresh), f"{written} of {len(fresh)} frames written"
    rows.append(("receive path + Ogg writer", elapsed / (len(fresh) - len(warm_up)) * 1e6))
    return rows


def real_time(packets, bot, speakers: int, seconds: float, *, record: bool) -> float:
    """Process CPU seconds per wall second while feeding `packets` at their real pace."""
    with tempfile.TemporaryDirectory() as tmp:
        if record:
            folder = RecordingFolder.open(Path(tmp), "bench")
            writer = RecordingWriter(folder)
            receiver = make_receiver(writer, bot, speakers)
            writer.start()
            feed = receiver.feed
        else:
            writer, feed = None, lambda packet: None

        def feeder():
            start = time.monotonic()
            for send_time, packet in packets:
                delay = start + send_time - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                feed(packet)

        cpu0, wall0 = time.process_time(), time.monotonic()
        thread = threading.Thread(target=feeder)
        thread.start()
        thread.join()
        if writer is not None:
            time.sleep(1.2)  # the last flush
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        if writer is not None:
            writer.close()
            frames = sum(t["frames"] for t in writer.snapshot().values())
            assert frames == len(packets), f"{frames} of {len(packets)} frames written"
        return cpu / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(cpu_line())
    print(f"load average {load:.2f} (other work on the machine inflates the real-time figure)")

    packets, _bot = build_call(args.speakers, 2.0)
    rows = throughput(packets, args.speakers)
    baseline = rows[0][1]
    print(f"\nThroughput ({len(packets)} packets, {args.speakers} speakers, one thread)")
    print(f"{'stage':34} {'us/packet':>10} {'packets/s':>11} {'vs baseline':>12}")
    for name, micros in rows:
        print(f"{name:34} {micros:10.1f} {1e6 / micros:11,.0f} {micros / baseline:11.1f}x")

    packets, bot = build_call(args.speakers, args.seconds)
    idle = real_time(packets, bot, args.speakers, args.seconds, record=False)
    packets, bot = build_call(args.speakers, args.seconds)
    busy = real_time(packets, bot, args.speakers, args.seconds, record=True)
    path = busy - idle
    print(
        f"\nReal time: {args.speakers} speakers talking at once for {args.seconds:g} s "
        f"({args.speakers * 50} packets/s), writer thread running"
    )
    print(f"{'run':34} {'CPU % of one core':>18} {'per speaker':>12}")
    print(f"{'feeder alone (baseline)':34} {idle * 100:17.2f}% {'':>12}")
    print(f"{'feeder + receive path + writer':34} {busy * 100:17.2f}% {'':>12}")
    print(f"{'receive path + writer':34} {path * 100:17.2f}% {path * 100 / args.speakers:11.3f}%")
    verdict = "meets" if path < 0.05 else "MISSES"
    print(f"\n{verdict} the target: {args.speakers} speakers < 5 % of one core ({path * 100:.2f} %)")


if __name__ == "__main__":
    main()
