"""SIGKILL drills: the recorder process is killed at random moments, 20 times, and restarted into the same folder.

Four chains run side by side; in each, a recorder subprocess (tests/voice/crash_drill.py) records three speakers
in real time into one meeting folder and is killed with SIGKILL at a random moment 2-5 s in, then a new process
resumes the same folder — five times per chain. After every kill: every Ogg file in the folder decodes with FFmpeg
(PyAV); every speech frame the process reported as flushed is on disk; and at least 99 % of the frames fed to it
more than `GRACE` (2 s, the flush promise) before the kill are recovered; the writer's own worst case is its 1 s
flush interval plus the 100 ms reorder window, the rest is room for a loaded machine. At the end each folder is
reopened once more: torn tails are cut, every file is listed in the manifest, the meeting clock never moved.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.voice.manifest import RecordingFolder
from bot.voice.ogg_writer import iter_pages, read_opus_packets
from bot.voice.opus_frames import SILENCE_FRAME
from tests.voice.speech import decode_file, encode_line

REPO = Path(__file__).resolve().parents[2]
MEETING = "crash-drill"
CHAINS = 4
KILLS_PER_CHAIN = 5
GRACE = 2.0  # the promise: flushed at least every 2 s (the writer's own worst case is 1 s + 100 ms)
NETWORK_DELAY = 0.03
LINES = [
    (0.2, 1, "Good morning everyone, welcome to the weekly meeting.", "en-us+m3"),
    (1.4, 2, "Thanks Alice, the new release shipped on Monday.", "en-gb-x-rp"),
    (2.6, 3, "Sorry I am late, the train was delayed.", "en-us"),
    (4.0, 1, "Let us review the open action items next week.", "en-us+m3"),
]


@dataclass
class Drill:
    chain: int
    run: int
    kill_after: float
    fed_before_grace: int = 0
    recovered_of_those: int = 0
    reported_flushed: int = 0
    recovered_speech: int = 0
    loss_window: float = 0.0
    problems: list[str] = field(default_factory=list)


def _schedule() -> list[tuple[float, int, bytes]]:
    items = []
    for start, user, text, voice in LINES:
        frames = list(encode_line(text, voice).frames) + [SILENCE_FRAME] * 5
        items += [(start + i * 0.02, user, f) for i, f in enumerate(frames)]
    return sorted(items, key=lambda item: item[0])


def _drill_once(folder: Path, schedule_file: Path, schedule, drill: Drill) -> None:
    existing = {p.name for p in folder.glob("*.ogg")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.voice.crash_drill", str(folder), MEETING, str(schedule_file)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 30
    while not any(line.startswith("start ") for line in lines):
        if process.poll() is not None or time.monotonic() > deadline:
            drill.problems.append(f"recorder did not start: {process.stderr.read()[-2000:]}")
            process.kill()
            return
        time.sleep(0.01)
    start = float(next(line for line in lines if line.startswith("start ")).split()[1])
    time.sleep(max(0.0, start + drill.kill_after - time.monotonic()))
    killed_at = time.monotonic()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    reader.join(5)
    stderr = process.stderr.read()
    if "Traceback" in stderr:
        drill.problems.append(f"recorder raised before the kill: {stderr[-2000:]}")
    flushes = [int(line.split()[1]) for line in lines if line.startswith("flush ")]
    drill.reported_flushed = max(flushes, default=0)

    recovered: Counter[bytes] = Counter()
    for path in sorted(folder.glob("*.ogg")):
        try:
            decode_file(path)  # every file, old parts included, must stay readable
        except Exception as exc:
            drill.problems.append(f"{path.name} does not decode after the kill: {exc}")
        if path.name not in existing:
            packets, _tags = read_opus_packets(path)
            recovered.update(p for p in packets if len(p) > 3)
    drill.recovered_speech = sum(recovered.values())
    due = Counter(f for t, _u, f in schedule if len(f) > 3 and start + t + NETWORK_DELAY <= killed_at - GRACE)
    drill.fed_before_grace = sum(due.values())
    drill.recovered_of_those = sum(min(n, recovered[f]) for f, n in due.items())
    fed = [(t, f) for t, _u, f in schedule if len(f) > 3 and start + t + NETWORK_DELAY <= killed_at]
    missing = [t for t, f in fed if not recovered[f]]
    # How far back from the kill the loss reaches: the age of the oldest frame fed but not on disk.
    drill.loss_window = (killed_at - (start + min(missing) + NETWORK_DELAY)) if missing else 0.0


def _chain(root: Path, chain: int, schedule_file: Path, schedule) -> tuple[list[Drill], list[str]]:
    rng = random.Random(1000 + chain)
    folder = root / f"chain{chain}"
    drills = []
    for run in range(KILLS_PER_CHAIN):
        drill = Drill(chain, run, kill_after=rng.uniform(2.0, 5.0))
        _drill_once(folder, schedule_file, schedule, drill)
        drills.append(drill)
    problems = []
    started = json.loads((folder / "manifest.json").read_text())["started_at"]
    reopened = RecordingFolder.open(folder, MEETING)  # what the next restart does: repair and adopt
    if reopened.started_at != dt.datetime.fromisoformat(started):
        problems.append(f"chain {chain}: the meeting clock moved on resume")
    listed = {t.file for t in reopened.tracks}
    on_disk = {p.name for p in folder.glob("*.ogg")}
    if listed != on_disk:
        problems.append(f"chain {chain}: manifest {sorted(listed)} != files {sorted(on_disk)}")
    for path in folder.glob("*.ogg"):
        data = path.read_bytes()
        pages = list(iter_pages(data))
        if not pages or pages[-1].offset + pages[-1].size != len(data):
            problems.append(f"chain {chain}: {path.name} still has a torn tail after reopening")
    return drills, problems


@pytest.mark.timeout(240)
def test_sigkill_at_random_moments_loses_nothing_flushed(tmp_path):
    schedule = _schedule()
    schedule_file = tmp_path / "schedule.pickle"
    schedule_file.write_bytes(pickle.dumps(schedule))
    with ThreadPoolExecutor(CHAINS) as pool:
        results = list(pool.map(lambda c: _chain(tmp_path, c, schedule_file, schedule), range(CHAINS)))
    drills = [d for chain_drills, _ in results for d in chain_drills]
    problems = [p for _, chain_problems in results for p in chain_problems]
    assert len(drills) == CHAINS * KILLS_PER_CHAIN == 20
    for drill in drills:
        where = f"chain {drill.chain} run {drill.run} (killed {drill.kill_after:.2f} s in)"
        problems += [f"{where}: {p}" for p in drill.problems]
        if drill.recovered_speech < drill.reported_flushed:
            problems.append(
                f"{where}: {drill.reported_flushed} frames reported flushed, {drill.recovered_speech} on disk"
            )
        if drill.recovered_of_those < 0.99 * drill.fed_before_grace:
            problems.append(
                f"{where}: recovered {drill.recovered_of_those} of {drill.fed_before_grace} frames fed before the kill"
            )
    assert not problems, "\n".join(problems)
    fed = sum(d.fed_before_grace for d in drills)
    recovered = sum(d.recovered_of_those for d in drills)
    windows = [d.loss_window for d in drills]
    print(
        f"\n{len(drills)} kills: {recovered}/{fed} frames fed more than {GRACE:g} s before the kill recovered; "
        f"audio lost reached back {sum(windows) / len(windows):.2f} s on average, {max(windows):.2f} s at most"
    )
    assert fed > 1000 and recovered / fed >= 0.99
    # Each resumed run wrote new part files into the same folder rather than starting a new meeting.
    manifest = json.loads((tmp_path / "chain0" / "manifest.json").read_text())
    assert manifest["meeting"] == MEETING and len({t["file"] for t in manifest["tracks"]}) >= KILLS_PER_CHAIN
