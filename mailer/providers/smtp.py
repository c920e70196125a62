"""SMTP: one complete MIME message per reader over one reused connection.

``MAILER_SMTP_URL``:

* ``smtp://user:password@host:587``: STARTTLS if the server offers it (submission port by default);
* ``smtp+starttls://...``: STARTTLS required (the send stops if the server does not offer it);
* ``smtps://...:465``: TLS from the first byte.

User and password are URL-decoded (write ``@`` as ``%40``). Certificates are verified. The
password is sent only over TLS, or to a server on this machine (a local relay or a test server).

Batches: ``batch_size`` is 1, so every error belongs to exactly one reader and the ledger
can record each outcome exactly (a lost answer after DATA is unknown for that reader only);
the connection is kept open across batches and reopened at once, transparently, if the
server dropped it (idle, a per-connection limit, 421, a reset) before the end of a message. A bigger batch also works: its
readers are sent in turn and the first failure is raised with ``error.accepted`` holding
the ids of the readers already accepted in that batch.

Replies and faults, per message:

=====================================================  ================================================
250 after the message                                   accepted; the id is the reader's ``message_id``
4xx at MAIL, RCPT or after DATA                         :class:`TransientError` (try later)
5xx at RCPT or after the message                        :class:`RejectedError` (this reader)
5xx at MAIL (sender refused), 530/535, failed AUTH,     :class:`AuthError` (stop: every message would
no STARTTLS when required, TLS/certificate failure      fail the same way)
lost or 421 before the end of the message              reconnect once and send it again (it cannot
                                                        have been taken); then :class:`TransientError`
cannot connect                                          :class:`TransientError` (the loop backs off)
lost or timed out after the whole message was sent      :class:`OutcomeUnknownError`
=====================================================  ================================================
"""
from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
from typing import Mapping
from urllib.parse import unquote, urlsplit

from ..mime import MimeTemplate
from ._http import Secret, is_loopback, scrub
from .base import AuthError, Batch, OutcomeUnknownError, Provider, ProviderError, RejectedError, TransientError

log = logging.getLogger("mailer.providers.smtp")

SCHEMES = {"smtp": ("opportunistic", 587), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}
_EOL_RE = re.compile(rb"\r\n|\n|\r")


