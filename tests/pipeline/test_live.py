"""The live worker beyond transcription: reading ahead for the minutes during the call (its answers are the
pipeline's at the end), and a recording resumed after a crash."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tracker.live import LIVE_SEGMENTS, SETTLE_SECONDS, LiveOptions, LiveTranscription, _ReadAhead
from tracker.pipeline import LIVE_TRANSCRIPT, MINUTES_CACHE
from transcripts.answer_cache import AnswerCache, answer_key
from transcripts.cpu import available_threads
from transcripts.llm import DEFAULT_N_CTX, LocalLLM, load_llm
from transcripts.minutes import make_minutes
from transcripts.model_files import llm_model_path
from transcripts.sample.long_meeting import MEETING_DATE, long_meeting
from transcripts.types import Hints, Transcript

TINY = "smollm2-135m-q8_0"  # plumbing: what is asked and kept, not how well it is answered


def test_the_cache_keys_on_everything_an_answer_depends_on_and_survives_a_torn_line(tmp_path):
    key = answer_key("model.gguf:1", "system", "user", "{}", 100)
    assert (
        len(
            {
                key,
                answer_key("other.gguf:1", "system", "user", "{}", 100),
                answer_key("model.gguf:1", "system", "user 2", "{}", 100),
                answer_key("model.gguf:1", "system", "user", '{"a": 1}', 100),
                answer_key("model.gguf:1", "system", "user", "{}", 101),
            }
        )
        == 5
    )
    path = tmp_path / MINUTES_CACHE
    cache = AnswerCache(path)
    cache.put(key, '{"items": []}')
    cache.put(key, '{"items": []}')  # the same answer again is not written twice
    with open(path, "a") as f:
        f.write('{"key": "abc", "answ')  # a crash while writing
    again = AnswerCache(path)
    assert again.get(key) == '{"items": []}' and again.get("abc") is None and len(again) == 1
    assert len(path.read_text().splitlines()) == 2


@pytest.fixture(scope="module")
def meeting():
    return long_meeting(6000)


def _options(**kw) -> LiveOptions:
    return LiveOptions(
        speakers=("Alice", "Bob", "Carol", "Dave", "Erin"),
        title="Weekly sync",
        agenda=("database migration",),
        meeting_date=MEETING_DATE,
        **({"llm_model": TINY} | kw),
    )


def test_the_call_is_read_ahead_and_the_minutes_at_its_end_take_the_answers(meeting, tmp_path):
    options = _options()
    ahead = _ReadAhead(tmp_path, options)
    segments = meeting.transcript.segments
    horizons = []
    for segment in segments:  # as the live transcriber hands them over: a window's worth after they were said
        before = ahead.parts
        now = segment.end + options.max_delay
        ahead.add([segment], now)
        if ahead.parts > before:
            horizons.append(now - options.max_delay - SETTLE_SECONDS)
    assert ahead.parts >= 2 and horizons
    entries = [json.loads(line) for line in (tmp_path / MINUTES_CACHE).read_text().splitlines()]
    assert len(entries) >= 2 * ahead.parts

    llm = load_llm(TINY)
    before = len(llm.stats)
    make_minutes(
        meeting.transcript,
        meeting_date=MEETING_DATE,
        hints=options.hints(),
        llm=llm,
        cache=AnswerCache(tmp_path / MINUTES_CACHE),
    )
    calls = llm.stats[before:]
    assert sum(s.cached for s in calls) >= 2 * ahead.parts  # the parts read ahead were not asked again
    assert any(not s.cached for s in calls)  # the last part and the short summary were still to do


def test_the_read_ahead_process_answers_what_the_transcriber_hands_it(meeting, tmp_path):
    """The read-ahead's own process (`_reader`, spawned as the live worker spawns it): segments in call order, an
    end marker, and the answers are in the cache when it has exited."""
    import multiprocessing

    from tracker.live import _reader

    options = _options()
    context = multiprocessing.get_context("spawn")
    inbox = context.Queue()
    reader = context.Process(target=_reader, args=(str(tmp_path), options, inbox))
    reader.start()
    for segment in meeting.transcript.segments:
        inbox.put(("add", [segment], segment.end + options.max_delay))
    inbox.put(None)
    reader.join(600)
    assert reader.exitcode == 0
    entries = [json.loads(line) for line in (tmp_path / MINUTES_CACHE).read_text().splitlines()]
    assert len(entries) >= 4 and all(entry["answer"] for entry in entries)


def test_whisper_and_the_summary_model_run_in_two_processes_that_both_end_with_the_call(tmp_path):
    """Each model needs most of what a process may take: the transcriber and the read-ahead are two processes,
    and `finish` waits for both (the pipeline must not load the summary model while the reader still holds it)."""
    live = LiveTranscription(tmp_path, _options(model="tiny.en", threads=1))
    live.start()
    transcriber, reader = live.pids
    assert transcriber != reader
    live.submit(1, "Alice", tmp_path / "alice.ogg", 0.0, np.zeros(16_000, dtype=np.float32))
    live.forget(1, "Alice")  # handed on to the reader in order, like the segments
    assert live.finish(timeout=120) is True
    assert not live._process.is_alive() and not live._reader.is_alive()
    assert live._process.exitcode == 0 and live._reader.exitcode == 0
    assert (tmp_path / LIVE_TRANSCRIPT).exists()


def test_a_call_of_thousands_of_utterances_ends_without_waiting_on_anyone(tmp_path):
    """Every message the worker sends goes to a process that reads it. (It used to report each utterance on a queue
    nobody read: past about 1,500 utterances its pipe was full, the worker could not exit, and a long call's live
    transcript was thrown away after `finish` timed out.)"""
    live = LiveTranscription(tmp_path, LiveOptions(model="tiny.en", threads=1))
    live.start()
    for i in range(2500):
        live.submit(1, "Alice", tmp_path / "alice.ogg", 0.1 * i, np.zeros(1_600, dtype=np.float32))
    assert live.finish(timeout=120) is True
    assert live._process.exitcode == 0


def test_a_read_ahead_process_that_died_costs_the_call_nothing(tmp_path, caplog):
    """Killed (say, out of memory) early in the call: the transcriber stops handing it segments, so it does not
    wait at its own exit to hand over what a pipe cannot hold; the transcript is complete and said so once."""
    live = LiveTranscription(tmp_path, _options(model="tiny.en", threads=1))
    live.start()
    live._reader.kill()
    live._reader.join(30)
    with caplog.at_level(logging.WARNING, logger="tracker.live"):
        for i in range(2500):  # more messages than a pipe holds (about 1,500 of these fit)
            live.submit(1, "Alice", tmp_path / "alice.ogg", 0.1 * i, np.zeros(1_600, dtype=np.float32))
        assert live.finish(timeout=120) is True
    assert caplog.text.count("reading ahead for the minutes stopped") == 1


def test_the_read_ahead_computes_on_the_cores_the_transcriber_leaves_until_the_call_ends(
    meeting, tmp_path, monkeypatch
):
    """During the call the transcriber keeps its threads and the model the rest (a core shared by both busy workers
    would leave the transcriber behind); at the end the model takes every core. llama.cpp's own count is read."""
    import tracker.live

    monkeypatch.setattr(tracker.live, "available_threads", lambda: 3)
    early = Transcript([s for s in meeting.transcript.segments if s.end < 20 * 60])
    ahead = _ReadAhead(tmp_path, _options(threads=2))
    ahead._llm = LocalLLM(Path(llm_model_path(TINY)), n_ctx=DEFAULT_N_CTX, threads=3)  # its own: not the shared one
    for segment in early.segments:
        ahead.add([segment], segment.end + 60)
    assert ahead.parts >= 1 and ahead._llm.weights_loaded
    assert ahead._llm._model.threads == 1
    (tmp_path / LIVE_TRANSCRIPT).write_text(json.dumps(early.to_dict()))
    ahead.conclude(tmp_path / LIVE_TRANSCRIPT)
    assert ahead._llm._model.threads == 3
    assert LiveOptions(threads=None).read_ahead_threads == 1  # a transcriber on every core: the model still runs
    # the transcriber's decodes of its threads each: side by side at the end, on every core they fill
    assert [LiveOptions(threads=t).transcriber_workers for t in (1, 2, None)] == [3, 1, 1]


