"""Cheap, code-only pre-selection of the lines worth showing the model for each question, and of lines to withhold.

The model decides what is an action item or a wish; these patterns only keep its prompts short (a 10,000-word meeting
does not fit the time budget if every line is read for every question). They are generous on purpose: a line that
merely might hold a commitment is included, with its neighbours as context.
"""

from __future__ import annotations

import re

from transcripts.minutes.dates import WEEKDAYS
from transcripts.minutes.injection import INJECTION
from transcripts.minutes.lines import Line

ACTION = re.compile(
    r"\b(?:i|we)(?:'ll|’ll| will| can| could| shall|'m going to| am going to| are going to|'re going to| plan to|"
    r" need to| have to| should| must| promise| volunteer| take)\b|"
    r"\blet me\b|\blet'?s\b|\b(?:can|could|would|will) you\b|\bplease\b|\byou (?:should|need to|could)\b|"
    r"\b(?:action item|to-?do|follow[- ]?up|take care of|on it|assign|volunteer|responsible|deadline|due|"
    r"i'?ll do|will do|sign up|signed up|in charge)\b|"
    r"\b(?:he|she|they|(?-i:[A-Z][a-z]+)) (?:will|is going to|can|could|should) (?!be\b)|"
    r"\b(?:by|before|until|till) (?:the )?(?:end of|next|tomorrow|tonight|today|" + "|".join(WEEKDAYS) + r")\b",
    re.IGNORECASE,
)
# What calls a thing good in a wish: "nice", "really handy", "amazing".
PRAISE = (
    r"(?:(?:really|so|very|super|pretty|quite|just) )?"
    r"(?:nice|great|good|cool|useful|helpful|amazing|awesome|handy|neat|lovely|fantastic|wonderful|brilliant|ideal)"
)
WISH = re.compile(
    r"\b(?:wish(?:es|ed)?|wish ?list|(?:would|wouldn'?t it|'d) be " + PRAISE + r"|"
    r"i'?d (?:like|love)|i would (?:like|love)|we'?d (?:like|love)|would like|would love|nice to have|"
    r"feature request|some ?day|one day|at some point|down the road|in the long run|in the future|eventually|"
    r"(?:we|you) (?:could|might) (?:also )?(?:add|have|build|get|try)|"
    r"maybe we (?:could|can|should)|how about|what if we|idea|dream|someone should|if only|should support|"
    r"should have)\b",
    re.IGNORECASE,
)
DECISION = re.compile(
    r"\b(?:decid(?:e|ed|es|ing)|decision|agree(?:d|s)?|consensus|settled|approved?|vote[ds]?|conclu(?:de|ded|sion)|"
    r"go with|going with|stick with|we'?ll use|we will use|let'?s (?:do|use|keep|drop|switch|move|stick|go|make|"
    r"ship|release|merge|adopt|postpone|skip)|final(?:ly)?|so that'?s (?:it|settled|decided)|sounds good|"
    r"no objections?|we'?re (?:going|doing)|from now on)\b",
    re.IGNORECASE,
)
# A decision stated outright (the clear part of DECISION).
DECIDED = re.compile(
    r"\b(?:we(?: all| have|'ve|’ve)? (?:decided|agreed)|(?:it'?s|that'?s|so that'?s) (?:settled|decided|agreed)|"
    r"the decision is|the consensus is)\b",
    re.IGNORECASE,
)
NEXT_TOPIC = re.compile(
    r"\b(?:next (?:meeting|time|week'?s? (?:meeting|call)|call|sync|session)|agenda|revisit|come back to|"
    r"(?:talk|discuss) (?:about )?(?:\w+ ){0,6}(?:later|next)|park (?:it|that|this)|table (?:it|that|this)|"
    r"later (?:topic|discussion)|out of time|run(?:ning)? out of time|another (?:meeting|time)|"
    r"follow[- ]?up meeting)\b",
    re.IGNORECASE,
)
# A topic explicitly put on a later meeting (the clear part of NEXT_TOPIC).
NEXT_MEETING = re.compile(
    r"\b(?:(?:at|for|in|on|to) (?:the |our )?next (?:meeting|call|sync|session|week'?s? (?:meeting|call))|"
    r"on (?:the|next week'?s|our) agenda|next time)\b",
    re.IGNORECASE,
)
DECISION_OR_TOPIC = re.compile(f"(?:{DECISION.pattern})|(?:{NEXT_TOPIC.pattern})", re.IGNORECASE)

# ---- the commitment vocabulary: the one place that says how people take tasks on, accept, decline, correct ----

