"""Typed records, one validator per field. Messages are for editors, not developers.

Vocabulary words and references to other records are *not* checked here: they depend on the
whole tree and are checked in one place, ``check.py``.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import itertools
import re
from typing import Annotated, Any, Callable, Literal, Optional
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field,
                      PrivateAttr, ValidationInfo, WithJsonSchema, field_validator,
                      model_validator)

STRANDS = {
    "itt": "Initial teacher training",
    "cpd": "Professional development",
    "leadership": "Leadership development",
    "school-support": "School-to-school support",
    "sle": "Specialist Leaders of Education",
    "research": "Research and development",
}
DEFAULT_VOCABULARY = {
    "roles": ["teaching-assistant", "teacher", "ect", "trainee", "middle-leader", "senior-leader",
              "headteacher", "governor", "senco", "support-staff"],
    "phases": ["nursery", "infant", "junior", "primary", "secondary", "all-through", "special",
               "post-16"],
    "specialisms": ["early-reading", "english", "maths", "science", "send", "eyfs", "behaviour",
                    "assessment", "leadership", "itt-mentoring"],
}
DEFAULT_CONSENT = ("I would like {name}'s newsletter by email: courses, programmes and opportunities "
                   "for my role and phase. I can change what I get or leave at any time with the "
                   "link in every email.")
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EMAIL_RE = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


# --- field types: each a small validator with a message an editor can act on -------------

# Control characters (NUL, ESC, ...) break email headers, calendar files and pages, are invisible,
# and are never typed on purpose: YAML makes them from escapes such as "\0" or "\e". Refused in
# every text field, one line or many (tab and line breaks are text).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise ValueError("should be text")
    text = str(value).strip()
    bad = _CONTROL_RE.search(text)
    if bad:
        raise ValueError(f"holds an invisible control character (U+{ord(bad.group()):04X}) after "
                         f"{text[:bad.start()][-20:]!r}; delete it (retype the line if you cannot see it)")
    if not text:
        raise ValueError("is empty; write some text")
    return text


def _line(value: Any) -> str:
    text = _text(value)
    if "\n" in text or "\r" in text:
        raise ValueError("should be one line")
    return text


def _word(value: Any) -> str:
    if not isinstance(value, str) or not ID_RE.match(value.strip()):
        raise ValueError(f"{value!r} is not an id: use lower-case letters, digits and hyphens")
    return value.strip()


def _words(value: Any) -> list[str]:
    if isinstance(value, str):       # `phase: primary` means [primary]
        value = [value]
    if not isinstance(value, list):
        raise ValueError("should be a list, e.g. [primary, secondary]")
    return [_word(v) for v in value]


def _ref(value: Any) -> str:
    # Any one-line text: whether it names a record or a vocabulary word is checked in check.py,
    # which knows the ids and names and can say "write the id" for a name.
    if type(value) is str:                    # the usual case, cheaply: thousands per check
        text = value.strip()
        if text and "\n" not in text and "\r" not in text:
            return text
    if isinstance(value, (list, dict)):
        raise ValueError("should be one id, not a list")
    return _line(value)


def _refs(value: Any) -> list[str]:
    if isinstance(value, str):       # `phase: primary` means [primary]
        value = [value]
    if not isinstance(value, list):
        raise ValueError("should be a list, e.g. [primary, secondary]")
    return [_ref(v) for v in value]


def _non_empty(value: list) -> list:
    if not value:
        raise ValueError("needs at least one value")
    return value


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("should be a date without a time, e.g. 2027-01-14")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(_not_a_date(str(value).strip())) from None


def _not_a_date(text: str) -> str:
    """Written as YYYY-MM-DD but not in the calendar (2027-02-30) is a different mistake from
    a date written another way, and needs a different fix."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        year, month, day = map(int, match.groups())
        if not 1 <= month <= 12:
            return f"{text!r} has no month {month}; months go from 01 to 12 (YYYY-MM-DD)"
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            return (f"{text!r} is not in the calendar: {calendar.month_name[month]} {year} has "
                    f"{last} days")
    return f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2027-01-14"


def _time(value: Any) -> dt.time:
    match = _TIME_RE.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a time; write it 24-hour in quotes, e.g. \"13:30\"")
    return dt.time(int(match.group(1)), int(match.group(2)))