def test_threads_chosen_before_the_weights_load_are_the_ones_they_load_with():
    llm = LocalLLM(Path(llm_model_path(TINY)), n_ctx=DEFAULT_N_CTX, threads=2)
    llm.use_threads(1)
    llm.load_weights()
    assert llm._model.threads == 1


def test_a_different_agenda_at_the_end_only_costs_the_saving(tmp_path):
    meeting = long_meeting(3000)  # two parts: one read ahead is enough to pass over
    ahead = _ReadAhead(tmp_path, _options())
    for segment in meeting.transcript.segments:
        ahead.add([segment], segment.end + 60)
    assert ahead.parts >= 1  # there were answers in the cache to be passed over
    llm = load_llm(TINY)
    before = len(llm.stats)
    changed = Hints(title="Weekly sync", agenda=["database migration", "added during the call"])
    minutes = make_minutes(
        meeting.transcript,
        meeting_date=MEETING_DATE,
        hints=changed,
        llm=llm,
        cache=AnswerCache(tmp_path / MINUTES_CACHE),
    )
    assert not any(s.cached for s in llm.stats[before:])  # every question differs, so every one is asked
    assert minutes.long_summary


def test_reading_ahead_stops_quietly_when_the_model_cannot_load(meeting, tmp_path, caplog):
    ahead = _ReadAhead(tmp_path, _options(llm_model=str(tmp_path / "missing.gguf")))
    with caplog.at_level(logging.ERROR):
        for segment in meeting.transcript.segments:
            ahead.add([segment], segment.end + 60)  # never raises: the transcription must go on
    assert ahead.parts == 0 and "reading ahead for the minutes failed" in caplog.text
    assert caplog.text.count("reading ahead for the minutes failed") == 1  # tried once, not at every look


