"""Benchmark: the quality of the minutes over the evaluation corpus, audio → transcript → minutes.

    .venv/bin/python bench/bench_quality.py                          # the measuring half (long: hours on 2 cores)
    .venv/bin/python bench/bench_quality.py --split measure --limit 2  # its two shortest meetings
    .venv/bin/python bench/bench_quality.py --split tune --from-script # the tuning half, minutes from the script only

The corpus (`transcripts.eval.corpus`) is synthesized on demand into `~/.cache/wgbot/eval` (espeak-ng and festival
voices, varied with sox, mild noise), transcribed with Whisper (base, int8; `--compute float32` to compare) and
summarized with the default model. Printed per meeting and over all: precision and recall of action items (owner
and task), due dates right, wishes, decisions, the share of topics the short summary covers, summary points with
words the transcript does not have, word error rate, and the time taken; written as JSON too (`--json`). Tune on
`--split tune`, report `--split measure`: never change code for what the measuring half shows. Targets are those
of issue 15.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transcripts.cpu import cpu_line  # noqa: E402

TARGETS = {
    "action_recall": 0.95,
    "action_precision": 0.90,
    "due_right": 0.90,
    "wish_recall": 0.90,
    "wish_precision": 0.80,
    "decision_precision": 0.80,
    "topic_coverage": 0.90,
}


def script_transcript(meeting):
    """The meeting as a transcript straight from its script (no speech engine): the minutes alone are measured."""
    from transcripts.eval.corpus import filled_script
    from transcripts.types import Segment, Transcript

    segments, t = [], 1.0
    for speaker, text, overlap in filled_script(meeting):
        seconds = len(text.split()) * 0.4
        start = segments[-1].start + 0.5 if overlap and segments else t
        segments.append(Segment(speaker, round(start, 2), round(start + seconds, 2), text))
        t = max(t, start + seconds + 0.8)
    return Transcript(sorted(segments, key=lambda s: s.start), duration=t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="measure", choices=("measure", "tune", "all"))
    parser.add_argument("--meetings", default="", help="comma-separated meeting names (instead of a split)")
    parser.add_argument("--limit", type=int, default=0, help="only the N shortest meetings")
    parser.add_argument("--from-script", action="store_true", help="minutes from the script, no audio")
    parser.add_argument(
        "--transcripts-only", action="store_true", help="recognition only (WER overall and per speaker), no minutes"
    )
    parser.add_argument("--whisper", default="base")
    parser.add_argument(
        "--compute",
        default="int8",
        help="CTranslate2 compute type of Whisper (int8, as wgbot runs it; float32 to compare)",
    )
    parser.add_argument("--llm", default="qwen2.5-coder-1.5b-q8_0")
    parser.add_argument("--fresh", action="store_true", help="transcribe again even when a transcript is cached")
    parser.add_argument("--json", default="", help="where to write the figures (default: in the cache folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss and extra per meeting")
    args = parser.parse_args()

    from transcripts.eval.build import build, hints, said
    from transcripts.eval.corpus import meetings
    from transcripts.eval.score import Score, recognition, score, totals
    from transcripts.llm import load_llm
    from transcripts.minutes import make_minutes
    from transcripts.model_files import cache_dir
    from transcripts.types import Transcript

    chosen = meetings(args.split, [n for n in args.meetings.split(",") if n] or None)
    if args.limit:
        chosen = sorted(chosen, key=lambda m: m.minutes)[: args.limit]
    cache = cache_dir().parent / "eval"
    cache.mkdir(parents=True, exist_ok=True)
    print(f"quality benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(cpu_line(), flush=True)
    print(
        f"{len(chosen)} meeting(s) ({args.split if not args.meetings else 'named'}): "
        + ", ".join(f"{m.name} ({m.minutes:g} min, {len(m.speakers)} speakers)" for m in chosen),
        flush=True,
    )
    llm = None if args.transcripts_only else load_llm(args.llm)
    engine = None
    scores = []
    for meeting in chosen:
        spoken, seconds_transcribing = None, None
        if args.from_script:
            transcript = script_transcript(meeting)
        else:
            from transcripts.engines import load_engine
            from transcripts.transcribe import DECODE_WORKERS, transcribe_recording

            started = time.perf_counter()
            folder, _ = build(meeting, cache)
            print(f"  {meeting.name}: audio ready in {time.perf_counter() - started:.0f} s ({folder})", flush=True)
            # int8 keeps the name transcripts cached before there was a choice
            suffix = "" if args.compute == "int8" else f"-{args.compute}"
            cached = folder / f"transcript-{args.whisper}{suffix}.json"
            if cached.exists() and not args.fresh:
                transcript = Transcript.from_dict(json.loads(cached.read_text()))
            else:
                engine = engine or load_engine("faster-whisper", args.whisper, args.compute, workers=DECODE_WORKERS)
                started = time.perf_counter()
                transcript = transcribe_recording(folder, hints=hints(meeting), engine=engine)
                seconds_transcribing = time.perf_counter() - started
                cached.write_text(json.dumps(transcript.to_dict()))
            spoken = said(folder)
        if llm is None:
            result = Score(meeting.name, meeting.split)
        else:
            started = time.perf_counter()
            minutes = make_minutes(
                transcript,
                meeting_date=meeting.date,
                next_meeting=meeting.next_date,
                hints=hints(meeting),
                llm=llm,
            )
            result = score(meeting, minutes, transcript, None)
            result.minutes_seconds = time.perf_counter() - started
        if spoken is not None:
            recognition(result, transcript, spoken)
        result.transcribe_seconds = seconds_transcribing or 0.0
        result.audio_seconds = transcript.duration
        scores.append(result)
        _print_row(result, with_minutes=llm is not None)
        if args.verbose:
            for problem in result.problems:
                print(f"      {problem}")
            if llm is not None:
                print("      summary: " + minutes.summary.replace("\n", " | "))
    overall = totals(scores)
    print()
    for name, value in overall.items():
        if value is None and llm is None:  # the minutes' figures, not measured with --transcripts-only
            continue
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        target = TARGETS.get(name)
        verdict = "" if target is None or value is None else (" meets" if value >= target else " MISSES")
        print(f"{name:<24} {shown:>10}" + (f"   target >= {target:.2f}{verdict}" if target else ""))
    out = Path(args.json) if args.json else cache / f"quality-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "cpu": cpu_line(),
                "split": args.split,
                "from_script": args.from_script,
                "llm": args.llm,
                "whisper": args.whisper,
                "compute": args.compute,
                "totals": overall,
                "meetings": [s.to_dict() for s in scores],
            },
            indent=2,
            default=str,
        )
    )
    print(f"figures written to {out}")


def _print_row(s, with_minutes: bool) -> None:
    wer = f"{s.wer:.3f}" if s.wer is not None else "-"
    if s.speaker_wer:
        worst = max(s.speaker_wer, key=s.speaker_wer.__getitem__)
        wer += f" (worst speaker {worst} {s.speaker_wer[worst]:.3f})"
    if not with_minutes:
        print(f"  {s.meeting:<18} {s.split:<7} WER {wer}; transcribe {s.transcribe_seconds:.0f} s", flush=True)
        return
    print(
        f"  {s.meeting:<18} {s.split:<7} actions {s.actions_right}/{s.actions_truth} right of {s.actions_predicted}, "
        f"due {s.due_right}/{s.actions_right}; wishes {s.wishes_right}/{s.wishes_truth} of {s.wishes_predicted}; "
        f"decisions {s.decisions_right}/{s.decisions_predicted} (found {s.decisions_found}/{s.decisions_truth}); "
        f"topics {s.topics_covered}/{s.topics}; unsupported {s.unsupported_sentences}/{s.summary_sentences}; "
        f"must-not-file {s.filed_what_must_not_be}; WER {wer}; "
        f"transcribe {s.transcribe_seconds:.0f} s, minutes {s.minutes_seconds:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
