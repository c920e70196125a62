"""The board report: the figures of report_data.py in sections of words, charts and tables.

    report = build_report(records, store, start=..., end=..., today=...)
    write_report(report, out_dir)        # report.html, report.pdf, charts/*.svg (report_render.py)

Every count of people is a :class:`figures.People`, shown as "fewer than 5" under 5, in
sentences as in tables and charts, so the report can leave the office.
"""
from __future__ import annotations

import datetime as dt

from records import STRANDS
from records.tree import Records

from . import report_data as data
from .figures import (Chart, People, Report, Section, Table, count_words, label, people_total,
                      people_words, plural, title_label)
from .store import Store

AHEAD_WEEKS = 13


def build_report(records: Records, store: Store, *, start: dt.date, end: dt.date,
                 today: dt.date | None = None, ahead_weeks: int = AHEAD_WEEKS) -> Report:
    wanted = data.demand(store)
    offer = data.supply(records, end, ahead_weeks)
    matcher = data.Matcher(offer, list(records.vocabulary.phases))
    name = records.alliance.display_name if records.alliance else "The alliance"
    sections = [
        demand_section(records, wanted, offer, matcher, ahead_weeks, end),
        reach_section(records, wanted),
        newsletter_section(records, data.newsletters(store, records, start, end)),
        evaluation_section(data.evaluations(store, records, start, end)),
    ]
    return Report(name, start, end, ahead_weeks, today or dt.date.today(), sections)


# --- demand against supply -------------------------------------------------------------------

def gap_sentence(role: str, phase: str, interest: str, people: int, courses: int, weeks: int) -> str:
    """'87 primary teaching assistants asked for SEND; 1 course in the next 13 weeks.'"""
    where = {"special": "special school", "all-through": "all-through school"}.get(phase, label(phase))
    who = f"{where} {plural(role)}" if phase else f"{plural(role)} (no phase given)"
    offer = "no course" if courses == 0 else count_words(courses, "course")
    return f"{People(people)} {who} asked for {label(interest)}; {offer} in the next {weeks} weeks."


def demand_section(records: Records, wanted: data.Demand, offer: data.Supply,
                   matcher: data.Matcher, weeks: int, end: dt.date) -> Section:
    section = Section("demand", "Demand and supply")
    section.paragraphs.append(
        f"{people_words(People(wanted.people), 'subscriber', 'subscribers')} on the list; "
        f"{count_words(len(offer.courses), 'course')} with a session in the {weeks} weeks "
        f"from {end.isoformat()}.")
    found = data.gaps(wanted, matcher)
    if found:
        section.paragraphs.append("Where the most people asked and the least is offered:")
        section.bullets = [gap_sentence(*g, weeks) for g in found]
    else:
        section.paragraphs.append("No group of 5 or more subscribers sharing a role, a phase and "
                                  "an interest has fewer than 2 courses meeting it.")
    interests = _order(wanted.by_interest, list(dict.fromkeys([*STRANDS, *records.vocabulary.specialisms])))
    section.charts.append(_demand_chart(
        "demand-interests", "Interests of subscribers against upcoming courses", "Interest",
        interests, wanted.by_interest, matcher.by_interest))
    section.charts.append(_demand_chart(
        "demand-roles", "Subscribers by role against upcoming courses for that role", "Role",
        _order(wanted.by_role, records.vocabulary.roles), wanted.by_role, matcher.by_role))
    section.charts.append(_demand_chart(
        "demand-phases", "Subscribers by phase against upcoming courses for that phase", "Phase",
        _order(wanted.by_phase, records.vocabulary.phases), wanted.by_phase, matcher.by_phase))
    return section


def _order(counts, vocabulary) -> list[str]:
    """Vocabulary words that anyone chose, in the vocabulary's order, then any others."""
    known = [w for w in vocabulary if counts.get(w)]
    return known + sorted(w for w in counts if w not in vocabulary and counts[w])


