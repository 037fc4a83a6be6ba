"""Issuing documents: who may, which apply, versions, the frozen agreement, failures that leave nothing behind."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from mediation import services as ms
from mediation.documents import registry, services
from mediation.documents.context import subjects_for
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.documents.render import DocumentRenderError
from tests.documents import pdfcheck
from tests.documents.conftest import full_case, make_effective, rare_case, stored_files
from tests.lifecycle import case_in_state, snapshot
from workflows import services as ws
from workflows.errors import ActionNotAllowed
from workflows.states import CaseState as S

K = DocumentKind


def kinds(case) -> set[str]:
    return {s.kind for s in subjects_for(case)}


@pytest.mark.parametrize(("state", "expected"), [
    (S.REGISTERED, {K.APPLICATION_RECORD, K.CASE_FILE}),
    (S.REJECTED, {K.APPLICATION_RECORD, K.REJECTION_NOTICE, K.CASE_FILE}),
    (S.JOINT_MEDIATION, {K.APPLICATION_RECORD, K.ACCEPTANCE_NOTICE, K.CASE_FILE}),
    (S.ESCALATION_PENDING, {K.APPLICATION_RECORD, K.ACCEPTANCE_NOTICE, K.ESCALATION_FORM, K.CASE_FILE}),
    (S.SETTLED, {K.APPLICATION_RECORD, K.ACCEPTANCE_NOTICE, K.AGREEMENT, K.CASE_FILE}),
    (S.MEDIATION_FAILED, {K.APPLICATION_RECORD, K.ACCEPTANCE_NOTICE, K.TERMINATION_NOTICE, K.CASE_FILE}),
    (S.CLOSED, {K.APPLICATION_RECORD, K.REJECTION_NOTICE, K.CLOSURE_APPROVAL, K.CASE_FILE}),
])
def test_the_documents_on_offer_follow_what_happened_to_the_case(world, state, expected):
    assert kinds(case_in_state(world, state)) == expected


def test_every_document_of_a_case_that_went_the_whole_way_is_issued_registered_and_stored(world, media):
    case = full_case(world)
    subjects = subjects_for(case)
    assert {s.kind for s in subjects} == {K.APPLICATION_RECORD, K.ACCEPTANCE_NOTICE, K.SESSION_RECORD, K.AGREEMENT,
                                          K.FOLLOW_UP_RECORD, K.CLOSURE_APPROVAL, K.CASE_FILE}
    for subject in subjects:
        document = services.document_issue(case_id=case.pk, kind=subject.kind, subject_id=subject.subject_id,
                                           actor=world.supervisor_a)
        data = pdfcheck.stored(document)
        assert data[:5] == b"%PDF-" and registry.sha256_of(data) == document.sha256
        assert document.size == len(data)
        # Issued now by the supervisor, except the agreement: printed for signing by the mediator before.
        assert document.author == (world.mediator_a if subject.kind == K.AGREEMENT else world.supervisor_a)
        assert case.number in pdfcheck.squeezed(data)
        # The effective agreement is the signing version the parties signed, handed back, never re-rendered.
        assert document.reused == (subject.kind == K.AGREEMENT)
        if subject.kind == K.AGREEMENT:
            assert document.pk == case.effective_agreement().signing_document_id
    assert len(stored_files()) == IssuedDocument.objects.filter(case=case).count() == len(subjects)


def test_reissuing_a_notice_makes_a_new_version_and_keeps_the_old_one(world, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    first = services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    second = services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert (first.version, second.version) == (1, 2)
    assert first.verification_code != second.verification_code and first.sha256 != second.sha256
    assert registry.stored_intact(first) and registry.stored_intact(second)


def test_an_effective_agreement_is_its_signing_version_and_reissuing_returns_the_same_pdf(world, media):
    case, agreement = rare_case(world)
    make_effective(world, case, agreement)
    agreement.refresh_from_db()
    files = stored_files()
    first = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                    actor=world.mediator_a)
    again = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                    actor=world.supervisor_a)
    assert first.pk == again.pk == agreement.signing_document_id and first.reused and again.reused
    assert stored_files() == files  # nothing rendered, nothing stored
    assert IssuedDocument.objects.filter(case=case, kind=K.AGREEMENT).count() == 1


def test_a_drafts_reading_copy_says_draft_and_is_never_the_agreement(world, media):
    case, agreement = rare_case(world)
    draft = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                    actor=world.mediator_a)
    assert not draft.frozen and "草稿" in draft.title and draft.stage == "draft"
    text = pdfcheck.squeezed(pdfcheck.stored(draft))
    assert "草稿：经各方当事人签名或者盖章" in text  # two applicants and the employer: 各方 (legal.parties_term)
    assert text.count("草稿·不作签署用") == len(pdfcheck.pages_text(pdfcheck.stored(draft)))  # on every page
    assert "（签名）：" not in text  # a reading copy has no signature lines to invite signing
    make_effective(world, case, agreement)
    effective = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                        actor=world.mediator_a)
    assert effective.pk != draft.pk and effective.stage == "signing" and "草稿" not in effective.title
    assert "草稿" not in pdfcheck.squeezed(pdfcheck.stored(effective))


def test_a_corrected_agreement_gets_its_own_signing_version_and_the_old_one_stays(world, media):
    case = case_in_state(world, S.SETTLED)
    old = case.effective_agreement()
    old_pdf = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=old.pk, actor=world.mediator_a)
    new = ms.agreement_correct(case_id=case.pk, actor=world.mediator_a)
    make_effective(world, case, new)
    new_pdf = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=new.pk, actor=world.mediator_a)
    assert old_pdf.pk == old.signing_document_id and new_pdf.pk != old_pdf.pk
    assert new_pdf.verification_code != old_pdf.verification_code
    assert "协议第2版" in new_pdf.title
    assert "系对第1版的更正" in pdfcheck.squeezed(pdfcheck.stored(new_pdf))
    # The superseded version can still be asked for: it is the signed PDF, never a new render.
    again = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=old.pk, actor=world.mediator_a)
    assert again.pk == old_pdf.pk


@pytest.mark.parametrize("who", ["auditor_a", "admin", "mediator_b", "supervisor_b"])
def test_only_those_who_work_the_case_may_issue_its_documents(world, media, who):
    case = case_in_state(world, S.JOINT_MEDIATION)
    with pytest.raises(PermissionDenied):
        services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=getattr(world, who))
    assert not IssuedDocument.objects.exists() and not stored_files()


def test_a_former_mediator_who_kept_read_access_may_not_issue(world, media):
    case = case_in_state(world, S.ESCALATION_PENDING)
    ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a)
    with pytest.raises(PermissionDenied):
        services.document_issue(case_id=case.pk, kind=K.ESCALATION_FORM, actor=world.enterprise_mediator,
                                subject_id=case.escalations.get().pk)
    form = services.document_issue(case_id=case.pk, kind=K.ESCALATION_FORM, actor=world.mediator_a,
                                   subject_id=case.escalations.get().pk)
    text = pdfcheck.squeezed(pdfcheck.stored(form))
    assert "已批准" in text and "企业内部协商未果" in text


def test_a_document_that_does_not_apply_is_refused_in_words(world, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    with pytest.raises(ActionNotAllowed) as caught:
        services.document_issue(case_id=case.pk, kind=K.REJECTION_NOTICE, actor=world.mediator_a)
    assert "不予受理通知书" in caught.value.message
    with pytest.raises(ActionNotAllowed):
        services.document_issue(case_id=case.pk, kind=K.SESSION_RECORD, subject_id=999, actor=world.mediator_a)


def test_a_failed_render_leaves_the_case_untouched_and_nothing_in_storage(world, media, monkeypatch):
    case = case_in_state(world, S.JOINT_MEDIATION)
    before = snapshot(case)

    def broken(*args, **kwargs):
        raise DocumentRenderError("文书生成失败（测试）。案件数据未作任何修改。")

    monkeypatch.setattr(services, "render_pdf", broken)
    with pytest.raises(DocumentRenderError):
        services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert snapshot(case) == before
    assert not IssuedDocument.objects.exists() and not stored_files()


def test_a_template_that_raises_is_reported_as_a_render_error(world, media, settings, tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "acceptance_notice.html").write_text("{% load no_such_library %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    case = case_in_state(world, S.JOINT_MEDIATION)
    before = snapshot(case)
    with pytest.raises(DocumentRenderError) as caught:
        services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert "文书生成失败" in str(caught.value)
    assert snapshot(case) == before and not IssuedDocument.objects.exists() and not stored_files()


def test_when_the_registry_row_cannot_be_written_the_stored_bytes_are_removed(world, media, monkeypatch):
    case = case_in_state(world, S.JOINT_MEDIATION)

    def refuse(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(IssuedDocument.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        services.document_issue(case_id=case.pk, kind=K.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert not stored_files()


def test_rare_characters_and_markup_in_the_data_come_out_as_themselves(world, media):
    case, agreement = rare_case(world, applicants=("𠮷㛃", "<script>alert(1)</script>"),
                                terms=["被申请人支付<b>全部</b>工资 & 补偿。", "双方再无纠纷。"],
                                amounts=("10000.10", "0.05"))
    make_effective(world, case, agreement)
    document = services.document_issue(case_id=case.pk, kind=K.AGREEMENT, subject_id=agreement.pk,
                                       actor=world.mediator_a)
    pdf = pdfcheck.stored(document)
    text = pdfcheck.squeezed(pdf)
    for needle in (case.number, "𠮷㛃", "<script>alert(1)</script>", "宁波喆珺精密机械有限公司", "陈喆",
                   "被申请人支付<b>全部</b>工资&补偿。", "¥10,000.10", "人民币壹万元壹角", "¥0.05", "人民币伍分",
                   "¥10,000.15", "人民币壹万元壹角伍分"):
        assert needle in text, needle
    for party in case.parties.select_related("person"):
        if party.person_id:
            assert party.person.id_number in text  # full ID numbers: the agreement is served on the parties
    pdfcheck.assert_fonts_sound(pdf)
