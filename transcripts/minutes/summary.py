"""The summaries, in the group's own style: a heading per topic with a few factual points.

The model proposes each part's topics with two to four short points (who presented or reported what, what was
concluded); code keeps only the points whose content words are found in the lines of that part (`unsupported`), so
no filler nobody said ("improving the efficiency and effectiveness of AI systems") reaches the minutes, and puts a
promise the model wrote as done back into the future ("Bob shared the slides" for "I'll share the slides":
`in_the_tense_said`). From those:
- the short summary (forum, Discord): each topic as a bold heading with its first points and what it concluded (the
  decisions taken and the tasks taken on under it), within `SHORT_SUMMARY_LIMIT` characters (every topic keeps at
  least its heading);
- the long summary (archive): each topic as a "### title (time)" section with all its points and conclusions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from transcripts import clock as meeting_clock
from transcripts.minutes import cues
from transcripts.minutes.lines import Line
from transcripts.minutes.words import content_words, similar_word, similarity, stem, words

SHORT_SUMMARY_LIMIT = 1500
MAX_POINTS = 5
MIN_POINT_WORDS = 3
# A point copied from a line keeps its speaker (if it names one) but not the line's fillers: "Bob: Right, um, the
# subnet works" → "Bob: the subnet works".
_QUOTED_LEAD = re.compile(
    r"^((?:[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)?: )?)(?:(?:right|okay|ok|yeah|yes|so|well|oh|and|i think)[,.]?\s+)+",
    re.IGNORECASE,
)
# Hesitations anywhere in a quoted line (gone before `_QUOTED_LEAD` looks at its start): "Security review today. Um,
# first the audit." → "... today. First the audit."
_HESITATION = re.compile(r"\b(?:um+|uh+|uhm|erm)\b[,.]?\s*", re.IGNORECASE)
_SENTENCE_START = re.compile(r"([.!?] )([a-z])")
# Verbs that say who said something, in the past tense a summary point uses: "Carol reported ...".
REPORTED = (
    "reported",
    "presented",
    "discussed",
    "mentioned",
    "explained",
    "showed",
    "shared",
    "noted",
    "raised",
    "described",
    "proposed",
    "suggested",
    "introduced",
    "demoed",
    "summarized",
)
# Words a summary uses to report speech, not to claim anything: "Pat presented ...", "the group agreed ...".
_REPORTING = frozenset(
    stem(w)
    for w in [
        *REPORTED,
        "presents",
        "present",
        "discuss",
        "discussion",
        "agreed",
        "agree",
        "agreement",
        "decided",
        "decide",
        "decision",
        "propose",
        "proposal",
        "suggest",
        "asked",
        "ask",
        "mention",
        "report",
        "explain",
        "show",
        "share",
        "note",
        "raise",
        "concluded",
        "conclude",
        "conclusion",
        "said",
        "says",
        "update",
        "updates",
        "group",
        "team",
        "meeting",
        "call",
        "members",
        "member",
        "participants",
        "everyone",
        "speaker",
        "speakers",
        "topic",
        "topics",
        "plan",
        "plans",
        "question",
        "questions",
        "answer",
        "answered",
        "idea",
        "ideas",
        "review",
        "reviewed",
        "talked",
        "talk",
        "gave",
        "give",
        "provided",
        "provide",
        "overview",
        "status",
        "progress",
        "next",
        "steps",
        "step",
        "point",
        "points",
        "item",
        "items",
        "followed",
        "follow",
    ]
)


@dataclass(slots=True)
class Section:
    title: str
    points: list[str]
    start: float
    end: float
    decisions: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # "Write the blog post (Omar)": tasks taken on under it

    @property
    def summary(self) -> str:
        return " ".join(self.points)


def drop_repeats(text: str) -> str:
    """Small models repeat a sentence; keep each sentence once."""
    kept: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text).strip()):
        if sentence and not any(similarity(sentence, k) >= 0.8 for k in kept):
            kept.append(sentence)
    return " ".join(kept)


def evidence_of(lines: list[Line]) -> set[str]:
    """The content words (stemmed) said in `lines`, and their speakers' names."""
    have: set[str] = set()
    for line in lines:
        have.update(content_words(line.text))
        have.update(stem(w) for w in words(line.speaker))
    return have


def unsupported(sentence: str, evidence: set[str]) -> list[str]:
    """The content words of `sentence` that the summarized lines do not have (fuzzily, for ASR spellings), reporting
    words ("presented", "agreed") aside. A sentence with any is not supported by the transcript."""
    missing = []
    for w in dict.fromkeys(content_words(sentence)):
        if w in _REPORTING or w in evidence or any(similar_word(w, h) for h in evidence):
            continue
        missing.append(w)
    return missing


def without_fillers(said: str) -> str:
    """A quoted line without its hesitations and leading fillers: "Bob: Right, um, the subnet works" → "Bob: the
    subnet works"; "So, um, we agreed ..." → "We agreed ..."."""
    said = _QUOTED_LEAD.sub(r"\1", _HESITATION.sub("", said))
    said = _SENTENCE_START.sub(lambda m: m[1] + m[2].upper(), said)
    return said[:1].upper() + said[1:]


