"""Suppressions: an address unsubscribed here, or unsubscribed, bounced or complained about at the
provider (seeded in the loopback server), is never sent to; `sync` fetches every page."""
from __future__ import annotations

import math

import pytest

from mailer.providers import make_provider
from mailer.providers.outbox import OutboxProvider
from mailer.send import SendRun
from mailer.store import Store, address_hash
from mailer.suppressions import sync
from tests.mailer_support import composer
from tests.provider_fixtures import api_server, smtp_server  # noqa: F401  (fixtures)
from tests.send_support import (SECRET, WINTER, alliance_with, api_env, count_per_address,
                                db_path, mailer, smtp_env)

LISTS = {"mailgun": ("unsubscribes", "bounces", "complaints"),
         "sendgrid": ("unsubscribes", "bounces", "spam_reports")}


def test_unsubscribed_here_or_suppressed_at_the_provider_is_never_sent_to(tmp_path, api_server):
    root = alliance_with(tmp_path)
    assert mailer(root, "subscribers", "unsubscribe", "zoe@school.example").exit_code == 0
    unsubscribes, bounces, complaints = LISTS[api_server.provider]
    api_server.seed(unsubscribes, ["Friend@Mail.example"])
    api_server.seed(bounces, ["lukasz@school.example", "gone@elsewhere.example"])
    api_server.seed(complaints, ["head@school.example"])

    result = mailer(root, "send", WINTER, env=api_env(api_server))
    assert result.exit_code == 0, result.output
    assert count_per_address(api_server) == {"ana.primary@school.example": 1}
    assert result.stdout.splitlines()[0] == (
        f"suppressions from {api_server.provider}: 1 unsubscribed (1 new), 2 bounce (2 new), "
        "1 complaint (1 new); 3 subscribers no longer sent to")
    listing = mailer(root, "subscribers", "list").stdout
    assert "friend@mail.example\tFran Friend\tfriends\t-\tunsubscribed" in listing
    assert "lukasz@school.example\tŁukasz Wiśniewski\tteaching-assistants\tspecial\tsuppressed" in listing
    with Store(db_path(root)) as store:
        assert store.suppression(address_hash("head@school.example"))["reason"] == "complaint"
        assert store.suppression(address_hash("gone@elsewhere.example"))["source"] == api_server.provider
        assert store.total(WINTER) == 1                     # the others were never planned
    # and a later import does not make them sendable again
    again = mailer(root, "subscribers", "import", str(root / "subscribers.csv"))
    assert "4 unsubscribed or suppressed (left alone)" in again.stdout
    assert mailer(root, "send", WINTER, env=api_env(api_server)).exit_code == 0
    assert count_per_address(api_server) == {"ana.primary@school.example": 1}


def test_suppressed_at_the_provider_after_the_plan_is_skipped_with_the_reason(tmp_path, api_server):
    root = alliance_with(tmp_path)
    with Store(db_path(root)) as store:       # planned by an earlier run that stopped
        SendRun(store, composer(root, WINTER, secret=SECRET.encode()), OutboxProvider(tmp_path / "o")).plan()
        assert store.status(WINTER)["pending"] == 5
    api_server.seed(LISTS[api_server.provider][1], ["zoe@school.example"])
    result = mailer(root, "send", WINTER, env=api_env(api_server))
    assert result.exit_code == 0, result.output
    assert "zoe@school.example" not in count_per_address(api_server) and len(count_per_address(api_server)) == 4
    assert f"{WINTER}: 4 sent through {api_server.provider}, 0 failed, 0 unknown, 1 skipped in " in result.stdout
    with Store(db_path(root)) as store:
        skipped = list(store.rows_in_state(WINTER, "skipped"))
    assert [(r["email"], r["reason"]) for r in skipped] == [
        ("zoe@school.example", f"suppressed: bounce ({api_server.provider})")]


def test_sync_prints_counts_per_reason_and_follows_every_page(tmp_path, api_server):
    root = alliance_with(tmp_path)
    page = 1000 if api_server.provider == "mailgun" else 500       # the providers' own page sizes
    unsubscribes, bounces, complaints = LISTS[api_server.provider]
    api_server.seed(bounces, [f"bounced{i:04d}@elsewhere.example" for i in range(page)] + ["zoe@school.example"])
    api_server.seed(complaints, ["head@school.example"])
    result = mailer(root, "sync", env=api_env(api_server))
    assert result.exit_code == 0, result.output
    line = result.stdout.strip()
    assert line.startswith(f"suppressions from {api_server.provider}: 0 unsubscribed (0 new), "
                           f"{page + 1} bounce ({page + 1} new), 1 complaint (1 new); "
                           "2 subscribers no longer sent to (")
    assert len(api_server.requests_to(bounces)) >= 2 and api_server.invalid == []
    again = mailer(root, "sync", env=api_env(api_server))
    assert f"{page + 1} bounce (0 new), 1 complaint (0 new); 0 subscribers no longer sent to" in again.stdout
    with Store(db_path(root)) as store:
        assert store.counts()["sendable"] == 3


def test_small_pages_are_all_fetched(tmp_path, api_server):
    root = alliance_with(tmp_path)
    for n, kind in zip((3, 5, 1), LISTS[api_server.provider]):
        api_server.seed(kind, [f"{kind}{i}@elsewhere.example" for i in range(n)])
    provider = make_provider(api_server.settings(), page_size=2)
    with provider, Store(db_path(root)) as store:
        report = sync(store, provider)
    assert report.fetched == {"unsubscribed": 3, "bounce": 5, "complaint": 1}
    assert report.new == report.fetched and report.stopped == 0
    for n, kind in zip((3, 5, 1), LISTS[api_server.provider]):
        pages = len(api_server.requests_to(f"/{kind}"))
        assert pages >= math.ceil(n / 2)
    assert api_server.invalid == []


@pytest.mark.parametrize("provider", ["outbox", "smtp"])
def test_sync_without_a_suppression_list_says_so(tmp_path, smtp_server, provider):
    root = alliance_with(tmp_path)
    env = {} if provider == "outbox" else smtp_env(smtp_server()[2])
    result = mailer(root, "sync", env=env)
    assert (result.exit_code, result.stdout) == (
        0, f"the {provider} provider keeps no suppression list: nothing to sync\n")


def test_the_dry_run_reads_the_providers_suppressions_and_writes_nothing(tmp_path, api_server):
    root = alliance_with(tmp_path)
    api_server.seed(LISTS[api_server.provider][1], ["zoe@school.example"])
    result = mailer(root, "send", WINTER, "--dry-run", env=api_env(api_server))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "friends--all-phases\t1", "leaders--all-phases\t1", "teachers--all-phases\t1",
        "teaching-assistants--all-phases\t1",
        f"dry run: 4 readers would get {WINTER} in 4 variants through {api_server.provider} "
        f"(1 more suppressed at {api_server.provider}); nothing was sent"]
    with Store(db_path(root)) as store:
        assert store.total(WINTER) == 0 and store.counts()["suppressed"] == 0
    assert api_server.accepted_requests == 0
