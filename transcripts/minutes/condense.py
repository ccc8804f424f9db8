"""Pick the lines of a part that carry the most content, to fit a summary prompt into a token budget.

A 10,000-word meeting cannot be read whole by a 1.5B model on two cores in two minutes, so each part's summary is
written from its most informative lines (rare content words, decisions, commitments), kept in their original order.
Filler ("yeah", "sounds good") goes first; the budget is split over the parts in proportion to their length, so the
summary covers the whole meeting, not its beginning.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from transcripts.minutes.cues import ACTION, DECISION, WISH, is_injection
from transcripts.minutes.lines import Line
from transcripts.minutes.words import content_words


def document_frequencies(lines: list[Line]) -> tuple[Counter, int]:
    df: Counter = Counter()
    for line in lines:
        df.update(set(content_words(line.text)))
    return df, len(lines)


def line_scores(lines: list[Line], df: Counter, n_docs: int) -> list[float]:
    scores = []
    for line in lines:
        distinct = set(content_words(line.text))
        if len(distinct) < 3 or is_injection(line):
            scores.append(0.0)
            continue
        weight = sum(math.log((1 + n_docs) / (1 + df[w])) + 1.0 for w in distinct)
        score = weight / math.sqrt(len(line.text.split()))
        if DECISION.search(line.text):
            score *= 1.5
        if ACTION.search(line.text) or WISH.search(line.text):
            score *= 1.2
        scores.append(score)
    return scores


def condense(
    lines: list[Line], budget: int, count_tokens: Callable[[str], int], df: Counter | None = None, n_docs: int = 0
) -> list[Line]:
    """The most informative lines within `budget` tokens, in meeting order (all of them when they fit)."""
    costs = [count_tokens(line.quote) + 1 for line in lines]
    if sum(costs) <= budget:
        return [line for line in lines if not is_injection(line)]
    if df is None:
        df, n_docs = document_frequencies(lines)
    scores = line_scores(lines, df, n_docs)
    chosen: set[int] = set()
    used = 0
    for i in sorted(range(len(lines)), key=lambda i: (-scores[i], i)):
        if scores[i] <= 0:
            break
        if used + costs[i] > budget:
            continue
        chosen.add(i)
        used += costs[i]
    return [lines[i] for i in sorted(chosen)]