def test_nothing_is_read_ahead_before_a_part_is_over(meeting, tmp_path):
    ahead = _ReadAhead(tmp_path, _options())
    early = [s for s in meeting.transcript.segments if s.end < 8 * 60]  # the first minutes: less than one part
    for segment in early:
        ahead.add([segment], segment.end + 60)
    assert ahead.parts == 0 and not (tmp_path / MINUTES_CACHE).exists()


def test_no_part_is_read_ahead_while_a_window_of_its_lines_still_waits_to_be_transcribed(meeting, tmp_path):
    """A transcriber catching up holds windows longer than `max_delay`: what it has not transcribed yet (before
    `final_before`) keeps the parts around it from being read, or they would be read without those lines."""
    ahead = _ReadAhead(tmp_path, _options())
    first_half = [s for s in meeting.transcript.segments if s.end < 30 * 60]
    for segment in first_half:  # a window from the first minutes still waits
        ahead.add([segment], segment.end + 60, final_before=60.0)
    assert ahead.parts == 0
    ahead.next_look = 0.0
    ahead.add([], first_half[-1].end + 60, final_before=first_half[-1].end)  # it was transcribed
    assert ahead.parts >= 1


def test_the_read_ahead_keeps_its_threads_to_its_own_model(tmp_path, monkeypatch):
    """During the call it computes on one core; the model `load_llm` shares with the rest of the process keeps them
    all (a test process asking for minutes after a read-ahead took twice as long)."""
    import tracker.live

    monkeypatch.setattr(tracker.live, "available_threads", lambda: 2)
    ahead = _ReadAhead(tmp_path, _options(threads=1))
    ahead.next_look = 0.0
    ahead.add([], 60.0)  # nothing to read yet, but the model is chosen and set to the core the transcriber leaves
    assert ahead._llm is not None and ahead._llm.threads == 1
    shared = load_llm(TINY)
    assert shared is not ahead._llm and shared.threads == available_threads()


