"""Fixtures and builders for the provider tests (imported by test modules, not conftest).

* ``mailgun_server`` / ``sendgrid_server`` / ``api_server`` (both): a started
  :class:`tests.provider_server.ProviderServer`;
* ``smtp_server``: a factory starting aiosmtpd on a fixed free port with a recording handler;
* ``tls_files``: a self-signed certificate for 127.0.0.1 made at test time;
* :func:`make_batch`: a variant with every placeholder, and readers built by hand.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from mailer.providers.base import Batch, Recipient, Sender, Variant
from tests.provider_server import ProviderServer

HTML = ("<!doctype html><html><body><p>Dear %%first_name_html%%,</p>"
        "<p>Our spring CPD programme is open.</p>"
        '<p><a href="%%unsubscribe_url%%">Unsubscribe</a></p></body></html>')
TEXT = "Dear %%first_name%%,\n\nOur spring CPD programme is open.\n\n.leading dot line\nUnsubscribe: %%unsubscribe_url%%\n"
HEADERS = {"List-Unsubscribe": "<%%unsubscribe_url%%>, <%%unsubscribe_mailto%%>",
           "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
SENDER = Sender("news@riverside-tsa.example", "Riverside TSA", reply_to="office@riverside-tsa.example")
EDITION = "2026-spring"


def reader(index: int, first_name: str | None = None, *, name: str = "", domain: str = "example.org") -> Recipient:
    first = first_name if first_name is not None else f"Reader{index}"
    html_name = first.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Recipient(
        address=f"reader{index}@{domain}",
        name=name,
        vars={
            "first_name": first,
            "first_name_html": html_name,
            "unsubscribe_url": f"https://riverside-tsa.example/unsubscribe/tok{index:05d}",
            "unsubscribe_mailto": f"mailto:unsubscribe+tok{index:05d}@riverside-tsa.example",
            "message_id": f"{EDITION}.tok{index:05d}@riverside-tsa.example",
        },
    )


def make_variant(**overrides) -> Variant:
    values = dict(key="teachers--primary", subject="Spring CPD for %%first_name%%", html=HTML, text=TEXT,
                  headers=dict(HEADERS))
    values.update(overrides)
    return Variant(**values)


def make_batch(count: int = 3, *, readers=None, variant: Variant | None = None, sender: Sender = SENDER) -> Batch:
    readers = tuple(readers) if readers is not None else tuple(reader(i) for i in range(count))
    return Batch(EDITION, variant or make_variant(), readers, sender)


# --- HTTP API servers ------------------------------------------------------------------

@pytest.fixture
def mailgun_server():
    with ProviderServer("mailgun") as server:
        yield server


@pytest.fixture
def sendgrid_server():
    with ProviderServer("sendgrid") as server:
        yield server


@pytest.fixture(params=["mailgun", "sendgrid"])
def api_server(request):
    with ProviderServer(request.param) as server:
        yield server


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


free_port = closed_port     # for aiosmtpd, which needs a fixed port (port 0 fails)


# --- TLS --------------------------------------------------------------------------------

@dataclass
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def _make_cert(directory: Path) -> TlsFiles:
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import ipaddress

        private = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(private.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5))
                       .not_valid_after(now + datetime.timedelta(days=1))
                       .add_extension(x509.SubjectAlternativeName([
                           x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
                       .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                       .sign(private, hashes.SHA256()))
        cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        return TlsFiles(cert, key)
    except ImportError:
        pass
    if not shutil.which("openssl"):
        pytest.skip("neither the cryptography package nor the openssl command is available to make a certificate")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return TlsFiles(cert, key)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    return _make_cert(tmp_path_factory.mktemp("tls"))


# --- SMTP -------------------------------------------------------------------------------

@dataclass
class Delivered:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    authenticated: bool

    @property
    def message(self):
        return message_from_bytes(self.content, policy=policy.default)


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler that keeps what it receives and misbehaves on request."""
    delivered: list[Delivered] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)      # address -> RCPT reply, e.g. "550 5.1.1 no such user"
    data_replies: list[str] = field(default_factory=list)     # replies after DATA, used up in order
    data_delay: float = 0.0                                   # seconds to wait before replying to DATA
    ehlo_count: int = 0
    # faults: the connection is dropped (no reply) at the next N RCPTs; after the next N
    # messages are taken (their answer lost); or a session is closed with 421 after
    # ``per_connection`` messages (a server's per-connection limit)
    drop_at_rcpt: int = 0
    drop_after_data: int = 0
    per_connection: int = 0
    delivered_at: list[float] = field(default_factory=list)   # time.monotonic() of each message taken

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        taken = getattr(session, "taken", 0)
        if self.per_connection and taken >= self.per_connection:
            server.transport.close()
            return "421 4.7.0 Too many messages on one connection, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlo_count += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.drop_at_rcpt:
            self.drop_at_rcpt -= 1
            server.transport.abort()
            return "250 never seen"
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.data_replies.pop(0) if self.data_replies else "250 2.0.0 Message accepted for delivery"
        if reply.startswith("250"):
            self.delivered.append(Delivered(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content
                                            or envelope.content, session.ssl is not None,
                                            bool(getattr(session, "authenticated", False))))
            self.delivered_at.append(time.monotonic())
            session.taken = getattr(session, "taken", 0) + 1
            if self.drop_after_data:
                self.drop_after_data -= 1
                server.transport.abort()          # taken, but the answer never leaves
                return reply
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return reply


SMTP_USER = "news@riverside-tsa.example"
SMTP_PASSWORD = "p@ss:w/rd%#1"


def smtp_authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    ok = (auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)    # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp_server():
    """``start(**kwargs) -> (controller, recorder, port)``; everything started is stopped."""
    from aiosmtpd.controller import Controller

    started = []

    def start(*, hostname="127.0.0.1", auth=False, tls_context=None, ssl_context=None, require_starttls=False,
              idle_timeout=None, recorder=None, port=None):
        recorder = recorder or SmtpRecorder()
        port = port or free_port()
        kwargs = dict(hostname=hostname, port=port, ready_timeout=5.0)
        if auth:
            kwargs.update(authenticator=smtp_authenticator, auth_require_tls=False)
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=require_starttls)
        if ssl_context is not None:
            kwargs["ssl_context"] = ssl_context
        if idle_timeout is not None:
            kwargs["timeout"] = idle_timeout
        controller = Controller(recorder, **kwargs)
        controller.start()
        started.append(controller)
        return controller, recorder, port

    yield start
    for controller in started:
        try:
            controller.stop()
        except AssertionError:      # already stopped by the test
            pass
