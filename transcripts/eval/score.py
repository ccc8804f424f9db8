"""Minutes against a corpus meeting's truth: what was found, what was missed, what was made up.

Matching is by words, not by exact text: an action item is right when its owner is the truth's and its title carries
most of the truth's words (`MATCH`), numbers compared as words (Whisper writes "version 3 on December 15th" where the
script says "version three on December fifteenth"); each truth item is matched once, so the same commitment filed
twice counts once right and once wrong. Topics are covered when the short summary carries most of the topic's words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from transcripts.eval.corpus import EvalMeeting
from transcripts.minutes.lines import transcript_lines
from transcripts.minutes.summary import evidence_of, unsupported
from transcripts.minutes.words import support
from transcripts.types import Minutes, Transcript
from transcripts.wer import normalize_text, word_error_rate

MATCH = 0.6  # share of the truth's words an item must carry
TOPIC = 0.5


@dataclass
class Score:
    meeting: str
    split: str
    actions_truth: int = 0
    actions_predicted: int = 0
    actions_right: int = 0  # owner and task right (one per truth item)
    due_right: int = 0  # ... of those, with the right due date
    wishes_truth: int = 0
    wishes_predicted: int = 0
    wishes_right: int = 0
    decisions_truth: int = 0
    decisions_predicted: int = 0
    decisions_right: int = 0  # predicted decisions that are true ones
    decisions_found: int = 0  # true decisions found
    topics: int = 0
    topics_covered: int = 0
    summary_sentences: int = 0
    unsupported_sentences: int = 0
    filed_what_must_not_be: int = 0
    wer: float | None = None
    words: int = 0
    reference_words: int = 0
    speaker_wer: dict[str, float] = field(default_factory=dict)  # each speaker's lines against their own track
    transcribe_seconds: float = 0.0
    minutes_seconds: float = 0.0
    audio_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _carries(text: str, truth_words: str) -> bool:
    return support(normalize_text(truth_words), normalize_text(text)) >= MATCH


def _bullets(summary: str) -> tuple[list[str], list[str]]:
    """(points, headings) of a short summary in the group's style."""
    points, headings = [], []
    for line in summary.splitlines():
        text = line.strip().replace("\\", "")
        if text.startswith("- "):
            points.append(text[2:])
        elif text.startswith("**") and text.endswith("**"):
            headings.append(text.strip("*"))
        elif text:
            points.append(text)
    return points, headings


def score(meeting: EvalMeeting, minutes: Minutes, transcript: Transcript, reference_text: str | None) -> Score:
    s = Score(meeting.name, meeting.split)
    # ---- action items
    s.actions_truth, s.actions_predicted = len(meeting.actions), len(minutes.action_items)
    used: set[int] = set()
    for truth in meeting.actions:
        match = next(
            (
                k
                for k, item in enumerate(minutes.action_items)
                if k not in used and item.owner == truth.owner and _carries(item.task, truth.words)
            ),
            None,
        )
        if match is None:
            s.problems.append(f"missed action: {truth.owner}: {truth.words}")
            continue
        used.add(match)
        s.actions_right += 1
        item = minutes.action_items[match]
        if item.due == truth.due:
            s.due_right += 1
        else:
            s.problems.append(f"wrong due: {truth.owner}: {truth.words}: {item.due} instead of {truth.due}")
    for k, item in enumerate(minutes.action_items):
        if k not in used:
            s.problems.append(f"extra action: {item.owner}: {item.task} (due {item.due})")
    # ---- wishes
    s.wishes_truth, s.wishes_predicted = len(meeting.wishes), len(minutes.wishes)
    used = set()
    for words in meeting.wishes:
        match = next(
            (k for k, w in enumerate(minutes.wishes) if k not in used and _carries(f"{w.title} {w.details}", words)),
            None,
        )
        if match is None:
            s.problems.append(f"missed wish: {words}")
        else:
            used.add(match)
            s.wishes_right += 1
    for k, w in enumerate(minutes.wishes):
        if k not in used:
            s.problems.append(f"extra wish: {w.title} — {w.details}")
    # ---- decisions
    s.decisions_truth, s.decisions_predicted = len(meeting.decisions), len(minutes.decisions)
    for text in minutes.decisions:
        if any(_carries(text, words) for words in meeting.decisions):
            s.decisions_right += 1
        else:
            s.problems.append(f"extra decision: {text}")
    for words in meeting.decisions:
        if any(_carries(text, words) for text in minutes.decisions):
            s.decisions_found += 1
        else:
            s.problems.append(f"missed decision: {words}")
    # ---- what must file nothing
    for nothing in meeting.nothing:
        texts = [a.task for a in minutes.action_items if nothing.owner in (None, a.owner)]
        if nothing.owner is None:
            texts += [f"{w.title} {w.details}" for w in minutes.wishes] + list(minutes.decisions)
        for text in texts:
            if _carries(text, nothing.words):
                s.filed_what_must_not_be += 1
                s.problems.append(f"filed what must not be: {text!r} ({nothing.words})")
    # ---- summary
    points, headings = _bullets(minutes.summary)
    s.topics = len(meeting.topics)
    for topic in meeting.topics:
        if support(normalize_text(topic), normalize_text(minutes.summary)) >= TOPIC:
            s.topics_covered += 1
        else:
            s.problems.append(f"topic not in the summary: {topic}")
    evidence = evidence_of(transcript_lines(transcript))
    s.summary_sentences = len(points)
    for point in points:
        missing = unsupported(point, evidence)
        if missing:
            s.unsupported_sentences += 1
            s.problems.append(f"unsupported summary point: {point!r} ({', '.join(missing)})")
    if reference_text is not None:
        _overall_wer(s, transcript, reference_text)
    return s


