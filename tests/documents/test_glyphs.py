"""No missing glyph is ever issued: the fonts cover both Noto CJK faces, and a character in neither is refused.

Facts from the fonts themselves (Debian's fonts-noto-cjk, read with fontTools): 𱍐 U+31350 (CJK Ext G,
Unicode 13) is in neither Noto Serif CJK SC nor Noto Sans CJK SC; 𫟷 U+2B7F7 (CJK Ext C) is in Sans only.
Which characters print as a box is read from WeasyPrint's own warning (".notdef glyph rendered") when the
bundled fonts render them; which are default-ignorable, from Unicode's DerivedCoreProperties.txt.
"""
from __future__ import annotations

import html
import io
import logging
import re
import unicodedata
import zipfile
from functools import cache
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from fontTools.ttLib import TTCollection

from mediation import services as ms
from mediation.documents import export as exporting
from mediation.documents import fonts, glyphs, services
from mediation.documents.context import Stamp, prepare, subjects_for
from mediation.documents.models import DocumentKind, IssuedDocument
from tests.documents import pdfcheck
from tests.documents.conftest import full_case, rare_case, stored_files

NOTO = Path("/usr/share/fonts/opentype/noto")
UNICODE_PROPERTIES = Path("/usr/share/unicode/DerivedCoreProperties.txt")  # Debian's unicode-data
IN_NEITHER = "\U00031350"  # 𱍐
SANS_ONLY = "\U0002B7F7"  # 𫟷


@cache
def face_cmap(file_name: str, family: str) -> frozenset[int]:
    """Characters of one face of a Noto CJK collection."""
    for font in TTCollection(str(NOTO / file_name), lazy=True).fonts:
        if font["name"].getDebugName(1) == family:
            return frozenset(font.getBestCmap())
    raise AssertionError(f"no {family} in {file_name}")


def serif() -> frozenset[int]:
    family = "Noto Serif CJK SC"
    return face_cmap("NotoSerifCJK-Regular.ttc", family) | face_cmap("NotoSerifCJK-Bold.ttc", family)


def sans() -> frozenset[int]:
    family = "Noto Sans CJK SC"
    return face_cmap("NotoSansCJK-Regular.ttc", family) | face_cmap("NotoSansCJK-Bold.ttc", family)


def test_the_examples_are_what_the_noto_fonts_say():
    assert ord(IN_NEITHER) not in serif() | sans()
    assert ord(SANS_ONLY) in sans() and ord(SANS_ONLY) not in serif()


def test_every_character_either_noto_face_has_is_covered_in_every_stack_and_weight():
    covered = glyphs.covered_codepoints()
    assert covered is not None
    assert not (serif() | sans()) - covered


def test_only_drawn_characters_missing_from_every_font_are_reported():
    assert glyphs.missing_characters(f"王{IN_NEITHER}丽{IN_NEITHER}") == [IN_NEITHER]
    assert glyphs.missing_characters(f"王{SANS_ONLY} 𠮷㛃堃 Zoë") == []
    # Spaces, line breaks, tabs, zero-width and format characters, soft hyphen, variation selectors: not drawn.
    not_drawn = "甲\u200b乙\u3000丙\t丁\r\n戊\u00ad己\u2009庚\u200d辛\ufe0f壬\U000E0100癸\ufeff"
    assert glyphs.missing_characters(not_drawn) == []
    assert glyphs.missing_characters("\ue000") == ["\ue000"]  # private use: a box


#: Control and format characters no bundled font has, each printed as a box (.notdef) when rendered: C0 and
#: C1 controls and DEL, Arabic/Syriac/Kaithi number signs and end of ayah, interlinear annotation, Egyptian
#: hieroglyph joiner, LINE SEPARATOR; and the default-ignorable characters HarfBuzz draws all the same
#: (U+180F Mongolian free variation selector four, U+1BCA0 shorthand format letter overlap).
BOXED = ("\u0600", "\u06dd", "\u070f", "\u08e2", "\U000110bd", "\ufff9", "\U00013430", "\u2028",
         "\u0080", "\u0085", "\u009f", "\x01", "\x0b", "\x7f", "\u180f", "\U0001bca0")
#: Characters with nothing to draw: zero-width space, BOM, soft hyphen, variation selectors (standard,
#: ideographic, Mongolian), word joiner, zero-width joiner, directional marks, tags, tab and line breaks,
#: spaces (ideographic, thin, no-break).
NOT_DRAWN = ("\u200b", "\ufeff", "\u00ad", "\ufe0f", "\U000e0100", "\u180b", "\u2060", "\u200d", "\u200e",
             "\u2066", "\U000e0041", "\t", "\n", "\r", "\r\n", "\u3000", "\u2009", "\u00a0")
