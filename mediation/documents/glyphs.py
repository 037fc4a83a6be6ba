"""No document is issued with a character that no bundled font can draw.

The PDF fonts (``mediation/documents/fonts``) cover every character that Noto
Serif CJK SC or Noto Sans CJK SC has, in both stacks and both weights, and
``weasyprint_fonts()`` sees no host font. A character outside them (e.g. 𱍐
U+31350, CJK Ext G, in neither face) would be printed as an empty box, so
``check_context`` refuses the document before it is rendered and names the
field and the character; nothing is stored or registered.

Coverage comes from the fonts' manifest (each piece's exact character ranges,
read once and cached until the fonts are rebuilt). Characters that are not
drawn are never flagged: spaces, tabs and line breaks (LF, CR) and the
characters Unicode makes default-ignorable (zero-width space and joiners,
directional marks, soft hyphen, variation selectors, BOM...). Every other
control or format character is drawn as a box (U+0085, U+2028, U+0600...) and
refused like any other. Only the values a context carries are checked: the
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
from django.utils.translation import gettext_lazy

from mediation.documents.fonts import MANIFEST_NAME, font_dir
from mediation.models import PartyRole

logger = logging.getLogger(__name__)

#: Default_Ignorable_Code_Point, Unicode 15.0.0 (DerivedCoreProperties-15.0.0.txt, as Debian's unicode-data
#: ships it): soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul fillers, Khmer inherent
#: vowels, Mongolian variation selectors and vowel separator, zero-width space and joiners, directional
#: marks, embeddings and isolates, word joiner and invisible operators, variation selectors, BOM,
#: musical beams and slurs, tags. HarfBuzz (WeasyPrint's shaper, through Pango) draws nothing for these.
_DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
#: ...except those HarfBuzz draws all the same (a box where the font lacks them): the Hangul fillers
#: U+115F, U+1160, U+3164, U+FFA0 and the shorthand format controls U+1BCA0-1BCA3 on purpose, and
#: U+180F MONGOLIAN FREE VARIATION SELECTOR FOUR (Unicode 14), which its table does not have.
_DRAWN_IGNORABLES = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x180F, 0x1BCA0, 0x1BCA1, 0x1BCA2, 0x1BCA3})
#: Line breaks and tabs of multi-line fields, laid out as white space. Every other control character
#: (C0, DEL, C1) and every other format character (U+0600 ARABIC NUMBER SIGN, U+2028 LINE SEPARATOR...)
#: is drawn, as a box when no font has it.
_BREAKS = frozenset("\t\n\r")
#: U+1680 OGHAM SPACE MARK is a space (Zs) drawn as a visible stroke; the other spaces HarfBuzz makes
#: from the font's own space when the font lacks them (U+2000-200A etc.).
_DRAWN_SPACES = frozenset({"\u1680"})


def is_drawn(char: str) -> bool:
    """Whether ``char`` is drawn with a glyph (a missing one would show as a box)."""
    if char in _BREAKS:
        return False
    if unicodedata.category(char) == "Zs":
        return char in _DRAWN_SPACES
    codepoint = ord(char)
    if codepoint in _DRAWN_IGNORABLES:
        return True
    return not any(start <= codepoint <= end for start, end in _DEFAULT_IGNORABLE)


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
    if text.isascii() and text.isprintable():  # printable ASCII is in every core font
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
    ("terms", "text"): gettext_lazy("协议条款"),
    ("claims", "description"): gettext_lazy("请求事项"),
    ("claims", "category"): gettext_lazy("争议类别"),
    ("instalments", "method"): gettext_lazy("支付方式"),
    ("signed", "name"): gettext_lazy("签署人"),
    ("mediator_signature", "name"): gettext_lazy("签署人"),
    ("seal", "name"): gettext_lazy("签署人"),
    ("recorded_signatures", "name"): gettext_lazy("签署人"),
    ("recorded_signatures", "label"): gettext_lazy("签章类型"),
    ("registered", "standing"): gettext_lazy("文书状态"),
    ("signature_rows", "name"): gettext_lazy("当事人姓名或名称"),
    ("signature_rows", "role"): gettext_lazy("当事人身份"),
    ("signature_rows", "agents"): gettext_lazy("委托代理人姓名"),
    ("attachments", "name"): gettext_lazy("附件文件名"),
    ("attachments", "kind"): gettext_lazy("附件类别"),
    ("timeline", "who"): gettext_lazy("经办人"),
    ("timeline", "what"): gettext_lazy("办理事项"),
    ("timeline", "note"): gettext_lazy("办理情况"),
    ("follow_ups", "method"): gettext_lazy("回访方式"),
    ("follow_ups", "content"): gettext_lazy("回访情况"),
    ("referral", "destination"): gettext_lazy("移交去向"),
    ("referral", "body"): gettext_lazy("接收机构"),
    ("referral", "outcome"): gettext_lazy("处理结果"),
    ("referral", "summary"): gettext_lazy("结果摘要"),
    ("sections", "label"): gettext_lazy("文书标题"),
    ("registered", "title"): gettext_lazy("文书标题"),
}
_ORGANISATION_KEYS: dict[str, Promise] = {
    "name": gettext_lazy("调解组织名称"), "address": gettext_lazy("调解组织地址"),
    "phone": gettext_lazy("调解组织电话"), "level": gettext_lazy("调解组织层级"), "line": gettext_lazy("调解组织类别"),
}
_BY_KEY: dict[str, Promise] = {
    "title": gettext_lazy("文书标题"), "number": gettext_lazy("案号"), "state": gettext_lazy("案件状态"),
    "channel": gettext_lazy("来源渠道"), "application_form": gettext_lazy("申请方式"),
    "application_form_label": gettext_lazy("申请方式"), "dispute_summary": gettext_lazy("争议事项"),
    "reasons": gettext_lazy("申请理由"), "categories": gettext_lazy("争议类别"),
    "work_form": gettext_lazy("新就业形态类型"), "platform": gettext_lazy("平台企业"),
    "archive_number": gettext_lazy("档案号"), "mediators": gettext_lazy("调解员姓名"),
    "created_by": gettext_lazy("登记人"), "registered_organisation": gettext_lazy("登记组织"),
    "applicants": gettext_lazy("申请人姓名"), "respondents": gettext_lazy("被申请人名称"),
    "representatives": gettext_lazy("代表人姓名"), "figures": gettext_lazy("金额"), "capitals": gettext_lazy("金额"),
    "recorder": gettext_lazy("记录人"), "recorded_by": gettext_lazy("记录人"), "reason": gettext_lazy("理由"),
    "actor": gettext_lazy("经办人"), "transition": gettext_lazy("办理事项"), "from_state": gettext_lazy("原状态"),
    "from_state_code": gettext_lazy("原状态"), "organisation": gettext_lazy("调解组织名称"),
    "from_organisation": gettext_lazy("呈报单位"), "to_organisation": gettext_lazy("接收单位"),
    "from_line": gettext_lazy("呈报单位类别"), "to_line": gettext_lazy("接收单位类别"),
    "requested_by": gettext_lazy("呈报人"), "decision": gettext_lazy("审批结果"), "decided_by": gettext_lazy("审批人"),
    "decision_reason": gettext_lazy("审批意见"), "place": gettext_lazy("调解地点"),
    "attendees": gettext_lazy("参加人员"), "record": gettext_lazy("调解笔录"), "result": gettext_lazy("本次结果"),
    "method": gettext_lazy("回访方式"), "contact": gettext_lazy("回访对象"), "content": gettext_lazy("回访情况"),
    "status": gettext_lazy("协议状态"), "status_label": gettext_lazy("协议状态"),
    "claims_summary": gettext_lazy("当事人请求"), "waived": gettext_lazy("放弃的权利"),
    "drafted_by": gettext_lazy("起草人"), "revision": gettext_lazy("协议修改时间"),
    "legal_representative": gettext_lazy("法定代表人"), "label": gettext_lazy("文书标题"),
    "anchor": gettext_lazy("文书目录"), "part": gettext_lazy("文书目录"), "code": gettext_lazy("验证码"),
    "raw_code": gettext_lazy("验证码"), "sha256": gettext_lazy("SHA-256"), "verify_url": gettext_lazy("核验网址"),
    "qr": gettext_lazy("核验二维码"), "issuer": gettext_lazy("出具单位"), "stage": gettext_lazy("文书用途"),
}
#: A party's own fields; the label is the party's role and the field (申请人姓名, 被申请人住所).
_PARTY_KEYS: dict[str, tuple[Promise, Promise]] = {  # (for a person, for an organisation)
    "name": (gettext_lazy("姓名"), gettext_lazy("名称")),
    "address": (gettext_lazy("住址"), gettext_lazy("住所")),
    "phone": (gettext_lazy("联系电话"), gettext_lazy("联系电话")),
    "sex": (gettext_lazy("性别"), gettext_lazy("性别")),
    "ethnicity": (gettext_lazy("民族"), gettext_lazy("民族")),
    "id_number": (gettext_lazy("公民身份号码"), gettext_lazy("统一社会信用代码")),
    "id_label": (gettext_lazy("证件类别"), gettext_lazy("证件类别")),
    "legal_representative": (gettext_lazy("法定代表人"), gettext_lazy("法定代表人")),
    "capacity": (gettext_lazy("责任身份"), gettext_lazy("责任身份")),
    "role": (gettext_lazy("身份"), gettext_lazy("身份")),
    "role_code": (gettext_lazy("身份"), gettext_lazy("身份")),
}
FALLBACK_LABEL = gettext_lazy("文书内容")


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
