"""Join with double opt-in: the form, the sign-up (always the same answer), the confirmation
link's page and its button. The logic is mailer/signups.py's; this is HTTP."""
from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import signups, spool
from ..importer import valid_address
from ..tokens import PREFERENCES, make_token
from .guard import mask
from .mail import send_signup_mail
from .service import Locked, ServiceBase, first

log = logging.getLogger("mailer.web")


class Joining(ServiceBase):
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

