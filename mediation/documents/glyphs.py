"""No document is issued with a character that no bundled font can draw.

The PDF fonts (``mediation/documents/fonts``) cover every character that Noto
Serif CJK SC or Noto Sans CJK SC has, in both stacks and both weights, and
``weasyprint_fonts()`` sees no host font. A character outside them (e.g. 𱍐
U+31350, CJK Ext G, in neither face) would be printed as an empty box, so
``check_context`` refuses the document before it is rendered and names the
field and the character; nothing is stored or registered.

Coverage comes from the fonts' manifest (each piece's exact character ranges,
read once and cached until the fonts are rebuilt). Characters that are not
drawn (spaces, line breaks, controls, format characters, variation selectors)
are never flagged. Only the values a context carries are checked: the
layout's own text is in the fonts' core.
"""
from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from mediation.documents.fonts import MANIFEST_NAME, font_dir
from mediation.models import PartyRole

logger = logging.getLogger(__name__)

#: Categories with nothing to draw: controls (line breaks, tabs), format characters (soft hyphen,
#: zero-width space and joiners, directional marks, BOM), line/paragraph separators and spaces
#: (HarfBuzz makes the spaces U+2000-200A etc. from the font's own space when it lacks them).
_NOT_DRAWN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Zs"})
#: U+1680 OGHAM SPACE MARK is a space (Zs) drawn as a visible stroke.
_DRAWN_SPACES = frozenset({"\u1680"})
#: Default_Ignorable_Code_Point characters outside those categories (Unicode DerivedCoreProperties.txt):
#: combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian and standard/ideographic
#: variation selectors, tags. HarfBuzz hides them when the font has no glyph.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
)


def is_drawn(char: str) -> bool:
    """Whether ``char`` is drawn with a glyph (a missing one would show as a box)."""
    if unicodedata.category(char) in _NOT_DRAWN_CATEGORIES:
        return char in _DRAWN_SPACES
    codepoint = ord(char)
    return not any(start <= codepoint <= end for start, end in _IGNORABLE_RANGES)


# --- coverage of the built fonts ---------------------------------------------------------------

def _parse_ranges(value: str) -> Iterator[int]:
    """Code points of a CSS unicode-range list as the font build writes it ("U+20-7E, U+A0")."""
    for part in value.split(","):
        part = part.strip().removeprefix("U+")
        if not part:
            continue
        start, _sep, end = part.partition("-")
        yield from range(int(start, 16), int(end or start, 16) + 1)


@cache
def _coverage(manifest: Path, _mtime_ns: int, _size: int) -> frozenset[int]:
    pieces = json.loads(manifest.read_text(encoding="utf-8"))["pieces"]
    stacks: dict[tuple[str, int], set[int]] = {}
    for piece in pieces:
        stacks.setdefault((piece["family"], piece["weight"]), set()).update(_parse_ranges(piece["ranges"]))
    # A value may be printed in any stack (Song body, Hei headings) and weight: only what all of them draw.
    return frozenset(set.intersection(*stacks.values())) if stacks else frozenset()


def covered_codepoints() -> frozenset[int] | None:
    """Characters every bundled font stack draws; None when the fonts are not built (rendering says so)."""
    manifest = font_dir() / MANIFEST_NAME
    try:
        stat = manifest.stat()
    except OSError:
        return None
    return _coverage(manifest, stat.st_mtime_ns, stat.st_size)


def missing_characters(text: str, covered: frozenset[int] | None = None) -> list[str]:
    """The distinct characters of ``text`` that are drawn but that no bundled font has, in order."""
    if text.isascii():  # printable ASCII is in every core font; the rest of ASCII is not drawn
        return []
    covered = covered_codepoints() if covered is None else covered
    if covered is None:
        return []
    missing: list[str] = []
    for char in text:
        if ord(char) not in covered and char not in missing and is_drawn(char):
            missing.append(char)
    return missing


# --- where a value comes from, in words --------------------------------------------------------

