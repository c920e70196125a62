"""Form exports made by the tests, shaped like the real ones (invented people).

Microsoft Forms (.xlsx, written with openpyxl as Excel would save it): columns ID, Start time,
Completion time, Email, Name, Last modified time, then one per question; times are Excel date
cells; multiple choices joined by ";" with a trailing ";"; a question's header may run over
two lines. Google Forms (CSV, UTF-8 with a byte-order mark): Timestamp in the owner's locale
(14/09/2025 10:03:22), one column per question, several choices joined by ", ", answers over
several lines quoted.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

MS_HEAD = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"]
Q_ROLE = "What is your role?"
Q_PHASE = "Which phase(s) do you work in?\n(tick all that apply)"
Q_WANT = "What would you like from the alliance?"
Q_SCHOOL = "Which school do you work at?"
Q_CONSENT = "May we keep your details and send you our newsletter?"
Q_OTHER = "Anything else you would like to tell us?"
CONSENT_YES = ("Yes, I agree to Testwick TSA keeping my name, email and school and sending me "
               "its termly newsletter, as its privacy notice describes")
CONSENT_NO = "No, thank you"


def ms_forms_xlsx(path: Path, questions: list[str], rows: list[list[Any]]) -> Path:
    """An MS Forms export: ``rows`` are (email, name, started, completed, *answers)."""
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    sheet.append(MS_HEAD + questions)
    for number, (email, name, started, completed, *answers) in enumerate(rows, start=1):
        sheet.append([number, started, completed, email, name, None, *answers])
        for col in (2, 3):                       # Excel shows these as date-times
            cell = sheet.cell(row=number + 1, column=col)
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "m/d/yy h:mm:ss"
    book.save(path)
    return path


def google_csv(path: Path, questions: list[str], rows: list[list[Any]]) -> Path:
    """A Google Forms CSV export with a BOM: ``rows`` are (timestamp text, *answers)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Timestamp", *questions])
    writer.writerows(rows)
    path.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
    return path


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def ms_staff_rows() -> list[list[Any]]:
    """Eight answers to the staff questionnaire, two of them unmappable (rows 5 and 8)."""
    return [
        ["siobhan.ni@testwick-primary.example", "Siobhán Ní Bhriain", when("2025-09-14 10:01:12"),
         when("2025-09-14 10:03:22"), "Teaching Assistant / HLTA", "KS1;KS2;",
         "SEND support;Phonics;", "Testwick Primary School", CONSENT_YES, "I'd like more on\nSEND, please"],
        ["lukasz.w@testwick-high.example", "Łukasz Wiśniewski", when("2025-09-14 11:20:00"),
         when("2025-09-14 11:24:45"), "Class teacher", "KS3;KS4;", "Research;",
         "Testwick High School", CONSENT_YES, ""],
        ["zoe.o@testwick-high.example", "Zoë O'Brien", when("2025-09-15 08:00:00"),
         when("2025-09-15 08:02:10"), "Head of department", "KS4;Sixth form;", "Leadership development;",
         "testwick high", CONSENT_NO, ""],
        ["amira.h@elsewhere.example", "Amira Haddad", when("2025-09-15 09:00:00"),
         # a cell that lost its date format: an Excel serial number (2025-09-16 12:00)
         45916.5, "Teaching Assistant / HLTA", "EYFS;", "SEND support;",
         "Little Acorns Nursery & Pre-school", CONSENT_YES, ""],
        ["dinner.lady@testwick-primary.example", "Jo Smith", when("2025-09-16 12:00:00"),
         when("2025-09-16 12:01:00"), "Lunchtime supervisor", "KS1;", "SEND support;",
         "Testwick Primary School", CONSENT_YES, ""],
        ["kwame.a@testwick-primary.example", "Kwame Asante", when("2025-09-16 13:00:00"),
         when("2025-09-16 13:05:00"), "Deputy head", "KS2;", "Leadership development;Research;",
         "Testwick Primary School", CONSENT_YES, "Thanks!"],
        ["siobhan.ni@testwick-primary.example", "Siobhán Ní Bhriain", when("2025-09-17 10:00:00"),
         when("2025-09-17 10:02:00"), "Teaching Assistant / HLTA", "KS1;",
         "SEND support;Phonics;Research;", "Testwick Primary School", CONSENT_YES, "Updated"],
        ["not-an-address", "Nobody", when("2025-09-17 11:00:00"), when("2025-09-17 11:00:30"),
         "Class teacher", "KS9;", "Research;", "Testwick High School", CONSENT_YES, ""],
    ]


