"""What the links in every email open: unsubscribe (RFC 8058 one-click, or one button) and
the preference centre (roles, phases, interests, a pause, leaving). A change the database
cannot take at once is queued durably (mailer/spool.py) and the reader told so."""
from __future__ import annotations

import datetime as dt
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .. import signups, spool
from ..tokens import PREFERENCES, UNSUBSCRIBE
from .guard import mask
from .service import Locked, ServiceBase, first, long_date

log = logging.getLogger("mailer.web")


class ReaderLinks(ServiceBase):
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

