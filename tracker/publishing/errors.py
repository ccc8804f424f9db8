"""How a publishing attempt can fail, as the outbox needs to know it: retry (when?), or give up.

Every error message that may end up in `publication.last_error` or a log line goes through `redact()` first:
HTTP client exceptions like to echo request headers, and those carry tokens.
"""

from __future__ import annotations

from collections.abc import Iterable


class PublishError(Exception):
    """An attempt failed; the message is one line and already free of secrets."""


class RetryLater(PublishError):
    """Transient: try again later. `wait` is what the server asked for (Retry-After, rate-limit reset), if anything."""

    def __init__(self, message: str, wait: float | None = None, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.wait = wait
        # The request may have taken effect (timeout, reset or 5xx after it was sent): the next attempt must look
        # for the marker before creating anything. (The publisher does that on every retry anyway; this is for logs.)
        self.outcome_unknown = outcome_unknown


class PermanentError(PublishError):
    """Retrying cannot help (bad credentials, no such repository, refused content): the row fails at once."""


class NotReady(PublishError):
    """A prerequisite is missing (e.g. the issue an archive links to has no URL yet): stay pending, no attempt used."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by ***, also the registered ones (tracker.logs), cut to one line."""
    from tracker import logs

    known = {s for s in secrets if s and len(s) >= 4} | set(getattr(logs, "_secrets", ()))
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, "***")
    line = " ".join(text.split())
    return line if len(line) <= 500 else line[:497] + "..."
