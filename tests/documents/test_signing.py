"""The signing loop: the paper the parties sign is the registered document whose code verifies it.

Rules (劳动争议调解仲裁法 art. 14: the agreement is signed or sealed by the parties, signed by the
mediator and sealed by the organisation, and takes effect on service to both sides; DOMAIN.md §6: once
effective it never changes, a correction is a new version):

* a draft prints as a reading copy marked 草稿, or as the signing version (签署版): no draft banner, a
  blank line for every signature the agreement needs, the seal block, 以下无正文 after the last clause,
  the case number and 第 x 页 共 y 页 on every page;
* every original is printed from the same registered bytes: asking again returns the same document;
* signatures are recorded only against a signing version; the last one makes that very document the
  effective agreement (same code, same bytes), so the signed paper verifies;
* rewriting the draft voids the printed signing version (its verification page says so);
* the signed scan is kept with the document it is the paper of.
"""
from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from mediation import services as ms
from mediation.audit.models import AuditEvent
from mediation.documents import registry, services
from mediation.documents.context import find_subject, prepare
from mediation.documents.context import subjects_for as find_subjects
from mediation.documents.models import DocumentKind, IssuedDocument, SignedCopy
from mediation.documents.render import render_pdf
from mediation.documents.selectors import document_standing
from mediation.documents.services import Stamp
from mediation.models import Agreement, Attachment, PartyRole, Signature
from tests.documents import pdfcheck
from tests.documents.conftest import TODAY, make_effective, rare_case, stored_files
from tests.lifecycle import signing_code
from workflows.errors import ActionNotAllowed

K = DocumentKind


def signing_version(world, agreement) -> IssuedDocument:
    return services.document_issue(case_id=agreement.case_id, kind=K.AGREEMENT, subject_id=agreement.pk,
                                   actor=world.mediator_a, stage="signing")


def sign_all(world, case, agreement) -> None:
    """Every signature the agreement needs, on its signing version (printed already: the same one)."""
    make_effective(world, case, agreement)


class TestTheSigningVersion:
    def test_it_has_no_draft_banner_and_a_blank_line_for_every_signature(self, world, media):
        case, agreement = rare_case(world)
        document = signing_version(world, agreement)
        assert document.stage == "signing" and not document.frozen
        text = pdfcheck.squeezed(pdfcheck.stored(document))
        assert "草稿" not in text
        # One line per signing party: two applicants (persons sign), the employer (seals, with a line
        # for its legal representative or agent), the mediator; then the organisation's seal block.
        assert text.count("申请人（签名）：") == 2
        assert text.count("被申请人（盖章）：") == 1
        assert "法定代表人或委托代理人（签名）：" in text
        assert "调解员（签名）：" in text and "（印章）" in text
        # Blank: no date is printed in the signature block, only the 年 月 日 to fill in by hand.
        block = text[text.index("以下无正文"):]
        assert not re.search(r"\d{4}年\d{1,2}月\d{1,2}日", block.split("验证码")[0])
        assert text.count("年月日") >= 4  # parties, legal representative, mediator, seal

    def test_nothing_can_be_added_after_the_last_clause(self, world, media):
        case, agreement = rare_case(world)
        text = pdfcheck.squeezed(pdfcheck.stored(signing_version(world, agreement)))
        # 以下无正文 comes after the last clause (the copies clause) and before the first signature line.
        assert text.index("份，") < text.index("（以下无正文）") < text.index("（签名）：")

    def test_every_page_carries_the_case_number_and_page_x_of_y(self, world, media):
        long_terms = [f"第{i}项约定：" + "被申请人按约定履行相应义务，双方确认无其他争议。" * 6 for i in range(1, 16)]
        case, agreement = rare_case(world, terms=long_terms)
        pages = pdfcheck.pages_text(pdfcheck.stored(signing_version(world, agreement)))
        assert len(pages) >= 2
        for i, page in enumerate(pages, 1):
            flat = re.sub(r"\s+", "", page)
            assert case.number in flat
            assert f"第{i}页共{len(pages)}页" in flat

    def test_every_original_is_printed_from_the_same_registered_bytes(self, world, media):
        case, agreement = rare_case(world)
        first = signing_version(world, agreement)
        files = stored_files()
        again = signing_version(world, agreement)
        assert again.pk == first.pk and again.reused and again.verification_code == first.verification_code
        assert stored_files() == files

    def test_the_reading_copy_and_the_signing_version_are_different_documents(self, world, media):
        case, agreement = rare_case(world)
        reading = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                          actor=world.mediator_a)
        signing = signing_version(world, agreement)
        assert reading.stage == "draft" and signing.stage == "signing"
        assert reading.verification_code != signing.verification_code
        assert document_standing(reading).key == "draft"
        assert document_standing(signing).key == "awaiting_signatures"


