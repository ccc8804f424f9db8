"""A long synthetic meeting transcript, with known items, for tests and benchmarks of the minutes.

`long_meeting(words)` writes a meeting of about `words` words: five speakers go through topics one after another
(each topic with its own vocabulary, so a summary of a part can be checked for its topic), with the chatter of a
real call ("yeah", "I think we should...", questions) and, spread evenly over the whole length, planted action items
(with due dates said in different ways) and wishes. Deterministic for a given `words` and `seed`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from transcripts.types import Segment, Transcript

SPEAKERS = ("Alice", "Bob", "Carol", "Dave", "Erin")
MEETING_DATE = dt.date(2026, 11, 26)  # a Thursday

TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database migration", ("schema", "postgres", "migration", "rollback", "index", "downtime", "replica")),
    ("logo design", ("logo", "colors", "font", "designer", "mockups", "palette", "branding")),
    ("conference travel", ("conference", "visa", "flights", "hotel", "talk", "slides", "budget")),
    ("test coverage", ("coverage", "flaky", "fixtures", "integration", "runner", "timeout", "mocks")),
    ("documentation site", ("docs", "tutorial", "search", "navigation", "examples", "reference", "theme")),
    ("release process", ("release", "changelog", "tag", "version", "packaging", "wheels", "signing")),
    ("community forum", ("forum", "moderation", "spam", "categories", "newcomers", "answers", "tags")),
    ("performance regression", ("latency", "profiling", "regression", "allocations", "cache", "flamegraph")),
    ("security audit", ("audit", "vulnerability", "dependencies", "tokens", "permissions", "disclosure", "patch")),
    ("mentoring program", ("mentors", "interns", "onboarding", "projects", "schedule", "applications", "stipend")),
    ("data retention", ("retention", "privacy", "deletion", "backups", "policy", "archive", "consent")),
    ("accessibility review", ("accessibility", "contrast", "keyboard", "screen", "readers", "labels", "audit")),
)  # fmt: skip

DUE_PHRASES: tuple[tuple[str, dt.date], ...] = (
    ("by next Wednesday", dt.date(2026, 12, 2)),
    ("tomorrow", dt.date(2026, 11, 27)),
    ("before next Thursday", dt.date(2026, 12, 2)),
    ("by the next meeting", dt.date(2026, 12, 3)),
    ("by Friday", dt.date(2026, 11, 27)),
    ("on Monday", dt.date(2026, 11, 30)),
    ("by the end of the month", dt.date(2026, 11, 30)),
    ("in two weeks", dt.date(2026, 12, 10)),
)

_TASKS = (
    "write a short report on the {a} and the {b}",
    "send the {a} numbers to the mailing list",
    "draft a proposal for the {a}",
    "set up a call with the {a} people about the {b}",
    "update the wiki page on the {a}",
    "collect feedback on the {a} from the {b} team",
)
_WISHES = (
    "{a} dashboard for the {topic}",
    "automatic {a} check for the {topic}",
    "tutorial video about the {a}",
)
_CHATTER = (
    "Yeah, that makes sense to me.",
    "Okay, sounds good.",
    "Right, I agree with that.",
    "Hmm, I am not sure about that part.",
    "Can you say that again? You cut out for a second.",
    "Sorry, I was muted.",
)
_STATEMENTS = (
    "I looked at the {a} last week and the {b} is still the main problem for us.",
    "The {a} depends a lot on the {b}, so we should look at both together.",
    "We talked about the {a} before, and I think the {b} changed since then.",
    "My concern with the {a} is that nobody owns the {b} right now.",
    "If we change the {a} we also have to check the {b} and the {c}.",
    "I think the {a} is fine, but the {b} needs more work before we can say it is done.",
    "There was a question on the mailing list about the {a} and the {b}.",
    "The numbers for the {a} look better than last month, mostly because of the {b}.",
    "Do we know who decided on the {a}? The {b} was never really discussed.",
    "Nobody ever wrote down how the {a} and the {c} fit together.",
)


@dataclass(slots=True)
class PlantedAction:
    owner: str
    task: str  # words that identify the task
    due: dt.date
    at: float


@dataclass(slots=True)
class PlantedWish:
    title: str
    at: float


@dataclass(slots=True)
class LongMeeting:
    transcript: Transcript
    actions: list[PlantedAction] = field(default_factory=list)
    wishes: list[PlantedWish] = field(default_factory=list)
    topics: list[tuple[str, float, float]] = field(default_factory=list)  # (topic, start, end)
    words: int = 0


def long_meeting(words: int, *, seed: int = 7, items_every: int = 600, topic_words: int | None = None) -> LongMeeting:
    """A meeting transcript of about `words` words with an action item or wish about every `items_every` words."""
    rng = random.Random(seed)
    n_topics = max(1, min(len(TOPICS), round(words / (topic_words or 850))))
    per_topic = words / n_topics
    segments: list[Segment] = []
    meeting = LongMeeting(Transcript(segments))
    t = 2.0
    count = 0
    next_item = items_every // 2
    item_index = 0

    def say(speaker: str, text: str) -> float:
        nonlocal t, count
        start = round(t, 2)
        length = len(text.split())
        duration = length / 2.6  # about 155 words a minute
        segments.append(Segment(speaker, start, round(start + duration, 2), text))
        t += duration + rng.uniform(0.3, 1.5)
        count += length
        return start

    for topic_no in range(n_topics):
        name, vocab = TOPICS[topic_no]
        chair = SPEAKERS[0]
        topic_start = say(chair, f"Next topic is the {name}. {rng.choice(SPEAKERS[1:])}, do you want to start?")
        while count < per_topic * (topic_no + 1):
            speaker = rng.choice(SPEAKERS)
            if count >= next_item:
                next_item += items_every
                item_index += 1
                if item_index % 3 == 0:  # a wish
                    title = rng.choice(_WISHES).format(a=rng.choice(vocab), topic=name)
                    article = "an" if title[0] in "aeiou" else "a"
                    at = say(speaker, f"It would be nice to have {article} {title} some day, but it is not urgent.")
                    meeting.wishes.append(PlantedWish(title, at))
                    continue
                phrase, due = DUE_PHRASES[item_index % len(DUE_PHRASES)]
                a, b = rng.sample(vocab, 2)
                task = _TASKS[item_index % len(_TASKS)].format(a=a, b=b)
                if item_index % 2:  # a commitment
                    at = say(speaker, f"Okay, I will {task} {phrase}.")
                    meeting.actions.append(PlantedAction(speaker, task, due, at))
                else:  # a request and its acceptance
                    owner = rng.choice([s for s in SPEAKERS if s != speaker])
                    at = say(speaker, f"{owner}, can you {task} {phrase}?")
                    say(owner, "Sure, I can do that.")
                    meeting.actions.append(PlantedAction(owner, task, due, at))
                continue
            if rng.random() < 0.2:
                say(speaker, rng.choice(_CHATTER))
            else:
                a, b, c = rng.sample(vocab, 3)
                first = rng.choice(_STATEMENTS).format(a=a, b=b, c=c)
                second = rng.choice(_STATEMENTS).format(a=b, b=c, c=a)
                say(speaker, first + " " + second if rng.random() < 0.5 else first)
        meeting.topics.append((name, topic_start, round(t, 2)))
    say(SPEAKERS[0], "That is all for today, thank you everyone.")
    meeting.transcript.duration = t
    meeting.words = count
    return meeting
