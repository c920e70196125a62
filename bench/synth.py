"""Synthetic alliances and subscriber lists for benchmarks and scale tests.

    python bench/synth.py alliance DIR [--courses N] [--sles N] [--schools N] [--news N]
                                       [--seed N] [--start YYYY-MM-DD]
    python bench/synth.py subscribers FILE N [--seed N]

`make_alliance` writes a complete alliance (content/ and courses/, every kind of record the
format has) that is valid by construction: every id it references exists, every word is in the
default vocabulary, and no venue or SLE is ever booked twice at overlapping times, because each
(venue, date, time window) and (SLE, date, time window) is handed out at most once. The data is
awkward on purpose: non-ASCII names, `&`, `<`, `:` and quotes in titles, sessions on both sides
of the UK clock changes, sessions without times (whole day) and online sessions.

Files are formatted by hand: yaml.safe_dump costs about 0.6 ms a course here, 4 s for the full
tree, against about 0.7 s for everything this way. `_q` quotes a
string whenever a plain YAML scalar could be misread, so the output always loads back as
written (checked against PyYAML, both loaders, on thousands of random strings). Standard library
only, so it runs before the project's packages are installed.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import sys
import time
import unicodedata
from datetime import date, timedelta
from pathlib import Path

ROLES = ["teaching-assistant", "teacher", "ect", "trainee", "middle-leader", "senior-leader",
         "headteacher", "governor", "senco", "support-staff"]
PHASES = ["nursery", "infant", "junior", "primary", "secondary", "all-through", "special",
          "post-16"]
SPECIALISMS = ["early-reading", "english", "maths", "science", "send", "eyfs", "behaviour",
               "assessment", "leadership", "itt-mentoring"]
STRANDS = ["itt", "cpd", "leadership", "school-support", "sle", "research"]

FIRST_NAMES = [
    "Zoë", "Siobhán", "Łukasz", "Chloé", "José", "Renée", "Aoife", "Bjørn", "Ciarán", "Małgorzata",
    "Seán", "Anaïs", "Jürgen", "Noémie", "Oluwaseun", "Søren", "Émile", "Niamh", "Dóra", "Thắng",
    "Amelia", "Oliver", "Priya", "Mohammed", "Grace", "Harry", "Fatima", "Jack", "Aisha", "George",
    "Olivia", "Noah", "Isla", "Leo", "Ava", "Arthur", "Mia", "Oscar", "Ivy", "Kwame", "Hannah",
    "Daniel", "Sophie", "Tom", "Rebecca", "Gareth", "Amira", "Rhys", "Megan", "Sanjay", "Ruth",
    "Deborah", "Owen", "Marcus", "Helen", "Jo", "Sarah", "Wei", "Yusuf", "Imogen", "Callum",
]
LAST_NAMES = [
    "Hartley", "Kelleher", "Wiśniewski", "Benoît", "García", "Müller", "Ní Bhriain", "Lindqvist",
    "O'Brien", "Kowalczyk", "Nguyễn", "Østergaard", "Dvořák", "Brontë", "Mensah-Bonsu",
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Khan", "Begum", "Okafor", "Asante", "Raman", "Pickering", "Fairclough", "Thorne", "Pryce",
    "McAllister", "Haddad", "Adebayo", "Marchant", "Oyelaran", "Reeve", "Nwosu", "Talbot",
    "Doyle", "Ambrose", "Chen", "Ahmed", "Hussain", "MacLeod", "Fitzgerald", "Baptiste",
]
PLACES = [
    "Fenbridge", "Saltmere", "Coldham", "Wisset End", "Marshgate", "Willow Lane", "Eastmoor",
    "Abbey Meadows", "Kingsdyke", "Saxon Way", "Hereward", "Wardle Fen", "Harbour House",
    "Mill Green", "North Fen", "Drove Road", "Cromwell Park", "Sea Bank", "Lantern Way",
    "Wharf Road", "Church Street", "St Botolph's", "St Guthlac's", "Holme Drove", "Ashby Fen",
    "Lode End", "Sluice Road", "Reedham Marsh", "Oxlode", "Friday Bridge", "Cawdle Fen",
    "Manea Road", "Thistle Hill", "Barrowby", "Upton Cross", "Garden Lane", "Orchard Way",
    "Pinfold", "Brook Street", "Chapel Row", "Elm Tree", "Beech Grove", "Ferry Lane",
    "Southfield", "Northfield", "Westmead", "Eastbrook", "Highfield", "Lowfield", "Redhill",
    "Greenacre", "Bramley", "Foxhollow", "Kestrel Way", "Heron Drive", "Ouzel Lane",
    "Lark Rise", "Swallow Hill", "Nightingale", "Curlew Way",
]
TOWNS = ["Fenbridge", "Saltmere", "Coldham", "Wisset End", "Holme Drove", "Ashby Fen"]
# (kind of school, its phases); repeated kinds make primary schools the most common
KINDS = [
    ("Primary School", ["primary"]), ("Primary Academy", ["nursery", "primary"]),
    ("Infant School", ["infant"]), ("Junior School", ["junior"]),
    ("Church of England Primary School", ["primary"]), ("Nursery School", ["nursery"]),
    ("High School", ["secondary"]), ("Academy", ["secondary", "post-16"]),
    ("All-through Academy", ["all-through"]), ("Special School", ["special"]),
    ("Sixth Form College", ["post-16"]), ("Infant and Nursery School", ["nursery", "infant"]),
    ("Catholic Primary School", ["primary"]), ("Community College", ["secondary", "post-16"]),
]

# Course titles by strand. Some hold '&', '<', ':', quotes or '#', on purpose.
TITLES = {
    "itt": ["School Direct open evening", "SCITT literacy training day", "ITT mentor training",
            "Trainee selection day", "Subject knowledge: maths & science",
            "Trainees' behaviour day", "Lead mentor briefing: \"what good looks like\""],
    "cpd": ["Maths & Science in KS2", "Phonics refresher", "Adaptive teaching for pupils with SEND",
            "EYFS network", "Year 6 writing moderation", "Required practicals in GCSE science",
            "A level maths network", "Outstanding Teaching Assistant Programme",
            "Reading fluency: Year 2 <-> Year 3", "Pupils working at < expected standard",
            "Questioning & feedback", "Supporting pupils' mental health"],
    "leadership": ["Aspiring Middle Leaders Programme", "Senior leaders' breakfast network",
                   "New headteachers' induction", "Coaching skills for leaders",
                   "Leading SEND: new SENCOs", "Timetabling & staffing #2"],
    "school-support": ["Early reading improvement partnership", "Maths mastery partnership",
                       "Governors' briefing: school data", "How to ask for support",
                       "Attendance < 90%: what works"],
    "sle": ["Becoming an SLE", "SLE induction training", "SLE deployment skills",
            "SLE forum & celebration"],
    "research": ["Lesson study project", "Using research evidence", "Practitioner enquiry conference",
                 "Closing the gap: a Year 6 -> Year 7 enquiry"],
}
SUMMARY_OPENERS = [
    "A practical session on", "An introduction to", "A programme exploring",
    "Hands-on training in", "A network meeting about", "A chance to share practice on",
]
SUMMARY_TOPICS = [
    "early reading & phonics", "maths fluency", "behaviour and routines", "SEND in mainstream classes",
    "assessment that helps the next lesson", "leading a team", "mentoring trainees",
    "science practicals", "transition from Year 6 to Year 7", "writing through quality texts",
]

# Session time windows: each has a bit in a day's mask, so two sessions clash exactly when
# their masks share a bit. Windows never overlap one another.
WINDOWS = [
    (1, [("09:00", "12:00"), ("08:30", "10:30"), ("09:30", "12:30"), ("07:45", "08:45")]),
    (2, [("13:00", "15:30"), ("13:30", "15:30"), ("13:15", "15:15")]),
    (4, [("16:00", "17:30"), ("15:45", "17:15"), ("16:00", "17:00"), ("16:30", "17:45")]),
    (8, [("18:00", "19:30"), ("18:30", "20:00"), ("19:00", "20:30")]),
    (3, [("09:00", "15:30"), ("09:30", "15:00"), ("08:45", "15:15")]),  # a day (morning+afternoon)
    (15, [(None, None)]),                                                # no times: the whole day
]
WINDOW_WEIGHTS = [18, 18, 34, 8, 17, 5]

_PLAIN = re.compile(r"[^\W\d_][\w .,'()/-]*")
_RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "none", "nan", "inf"}
_FOLD = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "AE", "æ": "ae",
                       "Đ": "D", "đ": "d", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th"})


def _q(text: str) -> str:
    """A YAML scalar for text: plain when that reads back unchanged, else double-quoted.

    A JSON string is a valid YAML double-quoted scalar, so json.dumps does the escaping.
    """
    if (_PLAIN.fullmatch(text) and not text.endswith(" ") and text.lower() not in _RESERVED
            and "  " not in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return text.encode("ascii", "ignore").decode("ascii")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")


def _flow(items) -> str:
    return "[" + ", ".join(items) + "]"


def _school_id_name(i: int) -> tuple[str, str, list[str]]:
    """The i-th synthetic school: deterministic, so subscriber lists can name real ids."""
    place = PLACES[i % len(PLACES)]
    kind, phases = KINDS[(i // len(PLACES)) % len(KINDS)]
    name = f"{place} {kind}"
    rounds = i // (len(PLACES) * len(KINDS))
    if rounds:
        name = f"{name} ({TOWNS[rounds % len(TOWNS)]} {rounds + 1})"
    return _slug(name) + f"-{i}", name, phases


def _last_sunday(year: int, month: int) -> date:
    d = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _clock_changes(start: date) -> list[date]:
    """The next UK autumn and spring clock changes on or after start."""
    oct_ = _last_sunday(start.year, 10)
    if oct_ < start:
        oct_ = _last_sunday(start.year + 1, 10)
    return [oct_, _last_sunday(oct_.year + 1, 3)]


def _term_days(start: date) -> list[date]:
    """Weekdays over two school years from start, without the summer and Christmas holidays."""
    days, d, end = [], start, start + timedelta(days=700)
    while d < end:
        if d.weekday() < 5 and d.month != 8 and not (d.month == 7 and d.day > 21) \
                and not (d.month == 12 and d.day >= 22) and not (d.month == 1 and d.day < 3):
            days.append(d)
        d += timedelta(days=1)
    return days


def _write(path: Path, text: str) -> None:
    # os.open/os.write: three system calls a file; on this machine creating the files (kernel
    # time) costs more than generating them, so the fewer calls the better
    data = memoryview(text.encode("utf-8"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


def make_alliance(root: Path, *, courses: int = 5000, sles: int = 1000, schools: int = 500,
                  news: int = 200, seed: int = 1, start: date = date(2026, 9, 1)) -> None:
    """Write a complete, valid alliance of the given size under root (content/ and courses/)."""
    rng = random.Random(seed)
    root = Path(root)
    content = root / "content"
    for sub in ("schools", "sles", "news", "newsletters"):
        (content / sub).mkdir(parents=True, exist_ok=True)
    (root / "courses").mkdir(parents=True, exist_ok=True)
    schools = max(schools, 2)

    # schools: the first is the teaching school (the lead school), a few strategic partners
    school_ids = []
    for i in range(schools):
        sid, name, phases = _school_id_name(i)
        school_ids.append(sid)
        role = "teaching-school" if i == 0 else "strategic-partner" if i % 17 == 1 else "member"
        lines = [f"name: {_q(name)}", f"phase: {_flow(phases)}", f"role: {role}",
                 f"town: {_q(TOWNS[i % len(TOWNS)])}"]
        if i % 9:
            lines.append(f"urn: {100000 + (i * 7919) % 900000}")
        if i % 5:
            lines.append(f"website: https://www.{sid}.example/")
        if i % 4:
            lines.append(f"joined: {2013 + i % 14}-{1 + i % 12:02d}" if i % 3 else
                         f"joined: {2013 + i % 14}")
        _write(content / "schools" / f"{sid}.yml", "\n".join(lines) + "\n")
    lead = school_ids[0]

    _write(content / "alliance.yml", "\n".join([
        "name: Synthetic Fens Teaching School Alliance",
        "short_name: Synthetic Fens TSA",
        "aim: To work together to improve educational experiences and outcomes for children "
        "across the fens.",
        f"lead_school: {lead}",
        "site_url: https://www.synthetic-fens-tsa.example/",
        "signup_url: https://forms.example/synthetic-fens-join",
        "timezone: Europe/London",
        "contact:",
        "  email: office@synthetic-fens-tsa.example",
        '  phone: "01632 960000"',
        "  address: Teaching School Centre, 1 Wharf Road, Fenbridge FB1 4QT",
    ]) + "\n")

    # venues: about one per ten courses, so in-person sessions rarely compete for a room
    n_venues = max(3, courses // 10)
    venue_ids, out = [], []
    for i in range(n_venues):
        vid = "centre" if i == 0 else f"venue-{i}"
        venue_ids.append(vid)
        if i == 0:
            name = "Teaching School Centre"
        else:
            name = f"{PLACES[i % len(PLACES)]} {KINDS[i % len(KINDS)][0]}, room {1 + i // 100}"
        out.append(f"{vid}:\n  name: {_q(name)}\n  address: "
                   f"{_q(f'{1 + i % 200} {PLACES[(i * 7) % len(PLACES)]}, {TOWNS[i % len(TOWNS)]} FB{1 + i % 9} {i % 10}QT')}\n")
        if i % 3 == 0:
            out.append("  notes: Step-free access & parking on site; sign in at reception.\n")
    _write(content / "venues.yml", "".join(out))

    _write(content / "audiences.yml", (
        "teaching-assistants:\n  label: Teaching assistants\n  roles: [teaching-assistant]\n"
        "teachers:\n  label: Teachers and trainees\n  roles: [teacher, ect, trainee]\n"
        "leaders:\n  label: School leaders\n"
        "  roles: [middle-leader, senior-leader, headteacher, senco]\n"
        "friends:\n  label: Friends of the alliance\n  default: true\n"))

    positions = ["Chair", "Vice-chair", "Director of the Teaching School", "ITT lead",
                 "CPD lead", "SLE coordinator", "Research lead", "Special schools representative",
                 "Early years representative", "University partner", "Research adviser"]
    board = []
    for i, pos in enumerate(positions):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        board.append(f"- name: {_q(name)}\n  position: {_q(pos)}\n")
        if pos == "University partner":
            board.append("  organisation: University of East Fenland, School of Education\n")
        elif pos == "Research adviser":
            board.append("  organisation: Fenland Education Research Trust\n")
        else:
            board.append(f"  school: {school_ids[i % len(school_ids)]}\n")
    _write(content / "board.yml", "".join(board))

    # SLEs
    sle_ids = []
    availability = ["available"] * 6 + ["limited"] * 3 + ["unavailable"]
    for i in range(sles):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        sid = f"{_slug(name)}-{i}"
        sle_ids.append(sid)
        specs = [SPECIALISMS[i % len(SPECIALISMS)]]  # every specialism is covered
        specs += [s for s in rng.sample(SPECIALISMS, rng.randint(0, 2)) if s not in specs]
        school = school_ids[rng.randrange(len(school_ids))]
        phases = rng.sample(PHASES, rng.randint(1, 3))
        lines = ["---", f"name: {_q(name)}", f"school: {school}", f"specialisms: {_flow(specs)}",
                 f"phase: {_flow(phases)}"]
        if i % 4:
            lines.append(f"designated: {2014 + i % 12}-{1 + i % 12:02d}")
        if i % 2:
            lines.append(f"availability: {rng.choice(availability)}")
        lines += ["---",
                  f"{name} is a Specialist Leader of Education in {', '.join(specs)}, with "
                  f"{rng.randint(5, 25)} years' experience in {' & '.join(phases)} schools.",
                  "",
                  f"{first} has supported {rng.randint(1, 12)} schools in the alliance, coaching "
                  "teachers and leaders <em>and</em> mentoring trainees."]
        _write(content / "sles" / f"{sid}.md", "\n".join(lines) + "\n")

    # courses: sessions allocated so that no (venue, date, window) or (SLE, date, window) is used
    # twice. Masks: (venue or SLE, date) -> bits of the windows already taken.
    days = _term_days(start)
    day_index = {d: k for k, d in enumerate(days)}
    venue_busy: dict[tuple[str, date], int] = {}
    sle_busy: dict[tuple[str, date], int] = {}
    in_person = venue_ids
    clock = _clock_changes(start)
    forced = []
    for change in clock:  # a Thursday before and a Tuesday after each clock change
        before, after = change - timedelta(days=3), change + timedelta(days=2)
        if before in day_index and after in day_index:
            forced.append([before, after])
    statuses = ["open"] * 95 + ["full"] * 3 + ["cancelled"] * 2
    costs = [0] * 12 + [15, 20, 25, 35, 45, 95, 120, 250]
    n_title_kinds = sum(len(v) for v in TITLES.values())

    for i in range(courses):
        strand = STRANDS[i % len(STRANDS)]
        base = TITLES[strand][(i // len(STRANDS)) % len(TITLES[strand])]
        title = base if i < n_title_kinds else f"{base} ({i})"
        cid = f"{_slug(base)}-{i}"
        # dates
        if i < len(forced):
            dates = forced[i]
        else:
            n = rng.choice((1, 1, 1, 1, 1, 2, 3, 3, 4, 5, 6))
            gaps = [rng.randint(5, 30) for _ in range(n - 1)]
            first = rng.randrange(max(1, len(days) - sum(gaps)))
            dates, k = [days[first]], first
            for g in gaps:
                k = min(k + g, len(days) - 1)
                if days[k] != dates[-1]:
                    dates.append(days[k])
        online_share = rng.random() * 0.8
        sessions = []  # (date, start, end, venue, mask)
        for d in dates:
            mask, options = rng.choices(WINDOWS, WINDOW_WEIGHTS)[0]
            s, e = rng.choice(options)
            venue = "online"
            if rng.random() >= online_share:
                for _ in range(8):
                    v = in_person[rng.randrange(len(in_person))]
                    if not venue_busy.get((v, d), 0) & mask:
                        venue = v
                        break
                else:  # fall back to the first free room, else online
                    for v in in_person:
                        if not venue_busy.get((v, d), 0) & mask:
                            venue = v
                            break
            if venue != "online":
                venue_busy[(venue, d)] = venue_busy.get((venue, d), 0) | mask
            sessions.append((d, s, e, venue, mask))
        facilitators = []
        if sle_ids and rng.random() < 0.8:
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                for _ in range(10):
                    f = sle_ids[rng.randrange(len(sle_ids))]
                    if f not in facilitators and all(
                            not sle_busy.get((f, d), 0) & m for d, _s, _e, _v, m in sessions):
                        facilitators.append(f)
                        for d, _s, _e, _v, m in sessions:
                            sle_busy[(f, d)] = sle_busy.get((f, d), 0) | m
                        break
        status = rng.choice(statuses)
        summary = (f"{rng.choice(SUMMARY_OPENERS)} {rng.choice(SUMMARY_TOPICS)} for "
                   f"{strand} colleagues: {len(sessions)} session(s), led by practising staff.")[:200]
        audience = rng.sample(ROLES, rng.randint(1, 4))
        lines = ["---", f"title: {_q(title)}", f"strand: {strand}", f"summary: {_q(summary)}",
                 f"audience: {_flow(audience)}"]
        if rng.random() < 0.7:
            lines.append(f"phase: {_flow(rng.sample(PHASES, rng.randint(1, 3)))}")
        lines.append("sessions:")
        for k, (d, s, e, venue, _m) in enumerate(sessions):
            lines.append(f"  - date: {d.isoformat()}")
            if s:
                lines += [f'    start: "{s}"', f'    end: "{e}"']
            lines.append(f"    venue: {venue}")
            if len(sessions) > 1:
                lines.append(f"    title: {_q(f'Session {k + 1}: part {k + 1} & review')}")
        if facilitators:
            lines.append(f"facilitators: {_flow(facilitators)}")
        lines.append(f"cost: {rng.choice(costs)}")
        if rng.random() < 0.85:
            places = rng.randint(8, 120)
            lines.append(f"places: {places}")
            if i % 4 == 1:                     # from i, not rng: the rest of the tree stays as it was
                lines.append(f"places_left: {(i * 7) % (places + 1)}")
        if i % 6 == 2:
            lines.append(f"late_joining: {'true' if i % 12 == 2 else 'false'}")
        if status != "cancelled" or rng.random() < 0.5:
            lines.append("booking: " + (f"https://forms.example/{cid}" if i % 7 else
                         f"mailto:office@synthetic-fens-tsa.example?subject=Booking%20{cid}"))
        if status != "open" or i % 5 == 0:
            lines.append(f"status: {status}")
        lines += ["---",
                  f"{title} is part of the alliance's {strand} offer. Sessions are led by "
                  "practising teachers and Specialist Leaders of Education from member schools.",
                  "",
                  "- What you will learn & how to use it next week",
                  "- Time to plan with colleagues from other schools",
                  "- Follow-up resources <by email> after each session"]
        _write(root / "courses" / f"{cid}.md", "\n".join(lines) + "\n")

    # news, spread over the year before start and the first term after it
    for i in range(news):
        d = start - timedelta(days=330) + timedelta(days=(i * 421) // max(1, news))
        title = rng.choice(["Success in early reading at", "New SLEs designated from",
                            "Trainees start at", "Maths & science partnership with",
                            "Research project launched with", "Governors' conference at"])
        school_name = _school_id_name(rng.randrange(len(school_ids)))[1]
        full = f"{title} {school_name}"
        slug = f"{_slug(full)[:50].strip('-')}-{i}"
        _write(content / "news" / f"{d.isoformat()}-{slug}.md", "\n".join([
            "---", f"title: {_q(full)}", f"date: {d.isoformat()}",
            f"summary: {_q(f'News from {school_name}: what happened & what comes next.')}",
            "---",
            f"Staff at {school_name} worked with colleagues across the alliance this term.",
            "",
            "Results so far are encouraging: *more* pupils reading fluently, and < 5% absence.",
        ]) + "\n")

    # two editions: one to every audience, one to teachers and leaders with a longer horizon
    e1, e2 = start + timedelta(days=6), start + timedelta(days=83)
    _write(content / "newsletters" / f"{e1.isoformat()}-autumn.md", "\n".join([
        "---", 'subject: "Autumn term: courses, SLE news & success stories"',
        f"date: {e1.isoformat()}", "---",
        "Welcome back. Here is what the alliance offers this half-term.",
    ]) + "\n")
    _write(content / "newsletters" / f"{e2.isoformat()}-winter.md", "\n".join([
        "---", 'subject: "Winter: leadership programmes & the ECT conference"',
        f"date: {e2.isoformat()}", "audiences: [teachers, leaders]", "course_weeks: 12", "---",
        "As the term ends, a look ahead to the spring: book early, places go quickly.",
    ]) + "\n")


SOURCES = ["questionnaire-2026-09", "staff-meeting", "website", "open-evening", "import"]


def make_subscribers_csv(path: Path, n: int, *, seed: int = 1, roles=None, phases=None) -> None:
    """Write n subscribers (a header row, then one row each) to a UTF-8 CSV, streaming.

    Addresses are unique and on .example domains; about 3% of rows say consent "no".
    """
    rng = random.Random(seed)
    roles = list(roles or ROLES)
    phases = list(phases or PHASES)
    firsts = [(f, _slug(f).replace("-", "")) for f in FIRST_NAMES]
    lasts = [(s, _slug(s).replace("-", "")) for s in LAST_NAMES]
    domains = ["school.example", "fenbridge.example", "saltmere-cc.example", "mail.example",
               "coldham-primary.example", "academy-trust.example"]
    schools = [_school_id_name(i) for i in range(500)]
    random_, choice, randrange = rng.random, rng.choice, rng.randrange
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["email", "first_name", "last_name", "school", "roles", "phases",
                    "interests", "consent", "source"])
        rows = []
        for i in range(n):
            first, fa = firsts[randrange(len(firsts))]
            last, la = lasts[randrange(len(lasts))]
            email = f"{fa}.{la}.{i}@{domains[i % len(domains)]}"
            r = random_()
            if r < 0.3:
                school = schools[randrange(500)][0]
            elif r < 0.9:
                school = schools[randrange(500)][1]
            else:
                school = ""
            role = ";".join(rng.sample(roles, 1 if random_() < 0.8 else 2))
            phase = ";".join(rng.sample(phases, randrange(0, 3)))
            interests = ";".join(rng.sample(STRANDS, randrange(0, 4)))
            c = random_()
            if c < 0.03:
                consent = "no"
            elif c < 0.6:
                consent = "yes"
            elif c < 0.65:
                consent = choice(("true", "1", "Yes"))
            else:
                consent = (date(2024, 9, 1) + timedelta(days=randrange(800))).isoformat()
            rows.append((email, first, last, school, role, phase, interests, consent,
                         SOURCES[i % len(SOURCES)]))
            if len(rows) == 1000:
                w.writerows(rows)
                rows.clear()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synth.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    a = sub.add_parser("alliance", help="write a synthetic alliance into DIR")
    a.add_argument("dir", type=Path)
    a.add_argument("--courses", type=int, default=5000)
    a.add_argument("--sles", type=int, default=1000)
    a.add_argument("--schools", type=int, default=500)
    a.add_argument("--news", type=int, default=200)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--start", type=date.fromisoformat, default=date(2026, 9, 1))
    s = sub.add_parser("subscribers", help="write N synthetic subscribers to a CSV FILE")
    s.add_argument("file", type=Path)
    s.add_argument("n", type=int)
    s.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.what == "alliance":
        make_alliance(args.dir, courses=args.courses, sles=args.sles, schools=args.schools,
                      news=args.news, seed=args.seed, start=args.start)
        what = f"alliance in {args.dir}"
    else:
        make_subscribers_csv(args.file, args.n, seed=args.seed)
        what = f"{args.n} subscribers in {args.file}"
    print(f"wrote {what} in {time.perf_counter() - t0:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
