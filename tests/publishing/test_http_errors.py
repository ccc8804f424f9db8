"""The one HTTP error classifier of the publishing clients, row by row, through a real httpx client whose transport
answers or fails as a server or a network would (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import pytest

from tracker.publishing.discord_rest import DISCORD
from tracker.publishing.errors import PermanentError, RetryLater
from tracker.publishing.forum import DISCOURSE
from tracker.publishing.http_errors import retry_wait, send

SECRET = "tok-ABCDEFGH123456"


def _client(answer) -> httpx.Client:
    return httpx.Client(base_url="http://api.test", transport=httpx.MockTransport(answer))


def _send(answer, service=DISCORD, method="POST"):
    with _client(answer) as client:
        return send(client, service, method, "/x", "post minutes", secrets=[SECRET], default_wait=7.0)


@pytest.mark.parametrize(
    ("error", "said", "unknown_if_written"),
    [
        (httpx.ConnectTimeout("slow"), "cannot connect to Discord (ConnectTimeout)", False),
        (httpx.ConnectError("refused"), "cannot connect to Discord (ConnectError)", False),
        (httpx.ReadTimeout("slow"), "no answer from Discord in time (ReadTimeout)", True),
        (httpx.RemoteProtocolError(f"reset with {SECRET}"), "connection to Discord failed (RemoteProtocolError", True),
    ],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_network_failures_are_retried_and_say_whether_a_write_may_have_happened(
    error, said, unknown_if_written, method
):
    def fail(request):
        raise error

    with pytest.raises(RetryLater) as raised:
        _send(fail, method=method)
    assert str(raised.value).startswith(f"post minutes: {said}")
    assert raised.value.outcome_unknown is (unknown_if_written and method != "GET")  # a read changes nothing
    assert SECRET not in str(raised.value)
    if isinstance(error, httpx.RemoteProtocolError):  # an unexpected failure keeps its own words, secrets masked
        assert "reset with ***" in str(raised.value)


def test_a_success_is_its_json_an_empty_body_is_an_empty_dict_and_no_json_is_retried():
    assert _send(lambda r: httpx.Response(200, json={"id": "9"})) == {"id": "9"}
    assert _send(lambda r: httpx.Response(204)) == {}
    with pytest.raises(RetryLater, match="the forum answered 200 without JSON") as raised:
        _send(lambda r: httpx.Response(200, text="<html>maintenance</html>"), service=DISCOURSE)
    assert raised.value.outcome_unknown


def test_rate_limits_wait_what_the_server_asks_header_first_then_body_then_the_default():
    header = httpx.Response(429, headers={"Retry-After": "12"}, json={"message": "slow down", "retry_after": 3})
    with pytest.raises(RetryLater) as raised:
        _send(lambda r: header)
    assert raised.value.wait == 12.0 and "Discord answered 429 slow down" in str(raised.value)
    with pytest.raises(RetryLater) as raised:
        _send(lambda r: httpx.Response(429, json={"retry_after": 3.5}))
    assert raised.value.wait == 3.5
    with pytest.raises(RetryLater) as raised:
        _send(lambda r: httpx.Response(429, json={"extras": {"wait_seconds": 40}}), service=DISCOURSE)
    assert raised.value.wait == 40.0
    with pytest.raises(RetryLater) as raised:
        _send(lambda r: httpx.Response(429, headers={"Retry-After": "soon"}, json={"retry_after": True}))
    assert raised.value.wait == 7.0  # nothing usable: the default


def test_retry_wait_never_goes_negative_and_skips_what_is_not_a_number():
    response = httpx.Response(429, headers={"Retry-After": "-5"})
    assert retry_wait(response, (), 9.0) == 0.0
    assert retry_wait(httpx.Response(429), (None, "x", 2), 9.0) == 2.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_and_a_write_may_have_happened(status):
    with pytest.raises(RetryLater) as raised:
        _send(lambda r: httpx.Response(status, json={"message": "oops"}))
    assert raised.value.outcome_unknown and f"Discord answered {status} oops" in str(raised.value)


def test_refused_credentials_fail_at_once_and_name_the_setting_to_check():
    with pytest.raises(PermanentError, match="check WGBOT_DISCORD_TOKEN$"):
        _send(lambda r: httpx.Response(401, json={"message": "401: Unauthorized"}))
    with pytest.raises(PermanentError) as raised:
        _send(lambda r: httpx.Response(403, json={"message": "Missing Access"}))
    assert "WGBOT_DISCORD_TOKEN" not in str(raised.value)  # on Discord a 403 is a permission, not the token
    with pytest.raises(PermanentError, match="check WGBOT_FORUM_API_KEY and WGBOT_FORUM_API_USERNAME$"):
        _send(lambda r: httpx.Response(403, json={"errors": ["not allowed"]}), service=DISCOURSE)


def test_discourses_consecutive_reply_limit_says_how_to_fix_it():
    body = {"errors": ["You've reached the maximum number of replies in a row"]}
    with pytest.raises(PermanentError, match="make the API user staff") as raised:
        _send(lambda r: httpx.Response(422, json=body), service=DISCOURSE)
    assert "the forum answered 422 You've reached" in str(raised.value)
    with pytest.raises(PermanentError) as raised:
        _send(lambda r: httpx.Response(422, json={"errors": ["Title is too short"]}), service=DISCOURSE)
    assert "staff" not in str(raised.value)


def test_an_error_body_that_is_not_an_object_is_still_a_clear_error():
    with pytest.raises(PermanentError, match=r"^post minutes: Discord answered 400$"):
        _send(lambda r: httpx.Response(400, json=["unexpected"]))
    with pytest.raises(PermanentError, match=r"^post minutes: the forum answered 404$"):
        _send(lambda r: httpx.Response(404, text="Not Found"), service=DISCOURSE)


def test_secrets_in_an_error_body_never_reach_the_message():
    with pytest.raises(PermanentError) as raised:
        _send(lambda r: httpx.Response(400, json={"message": f"bad header Bot {SECRET}"}))
    assert SECRET not in str(raised.value) and "***" in str(raised.value)