def _year_month(value: Any) -> str:
    text = str(value).strip()
    if isinstance(value, bool) or not re.match(r"^\d{4}(-(0[1-9]|1[0-2]))?$", text):
        raise ValueError(f"{value!r} should be a year or a year and month, e.g. 2014 or 2014-09")
    return text


def _url(value: Any) -> str:
    text = _line(value)
    parts = urlparse(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{text!r} is not a web address; write it in full, starting https://")
    return text


def _booking(value: Any) -> str:
    text = _line(value)
    parts = urlparse(text)
    if parts.scheme == "mailto" and _EMAIL_RE.match(parts.path):
        return text
    if parts.scheme == "https" and parts.netloc:
        return text
    raise ValueError(f"{text!r} should be an https:// link or mailto:someone@example.org")


def _email(value: Any) -> str:
    text = _line(value)
    if not _EMAIL_RE.match(text):
        raise ValueError(f"{text!r} is not an email address")
    return text


def _timezone(value: Any) -> str:
    text = _line(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not a time zone; e.g. Europe/London") from None
    return text


def _money(value: Any) -> float:
    if isinstance(value, str):
        text = value.strip()
        number = text.lstrip("£").replace(",", "")
        if re.fullmatch(r"\d+(\.\d+)?", number):
            if text.startswith("£"):
                raise ValueError(f"{value!r}: write the number without the £ sign: cost: {number}")
            raise ValueError(f"\"{value}\" is in quotes, so it is text; remove the quotes: cost: {number}")
        if text.lower() == "free":
            raise ValueError("'free' should be the number 0: cost: 0")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} should be a number of pounds, e.g. 0 for free or 45")
    if value < 0:
        raise ValueError("cannot be negative")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} should be a whole number, 0 or more")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{value!r} should be true or false")
    return value


_COLOUR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


def _colour(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str) else ""
    if not _COLOUR_RE.match(text):
        raise ValueError(f"{value!r} is not a colour; write it as a hex code in quotes, e.g. \"#1d4f91\"")
    if len(text) == 4:
        text = "#" + "".join(c * 2 for c in text[1:])
    return text.lower()


def _positive(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} should be a whole number of at least 1")
    return value


def _places(value: Any) -> int:
    if value == 0 and not isinstance(value, bool):
        raise ValueError("0 is not a number of places; if the course is full, write "
                         "`status: full` instead (and keep places for how many it takes)")
    return _positive(value)


def Choice(*allowed: str) -> Any:  # noqa: N802 - a type, named like one
    """One of a fixed list of words (editors' schemas offer them for completion)."""
    return Annotated[str, BeforeValidator(_choice(*allowed)), WithJsonSchema({"enum": list(allowed)})]


def _choice(*allowed: str):
    def check(value: Any) -> str:
        if value not in allowed:
            from .problems import did_you_mean
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}{did_you_mean(value, allowed)}")
        return value
    return check


# Each type also says what editors' JSON Schemas (records/editor_schemas.py) accept: what an
# editor would write in YAML, not how Python holds it.
_ID = ID_RE.pattern
_TEXT = {"type": ["string", "number"]}
_REF = {"type": "string", "pattern": _ID}
_REFS = {"anyOf": [{"type": "array", "items": _REF}, _REF]}
Text = Annotated[str, BeforeValidator(_text), WithJsonSchema(_TEXT)]
Line = Annotated[str, BeforeValidator(_line), WithJsonSchema(_TEXT)]
Word = Annotated[str, BeforeValidator(_word), WithJsonSchema(_REF)]
Words = Annotated[list[str], BeforeValidator(_words), WithJsonSchema(_REFS)]
SomeWords = Annotated[list[str], BeforeValidator(_words), AfterValidator(_non_empty),
                      WithJsonSchema({"type": "array", "items": _REF, "minItems": 1})]
Ref = Annotated[str, BeforeValidator(_ref), WithJsonSchema(_REF)]  # an id of a record or a word
Refs = Annotated[list[str], BeforeValidator(_refs), WithJsonSchema(_REFS)]
SomeRefs = Annotated[list[str], BeforeValidator(_refs), AfterValidator(_non_empty),
                     WithJsonSchema({"anyOf": [{"type": "array", "items": _REF, "minItems": 1}, _REF]})]
