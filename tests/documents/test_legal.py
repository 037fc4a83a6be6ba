"""Legal text fitted to the case (mediation/documents/legal.py); expectations written from the law."""
from __future__ import annotations

import copy
import datetime
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from bench.documents import CHINESE, agreement_context
from mediation.documents import legal
from mediation.documents.context import Stamp, find_subject, prepare
from mediation.documents.models import DocumentKind
from tests.factories import register
from workflows.models import TransitionLog

# --- numerals and counts ------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "written"), [
    (1, "一"), (2, "二"), (9, "九"), (10, "十"), (11, "十一"), (18, "十八"), (20, "二十"), (21, "二十一"),
    (99, "九十九"), (100, "一百"), (101, "一百零一"), (105, "一百零五"), (110, "一百一十"), (205, "二百零五"),
    (1000, "一千"), (1001, "一千零一"), (1010, "一千零一十"), (2024, "二千零二十四"),
])
def test_chinese_numerals_as_statutes_number_their_articles(n, written):
    """As in 民事诉讼法第二百零五条, 劳动争议调解仲裁法第二十七条: 十 for ten, 零 for an inner zero."""
    assert legal.chinese_numeral(n) == written


def test_numbers_out_of_range_are_refused():
    with pytest.raises(ValueError):
        legal.chinese_numeral(-1)
    with pytest.raises(ValueError):
        legal.chinese_numeral(10000)


def test_terms_are_numbered_in_chinese_numerals():
    with translation.override("zh-hans"):
        assert [legal.term_label(n) for n in (1, 2, 10, 12)] == ["第一条", "第二条", "第十条", "第十二条"]


def test_a_document_in_another_language_keeps_digits():
    with translation.override("en"):
        assert legal.count_in_words(18) == "18"
    with translation.override("zh-hans"):
        assert legal.count_in_words(18) == "十八"


@translation.override("zh-hans")
def test_copies_two_parties_are_both_sides():
    """DOMAIN.md §6: one original per party and one for the organisation; two parties are 双方."""
    assert legal.copies_clause(2, 3) == "本协议一式三份，双方当事人各执一份，调解组织留存一份，各份具有同等效力。"


@translation.override("zh-hans")
def test_copies_more_than_two_parties_are_each_party():
    """Three or more parties (劳动争议调解仲裁法 art. 22 joint respondents, several applicants): 各方当事人."""
    assert legal.copies_clause(3, 4) == "本协议一式四份，各方当事人各执一份，调解组织留存一份，各份具有同等效力。"
    assert legal.copies_clause(17, 18) == "本协议一式十八份，各方当事人各执一份，调解组织留存一份，各份具有同等效力。"


# --- rejection remedies -------------------------------------------------------------------------


def test_a_respondent_refusing_mediation_leaves_arbitration_within_the_limitation():
    """劳动争议调解仲裁法 art. 27: one year from when the party knew or should have known."""
    text = legal.rejection_remedy(legal.REJECT_RESPONDENT_REFUSED)
    assert "向劳动人事争议仲裁委员会申请仲裁" in text and "第二十七条" in text and "一年" in text


def test_outside_the_scope_names_other_channels_and_no_arbitration():
    """人社部令第17号 art. 20: not a labour dispute, not accepted; no arbitration commission hears it."""
    text = legal.rejection_remedy(legal.REJECT_SCOPE)
    assert "不属于劳动争议调解的受理范围" in text and "第二十条" in text
    assert "人民调解" in text and "诉讼" in text
    assert "仲裁" not in text


def test_another_reason_gives_the_general_route_to_arbitration():
    """劳动争议调解仲裁法 art. 5: 不愿调解、调解不成 … 可以向劳动争议仲裁委员会申请仲裁; art. 27 limitation."""
    text = legal.rejection_remedy(legal.REJECT_OTHER)
    assert "不愿调解、调解不成的，可以向劳动人事争议仲裁委员会申请仲裁" in text
    assert "第五条" in text and "第二十七条" in text


