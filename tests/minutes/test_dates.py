"""Relative due dates resolve in code, from the meeting date, by fixed rules (transcripts.minutes.dates)."""

from __future__ import annotations

import datetime as dt

import pytest

from transcripts.minutes.dates import find_due_dates, pick_due, resolve_due

THU = dt.date(2026, 11, 26)  # the sample meeting: a Thursday
WEEK = [dt.date(2026, 11, 23) + dt.timedelta(days=i) for i in range(7)]  # Monday 23 ... Sunday 29 November 2026
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("tomorrow", dt.date(2026, 11, 27)),
        ("by tomorrow", dt.date(2026, 11, 27)),
        ("the day after tomorrow", dt.date(2026, 11, 28)),
        ("today", THU),
        ("by the end of the day", THU),
        ("by next Wednesday", dt.date(2026, 12, 2)),
        ("next Wednesday", dt.date(2026, 12, 2)),
        ("before next Thursday", dt.date(2026, 12, 2)),  # strictly before Thursday 3 December
        ("by next Thursday", dt.date(2026, 12, 3)),
        ("next Friday", dt.date(2026, 12, 4)),  # said on a Thursday: Friday of next week, not tomorrow
        ("by Friday", dt.date(2026, 11, 27)),
        ("on Friday", dt.date(2026, 11, 27)),
        ("this Friday", dt.date(2026, 11, 27)),
        ("Thursday", dt.date(2026, 12, 3)),  # a bare weekday is the next one after the meeting
        ("on Monday", dt.date(2026, 11, 30)),
        ("before Monday", dt.date(2026, 11, 29)),
        ("Monday next week", dt.date(2026, 11, 30)),
        ("Friday week", dt.date(2026, 12, 4)),
        ("next meeting", dt.date(2026, 12, 3)),
        ("by the next meeting", dt.date(2026, 12, 3)),
        ("before the next meeting", dt.date(2026, 12, 2)),
        ("for our next call", dt.date(2026, 12, 3)),
        ("by next time", dt.date(2026, 12, 3)),
        ("by next week's meeting", dt.date(2026, 12, 3)),
        ("by the end of the week", dt.date(2026, 11, 27)),
        ("this week", dt.date(2026, 11, 27)),
        ("next week", dt.date(2026, 12, 4)),
        ("by next week", dt.date(2026, 11, 30)),
        ("early next week", dt.date(2026, 11, 30)),
        ("by the end of next week", dt.date(2026, 12, 4)),
        ("by the end of the month", dt.date(2026, 11, 30)),
        ("by the end of next month", dt.date(2026, 12, 31)),
        ("in three days", dt.date(2026, 11, 29)),
        ("in 3 days", dt.date(2026, 11, 29)),
        ("in two weeks", dt.date(2026, 12, 10)),
        ("in a couple of days", dt.date(2026, 11, 28)),
        ("a week from now", dt.date(2026, 12, 3)),
        ("within a fortnight", dt.date(2026, 12, 10)),
        ("by December 5th", dt.date(2026, 12, 5)),
        ("December 5", dt.date(2026, 12, 5)),
        ("the 5th of December", dt.date(2026, 12, 5)),
        ("by the twenty-first of December", dt.date(2026, 12, 21)),
        ("Dec. 3rd", dt.date(2026, 12, 3)),
        ("January 3rd", dt.date(2027, 1, 3)),  # the next January 3rd after the meeting
        ("by the 15th", dt.date(2026, 12, 15)),  # the next 15th
        ("by 2026-12-05", dt.date(2026, 12, 5)),
    ],
)
def test_phrases_from_a_thursday(phrase, expected):
    assert resolve_due(phrase, THU) == expected


@pytest.mark.parametrize("meeting", WEEK, ids=lambda d: d.strftime("%a"))
@pytest.mark.parametrize("weekday", range(7), ids=lambda i: WEEKDAYS[i])
def test_weekday_rules_for_every_meeting_day(meeting, weekday):
    name = WEEKDAYS[weekday].capitalize()
    bare = resolve_due(f"by {name}", meeting)
    following = resolve_due(f"next {name}", meeting)
    before = resolve_due(f"before next {name}", meeting)
    # "by Friday": the first Friday strictly after the meeting.
    assert bare.weekday() == weekday and meeting < bare <= meeting + dt.timedelta(days=7)
    # "next Friday": Friday of the calendar week (Monday to Sunday) after the meeting's week.
    next_monday = meeting - dt.timedelta(days=meeting.weekday()) + dt.timedelta(days=7)
    assert following == next_monday + dt.timedelta(days=weekday)
    assert before == following - dt.timedelta(days=1)
    assert resolve_due("tomorrow", meeting) == meeting + dt.timedelta(days=1)
    assert resolve_due("next meeting", meeting) == meeting + dt.timedelta(days=7)


def test_next_meeting_uses_the_schedule_when_known():
    assert resolve_due("by the next meeting", THU, next_meeting=dt.date(2026, 12, 10)) == dt.date(2026, 12, 10)
    assert resolve_due("before the next call", THU, next_meeting=dt.date(2026, 12, 10)) == dt.date(2026, 12, 9)


@pytest.mark.parametrize(
    "text",
    [
        "the first thing we should look at",
        "I may have a look",
        "we march on",
        "next time we should bring snacks",  # a topic, not a deadline
        "it was merged on November 2nd",  # in the past: history, not a due date
        "version two point zero",
        "",
    ],
)
def test_words_that_are_not_due_dates(text):
    assert find_due_dates(text, THU) == []


def test_phrases_are_found_inside_sentences_in_order():
    found = find_due_dates("Carol, can you write the fallback path by next Wednesday? We meet again on Monday.", THU)
    assert [(d.phrase, d.date) for d in found] == [
        ("by next Wednesday", dt.date(2026, 12, 2)),
        ("on Monday", dt.date(2026, 11, 30)),
    ]
    assert found[0].explicit and not found[1].explicit


def test_pick_due_prefers_deadlines_and_only_trusts_hints_found_in_the_text():
    texts = ["We meet on Monday, and I will send the draft by Friday."]
    assert pick_due(texts, THU).date == dt.date(2026, 11, 27)  # the deadline, not the mention
    assert pick_due(texts, THU, hint="on Monday").date == dt.date(2026, 11, 30)  # the model's quote, as it is there
    assert pick_due(texts, THU, hint="December 24").date == dt.date(2026, 11, 27)  # a quote not in the text: ignored
    assert pick_due(["No date here."], THU, hint="tomorrow") is None


def test_month_ends_and_year_ends():
    assert resolve_due("by the end of the month", dt.date(2026, 2, 10)) == dt.date(2026, 2, 28)
    assert resolve_due("by the end of next month", dt.date(2026, 12, 3)) == dt.date(2027, 1, 31)
    assert resolve_due("by next Wednesday", dt.date(2026, 12, 31)) == dt.date(2027, 1, 6)
    assert resolve_due("February 30th", THU) is None  # no such date