def test_at_the_end_the_reader_asks_what_the_minutes_will_ask_without_anyone_who_opted_out(
    meeting, tmp_path, monkeypatch
):
    """`conclude` reads the transcript the transcriber wrote as the pipeline will read it back (in order of start,
    without the people who opted out, even after the transcriber ended), so the minutes find every answer cached."""
    import transcripts.minutes
    from tracker import optout

    shuffled = meeting.transcript.to_dict()
    shuffled["segments"].reverse()  # the tracker stores segments in order of start, whatever the file's order
    (tmp_path / LIVE_TRANSCRIPT).write_text(json.dumps(shuffled))
    optout.record(tmp_path, 7, speakers={"Erin"})
    handed = []
    real = transcripts.minutes.make_minutes
    monkeypatch.setattr(transcripts.minutes, "make_minutes", lambda t, **kw: handed.append(t) or real(t, **kw))
    ahead = _ReadAhead(tmp_path, _options())
    ahead.conclude(tmp_path / LIVE_TRANSCRIPT)
    (transcript,) = handed
    assert "Erin" not in transcript.speakers and "Erin" in meeting.transcript.speakers
    assert [s.start for s in transcript.segments] == sorted(s.start for s in transcript.segments)

    fresh = LocalLLM(Path(llm_model_path(TINY)), n_ctx=DEFAULT_N_CTX, threads=1)  # as in the pipeline's process
    minutes = real(
        transcript,
        meeting_date=MEETING_DATE,
        hints=Hints(title="Weekly sync", agenda=["database migration"], speakers=transcript.speakers),
        llm=fresh,
        cache=AnswerCache(tmp_path / MINUTES_CACHE),
    )
    assert fresh.stats and all(s.cached for s in fresh.stats) and not fresh.weights_loaded
    assert minutes.long_summary


def test_without_a_complete_transcript_the_reader_leaves_the_end_to_the_pipeline(tmp_path):
    ahead = _ReadAhead(tmp_path, _options())
    ahead.conclude(tmp_path / LIVE_TRANSCRIPT)  # the transcriber failed: no file
    assert not (tmp_path / MINUTES_CACHE).exists()


def test_a_recording_resumed_after_a_crash_is_not_passed_off_as_transcribed_live(tmp_path):
    """The worker of the resumed recording never heard what was said before the crash: its transcript would be
    incomplete, so none is written and the pipeline transcribes the recording's files."""
    (tmp_path / LIVE_SEGMENTS).write_text('{"speaker": "Alice", "start": 1.0, "end": 2.0, "text": "Hello."}\n')
    live = LiveTranscription(tmp_path, LiveOptions(model="tiny.en", threads=1))
    assert live.resumed
    live.start()
    live.submit(1, "Alice", tmp_path / "alice.ogg", 100.0, np.zeros(16_000, dtype=np.float32))
    assert live.finish() is False and live.submitted == 0
    assert not (tmp_path / LIVE_TRANSCRIPT).exists()


def test_a_process_whose_live_worker_died_with_audio_queued_still_exits(tmp_path):
    """The worker is gone (killed, crashed) while audio waits in its queue: the bot or a test process must still be
    able to exit. (Before, the queue's feeder thread waited forever to hand the audio to no one.)"""
    script = f"""
import numpy as np
from pathlib import Path
from tracker.live import LiveOptions, LiveTranscription

live = LiveTranscription(Path({str(tmp_path)!r}), LiveOptions(model="tiny.en", threads=1))
live.start()
live._process.kill()
live._process.join(30)
for i in range(4):  # far more than a pipe holds
    live.submit(1, "Alice", Path("alice-1.ogg"), 10.0 * i, np.zeros(160_000, np.float32))
print("submitted", flush=True)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2]
    )
    assert done.returncode == 0 and "submitted" in done.stdout, done.stderr[-2000:]


def test_the_live_workers_wait_passively_and_a_process_with_the_cores_to_itself_does_not():
    # OpenMP reads its wait policy when it loads: the workers (Whisper and the summary model, side by side during
    # the call) must set it before any model runtime is imported; the batch path keeps OpenMP's short spin.
    code = """
import os, sys
from tracker import live
import transcripts.llm
runtimes = {"llama_cpp", "ctranslate2", "torch"} & set(sys.modules)
print(os.environ.get("OMP_WAIT_POLICY"), sorted(runtimes))
live._worker_setup(live.LiveOptions())
print(os.environ.get("OMP_WAIT_POLICY"))
"""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["None []", "PASSIVE"]
