"""The website's stages, end to end: records → pages → Markdown → MkDocs → published site.

The generated docs folder also holds the calendar feeds (calendar.py) and a stand-in for the
prospectus; the real PDF (prospectus.py, WeasyPrint) is made in a forked process while MkDocs
builds, and written into the built site before it is published.

    result = build(root, out, today=..., strict=...)     # what `python build.py build` does

Each stage is a function of its own (and timed), so the benchmark and the preview server can
run them separately. Nothing here prints: the command line reports ``Result.problems``.
"""
from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import records
from records import Problems
from records.tree import Records

from . import calendar as feeds
from . import config as site_config
from . import identity, opendata
from . import pages as site_pages
from .prospectus import placeholder_pdf, prospectus_pdf
from .publish import NotASiteFolder, publish, refusal
from .render import Renderer


def today_for(alliance) -> dt.date:
    """Today's date where the alliance is (its timezone), for upcoming vs past."""
    zone = ZoneInfo(alliance.timezone if alliance is not None else "Europe/London")
    return dt.datetime.now(zone).date()


@dataclass
class Result:
    problems: Problems = field(default_factory=Problems)
    pages: int = 0
    published: bool = False
    timings: dict[str, float] = field(default_factory=dict)   # stage -> seconds

    @property
    def ok(self) -> bool:
        return not self.problems.errors


# --- writing the docs folder ------------------------------------------------------------------

def _write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_files(folder: Path, texts: dict[str, str | bytes], copies: dict[str, Path]) -> int:
    """Make ``folder`` hold exactly these files: ``texts`` (path → text or bytes) and ``copies``
    (path → a file to copy). Unchanged files are not rewritten (so the preview server reloads
    only what changed); files no longer wanted are removed. Returns the number written."""
    folder.mkdir(parents=True, exist_ok=True)
    base = str(folder)
    existing: set[str] = set()
    for dirpath, _dirs, files in os.walk(base):
        rel = os.path.relpath(dirpath, base).replace(os.sep, "/")
        existing.update(name if rel == "." else f"{rel}/{name}" for name in files)
    made: set[str] = {""}
    written = 0
    for rel, text in texts.items():
        target = os.path.join(base, rel)
        data = text.encode("utf-8") if isinstance(text, str) else text
        if rel in existing:
            with open(target, "rb") as handle:
                if handle.read() == data:
                    continue
        parent = os.path.dirname(rel)
        if parent not in made:
            os.makedirs(os.path.join(base, parent), exist_ok=True)
            made.add(parent)
        _write(target, data)
        written += 1
    for rel, source in copies.items():
        target = os.path.join(base, rel)
        data = source.read_bytes()
        if rel in existing:
            with open(target, "rb") as handle:
                if handle.read() == data:
                    continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        _write(target, data)
        written += 1
    for rel in existing - texts.keys() - copies.keys():
        os.unlink(os.path.join(base, rel))
    for dirpath, _dirs, _files in os.walk(base, topdown=False):
        if dirpath != base and not os.listdir(dirpath):
            os.rmdir(dirpath)
    return written


def scratch_folder(prefix: str = "tsa-site-") -> Path:
    """A temporary folder for the generated project: in memory (/dev/shm) where there is one,
    since creating thousands of small files on disk costs far more than writing them."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        try:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=shm))
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=prefix))


# --- the stages ---------------------------------------------------------------------------

PARALLEL_FROM = 1500      # pages; below this, forking workers costs more than it saves

_JOB: tuple | None = None    # (renderer, pages) for forked workers, inherited, not pickled


def _render(renderer: Renderer, pages: list[site_pages.Page]) -> dict[str, str]:
    texts = {}
    for page in pages:
        context = dict(page.context)
        context["page"] = page
        context["root"] = page.root
        texts[page.path] = renderer.render(page.template, context)
    return texts


def _render_share(index: int, workers: int) -> tuple[dict[str, str], list]:
    renderer, pages = _JOB
    return _render(renderer, pages[index::workers]), renderer.problems.items


def _workers(pages: int) -> int:
    """How many processes to render with: all CPUs (up to 4) for a big site, when forking is
    safe (a single-threaded process on a system that forks). TSA_RENDER_WORKERS overrides."""
    import multiprocessing
    import threading
    forced = os.environ.get("TSA_RENDER_WORKERS", "").strip()
    if forced.isdigit() and int(forced) >= 1:
        return int(forced) if "fork" in multiprocessing.get_all_start_methods() else 1
    if pages < PARALLEL_FROM or threading.active_count() > 1:
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def render_site(recs: Records, today: dt.date, renderer: Renderer | None = None,
                workers: int | None = None) -> tuple[site_pages.Site, dict[str, str]]:
    """Every page's Markdown, keyed by its path in the docs folder (in page order)."""
    global _JOB
    site = site_pages.site(recs, today)
    renderer = renderer or Renderer()
    renderer.bind(recs, today, site.offer, course_urls(recs),
                  docs_paths=frozenset([*(p.path for p in site.pages), *(a.path for a in site.assets)]),
                  directory_urls=site_config.directory_urls(site_config.base_config()))
    workers = _workers(len(site.pages)) if workers is None else workers
    if workers <= 1:
        texts = _render(renderer, site.pages)
        site.problems.extend(renderer.problems.items)
        return site, texts
    import multiprocessing
    _JOB = (renderer, site.pages)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            shares = pool.starmap(_render_share, [(i, workers) for i in range(workers)])
    finally:
        _JOB = None
    texts = {}
    for share, problems in shares:
        texts.update(share)
        site.problems.extend(problems)
    return site, {page.path: texts[page.path] for page in site.pages}


