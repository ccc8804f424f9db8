"""Grounding in code: every item the model proposes must be found in what was actually said, or it is dropped.

The model's line numbers, owners and dates are not trusted:
- support: the item's words are matched (fuzzily, for ASR errors) against each transcript line and its neighbours;
  the best line wins, with a small preference for the line the model cited and for lines of the named owner; an
  item whose words are not found there is dropped and logged;
- owner: must be a speaker of the meeting or a name said in it. "I will ..." resolves to the speaker of that line;
  "Bob, can you ...?" to Bob; an unnamed "can you ...?" to whoever answers yes;
- due date: read from the supporting line (or a short "sure, by Friday" answer) and resolved from the meeting date
  by `dates` — never the model's date;
- nothing may be grounded on a line that addressed the note-taker (see `cues.INJECTION`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from transcripts.minutes.cues import (
    ACCEPT,
    COMMITMENT,
    DECISION,
    DECLINE,
    DONE,
    FIRST_PERSON,
    NEXT_TOPIC,
    PRAISE,
    REQUEST,
    THIRD_PERSON,
    WISH,
    is_injection,
)
from transcripts.minutes.dates import find_due_dates
from transcripts.minutes.dialogue import (
    addressee,
    asks,
    clauses,
    exchange_at,
    exchange_due,
    mentions,
    reply_to,
    turns_down,
)
from transcripts.minutes.lines import Line
from transcripts.minutes.summary import evidence_of, unsupported, without_fillers
from transcripts.minutes.titles import task_title
from transcripts.minutes.words import STOPWORDS, content_words, idf_weights, name_matches, support
from transcripts.types import ActionItem, Wish

log = logging.getLogger(__name__)

MIN_WINDOW_SUPPORT = 0.5  # share of the item's words found in the line and its neighbours
MIN_LINE_SUPPORT = 0.25  # share found in the supporting line itself
NEIGHBOURS = 1

# A capitalized word that is likely a name: inside a sentence ("but Sam will"), or addressed ("Carol, can you"), or
# the subject of a promise ("Eve will"). A capitalized first word alone ("Great work") is not.
_NAMES_SAID = re.compile(
    r"(?<=[a-z,] )([A-Z][a-z]{2,})\b|\b([A-Z][a-z]{2,})(?=, | (?:will|is|can|has|said|could|should)\b)"
)
_SELF = {"i", "me", "myself", "speaker", "the speaker", "self"}
_GROUP = {
    "we",
    "us",
    "everyone",
    "everybody",
    "all",
    "team",
    "the team",
    "group",
    "the group",
    "someone",
    "somebody",
    "anyone",
    "nobody",
    "they",
    "you",
    "unknown",
    "none",
    "n/a",
    "",
}


@dataclass
class Grounder:
    """Grounds candidates against one meeting's lines."""

    lines: list[Line]
    meeting_date: dt.date
    next_meeting: dt.date | None = None
    extra_names: list[str] = field(default_factory=list)  # e.g. Hints.speakers: people known to the group
    dropped: list[str] = field(default_factory=list)  # why each dropped item was dropped (for logs and tests)

    def __post_init__(self) -> None:
        self.speakers = list(dict.fromkeys(line.speaker for line in self.lines))
        self.names = tuple(dict.fromkeys(self.speakers + self.extra_names))  # who a task may be addressed to
        self._by_number = {line.number: i for i, line in enumerate(self.lines)}
        self.weights = idf_weights([line.text for line in self.lines])
        self._said = {a or b for line in self.lines for a, b in _NAMES_SAID.findall(line.text)}

    # ---- support --------------------------------------------------------------------------------------------

    def support(self, claim: str, evidence: str) -> float:
        """`words.support` weighted by how rare each word is in this meeting."""
        return support(claim, evidence, self.weights)

    def similarity(self, a: str, b: str) -> float:
        return min(self.support(a, b), self.support(b, a)) if a and b else 0.0

    def _window(self, i: int) -> str:
        lo, hi = max(0, i - NEIGHBOURS), min(len(self.lines), i + NEIGHBOURS + 1)
        return " ".join(self.lines[j].text for j in range(lo, hi))

    def find_support(
        self, claim: str, cited: int | None = None, owner: str | None = None, within: tuple[int, int] | None = None
    ) -> int | None:
        """Index of the line that best supports `claim` (among line numbers `within`, inclusive), or None."""
        best, best_key = None, None
        cited_index = self._by_number.get(cited) if cited is not None else None
        for i, line in enumerate(self.lines):
            if is_injection(line) or (within and not within[0] <= line.number <= within[1]):
                continue
            own = self.support(claim, line.text)
            if own < MIN_LINE_SUPPORT:
                continue
            window = self.support(claim, self._window(i))
            if window < MIN_WINDOW_SUPPORT:
                continue
            bonus = 0.0
            if cited_index is not None and abs(i - cited_index) <= 2:
                bonus += 0.15
            if owner and (name_matches(owner, line.speaker) or mentions(line.text, owner)):
                bonus += 0.1
            key = (window + own + bonus, -i)
            if best_key is None or key > best_key:
                best, best_key = i, key
        return best

    def _drop(self, kind: str, text: str, reason: str) -> None:
        message = f"{kind} {text!r} dropped: {reason}"
        self.dropped.append(message)
        log.info("%s", message)

    # ---- owners ---------------------------------------------------------------------------------------------

    def known_name(self, name: str) -> str | None:
        """The meeting's spelling of `name`: a speaker, a known member, or a capitalized name said in the call."""
        for speaker in self.speakers:
            if name_matches(name, speaker):
                return speaker
        for extra in self.extra_names:
            if name_matches(name, extra):
                return extra
        first = next((w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", name)), "")
        for said in self._said:
            # "Someone will ..." capitalizes a word that names nobody (the group words are not owners either).
            lowered = said.lower()
            if first and len(first) >= 3 and lowered == first.lower() and lowered not in STOPWORDS | _GROUP:
                return said
        return None

    def resolve_owner(self, raw: str, i: int, task: str = "") -> str | None:
        """The owner of a task taken on at line i when the dialogue alone does not say (see `dialogue`): the
        model's name checked against the line ("Sam will ..." said by Priya is Sam's, whatever the model said)."""
        line = self.lines[i]
        raw = raw.strip()
        lowered = raw.lower()
        if lowered in _SELF:
            owner = line.speaker
        elif lowered in _GROUP:
            owner = None
        else:
            owner = self.known_name(raw)
        # Judge the clause that says the task: "I'll review it, and Bob, can you write the tests?" has both kinds.
        clause = best_clause(line.text, task) if task else line.text
        first_person = bool(FIRST_PERSON.search(clause))
        request = bool(REQUEST.search(clause))
        if request and (owner is None or owner == line.speaker):
            # "Bob, can you ...?" said by Alice: the owner is Bob, whatever the model said.
            named = addressee(self.lines, i, clause, self.speakers)
            j = reply_to(self.lines, i, named)
            if named or j is not None:
                return named or self.lines[j].speaker
        if first_person and not request and owner != line.speaker and (owner is None or not mentions(clause, owner)):
            return line.speaker  # "I will ..." is the speaker's own commitment
        if not first_person and (owner is None or owner == line.speaker):
            for match in THIRD_PERSON.finditer(clause):
                named = self.known_name(match.group(1))
                if named and named != line.speaker:
                    return named
        return owner

    # ---- items ----------------------------------------------------------------------------------------------

    def _commitment_near(self, i: int, task: str) -> int | None:
        """The line where someone takes the task on: line i, else a neighbour that also carries the task's words,
        or that says yes to line i asking its speaker by name."""
        if COMMITMENT.search(self.lines[i].text):
            return i
        j = i + 1
        if (
            j < len(self.lines)
            and asks(self.lines, i, self.speakers) == self.lines[j].speaker
            and ACCEPT.search(self.lines[j].text)
            and COMMITMENT.search(self.lines[j].text)
        ):
            return j
        for j in (i + 1, i - 1):
            if (
                0 <= j < len(self.lines)
                and not is_injection(self.lines[j])
                and COMMITMENT.search(self.lines[j].text)
                and self.support(task, self.lines[j].text) >= MIN_LINE_SUPPORT
            ):
                return j
        return None

    def action(self, owner: str, task: str, cited: int | None = None) -> ActionItem | None:
        """An action item, grounded on the exchange where it was taken on (`dialogue.exchange_at`): its owner is
        who accepted (or promised), its due date said in the lines of that exchange, its time that of its first
        line (so the same commitment found on the request and on the answer is one item)."""
        task = clean_text(task)
        if not content_words(task):
            self._drop("action", task, "no task words")
            return None
        i = self.find_support(task, cited, owner)
        if i is None:
            self._drop("action", task, "not found in the transcript")
            return None
        i = self._commitment_near(i, task)
        if i is None:
            self._drop("action", task, "nobody takes it on there (no 'I will', 'can you', 'Sam will' ...)")
            return None
        clause = best_clause(self.lines[i].text, task)
        if DONE.search(clause) and not COMMITMENT.search(clause):
            self._drop("action", task, "reported as done, not taken on")
            return None
        if turns_down(clause):  # "Sorry, I can't, I'm traveling a lot"
            self._drop("action", task, "turned down, not taken on")
            return None
        taken = exchange_at(self.lines, i, task, self.speakers, support_of=self.support, min_support=MIN_LINE_SUPPORT)
        if taken.declined:
            self._drop("action", task, f"{taken.owner} declined it")
            return None
        resolved = self.known_name(taken.owner) if taken.owner else None
        resolved = resolved or self.resolve_owner(owner, i, task)
        if resolved is None:
            self._drop("action", task, f"owner {owner!r} is not a speaker or a name said in the call")
            return None
        due, _ = exchange_due(self.lines, taken, self.meeting_date, self.next_meeting)
        title = task_title(task, self.names)
        vague = len(content_words(title)) <= 2 and re.search(r"\b(?:it|them|that|this|those|these)\b", title, re.I)
        if (not content_words(title) or vague) and taken.anchor != i:
            # "I'll do it in three days", "Sorry, I'll have it ready Wednesday": the task is what was asked or
            # promised where the exchange starts
            asked = task_title(best_clause(self.lines[taken.anchor].text, task), self.names)
            title = asked if content_words(asked) else title
        if not content_words(title):
            self._drop("action", task, "no task words besides its date")
            return None
        return ActionItem(
            owner=resolved,
            task=title,
            due=due.date if due else None,
            at=round(self.lines[taken.anchor].start, 2),
            excerpt=" / ".join(self.lines[j].quote for j in taken.lines),
        )

    def wish(self, title: str, details: str = "", cited: int | None = None, cut: bool = False) -> Wish | None:
        """A wish-list entry. Without `details` (or with details the transcript does not say), its details are the
        words of the wisher: the clause of the line that carries the wish. `cut`: the title was stopped at its
        length limit (its last word may be cut)."""
        title, details = wish_title(clean_text(title), cut), clean_text(details)
        claim = f"{title} {details}"
        if not content_words(title):
            self._drop("wish", title, "no title words")
            return None
        i = self.find_support(claim, cited)
        if i is None:
            i = self.find_support(title, cited)  # a long made-up detail should not sink a grounded title
            if i is None or self.support(details, self._window(i)) < MIN_WINDOW_SUPPORT:
                details = ""
        if i is None:
            self._drop("wish", title, "not found in the transcript")
            return None
        wished = self._wished_line(i, title)
        if wished is None:
            self._drop("wish", title, "nobody wishes for it there (no 'would be nice', 'I wish', 'I'd like' ...)")
            return None
        said = best_clause(self.lines[i].text, title)
        if wished == i and not WISH.search(said) and self._names_its_own_wish(i, title):
            # "A bot for newcomers would be amazing. The storage numbers look the same.": the title is the report
            self._drop("wish", title, "its words are in a sentence that wishes nothing, beside a wish of its own")
            return None
        if not WISH.search(said) and (COMMITMENT.search(said) or find_due_dates(said, self.meeting_date)):
            # "I'll ask about the GPU timeline before our next call": a task, not a wish
            self._drop("wish", title, "its line takes it on as a task")
            return None
        title = re.sub(r"^(?:a|an|the)\s+", "", title, flags=re.IGNORECASE)
        if not details:
            # The wisher's own sentence: the one that carries the wish's words (not a reply like "That would be
            # great, thank you.").
            source = i if self.support(title, self.lines[i].text) >= MIN_LINE_SUPPORT else wished
            # A whole sentence: a clause cut at "and" loses half of "how the timeout and the runner fit together".
            details = _trim_words(_wishing_sentence(self.lines[source].text, title), 200)
        return Wish(
            title=capitalize(title),
            details=capitalize(details),
            at=round(self.lines[i].start, 2),
            excerpt=self.lines[i].quote,
        )

    def _names_its_own_wish(self, i: int, title: str) -> bool:
        """Whether line i wishes for something in a clause of its own words (not a bare "That would be great")
        that does not carry `title`."""
        wishing = [c for c in clauses(self.lines[i].text) if WISH.search(c)]
        return bool(wishing) and all(
            len(content_words(c)) >= 3 and self.support(title, c) < MIN_LINE_SUPPORT for c in wishing
        )

    def plain_wish(self, number: int) -> Wish | None:
        """The wish said outright on line `number` ("It would be great to have X", "I wish we had X", "I'd love a
        X"), found by code: what follows the wishing words is its title."""
        i = self._by_number.get(number)
        if i is None or is_injection(self.lines[i]):
            return None
        for clause in clauses(self.lines[i].text):
            said = clean_text(clause)
            after = _PLAIN_WISH_AFTER.match(said)
            if not (_PLAIN_WISH.match(said) or after):
                continue
            title = wish_title(after.group("thing") if after else _PLAIN_WISH.sub("", said))
            if len(content_words(title)) >= 2 and not find_due_dates(title, self.meeting_date):
                return self.wish(title, cited=number)
        return None

    def _wished_line(self, i: int, title: str) -> int | None:
        """The line that wishes for what line i says: line i itself, or a neighbour that wishes without taking a
        task on ("That would be great" after "a dashboard for the GPUs")."""
        for j in (i, i - 1, i + 1):
            if not 0 <= j < len(self.lines) or is_injection(self.lines[j]):
                continue
            text = self.lines[j].text
            if not WISH.search(text):
                continue
            if j == i or not COMMITMENT.search(best_clause(text, title)):
                return j
        return None

    def _statement(self, kind: str, text: str) -> tuple[str, int] | None:
        text = clean_text(text)
        if not content_words(text):
            return None
        i = self.find_support(text)
        if i is None:
            self._drop(kind, text, "not found in the transcript")
            return None
        return capitalize(text), i

    def decision(self, text: str) -> tuple[str, float] | None:
        """A decision, kept (with its time) only when said on a line that sounds like one ("we decided", "agreed",
        "let's go with") or right before such a line: a plain report ("the kernel is merged") is not a decision."""
        found = self._statement("decision", text)
        if found is None:
            return None
        text, i = found
        if not any(DECISION.search(line.text) and not _rejects_proposal(line.text) for line in self.lines[i : i + 2]):
            self._drop("decision", text, "its line does not state a decision")
            return None
        if any(
            _rejects_proposal(line.text) for line in self.lines[i + 1 : i + 3] if line.speaker != self.lines[i].speaker
        ):
            self._drop("decision", text, "the proposal was turned down")
            return None
        if unsupported(text, evidence_of(self.lines[max(0, i - 1) : i + 2])):
            # "The workshop will be held on January 8th" for "we agreed it is on January eighth": the minutes say
            # what was said, not a word the model added
            said = best_clause(self.lines[i].text, text, split=_SENTENCE_END)
            text = _trim_words(without_fillers(said).rstrip("."), 200)
        return text, self.lines[i].start

    def next_topic(self, text: str) -> tuple[str, float] | None:
        """A topic for a later meeting, kept only when its line (or the next) proposes it for later ("at the next
        meeting", "put it on the agenda"): a wish or a past topic is not a topic for next time."""
        found = self._statement("next topic", text)
        if found is None:
            return None
        text, i = found
        if not any(NEXT_TOPIC.search(line.text) for line in self.lines[i : i + 2]):
            self._drop("next topic", text, "its line does not propose it for a later meeting")
            return None
        return text, self.lines[i].start


def _rejects_proposal(text: str) -> bool:
    """A reply that turns a proposed decision down ("No, let's not", "I don't think so"); a task said no to is
    `dialogue.turns_down`."""
    head = re.split(r"(?<=[.?!;,])\s+", text.strip(), maxsplit=1)[0]
    return bool(
        DECLINE.search(head) or re.search(r"\b(?:i don'?t think so|let'?s not|rather not|disagree)\b", head, re.I)
    )


def _trim_words(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


_SENTENCE_END = re.compile(r"(?<=[.?!;])\s+")
_CLAUSE_START = re.compile(rf"{_SENTENCE_END.pattern}|,?\s+\b(?:and|but|then)\b\s+(?=\w)")


def best_clause(text: str, claim: str, split: re.Pattern[str] = _CLAUSE_START) -> str:
    """The sentence or clause of `text` that carries most of `claim`'s words."""
    parts = [p for p in split.split(text) if p and p.strip()]
    if len(parts) <= 1:
        return text
    return max(parts, key=lambda p: (support(claim, p), -parts.index(p)))


def _wishing_sentence(text: str, title: str) -> str:
    """The sentence of `text` that wishes for `title`: of those with any of its words, one that says a wish comes
    before one that has as many of the words ("the build server goes into reading" beside "alerts when the disk is
    almost full" for "build server alerts when the disk is full")."""
    sentences = [p for p in _SENTENCE_END.split(text) if p and p.strip()]
    if len(sentences) <= 1:
        return text

    def rank(i: int) -> tuple[bool, float, int]:
        share = support(title, sentences[i])
        return share > 0 and bool(WISH.search(sentences[i])), share, -i

    return sentences[max(range(len(sentences)), key=rank)]


# A model that copies from the transcript can run on past the end of a line into the next one ("... by Friday. }
# [16] Bob: I'll send ..."): nothing from a line marker (as `Line.render` writes it) on belongs to the item.
_COPIED_ON = re.compile(r"[\s.;,}\]]*\[\d+\]\s*[^:\]]{1,40}:.*$")


def clean_text(text: str) -> str:
    text = _COPIED_ON.sub("", re.sub(r"\s+", " ", text or ""))
    text = text.strip().strip("\"'“”").rstrip(".").strip()
    return re.sub(r"^(?:to|i will|i'll|will)\s+", "", text, flags=re.IGNORECASE).strip()


# How a wish is said, not what it is: "It would be nice to have an automatic branding check for the ..."
_WISH_LEAD = re.compile(
    r"^(?:(?:(?:(?:it(?:'d| would)|wouldn'?t it) be|(?:it'?s|that'?s|that would be)) " + PRAISE + r" "
    r"(?:to (?:have|get|see|add)|if (?:we|the \w+|it) (?:had|could (?:have|add|get))?)|"
    r"i wish (?:that )?(?:(?:we|i) (?:had|could(?: (?:have|add|get))?)?)?|"
    r"(?:i|we)(?:'d| would) (?:like|love) (?:to(?: (?:have|see|add|get))?)?|"
    r"maybe we (?:should|could|can)(?: (?:have|add|get))?|to (?:have|get|see|add))\s*)+",  # "I wish" + "to have"
    re.IGNORECASE,
)
_DANGLING = re.compile(
    r"(?:[\s,]+(?:for|the|a|an|of|to|and|or|on|in|with|about|some ?day|one day|eventually))+$", re.IGNORECASE
)
# A wish said outright, at the start of a clause: what follows is what is wished for (a proposal, "maybe we should",
# is not one).
_PLAIN_WISH = re.compile(
    r"^(?:(?:and|also|so|um|uh|oh|well|honestly),?\s+)*(?:(?:it(?:'d| would) be) " + PRAISE + r" "
    r"to (?:have|get|see)|i wish (?:we|i) had|(?:i|we)(?:'d| would) (?:love|like) (?:to (?:have|see) )?(?=an?\s))",
    re.IGNORECASE,
)
# ... or at its end: "A bot that answers newcomer questions would be amazing at some point."
_PLAIN_WISH_AFTER = re.compile(
    r"^(?:(?:and|also|so|um|uh|oh|well|honestly),?\s+)*(?P<thing>(?:an?|some)\s.+?)\s+would be "
    + PRAISE
    + r"(?:\s+(?:to have|at some point|some ?day|one day|eventually))?[.!]?$",
    re.IGNORECASE,
)


def wish_title(title: str, cut: bool = False) -> str:
    """The wish itself: without "it would be nice to have", a word cut at the length limit, or a dangling "for the"."""
    short = _WISH_LEAD.sub("", title)
    if cut and " " in short:
        short = short.rsplit(" ", 1)[0]
    short = re.sub(r"^(?:a|an|the)\s+", "", _DANGLING.sub("", short).strip(" ,;:"), flags=re.IGNORECASE)
    return short if content_words(short) else title


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text
