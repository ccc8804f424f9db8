"""Choose the lines of a part the model reads, within a token budget.

A 10,000-word meeting cannot be read whole by a 1.5B model on two cores in two minutes, so when a part is longer
than its share of the budget, the model reads a selection, kept in meeting order:
1. lines that may hold an item (commitments, wishes, decisions, topics for next time: `cues`), with a line of context;
2. then the most informative of the remaining lines (rare content words per word spoken) for the summary.
Filler ("yeah", "sounds good") goes last. The budget is shared over the parts in proportion to their length, so the
minutes cover the whole meeting, not its beginning. Lines addressed to the note-taker are never shown.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable

from transcripts.minutes.cues import ACTION, DECISION_OR_TOPIC, STRONG, WISH, is_injection
from transcripts.minutes.dates import find_due_dates
from transcripts.minutes.lines import Line
from transcripts.minutes.words import content_words

ITEM_CUES = (ACTION, WISH, DECISION_OR_TOPIC)


def document_frequencies(lines: list[Line]) -> tuple[Counter, int]:
    df: Counter = Counter()
    for line in lines:
        df.update(set(content_words(line.text)))
    return df, len(lines)


def informativeness(line: Line, df: Counter, n_docs: int) -> float:
    distinct = set(content_words(line.text))
    if len(distinct) < 3:
        return 0.0
    weight = sum(math.log((1 + n_docs) / (1 + df[w])) + 1.0 for w in distinct)
    return weight / math.sqrt(len(line.text.split()))


def priorities(lines: list[Line], df: Counter, n_docs: int) -> list[float]:
    """Higher first: clear item lines (4+: "I will", "can you", a due date, "would be nice", "we decided"), other
    possible item lines (3+), their neighbours (2+), then every other line by informativeness (0-1)."""
    info = [informativeness(line, df, n_docs) for line in lines]
    top = max(info) or 1.0
    out = [i / top for i in info]
    for i, line in enumerate(lines):
        strong = bool(STRONG.search(line.text)) or bool(find_due_dates(line.text, dt.date.min))
        if strong or any(p.search(line.text) for p in ITEM_CUES):
            out[i] = max(out[i], (4.0 if strong else 3.0) + info[i] / top)
            for j in (i - 1, i + 1):
                if 0 <= j < len(lines):
                    out[j] = max(out[j], 2.0 + info[j] / top)
    return [0.0 if is_injection(line) else p for line, p in zip(lines, out)]


def select_lines(
    lines: list[Line], budget: int, count_tokens: Callable[[str], int], df: Counter | None = None, n_docs: int = 0
) -> list[Line]:
    """The lines to show within `budget` tokens, in meeting order (all but withheld ones when they fit)."""
    shown = [line for line in lines if not is_injection(line)]
    costs = {line.number: count_tokens(line.render()) + 1 for line in shown}
    if sum(costs.values()) <= budget:
        return shown
    if df is None:
        df, n_docs = document_frequencies(lines)
    ranked = sorted(zip(priorities(lines, df, n_docs), range(len(lines))), key=lambda p: (-p[0], p[1]))
    chosen: set[int] = set()
    used = 0
    for priority, i in ranked:
        if priority <= 0:
            break
        cost = costs[lines[i].number]
        if used + cost > budget:
            continue
        chosen.add(i)
        used += cost
    return [lines[i] for i in sorted(chosen)]
