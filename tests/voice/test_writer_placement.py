"""The recording writer frame by frame: where each frame lands on the meeting clock (anchors, jitter, pauses, a
sender's clock jumping or wrapping), the order it is written in, the silence between talk spurts, the names tracks
are filed under, opting out, the flush and sync timers and the live hand-off. The tracks are read back with the Ogg
reader, and the frames are real Opus packets from libopus, so the hand-off decodes them. Fast enough for mutation
testing (`make mutate`)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import discord.opus
import numpy as np
import pytest

from bot.voice.manifest import TAG_OFFSET, TAG_SPEAKER, TAG_USER_ID, RecordingFolder
from bot.voice.ogg_writer import PRE_SKIP, iter_pages, read_opus_packets
from bot.voice.opus_frames import SILENCE_FRAME, silence_frames
from bot.voice.writer import RecordingWriter, TrackStats
from tracker import optout
from tracker.recording_files import OPTED_OUT

RATE = 48_000
START = dt.datetime(2026, 12, 3, 17, tzinfo=dt.UTC)
EOS_PAD = b"\xe0\xff\xfe"  # what close() appends when nothing is queued: the end-of-stream page needs a packet


def _encode(count: int) -> list[bytes]:
    encoder = discord.opus.Encoder()
    frames = []
    for n in range(count):
        t = np.arange(960) + 960 * n
        pcm = (np.sin(t * 2 * np.pi * (300 + 40 * n) / RATE) * 8000).astype("<i2")
        frames.append(encoder.encode(np.repeat(pcm, 2).tobytes(), 960))
    return frames


SPEECH = _encode(40)
assert all(len(f) > 3 for f in SPEECH)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def folder(tmp_path):
    return RecordingFolder.open(tmp_path / "rec", "m-1", now=START)


def writer_for(folder, **kwargs) -> tuple[RecordingWriter, Clock]:
    clock = Clock()
    kwargs.setdefault("meeting_time_at_start", 0.0)
    writer = RecordingWriter(folder, clock=clock, speaker_name={7: "Alice", 8: "Bob"}.get, **kwargs)
    return writer, clock


def packets_of(writer: RecordingWriter, user_id: int) -> tuple[list[bytes], dict[str, str]]:
    packets, tags = read_opus_packets(writer.tracks[user_id].writer.path)
    if packets and packets[-1] == EOS_PAD:
        packets = packets[:-1]
    return packets, tags


def file_start(tags: dict[str, str]) -> int:
    return round(float(tags[TAG_OFFSET]) * RATE) - PRE_SKIP


def send(writer, user, ssrc, items):
    """items: (arrival, rtp timestamp, frame)"""
    for arrival, timestamp, frame in items:
        writer.put_frame(user, ssrc, arrival, timestamp, 0, frame)


# ---- placement -------------------------------------------------------------------------------------------------


def test_frames_are_placed_by_their_timestamps_not_their_jittery_arrivals(folder):
    writer, _ = writer_for(folder)
    jitter = [0.0, 0.012, 0.003, 0.019, 0.007, 0.0, 0.015, 0.001]
    send(writer, 7, 70, [(1.0 + 0.02 * i + j, 5000 + 960 * i, SPEECH[i]) for i, j in enumerate(jitter)])
    writer.close()
    packets, tags = packets_of(writer, 7)
    assert packets == SPEECH[:8]  # no silence squeezed in by the jitter
    assert file_start(tags) == 1.0 * RATE
    assert tags[TAG_SPEAKER] == "Alice" and tags[TAG_USER_ID] == "7"
    assert folder.tracks[0].offset == pytest.approx((RATE + PRE_SKIP) / RATE)
    stats = writer.tracks[7].stats
    assert (stats.frames, stats.speech_frames, stats.late, stats.silence_filled) == (8, 8, 0, 0)


def test_the_anchor_moves_earlier_when_a_packet_saw_less_delay(folder):
    writer, _ = writer_for(folder)
    # The first packet was 30 ms late; the second came on time: the spurt starts 10 ms earlier than first thought.
    send(writer, 7, 70, [(1.03, 0, SPEECH[0]), (1.04, 960, SPEECH[1]), (1.06, 1920, SPEECH[2])])
    writer.close()
    packets, tags = packets_of(writer, 7)
    assert packets == SPEECH[:3]
    assert file_start(tags) == round(1.04 * RATE) - 960


def test_a_pause_starts_a_new_spurt_and_the_gap_is_filled_with_silence(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(3)])
    # 2 s later; the sender's clock says only 1 s passed (it does not matter: a pause takes a new anchor).
    send(writer, 7, 70, [(3.0 + 0.02 * i, 960 * (50 + i), SPEECH[10 + i]) for i in range(2)])
    writer.close()
    packets, tags = packets_of(writer, 7)
    gap = 3 * RATE - (RATE + 3 * 960)
    fill, covered = silence_frames(gap)
    assert packets == SPEECH[:3] + fill + SPEECH[10:12]
    assert writer.tracks[7].stats.silence_filled == covered == gap
    assert writer.snapshot()[7]["silence_filled_seconds"] == round(gap / RATE, 3)


@pytest.mark.parametrize(("extra", "filled"), [(59, 0), (60, 120)])
def test_the_smallest_gap_worth_filling(folder, extra, filled):
    writer, _ = writer_for(folder)
    # The second frame's timestamp (and arrival) is `extra` samples after the end of the first.
    send(writer, 7, 70, [(1.0, 0, SPEECH[0]), ((RATE + 960 + extra) / RATE, 960 + extra, SPEECH[1])])
    writer.close()
    assert writer.tracks[7].stats.silence_filled == filled  # 2.5 ms silence frames: 120 samples each
    assert writer.tracks[7].writer.granule == 1920 + filled + 120  # and close()'s 2.5 ms end-of-stream packet


def test_reordered_packets_are_written_in_timestamp_order_within_the_delay(folder):
    writer, _ = writer_for(folder, reorder_delay=0.1)
    send(writer, 7, 70, [(1.00, 0, SPEECH[0]), (1.02, 1920, SPEECH[2]), (1.03, 960, SPEECH[1])])
    writer.pump(1.05)  # nothing has waited 100 ms yet
    assert writer.tracks[7].writer is None
    writer.pump(1.2)
    send(writer, 7, 70, [(1.21, 2880, SPEECH[3])])
    send(writer, 7, 70, [(1.22, 960, SPEECH[1])])  # a copy of one already written: late
    writer.close()
    packets, _ = packets_of(writer, 7)
    assert packets == SPEECH[:4]
    assert writer.tracks[7].stats.late == 1


def test_release_waits_exactly_the_reorder_delay(folder):
    writer, _ = writer_for(folder, reorder_delay=0.125)  # binary fractions: exact sums
    send(writer, 7, 70, [(1.0, 0, SPEECH[0]), (1.0625, 960, SPEECH[1])])
    writer.pump(1.12)
    assert writer.tracks[7].writer is None
    writer.pump(1.125)  # the first has waited exactly the delay: released, the second not yet
    assert writer.tracks[7].writer.granule == 960
    assert writer.tracks[7].oldest_pending == 1.0625
    writer.pump(1.1875)
    assert writer.tracks[7].writer.granule == 1920
    assert writer.tracks[7].oldest_pending == float("inf")


def test_a_straggler_from_before_the_spurt_began_is_late(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 9600, SPEECH[0]), (1.02, 9600 - 960, SPEECH[1])])
    writer.close()
    packets, _ = packets_of(writer, 7)
    assert packets == [SPEECH[0]] and writer.tracks[7].stats.late == 1


def test_timestamps_wrap_around_32_bits(folder):
    writer, _ = writer_for(folder)
    first = 2**32 - 960
    send(writer, 7, 70, [(1.0 + 0.02 * i, (first + 960 * i) % 2**32, SPEECH[i]) for i in range(4)])
    writer.close()
    packets, tags = packets_of(writer, 7)
    assert packets == SPEECH[:4] and file_start(tags) == RATE
    assert writer.tracks[7].stats.silence_filled == 0


def test_an_older_packet_across_the_wrap_is_still_placed_in_order(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 2**32 - 960, SPEECH[0]), (1.02, 960, SPEECH[2]), (1.03, 0, SPEECH[1])])
    writer.close()
    assert packets_of(writer, 7)[0] == SPEECH[:3]


@pytest.mark.parametrize(("jump", "new_anchor"), [(int(0.25 * RATE), False), (int(0.25 * RATE) + 1, True)])
def test_a_sender_clock_jumping_ahead_takes_a_new_anchor(folder, jump, new_anchor):
    writer, _ = writer_for(folder)
    base = 10 * RATE
    send(writer, 7, 70, [(1.0, base, SPEECH[0]), (1.02, base + 960, SPEECH[1])])
    writer.pump(1.2)
    spurt = writer.tracks[7].spurts[70]
    send(writer, 7, 70, [(1.04, base + 1920 + jump, SPEECH[2])])  # 20 ms later by arrival, by timestamp 20 ms + jump
    writer.pump(1.3)
    track = writer.tracks[7]
    assert (track.spurts[70] is not spurt) is new_anchor
    assert track.spurt_count == (2 if new_anchor else 1)
    # Within the limit the packet only looks early: the anchor moves earlier by the jump.
    assert track.spurts[70].anchor_pos == (round(1.04 * RATE) if new_anchor else RATE - jump)
    assert track.stats.late == 0


@pytest.mark.parametrize(("behind", "new_anchor"), [(0, False), (1, True)])
def test_arrivals_running_more_than_two_seconds_behind_take_a_new_anchor(folder, behind, new_anchor):
    writer, _ = writer_for(folder)
    # A packet every 200 ms (never a pause) whose timestamps advance only 20 ms each: a sender whose clock stalled.
    send(writer, 7, 70, [(1.0 + 0.2 * k, 960 * k, SPEECH[k]) for k in range(12)])
    last = (RATE + 12 * 960 + 2 * RATE + behind) / RATE  # heard exactly 2 s (+ 1 sample) after its predicted place
    send(writer, 7, 70, [(last, 960 * 12, SPEECH[12])])
    writer.pump(3.5)
    track = writer.tracks[7]
    assert track.spurt_count == (2 if new_anchor else 1)
    assert track.spurts[70].anchor_pos == (round(last * RATE) if new_anchor else RATE)


def test_the_anchor_is_renewed_after_a_quarter_second_without_packets(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    send(writer, 7, 70, [(1.25, 960, SPEECH[1])])  # exactly 250 ms: the same spurt
    writer.pump(1.3)
    assert writer.tracks[7].spurt_count == 1
    send(writer, 7, 70, [(1.5001, 1920, SPEECH[2])])
    writer.pump(1.7)
    assert writer.tracks[7].spurt_count == 2


def test_each_ssrc_has_its_own_spurt(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    send(writer, 7, 71, [(1.02, 77_777, SPEECH[1])])  # a second stream of the same user (a reconnect)
    writer.close()
    track = writer.tracks[7]
    assert sorted(track.spurts) == [70, 71] and track.spurt_count == 2
    assert packets_of(writer, 7)[0] == SPEECH[:2]


def test_a_track_starts_with_speech_not_with_silence(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SILENCE_FRAME), (1.02, 960, SILENCE_FRAME), (1.04, 1920, SPEECH[0])])
    send(writer, 7, 70, [(1.06, 2880, SILENCE_FRAME)])
    writer.close()
    packets, tags = packets_of(writer, 7)
    assert packets == [SPEECH[0], SILENCE_FRAME]
    assert file_start(tags) == round(1.04 * RATE)
    stats = writer.tracks[7].stats
    assert (stats.frames, stats.speech_frames) == (2, 1)


def test_a_frame_placed_before_the_meeting_began_starts_the_file_at_zero(folder):
    writer, _ = writer_for(folder, meeting_time_at_start=-0.5)
    send(writer, 7, 70, [(0.0, 0, SPEECH[0])])
    writer.close()
    assert file_start(packets_of(writer, 7)[1]) == 0


def test_the_meeting_clock_runs_from_the_folders_start(folder):
    clock = Clock()
    clock.now = 100.0
    writer = RecordingWriter(folder, clock=clock, meeting_time_at_start=12.5)
    assert writer.meeting_time(100.0) == 12.5 and writer.meeting_time(101.25) == 13.75
    assert writer._meeting_sample(101.0) == round(13.5 * RATE)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    late = RecordingFolder.open(folder.path.parent / "late", "m-late", now=started)
    writer = RecordingWriter(late, clock=clock)
    assert writer.meeting_time(100.0) == pytest.approx(30.0, abs=1.0)


# ---- tracks and names ------------------------------------------------------------------------------------------


def test_tracks_are_filed_under_the_display_name_made_unique(folder):
    clock = Clock()
    writer = RecordingWriter(folder, clock=clock, meeting_time_at_start=0.0, speaker_name={7: "Sam", 8: "Sam"}.get)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    send(writer, 8, 80, [(1.0, 0, SPEECH[1])])
    send(writer, 9, 90, [(1.0, 0, SPEECH[2])])  # no display name: the id
    writer.close()
    assert [(t.speaker, t.user_id) for t in folder.tracks] == [("Sam", "7"), ("Sam (8)", "8"), ("9", "9")]
    assert writer.snapshot()[8]["speaker"] == "Sam (8)"


def test_a_restarted_recorder_keeps_the_name_already_in_the_folder(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    writer.close()
    reopened = RecordingFolder.open(folder.path, "m-1")
    clock = Clock()
    again = RecordingWriter(reopened, clock=clock, meeting_time_at_start=5.0, speaker_name=lambda user: "Alice R.")
    send(again, 7, 70, [(1.0, 0, SPEECH[1])])
    again.close()
    assert [t.speaker for t in reopened.tracks] == ["Alice", "Alice"]
    assert again.tracks[7].writer.path.name != writer.tracks[7].writer.path.name


def test_snapshot_and_stats(folder):
    writer, _ = writer_for(folder)
    assert TrackStats(frames=1, speech_frames=1, late=2, silence_filled=24_000, utterances=3).as_dict() == {
        "frames": 1,
        "speech_frames": 1,
        "late": 2,
        "silence_filled_seconds": 0.5,
        "utterances": 3,
    }
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(3)])
    send(writer, 8, 80, [(1.0, 0, SILENCE_FRAME)])
    writer.pump(1.5)
    snapshot = writer.snapshot()
    assert snapshot[7] == {
        "speaker": "Alice",
        "file": writer.tracks[7].writer.path.name,
        "seconds": 0.06,
        "frames": 3,
        "speech_frames": 3,
        "late": 0,
        "silence_filled_seconds": 0.0,
        "utterances": 0,
    }
    assert snapshot[8]["file"] is None and snapshot[8]["seconds"] == 0.0
    writer.close()


# ---- opting out ------------------------------------------------------------------------------------------------


def test_drop_user_deletes_their_track_and_notes_the_opt_out(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    send(writer, 8, 80, [(1.0, 0, SPEECH[1])])
    writer.pump(1.5)
    alice_file = writer.tracks[7].writer.path
    writer.drop_user(7)
    writer.pump(1.6)
    assert 7 not in writer.tracks and not alice_file.exists()
    assert [t.user_id for t in folder.tracks] == ["8"]
    assert optout.load(folder.path) == [optout.OptedOut("7", frozenset({"Alice"}), frozenset({alice_file.stem}))]
    writer.close()
    assert json.loads((folder.path / OPTED_OUT).read_text())["opted_out"][0]["user_id"] == "7"


def test_drop_user_before_anything_was_written(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SILENCE_FRAME)])
    writer.drop_user(7)
    writer.drop_user(9)  # never heard
    writer.pump(1.5)
    assert writer.tracks == {}
    assert [e.user_id for e in optout.load(folder.path)] == ["7", "9"]
    assert all(not e.speakers and not e.tracks for e in optout.load(folder.path))
    writer.close()


# ---- flushing, syncing, timers ---------------------------------------------------------------------------------


def test_flush_sync_and_maintenance_run_on_their_timers(folder, monkeypatch):
    flushed: list[dict] = []
    maintained: list[float] = []
    intake: list[int] = []
    writer, _ = writer_for(
        folder,
        flush_interval=1.0,
        sync_interval=3.0,
        on_flush=flushed.append,
        maintenance=maintained.append,
        intake=lambda: intake.append(1),
    )
    synced: list[int] = []
    send(writer, 7, 70, [(0.1 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(5)])
    writer.pump(0.4)
    assert maintained == [] and flushed == [] and len(intake) == 1
    writer.pump(0.5)
    assert maintained == [0.5]
    track = writer.tracks[7]
    monkeypatch.setattr(track.writer, "sync", lambda: synced.append(1))
    writer.pump(0.99)
    assert flushed == []
    writer.pump(1.0)
    assert flushed == [{"bytes": flushed[0]["bytes"], "speech_frames": 5}] and flushed[0]["bytes"] > 0
    assert writer.speech_frames_flushed() == 5 and track.writer.buffered_samples == 0
    assert track.dirty_since_sync
    writer.pump(1.5)
    assert maintained == [0.5, 1.0, 1.5] and len(flushed) == 1
    writer.pump(2.0)  # nothing new: a flush round, nothing written
    assert flushed[-1] == {"bytes": 0, "speech_frames": 5}
    writer.pump(2.99)
    assert synced == []
    writer.pump(3.0)
    assert synced == [1] and not track.dirty_since_sync
    writer.pump(6.0)
    assert synced == [1]  # nothing written since: no fsync
    assert len(intake) == 9
    writer.close()


def test_a_failing_flush_of_one_track_does_not_hold_up_the_others(folder, monkeypatch):
    flushed: list[dict] = []
    writer, _ = writer_for(folder, on_flush=flushed.append)
    send(writer, 7, 70, [(0.1, 0, SPEECH[0])])
    send(writer, 8, 80, [(0.1, 0, SPEECH[1])])
    writer.pump(0.5)
    send(writer, 7, 70, [(0.5, 960 * 20, SPEECH[2])])
    send(writer, 8, 80, [(0.5, 960 * 20, SPEECH[3])])
    writer.pump(0.7)

    def full_disk():
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer.tracks[7].writer, "flush", full_disk)
    with pytest.raises(OSError, match="No space left"):
        writer.flush()
    assert writer.tracks[8].writer.buffered_samples == 0 and writer.tracks[8].dirty_since_sync
    assert not writer.tracks[7].dirty_since_sync
    assert flushed[-1]["speech_frames"] == 2  # only what reached the kernel counts: Bob's two frames
    monkeypatch.undo()
    writer.close()


def test_close_writes_everything_once_and_ends_each_stream(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(3)])
    writer.close()
    writer.close()  # twice: harmless
    path = writer.tracks[7].writer.path
    pages = list(iter_pages(path.read_bytes()))
    assert pages[-1].flags == 4 and writer.tracks[7].writer.closed
    assert packets_of(writer, 7)[0] == SPEECH[:3]


def test_the_writer_thread_pumps_and_keeps_going_after_an_error(folder, caplog):
    calls: list[float] = []
    writer = RecordingWriter(folder, meeting_time_at_start=0.0, intake=lambda: calls.append(time.monotonic()))
    failures = {"left": 3}

    def failing_maintenance(now):
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("disk went away")

    writer.maintenance = failing_maintenance
    writer._next_maintenance = 0.0
    original = writer.pump

    def pump(now):
        writer._next_maintenance = 0.0  # every round runs maintenance
        original(now)

    writer.pump = pump
    writer.start()
    deadline = time.monotonic() + 10
    while failures["left"] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    writer.close(timeout=5)
    assert failures["left"] == 0 and len(calls) >= 2
    assert writer.errors == ["OSError: disk went away"]  # the same error is reported once
    assert writer._thread is not None and not writer._thread.is_alive()
    assert writer._thread.name == "voice-writer:m-1" and writer._thread.daemon


# ---- the live hand-off -----------------------------------------------------------------------------------------


class Utterances:
    def __init__(self):
        self.got: list[tuple] = []
        self.lock = threading.Lock()

    def __call__(self, user_id, speaker, file, start, samples):
        with self.lock:
            self.got.append((user_id, speaker, file.name, start, len(samples)))


def test_an_utterance_ends_after_a_pause_and_is_handed_off_decoded(folder):
    got = Utterances()
    writer, _ = writer_for(folder, on_utterance=got, utterance_gap=0.8, reorder_delay=0.1)
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(5)])
    send(writer, 7, 70, [(1.1, 960 * 5, SILENCE_FRAME)])
    writer.pump(1.5)
    writer.pump(1.08 + 0.9)  # 0.9 s after the last speech frame arrived: exactly gap + delay, not more
    assert writer.tracks[7].utterance is not None
    writer.pump(1.08 + 0.9 + 0.001)
    assert writer.tracks[7].utterance is None
    writer.close()
    assert got.got == [(7, "Alice", writer.tracks[7].writer.path.name, 1.0, 5 * 320)]  # 16 kHz: 320 per frame
    assert writer.tracks[7].stats.utterances == 1


def test_speech_after_a_pause_on_the_page_starts_a_new_utterance(folder):
    got = Utterances()
    writer, _ = writer_for(folder, on_utterance=got, utterance_gap=0.8)
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(3)])
    # A new spurt 0.94 s after the end of the first on the page; nothing pumped in between, so only the positions
    # on the page can tell the two utterances apart.
    send(writer, 7, 70, [(2.0, 10**6, SPEECH[3]), (2.02, 10**6 + 960, SPEECH[4])])
    writer.close()
    assert sorted((start, n) for _u, _s, _f, start, n in got.got) == [(1.0, 3 * 320), (2.0, 2 * 320)]


def test_an_utterance_is_cut_at_the_maximum_length(folder):
    got = Utterances()
    writer, _ = writer_for(folder, on_utterance=got, max_utterance=0.1, utterance_gap=5.0)
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(12)])
    writer.close()
    assert [n // 320 for *_x, n in got.got] == [6, 6]  # frames at 0..100 ms, then the rest
    assert [start for *_x, start, _n in got.got] == [1.0, pytest.approx(1.12)]


def test_trailing_silence_is_not_handed_off_but_silence_inside_is(folder):
    got = Utterances()
    writer, _ = writer_for(folder, on_utterance=got, utterance_gap=0.8)
    frames = [SPEECH[0], SILENCE_FRAME, SPEECH[1], SILENCE_FRAME, SILENCE_FRAME]
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, f) for i, f in enumerate(frames)])
    writer.close()
    assert [n for *_x, n in got.got] == [3 * 320]


def test_silence_only_is_never_handed_off_and_a_failing_callback_is_logged(folder, caplog):
    def broken(*args):
        raise RuntimeError("transcriber bug")

    writer, _ = writer_for(folder, on_utterance=broken)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    with caplog.at_level("ERROR", logger="bot.voice.writer"):
        writer.close()
    assert writer.tracks[7].stats.utterances == 1


def test_without_a_hand_off_no_utterance_is_kept(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    writer.pump(1.5)
    assert writer.tracks[7].utterance is None
    writer.close()


# ---- edges the mutation run found untested ---------------------------------------------------------------------


def test_frames_of_another_duration_and_damaged_ones(folder):
    encoder = discord.opus.Encoder()
    pcm = (np.sin(np.arange(480) * 0.05) * 8000).astype("<i2")
    ten_ms = encoder.encode(np.repeat(pcm, 2).tobytes(), 480)
    damaged = bytes([0x7B, 0x00, 1, 2, 3])  # a code-3 packet that says it holds no frames: taken as 20 ms
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, ten_ms), (1.01, 480, damaged), (1.03, 1440, SPEECH[0])])
    writer.pump(1.5)
    assert writer.tracks[7].writer.granule == 480 + 960 + 960
    assert writer.tracks[7].stats.silence_filled == 0
    writer.close()


def test_rounding_in_the_reports():
    assert TrackStats(silence_filled=25).as_dict()["silence_filled_seconds"] == 0.001  # 0.52 ms, to the ms


def test_the_snapshot_rounds_seconds_to_the_millisecond(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0]), ((RATE + 960 + 120) / RATE, 960 + 120, SPEECH[1])])
    writer.pump(1.5)
    assert writer.tracks[7].writer.granule == 2040
    assert writer.snapshot()[7]["seconds"] == 0.043  # 42.5 ms
    writer.close()


def test_of_two_spurts_pending_at_once_the_earlier_one_is_written_first(folder):
    writer, _ = writer_for(folder)
    # A second stream of the same user starts 10 ms later with a much smaller RTP timestamp.
    send(writer, 7, 70, [(1.0, 10**6, SPEECH[0])])
    send(writer, 7, 71, [(1.01, 0, SPEECH[1])])
    writer.close()
    packets, tags = packets_of(writer, 7)
    assert packets == SPEECH[:2] and file_start(tags) == RATE


def test_of_two_frames_with_the_same_timestamp_the_first_received_is_written(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.02, 0, SPEECH[0]), (1.0, 0, SPEECH[1])])  # the copy arrived "earlier" (clock skew)
    writer.close()
    assert packets_of(writer, 7)[0] == [SPEECH[0]]
    assert writer.tracks[7].stats.late == 1


def test_two_frames_out_of_order_are_sorted(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    writer.pump(1.2)
    send(writer, 7, 70, [(1.21, 1920, SPEECH[2]), (1.22, 960, SPEECH[1])])
    writer.close()
    assert packets_of(writer, 7)[0] == SPEECH[:3]


def test_late_frames_are_counted_each(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 9600, SPEECH[0]), (1.02, 0, SPEECH[1]), (1.03, 960, SPEECH[2])])  # two stragglers
    writer.pump(1.2)
    send(writer, 7, 70, [(1.21, 9600, SPEECH[3]), (1.22, 9600, SPEECH[4])])  # the written timestamp, twice more
    writer.close()
    assert packets_of(writer, 7)[0] == [SPEECH[0]]
    assert writer.tracks[7].stats.late == 4


def test_place_unwraps_and_accepts_the_anchor_itself(folder):
    from bot.voice.writer import _Track

    writer, _ = writer_for(folder)
    track = writer.tracks[7] = _Track(7)
    spurt, extended = writer._place(track, 70, 1.0, 5000)
    assert extended == 5000 and spurt.anchor_ts == 5000
    assert writer._place(track, 70, 1.001, 5000) == (spurt, 5000)  # the anchor's own timestamp again
    assert writer._place(track, 70, 1.02, 5960)[1] == 5960
    assert writer._place(track, 70, 1.021, 5960 - 960) == (spurt, 5000)  # one frame back: unwrapped back
    assert writer._place(track, 70, 1.022, 4999) is None  # before the anchor
    assert writer._place(track, 70, 1.03, (5960 + 0x80000000) % 2**32) is None  # half the space away: behind
    assert spurt.last_ts == 5960 and spurt.last_arrival == 1.021  # refused packets move nothing


def test_a_new_anchor_after_a_jump_keeps_counting_arrivals(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0]), (1.02, 960 + RATE, SPEECH[1]), (1.04, 1920 + RATE, SPEECH[2])])
    writer.close()
    track = writer.tracks[7]
    assert track.spurt_count == 2 and track.spurts[70].last_arrival == 1.04


def test_an_utterance_may_pause_exactly_the_gap(folder):
    got = Utterances()
    writer, _ = writer_for(folder, on_utterance=got, utterance_gap=0.8)
    end = RATE + 960  # the first frame's end on the meeting clock
    resume = end + int(0.8 * RATE)  # exactly the gap later
    send(writer, 7, 70, [(1.0, 0, SPEECH[0]), (resume / RATE, 10**6, SPEECH[1])])
    writer.close()
    assert [(start, n) for _u, _s, _f, start, n in got.got] == [(1.0, (960 + int(0.8 * RATE) + 960) // 3)]
    assert writer.tracks[7].stats.silence_filled == int(0.8 * RATE)


def test_silence_filled_is_summed_over_the_gaps(folder):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0]), (2.0, 10**6, SPEECH[1]), (3.0, 2 * 10**6, SPEECH[2])])
    writer.close()
    gaps = (2 * RATE - (RATE + 960)) + (3 * RATE - (2 * RATE + 960))
    assert writer.tracks[7].stats.silence_filled == gaps


def test_an_utterance_ends_after_exactly_more_than_the_gap_and_delay(folder):
    got = Utterances()
    writer, _ = writer_for(folder, on_utterance=got, utterance_gap=0.75, reorder_delay=0.125)
    send(writer, 7, 70, [(1.0625, 0, SPEECH[0])])
    writer.pump(1.5)
    writer.pump(1.0625 + 0.875)  # exactly gap + delay: still open
    assert writer.tracks[7].utterance is not None
    writer.pump(1.0625 + 0.875 + 2**-20)
    assert writer.tracks[7].utterance is None
    writer.close()


def test_hand_offs_run_one_at_a_time_on_their_own_thread(folder):
    names: list[str] = []
    running = {"now": 0, "most": 0}
    lock = threading.Lock()

    def slow(user_id, speaker, file, start, samples):
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            names.append(threading.current_thread().name)
        time.sleep(0.05)
        with lock:
            running["now"] -= 1

    writer, _ = writer_for(folder, on_utterance=slow, max_utterance=0.05, utterance_gap=5.0)
    send(writer, 7, 70, [(1.0 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(12)])
    writer.close()
    assert len(names) == 4 and writer.tracks[7].stats.utterances == 4
    assert set(names) == {"voice-handoff_0"} and running["most"] == 1


def test_the_track_file_and_its_comments_name_the_meeting_and_the_user(folder, caplog):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.25, 0, SPEECH[0])])
    with caplog.at_level("INFO", logger="bot.voice.writer"):
        writer.close()
    path = writer.tracks[7].writer.path
    assert path.name == "alice-7.ogg"
    _packets, tags = read_opus_packets(path)
    assert (tags["WGBOT_MEETING"], tags["TITLE"]) == ("m-1", "m-1 - Alice")
    assert caplog.messages == ["recording Alice (7) into alice-7.ogg from 1.26 s"]


def test_dropping_a_user_is_logged(folder, caplog):
    writer, _ = writer_for(folder)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    writer.pump(1.5)
    writer.drop_user(7)
    caplog.clear()  # only what this pump logs, whatever level an earlier module's fixture left logging at
    with caplog.at_level("INFO", logger="bot.voice.writer"):
        writer.pump(1.6)
    assert caplog.messages == ["deleted 1 track file(s) of user 7"]
    writer.close()


def test_a_failing_hand_off_is_logged_with_the_speaker_and_time(folder, caplog):
    def broken(*args):
        raise RuntimeError("transcriber bug")

    writer, _ = writer_for(folder, on_utterance=broken)
    send(writer, 7, 70, [(1.0, 0, SPEECH[0])])
    with caplog.at_level("ERROR", logger="bot.voice.writer"):
        writer.close()
    assert caplog.messages == ["on_utterance failed for Alice at 1.00 s"]


def test_the_writer_thread_wakes_every_20_ms(folder):
    rounds: list[float] = []
    writer = RecordingWriter(folder, meeting_time_at_start=0.0, intake=lambda: rounds.append(time.monotonic()))
    writer.start()
    time.sleep(0.5)
    writer.close(timeout=5)
    assert len(rounds) >= 5  # about 25; a slow machine still manages a handful, a 1 s wait would not


def test_the_defaults(folder):
    writer = RecordingWriter(folder, meeting_time_at_start=0.0)
    assert (writer.flush_interval, writer.sync_interval, writer.reorder_delay) == (1.0, 10.0, 0.1)
    assert (writer.utterance_gap, writer.max_utterance) == (0.8, 30.0)


def test_a_flush_round_reports_the_bytes_of_every_track(folder):
    flushed: list[dict] = []
    writer, _ = writer_for(folder, on_flush=flushed.append)
    send(writer, 7, 70, [(0.1 + 0.02 * i, 960 * i, SPEECH[i]) for i in range(3)])
    send(writer, 8, 80, [(0.1 + 0.02 * i, 960 * i, SPEECH[10 + i]) for i in range(4)])
    writer.pump(0.5)
    before = {u: t.writer.bytes_written for u, t in writer.tracks.items()}
    writer.flush()
    grown = sum(t.writer.bytes_written - before[u] for u, t in writer.tracks.items())
    assert grown > 0 and flushed[-1]["bytes"] == grown
    writer.close()


def test_fsync_waits_for_the_sync_interval_after_the_last_one(folder, monkeypatch):
    writer, _ = writer_for(folder, flush_interval=1.0, sync_interval=3.0)
    send(writer, 7, 70, [(0.1, 0, SPEECH[0]), (0.12, 960, SPEECH[1])])  # the first frame is in the new file already
    writer.pump(1.0)
    synced: list[float] = []
    monkeypatch.setattr(writer.tracks[7].writer, "sync", lambda: synced.append(1))
    writer.pump(3.0)
    assert synced == [1]
    send(writer, 7, 70, [(3.1, 960 * 200, SPEECH[2])])
    writer.pump(4.0)  # written and flushed, dirty again
    writer.pump(4.5)
    writer.pump(5.9)
    assert synced == [1]  # not before 6.0
    writer.pump(6.0)
    assert synced == [1, 1]
    monkeypatch.undo()
    writer.close()


def test_a_failing_round_of_the_writer_thread_is_logged(folder, caplog):
    writer = RecordingWriter(folder, meeting_time_at_start=0.0)

    def failing(now):
        raise OSError("disk went away")

    writer.maintenance = failing
    with caplog.at_level("ERROR", logger="bot.voice.writer"):
        writer.start()
        deadline = time.monotonic() + 10
        while not writer.errors and time.monotonic() < deadline:
            time.sleep(0.02)
        writer._stop.set()
        writer._thread.join(5)
    writer.maintenance = None
    writer.close(timeout=5)
    assert writer.errors == ["OSError: disk went away"]
    assert caplog.messages[0] == "voice writer failed"
