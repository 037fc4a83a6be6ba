"""The case file (卷宗) and the agreement's signing loop: which paper the file names as the agreement.

Rules (docs/documents.md, "The life of a document"; DOMAIN.md §6; 劳动争议调解仲裁法 art. 14):

* the agreement is the signing version the parties signed (``Agreement.signing_document``), or for an
  agreement effective without one, its frozen print; a draft's reading copy never binds anyone, and a
  signing version voided by a rewrite of the draft never took effect — so the index (卷内目录) names
  the former, never the latter;
* an archivist must see from the register (文书登记清单) and from the attachments panel (/Desc) which
  print is the agreement: each registered document carries its standing (草稿（供审阅）, 待签署,
  已生效, 已被更正版本取代, 已作废, nothing for ordinary documents);
* the scan of a void print is not the signed original of the agreement (ISO 32000-2 §14.13.2: /Source
  is the original a document presents);
* the 办理经过 records the agreement's own events: drafted, each signature or seal (its kind, who, the
  date on the paper), effective, superseded by a correction;
* a name is never broken across lines, nor a move such as 联合调解 → 已达成协议 spread over several.
"""
from __future__ import annotations

import io
import re
from typing import Any

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from mediation import services as ms
from mediation.documents import services
from mediation.documents.context import case_file_facts
from mediation.documents.models import DocumentKind, IssuedDocument, SignedCopy
from mediation.models import Agreement, Attachment, PartyRole, Signature
from tests.documents import pdfcheck
from tests.documents.conftest import TODAY, full_case, make_effective, rare_case
from tests.documents.pdfstructure import Structure
from tests.lifecycle import print_for_signing, signing_code


def _facts(case):
    with translation.override("zh-hans"):
        return case_file_facts(case)


def _reading_copy(world, agreement) -> IssuedDocument:
    return services.document_issue(case_id=agreement.case_id, kind=DocumentKind.AGREEMENT, actor=world.mediator_a,
                                   subject_id=agreement.pk, stage="draft")


def _scan() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 0, 0)).save(out, format="PNG")
    return SimpleUploadedFile("签署页扫描.png", out.getvalue(), "image/png")


def _agreement_entries(facts) -> list[dict]:
    return [s for s in facts["sections"] if s["title"].startswith("调解协议书")]


def test_the_index_names_the_signed_version_not_a_reading_copy_printed_after_it(world, media):
    case, agreement = rare_case(world)
    signing = print_for_signing(world.mediator_a, agreement)
    reading = _reading_copy(world, agreement)  # printed later: the newest print of the agreement
    make_effective(world, case, agreement)  # signed on the signing version
    assert reading.created_at > signing.created_at
    entries = _agreement_entries(_facts(case))
    assert [e["registered"]["code"] for e in entries] == [signing.code_display]
    assert entries[0]["registered"]["standing"] == "已生效"


def test_a_draft_names_its_signing_version_awaiting_signatures_and_no_reading_copy(world, media):
    case, agreement = rare_case(world)
    case.refresh_from_db()  # being mediated
    signing = print_for_signing(world.mediator_a, agreement)
    _reading_copy(world, agreement)
    registered = {e["title"]: e["registered"] for e in _agreement_entries(_facts(case))}
    assert registered == {"调解协议书（草稿）": None,
                          "调解协议书（签署版）": {"code": signing.code_display, "version": signing.version,
                                               "sha256": signing.sha256, "standing": "待签署"}}


def _spec_by_sha(pdf: pikepdf.Pdf) -> dict[str, Any]:
    import hashlib

    return {hashlib.sha256(spec.EF.F.read_bytes()).hexdigest(): spec for spec in pdf.Root.AF}


