"""Word-level helpers for matching a model's paraphrase against what was actually said (with ASR errors)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

from rapidfuzz.distance import Indel

from transcripts.wer import ordinal_words

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "get",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "i'd",
        "i'll",
        "i'm",
        "i've",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "itself",
        "just",
        "let",
        "let's",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "that's",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "we'll",
        "we're",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "you'll",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "okay",
        "ok",
        "yeah",
        "yes",
        "sure",
        "right",
        "well",
        "um",
        "uh",
        "hmm",
        "oh",
        "like",
        "really",
        "actually",
        "maybe",
        "thing",
        "things",
        "something",
        "anything",
        "everything",
        "one",
        "go",
        "going",
        "gonna",
        "want",
        "wanna",
        "need",
        "take",
        "make",
        "please",
        "thanks",
        "thank",
        "think",
        "know",
        "see",
        "also",
        "still",
        "already",
        "next",
        "last",
        "week",
        "today",
        "tomorrow",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "time",
    ]
)

_SUFFIXES = ("ations", "ation", "ingly", "ings", "ing", "edly", "ed", "ies", "es", "s", "ly", "er", "ment")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


# Whisper writes "January 8th" for "January eighth" and a model writes either: one word for both.
_ORDINAL_DIGITS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude stem, enough to let "updating" meet "update" and "benchmarks" meet "benchmark" (and "eighth" "8th")."""
    word = word.split("'")[0]
    if ordinal := _ORDINAL_DIGITS.fullmatch(word):
        word = ordinal_words(int(ordinal[1]))  # and on through the same stemming as the word said
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word.rstrip("e") if len(word) > 3 else word


def content_words(text: str) -> list[str]:
    """The words that carry meaning (no stop words, no filler), stemmed, in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


@lru_cache(maxsize=1 << 16)  # the same word pairs come back for every question about a meeting
def _similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4 or abs(len(a) - len(b)) > 3:
        return False
    if a[:3] == b[:3] and (a.startswith(b) or b.startswith(a)):
        return True  # "doc" / "documentation", "bench" / "benchmark"
    # ASR spellings: "jeshli" / "jesley", "kernel" / "kernal" (the share of characters in common, 2·LCS / total).
    return Indel.normalized_similarity(a, b) >= 0.8


similar_word = _similar  # public name: whether two words are the same word, ASR spellings allowed


def support(claim: str, evidence: str, weights: Mapping[str, float] | None = None) -> float:
    """Share of the claim's content words that appear (fuzzily) in the evidence: 0.0 to 1.0.

    With `weights` (e.g. inverse document frequencies over the meeting), a word counts by its weight, so the words
    that tell one task from another ("flights", "visa") matter more than the ones every task has ("write", "check").
    """
    wanted = list(dict.fromkeys(content_words(claim)))
    if not wanted:
        return 0.0
    have = set(content_words(evidence))
    if not have:
        return 0.0
    max_weight = max(weights.values(), default=1.0) if weights else 1.0
    weight = (lambda w: weights.get(w, max_weight)) if weights else (lambda w: 1.0)
    found = sum(weight(w) for w in wanted if w in have or any(_similar(w, h) for h in have))
    return found / sum(weight(w) for w in wanted)


def idf_weights(texts: list[str]) -> dict[str, float]:
    """Inverse document frequency of each content word over `texts` (one text per line of the meeting)."""
    df: dict[str, int] = {}
    for text in texts:
        for w in set(content_words(text)):
            df[w] = df.get(w, 0) + 1
    return {w: math.log((1 + len(texts)) / (1 + n)) + 1.0 for w, n in df.items()}


def similarity(a: str, b: str) -> float:
    """Symmetric overlap of two short texts (for de-duplicating items)."""
    return min(support(a, b), support(b, a)) if a and b else 0.0


def name_matches(name: str, candidate: str) -> bool:
    """Whether a name the model wrote ("carol", "Carol S.") refers to `candidate` ("Carol Smith")."""
    a = [w for w in words(name) if len(w) > 1]
    b = [w for w in words(candidate) if len(w) > 1]
    if not a or not b:
        return False
    if a == b or a[0] == b[0]:
        return True
    return _similar(a[0], b[0]) and len(a[0]) >= 4
