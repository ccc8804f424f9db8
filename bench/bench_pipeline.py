"""End of call → minutes posted: the live path (transcribed during the call) next to the batch path (everything
transcribed after the call), on one synthesized meeting, in the same run.

    .venv/bin/python bench/bench_pipeline.py [--minutes 60] [--speed 10] [--whisper base] [--llm qwen2.5-coder-1.5b-q8_0]

The meeting: a scripted multi-speaker call (transcripts/sample/long_meeting.py) spoken by espeak-ng (about 160 words
a minute with the pauses) for `--minutes`, played through the real voice receive path (Opus, DAVE, RTP, transport
encryption → per-speaker Ogg files) at `--speed` times real time. Live: each closed utterance goes to the live
transcriber process while the call plays, which also reads the finished parts ahead for the minutes. Batch: the same
recording folder processed only after the call. Both then write the minutes with the local model and post them to
a local server that speaks Discord's API; each path's transcript is scored against the script (WER: a live
transcriber that fell behind decodes greedily while it catches up). Targets (issue 15, 60 minutes at 5x): live
≤ 60 s on 2 cores without AMX and ≤ 30 s with AMX, and no process above 2.5 GB. Peak RSS is reported per process
and per path: the pipeline's own peak is reset before each path runs, so each figure is what that path needs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bot.voice.testing import CallLine, play_call
from tests.fakes.discord_messages import FakeDiscordMessages
from tracker import pipeline
from tracker.config import load_settings
from tracker.db import Database
from tracker.live import LIVE_TRANSCRIPT, LiveOptions, LiveTranscription
from tracker.models import Meeting, MeetingState, WorkingGroup
from tracker.pipeline import MINUTES_CACHE
from transcripts.cpu import cpu_flags, cpu_line
from transcripts.llm import load_llm
from transcripts.memory import release_freed_memory
from transcripts.sample.long_meeting import long_meeting
from transcripts.synthesize import ESPEAK_RATE, VOICES, render_line
from transcripts.wer import word_error_rate

CHANNEL = 555
MEETING_START = dt.datetime(2026, 11, 26, 17, tzinfo=dt.UTC)
TITLE = "Bench WG call"  # the live worker is given the meeting's title, as the bot gives it (bot/exts/recording.py)


def call_lines(minutes: float) -> tuple[list[CallLine], str]:
    """The call's lines, and what is said in them (for the transcripts' WER)."""
    meeting = long_meeting(int(minutes * 180))  # more than is spoken in `minutes`: the call is cut there
    voices: dict[str, str] = {}
    lines, said, cursor = [], [], 1.0
    for segment in meeting.transcript.segments:
        voice = voices.setdefault(segment.speaker, VOICES[len(voices) % len(VOICES)])
        speech = render_line(segment.text, voice)
        n = int(len(speech) / ESPEAK_RATE * 48_000)
        pcm = np.interp(np.arange(n) / 48_000, np.arange(len(speech)) / ESPEAK_RATE, speech).astype(np.float32)
        lines.append(CallLine(cursor, 100 + list(voices).index(segment.speaker), segment.speaker, pcm))
        said.append(segment.text)
        cursor += n / 48_000 + 0.6
        if cursor > minutes * 60:
            break
    return lines, " ".join(said)


def process(db: Database, settings, folder: Path) -> tuple[float, int]:
    """Run the pipeline from `recorded` to published; seconds it took, and the meeting's id."""
    with db.session() as session:
        group = WorkingGroup(name="Bench WG", series_start=dt.date(2026, 11, 1), text_channel_id=CHANNEL)
        session.add(group)
        session.flush()
        meeting = Meeting(
            group_id=group.id,
            title=TITLE,
            scheduled_start=MEETING_START,
            state=MeetingState.recorded,
            recording_dir=str(folder),
        )
        session.add(meeting)
        session.flush()
        meeting_id = meeting.id
    started = time.monotonic()
    state = pipeline.run(db, settings, meeting_id)
    if state != MeetingState.published:
        raise SystemExit(f"the pipeline ended in {state}")
    return time.monotonic() - started, meeting_id


def transcript_wer(db: Database, meeting_id: int, said: str) -> float:
    with db.session() as session:
        transcript = pipeline.load_transcript(session, meeting_id)
    return word_error_rate(said, " ".join(segment.text for segment in transcript.segments))


def reset_peak_rss() -> float:
    """Start this process's peak RSS (VmHWM) afresh (Linux: writing 5 to clear_refs); its RSS now, in MiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_rss_mib()


def peak_rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_pids(pid: int | str = "self") -> list[int]:
    """The processes this one started, and theirs."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found + [g for c in found for g in child_pids(c)]


