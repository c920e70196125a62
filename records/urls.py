"""The website's address scheme, in the one place both halves read it: a page generated as
``courses/x.md`` is published at ``courses/x.html`` (MkDocs' ``use_directory_urls: false``,
which the website's generated mkdocs.yml always sets from :data:`DIRECTORY_URLS`). The
mailer's "read on the website" link and the website's feeds build their addresses here, so
they cannot drift from what the site serves."""
from __future__ import annotations

from urllib.parse import urljoin

DIRECTORY_URLS = False       # pages end in .html: the built site also browses from disk


def page_url(docs_path: str, directory_urls: bool = DIRECTORY_URLS) -> str:
    """Where the page generated as ``docs_path`` (``courses/x.md``) is published, relative to
    the site's root: ``courses/x.html`` (or ``courses/x/`` with directory URLs); ``index.md``
    is ``index.html`` (or ``""``)."""
    stem = docs_path[:-3] if docs_path.endswith(".md") else docs_path
    if not directory_urls:
        return stem + ".html"
    if stem == "index" or stem.endswith("/index"):
        return stem[:-5]
    return stem + "/"


def absolute(site_url: str, docs_path: str, directory_urls: bool = DIRECTORY_URLS) -> str:
    base = site_url if site_url.endswith("/") else site_url + "/"
    return urljoin(base, page_url(docs_path, directory_urls))


def course_path(course_id: str) -> str:
    return f"courses/{course_id}.md"


def edition_path(edition_id: str) -> str:
    return f"newsletters/{edition_id}.md"


def free_page_path(page_id: str) -> str:
    return f"{page_id}.md"


def edition_url(site_url: str, edition_id: str) -> str:
    """The web page of a newsletter edition: what "read on the website" links to."""
    return absolute(site_url, edition_path(edition_id))
