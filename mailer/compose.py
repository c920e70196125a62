"""An edition's variants, rendered once each, and the few values personalised per reader.

A *variant* (records.newsletter.VariantKey: audience + the phases that matter) is rendered
once through ``site_templates/email/newsletter.html`` (autoescaped, CSS inlined with
css-inline, ``@media`` rules kept) and ``newsletter.txt`` (its own template, written to be
read). Where a reader's own values go, the variant holds placeholders (``%%first_name%%``, see
providers/base.py); per reader we only compute those values: a greeting name, a signed
unsubscribe URL and mailto, and a Message-ID. The cost grows with the variants, not the readers.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import html
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from email.utils import formataddr
from urllib.parse import urlparse

import css_inline
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from records import urls
from records.markdown import allowed_url, to_html, without_html
from records.newsletter import VariantKey, news_for
from records.schema import STRANDS, Course, Edition, Session
from records.tree import Records

from .audiences import Planner
from .providers.base import Recipient, Sender, Variant, placeholder
from .hashing import address_digest
from .store import Reader
from .tokens import Tokens, check_unsubscribe_url, default_unsubscribe_url

TEMPLATES = Path(__file__).resolve().parent.parent / "site_templates" / "email"
GREETING_FALLBACK = "there"          # "Hello there," when we do not know a first name
PLACEHOLDERS = ("first_name", "first_name_html", "unsubscribe_url", "unsubscribe_mailto", "preferences_url",
                "message_id")
PREVIEW_VALUES = {"first_name": "Sam", "first_name_html": "Sam",
                  "unsubscribe_url": "#unsubscribe-link-is-personal",
                  "preferences_url": "#preferences-link-is-personal",
                  "unsubscribe_mailto": "#unsubscribe-link-is-personal",
                  "message_id": "preview@localhost"}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LONG_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


# --- small formatters shared by both templates ------------------------------------------------

def long_date(day: dt.date) -> str:
    return f"{day.day} {_LONG_MONTHS[day.month - 1]} {day.year}"


def short_date(day: dt.date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def session_text(session: Session, venue_name: str) -> str:
    when = short_date(session.date)
    if session.start is not None:
        when += f", {session.start:%H:%M}\u2013{session.end:%H:%M}"
    parts = [when, venue_name]
    if session.title:
        parts.append(session.title)
    return " \u00b7 ".join(parts)


def money(cost: float) -> str:
    if cost == 0:
        return "Free"
    return f"\u00a3{cost:,.0f}" if float(cost).is_integer() else f"\u00a3{cost:,.2f}"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"
                          r"|(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?!\w)")
_MD_CODE = re.compile(r"`([^`]*)`")
_HTML_TAG = re.compile(r"<[^>]+>")


def markdown_text(source: str, width: int = 72) -> str:
    """Markdown as plain text that reads well: links as "text (url)", no emphasis marks,
    headings underlined, paragraphs and list items wrapped."""
    def link(m: re.Match) -> str:
        text, url = m.group(1), m.group(2)
        if m.group(0).startswith("!") or not allowed_url(html.unescape(url)):
            return text                    # what the HTML part's policy removes goes here too
        return url if text.strip() in ("", url) else f"{text} ({url})"

    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = block.splitlines()
        out: list[str] = []
        item: list[str] = []
        prefix = ""

        def flush():
            if item:
                text = " ".join(item)
                out.append(textwrap.fill(text, width, initial_indent=prefix,
                                         subsequent_indent=" " * len(prefix),
                                         break_long_words=False, break_on_hyphens=False))
                item.clear()

        for raw in lines:
            line = _MD_CODE.sub(r"\1", _MD_LINK.sub(link, raw))
            line = _MD_EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or m.group(4), line)
            line = html.unescape(_HTML_TAG.sub("", line)).strip()
            heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*$", line)
            bullet = re.match(r"^([-*+]|\d+[.)])\s+(.*)$", line)
            if heading:
                flush()
                out.append(heading.group(2))
                out.append(("=" if len(heading.group(1)) == 1 else "-") * len(heading.group(2)))
            elif bullet:
                flush()
                prefix = "- " if not bullet.group(1)[0].isdigit() else bullet.group(1) + " "
                item.append(bullet.group(2))
            elif line.startswith(">"):
                flush()
                prefix = "> "
                item.append(line.lstrip("> "))
            elif line:
                if not item:
                    prefix = ""
                item.append(line)
        flush()
        blocks.append("\n".join(out))
    return "\n\n".join(b for b in blocks if b)


def wrap(text: str, width: int = 72, indent: str = "", first: str | None = None) -> str:
    """Wrap to ``width``; ``first`` is the first line's indent (a bullet), default ``indent``."""
    return textwrap.fill(one_line(text), width, initial_indent=indent if first is None else first,
                         subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


# --- the data the templates see ------------------------------------------------------------------

@dataclass(frozen=True)
class CourseView:
    id: str
    title: str
    strand: str
    summary: str
    audience: str
    phases: str
    sessions: tuple[str, ...]
    more_sessions: int
    cost: str
    places: int | None
    full: bool
    booking: str | None
    booking_is_email: bool


@dataclass(frozen=True)
class NewsView:
    title: str
    date: str
    summary: str


MAX_SESSIONS_SHOWN = 4


def course_view(records: Records, course: Course, since: dt.date) -> CourseView:
    sessions = [s for s in course.dated_sessions if s.date >= since] or course.dated_sessions

    def venue(s: Session) -> str:
        if s.online:
            return "Online"
        v = records.venues.get(s.venue)
        return v.name if v else s.venue

    shown = tuple(session_text(s, venue(s)) for s in sessions[:MAX_SESSIONS_SHOWN])
    return CourseView(
        id=course.id, title=one_line(course.title), strand=STRANDS.get(course.strand, course.strand),
        summary=one_line(course.summary), audience=", ".join(r.replace("-", " ") for r in course.audience),
        phases=", ".join(course.phase) if course.phase else "all phases", sessions=shown,
        more_sessions=max(0, len(sessions) - MAX_SESSIONS_SHOWN), cost=money(course.cost),
        # places left, not the group size (content-format: places_left); 0 left means full
        places=course.places_left, full=course.status == "full" or course.places_left == 0,
        booking=course.booking,
        booking_is_email=bool(course.booking and course.booking.startswith("mailto:")))


def edition_url(records: Records, edition: Edition) -> str:
    """The edition's page on the website, in the site's own address scheme (records/urls.py)."""
    return urls.edition_url(records.alliance.site_url, edition.id)


def _environment(extra: Path | None = None) -> Environment:
    loaders = [FileSystemLoader(str(extra))] if extra and extra.is_dir() else []
    env = Environment(loader=ChoiceLoader(loaders + [FileSystemLoader(str(TEMPLATES))]),
                      autoescape=select_autoescape(["html", "htm"], default_for_string=False),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters["wrap"] = wrap
    env.filters["one_line"] = one_line
    return env


class ComposeError(ValueError):
    """The edition cannot be sent as it stands (an unknown %%placeholder%%, a control character
    in the subject): one line naming the file, found before anything is sent."""


_ANY_PLACEHOLDER = re.compile(r"%%([a-z_]+)%%")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Composer:
    """Renders an edition's variants (memoised) and each reader's placeholder values."""

    def __init__(self, records: Records, edition: Edition, *, tokens: Tokens | None = None,
                 sender: Sender | None = None, secret: bytes | None = None):
        if records.alliance is None:
            raise ValueError("the records have no alliance")
        self.records = records
        self.edition = edition
        self.alliance = records.alliance
        self.planner = Planner(records, edition)
        self.tokens = tokens
        self.secret = secret if secret is not None else (tokens.secret if tokens else b"")
        self.sender = sender or default_sender(records)
        self.env = _environment(Path(records.root) / "site_templates" / "email")
        self.inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
        self._variants: dict[VariantKey, Variant] = {}
        self._host = urlparse(self.alliance.site_url).hostname or "localhost"
        self._list_host = self._host[4:] if self._host.startswith("www.") else self._host
        self._msgid_mac = hmac.new(self.secret, b"message-id|" + edition.id.encode() + b"|", hashlib.sha256)
        self._common = self._common_context()

    # --- rendered once per edition / variant ---------------------------------------------------
    def _common_context(self) -> dict:
        a, e = self.alliance, self.edition
        intro_text = markdown_text(without_html(e.body))    # the HTML part's policy, as text
        news = [NewsView(one_line(n.title), long_date(n.date), one_line(n.summary))
                for n in news_for(self.records, e)]
        return {
            "alliance": a, "name": a.name, "display_name": a.display_name,
            "contact": a.contact, "site_url": a.site_url, "signup_url": a.signup_url,
            "edition": e, "subject": self.subject, "date": long_date(e.date),
            "intro_html": Markup(to_html(e.body)),          # sanitised: the site's policy
            "intro_text": intro_text,
            "preheader": wrap(intro_text.split("\n\n")[0], 10_000)[:140],
            "edition_url": edition_url(self.records, e), "news": news,
            "course_weeks": e.course_weeks,
        }

    @property
    def subject(self) -> str:
        """The edition's subject exactly as typed, on one line, no control characters
        (ComposeError): it is text in every place it goes (the Subject header, the HTML
        <title> and heading, autoescaped), so nothing is stripped from it."""
        subject = one_line(self.edition.subject)
        bad = _CONTROL.search(subject)
        if bad:
            raise ComposeError(f"{self.edition.path or self.edition.id}: subject: holds an invisible control "
                               f"character (U+{ord(bad.group()):04X}); delete it (retype the subject if you "
                               "cannot see it). Nothing was sent")
        return subject

    def check_placeholders(self, variant: Variant) -> None:
        """Every %%name%% in a variant must be one this mailer fills: otherwise sending would
        stop half-way, or the text would reach readers as typed. Says where it came from."""
        unknown = sorted({m.group(1) for text in (variant.subject, variant.html, variant.text,
                                                  *variant.headers.values())
                          for m in _ANY_PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
        if not unknown:
            return
        marks = [f"%%{name}%%" for name in unknown]
        known = ", ".join(f"%%{n}%%" for n in ("first_name", "unsubscribe_url"))
        raise ComposeError(f"{self._where(marks)}: {', '.join(marks)} is not a placeholder the mailer fills "
                           f"in (it fills {known}); correct it, or remove the percent signs. Nothing was sent")

    def _where(self, marks: list[str]) -> str:
        """The file of the record whose text holds one of ``marks`` (the edition, a course, a news item)."""
        records = [self.edition, *self.records.courses.values(), *news_for(self.records, self.edition)]
        for record in records:
            fields = record.model_dump() if hasattr(record, "model_dump") else {}
            if any(mark in str(fields) for mark in marks):
                return record.path or getattr(record, "id", "the edition")
        return self.edition.path or self.edition.id

    def variant(self, key: VariantKey) -> Variant:
        if key not in self._variants:
            self._variants[key] = self._render(key)
        return self._variants[key]

    def context(self, key: VariantKey, placeholders: dict) -> dict:
        audience = self.records.audiences[key.audience]
        courses = [course_view(self.records, c, self.edition.date) for c in self.planner.courses(key)]
        return dict(self._common, audience=audience, key=key, courses=courses,
                    phases_label=", ".join(p.replace("-", " ") for p in key.phases),
                    ph=placeholders)

    def _render(self, key: VariantKey) -> Variant:
        html_ph = {n: Markup(placeholder(n)) for n in PLACEHOLDERS}
        text_ph = {n: placeholder(n) for n in PLACEHOLDERS}
        page = self.env.get_template("newsletter.html").render(self.context(key, html_ph))
        text = self.env.get_template("newsletter.txt").render(self.context(key, text_ph))
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
        variant = Variant(key=key.slug, subject=self.subject, html=self.inliner.inline(page), text=text,
                          headers=self.headers())
        self.check_placeholders(variant)
        return variant

    def headers(self) -> dict[str, str]:
        return {
            "List-Unsubscribe": f"<{placeholder('unsubscribe_url')}>, <{placeholder('unsubscribe_mailto')}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # the name is a phrase: quoted (or RFC 2047-encoded) when it holds <, ", & or more
            "List-Id": formataddr((f"{one_line(self.alliance.display_name)} newsletter",
                                   f"newsletter.{self._list_host}")),
        }

    # --- per reader: a few values, no rendering -------------------------------------------------
    def message_id(self, address_hash_hex: str) -> str:
        """Stable per edition and reader: a resend carries the same Message-ID, so a receiving
        system can recognise a duplicate. Opaque: an HMAC, not the address."""
        mac = self._msgid_mac.copy()
        mac.update(address_hash_hex.encode("ascii"))
        return f"{self.edition.id}.{mac.hexdigest()[:24]}@{self._host}"

    def recipient(self, reader: Reader) -> Recipient:
        if self.tokens is None:
            raise ValueError("personal messages need unsubscribe tokens (MAILER_SECRET)")
        first = reader.first_name or GREETING_FALLBACK
        # links and Message-IDs name the reader by the address digest, not the stored (keyed)
        # hash: they must outlive a change of key, and links already sent must keep working
        digest = address_digest(reader.email)
        token = self.tokens.token(digest)
        name = f"{reader.first_name} {reader.last_name}".strip()
        return Recipient(address=reader.email, name=name, vars={
            "first_name": first,
            "first_name_html": html.escape(first, quote=True),
            "unsubscribe_url": self.tokens.url(token),
            "unsubscribe_mailto": self.tokens.mailto(token),
            "preferences_url": self.tokens.preferences_url(digest),
            "message_id": self.message_id(digest),
        })


def default_sender(records: Records, from_addr: str = "") -> Sender:
    """MAILER_FROM ("Name <address>" or an address) or the alliance's contact address; replies
    go to the contact address."""
    from email.utils import parseaddr
    alliance = records.alliance
    name, address = parseaddr(from_addr) if from_addr else ("", alliance.contact.email)
    reply_to = alliance.contact.email if address.lower() != alliance.contact.email.lower() else None
    return Sender(address=address, name=name or alliance.display_name, reply_to=reply_to)


def make_tokens(records: Records, secret: bytes, unsubscribe_url: str = "") -> Tokens:
    """Raises UrlError when MAILER_UNSUBSCRIBE_URL (or the service URL it defaults to) is not https."""
    alliance = records.alliance
    if unsubscribe_url:
        base = check_unsubscribe_url(unsubscribe_url)
    else:
        base = check_unsubscribe_url(default_unsubscribe_url(alliance.service_url),
                                     "subscriptions_url (or site_url) in content/alliance.yml "
                                     "(the default unsubscribe address)")
    preferences = check_unsubscribe_url(alliance.service_url + "preferences",
                                        "subscriptions_url (or site_url) in content/alliance.yml")
    return Tokens(secret, base, alliance.contact.email, preferences_url=preferences)


def preview_substitute(text: str) -> str:
    from .mime import substitute
    return substitute(text, PREVIEW_VALUES)


__all__ = ["Composer", "ComposeError", "CourseView", "default_sender", "make_tokens", "markdown_text", "edition_url",
           "PLACEHOLDERS", "GREETING_FALLBACK", "preview_substitute"]