def _overall_wer(s: Score, transcript: Transcript, reference_text: str) -> None:
    hypothesis = " ".join(seg.text for seg in transcript.segments)
    s.words = len(hypothesis.split())
    s.wer = word_error_rate(reference_text, hypothesis)
    s.reference_words = len(reference_text.split())


def recognition(s: Score, transcript: Transcript, said: list[dict]) -> Score:
    """The word error rate of the whole meeting and of each speaker (their lines against their track's segments:
    one track per speaker, so a word given to the wrong speaker counts against both)."""
    _overall_wer(s, transcript, " ".join(line["text"] for line in said))
    for speaker in sorted({line["speaker"] for line in said}):
        reference = " ".join(line["text"] for line in said if line["speaker"] == speaker)
        hypothesis = " ".join(seg.text for seg in transcript.segments if seg.speaker == speaker)
        s.speaker_wer[speaker] = word_error_rate(reference, hypothesis)
    return s


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def totals(scores: list[Score]) -> dict:
    """Precision and recall per field over `scores`, and the rest summed."""

    def total(name: str) -> int:
        return sum(getattr(s, name) for s in scores)

    wer_scores = [(s.wer, s.reference_words) for s in scores if s.wer is not None]  # (rate, reference words)
    return {
        "meetings": len(scores),
        "action_precision": _ratio(total("actions_right"), total("actions_predicted")),
        "action_recall": _ratio(total("actions_right"), total("actions_truth")),
        "due_right": _ratio(total("due_right"), total("actions_right")),
        "due_right_of_all": _ratio(total("due_right"), total("actions_truth")),
        "wish_precision": _ratio(total("wishes_right"), total("wishes_predicted")),
        "wish_recall": _ratio(total("wishes_right"), total("wishes_truth")),
        "decision_precision": _ratio(total("decisions_right"), total("decisions_predicted")),
        "decision_recall": _ratio(total("decisions_found"), total("decisions_truth")),
        "topic_coverage": _ratio(total("topics_covered"), total("topics")),
        "summary_points": total("summary_sentences"),
        "unsupported_points": total("unsupported_sentences"),
        "filed_what_must_not_be": total("filed_what_must_not_be"),
        "wer": (
            sum(wer * words for wer, words in wer_scores) / max(1, sum(words for _, words in wer_scores))
            if wer_scores
            else None
        ),
        "speaker_wer_worst": max((w for s in scores for w in s.speaker_wer.values()), default=None),
        "speakers_over_8pct": sum(w > 0.08 for s in scores for w in s.speaker_wer.values()),
        "audio_seconds": sum(s.audio_seconds for s in scores),
        "transcribe_seconds": sum(s.transcribe_seconds for s in scores),
        "minutes_seconds": sum(s.minutes_seconds for s in scores),
    }
