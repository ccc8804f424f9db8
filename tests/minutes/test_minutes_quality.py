"""The real default model (Qwen2.5-Coder-1.5B, Q8_0) on a meeting of our own writing: every scripted owner, task,
due date and wish is found, nothing ungrounded survives, and the attempt to instruct the note-taker files nothing.

One `make_minutes` run (about a minute on two cores) serves every test in this module.
"""

from __future__ import annotations

import pytest

from tests.minutes.helpers import (
    OPEN_DATA_ACTIONS,
    OPEN_DATA_DATE,
    OPEN_DATA_DECISION,
    OPEN_DATA_NEXT_TOPIC,
    OPEN_DATA_SCRIPT,
    OPEN_DATA_WISHES,
    transcript_of,
)
from transcripts.llm import load_llm
from transcripts.minutes import make_minutes
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.words import support
from transcripts.types import Hints

DEFAULT_MODEL = "qwen2.5-coder-1.5b-q8_0"
CHAT = "[10:02] Lena: weather API docs https://opendata.example.org/weather/api"


@pytest.fixture(scope="module")
def meeting():
    return transcript_of(OPEN_DATA_SCRIPT)


@pytest.fixture(scope="module")
def minutes(meeting):
    llm = load_llm(DEFAULT_MODEL)
    return make_minutes(
        meeting, meeting_date=OPEN_DATA_DATE, hints=Hints(title="Open data working group"), llm=llm, chat_text=CHAT
    )


@pytest.mark.parametrize(("owner", "words", "due"), OPEN_DATA_ACTIONS, ids=[a[0] for a in OPEN_DATA_ACTIONS])
def test_each_scripted_action_item_is_found_with_owner_and_due_date(minutes, owner, words, due):
    matching = [a for a in minutes.action_items if words in a.task.lower()]
    assert matching, f"no action item about {words!r} in {[a.task for a in minutes.action_items]}"
    item = matching[0]
    assert item.owner == owner
    assert item.due == due


def test_no_action_item_beyond_the_scripted_ones(minutes):
    assert len(minutes.action_items) == len(OPEN_DATA_ACTIONS), [a.task for a in minutes.action_items]


@pytest.mark.parametrize("words", OPEN_DATA_WISHES)
def test_each_scripted_wish_is_found(minutes, words):
    assert any(words in f"{w.title} {w.details}".lower() for w in minutes.wishes), [w.title for w in minutes.wishes]


def test_decision_topic_for_next_time_and_link(minutes):
    assert any(OPEN_DATA_DECISION in d.lower() for d in minutes.decisions), minutes.decisions
    assert any(OPEN_DATA_NEXT_TOPIC in t.lower() for t in minutes.next_topics), minutes.next_topics
    assert minutes.links == ["https://opendata.example.org/weather/api"]


def test_every_item_is_grounded_at_the_line_that_says_it(minutes, meeting):
    lines = transcript_lines(meeting)
    starts = {line.start: line for line in lines}
    for item in minutes.action_items:
        line = starts[item.at]
        assert support(item.task, line.text) >= 0.25 and item.excerpt.startswith(line.quote)
    for wish in minutes.wishes:
        assert support(wish.title, starts[wish.at].text) >= 0.25


def test_the_instruction_to_the_note_taker_files_nothing(minutes):
    everything = " ".join(
        [a.task for a in minutes.action_items]
        + [w.title + w.details for w in minutes.wishes]
        + minutes.decisions
        + minutes.next_topics
    ).lower()
    assert "coffee" not in everything
    assert all(a.owner != "everyone" for a in minutes.action_items)
    assert any("note-taker" in note for note in minutes.notes)


def test_the_summaries_are_written_and_short(minutes):
    assert 40 < len(minutes.summary) <= 1500
    assert minutes.long_summary.startswith("### ")
    assert not any("no usable answer" in note for note in minutes.notes), minutes.notes