#: The label of a context value, by its key (list positions are skipped) or by its parent key and key.
#: One table for every document kind; values the documents compute (amounts in words, codes) are
#: labelled too, so that whatever is found can be named.
_BY_PARENT: dict[tuple[str, str], Promise] = {
    ("terms", "text"): _lazy("协议条款"),
    ("claims", "description"): _lazy("请求事项"),
    ("claims", "category"): _lazy("争议类别"),
    ("instalments", "method"): _lazy("支付方式"),
    ("signed", "name"): _lazy("签署人"),
    ("mediator_signature", "name"): _lazy("签署人"),
    ("seal", "name"): _lazy("签署人"),
    ("signature_rows", "name"): _lazy("当事人姓名或名称"),
    ("signature_rows", "role"): _lazy("当事人身份"),
    ("signature_rows", "agents"): _lazy("委托代理人姓名"),
    ("attachments", "name"): _lazy("附件文件名"),
    ("attachments", "kind"): _lazy("附件类别"),
    ("timeline", "who"): _lazy("经办人"),
    ("timeline", "what"): _lazy("办理事项"),
    ("timeline", "note"): _lazy("办理情况"),
    ("follow_ups", "method"): _lazy("回访方式"),
    ("follow_ups", "content"): _lazy("回访情况"),
    ("referral", "destination"): _lazy("移交去向"),
    ("referral", "body"): _lazy("接收机构"),
    ("referral", "outcome"): _lazy("处理结果"),
    ("referral", "summary"): _lazy("结果摘要"),
    ("sections", "label"): _lazy("文书标题"),
    ("registered", "title"): _lazy("文书标题"),
}
_ORGANISATION_KEYS: dict[str, Promise] = {
    "name": _lazy("调解组织名称"), "address": _lazy("调解组织地址"), "phone": _lazy("调解组织电话"),
    "level": _lazy("调解组织层级"), "line": _lazy("调解组织类别"),
}
_BY_KEY: dict[str, Promise] = {
    "title": _lazy("文书标题"), "number": _lazy("案号"), "state": _lazy("案件状态"), "channel": _lazy("来源渠道"),
    "application_form": _lazy("申请方式"), "application_form_label": _lazy("申请方式"),
    "dispute_summary": _lazy("争议事项"), "reasons": _lazy("申请理由"), "categories": _lazy("争议类别"),
    "work_form": _lazy("新就业形态类型"), "platform": _lazy("平台企业"), "archive_number": _lazy("档案号"),
    "mediators": _lazy("调解员姓名"), "created_by": _lazy("登记人"), "registered_organisation": _lazy("登记组织"),
    "applicants": _lazy("申请人姓名"), "respondents": _lazy("被申请人名称"), "representatives": _lazy("代表人姓名"),
    "figures": _lazy("金额"), "capitals": _lazy("金额"),
    "recorder": _lazy("记录人"), "recorded_by": _lazy("记录人"), "reason": _lazy("理由"), "actor": _lazy("经办人"),
    "transition": _lazy("办理事项"), "from_state": _lazy("原状态"), "from_state_code": _lazy("原状态"),
    "organisation": _lazy("调解组织名称"), "from_organisation": _lazy("呈报单位"), "to_organisation": _lazy("接收单位"),
    "from_line": _lazy("呈报单位类别"), "to_line": _lazy("接收单位类别"), "requested_by": _lazy("呈报人"),
    "decision": _lazy("审批结果"), "decided_by": _lazy("审批人"), "decision_reason": _lazy("审批意见"),
    "place": _lazy("调解地点"), "attendees": _lazy("参加人员"), "record": _lazy("调解笔录"),
    "result": _lazy("本次结果"),
    "method": _lazy("回访方式"), "contact": _lazy("回访对象"), "content": _lazy("回访情况"),
    "status": _lazy("协议状态"), "status_label": _lazy("协议状态"), "claims_summary": _lazy("当事人请求"),
    "waived": _lazy("放弃的权利"), "drafted_by": _lazy("起草人"), "revision": _lazy("协议修改时间"),
    "legal_representative": _lazy("法定代表人"), "label": _lazy("文书标题"), "anchor": _lazy("文书目录"),
    "part": _lazy("文书目录"), "code": _lazy("验证码"), "raw_code": _lazy("验证码"), "sha256": _lazy("SHA-256"),
    "verify_url": _lazy("核验网址"), "qr": _lazy("核验二维码"), "issuer": _lazy("出具单位"), "stage": _lazy("文书用途"),
}
#: A party's own fields; the label is the party's role and the field (申请人姓名, 被申请人住所).
_PARTY_KEYS: dict[str, tuple[Promise, Promise]] = {  # (for a person, for an organisation)
    "name": (_lazy("姓名"), _lazy("名称")),
    "address": (_lazy("住址"), _lazy("住所")),
    "phone": (_lazy("联系电话"), _lazy("联系电话")),
    "sex": (_lazy("性别"), _lazy("性别")),
    "ethnicity": (_lazy("民族"), _lazy("民族")),
    "id_number": (_lazy("公民身份号码"), _lazy("统一社会信用代码")),
    "id_label": (_lazy("证件类别"), _lazy("证件类别")),
    "legal_representative": (_lazy("法定代表人"), _lazy("法定代表人")),
    "capacity": (_lazy("责任身份"), _lazy("责任身份")),
    "role": (_lazy("身份"), _lazy("身份")),
    "role_code": (_lazy("身份"), _lazy("身份")),
}
FALLBACK_LABEL = _lazy("文书内容")


