"""Dialogue structure in code: who took a task on and when it is due, from the turns (no model needed).

Each test is one of the failure patterns seen on scripted meetings: the owner or date of a request answered by another
speaker, a self-corrected date, a neighbouring line's date, one commitment filed twice, an action taken for a wish.
"""

from __future__ import annotations

import datetime as dt

from tests.minutes.helpers import transcript_of
from transcripts.minutes.extract import _dedupe_actions
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import transcript_lines

MEETING = dt.date(2026, 12, 3)  # a Thursday
NEXT = dt.date(2026, 12, 10)
MONDAY = dt.date(2026, 12, 7)


def grounder(script) -> Grounder:
    return Grounder(transcript_lines(transcript_of(script)), MEETING, NEXT)


def test_a_request_answered_by_another_speaker_is_the_one_who_accepts_with_the_answers_date():
    g = grounder(
        [
            ("Alice", "Jeshli, could you share the slides from your GPT2 demo?"),
            ("Jeshli", "Sure, I will share the slides tomorrow."),
        ]
    )
    for model_owner, cited in (("Alice", 1), ("Jeshli", 2), ("Alice", 2)):
        item = g.action(model_owner, "share the slides from the GPT2 demo", cited=cited)
        assert item.owner == "Jeshli"
        assert item.due == dt.date(2026, 12, 4)  # "tomorrow", said in the answer
        assert item.at == g.lines[0].start  # one exchange: anchored at the request


def test_the_requests_date_holds_when_the_answer_names_none_and_an_unnamed_request_goes_to_who_accepts():
    g = grounder(
        [
            ("Priya", "Can someone update the contributor guide by next Wednesday?"),
            ("Tom", "Mm-hmm."),
            ("Lena", "Yes, I can take that."),
        ]
    )
    item = g.action("Priya", "update the contributor guide")
    assert (item.owner, item.due) == ("Lena", dt.date(2026, 12, 9))


def test_a_later_date_in_the_same_turn_after_a_correction_replaces_the_earlier_one():
    g = grounder(
        [
            ("Alice", "Bob, can you write the migration guide?"),
            ("Bob", "I can do that by Friday. Actually no, Friday is too tight, let's say by the end of the month."),
        ]
    )
    item = g.action("Bob", "write the migration guide")
    assert (item.owner, item.due) == ("Bob", dt.date(2026, 12, 31))


def test_a_date_in_the_owners_next_turn_corrects_the_promise():
    g = grounder(
        [
            ("Carol", "I will draft the hackathon challenge description by Monday."),
            ("Dave", "Okay."),
            ("Carol", "Sorry, make that Wednesday, I am travelling."),
        ]
    )
    item = g.action("Carol", "draft the hackathon challenge description")
    assert item.due == dt.date(2026, 12, 9)


def test_a_new_promise_or_a_report_in_the_next_turn_keeps_its_own_date():
    g = grounder(
        [
            ("Carol", "I will fix the nightly build by Monday."),
            ("Carol", "And I will write the release blog post next week."),
        ]
    )
    assert g.action("Carol", "fix the nightly build").due == dt.date(2026, 12, 7)
    g = grounder(
        [
            ("Carol", "I will fix the nightly build by Monday."),
            ("Dave", "Thanks."),
            ("Carol", "The release itself is on Wednesday."),
        ]
    )
    assert g.action("Carol", "fix the nightly build").due == dt.date(2026, 12, 7)


def test_dates_come_only_from_the_committing_and_accepting_lines():
    g = grounder(
        [
            ("Alice", "So we decided the workshop is on January eighth."),
            ("Bob", "I will send the invite on Monday."),
            ("Alice", "Great, and the venue is booked until December twentieth."),
        ]
    )
    item = g.action("Bob", "send the invite")
    assert item.due == dt.date(2026, 12, 7)
    g = grounder(
        [
            ("Alice", "So we decided the workshop is on January eighth."),
            ("Bob", "I will send the invite to the mailing list."),
        ]
    )
    assert g.action("Bob", "send the invite").due is None


def test_another_task_in_the_answer_does_not_lend_its_date():
    g = grounder(
        [
            ("Alice", "Carol, can you review the parser changes?"),
            ("Carol", "Yes, and I will also open an issue for the tokenizer today."),
        ]
    )
    item = g.action("Carol", "review the parser changes")
    assert (item.owner, item.due) == ("Carol", None)
    assert g.action("Carol", "open an issue for the tokenizer").due == MEETING


def test_a_declined_request_files_nothing():
    g = grounder(
        [
            ("Alice", "Bob, could you take over the Docker image?"),
            ("Bob", "Sorry, I can't this month, I'm moving house."),
        ]
    )
    assert g.action("Bob", "take over the Docker image") is None
    assert any("declined" in reason for reason in g.dropped)


