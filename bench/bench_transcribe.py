"""Transcription speed, memory and accuracy: engine x model x compute type on a synthesized meeting.

    .venv/bin/python bench/bench_transcribe.py [--minutes 10] [--speakers 4] [--configs fw:base:int8,...]

A reproducible meeting (`transcripts.synthesize.meeting_script`: four espeak-ng voices, names and jargon, pauses
and a few quiet stretches; one Ogg/Opus track per speaker, as the recorder writes) goes through the whole batch path
(`transcribe_recording`: decoding, VAD, packing, Whisper, segmentation) once per configuration, each in its own
process so peak RSS is that configuration's alone. Reported per configuration: model load time, wall time of the
transcription (engine loaded and warmed up before), real-time factor over the whole meeting (wall / meeting
length), peak RSS, WER against the script, and speed relative to the baseline openai-whisper fp32 measured in the
same run. Targets (2 cores): base int8 RTF <= 0.08, >= 5x openai-whisper fp32, WER within 0.3 points of fp32,
peak RSS <= 1 GB. The machine's load average is printed: other work on the cores slows every row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transcripts.cpu import cpu_line
from transcripts.transcribe import DECODE_WORKERS

ENGINES = {"fw": "faster-whisper", "oa": "openai-whisper"}
DEFAULT_CONFIGS = "fw:base:int8,fw:base:float32,oa:base:float32,oa:base:int8,fw:tiny.en:int8"
BASELINE = ("openai-whisper", "base", "float32", 5)
DEFAULT_BEAM = 5  # what wgbot decodes with
GLOSSARY = ["SIMD", "HNSW", "GitHub", "Python"]


def child(folder: Path, engine: str, model: str, compute_type: str, threads: int, beam_size: int, workers: int) -> dict:
    """One configuration, in this (fresh) process: load, warm up, transcribe the meeting, measure."""
    from transcripts.audio import read_audio
    from transcripts.engines import DecodeOptions, load_engine
    from transcripts.transcribe import transcribe_recording
    from transcripts.types import Hints
    from transcripts.wer import word_error_rate

    truth = json.loads((folder / "truth.json").read_text())
    started = time.perf_counter()
    loaded = load_engine(engine, model, compute_type, threads, workers)
    load_seconds = time.perf_counter() - started
    # warm-up: first-call costs (numba's JIT for openai-whisper's alignment, CTranslate2 allocations) are not
    # transcription speed
    first = next(iter(sorted(folder.glob("*.ogg"))))
    loaded.transcribe(read_audio(first)[: 16_000 * 10], DecodeOptions(prompt=truth["prompt"]))

    started = time.perf_counter()
    cpu_started = time.process_time()
    transcript = transcribe_recording(folder, hints=Hints(glossary=GLOSSARY), engine=loaded, beam_size=beam_size)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    hypothesis = " ".join(s.text for s in transcript.segments)
    return {
        "engine": engine,
        "model": model,
        "compute_type": compute_type,
        "beam": beam_size,
        "workers": loaded.workers,
        "load_s": load_seconds,
        "wall_s": wall,
        "cpu_s": cpu,
        "rtf": wall / truth["duration"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "wer": word_error_rate(truth["text"], hypothesis),
        "segments": len(transcript.segments),
        "warnings": transcript.warnings,
    }


def build_meeting(folder: Path, minutes: float, speakers: int, seed: int, noise_floor: str) -> dict:
    from transcripts.synthesize import meeting_script, synthesize_meeting
    from transcripts.types import Hints
    from transcripts.vocabulary import build_prompt

    names = ["Alice", "Jeshli", "Bob", "Carol", "Dmitri", "Erin"][:speakers]
    started = time.perf_counter()
    lines = meeting_script(minutes * 60, names, seed=seed)
    # microphone noise around each talk spurt, digital silence between (what the recorder writes for a Discord
    # client, which sends audio only while its voice activity detection is open)
    meeting = synthesize_meeting(
        lines, folder, noise=0.003, noise_floor=noise_floor, title="Search working group weekly meeting"
    )
    seconds = time.perf_counter() - started
    hints = Hints(title=meeting.title, speakers=names, glossary=GLOSSARY)
    truth = {
        "duration": meeting.duration,
        "text": meeting.text(),
        "speech_s": sum(line.end - line.start for line in meeting.lines),
        "lines": len(meeting.lines),
        "prompt": build_prompt(hints, names),
        "synthesis_s": seconds,
    }
    (folder / "truth.json").write_text(json.dumps(truth))
    return truth


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speakers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--configs",
        default=DEFAULT_CONFIGS,
        help="comma-separated engine:model:compute_type[:bN][:wN], engine fw (faster-whisper) or oa "
        f"(openai-whisper), bN a beam size (default b{DEFAULT_BEAM}), wN the decodes side by side (default "
        f"w{DECODE_WORKERS}, as wgbot transcribes a recording; faster-whisper only)",
    )
    parser.add_argument(
        "--noise-floor",
        choices=("spurts", "always"),
        default="spurts",
        help="microphone noise only around talk spurts (Discord; default) or all the time",
    )
    parser.add_argument("--folder", type=Path, help="keep the synthesized meeting here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        engine, model, compute_type, *extra = args.child.split(":")
        given = {item[0]: int(item[1:]) for item in extra}
        beam_size, workers = given.get("b", DEFAULT_BEAM), given.get("w", DECODE_WORKERS)
        print(json.dumps(child(args.folder, ENGINES[engine], model, compute_type, args.threads, beam_size, workers)))
        return 0

    tmp = None
    folder = args.folder
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="wgbot-bench-")
        folder = Path(tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    truth = build_meeting(folder, args.minutes, args.speakers, args.seed, args.noise_floor)
    print(
        f"meeting: {truth['duration'] / 60:.1f} min, {args.speakers} speakers, {truth['lines']} lines, "
        f"{truth['speech_s'] / 60:.1f} min of speech ({truth['speech_s'] / truth['duration']:.0%} of the timeline, "
        f"spread over {args.speakers} tracks of {truth['duration'] / 60:.1f} min each); "
        f"noise floor: {args.noise_floor}; synthesized in {truth['synthesis_s']:.1f} s"
    )
    print(cpu_line())
    print(f"threads: {args.threads}; load average before: {loadavg()}", flush=True)

    results = []
    for config in args.configs.split(","):
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # every row alike (see engines.OpenAIWhisperEngine)
        command = [sys.executable, __file__, "--child", config, "--folder", str(folder), "--threads", str(args.threads)]
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{config}: failed: {tail}", flush=True)
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"  {config}: {result['wall_s']:.1f} s (load avg {loadavg()})", flush=True)

    baseline = next((r for r in results if (r["engine"], r["model"], r["compute_type"], r["beam"]) == BASELINE), None)
    header = (
        f"{'engine':<15} {'model':<8} {'compute':<8} {'beam':>4} {'workers':>7} {'load s':>7} {'wall s':>8} {'CPU s':>7} {'RTF':>7} "
        f"{'x oa-fp32':>9} {'peak RSS':>9} {'WER %':>6}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        ratio = f"{baseline['wall_s'] / r['wall_s']:.1f}x" if baseline else "n/a"
        print(
            f"{r['engine']:<15} {r['model']:<8} {r['compute_type']:<8} {r['beam']:>4} {r['workers']:>7} "
            f"{r['load_s']:>7.1f} {r['wall_s']:>8.1f} "
            f"{r['cpu_s']:>7.1f} "
            f"{r['rtf']:>7.3f} {ratio:>9} {r['peak_rss_mb']:>6.0f} MB {100 * r['wer']:>6.2f}"
        )
    print(f"\nload average after: {loadavg()}")
    fw = {
        r["compute_type"]: r
        for r in results
        if r["engine"] == "faster-whisper"
        and r["model"] == "base"
        and r["beam"] == DEFAULT_BEAM
        and r["workers"] == min(DECODE_WORKERS, args.threads)
    }
    if "int8" in fw:
        checks = [
            f"base int8 RTF {fw['int8']['rtf']:.3f} (target <= 0.08)",
            f"peak RSS {fw['int8']['peak_rss_mb']:.0f} MB (target <= 1024)",
        ]
        if baseline:
            checks.append(f"{baseline['wall_s'] / fw['int8']['wall_s']:.1f}x openai-whisper fp32 (target >= 5x)")
        if "float32" in fw:
            checks.append(
                f"WER int8 - fp32 = {100 * (fw['int8']['wer'] - fw['float32']['wer']):+.2f} points (target <= +0.3)"
            )
        print("; ".join(checks))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
