"""Titles a maintainer can triage, and no template blanks in anything published (no model needed)."""

from __future__ import annotations

import pytest

from transcripts.minutes.titles import (
    UnpublishableText,
    check_publishable,
    drop_placeholder_sentences,
    placeholders,
    task_title,
)


@pytest.mark.parametrize(
    ("said", "title"),
    [
        ("Draft the hackathon challenge description myself", "Draft the hackathon challenge description"),
        ("Share the slides from your GPT2 demo", "Share the slides from the GPT2 demo"),
        ("I'll update the deployment guide by next Wednesday", "Update the deployment guide"),
        ("Jeshli, could you share the slides tomorrow?", "Share the slides"),
        ("Sam will contact the transport office before next Monday", "Contact the transport office"),
        ("let me fix my benchmark script by the end of the month", "Fix the benchmark script"),
        ("Send the invite on Monday", "Send the invite"),
        ("Review the parser", "Review the parser"),
        ("Of course, I'll email the judges tomorrow", "Email the judges"),
        ("can review it on Monday", "Review it"),  # the model left the "I" out
        ("send the talk abstract to the organizers first thing Monday", "Send the talk abstract to the organizers"),
        ("write the blog post about the results, hopefully by the 15th", "Write the blog post about the results"),
        # "leave X with me": X is what the task is about
        ("Leave the onboarding doc with me, I'll have a first draft", "Onboarding doc: have a first draft"),
        ("Leave the release notes with me, I'll finish them by Friday", "Finish the release notes"),
        ("leave the budget to me", "Take on the budget"),
        ("Leave it with me, I'll fix the parser", "Fix the parser"),
    ],
)
def test_task_titles_are_imperative_without_the_speakers_person_or_the_date(said, title):
    assert task_title(said) == title


def test_a_request_addressed_by_name_at_its_end_is_titled_without_the_address():
    people = ("Tariq", "Rosa Diaz")
    assert task_title("Could you update the packages this week, Tariq?", people) == "Update the packages"
    assert task_title("Rosa, can you check the audit log, Rosa?", people) == "Check the audit log"
    # a trailing word that names nobody of the meeting stays
    assert task_title("Could you add support for Linux, Mac?", people) == "Add support for Linux, Mac"


@pytest.mark.parametrize(
    "text",
    [
        "The DeAI working group call was held on [date].",
        "[Name] presented the roadmap.",
        "Next meeting: TBD placeholder",
        "Owner: {name}",
        "Thanks to <Your Name> for the notes",
        "See \\[insert link here\\] for details",
    ],
)
def test_template_blanks_are_found_and_refused_before_publishing(text):
    assert placeholders(text)
    with pytest.raises(UnpublishableText) as info:
        check_publishable(text, "forum post")
    assert "forum post" in str(info.value)


def test_ordinary_minutes_markdown_passes_the_check():
    text = (
        "## Action items\n\n- [ ] **Jeshli**: Share the slides — due 2026-12-04 ([0:12](transcript.md#t=12))\n"
        "- [x] done item\n\nWe agreed to publish the dataset (see https://example.org/data)."
    )
    assert placeholders(text) == []
    assert check_publishable(text) == text


def test_sentences_with_blanks_are_dropped_from_model_text():
    text = "The call was held on [date]. Pat presented the deployment guide.\n- [Name] will follow up.\n- Jo demoed X."
    assert drop_placeholder_sentences(text) == "Pat presented the deployment guide.\n- Jo demoed X."