#: Default-ignorable characters that HarfBuzz (WeasyPrint's shaper) still draws, a box when the font lacks
#: them: the Hangul fillers and the shorthand format controls (on purpose, harfbuzz/harfbuzz#503) and
#: U+180F (Unicode 14, newer than HarfBuzz's table).
DRAWN_IGNORABLES = {0x115F, 0x1160, 0x3164, 0xFFA0, 0x180F, *range(0x1BCA0, 0x1BCA4)}


def boxes_rendered(texts, caplog) -> set[str]:
    """The characters WeasyPrint prints as .notdef when the bundled fonts render ``texts``, one paragraph each."""
    from weasyprint import HTML

    font_config, font_css = fonts.weasyprint_fonts()
    body = "".join(f"<p>王{html.escape(text)}堃</p>" for text in texts)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        HTML(string=f"<html><body>{body}</body></html>").write_pdf(stylesheets=[font_css], font_config=font_config)
    return {chr(int(found, 16)) for record in caplog.records if ".notdef" in record.getMessage()
            for found in re.findall(r"\(U\+([0-9A-F]+)\)$", record.getMessage())}


def test_the_examples_print_as_a_box_or_as_nothing(caplog):
    assert boxes_rendered(BOXED, caplog) == set(BOXED)
    assert boxes_rendered(NOT_DRAWN, caplog) == set()


@pytest.mark.parametrize("char", BOXED, ids=lambda c: f"U+{ord(c):04X}")
def test_a_control_or_format_character_printed_as_a_box_is_reported(char):
    assert glyphs.missing_characters(f"王{char}堃") == [char]
    assert glyphs.missing_characters(f"Wang {char}") == [char]  # in an all-ASCII value too


@pytest.mark.parametrize("text", NOT_DRAWN, ids=lambda t: "+".join(f"U+{ord(c):04X}" for c in t))
def test_a_character_with_nothing_to_draw_is_never_reported(text):
    assert glyphs.missing_characters(f"王{text}堃") == []
    assert glyphs.missing_characters(f"Wang{text}Kun") == []


def default_ignorable() -> set[int]:
    if not UNICODE_PROPERTIES.exists():
        pytest.skip("Debian's unicode-data is not installed")
    found: set[int] = set()
    for line in UNICODE_PROPERTIES.read_text(encoding="utf-8").splitlines():
        fields = [field.strip() for field in line.split("#")[0].split(";")]
        if len(fields) == 2 and fields[1] == "Default_Ignorable_Code_Point":
            start, _sep, end = fields[0].partition("..")
            found.update(range(int(start, 16), int(end or start, 16) + 1))
    return found


