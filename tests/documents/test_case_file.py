"""The case file (卷宗): one PDF/A-3b with cover, index, every document and the timeline."""
from __future__ import annotations

import re

import pytest

from mediation.documents import services
from mediation.documents.models import DocumentKind
from tests.documents import pdfcheck
from tests.documents.conftest import full_case


@pytest.fixture
def case_file(world, media):
    case = full_case(world)
    # Some documents registered before the case file, so its register lists them.
    agreement = case.effective_agreement()
    services.document_issue(case_id=case.pk, kind=DocumentKind.AGREEMENT, subject_id=agreement.pk,
                            actor=world.mediator_a)
    document = services.document_issue(case_id=case.pk, kind=DocumentKind.CASE_FILE, actor=world.supervisor_a)
    return case, document, pdfcheck.stored(document)


def test_the_case_file_is_pdf_a_3b_with_its_identification_in_xmp(case_file):
    _case, document, pdf = case_file
    assert document.pdf_variant == "pdf/a-3b"
    xmp = pdfcheck.xmp(pdf)
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    reader = pdfcheck.reader(pdf)
    assert "/OutputIntents" in reader.root_object  # the colour profile PDF/A requires
    assert reader.metadata is not None and reader.metadata.title is not None
    assert reader.metadata.title.endswith("卷宗")


def test_every_font_of_the_case_file_is_embedded_with_no_missing_glyph(case_file):
    _case, _document, pdf = case_file
    fonts = pdfcheck.assert_fonts_sound(pdf)
    assert all(f.program == "/FontFile2" for f in fonts)
    assert "𠮷" in "".join(f.characters for f in fonts)


def test_the_case_file_holds_cover_index_every_document_and_the_timeline(case_file):
    case, _document, pdf = case_file
    pages = pdfcheck.pages_text(pdf)
    text = re.sub(r"\s+", "", "".join(pages))
    for heading in ("劳动争议调解案卷", "卷内目录", "口头申请笔录", "受理通知书", "调解笔录", "劳动争议调解协议书",
                    "回访记录", "劳动争议调解案件结案审批表", "办理经过", "证据和附件清单", "文书登记清单"):
        assert heading in text, heading
    assert "奉档2026-017" in text and "𠮷㛃" in text and "人民币壹万贰仟元整" in text
    # Every page carries the case number and "第 X 页 共 Y 页".
    for number, page in enumerate(pages, 1):
        squeezed = re.sub(r"\s+", "", page)
        assert case.number in squeezed and f"第{number}页共{len(pages)}页" in squeezed
    # The index gives page numbers (leader dots then the page of each section).
    index = re.sub(r"\s+", "", pages[1])
    assert re.search(r"劳动争议调解协议书|调解协议书", index) and re.search(r"\.{3,}\d+", index)


def test_the_register_in_the_case_file_lists_documents_issued_before_it(case_file):
    case, _document, pdf = case_file
    agreement_pdf = case.issued_documents.get(kind=DocumentKind.AGREEMENT)
    assert agreement_pdf.code_display in re.sub(r"\s+", "", "".join(pdfcheck.pages_text(pdf)))
