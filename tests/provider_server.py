"""A loopback stand-in for Mailgun's and SendGrid's HTTP APIs, strict about what it accepts.

Every request is checked against the provider's own OpenAPI description (``tests/specs/``,
validated with openapi-core) and against the documented rules the specification cannot
express (1,000 recipients, Mailgun's 16 KB of options, SendGrid's content order...). A
request that fails is answered 400 and kept in :attr:`ProviderServer.invalid`: tests assert
that list stays empty. Accepted messages are recorded and can be expanded into each reader's
final message (recipient-variables or substitutions applied), so a test sees exactly what
each reader would get. Faults (429, 5xx, resets, slow answers, 4xx) are queued by tests.

Use::

    with ProviderServer("mailgun") as server:          # or ProviderServer("sendgrid")
        settings = server.settings(from_addr="news@example.org", timeout=0.5)
        server.fail_next(429, retry_after="2")
        server.reset_next(after_processing=True)       # accepted, then the answer is lost
        server.slow_next(1.0)
        server.stall_next(5.0)                          # hold the request unprocessed, then drop it
        server.let_through(2)                           # the next 2 requests are not faulted
        server.seed("bounces", ["a@example.org", {"address": "b@example.org", "code": "550"}])
        server.events.delay = 2.0                       # events show 2 s after the request
        server.fail_next(500, on="events")              # a fault for the events/activity API
        ...
        server.messages                                 # every reader's final message
        server.messages_to("a@example.org")
        server.invalid                                  # requests the spec (or rules) refused

SendGrid's specification here covers only Mail Send; its suppression and Email Activity
endpoints are checked by hand against SendGrid's documentation (``limit`` 1-500, ``offset``,
bearer auth; ``/v3/messages``: ``limit`` 1-1000, ``query``).

Event logs (Mailgun's ``accepted`` events with paging, SendGrid's Email Activity) are kept by
:class:`tests.provider_events.EventLog` (``server.events``): what reconciliation reads after
a lost answer. Mailgun's paging links (``/v3/{domain}/events/{token}``) are not in its
specification; :data:`MAILGUN_EVENTS_PAGE_PATH` adds them before validating.
Mailgun's generated specification marks ``page``, ``address`` and ``term`` of the
suppression list operations as required, although Mailgun's documentation calls them
optional and Mailgun's own ``paging`` links leave them out; see :data:`MAILGUN_ERRATA`.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate, getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.provider_events import EventLog, sendgrid_query_errors

DEFAULT_KEY = "key-test-0123456789abcdef"
REAL_HOSTS = {"mailgun": "https://api.mailgun.net", "sendgrid": "https://api.sendgrid.com"}
SPEC_FILES = {"mailgun": "mailgun-openapi.yaml", "sendgrid": "sendgrid-mail-v3.json"}
MAILGUN_LISTS = ("unsubscribes", "bounces", "complaints")
SENDGRID_LISTS = ("unsubscribes", "bounces", "spam_reports")
# Corrections applied to Mailgun's generated specification before validating: each is
# (path, method, query parameter, why). Real paging links look like
# .../bounces?page=next&address=x%40example.com&limit=100 (no term), and a first page is ?limit=100.
MAILGUN_ERRATA = [
    (f"/v3/{{domain_name}}/{kind}", "get", name,
     "optional in Mailgun's documentation and absent from Mailgun's own paging links")
    for kind in MAILGUN_LISTS for name in ("page", "address", "term")
]
SENDGRID_RESERVED_HEADERS = {"x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
                             "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc"}
_RECIPIENT_VAR_RE = re.compile(r"%recipient\.([A-Za-z0-9_.\-]+)%")
# Mailgun's events paging links, e.g. https://api.mailgun.net/v3/samples.mailgun.org/events/W3siY...
# (the specification's own examples), have no operation of their own in the specification:
# this one is added, with the token as a path parameter, so that they are validated too.
MAILGUN_EVENTS_PAGE_PATH = "/v3/{domain_name}/events/{page_token}"


def specs_dir() -> Path:
    """``$SPECS_DIR``, else the copies kept in the repository's ``tests/specs/``."""
    if os.environ.get("SPECS_DIR"):
        return Path(os.environ["SPECS_DIR"])
    return Path(__file__).resolve().parent / "specs"


_SPEC_CACHE: dict[tuple[str, str], Any] = {}
_SPEC_LOCK = threading.Lock()


