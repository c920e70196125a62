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

The handlers live in joining.py (join, confirm) and readers.py (unsubscribe, preferences),
what they share in service.py, the provider webhooks in webhooks.py; guard.py wraps it all.
"""
from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlparse

from starlette.applications import Starlette
from starlette.routing import Route

from .. import spool
from . import webhooks
from .config import ServiceConfig, from_env
from .guard import Guard
from .joining import Joining
from .readers import ReaderLinks


class Service(Joining, ReaderLinks):
    """Every handler of one worker process."""


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
