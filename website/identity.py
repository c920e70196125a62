"""The alliance's identity in the site: logo (also the favicon), colours and the home page's
photo, from content/alliance.yml. The colours become a small generated stylesheet of
Material's CSS variables; the dark scheme gets shades of them that are readable on its
background (records.colours), so an editor picks two colours and both schemes pass WCAG AA.
"""
from __future__ import annotations

from typing import Any

from records.colours import DARK_PAGE, mix, readable_on
from records.schema import Alliance

IDENTITY_CSS = "assets/stylesheets/identity.css"
DARK_MINIMUM = 5.5        # a margin above AA's 4.5:1: Material's slate background varies a little


def identity_css(alliance: Alliance) -> str | None:
    colours = alliance.colours
    if colours is None:
        return None
    primary = colours.primary
    accent = colours.accent or primary
    dark_link = readable_on(primary, DARK_PAGE, DARK_MINIMUM)
    dark_accent = readable_on(accent, DARK_PAGE, DARK_MINIMUM)
    return f"""/* Generated from content/alliance.yml's colours by build.py: do not edit. */
:root > * {{
  --md-primary-fg-color: {primary};
  --md-primary-fg-color--light: {mix(primary, "#ffffff", 0.25)};
  --md-primary-fg-color--dark: {mix(primary, "#000000", 0.25)};
  --md-primary-bg-color: #ffffff;
  --md-accent-fg-color: {accent};
  --md-accent-fg-color--transparent: {accent}1a;
  --md-accent-bg-color: #ffffff;
  --md-typeset-a-color: {primary};
  --tsa-accent: {accent};
}}
[data-md-color-scheme="slate"] {{
  --md-typeset-a-color: {dark_link};
  --md-accent-fg-color: {dark_accent};
  --md-accent-fg-color--transparent: {dark_accent}1a;
  --tsa-accent: {dark_accent};
}}
"""


def apply(config: dict[str, Any], alliance: Alliance, media: str = "media/") -> dict[str, Any]:
    """Put the logo, favicon and colours into a generated MkDocs configuration."""
    theme = dict(config.get("theme") or {})
    if alliance.logo:
        theme["logo"] = media + alliance.logo
        theme["favicon"] = media + alliance.logo
        theme.pop("icon", None) if set(theme.get("icon") or {}) <= {"logo"} else None
    if alliance.colours is not None:
        palettes = []
        for palette in theme.get("palette") or []:
            palette = dict(palette)
            palette["primary"] = palette["accent"] = "custom"
            palettes.append(palette)
        theme["palette"] = palettes
        config["extra_css"] = [*(config.get("extra_css") or []), IDENTITY_CSS]
    config["theme"] = theme
    return config
