"""The board report: its figures against counts made independently (tests/report_support.py),
its charts parsed back (SVG text and bar lengths), small cells hidden everywhere, the PDF, and
--publish through the records package to the website's "Our impact" page."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

import records
from mailer.__main__ import cli
from mailer.figures import capital, title_label
from mailer.report import build_report
from mailer.report_render import write_report
from mailer.store import Store
from tests import report_support as rs

SVG = "{http://www.w3.org/2000/svg}"
FEWER = "fewer than 5"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return rs.make_world(tmp_path_factory.mktemp("impact"))


@pytest.fixture(scope="module")
def written(world, tmp_path_factory):
    recs, problems = records.load(world.root)
    assert not problems.errors, [str(p) for p in problems.errors]
    out = tmp_path_factory.mktemp("report")
    with Store(world.db) as store:
        report = build_report(recs, store, start=rs.START, end=rs.END, ahead_weeks=rs.AHEAD)
    files = write_report(report, out, pdf=False)
    return report, files, BeautifulSoup(files["html"].read_text(encoding="utf-8"), "html.parser")


def table(soup, caption: str) -> dict[str, list[str]]:
    """A table's body rows keyed by their first cell."""
    found = soup.find("caption", string=caption)
    assert found is not None, f"no table {caption!r}"
    rows = found.find_parent("table").find("tbody").find_all("tr")
    return {r.find("th").get_text(): [c.get_text() for c in r.find_all("td")] for r in rows}


def people(n: int) -> str:
    return FEWER if n < 5 else f"{n:,}"


def test_demand_by_interest_and_role_match_an_independent_count(world, written):
    _, _, soup = written
    interests = table(soup, "Interests of subscribers against upcoming courses")
    expected = rs.expected_interests(world)
    assert set(interests) == {title_label(i) for i in expected}
    for interest, (n, courses) in expected.items():
        assert interests[title_label(interest)][:2] == [people(n), str(courses)], interest
    roles = table(soup, "Subscribers by role against upcoming courses for that role")
    for role, (n, courses) in rs.expected_roles(world).items():
        assert roles[title_label(role)][:2] == [people(n), str(courses)], role


def test_gaps_are_named_in_words(world, written):
    _, _, soup = written
    gaps = [li.get_text() for li in soup.select("#demand ul.gaps li")]
    expected = rs.expected_gaps(world)
    assert expected, "the random world should have gaps"
    assert len(gaps) == len(expected)
    for text, (role, phase, interest, n, courses) in zip(gaps, expected):
        offer = "no course" if courses == 0 else "1 course"
        assert text.startswith(f"{n} ") and text.endswith(f"; {offer} in the next 13 weeks."), text
        assert f"asked for {interest.upper() if interest in ('send', 'itt', 'cpd') else interest.replace('-', ' ')}" in text


def test_reach_by_phase_and_schools_not_reached(world, written):
    _, _, soup = written
    shown = table(soup, "Member schools by phase, with and without subscribers")
    for phase, (with_, without) in rs.expected_reach(world).items():
        assert shown[title_label(phase)] == [str(with_ + without), str(with_), str(without)], phase
    not_reached = [d["name"] for s, d in world.schools.items() if s not in {p["school"] for p in world.people}]
    text = soup.select_one("#reach").get_text()
    for name in not_reached:
        assert name in text                                           # escaped, shown as written
    assert "<12>" not in str(soup.select_one("#reach")).replace("&lt;12&gt;", "")