class ChildPeaks:
    """The peak RSS of every child process while the block runs, polled (a process's own figure is gone once it
    has ended; RUSAGE_CHILDREN keeps only the largest, and counts what a spawned child inherited from this
    process before its exec)."""

    def __init__(self) -> None:
        self.peaks: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._done.wait(0.1):
            for pid in child_pids():
                with contextlib.suppress(OSError, ValueError):
                    if "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_text():  # not an espeak-ng or ffmpeg
                        self.peaks[pid] = max(self.peaks.get(pid, 0.0), peak_rss_mib(pid))

    def __enter__(self) -> ChildPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def of(self, pid: int) -> float:
        return self.peaks.get(pid, 0.0)

    @property
    def highest(self) -> float:
        return max(self.peaks.values(), default=0.0)


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds a running child has used so far (RUSAGE_CHILDREN counts it only once it has ended)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--speed", type=float, default=10, help="playback speed (times real time)")
    parser.add_argument("--whisper", default="base")
    parser.add_argument("--llm", default="qwen2.5-coder-1.5b-q8_0")
    args = parser.parse_args()

    print(cpu_line(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="wgbot-bench-"))
    print(f"synthesizing a {args.minutes:.0f}-minute meeting …", flush=True)
    lines, said = call_lines(args.minutes)
    call_seconds = lines[-1].start + len(lines[-1].pcm48k) / 48_000
    with FakeDiscordMessages() as discord:
        settings = load_settings(
            storage={"database_url": f"sqlite:///{work / 'wgbot.db'}"},
            models={"whisper_model": args.whisper, "llm_model": args.llm},
            discord={"token": discord.token, "api_base": discord.api_base, "text_channel_id": CHANNEL, "guild_id": 1},
        )
        db = Database(settings.storage.url)
        db.upgrade()

        live_folder = work / "live"
        live_folder.mkdir()
        live = LiveTranscription(
            live_folder,
            LiveOptions.from_settings(
                settings, title=TITLE, speakers=sorted({l.speaker for l in lines}), meeting_date=MEETING_START.date()
            ),
        )
        live.start()
        transcriber_pid, reader_pid = live.pids
        print(f"playing {call_seconds / 60:.1f} minutes of call at {args.speed:g}x into the live path …", flush=True)
        with ChildPeaks() as live_children:
            play_call(lines, live_folder, meeting="bench-live", on_utterance=live.submit, realtime=args.speed)
            utterances, speakers = len(lines), len({line.speaker for line in lines})
            del lines  # the call's audio (hundreds of MB) is the bench's, not the pipeline's: not in its peak RSS
            release_freed_memory()
            # The live worker's CPU during the call is not "after the call": it is counted when the worker ends.
            call_end, cpu_at_end = time.monotonic(), cpu() + sum(process_cpu(pid) for pid in live.pids)
            call_end_clock = time.time()
            if not live.finish():
                raise SystemExit("the live transcript is incomplete")
        tail = time.monotonic() - call_end
        # the transcriber's part of the tail: its transcript file is written once the last words are decoded
        last_words = (live_folder / LIVE_TRANSCRIPT).stat().st_mtime - call_end_clock
        live_base = reset_peak_rss()
        live_processing, live_meeting = process(db, settings, live_folder)
        live_peak = peak_rss_mib()
        live_latency, live_cpu = time.monotonic() - call_end, cpu() - cpu_at_end
        model = load_llm(args.llm)  # the pipeline's model in this process (its weights only if it asked anything)
        read_ahead, after = sum(s.cached for s in model.stats), [s for s in model.stats if not s.cached]
        model_load = model.load_seconds
        del model  # the batch path must be free to drop it

        batch_folder = work / "batch"
        shutil.copytree(live_folder, batch_folder, ignore=shutil.ignore_patterns("transcript.live.*", MINUTES_CACHE))
        assert not (batch_folder / LIVE_TRANSCRIPT).exists() and not (batch_folder / MINUTES_CACHE).exists()
        print("processing the same recording after the call (batch) …", flush=True)
        cpu_before = cpu()
        batch_base = reset_peak_rss()
        with ChildPeaks() as batch_children:
            batch_latency, batch_meeting = process(db, settings, batch_folder)
        batch_peak = peak_rss_mib()
        batch_cpu = cpu() - cpu_before
        posted = len(discord.channel(CHANNEL))
        live_wer, batch_wer = (transcript_wer(db, m, said) for m in (live_meeting, batch_meeting))

    print()
    print(
        f"meeting: {call_seconds / 60:.1f} min, {utterances} utterances, {speakers} speakers; "
        f"whisper {args.whisper} int8, summary {args.llm}; {posted} minutes messages posted"
    )
    print(f"{'path':<34} {'call end → posted':>18} {'CPU after call':>15} {'vs batch':>9} {'WER':>7}")
    print(
        f"{'batch (transcribe after the call)':<34} {batch_latency:>16.1f} s {batch_cpu:>13.1f} s {1.0:>8.2f}x "
        f"{batch_wer:>6.2%}"
    )
    print(
        f"{'live (transcribed during the call)':<34} {live_latency:>16.1f} s {live_cpu:>13.1f} s "
        f"{batch_latency / live_latency:>8.2f}x {live_wer:>6.2%}"
    )
    print(
        f"  live: transcript and the read-ahead's last answers {tail:.1f} s after the call (the last words "
        f"{last_words:.1f} s), then the pipeline {live_processing:.1f} s; {read_ahead} answers read ahead, "
        f"{len(after)} model calls in the pipeline"
    )
    if after:
        print(
            f"  the pipeline's model: loaded in {model_load:.1f} s; {sum(s.evaluated_tokens for s in after)} prompt "
            f"tokens computed, {sum(s.completion_tokens for s in after)} generated "
            f"({', '.join(s.purpose for s in after)})"
        )
    print(
        f"peak RSS: live transcriber {live_children.of(transcriber_pid):.0f} MiB, read-ahead "
        f"{live_children.of(reader_pid):.0f} MiB; pipeline after the call: live path {live_peak:.0f} MiB, batch path "
        f"{batch_peak:.0f} MiB (this process held {live_base:.0f} and {batch_base:.0f} MiB before each), its "
        f"transcribing process {batch_children.highest:.0f} MiB"
    )
    highest = max(live_children.highest, batch_children.highest, live_peak, batch_peak)
    amx = "amx_tile" in cpu_flags()
    limit = 30.0 if amx else 60.0
    print(
        f"targets: live ≤ {limit:.0f} s ({'AMX' if amx else 'no AMX'}) → {'met' if live_latency <= limit else 'NOT met'}; "
        f"no process above 2.5 GB → {'met' if highest <= 2560 else 'NOT met'} ({highest:.0f} MiB)"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
