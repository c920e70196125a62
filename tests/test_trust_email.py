"""Hostile record text in an edition, sent to the outbox and parsed back: the subject and the
preheader are the text as typed, and the edition's Markdown is sanitised by the same policy as
the website (records.markdown)."""
from __future__ import annotations

from email.header import decode_header, make_header
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup

from mailer.importer import Importer
from mailer.providers.outbox import OutboxProvider, eml_name
from mailer.send import SendRun
from mailer.store import Store
from tests.mailer_support import SPRING, TODAY, composer, copy_alliance, parse, parts

SUBJECT = 'Spring & "more": a < b > c =?utf-8?q?hidden?= 100%'
BODY = """Welcome & "hello" <script>alert(1)</script> to **spring** &lt;3

<img src="https://track.example/pixel.gif?r=1" width="1" height="1"> <img src=x onerror="alert(2)"> <img src=" /\\track.example/p2.gif">

[click](javascript:alert(3)) <iframe src="https://evil.example/"></iframe> [ok](https://example.org/)

<a href="data:text/html,x" onmouseover="alert(4)">data</a> <style>body{display:none}</style>
"""
PREHEADER = 'Welcome & "hello" to spring <3'
SHORT_NAME = 'Minster & Vale "TSA" <b> Zoë'


@pytest.fixture(scope="module")
def message(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trust-email")
    root = copy_alliance(tmp)
    edition = root / "content" / "newsletters" / f"{SPRING}.md"
    text = edition.read_text(encoding="utf-8")
    head, _, _ = text.partition("\n---\n")
    head = "\n".join(line if not line.startswith("subject:") else
                     'subject: "' + SUBJECT.replace('"', '\\"') + '"' for line in head.split("\n"))
    edition.write_text(head + "\n---\n" + BODY, encoding="utf-8")
    alliance = root / "content" / "alliance.yml"
    alliance.write_text(alliance.read_text(encoding="utf-8").replace(
        "short_name: Minster & Vale TSA", "short_name: '" + SHORT_NAME + "'"), encoding="utf-8")
    with Store(tmp / "m.sqlite3") as store:
        Importer(store, today=TODAY).import_file(root / "subscribers.csv")
        report = SendRun(store, composer(root), OutboxProvider(tmp / "outbox")).run()
        assert report.sent >= 1 and report.stopped is None
    return parse(tmp / "outbox" / SPRING / eml_name("ana.primary@school.example"))


def test_the_subject_header_is_the_subject_as_typed(message):
    assert message["Subject"] == SUBJECT


def test_names_in_address_headers_are_phrases_as_typed(message):
    assert message["From"].addresses[0].display_name == SHORT_NAME
    raw = dict(message.raw_items())["List-Id"]           # a phrase, then <list id>
    name, list_id = parseaddr(raw)
    assert str(make_header(decode_header(name))) == f"{SHORT_NAME} newsletter"
    assert list_id == "newsletter.minster-vale.example"


def test_the_html_title_and_heading_are_the_subject_as_typed(message):
    _, html = parts(message)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.title.get_text() == SUBJECT
    assert soup.find("h1").get_text() == SUBJECT


def test_the_preheader_is_text_without_what_the_policy_removes(message):
    _, html = parts(message)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one("span.preheader").get_text() == PREHEADER


def test_the_html_part_is_sanitised_like_the_website(message):
    _, html = parts(message)
    soup = BeautifulSoup(html, "html.parser")
    assert not soup.find_all(["script", "iframe", "object", "embed", "svg", "form"])
    assert [s.get_text() for s in soup.find_all("style") if "display:none" in s.get_text()] == []
    for tag in soup.find_all(True):
        assert not [a for a in tag.attrs if a.startswith("on")], tag
        if tag.name == "a" and tag.get("href"):
            assert urlsplit(tag["href"]).scheme in ("https", "http", "mailto"), tag["href"]
        if tag.name == "img":
            src = tag.get("src", "").strip().replace("\\", "/")
            assert not urlsplit(src).netloc and not src.startswith("//"), tag   # no tracking pixel
    assert soup.find("a", string="ok")["href"] == "https://example.org/"


def test_the_text_part_holds_no_script(message):
    text, _ = parts(message)
    assert "alert(" not in text and "display:none" not in text
    assert 'Welcome & "hello"' in text and "spring <3" in text