def load_spec(provider: str, directory: Path | None = None):
    """The provider's OpenAPI object (openapi-core), loaded once per process."""
    directory = Path(directory) if directory else specs_dir()
    key = (provider, str(directory))
    with _SPEC_LOCK:
        if key in _SPEC_CACHE:
            return _SPEC_CACHE[key]
        from openapi_core import Config, OpenAPI

        path = directory / SPEC_FILES[provider]
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the {provider} OpenAPI specification is missing "
                                    "(kept in the repository, in tests/specs/; SPECS_DIR overrides)")
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
        else:
            import yaml

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            with path.open(encoding="utf-8") as handle:
                data = yaml.load(handle, Loader=loader)
        if provider == "mailgun":
            data["paths"][MAILGUN_EVENTS_PAGE_PATH] = {"get": {
                "summary": "A page of events (a paging link)", "operationId": "get-events-page",
                "security": [{"basicAuth": []}],
                "parameters": [{"name": "domain_name", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "page_token", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}}}}
            for spec_path, method, name, _why in MAILGUN_ERRATA:
                for parameter in data["paths"][spec_path][method].get("parameters", []):
                    if parameter.get("in") == "query" and parameter.get("name") == name:
                        parameter["required"] = False
        spec = OpenAPI.from_dict(data, config=Config(spec_validator_cls=None))
        _SPEC_CACHE[key] = spec
        return spec


class _OpenAPIRequest:
    """The request as openapi-core wants it, addressed to the provider's real host."""

    def __init__(self, host_url, path, method, query, headers, body, content_type):
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = host_url
        self.path = path
        self.method = method.lower()
        self.parameters = RequestParameters(query=ImmutableMultiDict(query), header=Headers(list(headers)))
        self.body = body
        self.content_type = content_type


def _describe(error: BaseException) -> str:
    """A short account of an openapi-core error (never the whole 200 KB value)."""
    parts = [type(error).__name__]
    name = getattr(error, "name", None)
    if name:
        parts.append(f"{name!r}")
    cause = error.__cause__ or error.__context__
    schema_errors = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
    if schema_errors:
        parts += [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}" for e in schema_errors]
    elif cause is not None:
        parts.append(f"{type(cause).__name__}: {str(cause)[:200]}")
    return " ".join(parts)


@dataclass
class Fault:
    action: str                       # "status" | "reset" | "slow" | "stall" | "pass"
    status: int = 0
    retry_after: str | None = None
    message: str | None = None
    seconds: float = 0.0
    after_processing: bool = False    # reset: record the message as accepted, then reset
    on: str = "send"                  # "send" | "suppressions" | "any"
    then: str = "drop"                # stall: "drop" (reset, never processed) or "process"
    headers: dict = field(default_factory=dict)


@dataclass
class Invalid:
    method: str
    path: str
    errors: list[str]


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    outcome: str                      # "200", "reset", "invalid 400"...
    client_port: int = 0              # the client's end of the connection: same port, same connection


@dataclass
class Message:
    """One reader's message as the provider would deliver it."""
    provider: str
    request_no: int
    provider_id: str
    recipient: str                    # the address it goes to
    to: str                           # the To header: must name this reader alone
    from_: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    variables: dict[str, str]         # Mailgun v:..., SendGrid custom_args
    # what the request said about tracking: Mailgun's o:tracking* fields, SendGrid's tracking_settings
    tracking: dict = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class _Accepted:
    request_no: int
    provider_id: str
    data: Any                         # Mailgun: list of (field, value); SendGrid: the JSON payload
    recipients: list[str]


def _addresses(value: str) -> list[str]:
    """The addresses in a To value ("Name <a@b>", "a@b", or several separated by commas)."""
    if "," not in value:
        if value.endswith(">") and "<" in value:
            return [value[value.rindex("<") + 1:-1].strip()]
        return [value.strip()]
    return [address for _, address in getaddresses([value])]


