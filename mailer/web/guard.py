"""What stands between the internet and the service's handlers (pure ASGI, no framework magic):

* a body limit: a declared ``Content-Length`` over the limit (or negative, or not a number) is
  refused with 413/400 before a byte is read, and a body that grows past it while streaming
  is cut off with 413;
* a body deadline: a client that trickles its body (one byte a second) gets 408 after
  ``body_timeout`` seconds; the server is asynchronous, so meanwhile nobody else waits;
* a request deadline: 503 if a handler has not answered within ``request_timeout``;
* security headers on every answer (CSP without inline script or style, no framing, no
  referrer: links carry tokens), ``Cache-Control: no-store``;
* one JSON log line per request: method, path (never the query string, which holds tokens),
  status, milliseconds. Addresses are logged masked (:func:`mask`), tokens never.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque

log = logging.getLogger("mailer.web")

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


def mask(address: str) -> str:
    """``ana.lopez@school.example`` -> ``a***@school.example``: enough to follow a case in
    the logs with the office, not enough to harvest addresses from them."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                 "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        message = record.getMessage()
        if message:
            entry["message"] = message
        if record.exc_info:          # a traceback holds code and types, not request values
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(level: str = "INFO") -> dict:
    """logging.config dict for uvicorn and the service: JSON to standard error; uvicorn's own
    access log is off (it would print query strings, i.e. tokens)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {"version": 1, "disable_existing_loggers": False,
            "formatters": {"json": {"()": "mailer.web.guard.JsonFormatter"}},
            "handlers": {"stderr": handler},
            "loggers": {"uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
                        "uvicorn.error": {"level": level},
                        "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
                        "mailer": {"handlers": ["stderr"], "level": level, "propagate": False}}}


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


async def _plain(send, status: int, text: str, extra: list | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                            *SECURITY_HEADERS, *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """The ASGI middleware described in the module's docstring."""

    def __init__(self, app, *, body_limit: int, webhook_body_limit: int, body_timeout: float,
                 request_timeout: float, https: bool):
        self.app = app
        self.body_limit = body_limit
        self.webhook_body_limit = webhook_body_limit
        self.body_timeout = body_timeout
        self.request_timeout = request_timeout
        self.extra = [HSTS] if https else []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        path = scope.get("path", "")
        limit = self.webhook_body_limit if path.startswith("/webhooks/") else self.body_limit
        state = {"status": 0, "started": False}

        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                return await self._finish(scope, started, send, 400, "Bad Content-Length", state)
            if length > limit:
                return await self._finish(scope, started, send, 413, "Request body too large", state)

        # The whole body is read here, within its limit and deadline, before the application
        # runs: handlers never wait on a slow client nor see a partial body.
        try:
            body = await self._read_body(receive, limit) if scope.get("method") in ("POST", "PUT", "PATCH") else b""
        except _TooLarge:
            return await self._finish(scope, started, send, 413, "Request body too large", state)
        except _TooSlow:
            return await self._finish(scope, started, send, 408, "Request body too slow", state)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()           # after the body: wait for a disconnect, as usual

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}        # a handler's own choice stands
                headers += [(n, v) for n, v in (*SECURITY_HEADERS, *self.extra) if n not in have]
                message = dict(message, headers=headers)
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, replay, guarded_send), self.request_timeout)
        except asyncio.TimeoutError:
            return await self._finish(scope, started, send, 503, "Timed out; please try again", state,
                                      [(b"retry-after", b"30")])
        self._log(scope, started, state["status"])

    async def _read_body(self, receive, limit: int) -> bytes:
        deadline = time.monotonic() + self.body_timeout
        chunks, size = [], 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _TooSlow
            try:
                message = await asyncio.wait_for(receive(), remaining)
            except asyncio.TimeoutError:
                raise _TooSlow from None
            if message["type"] != "http.request":
                raise _TooSlow                  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _finish(self, scope, started, send, status, text, state, extra=None):
        if not state["started"]:
            await _plain(send, status, text, [*self.extra, *(extra or [])])
            state["status"] = status
        self._log(scope, started, state["status"] or status)

    @staticmethod
    def _log(scope, started: float, status: int) -> None:
        log.info("", extra={"fields": {
            "event": "request", "method": scope.get("method"),
            "path": scope.get("path", "")[:100], "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1)}})


class RateLimiter:
    """At most ``count`` events per key in any ``seconds``-long window (sliding log, in this
    worker's memory: with N workers a client gets at most N times the limit)."""

    def __init__(self, count: int, seconds: float, *, clock=time.monotonic, max_keys: int = 100_000):
        self.count, self.seconds, self.clock, self.max_keys = count, seconds, clock, max_keys
        self._events: dict[str, deque] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= self.max_keys:
                self._prune(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        if len(events) >= self.count:
            return False
        events.append(now)
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.seconds]:
            del self._events[key]
