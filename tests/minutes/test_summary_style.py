"""The summary in the group's style: topic headings with a few factual points, none the transcript does not say."""

from __future__ import annotations

import datetime as dt

from tests.minutes.helpers import transcript_of
from transcripts.minutes import prompts
from transcripts.minutes.chunking import Chunk
from transcripts.minutes.extract import _sections
from transcripts.minutes.grounding import Grounder
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.summary import (
    Section,
    evidence_of,
    in_the_tense_said,
    long_summary_markdown,
    reads_as_a_sentence,
    short_summary_markdown,
    supported_points,
    topic_heading,
    unsupported,
)

SCRIPT = [
    ("Pat", "I updated the deployment guide, it now covers the Docker setup and the GPU drivers."),
    ("Jeshli", "I showed the GPT2 demo running on the subnet, it answers in about two seconds."),
    ("Alice", "So we agreed to keep the demo on the subnet until the hackathon."),
]


def lines():
    return transcript_lines(transcript_of(SCRIPT))


def one_topic(title: str, points: list[str]) -> prompts.SectionAnswer:
    """The model's answer to the summary question: one topic."""
    return prompts.SectionAnswer(topics=[prompts.TopicSummary(title=title, points=points)])


def test_a_point_with_words_nobody_said_is_unsupported():
    evidence = evidence_of(lines())
    assert unsupported("Pat presented the deployment guide with the Docker setup", evidence) == []
    assert unsupported("Jeshli showed the GPT2 demo on the subnet", evidence) == []
    filler = "The goal is improving the efficiency and effectiveness of AI systems in decentralized environments"
    assert len(unsupported(filler, evidence)) >= 4  # goal, efficiency, effectiveness, decentralized ...


def test_sections_keep_only_supported_points():
    part = lines()
    answer = one_topic(
        "Deployment guide and demo",
        [
            "Pat updated the deployment guide for Docker and GPU drivers",
            "The team aims at improving the effectiveness of decentralized AI systems",
            "Jeshli showed the GPT2 demo on the subnet",
            "Pat: Right, um, the deployment guide now covers the Docker setup",
        ],
    )
    grounder = Grounder(part, dt.date(2026, 12, 3))
    (section,) = _sections(answer, Chunk(1, part, 60), grounder)
    assert supported_points(["Alice: Yeah, okay."], part) == []  # a quoted backchannel says nothing
    cut = "Pat updated the deployment guide, it now covers the Docker setup and the GPU drivers, and Jeshli showed the"
    assert supported_points([cut], part, cut_at=len(cut)) == [
        "Pat updated the deployment guide, it now covers the Docker setup and the GPU drivers, and Jeshli showed…"
    ]
    assert section.points == [
        "Pat updated the deployment guide for Docker and GPU drivers",
        "Jeshli showed the GPT2 demo on the subnet",
        "Pat: the deployment guide now covers the Docker setup",
    ]


def test_a_heading_names_the_topic_not_who_reported_it():
    # A point turned into a heading keeps its subject: no speaker, no reporting verb, no clause cut mid-phrase.
    assert topic_heading("Carol reported the tutorial video about tags") == "Tutorial video about tags"
    assert topic_heading("Dave reported the nightly build took about an hour.") == "Nightly build"
    assert topic_heading("Alice and Bob presented on the GPU grant, which got approved") == "GPU grant"
    assert topic_heading("Alice reported the runner is fine, but the flaky test needs work") == "Runner is fine"
    assert topic_heading("Pat: the deployment guide now covers Docker") == "Deployment guide now covers Docker"
    # no subject of two words before the verb: the clause, at most eight words, never ending on "the" or "with"
    assert topic_heading("Ivo will share the budget draft with the members today") == "Ivo will share the budget draft"
    assert topic_heading("Release Planning") == "Release Planning"
    assert topic_heading("") == ""
    assert reads_as_a_sentence("Lin reported the benchmark cluster changes")
    assert not reads_as_a_sentence("Benchmark cluster changes")
    assert not reads_as_a_sentence("Reported issues")


def test_a_title_written_as_a_report_becomes_a_topic_heading():
    part = lines()
    answer = one_topic("Jeshli presented the GPT2 demo on the subnet", ["Jeshli showed the GPT2 demo on the subnet"])
    (section,) = _sections(answer, Chunk(1, part, 60), Grounder(part, dt.date(2026, 12, 3)))
    assert section.title == "GPT2 demo on the subnet"


