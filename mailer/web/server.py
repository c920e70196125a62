"""Run the service under uvicorn, a production ASGI server: several worker processes (a
crashed worker is replaced), asynchronous connections (a slow or idle client holds one
socket, never a worker), and these limits:

* headers: a connection must finish its request line and headers within ``HEADER_TIMEOUT``
  seconds (:class:`HeaderDeadline`; uvicorn itself only times out idle keep-alive
  connections), so one-byte-a-second clients cannot pile up;
* bodies and whole requests: mailer/web/guard.py;
* at most ``LIMIT_CONCURRENCY`` connections per worker (503 beyond), 5 s keep-alive.

The workers build the app from the environment (``mailer.web.app:app_from_env``), so
``serve`` checks the configuration first, in the parent, and refuses to start on a missing
database or a bad secret before any worker is spawned.
"""
from __future__ import annotations

import os
from pathlib import Path

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .guard import log_config

HEADER_TIMEOUT = float(os.environ.get("MAILER_HEADER_TIMEOUT", "") or 10.0)   # seconds
LIMIT_CONCURRENCY = 1000


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline for each request's headers."""

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._headers_too_slow)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._disarm()
            self._arm()         # the next request on this keep-alive connection

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)


def run(db: Path, root: Path, host: str, port: int, workers: int, *, proxies: str = "127.0.0.1",
        level: str = "info") -> None:  # pragma: no cover - runs until stopped; tested over HTTP
    import uvicorn
    os.environ["MAILER_DB"] = str(Path(db).resolve())
    os.environ["MAILER_ROOT"] = str(Path(root).resolve())
    uvicorn.run("mailer.web.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                http=HeaderDeadline, loop="asyncio", proxy_headers=True, forwarded_allow_ips=proxies,
                server_header=False, date_header=True, access_log=False, log_config=log_config(level.upper()),
                timeout_keep_alive=5, limit_concurrency=LIMIT_CONCURRENCY, timeout_graceful_shutdown=10)
