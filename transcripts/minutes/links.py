"""Links mentioned in the call: URLs typed in the text chat, and web addresses spoken aloud.

Code only (no model): a link is either there, character for character, or it is not. Spoken addresses come out of
Whisper as "github.com/org/repo" or "example dot org slash docs"; both are recognized for common top-level domains.
"""

from __future__ import annotations

import re

MAX_LINKS = 30
_TLDS = r"(?:com|org|net|io|dev|ai|app|edu|gov|info|rs|me|co|uk|de|eu|fr|nl|ch|ca|us|xyz|tech|cloud|page|site)"
_URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.IGNORECASE)
_BARE = re.compile(
    rf"\b(?:www\.)?(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+{_TLDS}\b(?:/[^\s<>\"'`)\],]*)?", re.IGNORECASE
)
_SPOKEN_DOT = re.compile(r"(?<=[a-z0-9])\s+dot\s+(?=[a-z0-9])", re.IGNORECASE)
_SPOKEN_SLASH = re.compile(r"(?<=[a-z0-9])\s+(?:slash|forward slash)\s+(?=[a-z0-9])", re.IGNORECASE)
_TRAILING = ".,;:!?)'\""


def _normalize_spoken(text: str) -> str:
    text = _SPOKEN_DOT.sub(".", text)
    return _SPOKEN_SLASH.sub("/", text)


def find_links(*texts: str | None) -> list[str]:
    """Every distinct link in `texts`, in order of appearance; bare domains get https://."""
    found: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        urls = [m.group(0) for m in _URL.finditer(text)]
        rest = _URL.sub(" ", text)
        spoken = _normalize_spoken(rest)
        bare = [m.group(0) for m in _BARE.finditer(spoken)]
        for link in urls + [b if b.lower().startswith("http") else "https://" + b for b in bare]:
            link = link.rstrip(_TRAILING)
            key = link.lower().rstrip("/")
            if key and key not in {k.lower().rstrip("/") for k in found}:
                found[link] = None
    return list(found)[:MAX_LINKS]
