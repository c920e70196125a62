"""Preview for editors: one build per save, only the touched pages, errors shown in the browser.

The records, templates and mkdocs.yml are watched (inotify where the system has it, else
polling, through watchdog, which MkDocs already needs). After a save, and a tenth of a second
without further changes, one rebuild runs:

1. :class:`website.preview.Incremental` reloads the records (only changed files are read);
   the saved courses' and SLEs' own pages are rendered, built and shown first;
2. it renders and writes the other pages and feeds whose inputs changed;
3. :class:`website.live.LiveSite` builds only the pages whose Markdown was written (and
   copies the other files written), with MkDocs' own functions and the configuration, files,
   nav and theme of the first build kept in memory (a changed mkdocs.yml builds everything);
4. the browsers showing a page that changed reload (MkDocs' live-reload server, answering
   each page's poll by its Referer), those showing a saved record's own page after step 1.

If the records have errors, nothing is rebuilt: every page is served with an overlay listing
the problems (file, line, field, how to fix), and it goes away with the save that fixes them.

``--engine zensical`` serves with ``zensical serve`` instead: the same generation on each
save, Zensical's own rebuild and reload; problems are printed in the terminal only.

The printable prospectus is not made (WeasyPrint takes seconds): prospectus.pdf in the preview
is a one-page stand-in that says so.
"""
from __future__ import annotations

import datetime as dt
import gc
import html
import logging
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Callable

import click

from records import Problems

from . import config as site_config
from .live import LiveSite
from .preview import Incremental
from .render import TEMPLATES

WORK = ".build"                  # the generated MkDocs project, inside the alliance's folder

_OVERLAY = """<div id="tsa-preview-problems" role="alertdialog" aria-modal="true" \
aria-labelledby="tsa-preview-title" style="position:fixed;inset:0;z-index:10000;overflow:auto;\
background:rgba(0,0,0,.72);font:16px/1.5 system-ui,sans-serif"><div style="max-width:60rem;\
margin:2rem auto;padding:1.5rem 2rem;background:#fff;color:#1a1a1a;border-left:.5rem solid #b00020">\
<h2 id="tsa-preview-title" style="margin-top:0;color:#b00020">{title}</h2><p>{lead}</p>\
<ul style="font-family:ui-monospace,monospace;font-size:15px">{items}</ul>\
<p>This page is the last good preview. The message goes away when you save the fix.</p>\
</div></div>"""


def overlay(problems: Problems) -> str:
    """The problems as an HTML overlay (every record value escaped)."""
    errors = problems.errors
    items = "".join(f"<li>{html.escape(str(p))}</li>" for p in errors)
    count = len(errors)
    title = f"{count} error{'' if count == 1 else 's'}: the preview is not up to date"
    return _OVERLAY.format(title=html.escape(title), items=items,
                           lead="Fix each problem below (file and line first), then save.")


def _watched(root: Path) -> list[Path]:
    return [root / "content", root / "courses", TEMPLATES, site_config.BASE_CONFIG]


