"""The office inbox: unsubscribe requests that came by email, applied from an export.

Every newsletter offers ``mailto:OFFICE?subject=unsubscribe%20TOKEN`` (List-Unsubscribe) and
"reply with unsubscribe". An mbox file or a Maildir folder exported from the office mailbox
is read with the standard library's :mod:`mailbox`; for each message:

1. a genuine token in the subject (the mailto link) names the reader, whatever the sender;
2. otherwise "unsubscribe" (or "remove me", "stop sending") in the subject or in the first
   lines the sender wrote (quoted text and our own footer, quoted in a reply, do not count)
   asks to unsubscribe the *sender's* address, if it is on the list;
3. automatic replies (Auto-Submitted, out-of-office) and other messages are not requests.

Requests that name nobody on the list are reported, with the sender and date, for a person to
answer. Running it again on the same export changes nothing ("already").
"""
from __future__ import annotations

import email.policy
import mailbox
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path

from . import signups
from .store import Store, address_hash, normalise
from .tokens import UNSUBSCRIBE, verify_token

SOURCE = "office"
TOKEN_RE = re.compile(r"unsubscribe\s+([A-Za-z0-9_-]{40,46}\.[A-Za-z0-9_-]{20,24})", re.I)
ASK_RE = re.compile(r"\b(unsubscribe|remove me|take me off|stop sending)\b", re.I)
LINES_READ = 6


class InboxError(Exception):
    """The export cannot be read: one line."""


@dataclass
class InboxReport:
    messages: int = 0
    unsubscribed: int = 0
    already: int = 0
    automatic: int = 0
    other: int = 0
    unmatched: list[tuple[str, str, str]] = field(default_factory=list)   # (date, sender, why)
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would unsubscribe" if self.dry_run else "unsubscribed"
        out = [f"{self.messages} messages: {verb} {self.unsubscribed}, {self.already} already unsubscribed, "
               f"{self.automatic} automatic replies and {self.other} other messages left alone, "
               f"{len(self.unmatched)} request{'s' if len(self.unmatched) != 1 else ''} not matched"]
        for date, sender, why in self.unmatched:
            out.append(f"not matched: {date or 'no date'}: {sender or 'no sender'}: {why}")
        return out


def open_mailbox(path: Path) -> mailbox.Mailbox:
    factory = lambda f: email.message_from_binary_file(f, policy=email.policy.default)  # noqa: E731
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise InboxError(f"{path} is a folder but not a Maildir (it has no cur/ or new/)")
        return mailbox.Maildir(str(path), factory=factory, create=False)
    with open(path, "rb") as handle:
        start = handle.read(5)
    if start and start != b"From ":
        raise InboxError(f"{path} is not an mbox file (it should start with 'From '); export the "
                         "mailbox as mbox or Maildir")
    return mailbox.mbox(str(path), factory=factory, create=False)


def _own_lines(message) -> list[str]:
    """The first lines the sender wrote: quoted text and what follows "On ... wrote:" skipped."""
    part = message.get_body(preferencelist=("plain",)) if hasattr(message, "get_body") else None
    if part is None:
        return []
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        return []
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or re.match(r"^(On .* wrote:|-----Original Message-----|From: )", stripped):
            break
        if stripped == "--":
            break
        if stripped:
            lines.append(stripped)
        if len(lines) >= LINES_READ:
            break
    return lines


def _automatic(message) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).lower()
    subject = str(message.get("Subject", "")).lower()
    return auto not in ("", "no") or subject.startswith(("automatic reply", "out of office", "auto:"))


def process(store: Store, path: Path, *, secrets: list[bytes], dry_run: bool = False) -> InboxReport:
    report = InboxReport(dry_run=dry_run)
    try:
        box = open_mailbox(Path(path))
        keys = list(box.keys())
    except (OSError, mailbox.Error) as err:
        raise InboxError(f"cannot read {path}: {err}") from None
    for key in keys:
        try:
            message = box[key]
        except Exception:           # noqa: BLE001 - one damaged message is reported, the rest go on
            report.messages += 1
            report.unmatched.append(("", "", "the message could not be read"))
            continue
        report.messages += 1
        _one(store, message, secrets, report, dry_run)
    return report


def _one(store: Store, message, secrets: list[bytes], report: InboxReport, dry_run: bool) -> None:
    subject = " ".join(str(message.get("Subject", "")).split())
    sender = normalise(parseaddr(str(message.get("From", "")))[1])
    date = str(message.get("Date", ""))
    if _automatic(message):
        report.automatic += 1
        return
    hash_ = None
    token = TOKEN_RE.search(subject)
    if token:
        hash_ = next((h for s in secrets if (h := verify_token(s, token.group(1), UNSUBSCRIBE))), None)
        if hash_ is None and not sender:
            report.unmatched.append((date, sender, "the unsubscribe code in the subject is not ours or was changed"))
            return
    if hash_ is None:
        asked = ASK_RE.search(subject) or any(ASK_RE.search(line) for line in _own_lines(message))
        if not asked:
            report.other += 1
            return
        if not sender or store.subscriber(sender) is None:
            report.unmatched.append((date, sender, "asks to unsubscribe, but the sender's address is not "
                                                   "on the list (they may have written from another address)"))
            return
        hash_ = address_hash(sender)
    if dry_run:
        row = signups.subscriber_by_hash(store, hash_)
        if row is not None and row["status"] == "unsubscribed":
            report.already += 1
        else:
            report.unsubscribed += 1
        return
    outcome = signups.leave(store, hash_, SOURCE)
    if outcome == "unsubscribed":
        report.unsubscribed += 1
    else:
        report.already += 1
