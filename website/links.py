"""Links in editors' bodies to other pages of the site (``[the notes](notes.md)``).

Bodies reach MkDocs as sanitised HTML (records.markdown), which MkDocs passes through without
looking at its links; so what MkDocs does for links in Markdown is done here: a relative link
to a ``.md`` page becomes the address MkDocs gives that page, and a link to a page that does
not exist is reported, as a warning at the record's file and line.
"""
from __future__ import annotations

import html
import posixpath
import re
from typing import Callable
from urllib.parse import urlsplit

from . import config as site_config

_HREF = re.compile(r'href="([^"]*)"')      # nh3's output: attributes double-quoted, escaped


def page_links(body_html: str, page_path: str, known: frozenset[str] | set[str],
               directory_urls: bool, missing: Callable[[str, str], None]) -> str:
    """``body_html`` with its relative ``.md`` links pointing where MkDocs puts those pages;
    ``missing(link, target)`` is called for each link to a page that is not in ``known``
    (paths of the docs folder)."""
    here = site_config.page_url(page_path, directory_urls)
    base = here if here.endswith("/") or not here else posixpath.dirname(here)

    def rewrite(match: re.Match) -> str:
        link = html.unescape(match.group(1))
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or link.startswith(("/", "#")) or not parts.path:
            return match.group(0)
        if not parts.path.endswith(".md"):
            return match.group(0)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), parts.path))
        if target not in known:
            missing(link, target)
            return match.group(0)
        url = site_config.page_url(target, directory_urls)
        relative = posixpath.relpath(url or ".", base or ".")
        if url.endswith("/") or not url:
            relative += "/"
        if parts.fragment:
            relative += "#" + parts.fragment
        return f'href="{html.escape(relative, quote=True)}"'

    return _HREF.sub(rewrite, body_html)