Date = Annotated[dt.date, BeforeValidator(_date),
                 WithJsonSchema({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"})]
Time = Annotated[dt.time, BeforeValidator(_time),
                 WithJsonSchema({"type": "string", "pattern": _TIME_RE.pattern})]
YearMonth = Annotated[str, BeforeValidator(_year_month), WithJsonSchema(
    {"anyOf": [{"type": "integer", "minimum": 1900, "maximum": 2999},
               {"type": "string", "pattern": r"^\d{4}(-(0[1-9]|1[0-2]))?$"}]})]
Url = Annotated[str, BeforeValidator(_url), WithJsonSchema({"type": "string", "pattern": "^https?://[^\\s]+$"})]
Email = Annotated[str, BeforeValidator(_email), WithJsonSchema({"type": "string", "pattern": _EMAIL_RE.pattern})]
Colour = Annotated[str, BeforeValidator(_colour),
                   WithJsonSchema({"type": "string", "pattern": _COLOUR_RE.pattern})]
Count = Annotated[int, BeforeValidator(_count), WithJsonSchema({"type": "integer", "minimum": 0})]
Flag = Annotated[bool, BeforeValidator(_flag), WithJsonSchema({"type": "boolean"})]


class Fields(BaseModel):
    """A group of fields: unknown ones are kept (and warned about by the loader)."""

    # defer_build: a model's validator is made when first used, not at import, so a re-check
    # of one course does not pay for the models of the kinds it does not read
    model_config = ConfigDict(extra="allow", frozen=False, arbitrary_types_allowed=True,
                              defer_build=True)


_SERIALS = itertools.count(1)


class Record(Fields):
    """A record of its own, from a file (or an entry of a file): it knows its id and source."""

    _id: str = PrivateAttr(default="")
    _path: str = PrivateAttr(default="")
    _source: Any = PrivateAttr(default=None)   # the parsed YAML, to find a field's line
    # a Markdown record's (line, message) for each part of its body the policy removes,
    # worked out once when its file is read (markdown.body_problems)
    _body_warnings: Any = PrivateAttr(default=None)
    # what has been worked out from this record alone (see `derived`)
    _derived: dict = PrivateAttr(default_factory=dict)

    # Read the private attributes straight from pydantic's slot: `self._id` goes through
    # BaseModel.__getattr__ (about 4 µs a time, 30x slower), and the website reads ids of
    # thousands of records many times per build.
    @property
    def id(self) -> str:
        return self.__pydantic_private__["_id"]

    @property
    def path(self) -> str:
        return self.__pydantic_private__["_path"]

    @property
    def serial(self) -> int:
        """A number no other record object of this process has: the preview's page signatures
        stand a record by it (its memory cache gives back the same object while the file is
        unchanged; see website/preview.py), a list of thousands in one pass."""
        found = self.__pydantic_private__["_derived"]
        try:
            return found["serial"]
        except KeyError:
            value = found["serial"] = next(_SERIALS)
            return value

    def __getstate__(self) -> dict:
        """Pickled (the parse cache) without what was derived: worked out again where it is
        unpickled, and a serial belongs to the process that gave it."""
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private and private.get("_derived"):
            state["__pydantic_private__"] = {**private, "_derived": {}}
        return state

    def __copy__(self):
        """A copy (``model_copy`` too) works out its own derived values: pydantic shares the
        private attributes' values between a model and its copies."""
        copied = super().__copy__()
        copied.__pydantic_private__["_derived"] = {}
        return copied

    def derived(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``, worked out once per record and ``key``: a record is never changed after
        it is read, and the website asks the same questions of thousands of records many
        times a build (and, in the preview, of every unchanged record again on each save)."""
        found = self.__pydantic_private__["_derived"]
        try:
            return found[key]
        except KeyError:
            value = found[key] = make()
            return value


class Contact(Fields):
    email: Email
    phone: Optional[Line] = None
    address: Line


class Vocabulary(Fields):
    roles: SomeWords = Field(default_factory=lambda: list(DEFAULT_VOCABULARY["roles"]))
    phases: SomeWords = Field(default_factory=lambda: list(DEFAULT_VOCABULARY["phases"]))
    specialisms: SomeWords = Field(default_factory=lambda: list(DEFAULT_VOCABULARY["specialisms"]))


class Colours(Fields):
    """The alliance's colours: ``primary`` (header, buttons, links) and ``accent`` (hover,
    focus). Both carry white text and sit on white pages, so the check asks each for WCAG AA
    contrast with white (records/check.py)."""

    primary: Colour
    accent: Optional[Colour] = None


class Alliance(Record):
    name: Line
    short_name: Optional[Line] = None
    aim: Line
    lead_school: Ref
    site_url: Url
    signup_url: Optional[Url] = None
    subscriptions_url: Optional[Url] = None     # the subscription service (python -m mailer serve)
    consent_wording: Optional[Line] = None      # what a reader agrees to on the join form
    timezone: Annotated[str, BeforeValidator(_timezone), WithJsonSchema({"type": "string"})] = "Europe/London"
    contact: Contact
    vocabulary: Vocabulary = Field(default_factory=Vocabulary)
    logo: Optional[Line] = None                  # an SVG or PNG under content/
    colours: Optional[Colours] = None
    photo: Optional[Line] = None                 # the home page's picture, under content/
    photo_alt: Optional[Line] = None             # what the photo shows, for people who cannot see it

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    @property
    def consent(self) -> tuple[str, str]:
        """The join form's consent wording and its version: the first 8 hex digits of the
        wording's SHA-256, so any change of wording is a new version without an editor
        having to remember to number it."""
        wording = self.consent_wording or DEFAULT_CONSENT.format(name=self.display_name)
        return wording, hashlib.sha256(wording.encode("utf-8")).hexdigest()[:8]

    @property
    def service_url(self) -> str:
        """The subscription service's base URL, ending in "/" (default: the site's)."""
        base = self.subscriptions_url or self.site_url
        return base if base.endswith("/") else base + "/"


class Venue(Record):
    name: Line
    address: Line
    notes: Optional[Text] = None


class School(Record):
    name: Line
    phase: SomeRefs
    role: Choice("teaching-school", "strategic-partner", "member")
    town: Line
    urn: Optional[Annotated[str, WithJsonSchema(
        {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^\d{6}$"}]})]] = None
    website: Optional[Url] = None
    joined: Optional[YearMonth] = None

    @field_validator("urn", mode="before")
    @classmethod
    def _urn(cls, value: Any) -> str:
        text = str(value).strip()
        if isinstance(value, bool) or not re.fullmatch(r"\d{6}", text):
            raise ValueError(f"{value!r} is not a URN: a URN is exactly six digits, e.g. 123456")
        return text


class BoardMember(Record):
    name: Line
    position: Line
    school: Optional[Ref] = None
    organisation: Optional[Line] = None

    @model_validator(mode="after")
    def _one_affiliation(self) -> "BoardMember":
        if bool(self.school) == bool(self.organisation):
            raise ValueError("give either `school:` (a school id) or `organisation:`, not both or neither")
        return self


class SLE(Record):
    name: Line
    school: Ref
    specialisms: SomeRefs
    phase: SomeRefs
    designated: Optional[YearMonth] = None
    availability: Choice("available", "limited", "unavailable") = "available"
    photo: Optional[Line] = None
    body: Text


class Session(Fields):
    date: Date
    start: Optional[Time] = None
    end: Optional[Time] = None
    venue: Ref
    title: Optional[Line] = None

    @model_validator(mode="after")
    def _times(self) -> "Session":
        if (self.start is None) != (self.end is None):
            raise ValueError("give both `start` and `end`, or neither for a whole day")
        if self.start is not None and self.end <= self.start:
            raise ValueError(f"end {self.end:%H:%M} is not after start {self.start:%H:%M}")
        return self

    @property
    def online(self) -> bool:
        return self.venue == "online"

    def span(self) -> tuple[dt.time, dt.time]:
        """Start and end; a session without times takes the whole day."""
        return (self.start or dt.time.min, self.end or dt.time.max)


class Course(Record):
    title: Line
    strand: Choice(*STRANDS)
    summary: Line
    audience: SomeRefs
    phase: Refs = Field(default_factory=list)      # empty means every phase
    sessions: list[Session]
    facilitators: Refs = Field(default_factory=list)
    cost: Annotated[float, BeforeValidator(_money), WithJsonSchema({"type": "number", "minimum": 0})]
    places: Optional[Annotated[int, BeforeValidator(_places),
                               WithJsonSchema({"type": "integer", "minimum": 1})]] = None
    places_left: Optional[Count] = None            # places still free; 0 means full
    late_joining: Optional[Flag] = None            # once under way: may people still join?
    # status before booking: booking's validator needs to know it
    status: Choice("open", "full", "cancelled") = "open"
    booking: Optional[Annotated[str, BeforeValidator(_booking), WithJsonSchema(
        {"type": "string", "pattern": "^(https://[^\\s]+|mailto:[^@\\s]+@[^@\\s]+)$"})]] = Field(
        default=None, validate_default=True)
    body: Text

    @field_validator("summary")
    @classmethod
    def _short_summary(cls, value: str) -> str:
        if len(value) > 200:
            raise ValueError(f"is {len(value)} characters; keep it to 200 or fewer")
        return value

    @field_validator("places_left")
    @classmethod
    def _not_more_than_places(cls, value: int | None, info: ValidationInfo) -> int | None:
        places = info.data.get("places")
        if value is not None and places is not None and value > places:
            raise ValueError(f"{value} is more than `places` ({places}); "
                             "give the number of places still free")
        return value

    @field_validator("sessions", mode="before")
    @classmethod
    def _some_sessions(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError("needs at least one session, each with a date and a venue")
        return value

    @field_validator("booking")
    @classmethod
    def _booking_unless_cancelled(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("status", "open") != "cancelled":
            raise ValueError("is required unless the course is cancelled: "
                             "an https:// link or mailto: address")
        return value

    # asked of every course many times a build: worked out once (see Record.derived), the
    # look-up written out, a lambda per call costing more than the look-up itself
    @property
    def dated_sessions(self) -> tuple[Session, ...]:
        found = self.__pydantic_private__["_derived"]
        try:
            return found["dated_sessions"]
        except KeyError:
            value = found["dated_sessions"] = tuple(sorted(self.sessions,
                                                           key=lambda s: (s.date, s.span())))
            return value

    @property
    def first_date(self) -> dt.date:
        found = self.__pydantic_private__["_derived"]
        try:
            return found["first_date"]
        except KeyError:
            value = found["first_date"] = min(s.date for s in self.sessions)
            return value

    @property
    def last_date(self) -> dt.date:
        found = self.__pydantic_private__["_derived"]
        try:
            return found["last_date"]
        except KeyError:
            value = found["last_date"] = max(s.date for s in self.sessions)
            return value

    def is_upcoming(self, today: dt.date) -> bool:
        return self.last_date >= today

    @property
    def is_free(self) -> bool:
        return self.cost == 0


class NewsItem(Record):
    title: Line
    date: Date
    summary: Line
    body: str = ""


class Audience(Record):
    label: Line
    roles: Refs = Field(default_factory=list)
    default: bool = False


class Edition(Record):
    subject: Line
    date: Date
    audiences: Optional[Refs] = None                # None: every audience
    course_weeks: Annotated[int, BeforeValidator(_positive), WithJsonSchema({"type": "integer", "minimum": 1})] = 8
    body: Text

    @field_validator("subject")
    @classmethod
    def _plain_subject(cls, value: str) -> str:
        if re.search(r"<[a-zA-Z/!]", value):
            raise ValueError("should be plain text, without HTML tags")
        return value


# Record kinds of the website's own (free pages) live in site_records.py;
# imported here, at the end, because they build on the field types above.
from .site_records import NAV_SECTIONS, FreePage  # noqa: E402,F401


# Which model each kind of record uses; a Literal of known kinds keeps callers honest.
Kind = Literal["alliance", "venue", "school", "board", "sle", "course", "news", "audience", "edition",
               "page"]
MODELS: dict[str, type[Record]] = {
    "alliance": Alliance, "venue": Venue, "school": School, "board": BoardMember, "sle": SLE,
    "course": Course, "news": NewsItem, "audience": Audience, "edition": Edition,
    "page": FreePage,
}