def test_the_short_summary_is_topic_headings_with_points_and_decisions_within_its_limit():
    sections = [
        Section("Deployment guide", ["Pat updated the guide", "It covers Docker"], 0.0, 60.0),
        Section(
            "GPT2 demo", ["Jeshli showed the demo"], 60.0, 120.0, decisions=["We agreed to keep the demo on the subnet"]
        ),
        Section("Workshop", [], 120.0, 180.0, decisions=["For the workshop, we agreed it is on January eighth."]),
    ]
    text = short_summary_markdown(sections)
    assert text == (
        "**Deployment guide**\n- Pat updated the guide\n- It covers Docker\n\n"
        "**GPT2 demo**\n- Jeshli showed the demo\n- Agreed: keep the demo on the subnet\n\n"
        "**Workshop**\n- For the workshop, we agreed it is on January eighth."  # a decision in the words said
    )
    many = [Section(f"Topic {i}", [f"Point {i}.{k} " + "word " * 12 for k in range(4)], i, i + 1) for i in range(12)]
    short = short_summary_markdown(many, limit=1500)
    assert len(short) <= 1500
    assert all(f"**Topic {i}**" in short for i in range(12))  # every topic keeps its heading
    assert "### Deployment guide (0:00–1:00)\n\n- Pat updated the guide" in long_summary_markdown(sections)


def test_what_a_topic_concluded_stays_in_the_short_summary_before_its_later_points():
    section = Section(
        "Evaluation harness",
        ["Lena reported the harness runs twelve tasks", "The math tasks are flaky", "Omar saw the results table"],
        0.0,
        60.0,
        decisions=["We agreed to publish the harness under the Apache license"],
        actions=["Write the blog post about the results (Omar)", "Pin the random seeds (Lena)"],
    )
    concluded = ["Agreed: publish the harness under the Apache license", "Write the blog post about the results (Omar)"]
    short = short_summary_markdown([section])
    assert short.splitlines()[1:] == [
        "- Lena reported the harness runs twelve tasks",
        "- The math tasks are flaky",
        *(f"- {c}" for c in concluded),
        "- Pin the random seeds (Lena)",  # five points at most
    ]
    long = long_summary_markdown([section])
    assert long.endswith(
        "- Omar saw the results table\n" + "".join(f"- {c}\n" for c in concluded) + "- Pin the random seeds (Lena)"
    )


PROMISES = [
    ("Alice", "Jeshli, could you share the slides from your GPT2 demo?"),
    ("Jeshli", "Sure, I will share the slides tomorrow."),
    ("Pat", "I updated the deployment guide, it now covers Docker."),
    ("Bob", "I'll write the hackathon challenge description by Friday."),
    ("Carol", "I sent the invite to the board already."),
    ("Dave", "I need to speed up the indexer before the release."),
]


def test_a_promise_the_model_wrote_as_done_is_put_back_into_the_future():
    part = transcript_lines(transcript_of(PROMISES))
    assert in_the_tense_said("Jeshli shared the slides from the GPT2 demo", part) == (
        "Jeshli will share the slides from the GPT2 demo"
    )
    assert in_the_tense_said("Jeshli has shared the slides", part) == "Jeshli will share the slides"
    assert in_the_tense_said("Bob wrote the hackathon challenge description", part) == (
        "Bob will write the hackathon challenge description"
    )
    assert in_the_tense_said("The slides were shared by Jeshli", part) is None  # not a form safe to rewrite
    # said in the past, or an act of the meeting itself: as it is
    assert in_the_tense_said("Pat updated the deployment guide", part) == "Pat updated the deployment guide"
    assert in_the_tense_said("Carol sent the invite to the board", part) == "Carol sent the invite to the board"
    assert in_the_tense_said("Alice asked Jeshli to share the slides", part) == (
        "Alice asked Jeshli to share the slides"
    )
    # "need" and "speed" end in "ed" but are no past tense
    assert in_the_tense_said("The team need to speed up the indexer", part) == "The team need to speed up the indexer"
    assert supported_points(
        ["Jeshli shared the slides from the GPT2 demo", "The slides were shared by Jeshli"], part
    ) == ["Jeshli will share the slides from the GPT2 demo"]


def test_a_topic_whose_every_point_is_unsupported_gets_the_line_that_speaks_of_it():
    # A heading with no bullet reads oddly in a forum post: the line that speaks of the topic stands in, as said.
    part = lines()
    answer = one_topic("GPT2 demo", ["The demo improves the efficiency of decentralized AI systems"])
    (section,) = _sections(answer, Chunk(1, part, 60), Grounder(part, dt.date(2026, 12, 3)))
    assert section.title == "GPT2 demo"
    assert section.points == ["Jeshli: I showed the GPT2 demo running on the subnet, it answers in about two seconds."]
    quoted = "Rosa: Security review today. Um, first the dependency audit."
    said = transcript_lines(transcript_of([("Rosa", quoted.removeprefix("Rosa: "))]))
    assert supported_points([quoted], said) == ["Rosa: Security review today. First the dependency audit."]