def supported_points(points: list[str], lines: list[Line], cut_at: int | None = None) -> list[str]:
    """The points (sentences) whose content words are all said in `lines`, each once, in order. `cut_at`: a point
    this long was stopped at the length limit, so its last word may be cut: it ends at the word before, with "…"."""
    evidence = evidence_of(lines)
    kept: list[str] = []
    for point in points:
        point = re.sub(r"\s+", " ", point).strip().lstrip("-*• ").strip()
        was_cut = cut_at is not None and len(point) >= cut_at - 1  # (measured before fillers go)
        point = without_fillers(point)
        if was_cut and " " in point:
            point = _DANGLING_END.sub("", point.rsplit(" ", 1)[0]) + "…"
        if len(content_words(point)) < MIN_POINT_WORDS or unsupported(point, evidence):
            continue  # "Carol: Yeah, yeah." says nothing; a word nobody said is made up
        said = in_the_tense_said(point, lines)
        if said is None or any(similarity(said, k) >= 0.8 for k in kept):
            continue
        kept.append(said[:1].upper() + said[1:])
    return kept[:MAX_POINTS]


_IRREGULAR_PAST = {
    "wrote": "write",
    "sent": "send",
    "made": "make",
    "built": "build",
    "did": "do",
    "gave": "give",
    "took": "take",
    "ran": "run",
    "found": "find",
    "got": "get",
    "bought": "buy",
    "told": "tell",
    "brought": "bring",
    "began": "begin",
    "held": "hold",
    "spoke": "speak",
    "met": "meet",
    "paid": "pay",
    "drew": "draw",
    "chose": "choose",
}
# Verbs of the meeting itself ("Pat proposed ...", "the group agreed ..."): past by nature, whatever was promised.
_MEETING_ACTS = frozenset(
    stem(w)
    for w in [
        "said",
        "agreed",
        "decided",
        "discussed",
        "presented",
        "reported",
        "mentioned",
        "explained",
        "noted",
        "raised",
        "concluded",
        "suggested",
        "proposed",
        "talked",
        "asked",
        "answered",
        "offered",
        "volunteered",
        "promised",
        "committed",
        "wanted",
        "wished",
    ]
)
# "<Name> [and <Name>] [has|have] <verb in the past> ...": the form a promise rewritten as done takes.
_PAST_CLAIM = re.compile(
    r"^(?P<subject>[A-Z][\w'-]*(?: (?:and|&) [A-Z][\w'-]*)?) (?:ha(?:s|ve) )?(?P<verb>[a-z]+ed|"
    + "|".join(_IRREGULAR_PAST)
    + r")\b(?P<rest>.*)$"
)


# Words in "-ed" that are not a past tense.
_NOT_PAST = frozenset(["hundred", "embed", "sacred", "naked", "wicked", "shred", "kindred"])


def _is_past(word: str) -> bool:
    if word in _IRREGULAR_PAST:
        return True
    return len(word) > 4 and word.endswith("ed") and not word.endswith("eed") and word not in _NOT_PAST


def _base_stem(word: str) -> str:
    return stem(_IRREGULAR_PAST.get(word, word))


def in_the_tense_said(point: str, lines: list[Line]) -> str | None:
    """`point` as the lines say it: a task the lines only promise ("I'll share the slides", "Bob, can you share
    ...?") but that the point reports as done ("Bob shared the slides") is put back into the future ("Bob will share
    the slides"); None when it is not in the simple form that can be rewritten. A verb said in the past anywhere in
    the lines ("I shared them yesterday"), or not said at all, leaves the point as it is."""
    for verb in dict.fromkeys(w for w in words(point) if _is_past(w)):
        verb_stem = _base_stem(verb)
        if verb_stem in _MEETING_ACTS:
            continue
        promised: list[str] = []  # the verb's present forms in lines that take a task on
        for line in lines:
            said = [w for w in words(line.text) if _base_stem(w) == verb_stem]
            if not said:
                continue
            past = any(_is_past(w) for w in said) or bool(cues.DONE.search(line.text))
            if past or not (cues.COMMITMENT.search(line.text) or cues.FIRST_PERSON.search(line.text)):
                promised = []
                break
            promised.extend(said)
        if not promised:
            continue
        claim = _PAST_CLAIM.match(point)
        if claim is None or claim["verb"] != verb:
            return None  # a promise stated as done, in a form not safe to rewrite
        point = f"{claim['subject']} will {promised[0]}{claim['rest']}"
    return point


