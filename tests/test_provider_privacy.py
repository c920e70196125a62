"""What the API providers are told and what their errors say: tracking is off in every request
(issue 8, item 7) and the API key never reaches an error's final text (item 9)."""
from __future__ import annotations

import json
from urllib.parse import quote, unquote

import pytest

from mailer.providers.base import AuthError, RejectedError
from tests.provider_fixtures import api_server, make_batch, mailgun_server, sendgrid_server  # noqa: F401
from tests.test_providers import provider_for

NO_TRACKING = {
    "mailgun": {"o:tracking": "no", "o:tracking-clicks": "no", "o:tracking-opens": "no"},
    "sendgrid": {"click_tracking": {"enable": False, "enable_text": False}, "open_tracking": {"enable": False},
                 "subscription_tracking": {"enable": False}, "ganalytics": {"enable": False}},
}


def test_every_request_switches_tracking_off(api_server):
    with provider_for(api_server) as provider:
        provider.send(make_batch(3))
        provider.send(make_batch(2))
    assert api_server.invalid == []                  # valid under the provider's OpenAPI spec
    messages = api_server.messages
    assert len(messages) == 5
    assert [m.tracking for m in messages] == [NO_TRACKING[api_server.provider]] * 5


def test_the_server_checks_the_tracking_values_against_the_spec(api_server):
    """The validation is real: a value the spec does not allow is refused."""
    with provider_for(api_server) as provider:
        if api_server.provider == "mailgun":
            fields = [(k, "off" if k == "o:tracking" else v) for k, v in provider.build_fields(make_batch())]
            call = dict(files=[(k, (None, v.encode())) for k, v in fields])
            path = f"/v3/{api_server.domain}/messages"
        else:
            payload = provider.build_payload(make_batch())
            payload["tracking_settings"]["open_tracking"]["enable"] = "no"
            call = dict(data=json.dumps(payload), headers={"Content-Type": "application/json"})
            path = "/v3/mail/send"
        with pytest.raises(RejectedError):
            provider._http.request("POST", path, idempotent=False, **call)
    assert len(api_server.invalid) == 1 and api_server.accepted_requests == 0
    assert "tracking" in " ".join(api_server.invalid[0].errors)


KEY = "key-S3cret-Do.Not~Show 42"


@pytest.mark.parametrize("form", [
    KEY, KEY.upper(), KEY.lower(), quote(KEY, safe=""), quote(KEY, safe="").lower(),
    quote(KEY).replace("%20", "+"), "".join(f"%{b:02X}" for b in KEY.encode()), quote(quote(KEY, safe=""), safe=""),
])
def test_the_key_is_scrubbed_from_a_redirect_location(api_server, form):
    api_server.api_key = KEY
    api_server.fail_next(302, headers={"Location": f"https://elsewhere.example/v3/send?key={form}&x=1"})
    with provider_for(api_server) as provider:
        with pytest.raises(AuthError) as caught:
            provider.send(make_batch())
    text = str(caught.value)
    assert "redirected to https://elsewhere.example/v3/send?key=***&x=1" in text
    assert KEY.lower() not in unquote(unquote(text)).lower().replace("+", " ")


def test_the_key_is_scrubbed_from_a_long_provider_message(api_server):
    """A key that straddles the point where a long message is cut is still scrubbed."""
    api_server.api_key = KEY
    api_server.fail_next(400, message="x" * 485 + f" the key {KEY} is wrong")
    with provider_for(api_server) as provider:
        with pytest.raises(RejectedError) as caught:
            provider.send(make_batch())
    assert "key-S" not in str(caught.value)