def _demand_chart(chart_id: str, title: str, what: str, words: list[str], people, courses) -> Chart:
    rows = []
    for word in words:
        n, c = people.get(word, 0), courses.get(word, 0)
        per = f"{n / c:.0f}" if c and n >= 5 else ("no course" if not c else "-")
        rows.append([title_label(word), People(n), c, per])
    table = Table(title, [what, "Subscribers", "Upcoming courses", "Subscribers per course"], rows,
                  numeric=(1, 2, 3))
    top = max(words, key=lambda w: people.get(w, 0), default=None)
    if top is None:
        summary = "No subscriber has given this yet."
    else:
        summary = (f"Most subscribers chose {label(top)} ({People(people.get(top, 0))}), "
                   f"met by {count_words(courses.get(top, 0), 'upcoming course')}.")
        unmet = [label(w) for w in words if people.get(w, 0) >= 5 and not courses.get(w)]
        if unmet:
            summary += f" No upcoming course for: {', '.join(unmet)}."
    return Chart(chart_id, title, summary, [r[0] for r in rows],
                 [("Subscribers", [r[1] for r in rows]), ("Upcoming courses", [r[2] for r in rows])],
                 "Subscribers", table, panels=True)


# --- reach ------------------------------------------------------------------------------------

def reach_section(records: Records, wanted: data.Demand) -> Section:
    section = Section("reach", "Reach: member schools")
    by_phase = data.reach(records, wanted)
    members = len(records.schools)
    reached = sum(1 for s in records.schools if wanted.by_school.get(s))
    section.paragraphs.append(
        f"{reached} of {count_words(members, 'member school')} have staff on the list. "
        f"{people_words(People(sum(n for s, n in wanted.by_school.items() if s not in records.schools)), 'subscriber', 'subscribers')} "
        f"name a school that is not a member, and {people_words(People(wanted.no_school), 'subscriber', 'subscribers')} "
        "gave no school.")
    not_reached = [records.schools[s].name for s in sorted(records.schools, key=lambda s: records.schools[s].name.casefold())
                   if not wanted.by_school.get(s)]
    if not_reached:
        section.paragraphs.append("Not yet reaching the staff of: " + "; ".join(not_reached) + ".")
    rows = [[title_label(p), len(w) + len(wo), len(w), len(wo)] for p, (w, wo) in by_phase.items()]
    table = Table("Member schools by phase, with and without subscribers",
                  ["Phase", "Member schools", "With subscribers", "Without subscribers"], rows,
                  numeric=(1, 2, 3))
    worst = max(rows, key=lambda r: (r[3] / r[1] if r[1] else 0, r[3]), default=None)
    summary = (f"{reached} of {members} member schools have staff on the list."
               + (f" {worst[0]} has the most schools not yet reached ({worst[3]} of {worst[1]})."
                  if worst and worst[3] else ""))
    section.charts.append(Chart(
        "reach-phases", "Member schools with and without subscribers, by phase", summary,
        [r[0] for r in rows], [("With subscribers", [r[2] for r in rows]),
                               ("Without subscribers", [r[3] for r in rows])],
        "Member schools", table, stacked=True))
    school_rows = [[records.schools[s].name, ", ".join(title_label(p) for p in records.schools[s].phase),
                    People(wanted.by_school.get(s, 0))]
                   for s in sorted(records.schools, key=lambda s: records.schools[s].name.casefold())]
    section.tables.append(Table("Subscribers per member school", ["School", "Phase", "Subscribers"],
                                school_rows, numeric=(2,)))
    return section


# --- newsletters ------------------------------------------------------------------------------

