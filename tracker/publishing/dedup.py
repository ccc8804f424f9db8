"""Does a new wish say the same as an open wish-list issue? Normalized title similarity.

Titles are lower-cased, stripped of punctuation, filler words ("add", "support for", "it would be nice to") and
plural endings, then compared two ways: token overlap (Dice) and the character similarity of the sorted tokens. The
larger of the two must reach `THRESHOLD`; the test cases in tests/publishing/test_texts.py show where it lands.
"""

from __future__ import annotations

import re
from typing import TypeVar

from rapidfuzz.distance import Indel

THRESHOLD = 0.8

_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "and",
        "or",
        "by",
        "from",
        "at",
        "as",
        "is",
        "are",
        "be",
        "being",
        "been",
        "it",
        "its",
        "this",
        "that",
        "we",
        "us",
        "our",
        "you",
        "i",
        "please",
        "would",
        "could",
        "should",
        "will",
        "can",
        "need",
        "needs",
        "want",
        "wants",
        "wish",
        "wishlist",
        "like",
        "nice",
        "have",
        "has",
        "able",
        "make",
        "add",
        "adding",
        "added",
        "support",
        "supporting",
        "allow",
        "allowing",
        "let",
        "lets",
        "get",
        "some",
        "any",
        "more",
        "better",
        "new",
        "feature",
        "request",
    ]
)

T = TypeVar("T")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokens(title: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", title.lower())
    kept = [_stem(w) for w in words if w not in _FILLER]
    return kept or [_stem(w) for w in words]  # a title of only filler words still compares with itself


def similarity(a: str, b: str) -> float:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    sa, sb = set(ta), set(tb)
    dice = 2 * len(sa & sb) / (len(sa) + len(sb))
    chars = Indel.normalized_similarity(" ".join(sorted(sa)), " ".join(sorted(sb)))
    return max(dice, chars)


def best_match(title: str, candidates: list[T], key=lambda c: c.title, threshold: float = THRESHOLD) -> T | None:
    """The candidate most similar to `title`, if it is similar enough."""
    scored = [(similarity(title, key(c)), i) for i, c in enumerate(candidates)]
    scored = [s for s in scored if s[0] >= threshold]
    if not scored:
        return None
    return candidates[max(scored)[1]]
