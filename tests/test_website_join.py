"""join.html: the join form when the alliance runs the subscription service, how to join by
email otherwise; record text in the form exactly as typed, never markup."""
from __future__ import annotations

import hashlib

from bs4 import BeautifulSoup
from click.testing import CliRunner

from tests.site_support import load_cli
from tests.treebuilder import write_tree

HOSTILE = 'I agree & "accept" <script>alert(1)</script> *emails* from {{ name }}'


def build(tmp_path, **alliance) -> BeautifulSoup:
    root = write_tree(tmp_path / "alliance", alliance=alliance)
    out = tmp_path / "site"
    result = CliRunner().invoke(load_cli(), ["build", "--root", str(root), "--out", str(out), "--today", "2027-01-10"])
    assert result.exit_code == 0, result.output
    return BeautifulSoup((out / "join.html").read_text(encoding="utf-8"), "html.parser")


def test_the_form_posts_to_the_service_with_the_wording_as_typed(tmp_path):
    page = build(tmp_path, subscriptions_url="https://lists.testwick.example", consent_wording=HOSTILE)
    form = page.find("form", class_="tsa-form")
    assert form["method"] == "post" and form["action"] == "https://lists.testwick.example/join"
    assert page.find("script", string=lambda s: s and "alert(1)" in s) is None
    label = form.find("label", attrs={"for": "join-consent"})
    assert label.get_text() == HOSTILE
    version = form.find("input", attrs={"name": "consent_version"})["value"]
    assert version == hashlib.sha256(HOSTILE.encode()).hexdigest()[:8]
    assert form.find("input", attrs={"name": "email"}).has_attr("required")
    assert form.find("input", attrs={"name": "consent"}).has_attr("required")
    honeypot = form.find("input", attrs={"name": "website"})
    assert honeypot.find_parent("div").has_attr("hidden") and honeypot["tabindex"] == "-1"
    names = {i["name"] for i in form.find_all("input")}
    assert {"email", "first_name", "school", "roles", "phases", "interests", "consent", "consent_version",
            "website"} == names
    assert {i["value"] for i in form.find_all("input", attrs={"name": "interests"})} == {
        "itt", "cpd", "leadership", "school-support", "sle", "research"}
    for field in form.find_all("input", attrs={"type": ["email", "text", "checkbox"]}):
        if field["name"] != "website":
            assert form.find("label", attrs={"for": field.get("id")}) or field.find_parent("label"), field


def test_without_a_service_the_page_says_how_to_join(tmp_path):
    page = build(tmp_path, signup_url=None)
    assert page.find("form", class_="tsa-form") is None
    main = page.find("article") or page
    link = main.find("a", href=lambda h: h and h.startswith("mailto:office@testwick.example"))
    assert link is not None and "and we will add you" in main.get_text()
