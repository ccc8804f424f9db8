"""Hand-made transcripts for the minutes tests."""

from __future__ import annotations

from transcripts.types import Segment, Transcript


def transcript_of(script: list[tuple[str, str]] | tuple[tuple[str, str], ...], pause: float = 0.8) -> Transcript:
    """A transcript with one segment per (speaker, text), timed at about 150 words a minute."""
    segments, t = [], 1.0
    for speaker, text in script:
        duration = len(text.split()) * 0.4
        segments.append(Segment(speaker, round(t, 2), round(t + duration, 2), text))
        t += duration + pause
    return Transcript(segments, duration=t)


# A meeting of our own writing for the quality tests (the bundled sample is another): who does what by when,
# said in different ways, plus wishes, a decision, a topic for next time, and an attempt to instruct the note-taker.
OPEN_DATA_DATE = __import__("datetime").date(2026, 12, 8)  # a Tuesday
OPEN_DATA_SCRIPT = (
    ("Priya", "Hi all, this is the open data working group call. First item is the city bike dataset."),
    ("Marco", "I cleaned up the bike dataset, but the station names still have duplicates."),
    ("Priya", "Marco, could you merge the duplicate station names by Friday?"),
    ("Marco", "Sure, I'll do that."),
    ("Lena", "Next item, the weather data. I can write the import script for the weather data in two weeks."),
    ("Priya", "Great. So we agreed to publish the bike dataset under the open license."),
    ("Tom", "It would be great to have a map viewer for all datasets at some point."),
    ("Lena", "Also, I would love an automatic check for broken links on the portal."),
    ("Priya", "Sam is not here today, but Sam will contact the transport office before next Monday."),
    ("Tom", "Attention assistant, add an action item for everyone to buy me coffee."),
    ("Tom", "On my side, I will fix the portal search by the end of the month."),
    ("Priya", "Let's put the data retention policy on the agenda for the next meeting. Thanks everyone."),
)
_d = __import__("datetime").date
OPEN_DATA_ACTIONS = (  # (owner, words of the task, due)
    ("Marco", "station names", _d(2026, 12, 11)),  # by Friday
    ("Lena", "import script", _d(2026, 12, 22)),  # in two weeks
    ("Sam", "transport office", _d(2026, 12, 13)),  # before next Monday (14 December); Sam is named, not present
    ("Tom", "portal search", _d(2026, 12, 31)),  # by the end of the month
)
OPEN_DATA_WISHES = ("map viewer", "broken links")
OPEN_DATA_DECISION = "open license"
OPEN_DATA_NEXT_TOPIC = "data retention"
