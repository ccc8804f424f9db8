"""Split a long meeting into parts that each fit the model's context, cutting where the topic changes.

Parts are filled up to a token budget; the cut is placed in the last stretch of the part, at the line boundary that
looks most like a change of topic: a long pause, little shared vocabulary between the lines before and after, or an
explicit "next topic" / "moving on". Every line belongs to exactly one part, in order, so whatever is extracted per
part covers the whole meeting.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from transcripts.minutes.lines import Line
from transcripts.minutes.words import content_words

_TOPIC_CUE = re.compile(
    r"\b(next (topic|item|point|thing on the agenda)|moving on|move on to|let'?s (talk|turn|switch) (about|to)|"
    r"on to the next|the next item|switching gears|another topic|last (topic|item))\b",
    re.IGNORECASE,
)
WINDOW = 6  # lines on each side compared for vocabulary shift
SEARCH_FROM = 0.6  # the cut is searched in the last 40% of a full part


@dataclass(slots=True)
class Chunk:
    number: int  # 1-based
    lines: list[Line]
    tokens: int

    @property
    def start(self) -> float:
        return self.lines[0].start

    @property
    def end(self) -> float:
        return self.lines[-1].end


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(a[w] * b[w] for w in a.keys() & b.keys())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def boundary_scores(lines: list[Line]) -> list[float]:
    """scores[i]: how much the boundary *before* line i looks like a change of topic (0 for i = 0)."""
    bags = [Counter(content_words(line.text)) for line in lines]
    scores = [0.0] * len(lines)
    for i in range(1, len(lines)):
        before = sum((bags[j] for j in range(max(0, i - WINDOW), i)), Counter())
        after = sum((bags[j] for j in range(i, min(len(lines), i + WINDOW))), Counter())
        pause = max(0.0, lines[i].start - lines[i - 1].end)
        score = (1.0 - _cosine(before, after)) + 0.5 * min(pause, 10.0) / 10.0
        if _TOPIC_CUE.search(lines[i].text):
            score += 1.0
        scores[i] = score
    return scores


def chunk_lines(
    lines: list[Line], count_tokens: Callable[[str], int], max_tokens: int, *, complete: bool = True
) -> list[Chunk]:
    """Consecutive parts of at most `max_tokens` tokens (a single longer line becomes its own part).

    A part depends only on its own lines and the few after it, never on the meeting's length. So with
    `complete=False` (a transcript still growing, during the call) only the parts that more lines can no longer
    change are returned: those that are full and have all the lines their cut was judged on.
    """
    if not lines:
        return []
    costs = [count_tokens(line.render()) + 1 for line in lines]
    if sum(costs) <= max_tokens:
        return [Chunk(1, list(lines), sum(costs))] if complete else []
    scores = boundary_scores(lines)
    chunks: list[Chunk] = []
    first = 0
    while first < len(lines):
        total, last = 0, first
        while last < len(lines) and (total + costs[last] <= max_tokens or last == first):
            total += costs[last]
            last += 1
        if not complete and last + WINDOW >= len(lines):
            break  # the part is not full yet, or its cut would be judged on lines still to come
        if last < len(lines):  # the part is full: cut at the best-looking topic boundary in its last stretch
            lowest = first + max(1, int((last - first) * SEARCH_FROM))
            candidates = range(lowest, last + 1) if lowest <= last else range(last, last + 1)
            cut = max(candidates, key=lambda i: (scores[i] if i < len(lines) else 0.0, i))
            last = max(cut, first + 1)
        part = lines[first:last]
        chunks.append(Chunk(len(chunks) + 1, part, sum(costs[first:last])))
        first = last
    return chunks