def _parse_multipart(body: bytes, content_type: str) -> list[tuple[str, str]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode("ascii")
    fields = []
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        if part.startswith(b"\r\n"):
            part = part[2:]
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = re.search(rb'name="([^"]*)"', head)
        if not name:
            raise ValueError("a multipart part without a name")
        fields.append((name.group(1).decode("utf-8"), data.decode("utf-8")))
    return fields


class ProviderServer:
    """A threaded HTTP server on 127.0.0.1 that behaves like one provider's API."""

    def __init__(self, provider: str = "mailgun", *, api_key: str = DEFAULT_KEY, domain: str = "mg.example.org",
                 validate: bool = True, specs: Path | None = None, host: str = "127.0.0.1", port: int = 0):
        if provider not in REAL_HOSTS:
            raise ValueError(f"provider must be one of {sorted(REAL_HOSTS)}")
        self.provider = provider
        self.api_key = api_key
        self.domain = domain
        self.validate = validate
        self._spec = load_spec(provider, specs) if validate else None
        self._lock = threading.Lock()
        self.faults: deque[Fault] = deque()
        self.invalid: list[Invalid] = []
        self.seen: list[Seen] = []
        self._accepted: list[_Accepted] = []
        self._counter = 0
        # requests handled; seconds spent validating with openapi-core; seconds from the request
        # read to the answer written (faults' sleeps included)
        self.stats = {"requests": 0, "validation_seconds": 0.0, "handling_seconds": 0.0}
        self.arrived = {"send": 0, "suppressions": 0, "events": 0}   # requests read, per kind, before any fault
        self.events = EventLog(provider, domain)
        lists = MAILGUN_LISTS if provider == "mailgun" else SENDGRID_LISTS
        self.suppression_data: dict[str, list[dict]] = {kind: [] for kind in lists}
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    # --- life ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """What MAILER_API_URL should be: scheme and host, before /v3."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ProviderServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{self.provider}-test-server", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "ProviderServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def settings(self, **overrides):
        """Settings pointing the matching provider at this server."""
        from mailer.settings import Settings

        values = dict(provider=self.provider, api_key=self.api_key, api_url=self.url,
                      domain=self.domain if self.provider == "mailgun" else "",
                      from_addr="news@riverside-tsa.example", timeout=5.0)
        values.update(overrides)
        return Settings(**values)

    # --- what tests set ------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def fail_next(self, status: int, *, retry_after: str | float | None = None, message: str | None = None,
                  on: str = "send", headers: dict | None = None) -> None:
        """Answer the next matching request with ``status`` (429, 500, 503, 400, 422, 401, 403...)."""
        self.add_fault(Fault("status", status=status, on=on, message=message, headers=dict(headers or {}),
                             retry_after=None if retry_after is None else str(retry_after)))

    def reset_next(self, *, after_processing: bool = False, on: str = "send") -> None:
        """Reset the connection without answering; ``after_processing`` accepts the message first."""
        self.add_fault(Fault("reset", after_processing=after_processing, on=on))

    def slow_next(self, seconds: float, *, on: str = "send") -> None:
        """Process the next matching request, then wait ``seconds`` before answering."""
        self.add_fault(Fault("slow", seconds=seconds, on=on))

    def stall_next(self, seconds: float, *, then: str = "drop", on: str = "send") -> None:
        """Hold the next matching request ``seconds`` before doing anything with it (a request
        in flight), then ``drop`` it (reset: never processed) or ``process`` it as usual."""
        if then not in ("drop", "process"):
            raise ValueError("then must be 'drop' or 'process'")
        self.add_fault(Fault("stall", seconds=seconds, then=then, on=on))

    def let_through(self, count: int = 1, *, on: str = "send") -> None:
        """The next ``count`` matching requests are answered normally: queue this before a
        fault meant for a later request."""
        for _ in range(count):
            self.add_fault(Fault("pass", on=on))

    def seed(self, kind: str, entries: Iterable[str | dict]) -> None:
        """Add suppression records: an address, or a dict shaped like the provider's records."""
        if kind not in self.suppression_data:
            raise ValueError(f"{self.provider} has no list {kind!r}; it has {sorted(self.suppression_data)}")
        now = int(time.time())
        with self._lock:
            for entry in entries:
                if isinstance(entry, dict):
                    record = dict(entry)
                elif self.provider == "mailgun":
                    record = {"address": entry, "created_at": formatdate(now, usegmt=True).replace("GMT", "UTC")}
                    if kind == "bounces":
                        record.update(code="550", error="5.1.1 mailbox unavailable")
                    if kind == "unsubscribes":
                        record["tags"] = ["*"]
                else:
                    record = {"email": entry, "created": now}
                    if kind == "bounces":
                        record.update(reason="550 5.1.1 mailbox unavailable", status="5.1.1")
                    if kind == "spam_reports":
                        record["ip"] = "192.0.2.1"
                self.suppression_data[kind].append(record)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.invalid.clear()
            self.seen.clear()
            self._accepted.clear()
        self.events = EventLog(self.provider, self.domain)

    # --- what tests read -----------------------------------------------------------------

    @property
    def accepted_requests(self) -> int:
        with self._lock:
            return len(self._accepted)

    def accepted_recipients(self) -> list[str]:
        """Every accepted recipient address, in order (cheap: no expansion)."""
        with self._lock:
            return [address for accepted in self._accepted for address in accepted.recipients]

    @property
    def messages(self) -> list[Message]:
        """Every reader's final message (expanded on demand)."""
        with self._lock:
            accepted = list(self._accepted)
        expand = self._expand_mailgun if self.provider == "mailgun" else self._expand_sendgrid
        return [message for item in accepted for message in expand(item)]

    def messages_to(self, address: str) -> list[Message]:
        address = address.strip().lower()
        return [m for m in self.messages if m.recipient.lower() == address]

    def requests_to(self, path_part: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path_part in s.path]

    # --- expansion -----------------------------------------------------------------------

    def _expand_mailgun(self, item: _Accepted) -> list[Message]:
        fields = item.data
        single = {}
        for key, value in fields:
            single.setdefault(key, value)
        to_entries = [value for key, value in fields if key == "to"]
        variables_json = single.get("recipient-variables")
        variables = json.loads(variables_json) if variables_json else None
        headers = {key[2:]: value for key, value in fields if key.startswith("h:")}
        v_vars = {key[2:]: value for key, value in fields if key.startswith("v:")}
        messages = []
        for entry in to_entries:
            address = _addresses(entry)[0] if entry else ""
            if variables is None:      # Mailgun without recipient-variables: everyone sees everyone
                values, to_header = {}, ", ".join(to_entries)
            else:
                values = variables.get(address) or variables.get(address.lower()) or {}
                to_header = entry

            def fill(text: str, values=values) -> str:
                return _RECIPIENT_VAR_RE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values
                                             else m.group(0), text)

            reader_headers = {k: fill(v) for k, v in headers.items()}
            reader_headers.setdefault("Message-Id", f"<{item.provider_id}>")
            messages.append(Message(
                provider="mailgun", request_no=item.request_no, provider_id=item.provider_id, recipient=address,
                to=to_header, from_=single.get("from", ""), subject=fill(single.get("subject", "")),
                text=fill(single.get("text", "")), html=fill(single.get("html", "")),
                headers=reader_headers, variables=dict(v_vars),
                tracking={k: v for k, v in fields if k.startswith("o:tracking")}))
        return messages

    def _expand_sendgrid(self, item: _Accepted) -> list[Message]:
        payload = item.data
        messages = []
        contents = {c["type"]: c["value"] for c in payload.get("content", [])}
        for personalization in payload["personalizations"]:
            substitutions = personalization.get("substitutions", {})

            def fill(text: str, substitutions=substitutions) -> str:
                for tag, value in substitutions.items():
                    text = text.replace(tag, value)
                return text

            sender = personalization.get("from") or payload["from"]
            from_ = f"{sender.get('name', '')} <{sender['email']}>".strip()
            headers = {**payload.get("headers", {}), **personalization.get("headers", {})}
            custom_args = dict(personalization.get("custom_args", {}))
            to_header = ", ".join(box["email"] for box in personalization["to"])
            for box in personalization["to"]:
                messages.append(Message(
                    provider="sendgrid", request_no=item.request_no, provider_id=item.provider_id,
                    recipient=box["email"], to=to_header, from_=from_,
                    subject=fill(personalization.get("subject") or payload.get("subject", "")),
                    text=fill(contents.get("text/plain", "")), html=fill(contents.get("text/html", "")),
                    headers=dict(headers), variables=custom_args,
                    tracking=dict(personalization.get("tracking_settings") or payload.get("tracking_settings") or {})))
        return messages

    # --- handling ------------------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[str, str] | None:
        parts = path.strip("/").split("/")
        if self.provider == "mailgun":
            if method == "POST" and len(parts) == 3 and parts[0] == "v3" and parts[2] == "messages":
                return "send", parts[1]
            if method == "GET" and len(parts) == 3 and parts[0] == "v3" and parts[2] in MAILGUN_LISTS:
                return "suppressions", parts[1]
            if method == "GET" and len(parts) in (3, 4) and parts[0] == "v3" and parts[2] == "events":
                return "events", parts[1]
        else:
            if method == "POST" and path == "/v3/mail/send":
                return "send", ""
            if method == "GET" and len(parts) == 3 and parts[:2] == ["v3", "suppression"] and parts[2] in SENDGRID_LISTS:
                return "suppressions", ""
            if method == "GET" and path == "/v3/messages":
                return "events", ""
        return None

    def _take_fault(self, kind: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.on in (kind, "any"):
                    self.faults.remove(fault)
                    return fault
        return None

    def _error_body(self, message: str) -> dict:
        if self.provider == "mailgun":
            return {"message": message}
        return {"errors": [{"message": message, "field": None, "help": None}]}

    def _authorised(self, headers) -> bool:
        value = headers.get("Authorization", "")
        if self.provider == "mailgun":
            import base64

            expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
            return secrets.compare_digest(value.encode(), expected.encode())
        return secrets.compare_digest(value.encode(), f"Bearer {self.api_key}".encode())

    def handle(self, handler: "_Handler") -> None:
        started = time.perf_counter()
        try:
            self._handle(handler)
        finally:
            with self._lock:
                self.stats["handling_seconds"] += time.perf_counter() - started

    def _handle(self, handler: "_Handler") -> None:
        method = handler.command
        split = urlsplit(handler.path)
        path, query = split.path, parse_qsl(split.query, keep_blank_values=True)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.stats["requests"] += 1
        route = self._route(method, path)
        if route is None:
            with self._lock:
                self.invalid.append(Invalid(method, path, ["no such endpoint"]))
            return self._answer(handler, method, path, query, 404, self._error_body(f"Not found: {method} {path}"))
        kind, domain = route
        with self._lock:
            self.arrived[kind] += 1

        errors = self._validate(method, path, query, handler.headers, body) if self.validate else []
        fields = None
        if not errors and self.provider == "mailgun" and kind == "send":
            try:
                fields = _parse_multipart(body, handler.headers.get("Content-Type", ""))
            except (ValueError, UnicodeDecodeError) as exc:
                errors = [f"multipart: {exc}"]
        if not errors:
            errors = self._rules(kind, path, query, handler.headers, body, fields)
        if errors:
            with self._lock:
                self.invalid.append(Invalid(method, path, errors))
            return self._answer(handler, method, path, query, 400,
                                self._error_body("invalid request: " + "; ".join(errors)), outcome="invalid 400")
        if not self._authorised(handler.headers):
            if self.provider == "mailgun":
                return self._answer(handler, method, path, query, 401, "Forbidden")
            return self._answer(handler, method, path, query, 401, self._error_body(
                "The provided authorization grant is invalid, expired, or revoked"))
        if self.provider == "mailgun" and domain != self.domain:
            return self._answer(handler, method, path, query, 404, self._error_body(f"Domain not found: {domain}"))

        fault = self._take_fault(kind)
        if fault is not None and fault.action == "stall":
            time.sleep(fault.seconds)
            if fault.then == "drop":
                return self._reset(handler, method, path, query, "stalled, then dropped")
            fault = None
        if fault is not None and fault.action == "status":
            headers = dict(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            if fault.status == 429 and self.provider == "sendgrid":
                headers.setdefault("X-RateLimit-Limit", "600")
                headers.setdefault("X-RateLimit-Remaining", "0")
            default = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
                       401: "Forbidden", 403: "Forbidden", 400: "Bad Request", 422: "Unprocessable Entity"}
            message = fault.message or default.get(fault.status, "error")
            payload = "Forbidden" if self.provider == "mailgun" and fault.status in (401, 403) and not fault.message \
                else self._error_body(message)
            return self._answer(handler, method, path, query, fault.status, payload, headers=headers,
                                outcome=f"fault {fault.status}")
        if fault is not None and fault.action == "reset" and not fault.after_processing:
            return self._reset(handler, method, path, query, "reset before processing")

        if kind == "send":
            status, payload, headers = self._accept(body, fields)
        elif kind == "events" and self.provider == "mailgun":
            (status, payload), headers = self.events.mailgun_page(self.url, path, query), {}
        elif kind == "events":
            (status, payload), headers = self.events.sendgrid_messages(query), {}
        else:
            status, payload, headers = self._suppressions(path, query)

        if fault is not None and fault.action == "reset":
            return self._reset(handler, method, path, query, "reset after processing")
        if fault is not None and fault.action == "slow":
            time.sleep(fault.seconds)
        self._answer(handler, method, path, query, status, payload, headers=headers)

    def _validate(self, method, path, query, headers, body) -> list[str]:
        if self.provider == "sendgrid" and method == "GET":
            return []                 # not in the specification we have: see _rules
        request = _OpenAPIRequest(REAL_HOSTS[self.provider], path, method, query, headers.items(), body or None,
                                  headers.get("Content-Type", ""))
        started = time.perf_counter()
        errors = [_describe(error) for error in self._spec.iter_request_errors(request)]
        with self._lock:
            self.stats["validation_seconds"] += time.perf_counter() - started
        return errors

    def _rules(self, kind, path, query, headers, body, fields=None) -> list[str]:
        """What the providers document but their specifications do not say."""
        errors: list[str] = []
        if self.provider == "mailgun" and kind == "send":
            names = [key for key, _ in fields]
            to = [value for key, value in fields if key == "to"]
            if sum(len(_addresses(value)) for value in to) > 1000:
                errors.append("more than 1000 recipients")
            if not ({"text", "html", "amp-html", "template"} & set(names)):
                errors.append("Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified")
            options = sum(len(k.encode()) + len(v.encode()) for k, v in fields if k[:2] in ("o:", "h:", "v:", "t:"))
            if options > 16 * 1024:
                errors.append(f"Send options (parameters starting with o:, h:, or v:) are limited to 16KB total "
                              f"({options} bytes)")
            for key, value in fields:
                if key == "recipient-variables":
                    try:
                        variables = json.loads(value)
                    except ValueError:
                        errors.append("recipient-variables is not valid JSON")
                        continue
                    if not isinstance(variables, dict) or not all(isinstance(v, dict) for v in variables.values()):
                        errors.append("recipient-variables must map each address to an object")
            for key, value in fields:
                if key.startswith("h:") and ("\r" in value or "\n" in value):
                    errors.append(f"{key}: a header value holds a line break")
        elif self.provider == "mailgun" and kind == "events":
            params = dict(query)
            if len(path.strip("/").split("/")) == 3:      # a first page: Mailgun's time-range rules
                if "begin" not in params:
                    errors.append("events: a time range needs 'begin'")
                if "end" not in params and "ascending" not in params:
                    errors.append("events: without 'end', 'ascending' (yes or no) is required")
            elif query:
                errors.append("events: a paging link takes no query")
        elif self.provider == "mailgun":
            limit = dict(query).get("limit")
            if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= 1000):
                errors.append("limit must be between 1 and 1000")
        elif kind == "send":
            try:
                payload = json.loads(body)
            except ValueError:
                return ["body is not JSON"]
            personalizations = payload.get("personalizations", [])
            total = sum(len(p.get(k, [])) for p in personalizations for k in ("to", "cc", "bcc"))
            if total > 1000:
                errors.append(f"There is a limit of 1000 total recipients per request ({total})")
            content = payload.get("content") or []
            types = [c.get("type") for c in content]
            if not content and not payload.get("template_id"):
                errors.append("Unless a valid template_id is provided, the content parameter is required")
            if "text/plain" in types and types[0] != "text/plain":
                errors.append("If present, text/plain content must be first, before text/html")
            for index, p in enumerate(personalizations):
                for name, value in p.get("headers", {}).items():
                    if name.lower() in SENDGRID_RESERVED_HEADERS:
                        errors.append(f"personalizations.{index}.headers: {name} cannot be set")
                    if not isinstance(value, str) or "\r" in value or "\n" in value:
                        errors.append(f"personalizations.{index}.headers.{name} must be a one-line string")
                subs = p.get("substitutions", {})
                if sum(len(k.encode()) + len(v.encode()) for k, v in subs.items()) > 10_000:
                    errors.append(f"personalizations.{index}.substitutions exceed 10,000 bytes")
                if any(not isinstance(v, str) for v in p.get("custom_args", {}).values()):
                    errors.append(f"personalizations.{index}.custom_args values must be strings")
        elif kind == "events":         # SendGrid Email Activity, by hand
            if not headers.get("Authorization", "").startswith("Bearer "):
                errors.append("Authorization: a bearer token is required")
            errors += sendgrid_query_errors(query)
        else:                          # SendGrid suppression lists, by hand
            if not headers.get("Authorization", "").startswith("Bearer "):
                errors.append("Authorization: a bearer token is required")
            allowed = {"limit", "offset", "start_time", "end_time", "email"}
            for name, value in query:
                if name not in allowed:
                    errors.append(f"unknown query parameter {name!r}")
                elif not value.isdigit() and name != "email":
                    errors.append(f"{name} must be a non-negative integer")
            limit = dict(query).get("limit")
            if limit is not None and limit.isdigit() and not 1 <= int(limit) <= 500:
                errors.append("limit must be between 1 and 500")
        return errors

    def _accept(self, body, fields=None) -> tuple[int, Any, dict]:
        with self._lock:
            self._counter += 1
            number = self._counter
        if self.provider == "mailgun":
            provider_id = f"{time.strftime('%Y%m%d%H%M%S')}.{number}.{secrets.token_hex(4).upper()}@{self.domain}"
            recipients = [address for key, value in fields if key == "to" for address in _addresses(value)]
            item = _Accepted(number, provider_id, fields, recipients)
            answer = (200, {"id": f"<{provider_id}>", "message": "Queued. Thank you."}, {})
            self.events.mailgun_accepted(provider_id, fields, [r.lower() for r in recipients])
        else:
            payload = json.loads(body)
            provider_id = secrets.token_urlsafe(16)[:22]
            recipients = [box["email"] for p in payload["personalizations"] for box in p["to"]]
            item = _Accepted(number, provider_id, payload, recipients)
            answer = (202, b"", {"X-Message-Id": provider_id})
            self.events.sendgrid_processed(provider_id, payload)
        with self._lock:
            self._accepted.append(item)
        return answer

    def _suppressions(self, path, query) -> tuple[int, Any, dict]:
        kind = path.rstrip("/").rsplit("/", 1)[1]
        params = dict(query)
        with self._lock:
            records = list(self.suppression_data[kind])
        if self.provider == "sendgrid":
            limit = int(params.get("limit", 500))
            offset = int(params.get("offset", 0))
            return 200, records[offset: offset + limit], {}
        key_name = "address"
        records.sort(key=lambda r: r[key_name].strip().lower())
        keys = [r[key_name].strip().lower() for r in records]
        limit = int(params.get("limit", 100))
        page = params.get("page", "")
        divider = params.get("address", "").strip().lower()
        if page == "next":
            chosen = [r for r, k in zip(records, keys) if k > divider][:limit]
        elif page == "previous":
            chosen = [r for r, k in zip(records, keys) if k < divider][-limit:]
        elif page == "last":
            chosen = records[-limit:]
        else:
            chosen = records[:limit]
        base = f"{self.url}{path}"
        last = chosen[-1][key_name] if chosen else divider
        first = chosen[0][key_name] if chosen else divider
        paging = {
            "first": f"{base}?{urlencode({'limit': limit})}",
            "last": f"{base}?{urlencode({'page': 'last', 'limit': limit})}",
            "next": f"{base}?{urlencode({'page': 'next', 'address': last, 'limit': limit})}",
            "previous": f"{base}?{urlencode({'page': 'previous', 'address': first, 'limit': limit})}",
        }
        return 200, {"items": chosen, "paging": paging}, {}

    def _answer(self, handler, method, path, query, status, payload, *, headers=None, outcome=None) -> None:
        if isinstance(payload, (dict, list)):
            data, content_type = json.dumps(payload).encode(), "application/json"
        elif isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = payload, "application/json"
        with self._lock:
            self.seen.append(Seen(method, path, query, outcome or str(status), handler.client_address[1]))
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:               # the client gave up (e.g. after a slow answer)
            handler.close_connection = True

    def _reset(self, handler, method, path, query, outcome) -> None:
        with self._lock:
            self.seen.append(Seen(method, path, query, outcome, handler.client_address[1]))
        sock = handler.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(sock.detach())   # close with linger 0: the peer gets a RST, not a FIN
        except OSError:
            pass
        handler.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"    # keep-alive, so clients can reuse connections
    server_version = "ProviderTestServer/1"
    timeout = 30                     # an idle keep-alive connection is closed after this

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK stall every answer by ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):   # quiet
        pass

    def do_GET(self):
        self.server.app.handle(self)

    do_POST = do_GET

    def do_PUT(self):
        self.send_error(405)

    do_DELETE = do_PATCH = do_PUT