MS_STAFF_QUESTIONS = [Q_ROLE, Q_PHASE, Q_WANT, Q_SCHOOL, Q_CONSENT, Q_OTHER]

MS_STAFF_MAPPING = f"""\
kind: subscribers
source: staff-questionnaire-2025
columns:
  ID: ignore
  Start time: ignore
  Completion time: date
  Email: email
  Name: name
  Last modified time: ignore
  "{Q_ROLE}": roles
  "Which phase(s) do you work in? (tick all that apply)": phases
  "{Q_WANT}": interests
  "{Q_SCHOOL}": school
  "{Q_CONSENT}": consent
  "{Q_OTHER}": ignore
answers:
  roles:
    "Teaching Assistant / HLTA": teaching-assistant
    "Class teacher": teacher
    "Head of department": middle-leader
    "Deputy head": senior-leader
  phases:
    KS1: infant
    KS2: junior
    KS3: secondary
    KS4: secondary
    "Sixth form": post-16
    EYFS: nursery
  interests:
    "SEND support": send
    Phonics: early-reading
    "Leadership development": leadership
  school:
    "Testwick Primary School": testwick-primary
  consent:
    "{CONSENT_YES}": yes
    "{CONSENT_NO}": no
"""

GOOGLE_QUESTIONS = ["Email address", "First name", "Surname", "Your role", "Phase(s)",
                    "Which areas interest you?", "Consent"]
GOOGLE_CONSENT = "Yes, I agree to receive the newsletter, and I can unsubscribe at any time"


def google_rows() -> list[list[Any]]:
    return [
        ["14/09/2025 10:03:22", "chloe.b@testwick-high.example", "Chloé", "Benoît", "Teacher",
         "Secondary, Post-16", "Research, Maths", GOOGLE_CONSENT],
        ["03/10/2025 16:45:00", "oluwaseun.m@testwick-primary.example", "Oluwaseun", "Mensah-Bonsu",
         "ECT", "Primary", "Maths, Early reading", GOOGLE_CONSENT],
        ["04/10/2025 09:12:45", "renee.d@testwick-primary.example", "Renée", "Dvořák", "Teecher",
         "Primary", "Maths", GOOGLE_CONSENT],
        ["05/10/2025 20:00:00", "bjorn.l@testwick-high.example", "Bjørn", "Lindqvist", "Teacher",
         "Secondary", "Science", "No"],
    ]


GOOGLE_MAPPING = f"""\
kind: subscribers
dates: day-first
columns:
  Timestamp: date
  Email address: email
  First name: first_name
  Surname: last_name
  Your role: roles
  Phase(s): phases
  Which areas interest you?: interests
  Consent: consent
answers:
  consent:
    "{GOOGLE_CONSENT}": yes
    "No": no
"""

EVAL_QUESTIONS = ["How would you rate the course overall?", "What will you change in your practice?",
                  "May we quote your answer (without your name)?"]

EVAL_MAPPING = """\
kind: evaluations
columns:
  ID: ignore
  Start time: ignore
  Completion time: date
  Email: ignore
  Name: ignore
  Last modified time: ignore
  How would you rate the course overall?: rating
  What will you change in your practice?: change
  May we quote your answer (without your name)?: quote_consent
answers:
  quote_consent:
    "Yes, quote me": yes
    "No": no
"""


def eval_rows(n: int, *, start: str = "2026-10-01 15:00:00", ratings=None, seed: int = 0) -> list[list[Any]]:
    """n evaluations (anonymous MS Forms: Email 'anonymous', no name)."""
    base = when(start)
    out = []
    for i in range(n):
        rating = ratings[i % len(ratings)] if ratings else 1 + (i * 7 + seed) % 5
        quote = "Yes, quote me" if i % 3 == 0 else "No"
        change = f"I will plan\nphonics groups differently ({i + 1})" if i % 2 == 0 else ""
        out.append(["anonymous", None, base + dt.timedelta(minutes=i), base + dt.timedelta(minutes=i, seconds=90),
                    rating, change, quote])
    return out