def test_only_default_ignorables_tabs_line_breaks_and_spaces_count_as_not_drawn():
    spaces = {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Zs"} - {0x1680}  # Ogham: a stroke
    expected = (default_ignorable() - DRAWN_IGNORABLES) | {0x09, 0x0A, 0x0D} | spaces
    assert {cp for cp in range(0x110000) if not glyphs.is_drawn(chr(cp))} == expected


def test_nothing_the_check_lets_through_prints_as_a_box(caplog):
    covered = glyphs.covered_codepoints()
    assert covered is not None
    passed = [chr(cp) for cp in range(0x110000)
              if cp not in covered and not 0xD800 <= cp <= 0xDFFF and not glyphs.is_drawn(chr(cp))]
    assert len(passed) > 4000  # the tags and supplementary variation selectors among them
    assert boxes_rendered(passed, caplog) == set()


def issue_refusal(case, kind, subject_id=0, actor=None):
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        services.document_issue(case_id=case.pk, kind=kind, subject_id=subject_id,
                                actor=actor or case.mediators.first())
    return " ".join(refused.value.messages)


def test_a_name_no_font_draws_is_refused_naming_the_field_and_the_character_and_nothing_is_written(world, media):
    case, agreement = rare_case(world, applicants=(f"王{IN_NEITHER}",))
    for kind, subject_id in ((DocumentKind.AGREEMENT, agreement.pk), (DocumentKind.APPLICATION_RECORD, 0),
                             (DocumentKind.CASE_FILE, 0)):
        message = issue_refusal(case, kind, subject_id, world.mediator_a)
        assert "申请人姓名" in message and "“𱍐”（U+31350）" in message
        assert "parties" not in message
    assert not IssuedDocument.objects.filter(case=case).exists()
    assert stored_files() == []


def test_a_name_with_a_format_character_printed_as_a_box_is_refused(world, media):
    case, _agreement = rare_case(world, applicants=("王\u06dd堃",))  # U+06DD ARABIC END OF AYAH
    message = issue_refusal(case, DocumentKind.APPLICATION_RECORD, 0, world.mediator_a)
    assert "申请人姓名" in message and "（U+06DD）" in message
    assert not IssuedDocument.objects.filter(case=case).exists() and stored_files() == []


def test_the_issue_button_shows_the_refusal_on_the_case_page(world, client, media):
    from django.contrib.messages import get_messages
    from django.urls import reverse

    case, _agreement = rare_case(world, applicants=(f"王{IN_NEITHER}",))
    client.force_login(world.mediator_a)
    response = client.post(reverse("documents:issue", args=[case.pk]), {"kind": DocumentKind.APPLICATION_RECORD},
                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 302
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "申请人姓名" in shown and "“𱍐”（U+31350）" in shown
    assert not IssuedDocument.objects.filter(case=case).exists() and stored_files() == []


def test_an_agreement_term_no_font_draws_is_named_as_such(world, media):
    case, agreement = rare_case(world, terms=[f"被申请人向申请人赔礼道歉{IN_NEITHER}。"])
    message = issue_refusal(case, DocumentKind.AGREEMENT, agreement.pk, world.mediator_a)
    assert "协议条款" in message and "U+31350" in message and "申请人姓名" not in message
    assert not IssuedDocument.objects.filter(case=case).exists() and stored_files() == []


def test_a_session_record_no_font_draws_is_named_as_such(world, media):
    from django.utils import timezone

    case, _agreement = rare_case(world)
    session = ms.session_record(case_id=case.pk, actor=world.mediator_a, held_at=timezone.now(), place="调解室",
                                attendees="双方", record=f"申请人陈述：{IN_NEITHER}。", result="继续调解",
                                mediators=[world.mediator_a])
    message = issue_refusal(case, DocumentKind.SESSION_RECORD, session.pk, world.mediator_a)
    assert "调解笔录" in message and "“𱍐”（U+31350）" in message
    assert not IssuedDocument.objects.filter(case=case).exists() and stored_files() == []


def test_the_case_file_export_refuses_that_case_and_registers_nothing(world, media, settings):
    settings.DOCUMENTS_EXPORT_WORKERS = 1
    case, _agreement = rare_case(world, applicants=(f"王{IN_NEITHER}",))
    target = io.BytesIO()
    with translation.override("zh-hans"):
        summary = exporting.export_to_file(target, user=world.supervisor_a, cases=[case], workers=1)
    assert summary.exported == 0 and summary.failed == 1
    status = summary.rows[0].status
    assert "申请人姓名" in status and "“𱍐”（U+31350）" in status
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == [exporting.MANIFEST_NAME]
    assert not IssuedDocument.objects.filter(case=case).exists() and stored_files() == []


def test_a_name_only_noto_sans_has_is_printed_from_a_bundled_font_never_the_hosts(world, media):
    case, agreement = rare_case(world, applicants=(f"王{SANS_ONLY}",))
    document = services.document_issue(case_id=case.pk, kind=DocumentKind.AGREEMENT, subject_id=agreement.pk,
                                       actor=world.mediator_a)
    pdf = pdfcheck.stored(document)
    embedded = pdfcheck.assert_fonts_sound(pdf)  # project fonts only, every glyph with an outline
    # The name is body text: the Song stack itself has the character (its Sans-derived fallback piece).
    assert any(SANS_ONLY in font.characters and "MediationSong" in font.name for font in embedded)
    assert f"王{SANS_ONLY}" in pdfcheck.squeezed(pdf)


def test_the_font_configuration_never_reaches_the_hosts_fonts():
    # א U+05D0 is in no Noto CJK face, but a host may well have it (DejaVu Sans on Debian): it must come out
    # as a project font's box, never from a host font (and the glyph check keeps it out of documents).
    assert 0x5D0 not in serif() | sans()
    from weasyprint import HTML

    font_config, font_css = fonts.weasyprint_fonts()
    pdf = HTML(string="<p>申请人 \u05d0</p>").write_pdf(stylesheets=[font_css], font_config=font_config)
    names = [font.name for font in pdfcheck.fonts(pdf)]
    assert names and all(pdfcheck._SUBSET.sub("", name).startswith("Mediation") for name in names), names


def test_every_value_of_every_document_has_a_human_label(world):
    import datetime

    case = full_case(world)
    stamp = Stamp(code="7KQ2M9XD4HRT0BWC", issued_at=datetime.datetime.now(datetime.UTC),
                  verify_url="http://127.0.0.1:8000/v/7KQ2-M9XD-4HRT-0BWC")
    for subject in subjects_for(case):
        context = prepare(case, subject, stamp).context
        unlabelled = {".".join(keys) for keys, party, _text in glyphs.strings(context)
                      if glyphs.label_for(keys, party) is None}
        assert not unlabelled, subject.kind