def test_a_refusal_that_starts_with_i_cant_is_a_refusal_not_a_promise():
    # "I can't" holds the words "I can": read as an acceptance, it made the refuser the owner
    for refusal in ("I can't, I'm traveling a lot.", "I cannot do it before January.", "I will not have the time."):
        g = grounder([("Alice", "Marco, could you run the community survey?"), ("Marco", refusal)])
        assert g.action("Marco", "run the community survey") is None, refusal
        assert any("declined" in reason for reason in g.dropped)
        # the refusal on its own line, as a line check may name it, is no task either
        assert g.action("Marco", refusal.rstrip("."), cited=2) is None
    g = grounder(
        [
            ("Alice", "Marco, could you run the community survey?"),
            ("Marco", "I can't do it this week, but I can run it next Tuesday."),
        ]
    )
    item = g.action("Marco", "run the community survey")
    assert (item.owner, item.due) == ("Marco", dt.date(2026, 12, 8))  # the date offered, not the one turned down
    g = grounder(
        [
            ("Nora", "Omar, could you write the migration notes by Friday?"),
            ("Omar", "Sorry, I can only have them ready on Tuesday."),
        ]
    )
    item = g.action("Omar", "write the migration notes")
    assert (item.owner, item.due) == ("Omar", dt.date(2026, 12, 8))


def test_a_request_declined_and_taken_on_by_someone_else_belongs_to_the_volunteer():
    g = grounder(
        [
            ("Omar", "Kai, could you review my pull request for the tokenizer fix?"),
            ("Kai", "Sorry, I'm swamped this week."),
            ("Lena", "Okay, I can review it on Monday."),
        ]
    )
    for model_owner, task, cited in (
        ("Kai", "review my pull request for the tokenizer fix", 1),
        ("Lena", "can review it", 3),
    ):
        item = g.action(model_owner, task, cited=cited)
        assert (item.owner, item.task, item.due) == ("Lena", "Review the pull request for the tokenizer fix", MONDAY)
        assert item.at == g.lines[0].start
    # nobody takes it on: declined
    g = grounder([("Omar", "Kai, could you review my pull request?"), ("Kai", "Sorry, I'm swamped this week.")])
    assert g.action("Kai", "review the pull request") is None


def test_a_new_date_after_an_interjection_corrects_the_promise():
    g = grounder(
        [
            ("Omar", "I'm going to write the blog post about the evaluation results, hopefully by the 15th."),
            ("Kai", "Actually, wait, the results aren't final until the 18th."),
            ("Omar", "Right, then the 21st for the blog post."),
        ]
    )
    item = g.action("Omar", "write the blog post about the evaluation results", cited=1)
    assert (item.task, item.due) == ("Write the blog post about the evaluation results", dt.date(2026, 12, 21))


def test_a_question_by_name_answered_yes_is_a_request_whatever_its_words():
    # "do you have time to" is in no list of request words; "what do you mind" is how Whisper heard "would you mind"
    for asked in (
        "Tom, do you have time to write to the foundation?",
        "Tom, what do you mind writing to the foundation?",
    ):
        g = grounder([("Nadia", asked), ("Tom", "No problem, I'll get that out by Wednesday.")])
        for cited in (1, 2):
            item = g.action("Nadia", "write to the foundation", cited=cited)
            assert (item.owner, item.due, item.at) == ("Tom", dt.date(2026, 12, 9), g.lines[0].start), asked
    # a question that asks nobody by name is no request
    g = grounder([("Nadia", "Did anyone write to the foundation?"), ("Tom", "Sure, I'll get that out by Wednesday.")])
    assert g.action("Nadia", "write to the foundation", cited=1) is None


def test_an_item_reported_done_is_not_an_action():
    g = grounder(
        [
            ("Alice", "Did the benchmark numbers go out?"),
            ("Bob", "Yes, I already sent the benchmark numbers to the list yesterday."),
        ]
    )
    assert g.action("Bob", "send the benchmark numbers to the list") is None


def test_one_commitment_found_on_the_request_and_on_the_answer_is_one_item():
    g = grounder(
        [
            ("Alice", "Jeshli, could you share the slides tomorrow?"),
            ("Jeshli", "Sure, I'll share the slides."),
            ("Bob", "By the way the CI is green again."),
            ("Alice", "So to recap, Jeshli will share the slides tomorrow."),
        ]
    )
    found = [
        g.action("Alice", "Share the slides", cited=1),
        g.action("Jeshli", "I'll share the slides", cited=2),
        g.action("Jeshli", "share the slides tomorrow", cited=4),
    ]
    items = _dedupe_actions([f for f in found if f], g.similarity)
    assert len(items) == 1 and items[0].owner == "Jeshli" and items[0].due == dt.date(2026, 12, 4)


def test_an_action_is_not_a_wish():
    g = grounder(
        [
            ("Sam", "It would be great to have GPU credits for the subnet."),
            ("Pat", "I'll ask about the GPU subnet timeline before our next call."),
        ]
    )
    assert g.wish("Ask about the GPU subnet timeline", cited=2) is None
    wish = g.wish("GPU credits for the subnet", cited=1)
    assert wish.title == "GPU credits for the subnet"


