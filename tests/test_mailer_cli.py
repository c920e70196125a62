"""python -m mailer through click's CliRunner: exit codes and the exact messages."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from mailer.__main__ import cli
from mailer.providers.outbox import OutboxProvider, eml_name
from mailer.send import SendRun
from mailer.store import Store
from tests.mailer_support import SPRING, WINTER, composer, copy_alliance, parse

SECRET = "cli-secret-0123456789abcdef"


@pytest.fixture
def alliance(tmp_path):
    return copy_alliance(tmp_path)


def mailer(root, *args, env=None):
    environment = {"MAILER_SECRET": SECRET, "MAILER_DB": None, "MAILER_PROVIDER": None,
                   "MAILER_FROM": None, "MAILER_UNSUBSCRIBE_URL": None, "MAILER_RATE": None}
    environment.update(env or {})
    return CliRunner().invoke(cli, ["--root", str(root), *args], env=environment, catch_exceptions=False)


def imported(root):
    result = mailer(root, "subscribers", "import", str(root / "subscribers.csv"))
    assert result.exit_code == 0, result.output
    return result


def test_import_prints_rows_and_counts(alliance):
    result = imported(alliance)
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("subscribers.csv: 5 added, 0 updated, 0 unchanged, 0 skipped, "
                                "1 without consent, 0 unsubscribed or suppressed (left alone) (6 rows in ")
    assert (alliance / "data" / "mailer.sqlite3").is_file()
    again = imported(alliance)
    assert "0 added, 0 updated, 5 unchanged" in again.stdout


def test_import_reports_bad_rows_and_goes_on(alliance, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("email,roles,consent\nnot-an-address,teacher,yes\nok@x.example,techer,yes\n"
                    "fine@x.example,teacher,yes\n", encoding="utf-8")
    result = mailer(alliance, "subscribers", "import", str(path))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == [
        "bad.csv: row 2: email: 'not-an-address' is not an email address",
        "bad.csv: row 3: roles: unknown role 'techer'; did you mean 'teacher'?",
    ]
    assert "1 added" in result.stdout and "2 skipped" in result.stdout


def test_import_without_email_column_fails(alliance, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name\nAna\n", encoding="utf-8")
    result = mailer(alliance, "subscribers", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == "error: x.csv: no email column in the header row (found: name)\n"


def test_list_export_unsubscribe_forget(alliance):
    imported(alliance)
    listing = mailer(alliance, "subscribers", "list")
    assert listing.exit_code == 0
    assert "zoe@school.example\tZoë Ångström\tteachers\tsecondary\tsubscribed" in listing.stdout
    assert listing.stdout.splitlines()[-1] == "5 subscribers: 5 sendable, 0 unsubscribed, 0 without consent"

    one = mailer(alliance, "subscribers", "export", "ZOE@school.example")
    rows = list(csv.DictReader(io.StringIO(one.stdout)))
    assert len(rows) == 1 and rows[0]["first_name"] == "Zoë" and rows[0]["consent"] == "2026-10-01"
    assert rows[0]["school"] == "Vale School, Minster"
    everyone = mailer(alliance, "subscribers", "export")
    assert len(list(csv.DictReader(io.StringIO(everyone.stdout)))) == 5

    result = mailer(alliance, "subscribers", "unsubscribe", "zoe@school.example")
    assert (result.exit_code, result.stdout) == (0, "unsubscribed zoe@school.example\n")
    result = mailer(alliance, "subscribers", "unsubscribe", "zoe@school.example")
    assert result.stdout == "zoe@school.example was already unsubscribed\n"

    result = mailer(alliance, "subscribers", "forget", "zoe@school.example")
    assert result.stdout == ("forgot zoe@school.example: personal data erased; only a hash is kept so no "
                             "import adds it again\n")
    gone = mailer(alliance, "subscribers", "export", "zoe@school.example")
    assert gone.exit_code == 0 and "only a hash remains (forgotten on" in gone.stderr
    assert "Zoë" not in mailer(alliance, "subscribers", "list").stdout
    again = imported(alliance)
    assert "1 unsubscribed or suppressed (left alone)" in again.stdout

    result = mailer(alliance, "subscribers", "forget", "nobody(at)x")
    assert (result.exit_code, result.stderr) == (1, "error: 'nobody(at)x' is not an email address\n")
    result = mailer(alliance, "subscribers", "export", "nobody@x.example")
    assert (result.exit_code, result.stderr) == (1, "no subscriber nobody@x.example\n")


def test_preview_writes_variants_and_a_summary_without_personal_data(alliance, tmp_path):
    imported(alliance)
    out = tmp_path / "preview"
    result = mailer(alliance, "preview", SPRING, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == ["2027-02-01-spring: Spring at Minster & Vale: new courses",
                                             "4 recipients in 5 variants"]
    names = sorted(p.name for p in out.iterdir())
    assert "teachers--primary.html" in names and "teachers--primary.txt" in names
    assert "teachers--all-phases.html" in names and "summary.json" in names and "summary.txt" in names
    summary = json.loads((out / "summary.json").read_text())
    by_slug = {v["variant"]: v for v in summary["variants"]}
    assert by_slug["teachers--primary"]["recipients"] == 1
    assert summary["not_sent"]["audience not in this edition"] == 1
    everything = "".join(p.read_text(encoding="utf-8") for p in out.iterdir())
    for personal in ("school.example", "Ramos", "Ångström", "Wiśniewski"):
        assert personal not in everything
    assert "Hello Sam," in (out / "teachers--primary.txt").read_text()
    assert "%%" not in everything


def test_preview_needs_no_secret_and_no_database(alliance, tmp_path):
    result = mailer(alliance, "preview", WINTER, "--out", str(tmp_path / "p"), env={"MAILER_SECRET": None})
    assert result.exit_code == 0, result.output
    assert "0 recipients in 4 variants" in result.stdout
    assert not (alliance / "data").exists()


def test_send_then_status_then_send_again(alliance):
    imported(alliance)
    result = mailer(alliance, "send", SPRING)
    assert result.exit_code == 0, result.output
    outbox = alliance / "outbox" / SPRING
    assert result.stdout.splitlines()[0].startswith(f"{SPRING}: 4 sent to {outbox}, 0 failed, 0 unknown, 0 skipped in ")
    assert result.stdout.splitlines()[1] == (f"{SPRING}: 4 readers: 0 pending, 0 sending, 4 sent, 0 failed, "
                                            "0 unknown, 0 skipped")
    assert len(list(outbox.glob("*.eml"))) == 4
    message = parse(outbox / eml_name("zoe@school.example"))
    assert message["To"].addresses[0].addr_spec == "zoe@school.example"
    assert SECRET not in result.output

    again = mailer(alliance, "send", SPRING)
    assert again.exit_code == 0 and again.stdout.startswith(f"{SPRING}: 0 sent")

    status = mailer(alliance, "status", SPRING, "--json")
    assert json.loads(status.stdout) == {"edition": SPRING, "total": 4, "pending": 0, "sending": 0,
                                         "sent": 4, "failed": 0, "unknown": 0, "skipped": 0, "unknown_batches": []}
    status = mailer(alliance, "status", SPRING)
    assert status.stdout == f"{SPRING}: 4 readers: 0 pending, 0 sending, 4 sent, 0 failed, 0 unknown, 0 skipped\n"


def test_send_with_a_configured_unsubscribe_url_and_from(alliance):
    imported(alliance)
    result = mailer(alliance, "send", SPRING, env={"MAILER_UNSUBSCRIBE_URL": "https://lists.example/u?list=mv",
                                                  "MAILER_FROM": "Minster News <news@minster-vale.example>"})
    assert result.exit_code == 0, result.output
    message = parse(alliance / "outbox" / SPRING / eml_name("zoe@school.example"))
    assert message["List-Unsubscribe"].startswith("<https://lists.example/u?list=mv&t=")
    assert str(message["From"]) == "Minster News <news@minster-vale.example>"
    assert str(message["Reply-To"]) == "office@minster-vale.example"


def test_dry_run_sends_and_writes_nothing(alliance):
    imported(alliance)
    result = mailer(alliance, "send", SPRING, "--dry-run", env={"MAILER_SECRET": None})
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == f"dry run: 4 readers would get {SPRING} in 4 variants; nothing was sent"
    assert not (alliance / "outbox").exists()
    assert json.loads(mailer(alliance, "status", SPRING, "--json").stdout)["total"] == 0


def test_send_without_the_secret_is_refused(alliance):
    imported(alliance)
    result = mailer(alliance, "send", SPRING, env={"MAILER_SECRET": None})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: MAILER_SECRET is not set: unsubscribe links are signed with it;")
    assert len(result.stderr.splitlines()) == 1
    assert not (alliance / "outbox").exists()


def test_unknown_edition(alliance):
    result = mailer(alliance, "send", "2027-02-01-sprng")
    assert result.exit_code == 1
    assert result.stderr == ("error: no edition '2027-02-01-sprng' in content/newsletters/; did you mean "
                             "'2027-02-01-spring'? (editions: 2026-12-01-winter, 2027-02-01-spring)\n")
    result = mailer(alliance, "status", "nope")
    assert (result.exit_code, result.stderr) == (1, "error: no edition 'nope'\n")


def test_records_with_errors_are_refused_before_anything_is_written(alliance):
    imported(alliance)
    course = alliance / "courses" / "secondary-science.md"
    course.write_text(course.read_text().replace("strand: cpd", "strand: cdp"))
    for args in (["send", SPRING], ["preview", SPRING]):
        result = mailer(alliance, *args)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            "courses/secondary-science.md:3: strand: 'cdp' is not one of itt, cpd, leadership, "
            "school-support, sle, research; did you mean 'cpd'?",
            "error: the records have 1 error; fix them first (nothing was written)",
        ]
    assert not (alliance / "outbox").exists() and not (alliance / "preview").exists()
    assert json.loads(mailer(alliance, "status", SPRING, "--json").stdout)["total"] == 0


def test_a_bad_setting_is_one_line(alliance):
    imported(alliance)
    result = mailer(alliance, "send", SPRING, env={"MAILER_PROVIDER": "mailgun"})
    assert result.exit_code == 1
    assert result.stderr == "error: MAILER_API_KEY is not set: the mailgun provider needs it\n"


def test_forget_deletes_outbox_copies(alliance):
    imported(alliance)
    mailer(alliance, "send", SPRING)
    result = mailer(alliance, "subscribers", "forget", "zoe@school.example")
    assert "1 outbox copy deleted" in result.stdout
    assert not (alliance / "outbox" / SPRING / eml_name("zoe@school.example")).exists()


def test_usage_errors_exit_2(alliance):
    assert mailer(alliance, "send").exit_code == 2
    assert mailer(alliance, "subscribers", "import", "missing.csv").exit_code == 2


def test_status_lists_unknown_readers(alliance):
    imported(alliance)
    mailer(alliance, "send", SPRING, "--dry-run")
    with Store(alliance / "data" / "mailer.sqlite3") as store:
        SendRun(store, composer(alliance), OutboxProvider(alliance / "outbox")).plan()
        store.claim(SPRING, "teachers", "secondary", 10, "outbox", "teachers--secondary")   # then the process dies
        claimed = store.conn.execute("SELECT claimed_at FROM batches").fetchone()[0]
    result = mailer(alliance, "send", SPRING)
    assert result.stdout.splitlines()[0] == ("1 reader was being sent when an earlier run stopped: now unknown, "
                                             "not sent again (see status; --resend-unknown sends them)")
    status = mailer(alliance, "status", SPRING, "--list", "unknown")
    assert status.stdout.splitlines() == [
        f"{SPRING}: 4 readers: 0 pending, 0 sending, 3 sent, 0 failed, 1 unknown, 0 skipped",
        f"1 unknown: they may or may not have received it; `reconcile {SPRING}` asks the provider, "
        "`send --resend-unknown` sends them again",
        f"  batch 1: 1 reader, teachers--secondary, outbox, {claimed}: interrupted while sending: may or may "
        "not have gone out",
        "    still unknown because: outbox cannot say afterwards which messages it took",
        "zoe@school.example\tbatch 1\tinterrupted while sending: may or may not have gone out",
    ]
    again = mailer(alliance, "send", SPRING, "--resend-unknown")
    assert again.stdout.splitlines()[0].startswith(f"{SPRING}: 1 sent")
