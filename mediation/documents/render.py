"""Pure rendering: a Django template and plain data in, PDF bytes out (ARCHITECTURE.md habit 11).

Nothing here touches the database or the network: contexts are built beforehand
(``mediation.documents.context``) from plain values, so the same call runs in a
request, a management command, or a worker process of the case-file export.
WeasyPrint only ever fetches ``data:`` URLs (the QR code); anything else a
document might name is refused, so no user-entered text can make a render reach
out. Fonts come from ``weasyprint_fonts()``: the project's built Song/Hei
fonts with one FontConfiguration per thread (see mediation/documents/fonts).
"""
from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from mediation.documents.fonts import BUILD_COMMAND, FontsNotBuiltError, weasyprint_fonts

logger = logging.getLogger(__name__)
# WeasyPrint reports every layout step at INFO ("Step 5 - Creating layout - Page 3"): noise in server logs.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

#: Official documents are Chinese whatever language the user's screen is in.
DOCUMENT_LANGUAGE = "zh-hans"
#: The archival variant of the case file (ISO 19005-3, level B: visual appearance).
ARCHIVAL_VARIANT = "pdf/a-3b"
PDF_VARIANTS = frozenset({None, "pdf/a-1b", "pdf/a-2b", "pdf/a-3b", "pdf/a-2u", "pdf/a-3u", "pdf/ua-1"})


#: Context key of the files a document carries as PDF/A-3 associated files (``EmbeddedFile`` values).
#: Not for the template: ``render_pdf`` takes it out before the HTML is rendered.
EMBEDDED_FILES = "embedded_files"


@dataclass(frozen=True)
class EmbeddedFile:
    """A file carried inside a PDF/A-3 document, byte for byte, as an associated file (ISO 19005-3 §6.8).

    ``relationship`` is the /AFRelationship (ISO 32000-2 §14.13.2): ``Source`` for an
    original the document presents, ``Supplement`` for material that goes with it.
    """

    name: str
    data: bytes
    mime_type: str
    relationship: str
    description: str
    modified: datetime.datetime  # aware; written in UTC

    @property
    def md5(self) -> str:
        # The /CheckSum of the embedded file stream is the MD5 of its bytes (ISO 32000-1, table 46).
        return hashlib.md5(self.data, usedforsecurity=False).hexdigest()


class DocumentRenderError(Exception):
    """The document could not be rendered; the message is for the user, in their language."""


def _offline_fetcher() -> Any:
    """A URL fetcher that only decodes ``data:`` URLs (the QR code); anything else is refused."""
    try:
        from weasyprint.urls import URLFetcher  # WeasyPrint >= 68
    except ImportError:  # older WeasyPrint: a plain function is the fetcher
        from weasyprint.urls import default_url_fetcher

        def fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
            if not url.startswith("data:"):
                raise ValueError(f"documents never fetch external resources: {url[:80]}")
            return default_url_fetcher(url, timeout=timeout, ssl_context=ssl_context)

        return fetch
    return URLFetcher(allowed_protocols=("data",), timeout=1)


def qr_data_uri(text: str) -> str:
    """A QR code for ``text`` as an SVG data URI: vector, so it prints sharp at any size."""
    import segno

    # Level M survives a crease or a stain on paper; no quiet zone: the layout leaves white around it.
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=1, border=0, dark="#000")


def render_html(template_name: str, context: dict[str, Any], *, language: str = DOCUMENT_LANGUAGE) -> str:
    """The document's HTML; Django's autoescaping applies to every value in ``context``."""
    with translation.override(language):
        return render_to_string(template_name, context)


def render_pdf(template_name: str, context: dict[str, Any], *, pdf_variant: str | None = None,
               language: str = DOCUMENT_LANGUAGE) -> bytes:
    """Render ``template_name`` with ``context`` to PDF bytes.

    Every failure comes out as ``DocumentRenderError`` with a message a user can
    act on (the original exception is chained and logged), so callers handle one
    type and nothing half-made escapes.
    """
    if pdf_variant not in PDF_VARIANTS:
        raise DocumentRenderError(_("不支持的 PDF 标准：%(variant)s") % {"variant": pdf_variant})
    context = dict(context)
    files: Sequence[EmbeddedFile] = context.pop(EMBEDDED_FILES, ())
    try:
        html = render_html(template_name, context, language=language)
        from weasyprint import HTML

        font_config, font_css = weasyprint_fonts()
        options: dict[str, Any] = {
            "stylesheets": [font_css], "pdf_variant": pdf_variant,
            # Archival documents are tagged: the structure tree gives the reading order (a table row's
            # cells in order), which extraction from the page layout alone does not.
            "pdf_tags": pdf_variant == ARCHIVAL_VARIANT,
            "attachments": _weasyprint_attachments(files, _offline_fetcher()),
        }
        document = HTML(string=html, url_fetcher=_offline_fetcher()).render(font_config=font_config, **options)
        _whole_seconds(document.metadata)
        return document.write_pdf(finisher=_ArchivalFinisher(files), **options)
    except FontsNotBuiltError as exc:
        logger.error("document fonts missing: %s", exc)
        # In the caller's language (the user's), not the document's.
        raise DocumentRenderError(
            _("文书字体尚未生成，无法生成 PDF。请管理员在项目目录运行 make fonts（即 %(command)s）后重试。")
            % {"command": BUILD_COMMAND}) from exc
    except DocumentRenderError:
        raise
    except Exception as exc:  # a template error, a WeasyPrint failure, memory…: one clear answer
        logger.exception("rendering %s failed", template_name)
        raise DocumentRenderError(
            _("文书生成失败（%(template)s：%(error)s）。案件数据未作任何修改，请稍后重试或联系管理员。")
            % {"template": template_name, "error": type(exc).__name__}) from exc


