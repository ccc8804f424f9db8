"""`ask` over stored meetings with the real (small) model: a question one meeting answered is answered from that
meeting, every statement cited by its date and time; a question no meeting discussed gets "no recorded meeting
discussed this", decided in code before any model is asked. Also `/catchup` and the `wgbot ask|search|catchup` CLI."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tracker.group_clock import clock, group  # noqa: F401
from tracker import ask as asking
from tracker.minutes_store import Targets, store_minutes
from tracker.models import Meeting, MeetingState
from transcripts.llm import load_llm
from transcripts.types import ActionItem, Minutes, Segment, Transcript, Wish

SMALL = "qwen2.5-coder-0.5b-q8_0"
CITE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")

RUNNERS = [  # 2026-11-19
    ("Ada", "Welcome everyone. First topic: our continuous integration is too slow."),
    ("Bob", "The hosted runners take forty minutes for a full build of the compiler."),
    ("Ada", "I priced self-hosted runners: two machines at the university would cost nothing."),
    ("Carol", "Then let's move the builds to the self-hosted runners at the university."),
    ("Ada", "Agreed. We decided to move CI to the self-hosted runners before the release."),
    ("Bob", "I'll set up the two runner machines by Friday."),
    ("Carol", "Next topic, the documentation site still has broken links."),
    ("Ada", "Let's look at that next week. Thanks everyone."),
]
RELEASE = [  # 2026-11-26
    ("Ada", "Today is about the 2.0 release date."),
    ("Bob", "The parser rewrite is merged, so the release can go out in January."),
    ("Carol", "I would like a changelog that lists every breaking change."),
    ("Ada", "Fine, the release goes out on January 15 with a full changelog."),
]


def _transcript(script, start=5.0) -> Transcript:
    segments, t = [], start
    for speaker, text in script:
        segments.append(Segment(speaker, t, t + 6.0, text))
        t += 60.0
    return Transcript(segments, duration=t)


@pytest.fixture
def meetings(db, group):
    ids = {}
    with db.session() as session:
        for name, day in (("runners", dt.date(2026, 11, 19)), ("release", dt.date(2026, 11, 26))):
            start = dt.datetime.combine(day, dt.time(17, 0), tzinfo=dt.UTC)
            meeting = Meeting(
                group_id=group.id, scheduled_start=start, started_at=start, state=MeetingState.transcribed
            )
            session.add(meeting)
            session.flush()
            ids[name] = meeting.id
    store_minutes(
        db,
        ids["runners"],
        Minutes(
            summary="CI moves to self-hosted runners at the university.",
            decisions=["Move CI to the self-hosted runners before the release"],
            action_items=[ActionItem(owner="Bob", task="Set up the two runner machines", at=305.0)],
        ),
        _transcript(RUNNERS),
        targets=Targets(),
    )
    store_minutes(
        db,
        ids["release"],
        Minutes(
            summary="Release 2.0 on January 15.",
            decisions=["Release 2.0 on January 15 with a full changelog"],
            wishes=[Wish(title="A changelog listing every breaking change", at=125.0)],
        ),
        _transcript(RELEASE),
        targets=Targets(),
    )
    return ids


@pytest.fixture(scope="module")
def small():
    return load_llm(SMALL)


def test_a_question_one_meeting_answered_is_answered_from_it_with_citations(db, group, meetings, small):
    started = time.perf_counter()
    answer = asking.ask(db, "What did we decide about the self-hosted runners?", llm=small)
    seconds = time.perf_counter() - started
    print(f"\nask: {seconds:.1f} s, coverage {answer.coverage:.2f}, {len(answer.statements)} statement(s)")
    print(answer.render())
    assert answer.asked_model and answer.answered
    cited = answer.citations()
    assert cited and all(c.startswith("2026-11-19 17:") for c in cited)  # only the meeting that discussed it
    text = answer.render()
    for line in text.splitlines():
        if line.startswith("- "):
            assert CITE.search(line), f"an uncited line: {line}"
    for statement in answer.statements:  # what stays is supported by the passages it cites
        assert all(p.hit.meeting_id == meetings["runners"] for p in statement.sources)
    assert "runner" in text.lower()


def test_a_question_no_meeting_discussed_gets_no_answer_and_no_model_call(db, group, meetings):
    def no_model():
        raise AssertionError("the model must not be asked")

    answer = asking.ask(db, "What is our travel budget for the Lisbon conference?", llm=no_model)
    assert not answer.answered and not answer.asked_model
    assert answer.render() == asking.NOTHING and answer.coverage < asking.MIN_COVERAGE


def test_statements_the_passages_do_not_support_are_dropped(db, group, meetings):
    with db.session() as session:
        passages, _ = asking.retrieve(session, "self-hosted runners decision")
    invented = asking._Answer(
        statements=[
            asking._Statement(text="The group decided to buy a Kubernetes cluster in Lisbon.", sources=[1]),
            asking._Statement(text="CI moves to the self-hosted runners at the university.", sources=[99]),
            asking._Statement(text="Bob will set up the two runner machines by Friday.", sources=[1]),
        ]
    )
    kept = asking._validated(invented, passages)
    assert [s.text for s in kept] == [
        "CI moves to the self-hosted runners at the university.",
        "Bob will set up the two runner machines by Friday.",
    ]
    assert kept[0].sources[0].hit.meeting_id == meetings["runners"]  # the wrong number was replaced by code
    assert kept[1].cites == ("2026-11-19 17:05",)  # the moment Bob said it (305 s in), whatever the model cited


def test_bad_questions_are_refused_in_plain_words(db, group, meetings):
    with pytest.raises(asking.AskError, match="too short"):
        asking.ask(db, "?")
    with pytest.raises(asking.AskError, match="no words to look for"):
        asking.ask(db, "what did we say about it?")


def test_catchup_lists_decisions_open_items_and_wishes_of_the_last_meetings(db, group, meetings):
    with db.session() as session:
        text = asking.render_catchup(asking.catchup(session, group, 2))
        one = asking.render_catchup(asking.catchup(session, group, 1))
        with pytest.raises(asking.AskError, match="catch up on 1 to 10 meetings"):
            asking.catchup(session, group, 11)
    assert text.index("2026-11-26") < text.index("2026-11-19")
    assert "Release 2.0 on January 15" in text and "Bob: Set up the two runner machines" in text
    assert "A changelog listing every breaking change" in text
    assert "2026-11-19" not in one and len(text) <= 2000


WGBOT = [str(Path(sys.executable).with_name("wgbot"))]


def _run(*args: str, db_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WGBOT_DATABASE_URL": db_url, "COLUMNS": "200", "WGBOT_LLM_MODEL": SMALL}
    return subprocess.run([*WGBOT, *args], capture_output=True, text=True, timeout=300, env=env)


def test_the_command_line_searches_asks_and_catches_up(db, group, meetings):
    url = db.engine.url.render_as_string(hide_password=False)
    found = _run("search", '"self-hosted runners"', "--speaker", "ada", db_url=url)
    assert found.returncode == 0, found.stderr
    assert "2026-11-19 17:" in found.stdout and "transcript" in found.stdout
    nothing = _run("ask", "What is our travel budget for the Lisbon conference?", db_url=url)
    assert nothing.returncode == 1 and asking.NOTHING in nothing.stdout
    bad = _run("search", "budget", "--since", "yesterday", db_url=url)
    assert bad.returncode == 2 and "--since 'yesterday' is not a date" in bad.stderr
    caught = _run("catchup", "2", db_url=url)
    assert caught.returncode == 0 and "Release 2.0 on January 15" in caught.stdout