class Preview:
    """One rebuild per batch of saves: generate what changed, then build only those pages."""

    def __init__(self, root: Path, folder: Path, site_dir: Path, today: dt.date | None,
                 serve_url: str):
        self.generator = Incremental(root, folder, today)
        self.site = LiveSite(folder / site_config.CONFIG, site_dir, serve_url)
        self.site_dir, self.serve_url = site_dir, serve_url
        self.problems: Problems | None = None       # errors shown in the browser
        self.builds = 0
        self._printed: set[str] = set()
        # the server's: reload the browsers showing these pages now (the saved records' own)
        self.publish: Callable[[set[str]], None] | None = None
        self.reload: set[str] | None = None      # after a rebuild: the pages built; None: all
        self._first_build = None    # the pages shown first: (their build, files, seconds)
        self._started = 0.0

    def rebuild(self) -> None:
        """Called by the server's build loop, once per batch of changes."""
        # The preview holds every record and every built page (millions of objects): a pass
        # of the cycle collector over them costs more than the rebuild of one page. None runs
        # during a rebuild; after a full build, what it made is frozen (never scanned again:
        # it lives until the next full build).
        enabled = gc.isenabled()
        gc.disable()
        self._started = time.perf_counter()
        try:
            full = self._rebuild()
        finally:
            if enabled:
                gc.enable()
        if full:                      # what the last full build froze may be garbage now
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def _print(self, problems: Problems) -> None:
        """Every error; a warning only the first time it is seen (thousands of the same
        warnings after every save would hide what the save changed)."""
        seen, lines = self._printed, [str(p) for p in problems]
        for problem, line in zip(problems, lines):
            if problem.is_error or line not in seen:
                click.echo(line)
        again = sum(1 for p, line in zip(problems, lines) if not p.is_error and line in seen)
        if again:
            click.echo(f"({again} warning{'' if again == 1 else 's'} as before)")
        self._printed = set(lines)

    def _rebuild(self) -> bool:
        self.reload, self._first_build = None, None
        # while problems are shown on every page, the fix reloads every browser
        shown_problems = self.problems is not None
        first = self._show_first if not shown_problems and self.publish else None
        update = self.generator.update(first)
        self._print(update.problems)
        if not update.ok:
            self.problems = update.problems
            click.echo(f"{len(update.problems.errors)} error(s): shown in the browser; "
                       "the preview keeps the last good pages")
            return False
        try:
            built = self.site.build(update.changed, update.removed)
        except Exception as err:              # MkDocs' own failure: show it, keep serving
            problems = Problems()
            problems.error("mkdocs", 0, "", str(err))
            self.problems = problems
            click.echo(f"MkDocs could not build the preview: {err}")
            return False
        self.problems = None
        self.builds += 1
        # the browsers to reload: those showing a page built again; all of them after a full
        # build, when a picture or style sheet changed, or when problems were shown
        self.reload = None if built.full or built.shown or shown_problems else built.urls
        seconds, pages, written, shown = update.seconds + built.seconds, built.pages, \
            update.written, ""
        if self._first_build is not None:
            first, first_written, after = self._first_build
            pages, written = pages + first.pages, written + first_written
            shown = f" (the saved page{'s' if first.pages > 1 else ''} shown after {after:.2f} s)"
        what = ("full MkDocs build" if built.full else
                f"{pages} page{'' if pages == 1 else 's'} built, "
                f"{built.copied} copied, {built.removed} removed")
        click.echo(f"Rebuilt in {seconds:.2f} s{shown}: "
                   f"{update.rendered} of {update.pages} pages rendered, {written} files "
                   f"written, {what}")
        return built.full

    def _show_first(self, written: set[str]) -> None:
        """The saved courses' and SLEs' own pages are written: build them and reload the
        browsers showing them, before the rest of the update (Incremental.update)."""
        try:
            built = self.site.build(written, set(), search=False)
        except Exception:       # the whole update's build tries again, and reports it
            return
        self._first_build = (built, len(written), time.perf_counter() - self._started)
        if not built.full and self.publish is not None:
            self.publish(built.urls)


CHANGES = {"created", "modified", "deleted", "moved", "closed"}   # not opened, read, attrib


