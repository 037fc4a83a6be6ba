"""Reading PDFs back in tests and benchmarks: text extraction, embedded fonts and missing glyphs."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

RARE = "𠮷㛃堃喆珺"
_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")
_SUBSET = re.compile(r"^/?[A-Z]{6}\+")


def reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in reader(pdf).pages]


def squeezed(pdf: bytes) -> str:
    """All text with whitespace removed: names and amounts may wrap across lines."""
    return re.sub(r"\s+", "", "".join(pages_text(pdf)))


@dataclass
class Font:
    name: str
    program: str | None  # /FontFile2 (TrueType), /FontFile3 …
    characters: str
    blank: str  # characters whose glyph has no outline: a missing glyph that extraction would not show


def _to_unicode(font: Any) -> dict[int, str]:
    data = font["/ToUnicode"].get_object().get_data()
    mapping: dict[int, str] = {}
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.DOTALL):
        for glyph, text in _BFCHAR.findall(section):
            mapping[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    return mapping


def _blank(program: bytes, mapping: dict[int, str]) -> str:
    font = TTFont(io.BytesIO(program))
    order = font.getGlyphOrder()
    blank = []
    for glyph_id, text in sorted(mapping.items()):
        if not text.strip():
            continue
        if glyph_id == 0 or glyph_id >= len(order) or font["glyf"][order[glyph_id]].numberOfContours == 0:
            blank.append(text)
    return "".join(blank)


def fonts(pdf: bytes) -> list[Font]:
    found: dict[str, Font] = {}
    for page in reader(pdf).pages:
        resources = page["/Resources"].get_object()
        assert isinstance(resources, DictionaryObject)
        for reference in resources.get("/Font", {}).values():
            font = reference.get_object()
            name = str(font["/BaseFont"])
            if name in found:
                continue
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant["/FontDescriptor"].get_object()
            key = next((k for k in ("/FontFile2", "/FontFile3", "/FontFile") if k in descriptor), None)
            mapping = _to_unicode(font)
            blank = _blank(descriptor[key].get_object().get_data(), mapping) if key == "/FontFile2" else ""
            found[name] = Font(name.lstrip("/"), key, "".join(mapping[k] for k in sorted(mapping)), blank)
    return list(found.values())


def assert_fonts_sound(pdf: bytes) -> list[Font]:
    """Every font embedded as a TrueType subset of the project's fonts, with no blank glyphs."""
    result = fonts(pdf)
    assert result, "no fonts in the PDF"
    for font in result:
        assert font.program == "/FontFile2", f"{font.name} is not embedded as TrueType"
        assert _SUBSET.match(font.name), f"{font.name} is not a subset"
        assert _SUBSET.sub("", font.name).startswith("Mediation"), f"host font {font.name} used"
        assert not font.blank, f"{font.name} has no outline for {font.blank!r}"
    return result


def xmp(pdf: bytes) -> str:
    metadata = reader(pdf).root_object.get("/Metadata")
    return metadata.get_object().get_data().decode("utf-8") if metadata is not None else ""


def stored(document: Any) -> bytes:
    """An issued document's bytes in storage; the test fails when they are missing."""
    from mediation.documents import registry

    data = registry.stored_bytes(document)
    assert data is not None, f"{document} is missing from storage"
    return data