# --- the PDF as written ---------------------------------------------------------------------------

def _whole_seconds(metadata: Any) -> None:
    """Creation and modification dates to the second, in the zone they were given in.

    WeasyPrint writes the same W3C date to the XMP packet (``xmp:CreateDate``) and to the
    Info dictionary (``/CreationDate``), but the Info format has no fractions of a second:
    with microseconds the two would differ, which PDF/A forbids (ISO 19005-1 §6.7.3).
    """
    for attribute in ("created", "modified"):
        value = getattr(metadata, attribute, None)
        if not value:
            continue
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            continue  # a date to the day or month: nothing finer to drop
        setattr(metadata, attribute, parsed.replace(microsecond=0).isoformat())


def _weasyprint_attachments(files: Sequence[EmbeddedFile], fetcher: Any) -> list[Any]:
    from weasyprint import Attachment

    attachments = []
    for f in files:
        # WeasyPrint writes the dates as given with a "Z": hand them over in UTC.
        moment = f.modified.astimezone(datetime.UTC).replace(tzinfo=None, microsecond=0)
        attachments.append(Attachment(string=f.data, name=f.name, description=f.description, url_fetcher=fetcher,
                                      created=moment, modified=moment, relationship=f.relationship))
    return attachments


class _ArchivalFinisher:
    """What WeasyPrint's PDF needs before it is written; run on the pydyf objects (``write_pdf(finisher=…)``).

    - WeasyPrint declares empty /Pattern and /Shading dictionaries in every resource
      dictionary; a validator that cannot judge patterns and shadings then cannot approve
      the file. Empty ones are dropped (a document that really paints a gradient keeps them,
      and the archival test then fails, as it should).
    - Embedded files get the MIME type we know (WeasyPrint guesses it from the name), and
      every file asked for must be there: WeasyPrint only logs a file it could not read.
    - A file specification's /F (the name for readers that do not know /UF) is a byte
      string read as PDFDocEncoding: WeasyPrint writes the UTF-8 bytes, which read as
      mojibake. /F gets an ASCII form of the name (/UF keeps the name itself), and the
      EmbeddedFiles name tree is keyed and sorted by it (ISO 32000-1 §7.9.6).
    """

    def __init__(self, files: Sequence[EmbeddedFile]) -> None:
        self.mime_types = {f"<{f.md5}>": f.mime_type for f in files}

    def __call__(self, document: Any, pdf: Any) -> None:
        found: set[str] = set()
        for obj in pdf.objects:
            if isinstance(obj, dict):
                _drop_empty_resources(obj)
                resources = obj.get("Resources")
                if isinstance(resources, dict):
                    _drop_empty_resources(resources)
                if obj.get("Type") == "/Filespec" and "UF" in obj:
                    obj["F"] = _ascii_string(obj["UF"])
            extra = getattr(obj, "extra", None)
            if isinstance(extra, dict):
                if isinstance(extra.get("Resources"), dict):
                    _drop_empty_resources(extra["Resources"])
                if extra.get("Type") == "/EmbeddedFile":
                    checksum = extra["Params"]["CheckSum"]
                    if checksum in self.mime_types:
                        extra["Subtype"] = "/" + _pdf_name(self.mime_types[checksum])
                        found.add(checksum)
        missing = set(self.mime_types) - found
        if missing:
            raise RuntimeError(f"{len(missing)} file(s) could not be embedded")
        _sort_embedded_files(pdf)


def _ascii_string(name: Any) -> Any:
    """A pydyf string holding ``name`` with everything outside printable ASCII as "_"."""
    text = name.string if isinstance(name.string, str) else name.string.decode("utf-8", "replace")
    return type(name)("".join(c if 0x20 <= ord(c) < 0x7F else "_" for c in text).encode("ascii"))


def _sort_embedded_files(pdf: Any) -> None:
    """Key the EmbeddedFiles name tree by each file specification's /F, in byte order."""
    names = pdf.catalog.get("Names", {})
    if "EmbeddedFiles" not in names:
        return
    tree = pdf.objects[int(names["EmbeddedFiles"].split()[0])]
    pairs = []
    for reference in tree["Names"][1::2]:
        spec = pdf.objects[int(reference.split()[0])]
        pairs.append((bytes(spec["F"].string), spec["F"], reference))
    pairs.sort(key=lambda pair: pair[0])
    tree["Names"][:] = [item for _key, string, reference in pairs for item in (string, reference)]


def _drop_empty_resources(resources: dict[str, Any]) -> None:
    for key in ("Pattern", "Shading"):
        if key in resources and isinstance(resources[key], dict) and not resources[key]:
            del resources[key]


def _pdf_name(text: str) -> str:
    """``application/pdf`` as a PDF name's body: delimiters and anything outside ``!``–``~`` as #xx."""
    return "".join(c if 0x21 <= ord(c) <= 0x7E and c not in "()<>[]{}/%#" else f"#{ord(c):02x}" for c in text)