PROSPECTUS = str(site_pages.Paths.prospectus)      # prospectus.pdf, at the site's root
PREVIEW_PROSPECTUS = ["The printable prospectus is made by the full build:",
                      "    python build.py",
                      "The preview skips it to stay quick."]


def course_urls(recs: Records, base: dict | None = None) -> Callable[[str], str]:
    """course id -> the absolute address of its page, as MkDocs will publish it (name.html or
    name/, from mkdocs.yml's use_directory_urls): what the feeds link to."""
    directory = site_config.directory_urls(base if base is not None else site_config.base_config())
    site_url = recs.alliance.site_url if recs.alliance.site_url.endswith("/") else \
        recs.alliance.site_url + "/"

    @functools.lru_cache(maxsize=None)      # asked for each course by every feed and list
    def url(course_id: str) -> str:
        return urljoin(site_url, site_config.page_url(str(site_pages.Paths.course(course_id)),
                                                     directory))
    return url


def generate(recs: Records, today: dt.date, folder: Path, *,
             prospectus: bytes | None = None, engine: str = "mkdocs") -> tuple[site_pages.Site, Path]:
    """Write the MkDocs project (docs/ and mkdocs.yml) for ``recs`` into ``folder``: the pages,
    the calendar feeds and ``prospectus`` as prospectus.pdf (by default a one-page stand-in
    that says the full build makes it; :func:`build` puts the real one in the site)."""
    site, texts = render_site(recs, today)
    base = site_config.base_config()
    files: dict[str, str | bytes] = dict(texts)
    files.update(feeds.calendars(recs, today, course_url=course_urls(recs, base)))
    files[opendata.COURSES_JSON] = opendata.dump(
        opendata.courses_json(recs, site.offer, course_urls(recs, base)))
    files[opendata.COURSES_SCHEMA] = opendata.schema_text()
    css = identity.identity_css(recs.alliance)
    if css:
        files[identity.IDENTITY_CSS] = css
    files[PROSPECTUS] = prospectus if prospectus is not None else placeholder_pdf(PREVIEW_PROSPECTUS)
    folder.mkdir(parents=True, exist_ok=True)
    write_files(folder / site_config.DOCS, files, {a.path: a.source for a in site.assets})
    cfg = site_config.generated_config(recs, site.nav, site.not_in_nav, today, base=base,
                                       engine=engine)
    if engine == "zensical":
        site_config.zensical_overrides(folder, base)
    return site, site_config.write_config(folder, cfg)


# --- the prospectus, made beside the MkDocs build ------------------------------------------

_PDF_JOB: tuple | None = None     # (records, today) for the forked process, inherited


