"""Speech addressed to the note-taker: one pattern, shared by the line splitter and the cue selection."""

from __future__ import annotations

import re

# Speech addressed to the note-taker instead of the people in the call. Such lines are withheld from every prompt
# and nothing may be grounded on them: the transcript is data, never instructions.
INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,30}\b(?:instructions?|prompts?|rules)\b|"
    r"\b(?:ignore|disregard|forget)\s+(?:all|everything)\s+(?:of\s+)?(?:the\s+)?(?:above|previous|prior|earlier)\b|"
    r"\b(?:system|developer) (?:prompt|message|instructions?)\b|"
    r"\b(?:you are|you're|act as|pretend to be) (?:now )?(?:an? |the )?(?:\w+ )?"
    r"(?:ai|assistant|language model|chat ?gpt|bot|"
    r"summari[sz]er|note[- ]?taker)\b|"
    r"\b(?:dear|hey|attention|note to the|to the) (?:ai|assistant|bot|model|summari[sz]er|note[- ]?taker|llm)\b|"
    r"\b(?:ai|assistant|bot|model|summari[sz]er|note[- ]?taker|llm),? (?:please )?(?:add|file|create|open|record|"
    r"write|list|output|ignore|include|make)\b|"
    r"\b(?:file|open|create|add) (?:\w+ ){0,2}(?:fifty|hundred|hundreds|thousand|dozens?|\d{2,}) "
    r"(?:\w+ )?(?:issues|tickets|action items|items|wishes|bugs)\b",
    re.IGNORECASE,
)
