"""Meeting time as text: seconds from the meeting's start in each form wgbot prints, one function per form."""

from __future__ import annotations


def _hms(seconds: float) -> tuple[int, int, int]:
    total = max(0, int(seconds))  # floor: a time anchor never points past the moment it names
    hours, rest = divmod(total, 3600)
    return hours, rest // 60, rest % 60


def short(seconds: float) -> str:
    """m:ss, or h:mm:ss past the first hour: the minutes' time links, the web pages, the model's prompts."""
    hours, minutes, secs = _hms(seconds)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def padded(seconds: float) -> str:
    """mm:ss, or h:mm:ss past the first hour: a transcript line's time (transcript.md, voice captures)."""
    hours, minutes, secs = _hms(seconds)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def full(seconds: float | None) -> str:
    """HH:MM:SS, or --:--:-- for an unknown time: published transcripts and Discord messages."""
    if seconds is None:
        return "--:--:--"
    hours, minutes, secs = _hms(seconds)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def subtitle(seconds: float, separator: str = ".") -> str:
    """HH:MM:SS.mmm (WebVTT) or HH:MM:SS,mmm (SRT)."""
    millis = max(0, int(round(seconds * 1000)))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"