def test_the_kind_is_read_back_from_the_history_row():
    recorded = legal.tagged_rejection_reason(legal.REJECT_SCOPE, " 民间借贷纠纷 ")
    assert recorded == "【不属于劳动争议调解受理范围】民间借贷纠纷"
    assert legal.rejection_kind(recorded) == (legal.REJECT_SCOPE, "民间借贷纠纷")
    assert legal.rejection_kind(legal.tagged_rejection_reason(legal.REJECT_OTHER, "材料不全")) == (
        legal.REJECT_OTHER, "材料不全")
    # Rows written before the kind was kept: a refusal recorded on the case still counts.
    assert legal.rejection_kind("不同意", respondent_refused=True) == (legal.REJECT_RESPONDENT_REFUSED, "不同意")
    assert legal.tagged_rejection_reason(legal.REJECT_SCOPE, "  ") == ""  # still "请填写理由"


# --- judicial confirmation ------------------------------------------------------------------------


def test_judicial_confirmation_for_an_enterprise_committee_cites_the_civil_procedure_law():
    """民事诉讼法 (2023) art. 205: any lawfully established mediation organisation, 30 days, both parties."""
    text = legal.judicial_confirmation_notice({"name": "甲公司劳动争议调解委员会", "is_peoples_committee": False})
    assert text == ("双方当事人可以自本协议生效之日起三十日内，共同向人民法院申请司法确认"
                    "（《中华人民共和国民事诉讼法》第二百零五条）。")


def test_judicial_confirmation_for_a_peoples_committee_also_cites_the_peoples_mediation_law():
    """人民调解法 art. 33 besides 民事诉讼法 art. 205."""
    text = legal.judicial_confirmation_notice({"name": "锦屏街道人民调解委员会", "is_peoples_committee": True})
    assert "第二百零五条" in text and "《中华人民共和国人民调解法》第三十三条" in text and "三十日内" in text


def test_money_lines_apply_only_to_an_amount():
    assert legal.money_line_applies({"figures": "¥12,000.00", "capitals": "壹万贰仟元整"})
    assert not legal.money_line_applies({"figures": "¥0.00", "capitals": "零元整"})
    assert not legal.money_line_applies(None)


# --- in the documents ---------------------------------------------------------------------------

_CITATION = re.compile(r"《[^》]+》(?!第|（人社部令)")


def test_every_citation_in_the_documents_names_its_article():
    """Each 《law》 cited in a document is followed by the article (第…条); 同法 refers back to one."""
    root = Path(settings.BASE_DIR)
    sources = [*sorted((root / "templates" / "documents").rglob("*.html")), root / "mediation/documents/legal.py"]
    missing = [(p.name, m.group()) for p in sources for m in _CITATION.finditer(p.read_text(encoding="utf-8"))]
    assert missing == []


def _agreement_html(**changes) -> str:
    context = copy.deepcopy(agreement_context(CHINESE))
    for key, value in changes.items():
        context["doc"][key] = value
    return render_to_string("documents/parts/agreement.html", context)


@translation.override("zh-hans")
def test_the_agreement_numbers_terms_and_counts_copies_in_chinese_numerals():
    context = agreement_context(CHINESE)
    rows = context["doc"]["signature_rows"]
    three = [*rows, {**rows[-1], "name": "第三方公司", "role": "被申请人（用工单位）"}][:3]
    html = _agreement_html(signature_rows=three, copies=4)
    assert "第一条" in html and "第二条" in html and "第1条" not in html
    assert "本协议一式四份，各方当事人各执一份" in html and "一式4份" not in html



@translation.override("zh-hans")
def test_an_agreement_of_three_parties_never_speaks_of_both_sides():
    """Three signing parties (劳动争议调解仲裁法 art. 22: a host employer with the dispatch agency) are
    各方当事人 throughout — the preamble, the effect clause (art. 14), the arbitration review — not 双方."""
    context = agreement_context(CHINESE)
    rows = context["doc"]["signature_rows"]
    three = [*rows, {**rows[-1], "name": "第三方公司", "role": "被申请人（用工单位）"}][:3]
    html = _agreement_html(signature_rows=three, copies=4)
    assert "双方当事人" not in html  # (the terms are the parties' own words)
    assert "各方当事人在平等协商" in html and "对各方当事人具有约束力" in html
    two = _agreement_html()
    assert "双方当事人在平等协商" in two and "各方" not in two