def _party_label(party: dict[str, Any], key: str) -> str | None:
    fields = _PARTY_KEYS.get(key)
    if fields is None:
        return None
    role_code = party.get("role_code", "")
    role = PartyRole(role_code).label if role_code in PartyRole.values else _("当事人")
    field = fields[0] if party.get("is_person", True) else fields[1]
    # Translators: a party's role and one of its details, e.g. 申请人 + 姓名.
    return _("%(role)s%(field)s") % {"role": role, "field": field}


def label_for(keys: tuple[str, ...], party: dict[str, Any] | None = None) -> str | None:
    """The human label of the value at ``keys`` (dict keys from the context's root); None if unknown."""
    key = keys[-1]
    if party is not None and (label := _party_label(party, key)) is not None:
        return label
    parent = keys[-2] if len(keys) > 1 else ""
    if (parent, key) in _BY_PARENT:
        return str(_BY_PARENT[(parent, key)])
    if parent in ("organisation", "held_by") and key in _ORGANISATION_KEYS:
        return str(_ORGANISATION_KEYS[key])
    return str(_BY_KEY[key]) if key in _BY_KEY else None


def strings(value: Any, keys: tuple[str, ...] = (), party: dict[str, Any] | None = None,
            ) -> Iterator[tuple[tuple[str, ...], dict[str, Any] | None, str]]:
    """Every string of a context with the dict keys leading to it and the party dict it belongs to."""
    if isinstance(value, str):
        yield keys, party, value
    elif isinstance(value, dict):
        party = value if "role_code" in value else None
        # The parties first: a name is reported where it is entered, not where it is repeated.
        for key in sorted(value, key=lambda k: k != "parties"):
            yield from strings(value[key], (*keys, str(key)), party)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item, keys, party)


# --- the check -----------------------------------------------------------------------------------

class UndrawableCharacters(ValidationError):
    """Values of a document hold characters no bundled font draws; ``found`` is [(label, [char, ...])]."""

    def __init__(self, found: list[tuple[str, list[str]]]) -> None:
        self.found = found
        super().__init__(_message(found), code="undrawable_characters")


def shown(char: str) -> str:
    """A character as the message shows it: itself and its code point, “𱍐”（U+31350）."""
    return f"“{char}”（U+{ord(char):04X}）"


def _message(found: list[tuple[str, list[str]]]) -> str:
    items = []
    for label, chars in found:
        listed = "、".join(shown(c) for c in chars[:5])
        if len(chars) > 5:
            listed += _("等 %(count)d 个字") % {"count": len(chars)}
        items.append(_("%(field)s中的%(chars)s") % {"field": label, "chars": listed})
    return _("文书未生成：%(items)s没有任何文书字体能够显示，印出来会是空框。请核对并更正后重试"
             "（生僻字可改用通用规范汉字中的写法）。") % {"items": "；".join(items)}


def check_context(context: dict[str, Any]) -> None:
    """Refuse (UndrawableCharacters, a ValidationError) a document whose values hold undrawable characters.

    Each character is reported once, under the first field it appears in (the parties first).
    """
    covered = covered_codepoints()
    if covered is None:
        return  # fonts not built: rendering refuses with its own message
    found: dict[str, list[str]] = {}
    reported: set[str] = set()
    for keys, party, text in strings(context):
        missing = [c for c in missing_characters(text, covered) if c not in reported]
        if not missing:
            continue
        label = label_for(keys, party)
        if label is None:
            logger.warning("no label for document value %s", ".".join(keys))
            label = str(FALLBACK_LABEL)
        found.setdefault(label, []).extend(missing)
        reported.update(missing)
    if found:
        raise UndrawableCharacters(list(found.items()))
