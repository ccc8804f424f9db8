"""From one transcribed window to transcript segments: true times, one speaker, and no hallucinated text.

Whisper's own segment times drift across the pauses of a packed window, so segments are rebuilt from the words:
each word goes back to the speech region (utterance) it was heard in and gets that region's time on the meeting
timeline; a segment is the words of one utterance (long utterances split at sentence ends), starting at its
first word and ending at its last, kept inside the speech the detector heard.

Whisper's known failure on silence and noise is guarded against here, for both engines alike: segments with a high
no-speech probability and a low log-probability, Whisper's loops (repetitive output that it doubts, or one sentence
over and over; people repeat themselves too), the phrases Whisper invents on non-speech ("Thank you.", "Thanks for
watching!") when the audio gives little evidence of speech, sound captions ("[Music]"), and echoes of the vocabulary
prompt.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from .engines import DecodeOptions, EngineSegment, EngineWord
from .types import Segment, Word
from .wer import normalize_text
from .windows import Window

log = logging.getLogger(__name__)

# What Whisper writes on silence, noise, music or breathing (from its issue tracker and the subtitle data it was
# trained on), as patterns over normalized text (see `wer.normalize_text`).
_HALLUCINATION = re.compile(
    r"^(?:"
    r"(?:thank you|thanks)(?: (?:very|so|very very) much)?(?: (?:all|everyone|guys))?"
    r"(?: (?:for watching|for listening|for your attention))?"
    r"|(?:please )?(?:like and )?subscribe(?: to (?:the|my|our) channel)?"
    r"|subtitles?(?: by.*)?|.*amara org.*|transcription by.*|translated by.*"
    r"|(?:bye|goodbye|bye bye)(?: bye)*|see you (?:next time|in the next video)"
    r"|you|oh|hmm|uh|um|mm hmm|so|okay|im sorry|the end|silence|music"
    r")$"
)
KNOWN_HALLUCINATIONS = (  # examples the pattern covers (tests use them)
    "Thank you.",
    "Thank you very, very much.",
    "Thanks for watching!",
    "Please subscribe.",
    "Subtitles by the Amara.org community",
    "Bye.",
    "you",
)
MAX_WORDS_PER_SECOND = 6.0  # faster than anyone speaks: text the audio cannot hold
WEAK_SPEECH = 0.65  # mean detector probability below which a region may well be noise
_SOUND_CAPTION = re.compile(r"^\s*([\[(].*?[\])]\s*|[♪♫*.…\s-]+)+$")  # "[Music]", "(upbeat music)", "♪ ♪", "..."
_SENTENCE_END = (".", "?", "!")
LOOP_REPEATS = 3  # a sentence said this often in one segment is Whisper's loop, not a person
SPLIT_AFTER_SECONDS = 8.0  # an utterance longer than this is split at its sentence ends, for readable segments


@dataclass(slots=True)
class Rejected:
    text: str
    reason: str


def rejection_reason(
    seg: EngineSegment, window: Window, options: DecodeOptions, prompt_words: frozenset[str] = frozenset()
) -> str | None:
    """Why `seg` must not reach the transcript, or None when it is good."""
    text = seg.text.strip()
    if not text or _SOUND_CAPTION.match(text):
        return "no words"
    if seg.no_speech_prob > options.no_speech_threshold and seg.avg_logprob < options.log_prob_threshold:
        return f"no speech (p={seg.no_speech_prob:.2f}, logprob {seg.avg_logprob:.2f})"
    norm = normalize_text(text)
    words = norm.split()
    regions = _regions_of(seg, window)
    speech_prob = sum(r.probability for r in regions) / len(regions) if regions else 0.0
    word_prob = sum(w.probability for w in seg.words) / len(seg.words) if seg.words else 1.0
    # Real speech: the detector is sure (> 0.8) and Whisper is too (no-speech < 0.1). Noise that slipped past the
    # detector: both doubt it, and whatever Whisper wrote is invented.
    if speech_prob < WEAK_SPEECH and (seg.no_speech_prob > 0.4 or word_prob < 0.45):
        return f"little evidence of speech (detector {speech_prob:.2f}, no-speech {seg.no_speech_prob:.2f})"
    if seg.no_speech_prob > 0.6 and word_prob < 0.5:
        return f"Whisper doubts it is speech (no-speech {seg.no_speech_prob:.2f}, words {word_prob:.2f})"
    doubtful = seg.no_speech_prob > 0.3 or word_prob < 0.6 or speech_prob < 0.7
    # People repeat themselves too (a status round says "the X is in a good state" of every X): repetitive text
    # is Whisper's loop when one sentence comes back again and again, or when the words or the detector are unsure
    # (not the no-speech probability: over a long window of clear speech it reads 0.3 and more).
    unsure = word_prob < 0.6 or speech_prob < 0.7
    if seg.compression_ratio > options.compression_ratio_threshold and (unsure or _loops(text, words)):
        return f"repetitive (compression ratio {seg.compression_ratio:.1f})"
    if doubtful and _HALLUCINATION.match(norm):
        return "typical hallucination on non-speech"
    if doubtful and prompt_words and words and set(words) <= prompt_words:
        return "echo of the vocabulary prompt"
    speech_seconds = sum(r.speech_end - r.speech_start for r in regions)
    if len(words) >= 3 and len(words) > MAX_WORDS_PER_SECOND * max(speech_seconds, 0.1):
        return f"{len(words)} words in {speech_seconds:.1f} s of speech"
    if len(words) >= 4 and len(set(words)) * 3 <= len(words) and (doubtful or len(words) >= 8):
        return "one word repeated"  # Whisper's loop ("sorry, sorry, sorry, ..."); people stop sooner
    return None


def _loops(text: str, words: list[str]) -> bool:
    """Whisper's loop: one sentence (or a few words) said over and over. `words`: the text normalized."""
    sentences = [said for x in re.split(r"(?<=[.?!])\s+", text) if (said := normalize_text(x))]
    most = max((sentences.count(x) for x in sentences), default=0)
    return most >= LOOP_REPEATS or (len(words) >= 4 and len(set(words)) * LOOP_REPEATS <= len(words))


