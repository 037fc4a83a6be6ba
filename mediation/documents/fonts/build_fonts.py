"""Build the CJK fonts that the project's PDF documents embed.

    python -m mediation.documents.fonts.build_fonts [--force] [--check]

Why not embed Debian's Noto CJK fonts as they are?  WeasyPrint subsets every
embedded font at every render.  The stock fonts are 65,535-glyph collections
with CFF outlines and large GSUB/GPOS tables; without libharfbuzz-subset0
WeasyPrint subsets them with fontTools, which takes 8-16 s per short document.
(With libharfbuzz-subset0 the stock fonts are fast too, but the fonts built
here still make PDFs 3x smaller, stay fast on a host that lacks the library,
and are loaded from files the project controls rather than picked by the
host's fontconfig.)  So from the Simplified Chinese faces of ``fonts-noto-cjk``
this script builds:

* a **core** font per face: the 8,105 characters of the 通用规范汉字表 (Table of
  General Standard Chinese Characters, 2013, read from Unihan's kTGH field in
  Debian's ``unicode-data``) plus every GB 2312 hanzi, Latin, punctuation,
  full-width forms and the symbols Chinese documents use (about 10,200 glyphs).
  The 通用规范汉字表 is the official list of characters for general use, and
  its third level exists for personal and place names, so 堃 喆 珺 and even
  㛃 (CJK Ext A) are in the core;
* **extension** fonts holding every other character of the source face (the
  rest of GBK, CJK Ext A, Ext B such as 𠮷 U+20BB7, compatibility ideographs,
  Hangul...), cut in code point order into pieces of at most
  ``EXT_CHUNK_CHARS`` characters.  WeasyPrint only embeds (and subsets) fonts
  that a document actually uses, and the cost of a subset grows with the
  size of the font, so a rare character drags in one small piece, not 30,000
  glyphs;
* a **fallback** font per face holding the characters that the other Noto CJK
  face has and this one lacks, cut from the other face of the same weight.
  Noto Sans CJK SC has 64 characters that Noto Serif CJK SC lacks (U+9FEB-9FEF
  and 59 of CJK Ext B-F such as 𫟷 U+2B7F7, fonts-noto-cjk 1:20220127), so the
  Song stack ends with "MediationSong Fallback": Sans glyphs with the Song
  line metrics.  Serif has nothing that Sans lacks, so Hei gets no fallback
  (the build makes one should a later release differ).  Both stacks thus
  cover every character either face has; with ``weasyprint_fonts()`` seeing
  no host fonts at all, a character outside them is drawn as an empty box,
  which ``mediation.documents.glyphs`` refuses before anything is rendered.

Every piece is converted from CFF to TrueType (quadratic) outlines with
fontTools' cu2qu, carries no layout tables (GSUB/GPOS/BASE/...), no vertical
metrics and no hinting: with fontTools those make subsetting several times
slower, and CJK text set horizontally needs none of them.

Each piece gets its own CSS family name ("MediationSong", "MediationSong
Ext1", ...): WeasyPrint identifies embedded fonts by family/weight/style, so
two files under one family name would be merged into one embedded font and
the second file's glyphs would come out blank (text extraction would still
look right, which hides the bug).

The output directory (``var/fonts/`` or ``$MEDIATION_FONT_DIR``) receives the
.ttf files, ``mediation-fonts.css`` (``@font-face`` rules and the font stacks
as CSS variables) and ``manifest.json``, written last, which records the
inputs so that a second run returns at once when nothing changed.
"""

from __future__ import annotations

import argparse
import bz2
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont
from fontTools.ttLib.tables._g_l_y_f import Glyph

from mediation.documents.fonts import (
    BUILD_COMMAND,
    HEI_FAMILY,
    HEI_STACK_VARIABLE,
    MANIFEST_NAME,
    SONG_FAMILY,
    SONG_STACK_VARIABLE,
    STYLESHEET_NAME,
    font_dir,
    harfbuzz_subset_available,
)

# Bump when the output changes for the same inputs (character sets, tables,
# naming...): the manifest then no longer matches and the fonts are rebuilt.
# 2: fallback pieces, so that each stack covers what either Noto CJK face has.
BUILDER_VERSION = 2

