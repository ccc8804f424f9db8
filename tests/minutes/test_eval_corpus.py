"""The evaluation corpus holds what the issue asks of it, its truth is in its scripts, and its scoring counts right.

No model here: the corpus is data, and `bench quality` is what runs it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from transcripts.eval.corpus import MEASURE, MEETINGS, TUNE, filled_script, meetings
from transcripts.eval.score import Score, recognition, score, totals
from transcripts.minutes.cues import COMMITMENT, DECISION, INJECTION, WISH
from transcripts.minutes.dates import find_due_dates
from transcripts.minutes.words import support
from transcripts.types import ActionItem, Minutes, Segment, Transcript, Wish


def test_the_corpus_covers_the_range_the_issue_asks_for_in_both_halves():
    assert len(MEETINGS) >= 12 and len({m.name for m in MEETINGS}) == len(MEETINGS)
    for half in (TUNE, MEASURE):
        chosen = meetings(half)
        assert len(chosen) >= 6
        voices = {v for m in chosen for v in m.voices.values()}
        assert any(v.startswith("festival:") for v in voices) and any(not v.startswith("festival:") for v in voices)
        assert any(any(INJECTION.search(t[1]) for t in m.script) for m in chosen)
    assert min(len(m.speakers) for m in MEETINGS) == 2 and max(len(m.speakers) for m in MEETINGS) == 8
    assert min(m.minutes for m in MEETINGS) == 5 and max(m.minutes for m in MEETINGS) == 70
    festival = {v.split(":")[1].split("@")[0] for m in MEETINGS for v in m.voices.values() if v.startswith("festival")}
    assert festival == {"kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"}


@pytest.mark.parametrize("meeting", MEETINGS, ids=[m.name for m in MEETINGS])
def test_the_truth_is_in_the_script(meeting):
    said = " ".join(t[1] for t in meeting.script)
    for action in meeting.actions:
        assert action.owner in meeting.speakers or action.owner in said
        assert support(action.words, said) == 1.0, action
        assert action.due is None or action.due >= meeting.date
    for words in (*meeting.wishes, *meeting.decisions, *meeting.topics, *(n.words for n in meeting.nothing)):
        assert support(words, said) >= 0.99, words


@pytest.mark.parametrize("meeting", MEETINGS, ids=[m.name for m in MEETINGS])
def test_filler_talk_carries_no_item_and_never_splits_an_exchange(meeting):
    turns = filled_script(meeting)
    scripted = [(t[0], t[1]) for t in meeting.script]
    is_script, k = [], 0
    for speaker, text, _ in turns:  # the script, in order, as a subsequence of the turns
        is_script.append(k < len(scripted) and (speaker, text) == scripted[k])
        k += is_script[-1]
    assert k == len(scripted)
    for (_, text, _), own in zip(turns, is_script):
        if own:
            continue
        assert not (COMMITMENT.search(text) or WISH.search(text) or DECISION.search(text)), text
        assert not find_due_dates(text, dt.date.min), text
    for before, text, own in zip(turns, turns[1:], is_script[1:]):
        assert own or not before[1].endswith("?"), f"filler {text[1]!r} after the question {before[1]!r}"
    seconds = sum(len(t[1].split()) / 2.4 + 0.8 for t in turns)
    assert seconds >= meeting.minutes * 60


def test_scoring_counts_right_items_duplicates_and_what_must_file_nothing():
    meeting = meetings(names=["deai-slides"])[0]
    transcript = Transcript([Segment(s, 0, 1, text) for s, text, *_ in meeting.script], duration=60)
    perfect = Minutes(
        summary="**GPT2 demo**\n- Jeshli shared the GPT2 demo\n\n**Deployment guide**\n- The GPU driver section",
        action_items=[
            ActionItem(owner="Jeshli", task="Share the slides", due=dt.date(2026, 12, 4), at=0),
            ActionItem(owner="Bob", task="Write the GPU driver section", due=dt.date(2026, 12, 31), at=1),
        ],
        wishes=[Wish(title="Shared GPU dashboard for the subnet", at=2)],
        decisions=["Keep the demo on the subnet until the hackathon"],
    )
    s = score(meeting, perfect, transcript, reference_text=" ".join(t[1] for t in meeting.script))
    t = totals([s])
    assert (t["action_precision"], t["action_recall"], t["due_right"]) == (1.0, 1.0, 1.0)
    assert (t["wish_precision"], t["decision_precision"], t["topic_coverage"]) == (1.0, 1.0, 1.0)
    assert t["unsupported_points"] == 0 and t["filed_what_must_not_be"] == 0 and s.wer == 0.0

    worse = perfect.model_copy(
        update={
            "action_items": [
                *perfect.action_items,
                ActionItem(owner="Alice", task="Share the slides", due=None, at=3),  # the same commitment again
                ActionItem(owner="Carol", task="Buy a pizza for everyone", due=None, at=4),
            ],
            "summary": perfect.summary + "\n- Improving the effectiveness of decentralized systems",
        }
    )
    t = totals([score(meeting, worse, transcript, reference_text=None)])
    assert t["action_precision"] == 0.5 and t["action_recall"] == 1.0
    assert t["filed_what_must_not_be"] == 1 and t["unsupported_points"] == 1


def test_recognition_is_scored_per_speaker_against_their_own_track():
    said = [
        {"speaker": "Alice", "text": "the benchmark passed on every machine", "start": 1.0},
        {"speaker": "Bob", "text": "then we release next week", "start": 4.0},
        {"speaker": "Alice", "text": "I will write the notes", "start": 7.0},
    ]
    heard = Transcript(
        [
            Segment("Alice", 1.0, 3.0, "the benchmark passed on every machine"),
            Segment("Bob", 4.0, 6.0, "then we lease next weak"),  # two of five words wrong
            Segment("Alice", 7.0, 9.0, "I will write the notes"),
        ],
        duration=10,
    )
    s = recognition(Score("m", "measure"), heard, said)
    assert s.speaker_wer == {"Alice": 0.0, "Bob": 0.4}
    assert s.wer == 2 / 16 and s.reference_words == 16
    t = totals([s])
    assert t["speaker_wer_worst"] == 0.4 and t["speakers_over_8pct"] == 1


def test_a_meeting_is_the_same_in_every_process_so_its_audio_is_synthesized_once():
    import os
    import subprocess
    import sys

    code = "from transcripts.eval.build import meeting_key; from transcripts.eval.corpus import MEETINGS; "
    code += "print([meeting_key(m) for m in MEETINGS])"
    keys = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED=seed)
        ).stdout
        for seed in ("1", "2")
    }
    assert len(keys) == 1 and "[" in keys.pop()


def test_numbers_written_in_digits_match_the_truth_spelled_out():
    # Whisper writes "version 3 on December 15th" where the script says "version three on December fifteenth".
    meeting = meetings(names=["release-planning"])[0]
    transcript = Transcript([Segment(s, 0, 1, text) for s, text, *_ in meeting.script], duration=60)
    digits = Minutes(summary="", decisions=["We decided to ship version 3 on December 15th", "Workshop on January 8th"])
    s = score(meeting, digits, transcript, reference_text=None)
    assert (s.decisions_right, s.decisions_found) == (2, 2), s.problems
    wrong = digits.model_copy(update={"decisions": ["Ship version 4 on December 16th"]})
    assert score(meeting, wrong, transcript, reference_text=None).decisions_right == 0