class TestSigning:
    def test_the_last_signature_makes_the_signed_paper_the_effective_agreement(self, world, media):
        case, agreement = rare_case(world)
        printed = signing_version(world, agreement)
        files = stored_files()
        sign_all(world, case, agreement)
        agreement.refresh_from_db()
        assert agreement.status == Agreement.Status.EFFECTIVE and agreement.signing_document_id == printed.pk
        issued = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                         actor=world.supervisor_a)
        assert issued.pk == printed.pk and issued.sha256 == printed.sha256
        assert stored_files() == files  # nothing re-rendered
        assert document_standing(printed).key == "effective"

    def test_rewriting_the_draft_voids_the_printed_version_and_clears_its_signatures(self, world, media):
        case, agreement = rare_case(world)
        printed = signing_version(world, agreement)
        ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                            actor=world.mediator_a, kind=Signature.Kind.MEDIATOR,
                            signed_on=TODAY)
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="拖欠工资（修改）",
                           terms=["被申请人于2027年1月15日前支付申请人工资。"])
        agreement.refresh_from_db()
        assert agreement.signing_document_id is None and not agreement.signatures.exists()
        assert document_standing(printed).key == "void"
        with pytest.raises(ActionNotAllowed):
            ms.signature_record(agreement_id=agreement.pk, document_code=signing_code(agreement),
                                actor=world.mediator_a, kind=Signature.Kind.SEAL,
                                signed_on=TODAY)
        reprinted = signing_version(world, agreement)
        assert reprinted.pk != printed.pk and reprinted.verification_code != printed.verification_code
        assert "2027年1月15日" in pdfcheck.squeezed(pdfcheck.stored(reprinted))

    def test_signatures_from_a_void_print_do_not_count_on_the_new_one(self, world, media):
        """Signatures are recorded against the code printed on the signed paper: after a rewrite the old
        paper is void, and what was signed on it cannot be entered as signatures of the new print."""
        case, agreement = rare_case(world)
        void = signing_version(world, agreement)
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="改", terms=["改。"])
        current = signing_version(world, agreement)
        from django.core.exceptions import ValidationError

        for code in (void.verification_code, "", "0000-0000-0000-0000"):
            with pytest.raises(ValidationError) as refused:
                ms.signature_record(agreement_id=agreement.pk, document_code=code, actor=world.mediator_a,
                                    kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
            assert "document_code" in refused.value.message_dict
        assert not agreement.signatures.exists()
        # Typed from the paper: case, spaces and hyphens do not matter.
        typed = current.code_display.lower().replace("-", " ")
        ms.signature_record(agreement_id=agreement.pk, document_code=typed, actor=world.mediator_a,
                            kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
        assert agreement.signatures.count() == 1

    @pytest.mark.parametrize("move", ["case_terminate", "case_withdraw"])
    def test_a_case_that_ended_without_agreement_has_nothing_to_print_or_sign(self, world, media, move):
        """DOMAIN.md §3: only a case being mediated settles, and only with an effective agreement; once
        terminated (调解不成) or withdrawn, its draft is neither printed for signing nor signed."""
        from workflows import services as ws

        case, agreement = rare_case(world)
        printed = signing_version(world, agreement)
        kwargs = {"reason": "调解不成"} if move == "case_terminate" else {"reason": "申请人撤回"}
        getattr(ws, move)(case_id=case.pk, actor=world.mediator_a, **kwargs)
        with pytest.raises(ActionNotAllowed):
            ms.signature_record(agreement_id=agreement.pk, document_code=printed.verification_code,
                                actor=world.mediator_a, kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
        case.refresh_from_db()
        assert not agreement.signatures.exists()
        assert all(s.stage != "signing" for s in find_subjects(case))

    def test_a_print_of_a_draft_rewritten_while_it_rendered_is_not_registered(self, world, media):
        case, agreement = rare_case(world)
        case.refresh_from_db()
        subject = find_subject(case, K.AGREEMENT, agreement.pk, "signing")
        assert subject is not None
        stamp = Stamp(code="0" * 15 + "1", issued_at=datetime.datetime.now(datetime.UTC), verify_url="http://x/")
        prepared = prepare(case, subject, stamp)
        pdf = render_pdf(prepared.template_name, prepared.context)
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="改过的争议事项",
                           terms=["新的条款。"])
        with pytest.raises(ActionNotAllowed, match="修改"):
            registry.register(prepared, pdf, author=world.mediator_a)
        agreement.refresh_from_db()
        assert agreement.signing_document_id is None
        assert not IssuedDocument.objects.exists() and not stored_files()

    def test_an_agreement_signed_before_signing_versions_renders_with_its_recorded_signatures(self, world, media):
        """Agreements imported from the paper ledger (or signed before this loop) have no signing version:
        their PDF is rendered once from the recorded signatures, frozen, and says so."""
        case, agreement = rare_case(world)
        Signature.objects.create(agreement=agreement, kind=Signature.Kind.MEDIATOR, signer_name="调解员甲",
                                 signed_on=TODAY, recorded_by=world.mediator_a)
        Agreement.objects.filter(pk=agreement.pk).update(status=Agreement.Status.EFFECTIVE, effective_on=TODAY)
        document = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                           actor=world.mediator_a)
        assert document.frozen and document.stage == ""
        text = pdfcheck.squeezed(pdfcheck.stored(document))
        assert "调解员甲" in text and "2026年11月20日" in text and "依登记的签名、盖章信息生成" in text
        assert document_standing(document).key == "effective"


class TestSignedCopies:
    def scan(self, name="signed.pdf", body=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"):
        return SimpleUploadedFile(name, body, content_type="application/pdf")

    def test_the_scan_is_kept_with_the_document_and_on_the_record(self, world, media):
        case, agreement = rare_case(world)
        printed = signing_version(world, agreement)
        # Not while it is still being signed: a rewrite could still void that paper.
        with pytest.raises(ActionNotAllowed):
            services.signed_copy_add(document_id=printed.pk, actor=world.mediator_a, upload=self.scan())
        assert not Attachment.objects.exists()
        sign_all(world, case, agreement)
        copy = services.signed_copy_add(document_id=printed.pk, actor=world.mediator_a, upload=self.scan())
        assert copy.document == printed and copy.attachment.kind == Attachment.Kind.SIGNED_COPY
        assert copy.attachment.case_id == case.pk and printed.code_display in copy.attachment.description
        assert AuditEvent.objects.filter(action="document.signed_copy", object_id=str(printed.pk)).exists()

    def test_no_scan_for_a_reading_copy_or_a_void_print(self, world, media):
        case, agreement = rare_case(world)
        reading = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                          actor=world.mediator_a)
        printed = signing_version(world, agreement)
        ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="改", terms=["改。"])
        for document in (reading, printed):
            with pytest.raises(ActionNotAllowed):
                services.signed_copy_add(document_id=document.pk, actor=world.mediator_a, upload=self.scan())
        assert not SignedCopy.objects.exists() and not Attachment.objects.exists()

    def test_only_pdf_or_images_and_nothing_kept_when_refused(self, world, media):
        from django.core.exceptions import ValidationError

        case, agreement = rare_case(world)
        printed = signing_version(world, agreement)
        office = SimpleUploadedFile("a.docx", b"PK\x03\x04" + b"\0" * 100, content_type="application/zip")
        with pytest.raises(ValidationError):
            services.signed_copy_add(document_id=printed.pk, actor=world.mediator_a, upload=office)
        assert not SignedCopy.objects.exists() and not Attachment.objects.exists()

    @pytest.mark.parametrize(("who", "status"), [("mediator_b", 404), ("supervisor_b", 404), ("auditor_a", 403)])
    def test_outsiders_cannot_upload(self, world, client, media, who, status):
        case, agreement = rare_case(world)
        printed = signing_version(world, agreement)
        client.force_login(getattr(world, who))
        response = client.post(reverse("documents:signed_copy_add", args=[printed.pk]), {"file": self.scan()})
        assert response.status_code == status
        assert not SignedCopy.objects.exists()


