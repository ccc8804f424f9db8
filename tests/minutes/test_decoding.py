"""Greedy grammar-constrained decoding with prompt-lookup speculation, on a real (tiny) GGUF model."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel, Field

from transcripts.decoding import Decoder, DecodingError, _Continuations
from transcripts.llm import LLMError, Question, load_llm

TINY = "smollm2-135m-q8_0"  # plumbing
SMALL = "qwen2.5-coder-0.5b-q8_0"  # copies a list reliably: the speculation test needs an answer worth checking
SYSTEM = "You answer in JSON."
# A copying task: the answer repeats the prompt's words (in JSON's tokens: '"Bob' is not ' Bob', so fewer are kept).
NAMES = ["Alice Johnson", "Bob Smith", "Carol Williams", "Dave Brown", "Erin Davis", "Frank Miller"]
COPY = (
    "Here are the people of the working group: " + ", ".join(NAMES) + ".\n"
    'List every person exactly as written, as {"people": ["<name>", ...]}.'
)


class People(BaseModel):
    people: list[str] = Field(max_length=8)


@pytest.fixture(scope="module")
def tiny():
    return load_llm(TINY)


@pytest.fixture(scope="module")
def small():
    return load_llm(SMALL)


@pytest.fixture(scope="module")
def plain():
    return load_llm(SMALL, draft_tokens=0)


def names(answer: People | None) -> list[str] | None:
    """The names as written: whether a name starts with a space is a near-tie that CPUs' kernels break differently
    (the rounding of a batched matrix product), so it is not part of what these tests assert."""
    return None if answer is None else [name.strip() for name in answer.people]


def _answer(llm, user=COPY, max_tokens=120):
    return llm.ask(system=SYSTEM, user=user, answer_model=People, max_tokens=max_tokens, purpose="people")


def test_the_lookup_proposes_what_followed_the_latest_occurrence():
    lookup = _Continuations([1, 2, 3, 4, 5, 1, 2, 3, 9, 7])
    for token in (1, 2, 3):
        lookup.append(token)
    assert lookup.propose(3) == [9, 7, 1]  # the latest "1 2 3" was followed by 9 7, then the sequence goes on
    lookup.append(8)
    assert lookup.propose(3) == []  # "3 8" never came before
    assert _Continuations([5, 6]).propose(4) == []


def test_speculation_keeps_the_greedy_answer(small, plain):
    fast, slow = _answer(small), _answer(plain)
    # One token at a time gives the same answer, up to where two choices are closer than the rounding of a batched
    # matrix product (here: whether a name starts with a space).
    assert names(fast) == names(slow) == NAMES
    spec, one_by_one = small.stats[-1], plain.stats[-1]
    assert one_by_one.drafted_tokens == 0
    assert 0 < spec.accepted_tokens <= spec.drafted_tokens


def test_the_grammar_shortcut_chooses_what_a_full_grammar_pass_chooses(tiny, monkeypatch):
    """The favourite token is checked alone first; the whole vocabulary is filtered only when it is not allowed."""
    llm = load_llm(TINY, draft_tokens=0, n_ctx=2048)  # a model of its own: its KV cache is not shared
    user = 'Name three colors and a title, as {"people": ["<color>", ...]}.'
    shortcut = _answer(llm, user)
    decoder: Decoder = llm._decoder
    full = decoder._apply
    calls = {"single": 0, "whole": 0}

    def counting(grammar, data):
        calls["single" if len(data) == 1 else "whole"] += 1
        if len(data) == 1:  # pretend the favourite is never allowed: every step takes the full pass
            data["logit"] = -np.inf
            return
        full(grammar, data)

    monkeypatch.setattr(decoder, "_apply", counting)
    decoder.forget()
    assert _answer(llm, user) == shortcut
    assert calls["whole"] >= llm.stats[-1].completion_tokens  # the full pass really ran for every token


def test_max_tokens_cuts_the_answer_and_a_prompt_too_long_is_a_clear_error(tiny):
    decoder: Decoder = tiny._decoder
    prompt = tiny._model.tokenize(b"Count: one two three four five six seven", add_bos=False, special=False)
    done = decoder.complete(prompt, grammar_text=None, max_tokens=5)
    assert done.finish_reason == "length" and len(done.tokens) == 5
    with pytest.raises(LLMError, match="does not fit the context"):
        tiny.ask(system=SYSTEM, user="word " * 10000, answer_model=People, max_tokens=50, purpose="too long")
    with pytest.raises(DecodingError, match="empty prompt"):
        decoder.complete([], grammar_text=None, max_tokens=5)
    # The model still answers after the refusals (its cache was left consistent).
    assert _answer(tiny) is not None


# ---- answers side by side ------------------------------------------------------------------------------------------

GROUP = "Here are the people of the working group: " + ", ".join(NAMES) + ".\n"
QUESTIONS = [
    'List the first two people, as {"people": ["<name>", ...]}.',
    'List the last two people, as {"people": ["<name>", ...]}.',
    'List every person exactly as written, as {"people": ["<name>", ...]}.',
]


def _flows(questions, answers: dict):
    def flow(question):
        answers[question] = yield Question(SYSTEM, GROUP + question, People, 80, "people")

    return [flow(q) for q in questions]


def test_answers_side_by_side_share_the_prompt_start_and_match_one_by_one(small):
    one_by_one = {}
    for question in QUESTIONS:
        small._decoder.forget()  # nothing cached: each reads its whole prompt
        one_by_one[question] = small.ask(
            system=SYSTEM, user=GROUP + question, answer_model=People, max_tokens=80, purpose="people"
        )
    small._decoder.forget()
    together: dict = {}
    first = len(small.stats)
    small.ask_all(_flows(QUESTIONS, together))
    stats = small.stats[first:]
    assert names(together[QUESTIONS[2]]) == NAMES
    # a clear answer does not depend on what else is in the batch
    assert {q: names(a) for q, a in together.items()} == {q: names(a) for q, a in one_by_one.items()}
    # The common start (system prompt and the list of people) was computed once, for the first question.
    common = stats[0].prompt_tokens - 20
    assert sum(s.evaluated_tokens for s in stats) < sum(s.prompt_tokens for s in stats) - 2 * common + 10
    assert all(s.ok and s.generation_seconds > 0 for s in stats)


def test_a_flow_asks_its_follow_up_when_its_answer_is_there(small):
    asked = []

    def follow_up():
        first = yield Question(SYSTEM, GROUP + QUESTIONS[0], People, 80, "first")
        asked.append(first.people)
        second = yield Question(
            SYSTEM,
            GROUP + f'Who comes right after {first.people[-1]}? Answer as {{"people": ["<name>"]}}.',
            People,
            40,
            "second",
        )
        asked.append(second.people)

    answers: dict = {}
    small.ask_all([follow_up(), *_flows(QUESTIONS[2:], answers)])
    assert asked == [NAMES[:2], [NAMES[2]]]
    # (Whether a name starts with a space is a near-tie that the other answers in the batch can tip.)
    assert [name.strip() for name in answers[QUESTIONS[2]].people] == NAMES


def test_more_answers_than_the_cache_holds_wait_their_turn():
    """A small KV cache: the questions cannot all be answered at once, so they are admitted as room frees up."""
    llm = load_llm(TINY, n_ctx=1024)
    questions = [
        f'{GROUP}Question {i}: list the people whose name has the letter {c}, as {{"people": ["<name>", ...]}}.'
        for i, c in enumerate("aeiouyrnlst")
    ]
    decoder: Decoder = llm._decoder
    busiest = []
    step = decoder._step

    def watched(active):
        busiest.append((len(active), decoder.used_cells))
        return step(active)

    decoder._step = watched
    try:
        answers: dict = {}
        llm.ask_all(_flows(questions, answers))
    finally:
        del decoder._step
    assert len(answers) == len(questions)
    assert 1 < max(n for n, _ in busiest) < len(questions)  # side by side, but not all at once
    assert max(cells for _, cells in busiest) <= 1024
    # The same questions give the same answers again (the order of admission is fixed).
    again: dict = {}
    decoder.forget()
    llm.ask_all(_flows(questions, again))
    assert again == answers


def test_a_flow_that_fails_leaves_the_decoder_usable(tiny):
    class Boom(Exception):
        pass

    def failing():
        yield Question(SYSTEM, GROUP + QUESTIONS[0], People, 40, "first")
        raise Boom

    with pytest.raises(Boom):
        tiny.ask_all([failing(), *_flows(QUESTIONS[1:], {})])
    decoder: Decoder = tiny._decoder
    assert all(seq.request is None and seq.grammar is None for seq in decoder._seqs)
    # Every cell counted is held by some sequence, and the cache still answers.
    assert decoder.used_cells == len({cell for seq in decoder._seqs for cell in seq.cells})
    assert _answer(tiny) is not None
