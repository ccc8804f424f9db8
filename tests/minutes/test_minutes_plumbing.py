"""`make_minutes` end to end with the tiny SmolLM2 (fast; its content is poor, so only the mechanics are checked):
everything it keeps is grounded, missing parts are said, the note-taker is not instructed, empty input is handled."""

from __future__ import annotations

import pytest

from tests.minutes.helpers import transcript_of
from transcripts.llm import load_llm
from transcripts.minutes import MinutesOptions, make_minutes
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.words import support
from transcripts.sample import DATE, SCRIPT
from transcripts.types import Hints, Minutes, Transcript

TINY = "smollm2-135m-q8_0"


@pytest.fixture(scope="module")
def tiny():
    return load_llm(TINY)


@pytest.fixture(scope="module")
def meeting():
    return transcript_of(SCRIPT)


def test_whatever_the_model_says_only_grounded_items_survive(tiny, meeting, caplog):
    caplog.set_level("INFO", logger="transcripts.minutes.grounding")
    steps: list[tuple[str, int, int]] = []
    minutes = make_minutes(
        meeting,
        meeting_date=DATE,
        hints=Hints(title="Sync"),
        llm=tiny,
        chat_text="see https://github.com/vector-wg/design",
        progress=lambda what, done, total: steps.append((what, done, total)),
    )
    assert isinstance(minutes, Minutes)
    lines = {line.start: line for line in transcript_lines(meeting)}
    for item in minutes.action_items:
        line = lines[item.at]  # `at` is the start of a real line
        assert item.owner in {"Alice", "Bob", "Carol", "Dave"}
        assert support(item.task, line.text + " " + item.excerpt) >= 0.5
        assert "logo" not in item.task.lower() and "fifty" not in item.task.lower()
    for wish in minutes.wishes:
        assert support(wish.title, lines[wish.at].text) >= 0.25
    assert minutes.links == ["https://github.com/vector-wg/design"]
    assert len(minutes.summary) <= 1500
    assert any("note-taker" in note for note in minutes.notes)
    assert "not found in the transcript" in caplog.text  # the tiny model's inventions were dropped
    assert steps[-1][0] == "done" and steps[-1][1] == steps[-1][2]
    assert [done for _, done, _ in steps] == sorted(done for _, done, _ in steps)


def test_a_part_without_a_usable_answer_is_left_out_and_said(tiny, meeting):
    # Four tokens cannot hold a topic list: both attempts at the long summary are malformed JSON.
    options = MinutesOptions(answer_tokens={"long summary": 4})
    before = len(tiny.stats)
    minutes = make_minutes(meeting, meeting_date=DATE, llm=tiny, options=options)
    assert minutes.long_summary == "" and minutes.summary == ""
    assert "long summary: the model gave no usable answer for the meeting" in minutes.notes
    assert any(note.startswith("summary: not written") for note in minutes.notes)
    retried = [s for s in tiny.stats[before:] if s.purpose.startswith("long summary")]
    assert [s.retried for s in retried] == [False, True]


def test_a_transcript_without_speech_needs_no_model():
    minutes = make_minutes(Transcript([]), meeting_date=DATE, llm="no-such-model-is-ever-loaded")
    assert minutes.action_items == [] and minutes.summary == ""
    assert minutes.notes == ["The transcript has no speech; there is nothing to summarize."]
