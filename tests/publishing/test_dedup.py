"""Wish de-duplication's word forms: what counts as the same word when two wishes are compared."""

from __future__ import annotations

import pytest

from tracker.publishing.dedup import THRESHOLD, best_match, similarity, tokens


@pytest.mark.parametrize(
    ("title", "words"),
    [
        ("Dashboards for libraries", ["dashboard", "library"]),  # plural -s and -ies
        ("Class progress notes", ["class", "progress", "note"]),  # -ss is not a plural
        ("Bus or gas", ["bus", "gas"]),  # three letters: kept as said
        ("Add support for it", ["add", "support", "for", "it"]),  # only filler: compared as said, not as nothing
        ("Flies and ties", ["fly", "tie"]),  # -ies → -y from five letters; "ties" only loses its -s
        ("PDF export, please!", ["pdf", "export"]),
    ],
)
def test_titles_reduce_to_their_meaningful_words(title, words):
    assert tokens(title) == words


def test_the_same_wish_in_other_words_matches_and_a_different_one_does_not():
    assert similarity("Export minutes as PDFs", "PDF export of the minutes") >= THRESHOLD
    assert similarity("Export minutes as PDFs", "Export the transcript as SRT") < THRESHOLD
    assert similarity("", "Dark mode") == 0.0
    # A misspelt word (a typo, or Whisper's spelling) still matches by its characters, not by the word sets.
    assert similarity("Nightly benchmark dashbord", "Nightly benchmark dashboard") >= THRESHOLD


def test_best_match_prefers_the_closest_of_several_close_titles():
    class Wish:
        def __init__(self, title):
            self.title = title

    closest, close = Wish("Dark mode for the dashboard"), Wish("Dark mode for the dashboard and the forum")
    assert best_match("Add dark mode to the dashboard", [close, closest]) is closest
    assert best_match("Add dark mode to the dashboard", [close, closest], threshold=1.01) is None
    assert best_match("Dark mode for the dashboard", [closest], threshold=1.0) is closest  # the threshold counts
