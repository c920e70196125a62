"""Colour contrast after WCAG 2.2 (relative luminance, contrast ratio), for the alliance's
colours: checked when records are checked, and used by the website to derive the shades its
dark scheme needs."""
from __future__ import annotations

AA_TEXT = 4.5          # WCAG 2.2 AA, 1.4.3: normal-size text
WHITE = "#ffffff"
DARK_PAGE = "#1e2129"  # Material's slate background, where links sit in the dark scheme


def _channels(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def luminance(colour: str) -> float:
    def linear(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def mix(colour: str, other: str, share: float) -> str:
    """``colour`` moved ``share`` (0..1) of the way towards ``other``."""
    a, b = _channels(colour), _channels(other)
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b))


def readable_on(colour: str, background: str, minimum: float = AA_TEXT) -> str:
    """``colour``, lightened (or darkened) just enough to reach ``minimum`` on ``background``:
    the alliance's primary colour as a link colour in the dark scheme."""
    towards = WHITE if luminance(background) < 0.5 else "#000000"
    for step in range(0, 101, 2):
        candidate = mix(colour, towards, step / 100)
        if contrast(candidate, background) >= minimum:
            return candidate
    return towards
