"""The printable prospectus: a real A4 PDF from the records, read back page by page.

The PDF is read with pypdf when it is installed, else with poppler's pdfinfo and pdftotext.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.treebuilder import course, load_ok, session, write_tree
from website import prospectus as prospectus_module
from website.prospectus import build_prospectus, render_prospectus_html

TODAY = dt.date(2026, 9, 1)
TRICKY = "Maths & Science <KS2>"
A4 = (595.28, 841.89)          # points

COURSES = {
    "maths-science": course(title=TRICKY, strand="cpd", cost=45, places=24,
                            facilitators=["ada-lovelace"],
                            sessions=[session("2027-03-04", "16:00", "17:30", title="Measuring well"),
                                      session("2027-03-18", "16:00", "17:30", venue="hall"),
                                      session("2027-04-15", "16:00", "17:30", venue="online")]),
    "ta-programme": course(title="Teaching assistants' year", strand="cpd", status="full",
                           audience=["teaching-assistant"],
                           sessions=[session(f"2026-{m:02d}-08", "13:30", "16:00") for m in (10, 11, 12)]
                           + [session(f"2027-{m:02d}-08", "13:30", "16:00") for m in (1, 2, 3)]),
    "mentor-training": course(title="Mentor training", strand="itt", audience=["teacher"],
                              booking="mailto:itt@testwick.example?subject=Mentor%20training",
                              sessions=[session("2026-10-07")]),
    "aspiring-leaders": course(title="Aspiring leaders", strand="leadership",
                               audience=["middle-leader", "senco"],
                               sessions=[session("2026-11-26", "09:00", "15:30")]),
    "enquiry-day": course(title="Enquiry day", strand="research", sessions=[session("2027-06-30")]),
    "calm-classrooms": course(title="Calm classrooms", status="cancelled", booking=None,
                              sessions=[session("2027-01-19", "15:30", "17:00")]),
    "last-year": course(title="Last year's twilight", sessions=[session("2026-06-01", "16:00", "17:00")]),
    "far-ahead": course(title="Far ahead conference", strand="research",
                        sessions=[session("2028-01-10", "09:00", "15:00")]),
}
STRAND_OF = {"maths-science": "cpd", "ta-programme": "cpd", "mentor-training": "itt",
             "aspiring-leaders": "leadership", "enquiry-day": "research"}


class Pdf:
    """Pages' text and sizes, from pypdf if installed, else poppler-utils."""

    def __init__(self, path: Path):
        try:
            import pypdf
        except ImportError:
            pypdf = None
        if pypdf is not None:
            reader = pypdf.PdfReader(str(path))
            self.sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
            self.pages = [p.extract_text() or "" for p in reader.pages]
            self.fonts = {str(f["/BaseFont"]) for p in reader.pages
                          for f in (p["/Resources"].get("/Font") or {}).values()
                          for f in [f.get_object()]}
        elif shutil.which("pdftotext") and shutil.which("pdfinfo"):
            info = subprocess.run(["pdfinfo", "-f", "1", "-l", "9999", str(path)], check=True,
                                  capture_output=True, text=True).stdout
            self.sizes = [(float(w), float(h)) for w, h in
                          re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info, re.M)]
            text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                                  text=True).stdout
            self.pages = text.split("\f")[:len(self.sizes)]
            fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True,
                                   text=True).stdout
            self.fonts = {line.split()[0] for line in fonts.splitlines()[2:] if line.strip()}
        else:
            pytest.skip("reading a PDF needs pypdf (requirements-test.txt) or poppler-utils")
        # one line of text per page, whitespace collapsed: titles survive line wrapping
        self.flat = [" ".join(page.split()) for page in self.pages]

    def pages_with(self, text: str) -> list[int]:
        return [i for i, page in enumerate(self.flat) if text in page]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return load_ok(write_tree(tmp_path_factory.mktemp("alliance"), courses=COURSES))


@pytest.fixture(scope="module")
def pdf_path(tree, tmp_path_factory):
    return build_prospectus(tree, TODAY, tmp_path_factory.mktemp("out") / "docs" / "prospectus.pdf")


@pytest.fixture(scope="module")
def pdf(pdf_path):
    return Pdf(pdf_path)


def test_it_is_a_pdf_of_several_a4_pages(pdf_path, pdf):
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(pdf.pages) > 1
    for width, height in pdf.sizes:
        assert (round(width, 1), round(height, 1)) == (round(A4[0], 1), round(A4[1], 1))


def test_the_cover_has_the_alliance_its_aim_and_contact(pdf):
    cover = pdf.flat[0]
    assert "Testwick Teaching School Alliance" in cover
    assert "To work together for every child in Testwick." in cover
    assert "office@testwick.example" in cover and "01632 960000" in cover
    assert "Led by Testwick Primary School." in cover
    assert "Prospectus 2026–27" in cover or "PROSPECTUS 2026–27" in cover