def test_print_sign_and_verify_the_printed_paper_as_the_effective_agreement(world, client, media):
    """The whole loop through the pages and the command line, as a mediator and a court clerk would do it."""
    case, agreement = rare_case(world)
    client.force_login(world.mediator_a)
    # 1. Print the signing version from the case's documents card.
    response = client.post(reverse("documents:issue", args=[case.pk]),
                           {"kind": K.AGREEMENT, "subject_id": agreement.pk, "stage": "signing"})
    assert response.status_code == 302
    agreement.refresh_from_db()
    printed = agreement.signing_document
    assert printed is not None
    paper = b"".join(client.get(reverse("documents:download", args=[printed.pk])).streaming_content)
    assert pdfcheck.squeezed(paper).count("（签名）：") >= 3
    # 2. Record each signature from the signed paper, naming the code printed in its footer.
    code = pdfcheck.squeezed(paper).split("验证码")[1][:19]
    assert code == printed.code_display
    url = reverse("signature_add", args=[case.pk, agreement.pk])
    for party in case.parties.exclude(role=PartyRole.AGENT):
        assert client.post(url, {"kind": "party", "party": party.pk, "signed_on": "2026-11-20",
                                 "document_code": code}).status_code == 302
    for kind in ("mediator", "seal"):
        assert client.post(url, {"kind": kind, "signed_on": "2026-11-20", "document_code": code}).status_code == 302
    agreement.refresh_from_db()
    assert agreement.status == Agreement.Status.EFFECTIVE
    # 3. Anyone holding the printed paper's file verifies it as the effective agreement.
    client.logout()
    verify = reverse("documents:verify_code", args=[printed.code_display])
    page = client.post(verify, {"file": SimpleUploadedFile("paper.pdf", paper, content_type="application/pdf")})
    body = page.content.decode()
    assert page.status_code == 200 and "一致" in body and "不一致" not in body and "已生效" in body
    out = io.StringIO()
    path = media / "paper.pdf"
    path.write_bytes(paper)
    call_command("verify_document", printed.code_display, "--file", str(path), stdout=out)
    assert "一致" in out.getvalue() and "已生效" in out.getvalue()


