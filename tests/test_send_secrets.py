"""The API key (and the SMTP password) appear in no output of the CLI, no log record (DEBUG), no
file under the test's folders, and not in the SQLite database's bytes (WAL included), whatever
happens: a send, faults, a provider that echoes the key back, a wrong key, a dry run, proofs."""
from __future__ import annotations

import base64
import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.provider_fixtures import SMTP_PASSWORD, SMTP_USER, smtp_server  # noqa: F401  (fixture)
from tests.provider_server import ProviderServer
from tests.send_support import SPRING, WINTER, alliance_with, api_env, mailer, smtp_env

KEY = "key-DISTINCTIVE-7f3a9c51e2d04b86"


def forms(secret: str) -> list[bytes]:
    """The secret as it could leak: plain, in basic auth, URL-encoded, in UTF-16 (SQLite can hold it so)."""
    return [secret.encode(), base64.b64encode(f"api:{secret}".encode()), quote(secret, safe="").encode(),
            secret.encode("utf-16-le")]


def assert_nowhere(secret: str, texts: list[str], folder: Path) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "mailer.sqlite3" for p in files) and files
    for form in forms(secret):
        for text in texts:
            assert form.decode("latin-1") not in text
        for path in files:
            assert form not in path.read_bytes(), path


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid"])
def test_the_api_key_is_never_shown_logged_or_written(tmp_path, caplog, provider):
    caplog.set_level(logging.DEBUG)
    root = alliance_with(tmp_path, extra=6)
    texts: list[str] = []

    def run(*args, env):
        result = mailer(root, "-vv", *args, env=env)
        texts.extend([result.stdout, result.stderr])
        return result

    with ProviderServer(provider, api_key=KEY) as server:
        env = api_env(server)
        assert run("send", WINTER, "--dry-run", "--list", env=env).exit_code == 0
        assert run("send", SPRING, "--test-to", "editor@minster-vale.example", env=env).exit_code == 0
        server.fail_next(422, message=f"the key {KEY} may not send to this address")   # echoed back
        server.fail_next(429, retry_after="0")
        server.reset_next(after_processing=True)
        result = run("send", WINTER, "--batch-size", "2", env=env)
        assert result.exit_code == 0, result.output
        assert "2 failed" in result.stdout and "2 readers reconciled after a lost answer (2 had been taken" in result.stdout
        assert "the key *** may not send" in result.stderr          # the provider's message, scrubbed
        assert run("status", WINTER, "--list", "failed", env=env).exit_code == 0
        assert run("sync", env=env).exit_code == 0
        server.api_key = "key-the-server-expects-another"             # our key is refused now
        refused = run("send", SPRING, env=env)
        assert refused.exit_code == 1 and "HTTP 401" in refused.stderr
        assert server.invalid == []
    texts.append(caplog.text)
    assert "mailer.providers" in caplog.text            # the providers did log, at DEBUG
    assert_nowhere(KEY, texts, tmp_path)


def test_the_smtp_password_is_never_shown_logged_or_written(tmp_path, caplog, smtp_server):
    caplog.set_level(logging.DEBUG)
    root = alliance_with(tmp_path)
    _controller, recorder, port = smtp_server(auth=True)
    url = f"smtp://{quote(SMTP_USER, safe='')}:{quote(SMTP_PASSWORD, safe='')}@127.0.0.1:{port}"
    texts = []
    for args in (["send", WINTER], ["send", SPRING, "--test-to", "editor@minster-vale.example"], ["sync"]):
        result = mailer(root, "-vv", *args, env=smtp_env(port, MAILER_SMTP_URL=url))
        assert result.exit_code == 0, result.output
        texts += [result.stdout, result.stderr]
    assert len(recorder.delivered) == 5 + 4 and all(d.authenticated for d in recorder.delivered)
    wrong = url.replace(quote(SMTP_PASSWORD, safe=""), quote(SMTP_PASSWORD + "x", safe=""))
    refused = mailer(root, "send", SPRING, env=smtp_env(port, MAILER_SMTP_URL=wrong))
    assert refused.exit_code == 1 and "login refused" in refused.stderr
    texts += [refused.stdout, refused.stderr, caplog.text]
    assert_nowhere(SMTP_PASSWORD, texts, tmp_path)
    assert_nowhere(SMTP_PASSWORD + "x", texts, tmp_path)
