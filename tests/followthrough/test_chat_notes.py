"""MeetBot-style notes typed in the call's chat become minutes items exactly as written; links keep who posted them;
"by the next meeting" in speech or chat is the real next meeting."""

from __future__ import annotations

import datetime as dt

from transcripts.minutes.chat_notes import ChatLine, chat_file_lines, merge_into, parse_chat
from transcripts.minutes.dates import resolve_due
from transcripts.types import ActionItem, Minutes, Segment

THURSDAY = dt.date(2026, 12, 3)
NEXT_MEETING = dt.date(2026, 12, 17)  # the 10th is skipped


def _notes(*lines: ChatLine, names=("Sam Smith", "Ada", "Bob")):
    return parse_chat(list(lines), meeting_date=THURSDAY, next_meeting=NEXT_MEETING, names=list(names))


def test_each_tag_becomes_its_item_exactly_as_typed():
    notes = _notes(
        ChatLine("Ada", 61.0, "#action @Sam send the invite by Monday"),
        ChatLine("Bob", 90.0, "action: Bob to update the CI matrix before we meet again"),
        ChatLine("Ada", 120.0, "#agreed we ship 2.0 in January"),
        ChatLine("Bob", 130.0, "#idea a map viewer for all datasets\n#wish dark mode"),
        ChatLine("Ada", 140.0, "#info the venue has no wifi"),
        ChatLine("Bob", 150.0, "#link https://example.org/plan the plan"),
        ChatLine("Ada", 160.0, "#action check the budget numbers"),
    )
    assert [(a.owner, a.task, a.due, a.at) for a in notes.actions] == [
        ("Sam Smith", "send the invite by Monday", dt.date(2026, 12, 7), 61.0),
        ("Bob", "update the CI matrix before we meet again", dt.date(2026, 12, 16), 90.0),
        ("Ada", "check the budget numbers", None, 160.0),  # no owner named: who typed it
    ]
    assert notes.actions[0].excerpt == "Ada (chat): #action @Sam send the invite by Monday"
    assert notes.decisions == ["we ship 2.0 in January"]
    assert [w.title for w in notes.wishes] == ["a map viewer for all datasets", "dark mode"]
    assert notes.info == ["the venue has no wifi"]
    assert [(link.url, link.author) for link in notes.links] == [("https://example.org/plan", "Bob")]


def test_plain_chat_gives_links_with_who_posted_them_and_no_items():
    notes = _notes(
        ChatLine("Carol", 10.0, "see https://github.com/org/repo/pull/12, and the action we took last week"),
        ChatLine("Dave", 12.0, "same link https://github.com/org/repo/pull/12"),
        ChatLine("Dave", 14.0, "we agreed: nothing"),  # not at the start of the line: not a note
    )
    assert notes.actions == [] and notes.decisions == [] and notes.wishes == []
    assert [(link.url, link.author) for link in notes.links] == [("https://github.com/org/repo/pull/12", "Carol")]


def test_chat_items_join_the_minutes_without_doubles():
    spoken = Minutes(
        summary="s",
        long_summary="Talked.",
        decisions=["We ship 2.0 in January"],
        action_items=[ActionItem(owner="Sam Smith", task="Send the invite by Monday", at=50.0)],
        links=["https://example.org/plan"],
    )
    notes = _notes(
        ChatLine("Ada", 61.0, "#action @Sam send the invite by Monday"),
        ChatLine("Ada", 62.0, "#action @Bob book the room"),
        ChatLine("Ada", 120.0, "#agreed we ship 2.0 in January"),
        ChatLine("Bob", 150.0, "link: https://example.org/plan"),
    )
    merged = merge_into(spoken, notes)
    assert [(a.owner, a.task) for a in merged.action_items] == [
        ("Sam Smith", "Send the invite by Monday"),
        ("Bob", "book the room"),
    ]
    assert merged.decisions == ["We ship 2.0 in January"] and merged.links == ["https://example.org/plan"]
    assert "https://example.org/plan (posted by Bob)" in merged.long_summary


def test_meeting_again_phrases_mean_the_next_meeting():
    for phrase in ("before we meet again", "by the next call", "by the next meeting", "by the time we meet next"):
        due = resolve_due(phrase, THURSDAY, NEXT_MEETING)
        assert due in (NEXT_MEETING, NEXT_MEETING - dt.timedelta(days=1)), phrase
    assert resolve_due("before we meet again", THURSDAY, NEXT_MEETING) == dt.date(2026, 12, 16)
    assert resolve_due("by the next call", THURSDAY, NEXT_MEETING) == NEXT_MEETING
    assert resolve_due("by the next call", THURSDAY) == dt.date(2026, 12, 10)  # unknown schedule: a week later


def test_chat_questions_the_call_answered_are_in_the_minutes():
    said = [
        Segment("Ada", 100.0, 104.0, "Welcome."),
        Segment("Bob", 200.0, 206.0, "About the release date: the release date for version two is January fifteenth."),
        Segment("Bob", 1500.0, 1504.0, "The venue for the sprint is still open."),
    ]
    notes = parse_chat(
        [
            ChatLine("Carol", 150.0, "what is the release date for version two?"),
            ChatLine("Dave", 160.0, "where is the sprint venue?"),  # answered, but 22 minutes later
            ChatLine("Erin", 170.0, "lol?"),
        ],
        meeting_date=THURSDAY,
        transcript=said,
    )
    assert [(q.author, a.speaker, a.start) for q, a in notes.answered] == [("Carol", "Bob", 200.0)]
    merged = merge_into(Minutes(summary="s"), notes)
    assert "Carol asked: “what is the release date for version two?” — Bob answered:" in merged.long_summary


def test_a_saved_chat_file_is_read_with_its_authors_and_times():
    lines = chat_file_lines(
        "[17:01] Dave: design doc: https://github.com/vector-wg/design\n"
        "[17:03] Bob: #action @Ada review the design\n  and the benchmark\n"  # a message of two lines
    )
    assert [(line.author, line.at) for line in lines] == [("Dave", 0.0), ("Bob", 120.0)]
    assert lines[1].text.endswith("and the benchmark")
    notes = parse_chat(lines, meeting_date=THURSDAY, names=["Ada"])
    assert [(a.owner, a.task) for a in notes.actions] == [("Ada", "review the design")]
