"""Template access to the legal wording rules of mediation/documents/legal.py."""
from __future__ import annotations

from typing import Any

from django import template

from mediation.documents import legal

register = template.Library()


@register.filter
def chinese_numeral(n: int) -> str:
    return legal.chinese_numeral(int(n))


@register.filter
def count_in_words(n: int) -> str:
    return legal.count_in_words(int(n))


@register.filter
def money_line_applies(amount: dict[str, Any] | None) -> bool:
    return legal.money_line_applies(amount)


@register.simple_tag
def parties_term(parties: int) -> str:
    return legal.parties_term(int(parties))


@register.simple_tag
def copies_clause(parties: int, copies: int) -> str:
    return legal.copies_clause(int(parties), int(copies))


@register.simple_tag
def judicial_confirmation_notice(organisation: dict[str, Any], parties: int = 2) -> str:
    return legal.judicial_confirmation_notice(organisation, int(parties))


@register.simple_tag
def rejection_remedy(kind: str) -> str:
    return legal.rejection_remedy(kind)


@register.simple_tag
def rejection_facts(reason: str, respondent_refused: bool) -> dict[str, str]:
    """{% rejection_facts doc.reason doc.respondent_refused as rejection %}: rejection.kind, rejection.reason."""
    kind, text = legal.rejection_kind(reason, respondent_refused=bool(respondent_refused))
    return {"kind": kind, "reason": text}
