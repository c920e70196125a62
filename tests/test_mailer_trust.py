"""Mistakes and hostile settings the mailer refuses before anything is sent (issue 8, items 9
and 10): weak or rotated secrets, an unsubscribe address that is not https, an unknown
%%placeholder%%, a control character in a subject."""
from __future__ import annotations

import pytest

from mailer.store import Store
from mailer import tokens
from tests.mailer_support import SPRING, copy_alliance
from tests.test_mailer_cli import SECRET, imported, mailer

MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


@pytest.fixture
def alliance(tmp_path):
    root = copy_alliance(tmp_path)
    imported(root)
    return root


# --- item 9: secrets ------------------------------------------------------------------------------

@pytest.mark.parametrize("weak", ["a" * 16, " " * 40, "ab" * 20, "abcdabcdabcdabcdabcd", "passwordpassword",
                                  "0123456789012345"])
def test_a_predictable_secret_is_refused_with_a_way_to_make_one(alliance, weak):
    result = mailer(alliance, "send", SPRING, env={"MAILER_SECRET": weak})
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: MAILER_SECRET is too easy to guess (it has ")
    assert result.stderr.rstrip().endswith(f"make one with: {MAKE_ONE}")
    assert weak.strip() == "" or weak not in result.stderr                # never the secret itself
    assert not (alliance / "outbox").exists()


def test_real_secrets_pass():
    import secrets
    for _ in range(50):
        tokens.check_secret(secrets.token_urlsafe(32))
        tokens.check_secret(secrets.token_hex(16))
    tokens.check_secret("correct horse battery staple")             # a long passphrase has enough variety
    with pytest.raises(tokens.SecretError, match="too short"):
        tokens.check_secret("Zx8#qP2!")


def test_old_secrets_verify_links_already_sent_and_never_sign(tmp_path, alliance):
    old, new = "old-secret-Qm9vYmFyYmF6cXV4", "new-secret-c3BhbWVnZ3NoYW0"
    env = {"MAILER_SECRET": new, "MAILER_SECRET_OLD": f" {old} , other-secret-ZXhhbXBsZTEyMzQ"}
    signing, *verifying = tokens.secrets_from_env(env)
    assert signing == new.encode() and verifying[0] == old.encode()
    digest = "ab" * 32
    sent_last_year = tokens.make_token(old.encode(), digest)
    assert tokens.verify_token(new.encode(), sent_last_year) is None            # the new secret alone breaks it
    assert tokens.verify_token([signing, *verifying], sent_last_year) == digest
    assert tokens.Tokens(signing, "https://x.example/u", "o@x.example").token(digest) == tokens.make_token(new.encode(), digest)
    with pytest.raises(tokens.SecretError, match=r"MAILER_SECRET_OLD \(entry 2\) is too easy to guess"):
        tokens.secrets_from_env({"MAILER_SECRET": new, "MAILER_SECRET_OLD": f"{old},aaaaaaaaaaaaaaaaaaaa"})

    # the subscription service (mailer/web) accepts both, and the leave goes through
    from mailer import signups
    from mailer.store import address_hash
    from mailer.web.links import Links
    db = alliance / "data" / "mailer.sqlite3"
    token = tokens.make_token(old.encode(), address_hash("zoe@school.example"))
    digest = Links([signing, *verifying], 72).reader(token, tokens.UNSUBSCRIBE)
    assert digest == address_hash("zoe@school.example")
    assert Links([signing], 72).reader(token, tokens.UNSUBSCRIBE) is None
    with Store(db) as store:
        assert signups.leave(store, digest, "one-click") == "unsubscribed"
        assert store.subscriber("zoe@school.example")["status"] == "unsubscribed"


# --- item 10: the unsubscribe address ---------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://www.minster-vale.example/unsubscribe", "javascript:alert(1)",
                                 "ftp://x.example/u", "https://", "https://user:pw@x.example/u",
                                 "https://x.example/u#frag", "https://x.example/u\x07", "//x.example/u"])
def test_the_unsubscribe_address_must_be_https(alliance, url):
    result = mailer(alliance, "send", SPRING, env={"MAILER_UNSUBSCRIBE_URL": url})
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: MAILER_UNSUBSCRIBE_URL: ")
    assert not (alliance / "outbox").exists()


def test_plain_http_only_to_this_machine(alliance):
    result = mailer(alliance, "send", SPRING, env={"MAILER_UNSUBSCRIBE_URL": "http://127.0.0.1:8025/u"})
    assert result.exit_code == 0, result.output


# --- item 10: an unknown placeholder ---------------------------------------------------------------

def test_an_unknown_placeholder_stops_the_send_before_anyone_gets_anything(alliance):
    edition = alliance / "content" / "newsletters" / f"{SPRING}.md"
    edition.write_text(edition.read_text().replace("Welcome to", "Welcome %%name%% to"))
    result = mailer(alliance, "send", SPRING)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: stopped: content/newsletters/{SPRING}.md: %%name%% is not a placeholder the mailer fills in "
        "(it fills %%first_name%%, %%unsubscribe_url%%); correct it, or remove the percent signs. Nothing was sent")
    status = mailer(alliance, "status", SPRING)
    assert status.stdout.startswith(f"{SPRING}: 4 readers: 4 pending, 0 sending, 0 sent, 0 failed, 0 unknown")
    assert not list((alliance / "outbox").rglob("*.eml"))
    edition.write_text(edition.read_text().replace("%%name%%", "%%first_name%%"))   # corrected: it goes
    assert mailer(alliance, "send", SPRING).exit_code == 0
    assert len(list((alliance / "outbox").rglob("*.eml"))) == 4


def test_an_unknown_placeholder_in_a_course_names_the_course(alliance):
    course = alliance / "courses" / "send-twilight.md"
    course.write_text(course.read_text().replace("Adaptive teaching", "Adaptive %%teaching%%"))
    for args in (["send", SPRING], ["preview", SPRING], ["send", SPRING, "--test-to", "me@x.example"]):
        result = mailer(alliance, *args)
        assert result.exit_code == 1, args
        assert "courses/send-twilight.md: %%teaching%% is not a placeholder" in result.stderr
    assert not list((alliance / "outbox").rglob("*.eml"))


# --- item 10: control characters in a subject -------------------------------------------------------

@pytest.mark.parametrize("escape, code", [("\\0", "0000"), ("\\x07", "0007"), ("\\e", "001B")])
def test_a_control_character_in_the_subject_is_refused(alliance, escape, code):
    edition = alliance / "content" / "newsletters" / f"{SPRING}.md"
    edition.write_text(edition.read_text().replace('subject: "Spring at', f'subject: "Spring{escape} at'))
    result = mailer(alliance, "send", SPRING)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"content/newsletters/{SPRING}.md:2: subject: holds an invisible control character (U+{code}) after "
        "'Spring'; delete it (retype the line if you cannot see it)")
    assert not (alliance / "outbox").exists()
