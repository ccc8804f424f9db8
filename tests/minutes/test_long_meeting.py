"""A transcript far longer than the model's context window is covered end to end.

A synthetic meeting of about 6,000 words (about 8,000 tokens: four times a 2,048-token context) with action items and
wishes planted evenly over its whole length. The 0.5B model keeps it affordable; what is tested is that every part
is read and summarized, and that items from the beginning, the middle and the end all reach the minutes.
"""

from __future__ import annotations

import pytest

from transcripts.answer_cache import AnswerCache
from transcripts.llm import load_llm
from transcripts.minutes import MinutesOptions, make_minutes, read_ahead
from transcripts.minutes.chunking import chunk_lines
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.words import support
from transcripts.sample.long_meeting import MEETING_DATE, long_meeting
from transcripts.types import Hints, Transcript

pytestmark = pytest.mark.slow

N_CTX = 2048
OPTIONS = MinutesOptions(part_tokens=1600, read_per_part=400, read_budget=2400, n_ctx=N_CTX)


@pytest.fixture(scope="module")
def llm():
    return load_llm("qwen2.5-coder-0.5b-q8_0", n_ctx=N_CTX)


@pytest.fixture(scope="module")
def meeting():
    return long_meeting(6000, items_every=450)


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """The file where the minutes keep their model's answers."""
    return tmp_path_factory.mktemp("answers") / "minutes.cache.jsonl"


def minutes_of(meeting, llm, answers):
    """The minutes, keeping the model's answers in (and taking them from) the file `answers`, as a process would."""
    return make_minutes(
        meeting.transcript,
        meeting_date=MEETING_DATE,
        hints=Hints(title="Long meeting"),
        llm=llm,
        options=OPTIONS,
        cache=AnswerCache(answers),
    )


@pytest.fixture(scope="module")
def minutes(llm, meeting, answers):
    return minutes_of(meeting, llm, answers)


def test_the_transcript_is_far_longer_than_the_context(llm, meeting):
    text = "\n".join(line.render() for line in transcript_lines(meeting.transcript))
    assert llm.count_tokens(text) > 3.5 * N_CTX


def test_every_part_is_summarized_from_start_to_end(llm, meeting, minutes):
    parts = chunk_lines(transcript_lines(meeting.transcript), llm.count_tokens, OPTIONS.part_tokens)
    assert len(parts) >= 5
    sections = [block for block in minutes.long_summary.split("\n\n") if block.startswith("### ")]
    assert len(sections) >= len(parts) - 1, minutes.notes  # one topic per part (a part may fail, and says so)
    assert not [n for n in minutes.notes if "no usable answer" in n] or len(sections) >= len(parts) - 1
    # The sections' times reach from the first minutes to the last part of the meeting.
    first, last = sections[0], sections[-1]
    assert "(0:0" in first
    last_part_start = parts[-1].start
    last_minute = int(last.split("(")[-1].split("–")[0].split(":")[0])
    assert last_minute * 60 >= last_part_start - 60, (last, last_part_start)


def test_items_from_the_beginning_middle_and_end_are_all_found(meeting, minutes):
    duration = meeting.transcript.duration
    found_at = []
    for planted in meeting.actions:
        for item in minutes.action_items:
            if item.owner == planted.owner and item.due == planted.due and support(planted.task, item.task) >= 0.5:
                found_at.append(planted.at)
                break
    thirds = {min(2, int(3 * at / duration)) for at in found_at}
    assert thirds == {0, 1, 2}, (found_at, [a.at for a in meeting.actions])
    assert len(found_at) >= len(meeting.actions) // 2


def test_nothing_ungrounded_survives(meeting, minutes):
    lines = {line.start: line for line in transcript_lines(meeting.transcript)}
    for item in minutes.action_items:
        assert support(item.task, lines[item.at].text) >= 0.25
    # A wish is timed at the start of its line, which may begin with the same speaker's sentence before it.
    planted_lines = {start for start, line in lines.items() if any(start <= w.at <= line.end for w in meeting.wishes)}
    assert all(w.at in planted_lines for w in minutes.wishes)


def test_parts_read_during_the_call_are_the_parts_read_at_its_end(llm, meeting, minutes, answers):
    """`read_ahead` on what was said so far asks of the finished parts what the minutes at the end ask of them:
    each of its questions is found among the answers the minutes kept (`answers`), so none would be asked twice. (Checked this way round, the model is not run again: reading ahead with a cold cache costs as much as
    the minutes themselves.) Minutes made from kept answers alone are the same minutes."""
    segments = meeting.transcript.segments
    cache = AnswerCache(answers)
    read = 0
    for share in (0.35, 0.7):  # twice during the call, as the live worker does
        so_far = Transcript([s for s in segments if s.end <= share * meeting.transcript.duration])
        before = len(llm.stats)
        read = read_ahead(
            so_far, meeting_date=MEETING_DATE, cache=cache, hints=Hints(title="Long meeting"), llm=llm, options=OPTIONS
        )
        asked = llm.stats[before:]
        # A line check may be new: which lines still need one depends on how the items found are grounded, and
        # that can depend on what is said after the part (the answer to a request at its very end).
        assert asked and not [s.purpose for s in asked if not s.cached and not s.purpose.startswith("line check")]
    assert read >= 2
    parts = chunk_lines(transcript_lines(meeting.transcript), llm.count_tokens, OPTIONS.part_tokens)
    assert read < len(parts)  # the last parts were still going on

    before = len(llm.stats)
    again = minutes_of(meeting, llm, answers)
    calls = llm.stats[before:]
    assert calls and all(s.cached for s in calls)
    assert [(a.owner, a.due, a.at) for a in again.action_items] == [
        (a.owner, a.due, a.at) for a in minutes.action_items
    ]
    assert [w.at for w in again.wishes] == [w.at for w in minutes.wishes]
    assert again.long_summary == minutes.long_summary