# "I can't", "I cannot", "I will not", "I'll never": the words of a commitment, negated. Every pattern of taking
# something on below ends with this look-ahead, so a refusal never reads as a promise.
_NOT = r"(?!['’]t\b|not\b| not\b| never\b)"
# A speaker takes a task on themselves: "I will", "I'll", "let me", "I can".
FIRST_PERSON = re.compile(
    r"\b(?:i(?:'ll|’ll| will| can| could| shall|'m going to| am going to|'m gonna| am gonna| plan to| need to|"
    r" have to| should| take|'ll take| volunteer| promise)|let me|i'?ll do|will do)\b" + _NOT,
    re.IGNORECASE,
)
# A speaker asks someone else: "Bob, can you ...?", "please ...".
REQUEST = re.compile(
    r"\b(?:can|could|would|will) (?:you|someone|somebody|anyone|anybody)\b|\bplease\b|\byou (?:should|need to|could)\b|"
    r"\bwho (?:can|could|wants to|will)\b",
    re.IGNORECASE,
)
# A reply that takes a request on ("Sure.", "Yes, by Friday.", "I can do that").
ACCEPT = re.compile(
    r"^\W*(?:yes|yeah|yep|sure|ok|okay|of course|absolutely|will do|i can|i could|i will|i'll|on it|no problem|"
    r"no worries|sounds good|alright|all right|definitely|happy to|consider it done|fine|got it|let me)\b" + _NOT,
    re.IGNORECASE,
)
# A reply that turns a request down ("Sorry, I can't this month", "No, not before January").
DECLINE = re.compile(
    r"^\W*(?:no\b(?!\s+(?:problem|worries))|nope|sorry|unfortunately|i'm afraid|i am afraid)|"
    r"\b(?:i can(?:'t|not| not)|i won't|i will not|i don't have (?:the )?time|i have no time|not (?:me|this (?:week|month|time))|"
    r"i'd rather not|i would rather not|i'm (?:too busy|swamped|not able)|i am (?:too busy|not able)|"
    r"someone else (?:should|could|has to))\b",
    re.IGNORECASE,
)
# Someone else is named as taking it on: "Sam will contact the office".
THIRD_PERSON = re.compile(r"\b([A-Z][a-z]+) (?:will|is going to|can|has agreed to|volunteered to|offered to)\b")
# A speaker takes back what they just said: a date after this replaces the one before it.
CORRECTION = re.compile(
    r"\b(?:actually|wait|sorry|make (?:that|it)|let'?s say|rather|instead|on second thought|scratch that|i mean|"
    r"correction|too (?:tight|early|soon|late)|no,|(?:right|ok(?:ay)?|fine|alright|oh|ah),? then\b)",
    re.IGNORECASE,
)
# Something reported as already done: not a task to do.
DONE = re.compile(
    r"\b(?:already|(?:is|are|was|were) (?:now )?(?:done|merged|finished|fixed|shipped|sent|published|out|closed)|"
    r"(?:i|we) (?:have |'ve )?(?:finished|completed|merged|fixed|sent|shared|published|closed|did|wrote|submitted))\b",
    re.IGNORECASE,
)
# Someone takes a task on: "I will", "I'll", "let me", "Bob, can you", "Sam will". An action item must rest on
# such a line (see `grounding`); a wish ("it would be great to have") or a decision ("we agreed") is not one.
COMMITMENT = re.compile(
    r"\b(?:i(?:'ll|’ll| will| can| shall|'m going to| am going to|'m gonna| am gonna| plan to| promise| volunteer| "
    r"take)|let me|(?:can|could|would|will) (?:you|someone|somebody|anyone)|who (?:can|could|wants to)|please|will do|on it|(?:he|she|they) (?:will|is going to|can)\b(?! be)|"
    r"(?-i:[A-Z][a-z]+) (?:will|is going to|can|has agreed to|volunteered to|offered to)\b(?! be))"
    + _NOT
    # ... but not the call's own mechanics: "can you hear me?", "could you say that again?"
    + r"(?!\s+(?:\w+\s+)?(?:hear|see|say that|repeat|share (?:your|the) screen|unmute|mute)\b)",
    re.IGNORECASE,
)

# The clearest signs of an item: a first-person commitment, a request, a wish or decision said outright. When a long
# meeting is read as a selection (`condense`), these lines are shown first.
STRONG = re.compile(
    r"\b(?:i(?:'ll|’ll| will| can| shall|'m going to| am going to)|let me|(?:can|could|would) you|please|"
    r"(?:would|wouldn'?t it|'d) be " + PRAISE + r"|i wish|i'?d (?:like|love)|wish ?list|"
    r"we (?:decided|agreed)|(?:it'?s|that'?s) (?:decided|agreed|settled)|let'?s go with|next (?:meeting|call)|"
    r"on the agenda)\b" + _NOT,
    re.IGNORECASE,
)

WITHHELD = "(withheld: this line addressed the note-taker)"


def is_injection(line: Line) -> bool:
    return bool(INJECTION.search(line.text))


def select(lines: list[Line], pattern: re.Pattern[str], context: int = 1) -> list[Line]:
    """The lines matching `pattern`, each with `context` lines around it, in order, without the withheld ones."""
    keep: set[int] = set()
    for i, line in enumerate(lines):
        if pattern.search(line.text) and not is_injection(line):
            keep.update(range(max(0, i - context), min(len(lines), i + context + 1)))
    return [lines[i] for i in sorted(keep) if not is_injection(lines[i])]


def render(lines: list[Line]) -> str:
    """Lines as the model reads them, with a gap marker where lines were left out."""
    out: list[str] = []
    previous = None
    for line in lines:
        if previous is not None and line.number != previous + 1:
            out.append("...")
        out.append(line.render(WITHHELD if is_injection(line) else None))
        previous = line.number
    return "\n".join(out)
