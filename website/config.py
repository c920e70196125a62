"""The generated mkdocs.yml: the repository's theme configuration plus what the records say.

The top-level ``mkdocs.yml`` is product code (theme, palette, features, plugins, Markdown
extensions). The generated one, written beside the generated docs folder, copies it and fills
in the alliance's name, address and copyright, the docs folder, a nav of sections only and
``not_in_nav`` for the record pages, and makes ``theme.custom_dir`` absolute. The folder it
lands in is therefore a plain MkDocs project: ``mkdocs build -f <folder>/mkdocs.yml`` (or
Zensical) builds it without this code.
"""
from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import yaml

from records import urls
from records.tree import Records

from . import identity

REPO = Path(__file__).resolve().parent.parent
BASE_CONFIG = REPO / "mkdocs.yml"
DOCS = "docs"                    # the generated Markdown, beside the generated mkdocs.yml
CONFIG = "mkdocs.yml"


def base_config(path: Path = BASE_CONFIG) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        config = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(config, dict):
        raise ValueError(f"{path}: should be a YAML mapping of MkDocs settings")
    return config


def directory_urls(config: dict[str, Any]) -> bool:
    """Whether pages are published as courses/x/ rather than courses/x.html: never, whatever
    mkdocs.yml says (records/urls.py is the one address scheme, which the mailer reads too)."""
    return urls.DIRECTORY_URLS


def page_url(docs_path: str, directory_urls: bool = urls.DIRECTORY_URLS) -> str:
    """Where MkDocs puts the page of ``docs_path``: records.urls.page_url (kept here for the
    website's callers)."""
    return urls.page_url(docs_path, directory_urls)


ZENSICAL_THEME = "zensical-overrides"      # beside the generated mkdocs.yml, for Zensical only
# Copies of Material's own partials, fixed for Material (search: a named search box; header and
# nav: the alliance's name not escaped twice). Zensical's partials differ (its search is a
# dialog opened from a button in its own header), so it keeps its own.
MATERIAL_ONLY = ["partials/search.html", "partials/header.html", "partials/nav.html"]


def generated_config(records: Records, nav: list, not_in_nav: list[str], today: dt.date,
                     base: dict[str, Any] | None = None, base_path: Path = BASE_CONFIG,
                     engine: str = "mkdocs") -> dict:
    """The MkDocs configuration for ``records``: the base config with the records' values.

    For Zensical: its "classic" look (the "modern" one fails colour contrast with our
    palette) and the overrides without those written for Material's own partials (see
    :func:`zensical_overrides`)."""
    config = dict(base if base is not None else base_config(base_path))
    alliance = records.alliance
    # MkDocs' templates do not escape: Material inserts site_name, site_description and the
    # copyright as HTML (in <title>, the header, meta tags), so they are given as HTML, escaped
    # once here. The overrides turn HTML back into text only through `striptags | e`.
    config["site_name"] = html.escape(alliance.name, quote=True)
    config["site_url"] = alliance.site_url
    config["site_description"] = html.escape(alliance.aim, quote=True)
    config["copyright"] = f"&copy; {today.year} {html.escape(alliance.name, quote=True)}"
    if alliance.short_name and alliance.short_name != alliance.name:
        # the header's name on a phone, where the full name would be cut short (header.html)
        config["extra"] = {**(config.get("extra") or {}),
                           "short_name": html.escape(alliance.short_name, quote=True)}
    config["docs_dir"] = DOCS
    config["site_dir"] = "site"
    config["nav"] = nav
    config["not_in_nav"] = "\n".join(not_in_nav)
    theme = dict(config.get("theme") or {"name": "material"})
    custom_dir = theme.get("custom_dir")
    if custom_dir:
        theme["custom_dir"] = str((base_path.parent / custom_dir).resolve())
        if engine == "zensical":
            theme["custom_dir"] = ZENSICAL_THEME
    if engine == "zensical":
        theme.setdefault("variant", "classic")
    config["theme"] = theme
    # One address scheme for the whole product (records/urls.py): the mailer links to pages too.
    config["use_directory_urls"] = urls.DIRECTORY_URLS
    return identity.apply(config, alliance)


def zensical_overrides(folder: Path, base: dict[str, Any], base_path: Path = BASE_CONFIG) -> None:
    """The theme overrides as Zensical should see them, in ``folder/zensical-overrides``."""
    import shutil
    custom_dir = (base.get("theme") or {}).get("custom_dir")
    target = folder / ZENSICAL_THEME
    shutil.rmtree(target, ignore_errors=True)
    if not custom_dir:
        return
    source = (base_path.parent / custom_dir).resolve()
    shutil.copytree(source, target, ignore=lambda d, names: [
        n for n in names if (Path(d) / n).relative_to(source).as_posix() in MATERIAL_ONLY])


def dump(config: dict) -> str:
    header = ("# Generated by build.py from the repository's mkdocs.yml and the records: "
              "do not edit.\n")
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)


def write_config(folder: Path, config: dict) -> Path:
    path = folder / CONFIG
    text = dump(config)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