def _regions_of(seg: EngineSegment, window: Window) -> list:
    """The speech regions the segment's audio lies in (by its words when it has them)."""
    if seg.words:
        lo, hi = seg.words[0].start, seg.words[-1].end
    else:
        lo, hi = seg.start, seg.end
    a, b = window.region_index(lo), window.region_index(max(lo, hi - 0.01))
    return window.regions[a : b + 1]


def heard_until(window: Window, results: list[EngineSegment]) -> tuple[int, float]:
    """(index of the last region any word was heard in, window time of the last word's end); (-1, 0.0) if none.

    Whisper sometimes ends a window early (end-of-text after a few utterances); what follows is decoded again.
    """
    last_index, last_end = -1, 0.0
    for seg in results:
        for w in seg.words or [EngineWord(seg.start, seg.end, seg.text, 1.0)]:
            if w.text.strip():
                last_index = max(last_index, window.region_index((w.start + w.end) / 2))
                last_end = max(last_end, w.end)
    return last_index, last_end


def window_segments(
    window: Window,
    results: list[EngineSegment],
    *,
    speaker: str,
    track: str,
    options: DecodeOptions,
    prompt: str | None = None,
) -> tuple[list[Segment], list[Rejected]]:
    """Transcript segments (meeting times) for one window, and what was rejected and why."""
    prompt_words = frozenset(normalize_text(prompt).split()) if prompt else frozenset()
    rejected: list[Rejected] = []
    # (region index, engine segment index, word on the timeline)
    placed: list[tuple[int, int, Word]] = []
    for k, seg in enumerate(results):
        reason = rejection_reason(seg, window, options, prompt_words)
        if reason:
            rejected.append(Rejected(seg.text.strip(), reason))
            log.debug("%s: dropped %r: %s", track, seg.text.strip(), reason)
            continue
        engine_words = seg.words or [EngineWord(seg.start, seg.end, seg.text, 1.0)]
        for w in engine_words:
            if not w.text.strip():
                continue
            index = window.region_index((w.start + w.end) / 2)
            start = window.to_timeline(w.start, index)
            end = max(start, window.to_timeline(w.end, index))
            placed.append((index, k, Word(start, end, w.text, w.probability)))

    pieces: list[tuple[int, list[Word]]] = []  # (region index, words) in order
    last_k = -1
    for index, k, word in placed:
        if pieces:
            last_index, words = pieces[-1]
            sentence_break = (
                k != last_k
                and words[-1].text.rstrip().endswith(_SENTENCE_END)
                and words[-1].end - words[0].start >= SPLIT_AFTER_SECONDS
            )
            if index == last_index and not sentence_break:
                words.append(word)
                last_k = k
                continue
        pieces.append((index, [word]))
        last_k = k

    segments: list[Segment] = []
    for i, (index, words) in enumerate(pieces):
        first = i == 0 or pieces[i - 1][0] != index
        last = i == len(pieces) - 1 or pieces[i + 1][0] != index
        segment = _segment(words, window.regions[index], speaker, track, first, last)
        if segment.text:
            segments.append(segment)
    return segments, rejected


# A region begins and ends with speech (that is how the detector cut it), so its first segment starts where the
# speech starts and its last ends where it ends, unless the words say otherwise by more than this (Whisper left
# something out). Cross-attention word times are often late on a short first word ("Yes,") by a few tenths.
_SNAP = 1.0


def _segment(words: list[Word], region, speaker: str, track: str, first: bool, last: bool) -> Segment:
    # Word times from cross-attention are good to a few tenths of a second; the detector's speech bounds are good
    # to about as much (a soft onset is heard late). Words stay inside the region's audio, and a first word that
    # starts after the detected onset (or a last one that ends before the detected end) is moved to it.
    for w in words:
        w.start = min(max(w.start, region.start), region.end)
        w.end = min(max(w.end, w.start), region.end)
    if first and 0.0 < words[0].start - region.speech_start < _SNAP:
        words[0].start = region.speech_start
    if last and 0.0 < region.speech_end - words[-1].end < _SNAP:
        words[-1].end = region.speech_end
    start = min(w.start for w in words)
    end = max(w.end for w in words)
    if end - start < 0.05:
        end = start + 0.05
    text = " ".join("".join(w.text for w in words).split())
    words = [Word(round(w.start, 3), round(w.end, 3), w.text.strip(), round(w.probability, 3)) for w in words]
    return Segment(speaker=speaker, start=start, end=end, text=text, track=track, words=words)
