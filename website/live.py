"""The preview's MkDocs stage, kept in memory between saves: only the touched pages are built.

MkDocs' own dirty build still walks every page, the files, the nav and the theme on each save
(seconds at thousands of courses). Here the first build runs MkDocs' own steps
(``mkdocs.commands.build``: files, nav, populate, build each page, the search plugin's index)
and keeps what they made: the loaded configuration, the ``Files``, the ``Navigation`` with its
pages, the theme's Jinja environment and the search plugin's entries. After a save,
:class:`website.preview.Incremental` says which generated files it wrote and removed; only
those are handled, with MkDocs' own functions (``_populate_page``, ``_build_page``,
``File.copy_file``):

- a written Markdown page is read, rendered and built again; every other page's HTML stays;
- a new file joins ``Files`` (its inclusion worked out from the config as MkDocs does); a
  removed one leaves it, and its HTML goes; the sitemap is built again when pages came or went;
- any other written file (a calendar, the finder's data, an image) is copied;
- the search index is written again from the kept entries, those of the rebuilt pages replaced.

The nav lists sections only, each with its title, and lives in the generated mkdocs.yml: a
change there (a free page added to a section, a new title) changes the configuration, and
that rebuilds everything, as a start does. This is the preview's process calling MkDocs'
Python API; the site itself is still a plain MkDocs project (no plugin), which Zensical builds.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("mkdocs.commands.build")


@dataclass
class Outcome:
    """What one build did."""

    full: bool
    pages: int = 0          # pages built
    copied: int = 0         # other files copied
    removed: int = 0
    seconds: float = 0.0
    urls: set[str] = field(default_factory=set)     # of the pages built or removed
    shown: bool = False     # a file pages show (a picture, a style sheet) was copied or removed


class LiveSite:
    """One MkDocs site in memory: a full build first, then only the files a save touched."""

    def __init__(self, config_file: Path, site_dir: Path, serve_url: str):
        self.config_file, self.site_dir, self.serve_url = Path(config_file), Path(site_dir), serve_url
        self._config_text: str | None = None
        self._state: dict | None = None          # config, files, nav, env, doc_files

    def build(self, written: set[str] | None = None, removed: set[str] = frozenset(), *,
              search: bool = True) -> Outcome:
        """Build after an update: ``written`` and ``removed`` are paths inside docs/ (None:
        everything may have changed). A changed configuration builds everything. ``search``
        False leaves the search index to the next build (the preview builds the page being
        edited first, then the rest)."""
        started = time.perf_counter()
        text = self.config_file.read_text(encoding="utf-8")
        try:
            if self._state is None or written is None or text != self._config_text:
                outcome = self._full(text)
            else:
                outcome = self._partial(written, removed, search)
        except BaseException:
            self._state = None                   # half built: the next save builds everything
            raise
        outcome.seconds = time.perf_counter() - started
        return outcome

    # --- everything ------------------------------------------------------------------------
    def _full(self, text: str) -> Outcome:
        """MkDocs' ``build()``, step by step, keeping what each step made."""
        from mkdocs.commands.build import _build_extra_template, _build_theme_template, _populate_page
        from mkdocs.config import load_config
        from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
        from mkdocs.structure.nav import get_navigation
        from mkdocs.structure.pages import Page
        from mkdocs.utils import clean_directory

        self._state = None
        config = load_config(str(self.config_file), site_dir=str(self.site_dir))
        config.site_url = self.serve_url
        config.plugins.on_startup(command="serve", dirty=False)
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
        clean_directory(config.site_dir)
        files = get_files(config)
        env = config.theme.get_env()
        files.add_files_from_theme(env, config)
        files = config.plugins.on_files(files, config=config)
        set_exclusions(files, config)
        nav = get_navigation(files, config)
        nav = config.plugins.on_nav(nav, config=config, files=files)
        inclusion = InclusionLevel.is_in_serve
        for file in files.documentation_pages(inclusion=inclusion):
            if file.page is None:
                Page(None, file, config)
            _populate_page(file.page, config, files)
        env = config.plugins.on_env(env, config=config, files=files)
        files.copy_static_files(inclusion=inclusion)
        for template in config.theme.static_templates:
            _build_theme_template(template, env, files, config, nav)
        for template in config.extra_templates:
            _build_extra_template(template, files, config, nav)
        self._state = dict(config=config, files=files, nav=nav, env=env)
        doc_files = self._doc_files()
        for file in doc_files:
            self._build_page(file)
        self._validate(doc_files)
        self._release(doc_files)
        self._post_build()                    # the search index's entries encoded, and kept
        self._config_text = text
        return Outcome(full=True, pages=len(doc_files))

    # --- what a save touched ---------------------------------------------------------------
    def _partial(self, written: set[str], removed: set[str], search: bool) -> Outcome:
        from mkdocs.commands.build import _build_theme_template, _populate_page
        from mkdocs.structure.files import File, InclusionLevel, set_exclusions
        from mkdocs.structure.pages import Page

        state = self._state
        config, files = state["config"], state["files"]
        outcome = Outcome(full=False)
        gone_urls = []
        for rel in sorted(removed):
            file = files.get_file_from_path(rel)
            if file is None:
                continue
            files.remove(file)
            if file.is_documentation_page():
                gone_urls.append(file.url)
            Path(file.abs_dest_path).unlink(missing_ok=True)
            outcome.removed += 1
            outcome.shown = outcome.shown or _shown_in_pages(file.dest_uri)
        added, pages = [], []
        for rel in sorted(written):
            file = files.get_file_from_path(rel)
            if file is None:
                file = File(rel, config.docs_dir, config.site_dir, config.use_directory_urls)
                files.append(file)
                added.append(file)
            if file.is_documentation_page():
                pages.append(file)
        set_exclusions(added, config)             # only the new files: the others are known
        self._forget(gone_urls + [file.url for file in pages])
        if added or gone_urls:
            state.pop("doc_files", None)
        doc_files = self._doc_files()
        shown = set(doc_files)
        for rel in sorted(written):                # copies first: a page may show an image
            file = files.get_file_from_path(rel)
            if not file.is_documentation_page() and InclusionLevel.is_in_serve(file.inclusion):
                file.copy_file()
                outcome.copied += 1
                outcome.shown = outcome.shown or _shown_in_pages(file.dest_uri)
        pages = [file for file in pages if file in shown]
        for file in pages:
            if file.page is None:
                Page(None, file, config)
            _populate_page(file.page, config, files)
        for file in pages:
            self._build_page(file)
            outcome.pages += 1
        if added or gone_urls:                     # the sitemap lists every page
            for template in config.theme.static_templates:
                if template.startswith("sitemap"):
                    _build_theme_template(template, state["env"], files, config, state["nav"])
        self._validate(pages)
        self._release(pages)
        outcome.urls = {file.url for file in pages} | set(gone_urls)
        if search:
            self._post_build()                # the search index, from kept entries
        return outcome

    # --- the search index ---------------------------------------------------------------------
    def _post_build(self) -> None:
        """The plugins' ``on_post_build``, the search plugin's made cheaper: it encodes its
        whole index as JSON on every build (a tenth of a second at 5,000 courses), while
        after a save only the rebuilt pages' entries are new. Here each entry is encoded
        once and the file is joined from the parts: the same bytes (tests compare them)."""
        config = self._state["config"]
        search = self._search_plugin()
        for method in config.plugins.events["post_build"]:
            if search is not None and getattr(method, "__self__", None) is search:
                self._write_search_index(search, config)
            else:
                method(config=config)

    def _search_plugin(self):
        plugins = self._state["config"].plugins
        plugin = plugins.get("material/search") or plugins.get("search")
        # only Material's, whose index format this writes, and only as the plugin itself
        # would write it (enabled, no previous index merged in: never in this preview)
        if (type(plugin).__module__ == "material.plugins.search.plugin"
                and plugin.config.enabled and not getattr(plugin, "search_index_prev", None)):
            return plugin
        return None

    def _write_search_index(self, plugin, config) -> None:
        import json
        import os
        from mkdocs import utils

        index, encoded = plugin.search_index, self._state.setdefault("entries_json", {})
        settings = {key: index.config[key] for key in ["lang", "separator", "pipeline", "fields"]}
        parts, kept = [], {}
        for entry in index.entries:
            found = encoded.get(id(entry))
            if found is None or found[0] is not entry:      # new, or an id used again
                found = (entry, json.dumps(entry, separators=(",", ":"), default=str))
            kept[id(entry)] = found
            parts.append(found[1])
        self._state["entries_json"] = kept
        data = ('{"config":' + json.dumps(settings, separators=(",", ":"), default=str)
                + ',"docs":[' + ",".join(parts) + "]}")
        # whole or not at all: a browser may fetch it while the preview writes it
        path = os.path.join(config.site_dir, "search", "search_index.json")
        utils.write_file(data.encode("utf-8"), path + ".part")
        os.replace(path + ".part", path)

    # --- helpers -----------------------------------------------------------------------------
    def _doc_files(self) -> list:
        from mkdocs.structure.files import InclusionLevel
        state = self._state
        if "doc_files" not in state:
            state["doc_files"] = state["files"].documentation_pages(
                inclusion=InclusionLevel.is_in_serve)
        return state["doc_files"]

    def _build_page(self, file) -> None:
        from mkdocs.commands.build import _build_page
        state = self._state
        _build_page(file.page, state["config"], self._doc_files(), state["nav"], state["env"],
                    excluded=file.inclusion.is_excluded())

    def _validate(self, doc_files) -> None:
        state = self._state
        level = state["config"].validation.links.anchors
        for file in doc_files:
            file.page.validate_anchor_links(files=state["files"], log_level=level)

    @staticmethod
    def _release(doc_files) -> None:
        """A built page's HTML is not needed again (its title, links and anchors are kept;
        a save reads and renders the page afresh): thousands of them held hundreds of MB."""
        for file in doc_files:
            file.page.content = None

    def _forget(self, urls: list[str]) -> None:
        """Drop the search entries of pages about to be built again (or gone): building a page
        adds its entries again (the search plugin's ``on_page_context``)."""
        index = self._search_index()
        if index is None or not urls:
            return
        pages = set(urls)
        index.entries = [entry for entry in index.entries
                         if entry["location"].split("#", 1)[0] not in pages]

    def _search_index(self):
        plugins = self._state["config"].plugins
        for name in ("material/search", "search"):
            plugin = plugins.get(name)
            if plugin is not None and hasattr(plugin, "search_index"):
                return plugin.search_index
        return None


# what a page fetches on demand, not to show itself: a change to one reloads no browser
_NOT_SHOWN = (".ics", ".json", ".pdf", ".xml", ".txt")


def _shown_in_pages(dest: str) -> bool:
    """Whether a copied file may change how pages look (a picture, a style sheet, a script)."""
    return not dest.lower().endswith(_NOT_SHOWN)
