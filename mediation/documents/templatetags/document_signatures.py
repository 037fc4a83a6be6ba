"""Template access to the signature blocks of mediation/documents/signatures.py."""
from __future__ import annotations

from typing import Any

from django import template

from mediation.documents import signatures

register = template.Library()


@register.simple_tag
def session_signatures(parties: list[dict[str, Any]], collective: bool = False) -> signatures.Block:
    return signatures.session_signature_block(list(parties or ()), collective=bool(collective))