def test_the_verification_page_of_a_void_print_says_it_never_took_effect(world, client, media):
    case, agreement = rare_case(world)
    printed = signing_version(world, agreement)
    ms.agreement_draft(case_id=case.pk, actor=world.mediator_a, dispute_summary="改", terms=["改。"])
    body = client.get(reverse("documents:verify_code", args=[printed.code_display])).content.decode()
    assert "已作废" in body


def test_make_effective_helper_signs_on_the_signing_version(world, media):
    """The shared test helper goes through the loop (guards the other tests' set-up)."""
    case, agreement = rare_case(world)
    make_effective(world, case, agreement)
    agreement.refresh_from_db()
    assert agreement.signing_document is not None and agreement.signing_document.stage == "signing"


def test_the_case_page_tells_the_signing_steps_and_a_rewrite_says_the_print_is_void(world, client, media):
    from django.contrib.messages import get_messages

    case, agreement = rare_case(world)
    printed = signing_version(world, agreement)
    ms.signature_record(agreement_id=agreement.pk, document_code=printed.verification_code, actor=world.mediator_a,
                        kind=Signature.Kind.MEDIATOR, signed_on=TODAY)
    client.force_login(world.mediator_a)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "登记签章" in page and "起草调解协议第 1 版" in page  # the timeline
    assert "待签署（已登记签章 1 项）" in page  # the agreement's badge
    response = client.post(reverse("agreement_edit", args=[case.pk]), {
        "dispute_summary": "拖欠工资（改）", "claims_summary": "", "waived": "", "copies": "",
        "terms-TOTAL_FORMS": "1", "terms-INITIAL_FORMS": "0", "terms-0-text": "被申请人支付工资。",
        "instalments-TOTAL_FORMS": "0", "instalments-INITIAL_FORMS": "0"})
    assert response.status_code == 302
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert f"原签署版（验证码 {printed.code_display}）已作废" in said and "1 项签章已清除" in said
