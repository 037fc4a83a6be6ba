"""Pure rendering: templates and plain data in, PDF bytes out; fonts, text, escaping, errors."""
from __future__ import annotations

import copy

import pytest

from bench.documents import CHINESE, LATIN, agreement_context
from mediation.documents import fonts
from mediation.documents.render import DocumentRenderError, _offline_fetcher, render_pdf
from tests.documents import pdfcheck

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def chinese_pdf() -> bytes:
    return render_pdf("documents/agreement.html", agreement_context(CHINESE))


def test_the_agreement_is_two_a4_pages_with_page_numbers_and_the_case_number_on_every_page(chinese_pdf):
    reader = pdfcheck.reader(chinese_pdf)
    assert len(reader.pages) == 2
    for number, page in enumerate(reader.pages, 1):
        box = page.mediabox
        assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
        text = "".join((page.extract_text() or "").split())
        assert f"第{number}页共2页" in text
        assert "案号：奉工调〔2026〕0417号" in text
        assert "验证码7KQ2-M9XD-4HRT-0BWC" in text


def test_extraction_returns_the_names_amounts_and_rare_characters_as_themselves(chinese_pdf):
    text = pdfcheck.squeezed(chinese_pdf)
    for needle in ("奉工调〔2026〕0417号", "𠮷㛃", "王堃", "宁波喆珺精密机械制造有限公司", "陈喆", "林珺",
                   "¥51,000.00", "人民币伍万壹仟元整", "¥26,000.00", "人民币贰万陆仟元整", "劳动争议调解协议书"):
        assert needle in text
    for char in pdfcheck.RARE:
        assert char in text


def test_fonts_are_embedded_subsets_of_the_project_fonts_with_no_missing_glyph(chinese_pdf):
    fonts_used = pdfcheck.assert_fonts_sound(chinese_pdf)
    mapped = "".join(f.characters for f in fonts_used)
    for char in pdfcheck.RARE:
        assert char in mapped, f"no embedded glyph for {char}"
    # 𠮷 (CJK Ext B) is outside the fast core font: it comes from an extension piece.
    assert any("Ext" in f.name and "𠮷" in f.characters for f in fonts_used)


def test_markup_in_names_and_terms_is_printed_as_text():
    context = agreement_context(CHINESE)
    context["parties"][0]["name"] = "<script>alert(1)</script>"
    context["doc"]["terms"][0]["text"] = '<img src="http://example.org/x.png"><b>加粗</b> & 条款'
    html_free = pdfcheck.squeezed(render_pdf("documents/agreement.html", context))
    assert "<script>alert(1)</script>" in html_free
    assert '<imgsrc="http://example.org/x.png"><b>加粗</b>&条款' in html_free


def test_documents_never_fetch_anything_but_data_urls():
    fetcher = _offline_fetcher()
    with pytest.raises(ValueError):
        fetcher("http://example.org/tracker.png")
    with pytest.raises(ValueError):
        fetcher("file:///etc/passwd")


def test_the_latin_fill_of_the_same_template_renders_too():
    pdf = render_pdf("documents/agreement.html", agreement_context(LATIN), language=LATIN.language)
    text = pdfcheck.squeezed(pdf)
    assert "JiJie" in text and "RMB51,000.00" in text
    pdfcheck.assert_fonts_sound(pdf)


def test_a_template_error_is_one_clear_render_error():
    with pytest.raises(DocumentRenderError) as caught:
        render_pdf("documents/no-such-template.html", {})
    assert "文书生成失败" in str(caught.value) and "案件数据未作任何修改" in str(caught.value)


def test_missing_fonts_say_how_to_build_them(monkeypatch, tmp_path):
    monkeypatch.setenv(fonts.FONT_DIR_ENV, str(tmp_path))
    monkeypatch.delattr(fonts._per_thread, "fonts", raising=False)
    with pytest.raises(DocumentRenderError) as caught:
        render_pdf("documents/agreement.html", copy.deepcopy(agreement_context(CHINESE)))
    assert "make fonts" in str(caught.value) and fonts.BUILD_COMMAND in str(caught.value)


def test_pdf_a_variant_carries_its_identification_in_xmp():
    pdf = render_pdf("documents/agreement.html", agreement_context(CHINESE), pdf_variant="pdf/a-3b")
    xmp = pdfcheck.xmp(pdf)
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp


def test_an_unknown_pdf_variant_is_refused():
    with pytest.raises(DocumentRenderError):
        render_pdf("documents/agreement.html", agreement_context(CHINESE), pdf_variant="pdf/x")
