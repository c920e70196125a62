"""Each outbox email, parsed with the standard email package: parts, headers, one reader's data only."""
from __future__ import annotations

import re
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from mailer.compose import GREETING_FALLBACK, markdown_text
from mailer.importer import Importer
from mailer.providers.outbox import OutboxProvider, eml_name
from mailer.send import SendRun
from mailer.store import Store, address_hash
from mailer.tokens import PREFERENCES, verify_token
from records.newsletter import VariantKey
from tests.mailer_support import SECRET, SPRING, TODAY, composer, copy_alliance, parse, parts

READERS = {   # from tests/fixtures/mailer-mini/subscribers.csv
    "ana.primary@school.example": ("Ana", "Ramos", "teachers--primary"),
    "zoe@school.example": ("Zoë", "Ångström", "teachers--secondary"),
    "lukasz@school.example": ("Łukasz", "Wiśniewski", "teaching-assistants--all-phases"),
    "head@school.example": ("", "Brown", "leaders--all-phases"),
}


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compose")
    root = copy_alliance(tmp)
    with Store(tmp / "m.sqlite3") as store:
        result = Importer(store, today=TODAY).import_file(root / "subscribers.csv")
        assert (result.added, result.no_consent) == (5, 1)
        c = composer(root)
        report = SendRun(store, c, OutboxProvider(tmp / "outbox")).run()
        assert report.sent == 4 and report.stopped is None     # friend@ is a friend: not in spring
        return {"root": root, "outbox": tmp / "outbox" / SPRING, "composer": c, "store_path": tmp / "m.sqlite3"}


def message_for(sent, address):
    return parse(sent["outbox"] / eml_name(address))


def test_one_file_per_reader_named_by_a_hash(sent):
    files = sorted(p.name for p in sent["outbox"].iterdir())
    assert files == sorted(eml_name(a) for a in READERS)
    assert not any("@" in name for name in files)


@pytest.mark.parametrize("address", list(READERS))
def test_each_message_is_complete_and_only_about_its_reader(sent, address):
    first, last, slug = READERS[address]
    message = message_for(sent, address)
    assert message.is_multipart() and message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    # headers
    assert getaddresses([message["To"]])[0][1] == address
    assert message["From"].addresses[0].addr_spec == "office@minster-vale.example"
    assert message["Subject"] == "Spring at Minster & Vale: new courses"
    assert "\n" not in message["Subject"]
    assert re.fullmatch(r"<2027-02-01-spring\.[0-9a-f]{24}@www\.minster-vale\.example>", message["Message-ID"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert https.startswith("https://www.minster-vale.example/unsubscribe?t=")
    token = parse_qs(urlparse(https).query)["t"][0]
    assert verify_token(SECRET, token) == address_hash(address)        # the token names this reader
    assert verify_token(b"another-secret-entirely", token) is None
    assert mailto == f"mailto:office@minster-vale.example?subject=unsubscribe%20{token}"
    assert unquote(urlparse(mailto).query) == f"subject=unsubscribe {token}"
    # both parts: greeting, visible unsubscribe link, the alliance, the edition's page
    greeting = first or GREETING_FALLBACK
    assert f"Hello {greeting}," in text and f"Hello {greeting}," in html
    assert https in text and f'href="{https}"' in html and ">Unsubscribe</a>" in html
    # the preference centre: a link of its own purpose, in both parts
    prefs = re.findall(r"https://www\.minster-vale\.example/preferences\?t=[\w.-]+", text)
    assert len(prefs) == 1 and f'href="{prefs[0]}"' in html
    prefs_token = parse_qs(urlparse(prefs[0]).query)["t"][0]
    assert verify_token(SECRET, prefs_token, PREFERENCES) == address_hash(address)
    assert verify_token(SECRET, prefs_token) is None and prefs_token != token
    for part in (text, html):
        assert "Minster &amp; Vale Teaching School Alliance" in part or "Minster & Vale Teaching School Alliance" in part
        assert "The Teaching Centre, 2 Abbey Row, Minster MV1 1AB" in part
        assert "office@minster-vale.example" in part
        assert "https://www.minster-vale.example/newsletters/2027-02-01-spring.html" in part
        assert "%%" not in part                                     # every placeholder filled
    # no other reader's data
    for other, (o_first, o_last, _) in READERS.items():
        if other == address:
            continue
        raw = (sent["outbox"] / eml_name(address)).read_text("ascii")
        for part in (text, html, raw):
            assert other not in part
            if o_last:
                assert o_last not in part
        assert verify_token(SECRET, token) != address_hash(other)


def test_the_variant_decides_the_courses(sent):
    text, _ = parts(message_for(sent, "ana.primary@school.example"))       # primary teacher
    assert "Maths & Science <KS2>" in text and "Secondary science" not in text
    text, _ = parts(message_for(sent, "zoe@school.example"))                # secondary teacher
    assert "Secondary science practicals" in text and "Maths & Science" not in text
    assert "SEND twilight for everyone (FULL)" in text                       # full: marked, kept
    assert "Cancelled course" not in text and "Summer conference" not in text
    text, _ = parts(message_for(sent, "head@school.example"))               # a head: leaders
    assert "Leaders' breakfast network" in text and "Maths & Science" not in text


def test_escaping_of_ampersands_and_angle_brackets(sent):
    text, html = parts(message_for(sent, "ana.primary@school.example"))
    assert "Maths & Science <KS2>" in text                                  # plain text: as written
    assert "Measuring & graphing in <KS2> science" in text
    assert "Maths &amp; Science &lt;KS2&gt;" in html and "<KS2>" not in html
    assert 'href="https://forms.example/maths-science?x=1&amp;y=2"' in html
    assert "Three new SLEs &amp; a &lt;new&gt; programme" in html
    assert "Three new SLEs & a <new> programme" in text


def test_non_ascii_names_in_headers_and_body(sent):
    message = message_for(sent, "zoe@school.example")
    assert message["To"].addresses[0].display_name == "Zoë Ångström"
    text, html = parts(message)
    assert "Hello Zoë," in text and "Hello Zoë," in html


def test_news_since_the_previous_edition_only(sent):
    text, _ = parts(message_for(sent, "ana.primary@school.example"))
    assert "Three new SLEs & a <new> programme" in text
    assert "Old news before the winter edition" not in text


def test_html_is_responsive_and_inlined(sent):
    _, html = parts(message_for(sent, "ana.primary@school.example"))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media only screen and (max-width: 620px)" in html            # kept by css-inline
    assert 'class="container"' in html and "width: 600px" in html        # inlined style=""
    assert "<strong>spring</strong>" in html                                 # the edition's Markdown
    assert re.search(r'<a href="https://www.minster-vale.example/courses/" rel="noopener noreferrer" style="[^"]*">our courses</a>', html)


def test_text_part_reads_as_text(sent):
    text, _ = parts(message_for(sent, "ana.primary@school.example"))
    assert ("Welcome to spring. Read about our courses\n(https://www.minster-vale.example/courses/) & more."
            in text)
    assert "<" not in text.replace("<KS2>", "").replace("<new>", "")
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= 72


def test_variants_render_once(sent):
    c = sent["composer"]
    first = c.variant(VariantKey("teachers", ("primary",)))
    assert c.variant(VariantKey("teachers", ("primary",))) is first


def test_markdown_text():
    assert markdown_text("# Title\n\nSome **bold** and _it_ and `code`.\n\n- one\n- [two](https://x.example/)") == (
        "Title\n=====\n\nSome bold and it and code.\n\n- one\n- two (https://x.example/)")
