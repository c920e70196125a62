"""Preview for editors: one build per save, only the touched pages, errors shown in the browser.

The records, templates and mkdocs.yml are watched (inotify where the system has it, else
polling, through watchdog, which MkDocs already needs). After a save, and a tenth of a second
without further changes, one rebuild runs:

1. :class:`website.preview.Incremental` reloads the records (only changed files are read),
   and renders and writes only the pages and feeds whose inputs changed;
2. :class:`website.live.LiveSite` builds only the pages whose Markdown was written (and
   copies the other files written), with MkDocs' own functions and the configuration, files,
   nav and theme of the first build kept in memory (a changed mkdocs.yml builds everything);
3. the browsers showing the site reload (MkDocs' own live-reload server).

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
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

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

    def rebuild(self) -> None:
        """Called by the server's build loop, once per batch of changes."""
        # The preview holds every record and every built page (millions of objects): a pass
        # of the cycle collector over them costs more than the rebuild of one page. None runs
        # during a rebuild; after a full build, what it made is frozen (never scanned again:
        # it lives until the next full build).
        enabled = gc.isenabled()
        gc.disable()
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
        update = self.generator.update()
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
        what = ("full MkDocs build" if built.full else
                f"{built.pages} page{'' if built.pages == 1 else 's'} built, "
                f"{built.copied} copied, {built.removed} removed")
        click.echo(f"Rebuilt in {update.seconds + built.seconds:.2f} s: "
                   f"{update.rendered} of {update.pages} pages rendered, {update.written} files "
                   f"written, {what}")
        return built.full


CHANGES = {"created", "modified", "deleted", "moved", "closed"}   # not opened, read, attrib


def _server_class():
    import watchdog.events
    import watchdog.observers
    from mkdocs.livereload import LiveReloadServer

    class PreviewServer(LiveReloadServer):
        """MkDocs' live-reload server, watching with inotify (not a 0.5 s poll) and adding the
        problems overlay to every page while the records have errors."""

        preview: Preview

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.observer = watchdog.observers.Observer()
            self.build_delay = 0.1

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

        def _inject_js_into_html(self, content, epoch):
            content = super()._inject_js_into_html(content, epoch)
            problems = self.preview.problems
            if problems:
                marker = content.rfind(b"</body>")
                marker = len(content) if marker < 0 else marker
                content = content[:marker] + overlay(problems).encode("utf-8") + content[marker:]
            return content

    return PreviewServer


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
        server = _server_class()(builder=preview.rebuild, host=host, port=port, root=str(site_dir))
        server.preview = preview
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