@translation.override("zh-hans")
def test_the_agreement_of_an_enterprise_committee_offers_judicial_confirmation():
    """民事诉讼法 art. 205: not only people's mediation committees."""
    html = _agreement_html()
    assert "申请司法确认（《中华人民共和国民事诉讼法》第二百零五条）" in html


def _stamp() -> Stamp:
    return Stamp(code="7KQ2M9XD4HRT0BWC", issued_at=datetime.datetime(2026, 11, 20, 9, 0, tzinfo=datetime.UTC),
                 verify_url="https://tiaojie.example.cn/documents/verify/7KQ2/")


def _rejected(world, client, **data):
    case = register(world.mediator_a, world.town_a)
    client.force_login(world.mediator_a)
    response = client.post(reverse("case_transition", args=[case.pk, "reject"]),
                           {"expected_state": "registered", **data})
    assert response.status_code == 302
    log = TransitionLog.objects.get(case=case, transition="reject")
    case.refresh_from_db()
    return case, log


def _notice_text(case, log) -> str:
    subject = find_subject(case, DocumentKind.REJECTION_NOTICE, log.pk)
    assert subject is not None
    prepared = prepare(case, subject, _stamp())
    return re.sub(r"\s+", "", render_to_string("documents/parts/rejection_notice.html", prepared.context))


def test_a_rejection_outside_the_scope_does_not_point_to_arbitration(world, client):
    """人社部令第17号 art. 20: outside the scope; other lawful channels, no arbitration sentence."""
    case, log = _rejected(world, client, reason_kind="scope", reason="申请事项为民间借贷纠纷，不属于劳动争议")
    assert log.reason == "【不属于劳动争议调解受理范围】申请事项为民间借贷纠纷，不属于劳动争议"
    text = _notice_text(case, log)
    assert "不属于劳动争议调解的受理范围" in text and "人民调解" in text
    assert "仲裁" not in text
    assert "申请事项为民间借贷纠纷" in text and "【" not in text


def test_a_rejection_for_another_reason_gives_the_general_arbitration_route(world, client):
    """劳动争议调解仲裁法 art. 5 and art. 27."""
    case, log = _rejected(world, client, reason_kind="other", reason="申请人撤回后再次申请，材料不全")
    text = _notice_text(case, log)
    assert "第五条" in text and "可以向劳动人事争议仲裁委员会申请仲裁" in text and "第二十七条" in text


def test_a_refusal_keeps_the_arbitration_notice_and_cites_the_regulations_article(world, client):
    """人社部令第17号 art. 20 (one party does not agree: not accepted); art. 27 limitation."""
    refused_on = datetime.date.today()
    case, log = _rejected(world, client, reason_kind="respondent_refused", refused_on=refused_on.isoformat(),
                          reason="公司答复不接受调解")
    text = _notice_text(case, log)
    assert "《企业劳动争议协商调解规定》第二十条" in text and "第二十七条" in text
    assert "情况说明：公司答复不接受调解" in text


def test_the_case_file_of_a_rejected_case_has_no_empty_money_lines(world, client):
    """A rejected case agreed and recovered nothing: no 协议金额 ¥0.00 on the cover."""
    case, _log = _rejected(world, client, reason_kind="other", reason="材料不全")
    subject = find_subject(case, DocumentKind.CASE_FILE, 0)
    assert subject is not None
    prepared = prepare(case, subject, _stamp())
    cover = render_to_string("documents/case_file.html", prepared.context).split('id="doc-1"')[0]
    assert "协议金额" not in cover and "已履行金额" not in cover
    assert "请求金额" in cover  # the registration claims an amount