NOTO_CJK_DIR = Path("/usr/share/fonts/opentype/noto")  # Debian's fonts-noto-cjk
UNIHAN_OTHER_MAPPINGS = Path("/usr/share/unicode/Unihan_OtherMappings.txt.bz2")  # unicode-data
TONGYONG_GUIFAN_COUNT = 8105  # size of the 2013 table; a different count means a bad source

# cu2qu tolerance in font units (1000 per em here): 0.001 em, i.e. 0.004 mm at
# 12 pt, far below what print or screen shows.  fontmake uses the same default.
CU2QU_MAX_ERR = 1.0

# Largest extension piece.  With fontTools subsetting each embedded piece
# costs about 9 microseconds per glyph it holds; 4,096 keeps a piece pulled in
# by a single rare character under 40 ms while the stacks stay short.
EXT_CHUNK_CHARS = 4096

# Non-Han characters of the core piece: what Chinese documents put around the
# hanzi.  (GB 2312 and GBK symbols are added on top, see core_codepoints.)
CORE_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x024F),  # Latin-1, Latin Extended-A/B: ¥ § ×, pinyin tone marks ǎ ǚ
    (0x02B0, 0x02FF),  # spacing modifiers: ˇ ˉ ˊ ˋ ˙
    (0x0370, 0x04FF),  # Greek, Cyrillic (both in GB 2312)
    (0x2000, 0x206F),  # general punctuation: — ‘ ’ “ ” … ‰ ※
    (0x20A0, 0x20CF),  # currency: €
    (0x2100, 0x218F),  # letterlike symbols, number forms: ℃ № Ⅻ
    (0x2190, 0x22FF),  # arrows, mathematical operators
    (0x2460, 0x24FF),  # enclosed alphanumerics: ① ⑴ ⒈
    (0x2500, 0x25FF),  # box drawing, block elements, geometric shapes: □ ■ ○ ●
    (0x2600, 0x26FF),  # miscellaneous symbols: ★ ☆
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。《》「」【】〔〕
    (0x3200, 0x33FF),  # enclosed CJK, CJK compatibility: ㈠ ㊣ ㎡ ㎏
    (0xFE30, 0xFE4F),  # CJK compatibility forms: ︰ ﹏
    (0xFF00, 0xFFEF),  # half-width and full-width forms: ，：；（） ￥
)

# OS/2 fields copied from the source so line metrics match the stock fonts.
OS2_COPIED_FIELDS = (
    "usWeightClass", "usWidthClass", "fsType", "fsSelection",
    "ySubscriptXSize", "ySubscriptYSize", "ySubscriptXOffset", "ySubscriptYOffset",
    "ySuperscriptXSize", "ySuperscriptYSize", "ySuperscriptXOffset", "ySuperscriptYOffset",
    "yStrikeoutSize", "yStrikeoutPosition", "sFamilyClass", "panose", "achVendID",
    "sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent",
    "sxHeight", "sCapHeight", "usDefaultChar", "usBreakChar",
)
# Name records copied from the source: copyright, trademark, vendor, designers,
# URLs and the SIL Open Font License notice that the licence requires to keep.
NAME_IDS_COPIED = (0, 7, 8, 9, 10, 11, 12, 13, 14)


class BuildError(RuntimeError):
    """A prerequisite is missing or a source looks wrong; the message says what to do."""


@dataclass(frozen=True)
class Face:
    """One source face and the CSS family/weight its pieces are published under."""

    family: str  # CSS family of the core piece
    weight: int  # CSS font-weight
    style_name: str  # "Regular" or "Bold", used in file and font names
    source_file: str  # file name in NOTO_CJK_DIR
    source_family: str  # name ID 1 of the face inside the collection