def _server_class():
    import watchdog.events
    import watchdog.observers
    from mkdocs.livereload import LiveReloadServer

    class PreviewServer(LiveReloadServer):
        """MkDocs' live-reload server, watching with inotify (not a 0.5 s poll), adding the
        problems overlay to every page while the records have errors, and reloading only
        the browsers whose page changed: first those showing a saved course or SLE, as soon
        as its own page is built, then those showing a page the rest of the update built."""

        preview: Preview

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.observer = watchdog.observers.Observer()
            self.build_delay = 0.05       # a save's events come within milliseconds
            self._page_epochs: dict[str, int] = {}     # a page's path -> when it last changed
            self._all_epoch = 0                         # when every page last changed
            self._first: set[str] = set()     # pages shown first, while the rest is built

        def watch(self, path: str, func=None, *, recursive: bool = True) -> None:
            """Rebuild on changes only: inotify also reports files being opened and read,
            which every rebuild does."""
            server = self

            class Handler(watchdog.events.FileSystemEventHandler):
                def on_any_event(self, event):
                    if event.is_directory or event.event_type not in CHANGES:
                        return
                    with server._rebuild_cond:
                        server._want_rebuild = True
                        server._rebuild_cond.notify_all()

            self.observer.schedule(Handler(), path, recursive=recursive)
            self._watched_paths[path] = 1

        # --- which browsers reload ---------------------------------------------------------
        def build(self) -> None:
            """The build loop's builder: the preview's rebuild, then which pages changed."""
            # while the rest is built, the browsers reloaded first ask for their page and the
            # theme's files: threads waiting for the interpreter get it every half millisecond
            # rather than every five (the rebuild holds it otherwise)
            interval = sys.getswitchinterval()
            sys.setswitchinterval(min(interval, 0.0005))
            try:
                self.preview.rebuild()
            finally:
                sys.setswitchinterval(interval)
                with self._epoch_cond:
                    self._first = set()
            with self._epoch_cond:    # the loop then makes this build's epoch visible
                if self.preview.reload is None:
                    self._all_epoch = self._wanted_epoch
                else:
                    for url in self.preview.reload:
                        self._page_epochs[_page_path(url)] = self._wanted_epoch

        def publish(self, urls: set[str]) -> None:
            """The saved records' own pages are built: the browsers showing them reload now,
            and those pages (with the theme's files) are served while the rest is built."""
            with self._epoch_cond:
                epoch = self._wanted_epoch - 1      # before the whole build's own epoch
                self._first = {_page_path(url) for url in urls}
                for path in self._first:
                    self._page_epochs[path] = epoch
                self._epoch_cond.notify_all()

        def _changed(self, page: str | None) -> int:
            if page is None:                 # no Referer: reload on every build, as MkDocs
                return self._visible_epoch
            return max(self._all_epoch, self._page_epochs.get(page, 0))

        def _serve_request(self, environ, start_response):
            path = environ["PATH_INFO"].encode("latin-1").decode("utf-8", "ignore")
            poll = re.fullmatch(r"/livereload/([0-9]+)/[0-9]+", path)
            if poll:      # MkDocs' long poll, answered when the asking page changed
                epoch, page = int(poll[1]), _referring_page(environ.get("HTTP_REFERER"))
                start_response("200 OK", [("Content-Type", "text/plain")])
                with self._epoch_cond:
                    if self._changed(page) <= epoch:
                        self._log_poll_request(environ.get("HTTP_REFERER"), request_id=path)
                        self._epoch_cond.wait_for(lambda: self._changed(page) > epoch,
                                                  timeout=self.poll_response_timeout)
                    return [b"%d" % max(self._changed(page), epoch)]
            normal = posixpath.normpath(path)
            if normal.startswith("/assets/"):
                return self._asset(normal, environ, start_response)
            page = _page_path(path)
            with self._epoch_cond:   # during a build, until its page is shown first or it ends
                self._epoch_cond.wait_for(lambda: self._visible_epoch == self._wanted_epoch
                                          or page in self._first)
            found = self._shown_first(page)
            if found is None:
                return super()._serve_request(environ, start_response)
            file_path, epoch = found
            return self._send(file_path, start_response, epoch=epoch)

        def _asset(self, path: str, environ, start_response):
            """The theme's files, cached by the browser (MkDocs' server sends no cache
            headers, so each reload fetched them all again): Material's carry a hash of their
            content in their name and are kept; the others are checked by their ETag."""
            with self._epoch_cond:
                if not self._first:         # a build may be writing them: wait, as MkDocs does
                    self._epoch_cond.wait_for(lambda: self._visible_epoch == self._wanted_epoch)
            file_path = os.path.join(self.root, path.lstrip("/"))
            try:
                st = os.stat(file_path)
            except OSError:
                return None                                 # MkDocs' 404
            tag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
            kept = _HASHED.search(path) is not None
            headers = [("ETag", tag),
                       ("Cache-Control", "max-age=31536000, immutable" if kept else "no-cache")]
            if environ.get("HTTP_IF_NONE_MATCH") == tag:
                start_response("304 Not Modified", headers)
                return []
            return self._send(file_path, start_response, headers)

        def _send(self, file_path: str, start_response, headers=(), epoch: int | None = None):
            """A file, whole; a page with the live-reload script of ``epoch``."""
            with open(file_path, "rb") as file:
                content = file.read()
            if epoch is not None and file_path.endswith(".html"):
                content = self._inject_js_into_html(content, epoch)
            start_response("200 OK", [("Content-Type", self._guess_type(file_path)),
                                      ("Content-Length", str(len(content))), *headers])
            return [content]

        def _shown_first(self, page: str) -> tuple[str, int] | None:
            """(file, epoch) for a page shown first, asked for while the rest of the build
            runs (it does not change meanwhile). Any other page waits for the build, as in
            MkDocs."""
            with self._epoch_cond:
                if page not in self._first:
                    return None
                epoch = self._page_epochs.get(page, self._visible_epoch)
            file_path = os.path.join(self.root, posixpath.normpath(page).lstrip("/"))
            return (file_path, epoch) if os.path.isfile(file_path) else None

        def _inject_js_into_html(self, content, epoch):
            content = super()._inject_js_into_html(content, epoch)
            problems = self.preview.problems
            if problems:
                marker = content.rfind(b"</body>")
                marker = len(content) if marker < 0 else marker
                content = content[:marker] + overlay(problems).encode("utf-8") + content[marker:]
            return content

    return PreviewServer