def test_the_register_and_the_attachments_panel_tell_the_void_print_from_the_agreement(world, media):
    case, agreement = rare_case(world)
    void = print_for_signing(world.mediator_a, agreement)
    ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement), actor=world.mediator_a,
                        kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
    # A scan kept with the print while it was being signed (as could be done before scans were taken only
    # of effective agreements): the draft is then rewritten, which voids that print.
    void_scan = SignedCopy.objects.create(document=void, attachment=ms.attachment_add(
        case_id=case.pk, actor=world.mediator_a, upload=_scan(), kind=Attachment.Kind.SIGNED_COPY,
        description=f"调解协议书（签署版） 签署原件（验证码 {void.code_display}）"))
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠2026年8月至10月工资（修改）",
                       terms=["被申请人于2027年1月15日前支付申请人工资。"])  # the printed paper is void now
    reading = _reading_copy(world, agreement)
    make_effective(world, case, agreement)
    agreement.refresh_from_db()
    effective = agreement.signing_document
    assert effective is not None and effective.pk not in (void.pk, reading.pk)
    notice = services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    case_file = services.document_issue(case_id=case.pk, kind=DocumentKind.CASE_FILE, actor=world.supervisor_a)
    data = pdfcheck.stored(case_file)

    structure = Structure(data)
    rows = [[re.sub(r"\s+", "", structure.text(cell)) for cell in row] for row in structure.rows()]
    standing = {d.code_display: next(r[-1] for r in rows if d.code_display in r)
                for d in (void, reading, effective, notice)}
    assert standing == {void.code_display: "已作废", reading.code_display: "草稿（供审阅）",
                        effective.code_display: "已生效", notice.code_display: ""}
    toc = re.sub(r"\s+", "", next(p for p in pdfcheck.pages_text(data) if "卷内目录" in p))
    assert effective.code_display in toc and void.code_display not in toc and reading.code_display not in toc

    pdf = pikepdf.open(io.BytesIO(data))
    specs = _spec_by_sha(pdf)
    assert "已作废" in str(specs[void.sha256].Desc) and "已生效" not in str(specs[void.sha256].Desc)
    assert "已生效" in str(specs[effective.sha256].Desc)
    assert "草稿（供审阅）" in str(specs[reading.sha256].Desc)
    scan = specs[void_scan.attachment.sha256]
    assert "签署原件" not in str(scan.Desc) and "已作废签署版的扫描件" in str(scan.Desc)
    assert str(scan.AFRelationship) == "/Supplement"  # not an original the case file presents
    assert "已作废签署版的扫描件" in pdfcheck.squeezed(data)  # so the list of attachments calls it


def test_the_timeline_shows_the_agreements_own_events(world, media):
    case, first = rare_case(world)
    make_effective(world, case, first)
    second = ms.agreement_correct(case_id=case.pk, actor=world.mediator_a)
    make_effective(world, case, second)
    first.refresh_from_db()
    assert first.status == Agreement.Status.SUPERSEDED and second.status == Agreement.Status.EFFECTIVE
    events = [(t["what"], t["note"]) for t in _facts(case)["timeline"]]
    whats = [w for w, _note in events]
    signers = len(case.parties.exclude(role=PartyRole.AGENT)) + 2  # the parties, the mediator, the seal
    for version in (1, 2):
        assert whats.count(f"起草调解协议（协议第{version}版）") == 1
        assert whats.count(f"登记签章（协议第{version}版）") == signers
        assert whats.count(f"调解协议生效（协议第{version}版）") == 1
    assert whats.count("协议第1版被更正版本取代") == 1
    # In the order things happened: the correction is superseding only once it takes effect.
    assert whats.index("调解协议生效（协议第1版）") < whats.index("起草调解协议（协议第2版）") \
        < whats.index("协议第1版被更正版本取代")
    notes = [n for w, n in events if w == "登记签章（协议第1版）"]
    assert f"当事人签字或盖章：𠮷㛃（{TODAY:%Y-%m-%d}）" in notes
    assert f"调解组织盖章：{case.organisation.name}（{TODAY:%Y-%m-%d}）" in notes
    assert f"生效日期 {TODAY:%Y-%m-%d}" in [n for w, n in events if w == "调解协议生效（协议第2版）"]


@pytest.fixture
def named_mediator(world):
    world.mediator_a.first_name, world.mediator_a.last_name = "邬晓燕", ""
    world.mediator_a.save(update_fields=["first_name", "last_name"])
    return world


def test_in_the_timeline_a_name_and_a_move_each_stay_on_one_line(named_mediator, media):
    world = named_mediator
    case = full_case(world)
    case_file = services.document_issue(case_id=case.pk, kind=DocumentKind.CASE_FILE, actor=world.supervisor_a)
    structure = Structure(pdfcheck.stored(case_file))
    cells = [cell for row in structure.rows() for cell in row]
    names = [c for c in cells if re.sub(r"\s+", "", structure.text(c)) == "邬晓燕"]
    moves = [c for c in cells if re.sub(r"\s+", "", structure.text(c)) == "联合调解→已达成协议"]
    assert names and moves
    assert {structure.lines(c) for c in names + moves} == {1}
