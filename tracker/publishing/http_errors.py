"""The one HTTP error classifier of the REST clients that publish (Discord, Discourse): a failed request becomes
`RetryLater` (when, and whether the write may have happened) or `PermanentError`, table-driven like httpx's own
exception mapping. Each service says only what differs: its name, how its error bodies read, its credentials and
the waits it asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from tracker.publishing.errors import PermanentError, RetryLater, redact

# Transport failures, most specific first: (exception, what to say, may a write have reached the server?)
TRANSPORT_ERRORS: tuple[tuple[type[httpx.TransportError], str, bool], ...] = (
    (httpx.ConnectTimeout, "cannot connect to {service}", False),
    (httpx.ConnectError, "cannot connect to {service}", False),
    (httpx.TimeoutException, "no answer from {service} in time", True),
    (httpx.TransportError, "connection to {service} failed", True),
)


@dataclass(frozen=True)
class Service:
    name: str  # as in "cannot connect to {name}": "Discord", "the forum"
    credentials_hint: str  # appended to a 401 (and 403 where `forbidden_is_credentials`)
    describe: Callable[[dict], str]  # the server's own words from an error body
    waits: Callable[[dict], Iterable[object]] = lambda body: ()  # wait values a 429 body offers, besides Retry-After
    forbidden_is_credentials: bool = False
    # (status, words in the server's message) → a hint for refusals a person can fix
    hints: dict[int, tuple[tuple[str, ...], str]] = field(default_factory=dict)


def send(
    client: httpx.Client,
    service: Service,
    method: str,
    path: str,
    action: str,
    *,
    secrets: Iterable[str | None],
    default_wait: float,
    **kwargs,
) -> dict:
    """The request's JSON body (an empty dict for an empty one), or the classified error."""
    writes = method != "GET"
    secrets = list(secrets)
    try:
        response = client.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        for kind, what, unknown in TRANSPORT_ERRORS:
            if isinstance(exc, kind):
                detail = type(exc).__name__ if kind is not httpx.TransportError else f"{type(exc).__name__}: {exc}"
                message = f"{action}: {what.format(service=service.name)} ({detail})"
                raise RetryLater(redact(message, secrets), outcome_unknown=writes and unknown) from None
        raise  # pragma: no cover - TransportError is the last row
    if response.is_success:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            text = f"{action}: {service.name} answered {response.status_code} without JSON"
            raise RetryLater(redact(text, secrets), outcome_unknown=writes) from None
    raise classify(service, action, response, writes=writes, secrets=secrets, default_wait=default_wait)


def classify(
    service: Service,
    action: str,
    response: httpx.Response,
    *,
    writes: bool,
    secrets: Iterable[str | None],
    default_wait: float,
) -> RetryLater | PermanentError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    said = service.describe(body)
    text = redact(f"{action}: {service.name} answered {status}" + (f" {said}" if said else ""), secrets)
    if status == 429:
        return RetryLater(text, wait=retry_wait(response, service.waits(body), default_wait))
    if status >= 500:
        return RetryLater(text, outcome_unknown=writes)
    if status == 401 or (status == 403 and service.forbidden_is_credentials):
        return PermanentError(text + service.credentials_hint)
    words, hint = service.hints.get(status, ((), ""))
    if any(w in said for w in words):
        return PermanentError(text + hint)
    return PermanentError(text)


def retry_wait(response: httpx.Response, offered: Iterable[object], default: float) -> float:
    """Seconds to wait before retrying: Retry-After, else the first number the body offers, else `default`."""
    for value in (response.headers.get("Retry-After"), *offered):
        if isinstance(value, bool) or value is None:
            continue
        try:
            return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return default
