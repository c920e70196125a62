"""Record text inside generated Markdown shows exactly as written; people-friendly formats."""
from __future__ import annotations

import datetime as dt

import markdown
import pytest
from bs4 import BeautifulSoup
from markupsafe import Markup

from website import config as site_config
from website.render import (date_range, environment, label, long_date, md_text, meta, money,
                            short_date, times, url)

TRICKY = [
    "Maths & Science <KS2>",
    "*Star* [x]",
    "_under_ and __double__",
    "1. not a list",
    "- not a list",
    "+ not a list",
    "# not a heading",
    "Learn C# and F#",
    "back\\slash and `code`",
    "a | pipe | or two",
    "![not an image](x.png)",
    "[not a link](https://example.org)",
    "<script>alert(1)</script>",
    "&amp; stays &amp;",
    "{: .not-an-attribute }",
    "!!! not an admonition",
    "Zoë Brontë-Ćosić (née O'Brien) \"quoted\"",
    "> not a quote",
    "50% off; 2 < 3 > 1",
    "<!-- not a comment -->",
]


@pytest.fixture(scope="module")
def md() -> markdown.Markdown:
    """Python-Markdown with the extensions of the site's mkdocs.yml."""
    config = site_config.base_config()
    names, configs = [], {}
    for item in config["markdown_extensions"]:
        name, options = next(iter(item.items())) if isinstance(item, dict) else (item, None)
        names.append(name)
        if options:
            configs[name] = options
    return markdown.Markdown(extensions=names, extension_configs=configs)


def _text(md: markdown.Markdown, source: str, selector: str) -> str:
    md.reset()
    soup = BeautifulSoup(md.convert(source), "html.parser")
    element = soup.select_one(selector)
    assert element is not None, md.convert(source)
    return element.get_text()


@pytest.mark.parametrize("text", TRICKY)
def test_record_text_shows_as_written_in_every_position(md, text):
    safe = md_text(text)
    assert _text(md, f"{safe}\n", "p") == text
    assert _text(md, f"# {safe}\n", "h1") == text
    assert _text(md, f"- {safe}\n", "li") == text
    assert _text(md, f"[{safe}](x.md)\n", "a") == text
    assert _text(md, f"| A | B |\n| -- | -- |\n| {safe} | x |\n", "td") == text
    assert _text(md, f"*{safe}*\n", "em") == text


def test_every_expression_in_a_template_is_escaped_unless_marked_safe():
    env = environment()
    out = env.from_string("{{ title }}|{{ safe }}|{{ body|markdown }}|{{ n }}").render(
        title="*Star* <b>", safe=Markup("*kept*"), body="**bold** editor text", n=24)
    assert out == ("\\*Star\\* &lt;b&gt;|*kept*|<div class=\"tsa-prose\">\n"
                   "<p><strong>bold</strong> editor text</p>\n</div>|24")


def test_text_is_kept_on_one_line():
    assert md_text("two\nlines  and\ttabs") == "two lines and tabs"


def test_meta_is_a_yaml_string_escaped_for_an_html_attribute():
    import yaml
    value = meta('Maths & Science <KS2>: "quotes" and\nnew lines')
    assert yaml.safe_load(f"description: {value}")["description"] == \
        "Maths &amp; Science &lt;KS2&gt;: &quot;quotes&quot; and new lines"


def test_url_keeps_an_address_usable_as_a_markdown_link_target():
    assert url("https://forms.example/a b(c)?x=1&y=2") == "https://forms.example/a%20b%28c%29?x=1&y=2"


def test_british_dates_and_times():
    day = dt.date(2027, 1, 14)
    assert long_date(day) == "Thursday 14 January 2027"
    assert short_date(day) == "Thu 14 Jan 2027"

    class S:  # a session
        start, end = dt.time(13, 30), dt.time(16, 0)
    assert times(S) == "13:30\u201316:00"
    S.start = S.end = None
    assert times(S) == "All day"


def test_date_ranges():
    class C:
        def __init__(self, *days):
            self.sessions = days
            self.first_date, self.last_date = min(days), max(days)
    d = dt.date
    assert date_range(C(d(2027, 1, 14))) == "Thu 14 Jan 2027"
    assert date_range(C(d(2027, 3, 4), d(2027, 4, 15), d(2027, 3, 18))) == \
        "4 Mar \u2013 15 Apr 2027 (3 sessions)"
    assert date_range(C(d(2026, 9, 23), d(2027, 1, 27))) == \
        "23 Sep 2026 \u2013 27 Jan 2027 (2 sessions)"


def test_money_and_labels():
    assert money(0) == "Free"
    assert money(45) == "£45"
    assert money(12.5) == "£12.50"
    assert money(1200) == "£1,200"
    assert label("early-reading") == "Early reading"
    assert label("send") == "SEND"
    assert label("post-16") == "Post-16"
    assert label("a-new-word") == "A new word"
