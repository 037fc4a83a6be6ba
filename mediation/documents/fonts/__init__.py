"""Fonts that PDF documents embed, built from Debian's ``fonts-noto-cjk``.

The fonts are build products, not sources: ``python -m
mediation.documents.fonts.build_fonts`` writes them to a git-ignored directory
(``var/fonts/`` under the project root, or ``$MEDIATION_FONT_DIR``) together
with a stylesheet of ``@font-face`` rules.  This module only locates them, so
that rendering code never imports the build machinery (fontTools' cu2qu etc.).

Usage with WeasyPrint::

    font_config, font_css = weasyprint_fonts()
    HTML(string=html).write_pdf(stylesheets=[font_css, ...], font_config=font_config)

The stylesheet sets ``html { font-family: var(--mediation-song) }`` (Song/serif
body text) and defines ``--mediation-hei`` (Hei/sans, for headings).  Always use
these variables rather than the bare family names: each family is split into a
fast core font and extension fonts for rare characters, and only the full list
renders every character.  Set font families on ``html`` (as the stylesheet
does), not ``body``: @page margin boxes such as "第 1 页 共 2 页" inherit from
the root element.  There are no italic faces (Chinese documents emphasise with
bold): WeasyPrint embeds italic runs upright as an extra copy of the font, so
templates should set ``em, i { font-style: normal }``.

Debian packages: ``fonts-noto-cjk`` and ``unicode-data`` to build the fonts,
``libharfbuzz-subset0`` at run time so WeasyPrint subsets fonts with HarfBuzz.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

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
    slower for Chinese documents (measured: about 1 s instead of 0.1 s for a
    two-page agreement with these fonts; 8 s or more with the stock Noto
    fonts).  WeasyPrint looks the library up under these names.
    """
    names = ("libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll")
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        return True
    return False


_per_thread = threading.local()


@atexit.register
def _release_fonts() -> None:
    # Drop the configuration while the interpreter can still run its __del__ (which
    # removes WeasyPrint's temporary font folder); at final teardown it cannot.
    _per_thread.__dict__.pop("fonts", None)


@cache
def _fontconfig() -> ctypes.CDLL:
    """The fontconfig library WeasyPrint uses (one copy per process), for the one call it does not wrap."""
    library = ctypes.CDLL(ctypes.util.find_library("fontconfig") or "libfontconfig.so.1")
    library.FcConfigCreate.restype = ctypes.c_void_p
    return library


def _without_host_fonts(font_config: FontConfiguration) -> FontConfiguration:
    """Give ``font_config`` an empty fontconfig configuration: only @font-face fonts, none of the host's.

    WeasyPrint starts from the host's fontconfig set-up (``FcInitLoadConfigAndFonts``), so a character
    that no stylesheet font has would be drawn from whatever the host has installed (Noto Sans CJK JP,
    DejaVu...), differently on every machine. ``FcConfigCreate`` makes a configuration without font
    directories; the stylesheet's fonts are added to it as application fonts as usual, so such a
    character comes out as the empty box of a project font, and ``mediation.documents.glyphs``
    refuses any such value before rendering.
    """
    from weasyprint.text.ffi import ffi, fontconfig, pangoft2

    address = _fontconfig().FcConfigCreate()
    if not address:
        raise MemoryError("FcConfigCreate failed")
    config = ffi.cast("FcConfig *", address)
    # The font map takes its own reference (and drops the host configuration); ours goes, as WeasyPrint does.
    pangoft2.pango_fc_font_map_set_config(ffi.cast("PangoFcFontMap *", font_config.font_map), config)
    fontconfig.FcConfigDestroy(config)
    font_config._config = config  # where WeasyPrint adds the @font-face fonts
    return font_config


def weasyprint_fonts() -> tuple[FontConfiguration, CSS]:
    """The FontConfiguration and parsed font stylesheet to render with.

    Built once per thread and reused: a new FontConfiguration copies and
    rescans all 40 font files (67 MB) and starts Pango's caches cold, which
    adds 0.1-0.3 s to every document; with reuse a two-page agreement renders
    in about 0.06-0.15 s.  Per thread because Pango font maps are not thread-safe.  The configuration
    holds the project's fonts only, never the host's.  Documents
    rendered with it must not declare their own @font-face rules: those would
    accumulate in the shared configuration.
    """
    fonts = getattr(_per_thread, "fonts", None)
    if fonts is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        font_config = _without_host_fonts(FontConfiguration())
        fonts = font_config, CSS(filename=str(font_stylesheet_path()), font_config=font_config)
        _per_thread.fonts = fonts
    return fonts