def trim_to(text: str, limit: int) -> str:
    """`text` cut to `limit` characters at a sentence end (or a word, with an ellipsis)."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind(".") if cut.endswith(".") else -1)
    if end > limit // 3:
        return cut[: end + 1]
    return cut[: limit - 1].rsplit(" ", 1)[0] + "…"


def escape_markdown(text: str) -> str:
    """Keep model or speech text from turning into Markdown structure (links, emphasis, HTML)."""
    text = " ".join(text.split())
    for char in ("\\", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(char, "\\" + char)
    return "\\" + text if text.startswith(("#", "-", "+", ">", "|")) else text


_DANGLING_END = re.compile(r"(?:[\s,;:]+(?:a|an|the|of|to|and|or|for|in|on|at|with|about|but))*[\s,;:]*$", re.I)
HEADING_WORDS = 8
# "Carol reported the", "Alice and Bob presented on": who said it, not what the topic is.
_NAME = r"[A-Z][\w.'-]*(?: [A-Z][\w.'-]*)?"
_WHO_SAID_PATTERN = (
    rf"{_NAME}(?:\s+(?:and|&)\s+{_NAME})?\s+(?:also\s+|then\s+|briefly\s+)?"
    rf"(?:{'|'.join(REPORTED)}|walked through|gave an update)(?:\s+(?:on|that|about|back on))?\s+"
)
_WHO_SAID = re.compile(rf"^{_WHO_SAID_PATTERN}")
# ... or the speaker of a quoted point ("Pat: the guide ...", its fillers gone: `_QUOTED_LEAD`), and the article.
_HEADING_LEAD = re.compile(rf"^(?:{_WHO_SAID_PATTERN}|{_NAME}:\s*)?(?i:(?:the|a|an)\s+)?")
# Where a noun phrase turns into a clause: "the budget draft | took about twenty minutes".
_CLAUSE = re.compile(r"[,;:.!?()]|\s(?:but|because|which|who|so)\s")
_VERB = re.compile(
    r"\s(?:is|are|was|were|has|have|had|took|takes|looks?|needs?|went|goes|got|will|would|should|can|could|"
    r"depends?|works?|worked|seems?|came|comes)\b",
)


def topic_heading(point: str, words_at_most: int = HEADING_WORDS) -> str:
    """A topic heading made from a summary point: its subject, not the sentence ("Dave reported the nightly build
    took about an hour" -> "Nightly build"), for a topic the model gave no usable title."""
    text = " ".join(point.split())
    rest = _HEADING_LEAD.sub("", text, count=1) or text
    clause = _CLAUSE.split(rest, maxsplit=1)[0].strip()
    subject = _VERB.split(clause, maxsplit=1)[0].strip()
    heading = subject if len(subject.split()) >= 2 else clause
    heading = _DANGLING_END.sub("", " ".join(heading.split()[:words_at_most]))
    return heading[:1].upper() + heading[1:]


def reads_as_a_sentence(title: str) -> bool:
    """A title that reports who said what ("Lin reported the benchmark cluster changes") instead of naming a topic."""
    return bool(_WHO_SAID.match(title))


_AGREED_LEAD = re.compile(
    r"^(?:so |then |okay,? )?(?:we|the group|everyone) (?:decided|agreed)(?: to| that| on)?\s+", re.I
)


def _bullets(section: Section, short: bool = False) -> list[str]:
    """The topic's points, then what it concluded: its decisions and the tasks taken on. In the short summary
    (`short`) the conclusions come right after the first two points, so they stay when space runs out."""
    points = list(section.points)
    concluded: list[str] = []
    for decision in section.decisions:
        if not any(similarity(decision, p) >= 0.6 for p in points):
            if cues.DECIDED.search(decision) and not _AGREED_LEAD.match(decision):
                concluded.append(decision)  # said in the speaker's words: "For the workshop, we agreed it is ..."
            else:
                concluded.append(f"Agreed: {_AGREED_LEAD.sub('', decision)}")
    concluded += [a for a in section.actions if not any(similarity(a, p) >= 0.6 for p in points + concluded)]
    if short:
        return (points[:2] + concluded + points[2:])[:MAX_POINTS]
    return points + concluded


def short_summary_markdown(sections: list[Section], limit: int = SHORT_SUMMARY_LIMIT) -> str:
    """Each topic as a bold heading with its first points, as many points per topic as fit in `limit`."""
    if not sections:
        return ""
    bullets = [_bullets(s, short=True) for s in sections]

    def render(per_topic: int) -> str:
        blocks = []
        for section, points in zip(sections, bullets):
            lines = [f"**{escape_markdown(section.title)}**"] + [f"- {escape_markdown(p)}" for p in points[:per_topic]]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    for per_topic in range(MAX_POINTS, -1, -1):
        text = render(per_topic)
        if len(text) <= limit:
            return text
    kept = render(0).split("\n\n")
    while kept and len("\n\n".join(kept)) > limit:
        kept.pop()
    return "\n\n".join(kept)


def long_summary_markdown(sections: list[Section]) -> str:
    """One Markdown section per topic, with its time span in the meeting, all its points and its conclusions."""
    blocks = []
    for s in sections:
        body = "\n".join(f"- {escape_markdown(p)}" for p in _bullets(s))
        head = f"### {escape_markdown(s.title)} ({meeting_clock.short(s.start)}–{meeting_clock.short(s.end)})"
        blocks.append(f"{head}\n\n{body}" if body else head)
    return "\n\n".join(blocks)
