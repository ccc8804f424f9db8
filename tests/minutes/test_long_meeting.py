"""A transcript far longer than the model's context window is covered end to end.

A synthetic meeting of about 6,000 words (about 8,000 tokens: four times a 2,048-token context) with action items and
wishes planted evenly over its whole length. The 0.5B model keeps it affordable; what is tested is that every part
is read and summarized, and that items from the beginning, the middle and the end all reach the minutes.
"""

from __future__ import annotations

import pytest

from transcripts.llm import load_llm
from transcripts.minutes import MinutesOptions, make_minutes, plan_parts
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.words import support
from transcripts.sample.long_meeting import MEETING_DATE, long_meeting
from transcripts.types import Hints

pytestmark = pytest.mark.slow

N_CTX = 2048
OPTIONS = MinutesOptions(part_tokens=1600, max_parts=8, read_budget=2400, n_ctx=N_CTX)


@pytest.fixture(scope="module")
def llm():
    return load_llm("qwen2.5-coder-0.5b-q8_0", n_ctx=N_CTX)


@pytest.fixture(scope="module")
def meeting():
    return long_meeting(6000, items_every=450)


@pytest.fixture(scope="module")
def minutes(llm, meeting):
    return make_minutes(meeting.transcript, meeting_date=MEETING_DATE, hints=Hints(title="Long meeting"), llm=llm,
                        options=OPTIONS)


def test_the_transcript_is_far_longer_than_the_context(llm, meeting):
    text = "\n".join(line.render() for line in transcript_lines(meeting.transcript))
    assert llm.count_tokens(text) > 3.5 * N_CTX


def test_every_part_is_summarized_from_start_to_end(llm, meeting, minutes):
    parts = plan_parts(transcript_lines(meeting.transcript), llm.count_tokens, OPTIONS)
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
    planted_wishes = {w.at for w in meeting.wishes}
    assert all(w.at in planted_wishes for w in minutes.wishes)