def _pdf_child(conn) -> None:
    recs, today = _PDF_JOB
    try:
        conn.send((True, prospectus_pdf(recs, today)))
    except BaseException as err:          # reported by the parent, which decides
        conn.send((False, f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


class ProspectusFailed(Exception):
    """The prospectus could not be made (the message says why)."""


class ProspectusJob:
    """The prospectus PDF (1-3 s of WeasyPrint) made while MkDocs builds: in a forked process
    where forking is safe (a single-threaded process on a system that forks), else in this
    process when :meth:`result` is called. Either way the bytes are the same. :meth:`close`
    stops an unfinished child (a build that failed does not wait for its PDF)."""

    def __init__(self, recs: Records, today: dt.date):
        global _PDF_JOB
        import multiprocessing
        import threading
        self._recs, self._today = recs, today
        self._process = self._conn = None
        if ("fork" not in multiprocessing.get_all_start_methods()
                or threading.active_count() > 1 or os.environ.get("TSA_PROSPECTUS_INLINE") == "1"):
            return
        context = multiprocessing.get_context("fork")
        _PDF_JOB = (recs, today)
        try:
            ours, theirs = context.Pipe(duplex=False)
            process = context.Process(target=_pdf_child, args=(theirs,), daemon=True,
                                      name="prospectus")
            try:
                process.start()
            finally:
                theirs.close()
        except OSError:                          # no fork today: make it here instead
            return
        finally:
            _PDF_JOB = None
        self._process, self._conn = process, ours
        self._recs = None                        # the child has its own copy

    def result(self) -> bytes:
        """The PDF's bytes; :class:`ProspectusFailed` says why there are none."""
        if self._process is None:
            try:
                return prospectus_pdf(self._recs, self._today)
            except Exception as err:              # WeasyPrint's errors have no common base
                raise ProspectusFailed(f"{type(err).__name__}: {err}") from err
        try:
            try:
                ok, value = self._conn.recv()
            except EOFError:
                raise ProspectusFailed(f"the process making it stopped "
                                       f"(exit code {self._process.exitcode})") from None
            if not ok:
                raise ProspectusFailed(value)
            return value
        finally:
            self.close()

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive() and self._process.exitcode is None:
                self._process.join(timeout=0.05)
                if self._process.is_alive():
                    self._process.terminate()
            self._process.join()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


_DOC_PATH = re.compile(r"'([^']+\.md)'")


def mkdocs_problems(messages: list[str], sources: dict[str, str]) -> Problems:
    """MkDocs' warnings as problems, pointed at the record file behind the page if known
    (``sources``: page path → record file)."""
    problems = Problems()
    for message in messages:
        message = " ".join(message.split())
        match = _DOC_PATH.search(message)
        path = sources.get(match.group(1)) if match else None
        problems.warning(path or "mkdocs", 0, "", message)
    return problems


def build(root: Path, out: Path, *, today: dt.date | None = None, strict: bool = False,
          work: Path | None = None, engine: str = "mkdocs") -> Result:
    """Validate, generate and build; publish into ``out`` only if there is no error.

    ``work`` keeps the generated MkDocs project there; by default it goes in a temporary
    folder that is removed afterwards. ``engine``: "mkdocs" or "zensical" (engine.py).
    """
    from . import engine as engines

    result = Result()
    started = time.perf_counter()
    refused = refusal(out)          # before any work: a build would replace the whole folder
    if refused is not None:
        result.problems.error(str(out), 0, "", refused)
        return result
    recs, problems = records.load(root, strict=strict)
    result.timings["load"] = time.perf_counter() - started
    result.problems = problems
    if problems.errors:
        return result
    today = today or today_for(recs.alliance)

    temporary = work is None
    folder = scratch_folder() if temporary else Path(work)
    pdf = ProspectusJob(recs, today)
    try:
        mark = time.perf_counter()
        site, config_file = generate(recs, today, folder, engine=engine)
        result.problems.extend((site.problems.strict() if strict else site.problems).items)
        result.pages = len(site.pages)
        sources = {page.path: page.source for page in site.pages}
        del site, recs        # MkDocs needs the memory more than we do from here on
        result.timings["generate"] = time.perf_counter() - mark
        if result.problems.errors:
            return result

        def build_into(site_dir: Path) -> None:
            mark = time.perf_counter()
            try:
                messages = engines.build(config_file, site_dir, engine)
            finally:
                result.timings["mkdocs"] = time.perf_counter() - mark
            found = mkdocs_problems(messages, sources)
            result.problems.extend((found.strict() if strict else found).items)
            if result.problems.errors:
                raise _Refused()
            mark = time.perf_counter()
            try:
                data = pdf.result()
            except ProspectusFailed as err:
                result.problems.error(PROSPECTUS, 0, "", f"could not make the prospectus: {err}")
                raise _Refused() from err
            finally:
                result.timings["prospectus wait"] = time.perf_counter() - mark
            _write(str(site_dir / PROSPECTUS), data)
            if not temporary:                     # keep the kept project whole
                _write(str(folder / site_config.DOCS / PROSPECTUS), data)

        try:
            publish(out, build_into)
            result.published = True
        except _Refused:
            pass
        except NotASiteFolder as err:
            result.problems.error(str(out), 0, "", str(err))
        except engines.MkDocsFailed as err:
            result.problems.error("mkdocs", 0, "", str(err))
        except OSError as err:
            result.problems.error(str(out), 0, "", f"cannot publish the site here: {err}")
    finally:
        pdf.close()
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)
    result.timings["total"] = time.perf_counter() - started
    return result


class _Refused(Exception):
    """The build found errors: do not publish."""