# Material's own files: main.57a0d79d.min.css, bundle.a5f9d56c.min.js (the hash of the content)
_HASHED = re.compile(r"\.[0-9a-f]{8}\.min\.(css|js)$")


def _page_path(url: str) -> str:
    """A page's address as one key: '/courses/x.html' from 'courses/x.html' (MkDocs' url),
    '/courses/x.html' (a request) or '/' ('/index.html'), %-escapes undone."""
    path = "/" + urllib.parse.unquote(url).lstrip("/")
    return path + "index.html" if path.endswith("/") else path


def _referring_page(referer: str | None) -> str | None:
    """The page a live-reload poll comes from (its Referer), None if not said."""
    if not referer:
        return None
    return _page_path(urllib.parse.urlsplit(referer).path)


def serve(root: Path, *, today: dt.date | None = None, host: str = "127.0.0.1",
          port: int = 8000, engine: str = "mkdocs") -> None:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    root = Path(root).resolve()
    folder = root / WORK
    if engine == "zensical":
        return _serve_zensical(root, folder, today, host, port)
    from mkdocs.livereload import _serve_url

    site_dir = Path(tempfile.mkdtemp(prefix="tsa-preview-"))
    preview = Preview(root, folder, site_dir, today, _serve_url(host, port, "/"))
    _log_to_terminal()
    try:
        server = _server_class()(builder=lambda: server.build(), host=host, port=port,
                                 root=str(site_dir))
        server.preview, preview.publish = preview, server.publish
        preview.rebuild()
        if preview.builds == 0 and preview.problems is not None and not site_dir.joinpath(
                "index.html").exists():
            raise SystemExit(1)             # nothing good to show yet: fix the records first
        for path in _watched(root):
            if path.exists():
                server.watch(str(path))
        click.echo(f"Preview: http://{host}:{port}/ (Ctrl+C to stop). Edit content/ or courses/ "
                   "and the page reloads.")
        try:
            server.serve()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)


def _log_to_terminal() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logging.getLogger("mkdocs.commands.build").setLevel(logging.ERROR)   # the dirty-build note
    # MkDocs' server logs every answer but a 200 as a warning: a theme file the browser
    # already has (304) is not one
    logging.getLogger("mkdocs.livereload").addFilter(
        lambda record: not record.getMessage().endswith(" code 304"))


def _serve_zensical(root: Path, folder: Path, today: dt.date | None, host: str, port: int) -> None:
    """Zensical serves and reloads; this process regenerates the Markdown on each save."""
    import watchdog.events
    import watchdog.observers

    generator = Incremental(root, folder, today, engine="zensical")
    lock = threading.Lock()

    def regenerate() -> bool:
        with lock:
            update = generator.update()
        for problem in update.problems:
            click.echo(str(problem))
        if not update.ok:
            click.echo(f"{len(update.problems.errors)} error(s): the preview keeps the last good pages")
        return update.ok

    if not regenerate():
        raise SystemExit(1)
    timer: list[threading.Timer] = []

    class Handler(watchdog.events.FileSystemEventHandler):
        def on_any_event(self, event):
            if event.is_directory:
                return
            for old in timer:
                old.cancel()
            timer[:] = [threading.Timer(0.1, regenerate)]
            timer[0].start()

    observer = watchdog.observers.Observer()
    for path in _watched(root):
        if path.exists():
            observer.schedule(Handler(), str(path), recursive=path.is_dir())
    observer.start()
    from .engine import zensical_command
    try:
        subprocess.run([*zensical_command(), "serve", "--config-file",
                        str(folder / site_config.CONFIG), "--dev-addr", f"{host}:{port}"],
                       check=False, cwd=folder)
    except KeyboardInterrupt:
        pass
    finally:
        observer.stop()
        observer.join()