def test_upcoming_courses_are_listed_with_titles_exactly(pdf):
    for course_id in STRAND_OF:
        assert pdf.pages_with(COURSES[course_id]["title"]), course_id
    assert pdf.pages_with(TRICKY)
    assert not pdf.pages_with("&amp;") and not pdf.pages_with("&lt;")


def test_cancelled_past_and_far_off_courses_are_left_out(pdf):
    for title in ("Calm classrooms", "Last year's twilight", "Far ahead conference"):
        assert not pdf.pages_with(title), title


def test_each_strand_starts_a_new_page(pdf):
    pages = {cid: pdf.pages_with(COURSES[cid]["title"])[-1] for cid in STRAND_OF}
    for a in STRAND_OF:
        for b in STRAND_OF:
            if STRAND_OF[a] != STRAND_OF[b]:
                assert pages[a] != pages[b], (a, b)
    # strands without courses still get their page, saying so
    assert len(pdf.pages_with("No courses in this strand are scheduled for these dates yet")) == 2


def test_a_course_is_not_split_across_pages(pdf):
    title_page = pdf.pages_with("Teaching assistants' year")[-1]
    assert "This course is full." in pdf.flat[title_page]
    assert "Tue 8 December 2026" in pdf.flat[title_page]
    assert "Mon 8 March 2027" in pdf.flat[title_page]


def test_course_details(pdf):
    page = pdf.flat[pdf.pages_with(TRICKY)[-1]]
    assert "Thu 4 March 2027 to Thu 15 April 2027 · 3 sessions" in page
    assert "£45 · groups of up to 24" in page
    assert "Ada Lovelace" in page
    assert "Testwick Centre, 1 High Street, Testwick TW1 1AA" in page
    assert "Online" in page
    assert "forms.example/maths-science" in page
    mentor = pdf.flat[pdf.pages_with("Mentor training")[-1]]
    assert "Wed 7 October 2026, All day" in mentor
    assert "itt@testwick.example" in mentor
    leaders = pdf.flat[pdf.pages_with("Aspiring leaders")[-1]]
    assert "Middle leaders, SENCOs" in leaders


def test_the_sle_directory(pdf):
    page = pdf.flat[pdf.pages_with("Directory of Specialist Leaders of Education")[-1]]
    assert "Ada Lovelace" in page and "Zoë Ångström" in page
    assert "Testwick High School" in page
    assert "Science, SEND" in page
    assert "Limited availability" in page


def test_page_numbers_in_the_footer(pdf):
    total = len(pdf.pages)
    assert f"Page 2 of {total}" in pdf.flat[1]
    assert f"Page {total} of {total}" in pdf.flat[-1]
    assert "Page 1 of" not in pdf.flat[0]               # not on the cover


def test_fonts_are_the_machines_own(pdf):
    assert pdf.fonts and all("DejaVu" in f or "Liberation" in f for f in pdf.fonts), pdf.fonts


def test_the_html_is_escaped(tree):
    html = render_prospectus_html(tree, TODAY)
    assert "Maths &amp; Science &lt;KS2&gt;" in html and "<KS2>" not in html
    soup = BeautifulSoup(html, "html.parser")
    titles = [h.get_text() for h in soup.select("article.course h2")]
    assert TRICKY in titles


def test_the_same_build_gives_the_same_bytes(tree, tmp_path, pdf_path):
    again = build_prospectus(tree, TODAY, tmp_path / "again.pdf")
    assert again.read_bytes() == pdf_path.read_bytes()


def test_caps_send_readers_to_the_website(tree, tmp_path):
    html = render_prospectus_html(tree, TODAY, max_courses=2, max_sles=1)
    soup = BeautifulSoup(html, "html.parser")
    assert len(soup.select("article.course")) == 2
    # 5 upcoming courses (not cancelled) plus the far-off one: 4 left out
    text = " ".join(soup.get_text().split())
    assert "This prospectus lists the next 2 courses; 4 more are on our website" in text
    assert len(soup.select("table.directory tbody tr")) == 1
    assert "1 more SLE is listed on our website" in text


def test_nothing_is_fetched_from_the_network():
    fetcher = prospectus_module.local_fetcher()
    for url in ("https://fonts.example/font.woff2", "http://127.0.0.1/x.css", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    css = (prospectus_module.TEMPLATES / "prospectus.css").as_uri()
    response = fetcher.fetch(css)
    try:
        assert b"@page" in response.read()
    finally:
        response.close()


def test_an_empty_alliance_still_makes_a_prospectus(tmp_path):
    tree = load_ok(write_tree(tmp_path / "tree", sles={"ada-lovelace": None, "zoe-angstrom": None}))
    path = build_prospectus(tree, TODAY, tmp_path / "p.pdf")
    pdf = Pdf(path)
    assert len(pdf.pages) == 9        # cover, contents, six strands, SLEs
    assert pdf.pages_with("Our SLEs will be listed here soon.")