FACES: tuple[Face, ...] = (
    Face(SONG_FAMILY, 400, "Regular", "NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
    Face(SONG_FAMILY, 700, "Bold", "NotoSerifCJK-Bold.ttc", "Noto Serif CJK SC"),
    Face(HEI_FAMILY, 400, "Regular", "NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    Face(HEI_FAMILY, 700, "Bold", "NotoSansCJK-Bold.ttc", "Noto Sans CJK SC"),
)

STACK_VARIABLES = {SONG_FAMILY: SONG_STACK_VARIABLE, HEI_FAMILY: HEI_STACK_VARIABLE}


@dataclass(frozen=True)
class PieceJob:
    """Everything a worker process needs to build one font file."""

    face: Face  # the face the piece is published for (family, weight, style)
    source_path: str  # where the glyphs come from: the face's file, the other family's for "fallback"
    font_number: int  # index of the source face in the .ttc
    source_family: str  # name ID 1 of the source face, recorded in the piece's version string
    metrics_path: str  # the face's own file: line metrics always come from it
    metrics_font_number: int
    piece: str  # "core", "ext1", "ext2", ..., "fallback"
    css_family: str
    codepoints: tuple[int, ...]
    output_path: str
    source_package: str  # version string recorded in the font's name table


@dataclass(frozen=True)
class PieceResult:
    file: str
    css_family: str
    family: str
    weight: int
    piece: str
    glyphs: int
    characters: int
    bytes: int
    ranges: str  # CSS unicode-range of the characters actually present


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def _require(path: Path, package: str) -> Path:
    if not path.is_file():
        raise BuildError(
            f"{path} is missing. Install the Debian package: "
            f"`apt-get install {package}` (as root, after `apt-get update`)."
        )
    return path


def source_path(face: Face) -> Path:
    return _require(NOTO_CJK_DIR / face.source_file, "fonts-noto-cjk")


def debian_package_version(package: str) -> str:
    """Installed version of a Debian package, or "unknown" off Debian."""
    try:
        result = subprocess.run(
            ["dpkg-query", "--show", "--showformat=${Version}", package],
            capture_output=True, text=True, check=False, timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def find_font_number(path: Path, family: str) -> int:
    """Index of the face called ``family`` in a collection (the order is not promised)."""
    collection = TTCollection(str(path), lazy=True)
    for number, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family:
            return number
    raise BuildError(f"{path} has no face named {family!r}; is fonts-noto-cjk intact?")


def tongyong_guifan_hanzi() -> frozenset[int]:
    """The 8,105 characters of the 通用规范汉字表, from Unihan's kTGH field."""
    path = _require(UNIHAN_OTHER_MAPPINGS, "unicode-data")
    codepoints: set[int] = set()
    with bz2.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if "\tkTGH\t" in line:
                codepoints.add(int(line.split("\t", 1)[0][2:], 16))
    if len(codepoints) != TONGYONG_GUIFAN_COUNT:
        raise BuildError(
            f"{path} lists {len(codepoints)} kTGH characters, expected {TONGYONG_GUIFAN_COUNT}."
        )
    return frozenset(codepoints)


def _double_byte_repertoire(codec: str, leads: range, trails: range) -> set[int]:
    """Characters a double-byte Chinese codec can encode (decoded, not guessed)."""
    codepoints: set[int] = set()
    for lead in leads:
        for trail in trails:
            try:
                text = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            codepoints.update(ord(char) for char in text)
    return codepoints


def _is_han(codepoint: int) -> bool:
    return (
        0x3400 <= codepoint <= 0x4DBF  # Ext A
        or 0x4E00 <= codepoint <= 0x9FFF  # URO
        or 0xF900 <= codepoint <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= codepoint <= 0x3FFFF  # Ext B and later, compatibility supplement
    )


def core_codepoints() -> frozenset[int]:
    """Characters of the core piece (before intersecting with a face's cmap)."""
    gb2312 = _double_byte_repertoire("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    gbk = _double_byte_repertoire("gbk", range(0x81, 0xFF), range(0x40, 0xFF))
    gbk_symbols = {cp for cp in gbk if not _is_han(cp)}
    blocks = {cp for start, end in CORE_BLOCKS for cp in range(start, end + 1)}
    return frozenset(tongyong_guifan_hanzi() | gb2312 | gbk_symbols | blocks)


def extension_chunks(
    codepoints: Iterable[int], size: int = EXT_CHUNK_CHARS
) -> list[tuple[int, ...]]:
    """Cut the non-core characters into pieces of at most ``size``, in code point order."""
    ordered = sorted(codepoints)
    return [tuple(ordered[start:start + size]) for start in range(0, len(ordered), size)]


def css_unicode_ranges(codepoints: Iterable[int]) -> str:
    """Compact CSS unicode-range value listing exactly the given code points."""
    ranges: list[str] = []
    ordered = sorted(codepoints)
    index = 0
    while index < len(ordered):
        start = end = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        ranges.append(f"U+{start:X}" if start == end else f"U+{start:X}-{end:X}")
        index += 1
    return ", ".join(ranges)


# --------------------------------------------------------------------------
# Building one piece (runs in a worker process)
# --------------------------------------------------------------------------


def _quadratic_glyph(glyph_set: Any, name: str) -> Glyph:
    pen = TTGlyphPen(None)  # CFF glyphs have no components, so no glyph set is needed
    # CFF contours run counter-clockwise, TrueType ones clockwise: reverse them.
    glyph_set[name].draw(Cu2QuPen(pen, CU2QU_MAX_ERR, reverse_direction=True))
    return pen.glyph()


def build_piece(job: PieceJob) -> PieceResult:
    source = TTFont(job.source_path, fontNumber=job.font_number, lazy=True)
    # Line metrics of the face the piece belongs to: a fallback glyph must not make its line taller.
    same_file = (job.metrics_path, job.metrics_font_number) == (job.source_path, job.font_number)
    metrics = source if same_file else TTFont(job.metrics_path, fontNumber=job.metrics_font_number, lazy=True)
    source_cmap = source.getBestCmap()
    glyph_set = source.getGlyphSet()
    source_hmtx = source["hmtx"]

    # Glyph order: .notdef (the box shown for anything missing) then glyphs in
    # code point order; characters that share a glyph share it here too.
    order = [".notdef"]
    seen = {".notdef"}
    cmap: dict[int, str] = {}
    for codepoint in job.codepoints:
        name = source_cmap.get(codepoint)
        if name is None:
            continue
        cmap[codepoint] = name
        if name not in seen:
            seen.add(name)
            order.append(name)

    glyphs = {name: _quadratic_glyph(glyph_set, name) for name in order}

    head = source["head"]
    builder = FontBuilder(head.unitsPerEm, isTTF=True)
    # Source timestamps rather than "now": the same inputs give the same bytes.
    builder.updateHead(
        created=head.created, modified=head.modified, fontRevision=head.fontRevision,
        macStyle=head.macStyle, lowestRecPPEM=head.lowestRecPPEM,
    )
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(cmap)
    builder.setupGlyf(glyphs)  # also computes each glyph's bounds
    builder.setupHorizontalMetrics({
        # Left side bearing of a TrueType glyph is its xMin (0 for empty glyphs).
        name: (source_hmtx[name][0], getattr(glyphs[name], "xMin", 0))
        for name in order
    })
    hhea = metrics["hhea"]
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)

    source_os2 = metrics["OS/2"]
    builder.setupOS2(**{field: getattr(source_os2, field) for field in OS2_COPIED_FIELDS})
    os2 = builder.font["OS/2"]
    os2.usFirstCharIndex = min(min(cmap), 0xFFFF)
    os2.usLastCharIndex = min(max(cmap), 0xFFFF)
    os2.recalcCodePageRanges(builder.font)

    source_names = source["name"]
    names: dict[Any, str] = {}
    for name_id in NAME_IDS_COPIED:
        value = source_names.getDebugName(name_id)
        if value:
            names[name_id] = value
    postscript_family = job.css_family.replace(" ", "")
    names.update(
        familyName=job.css_family,
        styleName=job.face.style_name,
        fullName=f"{job.css_family} {job.face.style_name}",
        psName=f"{postscript_family}-{job.face.style_name}",
        uniqueFontIdentifier=f"{head.fontRevision:.3f};{postscript_family}-{job.face.style_name}",
        version=(
            f"Version {head.fontRevision:.3f}; {job.piece} cut of {job.source_family} "
            f"{job.face.style_name} (fonts-noto-cjk {job.source_package}), TrueType outlines"
        ),
    )
    # Windows records only: fontconfig, Pango and PDF readers all use them.
    builder.setupNameTable(names, mac=False)

    post = source["post"]
    builder.setupPost(
        keepGlyphNames=False,  # format 3: CID-derived names are useless and cost bytes
        underlinePosition=post.underlinePosition,
        underlineThickness=post.underlineThickness,
    )
    builder.save(job.output_path)
    return PieceResult(
        file=Path(job.output_path).name,
        css_family=job.css_family,
        family=job.face.family,
        weight=job.face.weight,
        piece=job.piece,
        glyphs=len(order),
        characters=len(cmap),
        bytes=Path(job.output_path).stat().st_size,
        ranges=css_unicode_ranges(cmap),
    )


# --------------------------------------------------------------------------
# Planning, stylesheet, manifest
# --------------------------------------------------------------------------


def _fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def build_inputs() -> dict[str, Any]:
    """What the output depends on; equal inputs mean the fonts are up to date.

    File size and mtime identify the Debian-installed sources without reading
    tens of megabytes, which keeps the up-to-date check to a few milliseconds.
    """
    sources = sorted({source_path(face) for face in FACES})
    return {
        "builder_version": BUILDER_VERSION,
        "faces": [asdict(face) for face in FACES],
        "cu2qu_max_err": CU2QU_MAX_ERR,
        "ext_chunk_chars": EXT_CHUNK_CHARS,
        "core_blocks": [list(block) for block in CORE_BLOCKS],
        "sources": [_fingerprint(path) for path in sources],
        "unihan": _fingerprint(_require(UNIHAN_OTHER_MAPPINGS, "unicode-data")),
    }


def read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_up_to_date(directory: Path, inputs: dict[str, Any]) -> bool:
    manifest = read_manifest(directory)
    if manifest is None or manifest.get("inputs") != inputs:
        return False
    for entry in manifest.get("pieces", []):
        path = directory / entry["file"]
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
            return False
    return (directory / STYLESHEET_NAME).is_file()


def plan_jobs(output_dir: Path) -> list[PieceJob]:
    """One job per font file, each writing into ``output_dir``."""
    core = core_codepoints()
    package = debian_package_version("fonts-noto-cjk")
    located: list[tuple[Face, Path, int, set[int]]] = []
    family_coverage: dict[str, set[int]] = {}
    for face in FACES:
        path = source_path(face)
        number = find_font_number(path, face.source_family)
        face_cmap = set(TTFont(str(path), fontNumber=number, lazy=True).getBestCmap())
        located.append((face, path, number, face_cmap))
        family_coverage.setdefault(face.family, set()).update(face_cmap)
    # Chunks are cut from the whole family's coverage so that the regular and
    # bold "... ExtN" fonts of a family cover the same characters.
    chunks = {
        family: extension_chunks(coverage - core) for family, coverage in family_coverage.items()
    }
    everything = set().union(*family_coverage.values())
    jobs: list[PieceJob] = []
    for face, path, number, face_cmap in located:
        own = (face, path, number)
        # (piece, CSS family, characters, the face, file and index the glyphs come from)
        pieces: list[tuple[str, str, Sequence[int], tuple[Face, Path, int]]] = [
            ("core", face.family, sorted(face_cmap & core), own)
        ]
        for index, chunk in enumerate(chunks[face.family], start=1):
            pieces.append((f"ext{index}", f"{face.family} Ext{index}",
                           [cp for cp in chunk if cp in face_cmap], own))
        # What only the other family has, from its face of the same weight.
        lacking = everything - family_coverage[face.family]
        for other, other_path, other_number, other_cmap in located:
            if lacking and other.family != face.family and other.weight == face.weight:
                pieces.append(("fallback", f"{face.family} Fallback", sorted(lacking & other_cmap),
                               (other, other_path, other_number)))
                break
        for piece, css_family, codepoints, (source, source_file, source_number) in pieces:
            if not codepoints:
                continue  # this face has nothing in that chunk
            file_name = f"{face.family}-{face.style_name}-{piece}.ttf"
            jobs.append(PieceJob(
                face=face, source_path=str(source_file), font_number=source_number,
                source_family=source.source_family, metrics_path=str(path), metrics_font_number=number,
                piece=piece, css_family=css_family, codepoints=tuple(codepoints),
                output_path=str(output_dir / file_name), source_package=package,
            ))
    return jobs


def stylesheet(results: Sequence[PieceResult]) -> str:
    lines = [
        f"/* Generated by `{BUILD_COMMAND}`; do not edit.",
        "   Fonts: Noto Serif/Sans CJK SC (SIL Open Font License 1.1), cut and converted.",
        "   Use the variables, not the bare family names: core fonts lack rare characters. */",
    ]
    for result in results:
        # No unicode-range: it does not make rendering faster (measured), the
        # exact ranges take about 1 s to parse per FontConfiguration, and
        # WeasyPrint hands them to fontconfig in place of the real coverage.
        lines.append(
            f'@font-face {{ font-family: "{result.css_family}"; '
            f'src: url("{result.file}") format("truetype"); '
            f"font-weight: {result.weight}; font-style: normal; }}"
        )
    stacks: dict[str, list[str]] = {}
    for result in results:
        family_stack = stacks.setdefault(result.family, [])
        if result.css_family not in family_stack:
            family_stack.append(result.css_family)
    lines.append(":root {")
    for family, members in stacks.items():
        quoted = ", ".join(f'"{member}"' for member in members)
        lines.append(f"  {STACK_VARIABLES[family]}: {quoted};")
    lines.append("}")
    # On html, not body: @page margin boxes (page numbers) inherit from the root.
    lines.append(f"html {{ font-family: var({SONG_STACK_VARIABLE}); }}")
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, data: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(data, encoding="utf-8")
    os.replace(temporary, path)


@contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    """Serialise concurrent builds (e.g. several workers starting at once)."""
    with open(directory / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def build(directory: Path | None = None, *, force: bool = False, workers: int | None = None,
          log: Callable[[str], object] = print) -> Path:
    """Build the fonts unless they are up to date; return the stylesheet path."""
    directory = directory or font_dir()
    inputs = build_inputs()  # fails early, with instructions, if a package is missing
    if not force and is_up_to_date(directory, inputs):
        return directory / STYLESHEET_NAME
    directory.mkdir(parents=True, exist_ok=True)
    with _build_lock(directory):
        if not force and is_up_to_date(directory, inputs):  # another process built them
            return directory / STYLESHEET_NAME
        started = time.monotonic()
        old_manifest = read_manifest(directory)
        (directory / MANIFEST_NAME).unlink(missing_ok=True)  # mark the build unfinished
        with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as scratch:
            jobs = plan_jobs(Path(scratch))
            # Largest first so the last job to start is a small one.
            jobs.sort(key=lambda job: len(job.codepoints), reverse=True)
            workers = workers or max(1, min(os.cpu_count() or 1, len(jobs)))
            log(f"Building {len(jobs)} fonts into {directory} with {workers} processes...")
            with ProcessPoolExecutor(max_workers=workers) as pool:
                by_file = {result.file: result for result in pool.map(build_piece, jobs)}
            results = [by_file[Path(job.output_path).name] for job in _file_order(jobs)]
            for result in results:
                os.replace(Path(scratch) / result.file, directory / result.file)
        _write_atomically(directory / STYLESHEET_NAME, stylesheet(results))
        # Remove pieces an earlier build made that this one no longer has.
        current = {result.file for result in results}
        for entry in (old_manifest or {}).get("pieces", []):
            if entry["file"] not in current:
                (directory / entry["file"]).unlink(missing_ok=True)
        seconds = round(time.monotonic() - started, 1)
        manifest = {
            "inputs": inputs,
            "source_package": f"fonts-noto-cjk {debian_package_version('fonts-noto-cjk')}",
            "build_seconds": seconds,
            "pieces": [asdict(result) for result in results],
        }
        _write_atomically(
            directory / MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=False)
        )
    log(_summary(results, seconds))
    return directory / STYLESHEET_NAME


def _file_order(jobs: Sequence[PieceJob]) -> list[PieceJob]:
    """Stylesheet order: by face as in FACES, core, its extensions, then its fallback."""
    def key(job: PieceJob) -> tuple[int, int]:
        if job.piece == "core":
            number = 0
        elif job.piece == "fallback":
            number = sys.maxsize  # last in the stack: only what the face's own pieces lack
        else:
            number = int(job.piece.removeprefix("ext"))
        return FACES.index(job.face), number
    return sorted(jobs, key=key)


def _summary(results: Sequence[PieceResult], seconds: float) -> str:
    lines = [f"Built {len(results)} fonts in {seconds:.1f} s:"]
    for result in results:
        lines.append(
            f"  {result.file:40} {result.glyphs:6} glyphs {result.bytes / 1e6:6.2f} MB"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--check", action="store_true",
                        help="only report; exit 1 if the fonts need building")
    parser.add_argument("--workers", type=int, default=None, help="worker processes")
    args = parser.parse_args(argv)
    directory = font_dir()
    try:
        if args.check:
            if is_up_to_date(directory, build_inputs()):
                print(f"PDF fonts in {directory} are up to date.")
                return 0
            print(f"PDF fonts in {directory} need building: run `{BUILD_COMMAND}`.")
            return 1
        path = build(directory, force=args.force, workers=args.workers)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"PDF fonts ready: {path}")
    if not harfbuzz_subset_available():
        print(
            "warning: libharfbuzz-subset0 is not installed, so WeasyPrint subsets fonts "
            "with fontTools and Chinese documents render several times slower; "
            "`apt-get install libharfbuzz-subset0`.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
