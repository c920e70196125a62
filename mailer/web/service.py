"""What every handler of the subscription service shares: one SQLite connection per thread
behind a per-worker lock, form parsing, CSRF (a cookie and its HMAC in each form, plus the
Origin check), and the small pages and answers several handlers give."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import threading
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .. import signups, spool
from ..store import Store
from .config import ServiceConfig, origin
from .guard import RateLimiter
from .links import CSRF_COOKIE, Links
from .pages import CSS, Pages

log = logging.getLogger("mailer.web")
DRAIN_EVERY = 5.0          # seconds between applying queued changes
MAX_FIELD = 300            # characters kept of a free-text field


class Locked(Exception):
    """The database stayed locked for the whole retry window."""


class ServiceBase:
    """The handlers' shared state and helpers; one per worker process."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.links = Links(config.secrets, signups.CONFIRM_HOURS)
        self.pages = Pages(config)
        self.join_limiter = RateLimiter(*config.join_limit)
        self._local = threading.local()
        # One database call at a time per worker: SQLite takes one writer anyway, and its busy
        # handler (sleep and retry) is unfair under load, so threads queue here in order and
        # only the worker processes meet at SQLite's lock.
        self._db_lock = threading.Lock()

    # --- the database -----------------------------------------------------------------------
    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.config.db, create=False)
            store.conn.execute(f"PRAGMA busy_timeout = {int(self.config.db_retry * 1000)}")
            self._local.store = store
        return store

    async def db(self, function, *args, **kwargs):
        """Run ``function(store, ...)`` in a thread; Locked if SQLite stayed busy throughout."""
        def call():
            try:
                # waiting here is waiting for this worker's own queue, not for a locked
                # database: allowed most of the request's time (the database itself gets
                # db_retry seconds, SQLite's busy timeout, before a change is queued)
                if not self._db_lock.acquire(timeout=max(self.config.db_retry, self.config.request_timeout - 5)):
                    raise Locked
                try:
                    return function(self.store(), *args, **kwargs)
                finally:
                    self._db_lock.release()
            except sqlite3.OperationalError as err:
                if "locked" in str(err) or "busy" in str(err):
                    raise Locked from err
                raise
        return await run_in_threadpool(call)

    # --- forms and CSRF -----------------------------------------------------------------------
    async def form(self, request: Request) -> dict[str, list[str]]:
        body = await request.body()
        fields: dict[str, list[str]] = {}
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(key, []).append(value[:MAX_FIELD])
        return fields

    def csrf(self, request: Request) -> tuple[str, str | None]:
        """(form value, new cookie to set or None) for a page holding a form."""
        cookie = request.cookies.get(CSRF_COOKIE)
        new = None
        if not cookie or len(cookie) > 100:
            cookie = new = self.links.new_cookie()
        return self.links.csrf_for(cookie), new

    def with_cookie(self, response: Response, request: Request, new: str | None) -> Response:
        if new:
            response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https", path="/")
        return response

    def csrf_ok(self, request: Request, fields: dict) -> bool:
        return self.links.csrf_ok(request.cookies.get(CSRF_COOKIE), first(fields, "csrf")) and \
            self.origin_ok(request, required=False)

    def origin_ok(self, request: Request, *, required: bool) -> bool:
        """The Origin (or Referer) is the website or this service; absent only when not required."""
        source = request.headers.get("origin") or ""
        if not source or source == "null":
            referer = request.headers.get("referer") or ""
            source = origin(referer) if referer.startswith("http") else ""
        if not source:
            return not required
        return source.lower() in self.config.allowed_origins | {origin(str(request.base_url))}

    def client(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def stale_form(self, request: Request, path: str, token: str) -> Response:
        csrf, new = self.csrf(request)
        return self.with_cookie(self.pages.render(
            "button.html", 403, title="Please press the button again", action=self.config.url(path),
            token=token, csrf=csrf, button="Continue",
            intro="This page was open for a long time or came from elsewhere; press the button to go on."),
            request, new)

    def bad_link(self) -> Response:
        return self.pages.message(
            "This link is not valid",
            "The link is incomplete or has been changed. Please use the link at the bottom of one of our "
            "emails exactly as it is, or reply to that email with the word \u201cunsubscribe\u201d.", status=400)

    # --- the rest ---------------------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        try:
            await self.db(lambda store: store.conn.execute("SELECT 1 FROM subscribers LIMIT 1").fetchall())
        except Exception:        # noqa: BLE001 - the answer is the report
            return PlainTextResponse("database unavailable", status_code=503)
        return PlainTextResponse("ok")

    async def css(self, request: Request) -> Response:
        return Response(CSS, media_type="text/css", headers={"cache-control": "public, max-age=3600"})

    async def drain_forever(self) -> None:
        while True:
            await asyncio.sleep(DRAIN_EVERY)
            try:
                await self.db(spool.drain)
                await self.db(signups.purge_expired)
            except Exception as err:   # noqa: BLE001 - keep draining; the queue is durable
                log.warning("", extra={"fields": {"event": "drain-failed", "error": type(err).__name__}})


def long_date(iso_day: str) -> str:
    day = dt.date.fromisoformat(iso_day)
    return f"{day.day} {day:%B %Y}"


def first(fields: dict[str, list[str]], key: str) -> str | None:
    values = fields.get(key)
    return values[0] if values else None