def test_newsletters_per_edition_and_audience(world, written):
    _, _, soup = written
    shown = soup.find("caption", string="Each edition per audience").find_parent("table")
    rows = [[c.get_text() for c in r.find_all(["th", "td"])] for r in shown.find("tbody").find_all("tr")]
    expected = []
    for edition, subject in (("2026-03-01-spring", "Spring news"), ("2026-09-01-autumn", "Autumn: news & more > less")):
        for audience, label in (("friends", "Friends of the alliance"), ("leaders", "Leaders")):
            sent, failed, bounced, complained, unsub = world.sends[edition][audience]
            expected.append([f"{subject} ({edition})", label, people(sent), people(failed), people(bounced),
                             people(complained), people(unsub)])
    assert rows == expected                          # the 2024 edition is outside the period
    assert "Delivery is not recorded" in soup.select_one("#newsletters").get_text()
    totals = table(soup, "Each edition, all audiences")
    for edition, subject in (("2026-03-01-spring", "Spring news"), ("2026-09-01-autumn", "Autumn: news & more > less")):
        per_audience = world.sends[edition].values()
        assert totals[subject] == [rs.shown_total([a[k] for a in per_audience]) for k in (0, 2, 3, 4)]


def test_evaluations_by_strand_and_course(world, written):
    _, _, soup = written
    shown = table(soup, "Evaluations by strand")
    for strand, (courses, n, mean, per_course) in rs.expected_strands(world).items():
        label = records.STRANDS[strand]
        assert shown[label] == [str(courses), rs.shown_total(list(per_course.values())),
                                f"{mean:.1f}" if n >= 5 else "-"], strand
    by_course = table(soup, "Evaluations by course")
    counts = {}
    for course_id, _, _, _ in world.evaluations:
        counts[course_id] = counts.get(course_id, 0) + 1
    for course_id, n in counts.items():
        title = world.courses[course_id]["title"]
        assert by_course[title][1] == people(n)
        if n < 5:
            assert by_course[title][2] == "-"                      # no mean from fewer than 5
    quotes = [q.find("p").get_text() for q in soup.select("#evaluations blockquote")]
    consented = [c for _, _, c, q in world.evaluations if q]
    assert quotes and set(quotes) <= set(consented)                # only those who agreed
    assert "<b>" not in str(soup.select_one("#evaluations").find("blockquote"))   # escaped


def test_no_count_of_people_under_5_appears_anywhere(written):
    report, _, soup = written
    for section in report.sections:
        for t in [*(c.table for c in section.charts), *section.tables]:
            for column, name in enumerate(t.columns):
                if name in ("Subscribers", "Sent", "Failed", "Bounced", "Complained", "Unsubscribed",
                            "Evaluations"):
                    for cell in (row[column] for row in t.shown()):
                        number = cell.replace("at least ", "").replace(",", "")
                        assert cell.startswith(FEWER) or int(number) >= 5, (t.caption, cell)
    for li in soup.select("ul.gaps li"):
        assert int(li.get_text().split()[0]) >= 5


def _values(path) -> tuple[ET.Element, dict[str, str], dict[str, float]]:
    """An SVG chart parsed: its root, the text of each value label, the length of each bar."""
    root = ET.parse(path).getroot()
    labels, bars = {}, {}
    for group in root.iter(f"{SVG}g"):
        gid = group.get("id", "")
        if gid.startswith("value-"):
            labels[gid[6:]] = "".join(group.itertext()).strip()
        elif gid.startswith("bar-"):
            path_ = group.find(f"{SVG}path")
            xs = [float(x) for x in re.findall(r"[ML] ?(-?[\d.]+) ", path_.get("d"))]
            bars[gid[4:]] = max(xs) - min(xs)
    return root, labels, bars


