"""The rows of the case page's documents card (``documents/web/_case_documents.html``), written in Python.

A case page lists every document the user may issue for the case — seven to a dozen rows — and
through the template language they took about a millisecond of the page's server time, as its history
did (docs/performance.md, "Twenty-second pass"). :func:`issuable_row` writes what the template's row
wrote; ``tests/documents/test_issuable_rows.py`` holds it to that template, kept beside the test.
"""
from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_noop

from mediation.templatetags.dates import formatted
from mediation.templatetags.mediation_tags import _URL_SENTINEL, _csrf_input, _escaped, _shown

register = template.Library()

#: The row's words, by what they name.
_WORDS = {
    "code": gettext_noop("验证码"), "effective": gettext_noop("已生效"), "superseded": gettext_noop("已被取代"),
    "awaiting": gettext_noop("待签署"), "frozen_title": gettext_noop("生效协议的文书已冻结，不再重新生成"),
    "frozen": gettext_noop("已冻结"), "none": gettext_noop("未生成"),
    "signing_note": gettext_noop("签署版没有“草稿”字样，签名栏空白；各方在其上签字盖章，登记齐全后它即生效协议。"),
    "print": gettext_noop("下载打印"), "download": gettext_noop("下载"), "again": gettext_noop("重新生成"),
    "signing": gettext_noop("生成签署版"), "issue": gettext_noop("生成"),
}


def _words(context: Any) -> dict[str, str]:
    """The words and links every row of one page writes alike, in the page's language, found on its first row."""
    from django.urls import reverse
    from django.utils.translation import get_language, gettext

    memo = context.render_context.get("mediation_document_row_words")
    case = context.get("case")
    key = (get_language(), getattr(case, "pk", None))
    if memo is None or memo[0] != key:
        words = {name: _escaped(gettext(text)) for name, text in _WORDS.items()}
        words["version"] = gettext("第%(v)s版")
        words["download_url"] = _escaped(reverse("documents:download", args=[int(_URL_SENTINEL)]))
        words["issue_url"] = _escaped(reverse("documents:issue", args=[case.pk])) if case is not None else ""
        memo = (key, words)
        context.render_context["mediation_document_row_words"] = memo
    return memo[1]


@register.simple_tag(takes_context=True)
def issuable_row(context: Any, item: dict[str, Any]) -> str:
    """One document the user may issue (``documents_for_case``'s ``issuable``): what it is, its latest
    registered version (its verification code and standing, for an agreement's signing version), and the
    buttons to download it and to issue it (again)."""
    from django.utils.safestring import mark_safe
    from django.utils.timezone import localtime

    words = _words(context)
    documents = context.get("documents")
    may_download = (documents.get("may_download") if isinstance(documents, dict)
                    else getattr(documents, "may_download", False))
    latest, stage, frozen = item["latest"], item["stage"], item["frozen"]
    label = f' <span class="small muted">{_escaped(item["label"])}</span>' if item["label"] else ""
    if latest:
        shown = (words["version"] % {"v": _shown(latest.version, context)}
                 + f' · {formatted(localtime(latest.created_at), "Y-m-d H:i")}')
        if latest.stage == "signing":
            standing = latest.standing.key
            said = (words["effective"] if standing == "effective" else words["superseded"]
                    if standing == "superseded" else words["awaiting"])
            shown += (f' · {words["code"]} {_escaped(latest.code_display)} '
                      f'<span class="badge standing-{_escaped(standing)}">{said}</span>')
        elif frozen:
            shown += f' <span class="badge" title="{words["frozen_title"]}">{words["frozen"]}</span>'
    else:
        shown = f'<span class="muted">{words["none"]}</span>'
    note = (f'<br><span class="muted">{words["signing_note"]}</span>'
            if stage == "signing" and not latest else "")
    download = ""
    if latest and may_download:
        url = words["download_url"].replace(_URL_SENTINEL, str(latest.pk))
        download = (f'<a class="button small secondary" href="{url}">'
                    f'{words["print"] if stage == "signing" else words["download"]}</a>')
    issue = ""
    if not frozen:
        issue = (f'<form method="post" action="{words["issue_url"]}" class="inline">{_csrf_input(context)}\n'
                 f'            <input type="hidden" name="kind" value="{_escaped(item["kind"])}">'
                 f'<input type="hidden" name="subject_id" value="{_shown(item["subject_id"], context)}">'
                 + (f'<input type="hidden" name="stage" value="{_escaped(stage)}">' if stage else "")
                 + '\n            <button class="button small" type="submit">'
                 f'{words["again"] if latest else words["signing"] if stage == "signing" else words["issue"]}'
                 "</button></form>")
    return mark_safe(  # every value escaped above
        f'\n      <tr>\n        <td class="c-number">{_escaped(item["kind_label"])}{label}</td>\n'
        f'        <td class="small">{shown}\n          {note}</td>\n'
        f'        <td class="nowrap">\n          {download}\n          {issue}\n        </td>\n      </tr>\n    ')
