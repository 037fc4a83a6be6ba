"""Legal wording fitted to the case: each rule a named function, cited to its article.

The documents' templates call these through the ``legal`` template tags
(mediation/documents/templatetags/legal.py); the contexts call them for facts that
need the database. Every sentence is a translatable Chinese source string.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mediation.documents.amounts import amount_in_figures

_DIGITS = "零一二三四五六七八九"
_UNITS = ("千", "百", "十", "")


def chinese_numeral(n: int) -> str:
    """``n`` (0–9999) in Chinese numerals as legal texts write counts and article numbers.

    一, 十, 十一, 二十, 二十一, 一百, 一百零五, 一百一十: a zero inside the number is read once
    (零), trailing zeros are not, and 10–19 are written without a leading 一.
    """
    if not 0 <= n <= 9999:
        raise ValueError(n)
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n - 10] if n > 10 else "")
    out: list[str] = []
    started = pending_zero = False
    for digit, unit in zip(f"{n:04d}", _UNITS, strict=True):
        d = int(digit)
        if d == 0:
            pending_zero = started
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[d] + unit)
        started = True
    return "".join(out)


def count_in_words(n: int) -> str:
    """A count or a number in a document's running text: Chinese numerals in a Chinese document,
    digits in a document rendered in another language (the English fill)."""
    return chinese_numeral(n) if (get_language() or "").startswith("zh") else str(n)


def term_label(number: int) -> str:
    """第一条, 第二条 …: the agreement's terms are numbered in Chinese numerals."""
    return _("第%(n)s条") % {"n": count_in_words(number)}


def parties_term(parties: int) -> str:
    """Who the agreement binds, in its running text: 双方当事人 for two parties, 各方当事人 for more
    (a respondent and a co-liable firm with the worker, 劳动争议调解仲裁法 art. 22, are three sides)."""
    return _("各方当事人") if parties > 2 else _("双方当事人")


def copies_clause(parties: int, copies: int) -> str:
    """How many originals and who keeps them (DOMAIN.md §6: one per party, one for the file).

    ``parties``: the parties who sign and keep a copy; ``copies``: the agreement's count of
    originals. Two parties are 双方当事人, more are 各方当事人; the count is in Chinese numerals.
    """
    return _("本协议一式%(n)s份，%(who)s各执一份，调解组织留存一份，各份具有同等效力。") % {
        "n": count_in_words(copies), "who": parties_term(parties)}


# --- rejection ---------------------------------------------------------------------------------

#: Why an application was not accepted (mediation.forms.RejectForm.reason_kind).
REJECT_SCOPE, REJECT_RESPONDENT_REFUSED, REJECT_OTHER = "scope", "respondent_refused", "other"
#: How the kind is kept in the history row's reason, so the notice can be issued again later.
#: Stored text in the record's language (Chinese), never translated: it is read back.
_REJECTION_TAGS: dict[str, str] = {
    REJECT_SCOPE: "【不属于劳动争议调解受理范围】",
    REJECT_RESPONDENT_REFUSED: "【被申请人不同意调解】",
}


def tagged_rejection_reason(kind: str, reason: str) -> str:
    """The reason as recorded on the rejection's history row: the kind first, then the words given."""
    reason = (reason or "").strip()
    tag = _REJECTION_TAGS.get(kind, "")
    return f"{tag}{reason}" if reason else reason


def rejection_kind(recorded_reason: str, *, respondent_refused: bool = False) -> tuple[str, str]:
    """(kind, reason without its tag) read back from a rejection's history row.

    A refusal recorded on the case (Case.respondent_consent) counts as such; a row without a
    tag (older records) is "other".
    """
    text = recorded_reason or ""
    for kind, tag in _REJECTION_TAGS.items():
        if text.startswith(tag):
            return kind, text[len(tag):]
    return (REJECT_RESPONDENT_REFUSED if respondent_refused else REJECT_OTHER), text


def rejection_remedy(kind: str) -> str:
    """What the applicant may do next, by the reason the application was not accepted.

    - the respondent refused mediation: arbitration, within the one-year limitation
      (劳动争议调解仲裁法 art. 27);
    - not a labour dispute, outside the scope of labour-dispute mediation (人社部令第17号
      art. 20): other lawful channels (people's mediation, a lawsuit); no arbitration sentence;
    - any other reason: a labour dispute not mediated may go to arbitration (劳动争议调解仲裁法
      art. 5), within the limitation (art. 27).
    """
    if kind == REJECT_RESPONDENT_REFUSED:
        return _("你（们）可以依法向劳动人事争议仲裁委员会申请仲裁。劳动争议申请仲裁的时效期间为一年，"
                 "从当事人知道或者应当知道其权利被侵害之日起计算（《中华人民共和国劳动争议调解仲裁法》第二十七条）。")
    if kind == REJECT_SCOPE:
        return _("该申请事项不属于劳动争议调解的受理范围（《企业劳动争议协商调解规定》第二十条）。"
                 "你（们）可以通过人民调解、向人民法院提起诉讼等其他合法途径解决。")
    return _("劳动争议当事人不愿调解、调解不成的，可以向劳动人事争议仲裁委员会申请仲裁"
             "（《中华人民共和国劳动争议调解仲裁法》第五条）。劳动争议申请仲裁的时效期间为一年，"
             "从当事人知道或者应当知道其权利被侵害之日起计算（同法第二十七条）。")


# --- judicial confirmation -----------------------------------------------------------------------

def judicial_confirmation_notice(organisation: dict[str, Any], parties: int = 2) -> str:
    """The agreement's paragraph on judicial confirmation, for any lawfully established mediation
    organisation (民事诉讼法 (2023) art. 205; 人民调解法 art. 33 adds itself for people's
    mediation committees). ``organisation``: the documents' organisation facts; ``parties``: the
    signing parties, who apply together (``parties_term``)."""
    from workflows.clocks import judicial_confirmation_applies

    if not judicial_confirmation_applies(organisation):
        return ""
    if organisation.get("is_peoples_committee"):
        return _("%(who)s可以自本协议生效之日起三十日内，共同向人民法院申请司法确认"
                 "（《中华人民共和国民事诉讼法》第二百零五条、《中华人民共和国人民调解法》第三十三条）。") % {
            "who": parties_term(parties)}
    return _("%(who)s可以自本协议生效之日起三十日内，共同向人民法院申请司法确认"
             "（《中华人民共和国民事诉讼法》第二百零五条）。") % {"who": parties_term(parties)}


# --- amounts ---------------------------------------------------------------------------------------

def money_line_applies(amount: dict[str, Any] | None) -> bool:
    """A money line is printed only when it says something: not for an amount of nothing
    (a rejected case has no agreed amount; ¥0.00 would read as an agreement to pay nothing)."""
    return amount is not None and amount.get("figures") not in (None, "", amount_in_figures(0))