def _data_payload(message: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, then the terminating <CRLF>.<CRLF>.

    Cheap on MimeTemplate's output, which already has CRLF line ends: a regular expression over
    a 30 KB message cost ~0.3 ms, a third of the sender's time per message."""
    crlf = message.count(b"\r\n")
    if message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        message = _EOL_RE.sub(b"\r\n", message)
    if b"\n." in message:                        # now every line ends in CRLF
        message = message.replace(b"\n.", b"\n..")
    if message.startswith(b"."):
        message = b"." + message
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    return message + b".\r\n"


class SmtpProvider(Provider):
    name = "smtp"
    batch_size = 1

    def __init__(self, url: str, *, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None,
                 local_hostname: str | None = None):
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError("MAILER_SMTP_URL: use smtp://, smtp+starttls:// or smtps://")
        if not parts.hostname:
            raise ValueError("MAILER_SMTP_URL: no host")
        self.tls_mode, default_port = SCHEMES[scheme]
        self.host = parts.hostname
        try:
            self.port = parts.port or default_port
        except ValueError:
            raise ValueError("MAILER_SMTP_URL: the port is not a number") from None
        self.user = unquote(parts.username) if parts.username else ""
        self._password = Secret(unquote(parts.password) if parts.password else "")
        self.timeout = float(timeout)
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None
        self._template: MimeTemplate | None = None
        self._template_key: tuple | None = None
        self.reconnections = 0           # connections found dropped and reopened (for tests, logs)

    @classmethod
    def from_settings(cls, settings, **options) -> "SmtpProvider":
        options.setdefault("timeout", settings.timeout)
        return cls(settings.smtp_url, **options)

    def __repr__(self) -> str:
        return f"SmtpProvider({self.host!r}, {self.port}, tls={self.tls_mode!r}, user={self.user!r})"

    # --- the connection --------------------------------------------------------------------

    def _fail(self, error: ProviderError, cause: BaseException | None = None) -> ProviderError:
        """Scrub the password out of an error about to be raised, and log it."""
        text = scrub(str(error), [self._password])
        if text != str(error):
            error = type(error)(text)
        log.info("%s", error)      # the send loop decides what it means and reports it
        return error

    def _connect(self) -> smtplib.SMTP:
        where = f"smtp: {self.host}:{self.port}"
        try:
            if self.tls_mode == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        local_hostname=self.local_hostname, context=self.ssl_context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
        except ssl.SSLError as exc:
            raise self._fail(AuthError(f"{where}: TLS failed: {exc}")) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise self._fail(TransientError(f"{where}: could not connect: {type(exc).__name__}: {exc}")) from None
        try:
            conn.ehlo()
            encrypted = self.tls_mode == "ssl"
            if not encrypted and conn.has_extn("starttls"):
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
                encrypted = True
            elif not encrypted and self.tls_mode == "starttls":
                raise AuthError(f"{where}: the server does not offer STARTTLS, which smtp+starttls:// requires")
            if self.user:
                if not encrypted and not is_loopback(self.host):
                    raise AuthError(f"{where}: refusing to send the password unencrypted: the server offers "
                                    "no STARTTLS (use smtps:// or a server with STARTTLS)")
                conn.login(self.user, self._password.reveal())
        except AuthError as exc:
            self._drop(conn)
            raise self._fail(exc) from None
        except smtplib.SMTPAuthenticationError as exc:
            self._drop(conn)
            raise self._fail(AuthError(f"{where}: login refused for {self.user!r}: {exc.smtp_code} "
                                       f"{exc.smtp_error.decode('utf-8', 'replace')}")) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._drop(conn)
            raise self._fail(AuthError(f"{where}: {exc}")) from None
        except ssl.SSLError as exc:
            self._drop(conn)
            raise self._fail(AuthError(f"{where}: TLS failed: {exc}")) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop(conn)
            raise self._fail(TransientError(f"{where}: connection failed while opening: "
                                            f"{type(exc).__name__}: {exc}")) from None
        log.debug("%s: connected (tls=%s, login=%s)", where, encrypted, bool(self.user))
        return conn

    @staticmethod
    def _drop(conn: smtplib.SMTP | None) -> None:
        if conn is None:
            return
        try:
            conn.close()
        except Exception:       # closing a broken connection: nothing more to learn
            pass

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._drop(conn)

    # --- sending -------------------------------------------------------------------------

    def _template_for(self, batch: Batch) -> MimeTemplate:
        key = (id(batch.variant), batch.sender)
        if self._template is None or self._template_key != key or self._template.variant is not batch.variant:
            self._template = MimeTemplate(batch.variant, batch.sender)
            self._template_key = key
        return self._template

    def send(self, batch: Batch) -> Mapping[str, str]:
        template = self._template_for(batch)
        accepted: dict[str, str] = {}
        for recipient in batch.recipients:
            try:
                self._send_one(batch.sender.address, recipient.address, template.render(recipient))
            except ProviderError as error:
                error.accepted = dict(accepted)
                raise
            accepted[recipient.address] = str(recipient.vars["message_id"]).strip("<>")
        return accepted

    def _reply_error(self, stage: str, code: int, reply: bytes, recipient: str) -> ProviderError:
        text = f"smtp: {stage} for {recipient}: {code} {reply.decode('utf-8', 'replace')}"
        if 400 <= code < 500:
            return TransientError(text)
        if stage == "MAIL FROM" or code in (530, 535):
            return AuthError(text + " (the server refuses the sender: every message would fail)")
        return RejectedError(text)

    def _rset(self) -> None:
        try:
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop(self._conn)
            self._conn = None

    def _send_one(self, sender: str, recipient: str, message: bytes) -> None:
        """One message. A connection that drops (or a server that says 421, closing) before
        the end-of-data mark went out cannot have taken the message: reconnect once at once
        and go on. Only a fresh connection failing the same way goes back to the send loop
        (TransientError: retried with backoff); the rate limit is the loop's, so it holds
        across reconnections."""
        for attempt in (0, 1):
            reused = self._conn is not None
            try:
                return self._transaction(sender, recipient, message)
            except _Dropped as dropped:
                self._drop(self._conn)
                self._conn = None
                self.reconnections += 1
                if attempt == 0 and reused:
                    log.info("smtp: %s; reconnecting", dropped)
                    continue
                raise self._fail(TransientError(f"smtp: {dropped}")) from None

    def _transaction(self, sender: str, recipient: str, message: bytes) -> None:
        options = []
        if not (sender.isascii() and recipient.isascii()):
            options.append("SMTPUTF8")
        if self._conn is None:
            self._conn = self._connect()
        if options and not self._conn.has_extn("smtputf8"):
            raise self._fail(RejectedError(f"smtp: {recipient}: the server cannot take a non-ASCII address"))
        try:
            code, reply = self._conn.mail(sender, options)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Dropped(f"connection lost at MAIL FROM: {exc}") from None
        if code == 421:
            raise _Dropped(f"the server is closing the connection (421 at MAIL FROM: "
                           f"{reply.decode('utf-8', 'replace')})")
        if code != 250:
            self._rset()
            raise self._fail(self._reply_error("MAIL FROM", code, reply, recipient))

        try:
            code, reply = self._conn.rcpt(recipient)
            if code == 421:
                raise _Dropped(f"the server is closing the connection (421 at RCPT TO: "
                               f"{reply.decode('utf-8', 'replace')})")
            if code not in (250, 251):
                self._rset()
                raise self._fail(self._reply_error("RCPT TO", code, reply, recipient))
            code, reply = self._conn.docmd("DATA")
            if code == 421:
                raise _Dropped(f"the server is closing the connection (421 at DATA: "
                               f"{reply.decode('utf-8', 'replace')})")
            if code != 354:
                self._rset()
                raise self._fail(self._reply_error("DATA", code, reply, recipient))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Dropped(f"connection lost before the message was sent: {exc}") from None

        try:
            self._conn.send(_data_payload(message))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The end-of-data mark was not sent, so the server cannot have taken the message.
            raise _Dropped(f"connection lost while sending the message: {exc}") from None
        try:
            code, reply = self._conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError, socket.timeout) as exc:
            # the whole message went out: the server may have taken it. Unknown for this
            # reader alone; the next message reconnects.
            self._drop(self._conn)
            self._conn = None
            raise self._fail(OutcomeUnknownError(f"smtp: no answer after the message for {recipient} was sent "
                                                 f"({exc}); the server may or may not have accepted it")) from None
        if code != 250:
            if code == 421:
                self._drop(self._conn)
                self._conn = None
            raise self._fail(self._reply_error("end of DATA", code, reply, recipient))


class _Dropped(Exception):
    """The connection went away before the end-of-data mark: the message was not taken."""
