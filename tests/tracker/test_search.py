"""Full-text search over transcripts, minutes, items and chat — the same behaviour on SQLite FTS5 and PostgreSQL —
and the minutes of one meeting by date."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from tests.tracker.group_clock import clock, group  # noqa: F401
from tracker import search
from tracker.minutes_store import store_minutes
from tracker.models import (
    ChatMessage,
    Meeting,
    MeetingState,
    Publication,
    PublicationKind,
    PublicationState,
    SearchDoc,
    TranscriptSegment,
)
from tracker.search import SearchError
from transcripts.types import ActionItem, Minutes, Segment, Transcript, Wish

UTC = dt.UTC


def _meeting(session, group, day: dt.date, state=MeetingState.published, started_minute: int | None = None) -> Meeting:
    start = dt.datetime.combine(day, dt.time(17, 0), tzinfo=UTC)
    meeting = Meeting(group_id=group.id, scheduled_start=start, state=state)
    if started_minute is not None:
        meeting.started_at = start + dt.timedelta(minutes=started_minute)
    session.add(meeting)
    session.flush()
    return meeting


@pytest.fixture
def archive(db, group):
    """Two meetings stored the way the pipeline stores them (store_minutes), one with chat, one without minutes."""
    with db.session() as session:
        older = _meeting(session, group, dt.date(2026, 11, 19), started_minute=2)
        newer = _meeting(session, group, dt.date(2026, 11, 26))
        pending = _meeting(session, group, dt.date(2026, 11, 12), state=MeetingState.transcribed)
        session.add(
            ChatMessage(
                meeting_id=newer.id,
                discord_message_id=1,
                channel_id=10,
                author_discord_id=700,
                author_name="Carol",
                content="The runner costs are in https://example.org/costs <b>bold</b> **stars**",
                posted_at=newer.scheduled_start + dt.timedelta(minutes=3),
                at=180.0,
            )
        )
        ids = {"older": older.id, "newer": newer.id, "pending": pending.id}
        session.add(
            Publication(
                meeting_id=newer.id,
                kind=PublicationKind.archive,
                target="o/r",
                idempotency_key="m-archive",
                state=PublicationState.done,
                external_url="https://github.com/o/r/blob/main/meetings/2026.11.26/README.md",
            )
        )
    older_transcript = Transcript(
        [
            Segment(
                "Ada Lovelace", 61.0, 65.0, "The budget for the self-hosted runners is 100% approved, says finance."
            ),
            Segment("Bob", 70.0, 74.0, "Kubernetes is out of scope for the runners this year."),
            Segment("Bob", 80.0, 84.0, "Runners on our own hardware, then."),
        ]
    )
    older_minutes = Minutes(
        summary="Discussed the café budget.",
        decisions=["Move CI to self-hosted runners"],
        action_items=[ActionItem(owner="Bob", task="Order two runner machines", at=80.0)],
        wishes=[Wish(title="ARM builds", details="for the Raspberry Pi users", at=70.0)],
    )
    newer_transcript = Transcript(
        [
            Segment("Ada Lovelace", 1.0, 3.0, "Hello everyone."),
            Segment("Bob", 5.0, 9.0, "Before the release we need the budget numbers."),
        ]
    )
    store_minutes(db, ids["older"], older_minutes, older_transcript)
    store_minutes(db, ids["newer"], Minutes(summary="Release 2.0 planning.", next_topics=["Budget review"]),
                  newer_transcript)  # fmt: skip
    with db.session() as session:
        search.index_meeting(session, ids["newer"])  # the chat message above was stored before the minutes
    return ids


def test_words_match_in_any_form_and_the_best_match_comes_first(db, group, archive):
    with db.session() as session:
        hits = search.search(session, "runners budget", group=group)
    # "runners" finds "runner" and "Runners" (stemming); every word must be there.
    assert hits and all("runner" in h.text.lower() and "budget" in h.text.lower() for h in hits)
    first = hits[0]
    assert (first.meeting_id, first.kind, first.speaker, first.start) == (
        archive["older"],
        "transcript",
        "Ada Lovelace",
        61.0,
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # The citation is the wall-clock moment: the recording started 17:02, the line is 61 s in.
    assert first.cite == "2026-11-19 17:03"
    marked = [first.snippet[s:e].lower() for s, e in first.highlights]
    assert "budget" in marked and any(m.startswith("runner") for m in marked)


def test_every_kind_of_text_is_found(db, group, archive):
    with db.session() as session:
        kinds = {
            word: {h.kind for h in search.search(session, word)} for word in ("machines", "raspberry", "costs", "café")
        }
        assert kinds == {"machines": {"item"}, "raspberry": {"item"}, "costs": {"chat"}, "café": {"minutes"}}
        decision = search.search(session, "move CI")
        assert [h.text for h in decision] == ["Decision: Move CI to self-hosted runners"]


def test_phrases_exclusions_and_or(db, group, archive):
    with db.session() as session:
        phrase = search.search(session, '"says finance"')
        assert [h.speaker for h in phrase] == ["Ada Lovelace"]
        assert search.search(session, '"finance says"') == []  # a phrase keeps its order
        without = search.search(session, "runners -kubernetes", kinds=("transcript",))
        assert without and not any("Kubernetes" in h.text for h in without)
        either = search.search(session, "kubernetes OR café")
        assert {h.kind for h in either} == {"transcript", "minutes"} and len(either) == 2
        assert search.search(session, "100%") and search.search(session, "self-hosted")  # punctuation is literal
        assert search.search(session, "kubernetes budget") == []


def test_speaker_filter_and_date_range(db, group, archive):
    with db.session() as session:
        ada = search.search(session, "budget", speaker="ada")  # a first name finds "Ada Lovelace"
        assert {h.speaker for h in ada} == {"Ada Lovelace"}
        bob = search.search(session, "budget", speaker="Bob")
        assert [(h.meeting_id, h.speaker) for h in bob] == [(archive["newer"], "Bob")]
        late = search.search(session, "budget", since=dt.date(2026, 11, 20))
        assert late and {h.meeting_id for h in late} == {archive["newer"]}
        early = search.search(session, "budget", until=dt.date(2026, 11, 19))
        assert early and {h.meeting_id for h in early} == {archive["older"]}
        assert search.search(session, "budget", since=dt.date(2026, 11, 19), until=dt.date(2026, 11, 19)) == early
        with pytest.raises(SearchError, match="the date range is empty"):
            search.search(session, "budget", since=dt.date(2026, 12, 1), until=dt.date(2026, 11, 1))


def test_snippets_mark_the_words_and_escape_the_text(db, group, archive):
    with db.session() as session:
        [hit] = search.search(session, "costs")
    assert hit.snippet.startswith("The runner costs are in")
    assert hit.snippet[hit.highlights[0][0] : hit.highlights[0][1]] == "costs"
    shown = hit.snippet_html()
    assert "<mark>costs</mark>" in shown and "&lt;b&gt;bold&lt;/b&gt;" in shown and "<b>" not in shown
    assert "**costs**" in hit.snippet_markdown() and "\\*\\*stars\\*\\*" in hit.snippet_markdown()


def test_long_texts_are_cut_around_the_match(db, group):
    with db.session() as session:
        meeting = _meeting(session, group, dt.date(2026, 11, 5))
        session.add(
            TranscriptSegment(
                meeting_id=meeting.id, speaker="Ada", start=1, end=2, text="word " * 200 + "NEEDLE " + "word " * 200
            )
        )
        search.index_meeting(session, meeting.id)
        [hit] = search.search(session, "needle")
    assert "NEEDLE" in hit.snippet and len(hit.snippet.split()) < 40 and "…" in hit.snippet


def test_unsearchable_queries_are_refused_in_plain_words(db, group, archive):
    with db.session() as session:
        for query in ("", "the of !", '-"budget"'):
            with pytest.raises(SearchError, match="give at least one word"):
                search.search(session, query)
        with pytest.raises(SearchError, match="too long"):
            search.search(session, "budget " * 60)
        # FTS5 and tsquery syntax in a query is read as words, never as operators (no syntax error)
        assert search.search(session, 'budget AND NEAR( "* ^') == []
        assert search.search(session, "budget & !runners | :*")


def test_a_stored_meeting_is_indexed_again_when_it_changes(db, group, archive):
    with db.session() as session:
        assert search.search(session, "planning")
    store_minutes(db, archive["newer"], Minutes(summary="Roadmap talk."), None)
    with db.session() as session:
        assert search.search(session, "planning") == []
        assert [h.kind for h in search.search(session, "roadmap")] == ["minutes"]
        assert search.search(session, "numbers")  # the transcript is still there


def test_forgetting_a_person_removes_their_words_from_the_index(db, group, archive):
    with db.session() as session:
        assert search.search(session, "costs")
        removed = search.forget_person(session, discord_id=700)
        assert removed == 1 and search.search(session, "costs") == []
        removed = search.forget_person(session, name="ada lovelace")
        assert removed == 2
        assert search.search(session, "budget", speaker="Ada") == []
        assert search.search(session, "budget", speaker="Bob")  # the others' words stay
        assert session.exec(select(SearchDoc).where(SearchDoc.speaker == "Ada Lovelace")).all() == []


def test_question_words_match_any_and_rank_by_how_many(db, group, archive):
    with db.session() as session:
        hits = search.search(session, "what about the kubernetes runners hardware", match_any=True)
    assert hits[0].text in (
        "Runners on our own hardware, then.",
        "Kubernetes is out of scope for the runners this year.",
    )
    assert len(hits) >= 4


def test_minutes_by_date_or_the_latest(db, group, archive):
    with db.session() as session:
        latest = search.minutes_for(session, group)
        assert latest.meeting.id == archive["newer"] and latest.archive_url.endswith("2026.11.26/README.md")
        older = search.minutes_for(session, group, dt.date(2026, 11, 19))
        assert older.minutes.decisions == ["Move CI to self-hosted runners"] and older.archive_url is None
        with pytest.raises(SearchError, match="the meeting of 2026-11-12 has no minutes yet \\(transcribed\\)"):
            search.minutes_for(session, group, dt.date(2026, 11, 12))
        with pytest.raises(SearchError, match="there was no meeting on 2026-11-13"):
            search.minutes_for(session, group, dt.date(2026, 11, 13))
        assert search.days_with_minutes(session, group) == [dt.date(2026, 11, 26), dt.date(2026, 11, 19)]


def test_the_date_range_includes_its_first_and_last_day_whole(db, group):
    with db.session() as session:
        for day, hour in ((dt.date(2026, 10, 1), 0), (dt.date(2026, 10, 2), 23), (dt.date(2026, 10, 3), 0)):
            meeting = Meeting(group_id=group.id, scheduled_start=dt.datetime.combine(day, dt.time(hour), tzinfo=UTC))
            session.add(meeting)
            session.flush()
            session.add(TranscriptSegment(meeting_id=meeting.id, speaker="Ada", start=1, end=2, text="Midnight talk."))
            search.index_meeting(session, meeting.id)
        hits = search.search(session, "midnight", since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 2))
    assert sorted(h.meeting_date for h in hits) == [dt.date(2026, 10, 1), dt.date(2026, 10, 2)]