def test_a_wish_body_is_the_wishers_sentence_not_a_reply():
    g = grounder(
        [
            ("Lena", "Maybe a map viewer for all the datasets some day."),
            ("Tom", "That would be great, thank you."),
        ]
    )
    wish = g.wish("Map viewer for all the datasets")
    assert wish is not None
    assert "map viewer" in wish.details.lower() and "thank" not in wish.details.lower()


def test_a_proposal_turned_down_is_not_a_decision():
    g = grounder(
        [
            ("Alice", "Should we move the call to Benchmarking? Sounds good to me."),
            ("Bob", "No, let's not, the benchmarking people meet on Fridays."),
        ]
    )
    assert g.decision("Move the call to Benchmarking") is None


def test_an_answer_without_task_words_takes_the_task_of_the_request():
    g = grounder(
        [
            ("Ana", "Ben, can you clean up the old artifacts on the build server?"),
            ("Ben", "Yes, I'll do it in three days."),
        ]
    )
    item = g.action("Ben", "do it in three days", cited=2)
    assert item.task == "Clean up the old artifacts on the build server"
    assert (item.owner, item.due) == ("Ben", dt.date(2026, 12, 6))


def test_the_same_task_said_again_shorter_or_longer_is_one_item():
    g = grounder(
        [
            ("Jeshli", "I will share the slides from the GPT2 demo tomorrow."),
            ("Bob", "The CI is green again, by the way."),
            ("Jeshli", "And yes, I'll share the slides, promise."),
            ("Jeshli", "I will also share the benchmark notebook."),
        ]
    )
    found = [
        g.action("Jeshli", "share the slides from the GPT2 demo", cited=1),
        g.action("Jeshli", "share the slides", cited=3),
        g.action("Jeshli", "share the benchmark notebook", cited=4),
    ]
    items = _dedupe_actions([f for f in found if f], g.similarity)
    assert [i.task for i in items] == ["Share the slides from the GPT2 demo", "Share the benchmark notebook"]
    assert items[0].due == dt.date(2026, 12, 4)


def test_a_wish_said_outright_is_found_by_code_and_a_proposal_is_not_a_wish():
    g = grounder(
        [
            ("Rosa", "It would be great to have automatic dependency updates."),
            ("Jun", "Maybe we should lower the student fee."),
            ("Zoe", "Um, I'd love a dark mode for the forum."),
            ("Tom", "That would be great, thank you."),
        ]
    )
    assert g.plain_wish(1).title == "Automatic dependency updates"
    assert g.plain_wish(2) is None
    assert g.plain_wish(3).title == "Dark mode for the forum"
    assert g.plain_wish(4) is None


def test_a_vague_answer_is_titled_by_the_request():
    g = grounder(
        [
            ("Kim", "Lee, would you contact the judges from last year?"),
            ("Lee", "Of course, I'll email them tomorrow."),
        ]
    )
    item = g.action("Lee", "email them tomorrow", cited=2)
    assert (item.task, item.owner, item.due) == ("Contact the judges from last year", "Lee", dt.date(2026, 12, 4))


def test_the_accepters_later_date_replaces_the_requesters_and_the_correction_alone_is_the_same_item():
    g = grounder(
        [
            ("Nora", "Omar, could you write the migration notes by Friday?"),
            ("Omar", "Sure."),
            ("Nora", "Great, thanks."),
            ("Omar", "Actually, Tuesday works better for me, I can have them ready on Tuesday."),
        ]
    )
    # Found on the request, or on the correction alone (the model's task then has no words of its own).
    found = [g.action("Omar", "write the migration notes", cited=1), g.action("Omar", "have them ready", cited=4)]
    assert [(f.task, f.due, f.at) for f in found] == [("Write the migration notes", dt.date(2026, 12, 8), 1.0)] * 2
    assert len(_dedupe_actions(found, g.similarity)) == 1

    g = grounder(
        [
            ("Carol", "I will draft the hackathon challenge description by Monday."),
            ("Dave", "Okay."),
            ("Carol", "Sorry, I'll have it ready Wednesday instead."),
        ]
    )
    item = g.action("Carol", "have it ready Wednesday", cited=3)
    assert (item.task, item.due) == ("Draft the hackathon challenge description", dt.date(2026, 12, 9))


def test_a_new_promise_after_a_correction_word_is_its_own_item_with_its_own_date():
    g = grounder(
        [
            ("Nora", "Omar, could you write the migration notes by Friday?"),
            ("Omar", "Sure."),
            ("Nora", "Great, thanks."),
            ("Omar", "Actually, I'll also write the release blog post on Tuesday."),
        ]
    )
    notes, post = (
        g.action("Omar", "write the migration notes", cited=1),
        g.action("Omar", "write the release blog post"),
    )
    assert (notes.due, post.due) == (dt.date(2026, 12, 4), dt.date(2026, 12, 8))
    assert len(_dedupe_actions([notes, post], g.similarity)) == 2
