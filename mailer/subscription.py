"""The small subscription service that answers unsubscribe links (a WSGI app, standard library).

Mount it where ``MAILER_UNSUBSCRIBE_URL`` points (default ``{site_url}unsubscribe``; the
website itself is static, so a reverse proxy sends that path here), or run it with
``python -m mailer serve``. Any path is answered:

GET  ?t=TOKEN   a confirmation page with one button (a GET never unsubscribes: mail scanners
                and link previewers follow links)
POST ?t=TOKEN   unsubscribes: RFC 8058 one-click (body ``List-Unsubscribe=One-Click``) from
                the mail client, or the confirmation page's form. Idempotent; 200 either way.

A token that does not verify gets 400 and changes nothing. A genuine token for an address no
longer in the database (forgotten) still records the suppression, so the wish holds.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import parse_qs

from .store import Store
from .tokens import verify_token

MAX_BODY = 4096

_PAGE = """<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font-family:Arial,Helvetica,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1f2933}}button{{font-size:1rem;padding:.6rem 1.2rem;background:#1a5fa8;color:#fff;
border:0;border-radius:4px;cursor:pointer}}a{{color:#1a5fa8}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(start_response, status: str, title: str, body: str) -> list[bytes]:
    data = _PAGE.format(title=html.escape(title), body=body).encode("utf-8")
    start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Length", str(len(data))), ("Cache-Control", "no-store"),
                            ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")])
    return [data]


def make_app(db_path: Path | str, secret: bytes | list[bytes], *, name: str = "the newsletter",
             site_url: str = "") -> Callable:
    """A WSGI application unsubscribing readers of ``db_path`` whose tokens ``secret`` signed
    (a list: the current secret and those in MAILER_SECRET_OLD)."""
    who = html.escape(name)
    home = f' <a href="{html.escape(site_url)}">Back to our website</a>.' if site_url else ""

    def app(environ: dict, start_response) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if environ.get("PATH_INFO", "/").endswith("favicon.ico"):
            return _page(start_response, "404 Not Found", "Not found", "")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        form: dict[str, list[str]] = {}
        if method == "POST":
            try:
                length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
            except ValueError:
                length = 0
            body = environ["wsgi.input"].read(length) if length else b""
            form = parse_qs(body.decode("utf-8", "replace"))
        token = (form.get("t") or query.get("t") or [""])[0]
        address_hash = verify_token(secret, token)
        if address_hash is None:
            return _page(start_response, "400 Bad Request", "This link is not valid",
                         "<p>The unsubscribe link is incomplete or has been changed. Please use the "
                         "link at the bottom of one of our emails, or reply to it with the word "
                         f"&ldquo;unsubscribe&rdquo;.{home}</p>")
        if method in ("GET", "HEAD"):
            return _page(start_response, "200 OK", f"Unsubscribe from {name}",
                         f"<p>Press the button to stop receiving newsletters from {who}.</p>"
                         f'<form method="post"><input type="hidden" name="t" value="{html.escape(token)}">'
                         "<button type=\"submit\">Unsubscribe</button></form>")
        if method != "POST":
            start_response("405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Length", "0")])
            return [b""]
        one_click = form.get("List-Unsubscribe", [""])[0] == "One-Click"
        with Store(db_path) as store:
            store.unsubscribe_hash(address_hash, "one-click" if one_click else "unsubscribe page")
        return _page(start_response, "200 OK", "You are unsubscribed",
                     f"<p>You will get no more newsletters from {who}. If this was a mistake, "
                     f"write to us and we will add you back.{home}</p>")

    return app


def serve(app: Callable, host: str = "127.0.0.1", port: int = 8025) -> None:  # pragma: no cover
    from wsgiref.simple_server import make_server
    with make_server(host, port, app) as server:
        server.serve_forever()