def test_charts_parse_back_to_their_tables(written):
    report, files, soup = written
    for section in report.sections:
        for chart in section.charts:
            root, labels, bars = _values(files[chart.id])
            assert root.get("role") == "img"
            assert root.find(f"{SVG}title").text == chart.title
            assert root.find(f"{SVG}desc").text == capital(chart.summary)
            texts = " ".join(t for t in root.itertext())
            for category in chart.categories:
                assert category in texts                       # tick labels are text, not paths
            for s, (_, values) in enumerate(chart.series):
                shown = []
                for i, value in enumerate(values):
                    key = f"{s}-{i}"
                    if key in labels:
                        shown.append(labels[key])
                    if value is None or getattr(value, "small", False):
                        assert bars[key] == pytest.approx(0, abs=0.01)   # nothing drawn
                        assert labels.get(key, FEWER) == FEWER
                # bars are proportional to their values
                sized = [(float(getattr(v, "n", v)), bars[f"{s}-{i}"]) for i, v in enumerate(values)
                         if v is not None and not getattr(v, "small", False) and float(getattr(v, "n", v)) > 0]
                if len(sized) >= 2:
                    ratio = sized[0][1] / sized[0][0]
                    for value, length in sized:
                        assert length == pytest.approx(value * ratio, rel=0.01)
            img = soup.find("img", src=f"charts/{chart.id}.svg")
            assert img["alt"].startswith(chart.title) and capital(chart.summary) in img["alt"]
    # the interest chart's value labels say what the table says
    chart = report.section("demand").charts[0]
    _, labels, _ = _values(files[chart.id])
    assert [labels[f"0-{i}"] for i in range(len(chart.categories))] == [row[1] for row in chart.table.shown()]


def test_the_pdf_is_made_and_holds_the_figures(world, tmp_path):
    from pypdf import PdfReader
    recs, _ = records.load(world.root)
    with Store(world.db) as store:
        report = build_report(recs, store, start=rs.START, end=rs.END)
    files = write_report(report, tmp_path / "out")
    text = " ".join(page.extract_text() for page in PdfReader(files["pdf"]).pages)
    assert "Report to the Strategic Board" in text and "Demand and supply" in text
    assert "Member schools by phase, with and without subscribers" in text


def test_report_command_line(world, tmp_path):
    out = tmp_path / "board"
    result = CliRunner().invoke(cli, ["--root", str(world.root), "--db", str(world.db), "report",
                                      "--from", "2025-11-01", "--to", "2026-11-01", "--out", str(out),
                                      "--no-pdf"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"wrote .*report.html in \d+\.\d s\n", result.output)
    assert sorted(p.name for p in (out / "charts").iterdir()) == [
        "demand-interests.svg", "demand-phases.svg", "demand-roles.svg", "evaluations-strands.svg",
        "newsletters.svg", "reach-phases.svg"]
    # every table in full as CSV, as the report shows it
    import csv
    with open(out / "tables" / "evaluations-by-course.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Course", "Strand", "Evaluations", "Mean rating"]
    assert len(rows) - 1 == len({c for c, _, _, _ in world.evaluations})
    assert all(r[2] == "fewer than 5" or int(r[2]) >= 5 for r in rows[1:])
    bad = CliRunner().invoke(cli, ["--root", str(world.root), "--db", str(world.db), "report",
                                   "--from", "2026-13-01", "--out", str(out)])
    assert bad.exit_code == 2 and "'2026-13-01' is not a date; write it as YYYY-MM-DD" in bad.output
    later = CliRunner().invoke(cli, ["--root", str(world.root), "--db", str(world.db), "report",
                                     "--from", "2026-12-01", "--to", "2026-11-01", "--out", str(out)])
    assert later.exit_code == 1 and "--from 2026-12-01 is after --to 2026-11-01" in later.output


def test_a_long_table_shows_its_first_rows_and_links_its_csv(written, tmp_path, monkeypatch):
    from mailer import report_render
    report, _, _ = written
    monkeypatch.setattr(report_render, "MAX_ROWS", 3)
    files = write_report(report, tmp_path / "short", pdf=False)
    soup = BeautifulSoup(files["html"].read_text(encoding="utf-8"), "html.parser")
    courses = soup.find("caption", string="Evaluations by course").find_parent("table")
    assert len(courses.find("tbody").find_all("tr")) == 3
    note = courses.find_parent("div").find_next_sibling("p")
    assert note.get_text(" ", strip=True).startswith("The first 3 of 12 rows; every row is in")
    assert note.find("a")["href"] == "tables/evaluations-by-course.csv"
    assert (tmp_path / "short" / "tables" / "evaluations-by-course.csv").is_file()