def newsletter_section(records: Records, stats: list[data.EditionStats]) -> Section:
    section = Section("newsletters", "Newsletters")
    if not stats:
        section.paragraphs.append("No edition dated within the period has been sent.")
        return section
    audiences = {a: records.audiences[a].label if a in records.audiences else a for a in {s.audience for s in stats}}
    subjects = {e.id: e.subject for e in records.editions.values()}
    rows = [[f"{subjects.get(s.edition, s.edition)} ({s.edition})", audiences[s.audience],
             People(s.sent), People(s.failed), People(s.bounced), People(s.complained),
             People(s.unsubscribed)] for s in stats]
    table = Table("Each edition per audience", ["Edition", "Audience", "Sent", "Failed", "Bounced",
                                                "Complained", "Unsubscribed"], rows,
                  numeric=(2, 3, 4, 5, 6))
    section.tables.append(table)
    parts: dict[str, list[list[int]]] = {}        # edition -> per audience [sent, bounced, ...]
    for s in stats:
        parts.setdefault(s.edition, []).append([s.sent, s.bounced, s.complained, s.unsubscribed])
    total_rows = [[subjects.get(e, e), *(people_total([a[k] for a in audiences_]) for k in range(4))]
                  for e, audiences_ in parts.items()]
    every = [a for audiences_ in parts.values() for a in audiences_]
    sent, bounced, complained, unsubscribed = (people_total([a[k] for a in every]) for k in range(4))
    summary = (f"{count_words(len(parts), 'edition')} in the period, {sent} emails sent in all; "
               f"{bounced} bounced, {complained} complaints and {unsubscribed} unsubscribes followed.")
    section.paragraphs.append(summary + " Delivery is not recorded: the database holds the "
                              "provider's bounces, complaints and unsubscribes but not its "
                              "delivery events, and opens and clicks are never tracked.")
    section.charts.append(Chart(
        "newsletters", "Emails sent per edition, and what followed", summary,
        [r[0] for r in total_rows],
        [("Sent", [r[1] for r in total_rows]), ("Bounced", [r[2] for r in total_rows]),
         ("Complained", [r[3] for r in total_rows]), ("Unsubscribed", [r[4] for r in total_rows])],
        "Emails", Table("Each edition, all audiences", ["Edition", "Sent", "Bounced", "Complained",
                                                         "Unsubscribed"], total_rows,
                        numeric=(1, 2, 3, 4))))
    return section


# --- evaluations ------------------------------------------------------------------------------

def mean_cell(count: int, total: int) -> str:
    """A mean rating is shown only when at least 5 people gave it."""
    return f"{total / count:.1f}" if count >= 5 else "-"


def evaluation_section(courses: list[data.CourseEvaluations]) -> Section:
    section = Section("evaluations", "Course evaluations")
    if not courses:
        section.paragraphs.append("No evaluation submitted within the period has been imported.")
        return section
    strands: dict[str, list] = {}
    for c in courses:
        s = strands.setdefault(c.strand, [[], 0, 0])
        s[0].append(c.count)
        s[1] += c.total
        s[2] += 1
    rows = [[STRANDS.get(s, s or "unknown course"), v[2], people_total(v[0]), mean_cell(sum(v[0]), v[1])]
            for s, v in strands.items()]
    people = people_total([c.count for c in courses])
    best = max((r for r in rows if r[3] != "-"), key=lambda r: float(r[3]), default=None)
    summary = (f"{people} evaluations of {count_words(len(courses), 'course')}"
               + (f"; the highest mean rating is {best[0]} ({best[3]} out of 5)." if best else "."))
    section.paragraphs.append(summary + " Mean ratings are shown where at least 5 people rated.")
    section.charts.append(Chart(
        "evaluations-strands", "Mean rating (1 to 5) by strand", summary, [r[0] for r in rows],
        [("Mean rating", [float(r[3]) if r[3] != "-" else None for r in rows])], "Mean rating",
        Table("Evaluations by strand", ["Strand", "Courses", "Evaluations", "Mean rating"], rows,
              numeric=(1, 2, 3)), limit=5))
    section.tables.append(Table(
        "Evaluations by course", ["Course", "Strand", "Evaluations", "Mean rating"],
        [[c.title, STRANDS.get(c.strand, c.strand), People(c.count), mean_cell(c.count, c.total)]
         for c in sorted(courses, key=lambda c: -c.count)], numeric=(2, 3)))   # most evaluated first
    section.quotes = [(c.title, q) for c in courses for q in c.quotes][:30]
    return section
