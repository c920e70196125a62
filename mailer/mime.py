"""One complete RFC 5322 message per reader, cheaply.

Building an ``EmailMessage`` per reader costs ~2 ms (STACK-NOTES); here a variant's
invariant parts are prepared once (:class:`MimeTemplate`) and each reader costs a few
``str.replace`` calls and one quoted-printable encoding in C (``binascii.b2a_qp``).
Placeholders are substituted *before* encoding, so encoding can never split them.
"""
from __future__ import annotations

import binascii
import re
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid

from .providers.base import Recipient, Sender, Variant, placeholder

CRLF = "\r\n"
_PLACEHOLDER_RE = re.compile(r"%%([a-z_]+)%%")


def _header_value(value: str) -> str:
    """RFC 2047-encode a header value if it is not plain ASCII; never lets a line break through."""
    value = " ".join(value.split())
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(linesep=CRLF)


def _address(name: str, address: str) -> str:
    return formataddr((" ".join(name.split()), address), charset="utf-8") if name else address


def substitute(template: str, values: dict[str, str]) -> str:
    """Replace every %%name%% with values[name]; an unknown placeholder is a bug, so it raises."""
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], template)


def _qp(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\n", CRLF)
    return binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True).decode("ascii")


class MimeTemplate:
    """A variant prepared for per-reader MIME: build once, call :meth:`render` per reader."""

    def __init__(self, variant: Variant, sender: Sender, *, date: str | None = None):
        self.variant = variant
        self.boundary = "=_tsa_" + make_msgid(domain="boundary").strip("<>").replace("@", "_")
        head = [
            ("From", _address(sender.name, sender.address)),
            ("Subject", variant.subject),
            ("Date", date or formatdate(localtime=False, usegmt=True)),
            ("MIME-Version", "1.0"),
        ]
        if sender.reply_to:
            head.append(("Reply-To", sender.reply_to))
        head += [(k, v) for k, v in variant.headers.items()]
        # Headers without placeholders are encoded once; the others per reader, after
        # substitution, since a reader's value may need RFC 2047 encoding.
        self._static = CRLF.join(f"{k}: {_header_value(v)}" for k, v in head if "%%" not in v)
        self._dynamic = [(k, v) for k, v in head if "%%" in v]

    def render(self, recipient: Recipient) -> bytes:
        values = dict(recipient.vars)
        message_id = values["message_id"]
        head = CRLF.join([self._static] + [f"{k}: {_header_value(substitute(v, values))}"
                                           for k, v in self._dynamic])
        b = self.boundary
        parts = [
            f"To: {_address(recipient.name, recipient.address)}",
            head,
            f"Message-ID: <{message_id}>",
            f'Content-Type: multipart/alternative; boundary="{b}"',
            "",
            f"--{b}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _qp(substitute(self.variant.text, values)),
            f"--{b}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            _qp(substitute(self.variant.html, values)),
            f"--{b}--",
            "",
        ]
        return CRLF.join(parts).encode("ascii")


def personalise(variant: Variant, recipient: Recipient, sender: Sender) -> bytes:
    """One reader's complete message. For many readers, build a MimeTemplate once instead."""
    return MimeTemplate(variant, sender).render(recipient)


__all__ = ["MimeTemplate", "personalise", "substitute", "placeholder"]
