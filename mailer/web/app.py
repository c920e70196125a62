"""The subscription service: a Starlette application (run by uvicorn: mailer/web/server.py).

    GET  /join                 the join form (the website's join.html posts the same form here)
    POST /join                 a sign-up: always the same "check your inbox" answer
    GET  /confirm?t=           one button; POST /confirm makes the address sendable
    GET  /unsubscribe?t=       one button; POST unsubscribes (RFC 8058 one-click, or the button)
    GET  /preferences?t=       roles, phases, interests, pause, leave; POST saves or leaves
    POST /webhooks/mailgun     provider events (mailer/web/webhooks.py)
    POST /webhooks/sendgrid
    GET  /healthz              200 when the database answers

Database work runs in worker threads, one SQLite connection per thread (busy timeout
``db_retry``). A leave, a preference change or a confirmation that still meets a locked
database is queued durably (mailer/spool.py) and the reader is told it takes effect within
minutes; a sign-up is answered 503 (please try again), since the form is still on their screen.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
import threading
from urllib.parse import parse_qsl, urlparse

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .. import signups, spool
from ..importer import valid_address
from ..store import Store
from ..tokens import PREFERENCES, UNSUBSCRIBE
from . import webhooks
from .config import ServiceConfig, from_env, origin
from .guard import Guard, RateLimiter, mask
from .links import CSRF_COOKIE, Links
from .mail import send_signup_mail
from .pages import CSS, Pages

log = logging.getLogger("mailer.web")
DRAIN_EVERY = 5.0          # seconds between applying queued changes
MAX_FIELD = 300            # characters kept of a free-text field


class Locked(Exception):
    """The database stayed locked for the whole retry window."""


class Service:
    """The handlers and what they share; one per worker process."""

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
                if not self._db_lock.acquire(timeout=self.config.db_retry * 2):
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

    # --- join -----------------------------------------------------------------------------------
    async def join_get(self, request: Request) -> Response:
        token, new = self.csrf(request)
        return self.with_cookie(self.pages.join_page(csrf=token), request, new)

    async def join_post(self, request: Request) -> Response:
        fields = await self.form(request)
        values = {k: first(fields, k) for k in ("email", "first_name", "school")}
        values.update({k: fields.get(k, []) for k in ("roles", "phases", "interests")})
        if "csrf" in fields:
            trusted = self.csrf_ok(request, fields)
        else:            # the website's static form cannot hold a token: its Origin must be ours
            trusted = self.origin_ok(request, required=True)
        if not trusted:
            token, new = self.csrf(request)
            return self.with_cookie(self.pages.join_page(
                csrf=token, values=values, status=403,
                error="Please check your details and press the button again: we could not tell "
                      "that this form came from our website."), request, new)
        if first(fields, "website"):                       # the honeypot: a robot filled it
            log.info("", extra={"fields": {"event": "honeypot"}})
            return self.check_inbox()
        email = (values["email"] or "").strip().lower()
        problem = ""
        if not valid_address(email):
            problem = "Please enter your email address, e.g. name@school.org.uk."
        elif first(fields, "consent") != "yes":
            problem = "Please tick the box to say you would like the newsletter."
        elif first(fields, "consent_version") != self.config.consent_version:
            problem = "Our wording has changed since this page was loaded: please read it again and press the button."
        if problem:
            token, new = self.csrf(request)
            return self.with_cookie(self.pages.join_page(csrf=token, values=values, error=problem,
                                                         status=400), request, new)
        if not self.join_limiter.allow(self.client(request)):
            return self.pages.message("Please try again later",
                                      "We have had many sign-ups from your network in the last hour. "
                                      "Please try again later, or email us and we will add you.",
                                      status=429)
        c = self.config
        req = signups.JoinRequest(
            email=email, first_name=(values["first_name"] or "").strip(), school=(values["school"] or "").strip(),
            roles=tuple(w for w in c.roles if w in values["roles"]),
            phases=tuple(w for w in c.phases if w in values["phases"]),
            interests=tuple(w for w in c.strands if w in values["interests"]),
            wording_version=c.consent_version)
        try:
            outcome = await self.db(signups.request_signup, req)
        except Locked:
            return self.pages.message("Please try again in a minute",
                                      "We could not record your sign-up just now. Nothing was saved; "
                                      "please press the back button and send the form again in a minute.",
                                      status=503)
        task = None
        if outcome.mail == "confirm":
            link = c.url("confirm") + "?t=" + self.links.confirm_token(outcome.signup_id, outcome.nonce,
                                                                       outcome.address_hash)
            task = BackgroundTask(send_signup_mail, c, "confirm", outcome.email, outcome.first_name, link,
                                  signups.CONFIRM_HOURS)
        elif outcome.mail == "known":
            from ..tokens import make_token
            link = c.url("preferences") + "?t=" + make_token(c.secrets[0], outcome.address_hash, PREFERENCES)
            task = BackgroundTask(send_signup_mail, c, "known", outcome.email, outcome.first_name, link,
                                  signups.CONFIRM_HOURS)
        log.info("", extra={"fields": {"event": "signup", "to": mask(email), "mail": outcome.mail or "none"}})
        response = self.check_inbox()
        response.background = task
        return response

    def check_inbox(self) -> Response:
        return self.pages.message(
            "Check your inbox",
            "Thank you. We have sent an email to the address you gave: press the link in it to confirm "
            f"that you would like the newsletter. The link works for {signups.CONFIRM_HOURS // 24} days.",
            "Nothing arrived? Look in your junk folder, or email us.")

    # --- confirm --------------------------------------------------------------------------------
    async def confirm_get(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        state, _ = self.links.read_confirm(token)
        if state != "ok":
            return self.bad_confirm(state)
        csrf, new = self.csrf(request)
        return self.with_cookie(self.pages.render(
            "button.html", title="Confirm your subscription", action=self.config.url("confirm"),
            token=token, csrf=csrf, button="Confirm my subscription",
            intro=f"Press the button to start receiving the {self.config.name} newsletter."), request, new)

    async def confirm_post(self, request: Request) -> Response:
        fields = await self.form(request)
        token = first(fields, "t") or request.query_params.get("t", "")
        state, payload = self.links.read_confirm(token)
        if state != "ok":
            return self.bad_confirm(state)
        if not self.csrf_ok(request, fields):
            return self.stale_form(request, "confirm", token)
        try:
            result = await self.db(signups.confirm, payload["s"], str(payload.get("n", "")), str(payload.get("h", "")))
        except Locked:
            await run_in_threadpool(spool.put, self.config.db, "confirm", signup=payload["s"],
                                    nonce=str(payload.get("n", "")), hash=str(payload.get("h", "")))
            return self.pages.message("Thank you: confirmation received",
                                      "We have recorded your confirmation. It takes effect within a few minutes.",
                                      status=202)
        if result.outcome == "invalid":
            return self.bad_confirm("superseded")
        log.info("", extra={"fields": {"event": "confirmed", "outcome": result.outcome}})
        return self.pages.message("You are subscribed",
                                  f"Thank you: you will receive the {self.config.name} newsletter. Every "
                                  "email has a link to change what you get, or to leave.")

    def bad_confirm(self, state: str) -> Response:
        join = self.config.url("join")
        if state == "expired":
            return self.pages.message("This link has expired",
                                      f"Confirmation links work for {signups.CONFIRM_HOURS // 24} days. "
                                      f"Please sign up again at {join}.", status=410)
        if state == "superseded":
            return self.pages.message("This link has been replaced",
                                      "A newer confirmation email was sent to this address: please use the "
                                      f"link in the latest one, or sign up again at {join}.", status=410)
        return self.pages.message("This link is not valid",
                                  "The link is incomplete or has been changed. Please use the link in the "
                                  f"email exactly as it is, or sign up again at {join}.", status=400)

    def stale_form(self, request: Request, path: str, token: str) -> Response:
        csrf, new = self.csrf(request)
        return self.with_cookie(self.pages.render(
            "button.html", 403, title="Please press the button again", action=self.config.url(path),
            token=token, csrf=csrf, button="Continue",
            intro="This page was open for a long time or came from elsewhere; press the button to go on."),
            request, new)

    # --- leave ----------------------------------------------------------------------------------
    async def unsubscribe_get(self, request: Request) -> Response:
        token = request.query_params.get("t", "")
        if self.links.reader(token, UNSUBSCRIBE) is None:
            return self.bad_link()
        csrf, new = self.csrf(request)
        return self.with_cookie(self.pages.render(
            "button.html", title=f"Unsubscribe from the {self.config.name} newsletter",
            action=self.config.url("unsubscribe"), token=token, csrf=csrf, button="Unsubscribe",
            intro=f"Press the button to stop receiving newsletters from {self.config.name}."), request, new)

    async def unsubscribe_post(self, request: Request) -> Response:
        fields = await self.form(request)
        token = request.query_params.get("t", "") or first(fields, "t")
        hash_ = self.links.reader(token, UNSUBSCRIBE)
        if hash_ is None:
            return self.bad_link()
        one_click = first(fields, "List-Unsubscribe") == "One-Click"
        if not one_click and not self.csrf_ok(request, fields):
            return self.stale_form(request, "unsubscribe", token)
        source = "one-click" if one_click else "unsubscribe link"
        queued = await self.leave(hash_, source)
        if one_click:
            return PlainTextResponse("Unsubscribed." if not queued else "Accepted: takes effect within minutes.")
        return self.left(queued)

    async def leave(self, hash_: str, source: str) -> bool:
        """Unsubscribe now, or queue it durably if the database stays locked. True if queued."""
        try:
            outcome = await self.db(signups.leave, hash_, source)
        except Locked:
            await run_in_threadpool(spool.put, self.config.db, "leave", hash=hash_, source=source)
            log.warning("", extra={"fields": {"event": "leave-queued", "source": source}})
            return True
        log.info("", extra={"fields": {"event": "leave", "source": source, "outcome": outcome}})
        return False

    def left(self, queued: bool) -> Response:
        if queued:
            return self.pages.message(
                "Your request is recorded",
                "Our list is busy this minute, so your request has been saved and takes effect within a "
                "few minutes. No newsletter will be sent to you once it has.",
                "If a newsletter was already on its way, you may still get that one email.", status=202)
        return self.pages.message("You are unsubscribed",
                                  f"You will get no more newsletters from {self.config.name}. If this was a "
                                  "mistake, you can join again at any time from our website.")

    def bad_link(self) -> Response:
        return self.pages.message(
            "This link is not valid",
            "The link is incomplete or has been changed. Please use the link at the bottom of one of our "
            "emails exactly as it is, or reply to that email with the word \u201cunsubscribe\u201d.", status=400)

    # --- preferences ----------------------------------------------------------------------------
    async def preferences_get(self, request: Request, saved: str = "") -> Response:
        token = request.query_params.get("t", "")
        hash_ = self.links.reader(token, PREFERENCES)
        if hash_ is None:
            return self.bad_link()
        try:
            row = await self.db(signups.subscriber_by_hash, hash_)
        except Locked:
            return self.pages.message("Please try again in a minute", "Our list is busy this minute.",
                                      status=503)
        return self.preferences_page(request, token, row, saved)

    def preferences_page(self, request: Request, token: str, row, saved: str = "") -> Response:
        if row is None:
            return self.pages.message("We hold no details for you",
                                      "This address is not on our list any more (its details were erased).")
        if row["status"] != "subscribed":
            return self.pages.message("You are unsubscribed",
                                      "You receive no newsletters from us. To join again, use the form on our "
                                      f"website: {self.config.url('join')}")
        csrf, new = self.csrf(request)
        current = {"roles": row["roles"].split(), "phases": row["phases"].split(),
                   "interests": row["interests"].split(), "paused_until": row["paused_until"]}
        c = self.config
        return self.with_cookie(self.pages.render(
            "preferences.html", title="Your newsletter preferences", action=c.url("preferences"),
            token=token, csrf=csrf, roles=c.roles, phases=c.phases, strands=c.strands, current=current,
            masked=mask(row["email"]), today=dt.date.today().isoformat(), saved=saved), request, new)

    async def preferences_post(self, request: Request) -> Response:
        fields = await self.form(request)
        token = first(fields, "t") or request.query_params.get("t", "")
        hash_ = self.links.reader(token, PREFERENCES)
        if hash_ is None:
            return self.bad_link()
        if not self.csrf_ok(request, fields):
            return self.stale_form(request, "preferences?t=" + token, token)
        if first(fields, "action") == "leave":
            return self.left(await self.leave(hash_, "preference centre"))
        c = self.config
        paused = (first(fields, "paused_until") or "").strip() or None
        if paused is not None:
            try:
                day = dt.date.fromisoformat(paused)
            except ValueError:
                day = None
            if day is None or day > dt.date.today() + dt.timedelta(days=366):
                return self.pages.message("Please check the date",
                                          "Give the date to pause until as day, month and year, within a year "
                                          "from today. Nothing was changed.", status=400)
            paused = day.isoformat() if day > dt.date.today() else None
        prefs = signups.Preferences([w for w in c.roles if w in fields.get("roles", [])],
                                    [w for w in c.phases if w in fields.get("phases", [])],
                                    [w for w in c.strands if w in fields.get("interests", [])], paused)
        try:
            await self.db(signups.update_preferences, hash_, prefs)
        except Locked:
            await run_in_threadpool(spool.put, c.db, "preferences", hash=hash_, roles=prefs.roles,
                                    phases=prefs.phases, interests=prefs.interests, paused_until=paused)
            return self.pages.message("Your choices are recorded",
                                      "Our list is busy this minute, so your choices have been saved and take "
                                      "effect within a few minutes.", status=202)
        row = await self.db(signups.subscriber_by_hash, hash_)
        note = f"Saved. The newsletter is paused until {long_date(paused)}." if paused else "Saved."
        return self.preferences_page(request, token, row, note)

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


def create_app(config: ServiceConfig) -> Guard:
    service = Service(config)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await service.db(spool.drain)
        task = asyncio.create_task(service.drain_forever())
        try:
            yield
        finally:
            task.cancel()

    routes = [
        Route("/join", service.join_get, methods=["GET"]),
        Route("/join", service.join_post, methods=["POST"]),
        Route("/confirm", service.confirm_get, methods=["GET"]),
        Route("/confirm", service.confirm_post, methods=["POST"]),
        Route("/unsubscribe", service.unsubscribe_get, methods=["GET"]),
        Route("/unsubscribe", service.unsubscribe_post, methods=["POST"]),
        Route("/preferences", service.preferences_get, methods=["GET"]),
        Route("/preferences", service.preferences_post, methods=["POST"]),
        Route("/webhooks/mailgun", webhooks.endpoint(service, "mailgun"), methods=["POST"]),
        Route("/webhooks/sendgrid", webhooks.endpoint(service, "sendgrid"), methods=["POST"]),
        Route("/healthz", service.healthz, methods=["GET"]),
        Route("/assets/service.css", service.css, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    https = urlparse(config.service_url).scheme == "https"
    return Guard(app, body_limit=config.body_limit, webhook_body_limit=config.webhook_body_limit,
                 body_timeout=config.body_timeout, request_timeout=config.request_timeout, https=https)


def app_from_env() -> Guard:
    """The factory uvicorn's workers call (``mailer.web.app:app_from_env``)."""
    return create_app(from_env())
