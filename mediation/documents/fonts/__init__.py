"""Fonts that PDF documents embed, built from Debian's ``fonts-noto-cjk``.

The fonts are build products, not sources: ``python -m
mediation.documents.fonts.build_fonts`` writes them to a git-ignored directory
(``var/fonts/`` under the project root, or ``$MEDIATION_FONT_DIR``) together
with a stylesheet of ``@font-face`` rules.  This module only locates them, so
that rendering code never imports the build machinery (fontTools' cu2qu etc.).

Usage with WeasyPrint::

    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    fonts = CSS(filename=font_stylesheet_path(), font_config=font_config)
    HTML(string=html).write_pdf(stylesheets=[fonts, ...], font_config=font_config)

The stylesheet sets ``html { font-family: var(--mediation-song) }`` (Song/serif
body text) and defines ``--mediation-hei`` (Hei/sans, for headings).  Always use
these variables rather than the bare family names: each family is split into a
fast core font and extension fonts for rare characters, and only the full list
renders every character.
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path

# mediation/documents/fonts/__init__.py -> project root is three levels up.
PROJECT_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_FONT_DIR = PROJECT_ROOT / "var" / "fonts"
FONT_DIR_ENV = "MEDIATION_FONT_DIR"

STYLESHEET_NAME = "mediation-fonts.css"
MANIFEST_NAME = "manifest.json"

SONG_FAMILY = "MediationSong"  # body text: Song (serif), from Noto Serif CJK SC
HEI_FAMILY = "MediationHei"  # headings: Hei (sans), from Noto Sans CJK SC
SONG_STACK_VARIABLE = "--mediation-song"
HEI_STACK_VARIABLE = "--mediation-hei"

BUILD_COMMAND = "python -m mediation.documents.fonts.build_fonts"


class FontsNotBuiltError(RuntimeError):
    """The font directory has no built fonts (or an unfinished build)."""


def font_dir() -> Path:
    """Directory holding the built fonts; ``$MEDIATION_FONT_DIR`` overrides it."""
    override = os.environ.get(FONT_DIR_ENV)
    return Path(override).expanduser().resolve() if override else DEFAULT_FONT_DIR


def font_stylesheet_path() -> Path:
    """Path of the generated ``@font-face`` stylesheet.

    Raises FontsNotBuiltError when the fonts have not been built: rendering
    without them would silently fall back to whatever fonts the host has.
    """
    directory = font_dir()
    # The manifest is written last, so its presence means the build finished.
    if not (directory / MANIFEST_NAME).is_file() or not (directory / STYLESHEET_NAME).is_file():
        raise FontsNotBuiltError(
            f"PDF fonts are not built in {directory}; run `{BUILD_COMMAND}` "
            "(needs the Debian packages fonts-noto-cjk and unicode-data)."
        )
    return directory / STYLESHEET_NAME


@cache
def harfbuzz_subset_available() -> bool:
    """Whether WeasyPrint can subset fonts with HarfBuzz (``libharfbuzz-subset0``).

    Without it WeasyPrint falls back to fontTools, which is several times
    slower for Chinese documents (about 0.4 s instead of 0.08 s for two pages
    with these fonts).  WeasyPrint looks the library up under these names.
    """
    for name in ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll"):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False
