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

import logging
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
    try:
        html = render_html(template_name, context, language=language)
        from weasyprint import HTML

        font_config, font_css = weasyprint_fonts()
        return HTML(string=html, url_fetcher=_offline_fetcher()).write_pdf(
            stylesheets=[font_css], font_config=font_config, pdf_variant=pdf_variant)
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
