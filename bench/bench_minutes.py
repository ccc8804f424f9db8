"""Benchmark: minutes from transcripts of 1,000 / 5,000 / 10,000 words, Q8_0 against the shipped Q4_K_M.

    .venv/bin/python bench/bench_minutes.py                       # all models, all sizes (about 15 minutes)
    .venv/bin/python bench/bench_minutes.py --sizes 10000 --models qwen2.5-coder-1.5b-q8_0

Variants of a model, on the same model file: `:plain` decodes one answer at a time and one token at a time (no
answers side by side, no prompt-lookup speculation: the baseline of the decoder, `transcripts.decoding`);
`:noamx` runs llama.cpp without its extra buffer types: its plain path, without repacked weights (no AMX, as a stock
llama-cpp-python build must on an AMX CPU, and no x86 int8 kernels of scripts/llama-cpp-q8_0-x86-repack.patch).

Each model runs in its own child process (so its peak RSS is its own), over the synthetic meetings of
`transcripts.sample.long_meeting` (planted action items and wishes, so the table also shows how many were found).
Reported per size: wall time of `make_minutes` (model already loaded; its load time is shown apart), prompt tokens
read and the prompt throughput, tokens generated and the generation throughput, the process's peak RSS, and the
ratio of wall time against the baseline model (the shipped Q4_K_M) and against the same model's `:plain` and
`:noamx` runs, all measured in the same run. Prompt and generation throughput divide each batch's time among
the answers by the tokens each had in it (answers decoded side by side share one batch). Right after each run the
same process measures llama.cpp alone reading a prompt with the same weights (`alone t/s`), and `vs alone` sets
the wall time against the time llama.cpp alone would take for as many tokens. A virtual machine's speed drifts
within minutes, so that ratio moves less than the wall time between runs (a probe of a few seconds cannot catch all
of the drift).
Targets (issue 4):
10,000 words in at most 120 s and a peak RSS of at most 2.5 GB on the 2-core machine. The CPU line names the
vector units the run had (AVX2, AVX-512, AMX).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transcripts.cpu import cpu_line  # noqa: E402

BASELINE = "qwen2.5-coder-1.5b-q4_k_m"
PLAIN, NO_AMX = ":plain", ":noamx"
MODELS = ("qwen2.5-coder-1.5b-q8_0", "qwen2.5-coder-1.5b-q8_0" + PLAIN, "qwen2.5-coder-1.5b-q8_0" + NO_AMX, BASELINE)
SIZES = (1000, 5000, 10000)
TARGET_SECONDS = 120.0
TARGET_RSS_MB = 2.5 * 1024


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


PROBE_TOKENS = 1024


def llama_alone_tps(model_path: str, text: str, threads: int, extra_buffers: bool) -> float:
    """Prompt tokens a second of llama.cpp alone on this machine now, with the row's weights (`extra_buffers`:
    repacked for the int8 kernels, or llama.cpp's plain path): one sequence of `PROBE_TOKENS` tokens of `text` in
    batches of 512, straight through `llama_decode`, nothing of wgbot's decoder around it. (llama-cpp-python's
    `Llama` cannot turn the extra buffer types off, so a `:noamx` row would be set against the kernels.)"""
    import llama_cpp

    from transcripts.llama_model import LlamaModel

    model = LlamaModel(
        Path(model_path),
        n_ctx=PROBE_TOKENS + 64,
        n_batch=512,
        n_ubatch=512,
        threads=threads,
        n_seq_max=1,
        extra_buffers=extra_buffers,
    )
    tokens = model.tokenize(text.encode("utf-8"), add_bos=False, special=False)[:PROBE_TOKENS]
    started = time.perf_counter()
    for k in range(0, len(tokens), 512):
        chunk = (llama_cpp.llama_token * len(tokens[k : k + 512]))(*tokens[k : k + 512])  # alive while decoded
        if llama_cpp.llama_decode(model.ctx, llama_cpp.llama_batch_get_one(chunk, len(chunk))) != 0:
            raise RuntimeError("llama.cpp could not read the probe's prompt")
    seconds = time.perf_counter() - started
    model.close()
    return len(tokens) / seconds


def worker(model_name: str, sizes: list[int]) -> None:
    """Runs in the child: load the model once, make minutes for each size, print one JSON line per size."""
    from transcripts import runtime
    from transcripts.llm import load_llm
    from transcripts.minutes import make_minutes
    from transcripts.minutes.words import support
    from transcripts.sample.long_meeting import MEETING_DATE, long_meeting
    from transcripts.types import Hints

    if model_name.endswith(NO_AMX):  # what WGBOT_LLM_EXTRA_BUFFERS=off gives the application
        runtime.configure(llm_extra_buffers="off")
    started = time.perf_counter()
    name = model_name.removesuffix(PLAIN).removesuffix(NO_AMX)
    llm = load_llm(name, draft_tokens=0, parallel=1) if model_name.endswith(PLAIN) else load_llm(name)
    llm.load_weights()
    load_seconds = time.perf_counter() - started
    for words in sizes:
        meeting = long_meeting(words)
        first = len(llm.stats)
        started = time.perf_counter()
        minutes = make_minutes(
            meeting.transcript, meeting_date=MEETING_DATE, hints=Hints(title="Benchmark meeting"), llm=llm
        )
        wall = time.perf_counter() - started
        totals = llm.totals(first)
        found_actions = sum(
            any(a.owner == p.owner and a.due == p.due and support(p.task, a.task) >= 0.5 for a in minutes.action_items)
            for p in meeting.actions
        )
        found_wishes = sum(
            any(support(p.title, w.title + " " + w.details) >= 0.5 for w in minutes.wishes) for p in meeting.wishes
        )
        print(
            json.dumps(
                {
                    "model": model_name,
                    "words": meeting.words,
                    "wall": wall,
                    "load": load_seconds,
                    "calls": totals.calls,
                    "prompt_tokens": totals.prompt_tokens,
                    "evaluated": totals.evaluated_tokens,
                    "prompt_tps": totals.prompt_tokens_per_second,
                    "generated": totals.completion_tokens,
                    "gen_tps": totals.generation_tokens_per_second,
                    "rss_mb": peak_rss_mb(),
                    "kept": f"{totals.accepted_tokens}/{totals.drafted_tokens}",
                    "actions": f"{found_actions}/{len(meeting.actions)}",
                    "wishes": f"{found_wishes}/{len(meeting.wishes)}",
                    "sections": minutes.long_summary.count("### "),
                    "notes": len(minutes.notes),
                    # after the peak RSS is read: the probe's second context must not count
                    "alone_tps": llama_alone_tps(
                        str(llm.path),
                        " ".join(seg.text for seg in meeting.transcript.segments),
                        llm.threads,
                        extra_buffers=not model_name.endswith(NO_AMX),
                    ),
                }
            ),
            flush=True,
        )


def ratio(walls: dict[int, float], row: dict) -> str:
    """Wall time of `row` against the run of the same size in `walls`; a dash when that model was not run."""
    return f"{row['wall'] / walls[row['words']]:.2f}x" if row["words"] in walls else "—"


def versus_alone(row: dict) -> float:
    """Wall time against what llama.cpp alone, at the speed it had right after, needs to read as many tokens as the
    minutes computed and wrote: a figure of wgbot's decoding that moves less with the machine's drift."""
    return row["wall"] / ((row["evaluated"] + row["generated"]) / row["alone_tps"])


def run_child(model: str, sizes: list[int]) -> list[dict]:
    cmd = [sys.executable, __file__, "--worker", model, "--sizes", ",".join(map(str, sizes))]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(rows) != len(sizes):
        tail = proc.stderr.strip().splitlines()[-5:]
        raise SystemExit(f"benchmark child for {model} failed (exit {proc.returncode}): " + " | ".join(tail))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        worker(args.worker, sizes)
        return
    models = args.models.split(",")
    print(
        f"minutes benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    print(cpu_line(), flush=True)
    results: dict[str, list[dict]] = {}
    for model in models:
        print(f"running {model} ...", flush=True)
        results[model] = run_child(model, sizes)
    baseline = {row["words"]: row["wall"] for row in results.get(BASELINE, [])}
    header = (
        f"{'model':<34} {'words':>6} {'wall s':>7} {'vs Q4_K_M':>9} {'vs plain':>8} {'vs no AMX':>9} "
        f"{'prompt tok':>10} "
        f"{'computed':>8} {'prompt t/s':>10} {'gen tok':>7} {'gen t/s':>7} {'kept/drafted':>12} "
        f"{'peak RSS MB':>11} {'calls':>5} {'actions':>7} {'wishes':>6} {'sections':>8} {'alone t/s':>9} "
        f"{'vs alone':>8}"
    )
    print(header)
    print("-" * len(header))
    for model, rows in results.items():
        base = model.removesuffix(PLAIN).removesuffix(NO_AMX)
        plain = {row["words"]: row["wall"] for row in results.get(base + PLAIN, [])}
        no_amx = {row["words"]: row["wall"] for row in results.get(base + NO_AMX, [])}
        for row in rows:
            print(
                f"{model:<34} {row['words']:>6} {row['wall']:>7.1f} {ratio(baseline, row):>9} "
                f"{ratio(plain, row):>8} {ratio(no_amx, row):>9} "
                f"{row['prompt_tokens']:>10} {row['evaluated']:>8} {row['prompt_tps']:>10.1f} {row['generated']:>7} "
                f"{row['gen_tps']:>7.1f} {row['kept']:>12} {row['rss_mb']:>11.0f} {row['calls']:>5} "
                f"{row['actions']:>7} {row['wishes']:>6} {row['sections']:>8} {row['alone_tps']:>9.1f} "
                f"{versus_alone(row):>7.2f}x"
            )
        print(f"{model:<34} model load {rows[0]['load']:.1f} s")
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    for model, rows in results.items():
        big = max(rows, key=lambda r: r["words"])
        if big["words"] >= 9000:
            verdict = "meets" if big["wall"] <= TARGET_SECONDS and big["rss_mb"] <= TARGET_RSS_MB else "MISSES"
            print(
                f"target (10,000 words <= {TARGET_SECONDS:.0f} s, RSS <= {TARGET_RSS_MB:.0f} MB): {model} {verdict} "
                f"({big['wall']:.0f} s, {big['rss_mb']:.0f} MB)"
            )


if __name__ == "__main__":
    main()
