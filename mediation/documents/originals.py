"""The files a case file (卷宗) carries inside it, byte for byte: PDF/A-3 associated files.

The case file shows every document of the case as text to read; the registered PDFs
themselves, and the evidence uploaded on the case, travel inside it unchanged, so an
archive holds the very bytes that were issued and served (their SHA-256 is the one in
the register) and a reader opens them from the attachments panel. See docs/documents.md,
"Case files and the export".

What is carried (one ``EmbeddedFile`` each, ``Source`` or ``Supplement``):

- ``registered_originals``: every document the case file's register lists, that is every
  registered version of every document of the case except earlier case files (an
  effective agreement's frozen PDF is one of them), ``Source``: the originals the case
  file presents;
- ``evidence``: the case's attachments (evidence, application papers, identity papers),
  ``Supplement``; the scans of signed paper originals (attachments of kind
  ``signed_copy``, ``SignedCopy``) are ``Source``: the signed paper is the original of
  the document the case file shows (except a scan kept with a void print, ``void_scans``).
  Who may download a case file may download them too
  (both need ``may_see_personal_data``), so carrying them discloses nothing new.

Each registered original's description (/Desc, shown in a reader's attachments panel) says what
it is worth today (``standing_words``: 草稿（供审阅）, 待签署, 已生效, 已被更正版本取代, 已作废), so
that a void print or a reading copy cannot be taken for the agreement.

``SOURCES`` is the hook for more kinds of files: a function ``(case) -> list[EmbeddedFile]``.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from mediation.documents.models import DocumentKind, IssuedDocument, SignedCopy
from mediation.documents.registry import sha256_of, stored_bytes
from mediation.documents.render import EmbeddedFile
from mediation.models import Agreement, Attachment, Case

#: /AFRelationship values (ISO 32000-2 §14.13.2).
SOURCE = "Source"
SUPPLEMENT = "Supplement"

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name).strip() or "_"


def _standing_word(key: str) -> str:
    """The short word for a ``Standing.key``; nothing for a document that is simply issued."""
    return {"draft": _("草稿（供审阅）"), "awaiting_signatures": _("待签署"), "effective": _("已生效"),
            "superseded": _("已被更正版本取代"), "void": _("已作废")}.get(key, "")


def _standing_keys(case: Case, documents: Iterable[IssuedDocument]) -> dict[int, str]:
    from mediation.documents.selectors import document_standing  # selectors imports context, which imports us

    agreements = {a.pk: a for a in Agreement.objects.filter(case=case)}
    return {d.pk: document_standing(d, agreements.get(d.subject_id)).key for d in documents}


def standing_words(case: Case, documents: Iterable[IssuedDocument]) -> dict[int, str]:
    """What each registered document is worth today, by its pk, in the words of ``selectors.document_standing``."""
    return {pk: _standing_word(key) for pk, key in _standing_keys(case, documents).items()}


def registered_originals(case: Case, documents: Iterable[IssuedDocument] | None = None) -> list[EmbeddedFile]:
    """The registered PDFs the case file's register lists, as stored; refuses a file missing or altered."""
    if documents is None:
        documents = case.issued_documents.exclude(kind=DocumentKind.CASE_FILE).order_by("created_at", "pk")
    documents = list(documents)
    standings = standing_words(case, documents)
    files = []
    for number, document in enumerate(documents, 1):
        data = stored_bytes(document)
        if data is None or sha256_of(data) != document.sha256:
            raise ValidationError(_("卷宗无法生成：已登记文书“%(title)s”第%(version)d版（验证码 %(code)s）的存档"
                                    "文件缺失或与登记的 SHA-256 不符，请管理员用 verify_document 核查。")
                                  % {"title": document.title, "version": document.version,
                                     "code": document.code_display})
        files.append(EmbeddedFile(
            # Numbered so that the names sort in the register's order (the EmbeddedFiles name tree is sorted).
            name=_safe(f"{number:03d}-{document.title}-第{document.version}版-{document.code_display}.pdf"),
            data=data, mime_type="application/pdf", relationship=SOURCE,
            description=_("已登记文书原件：%(title)s 第%(version)d版，验证码 %(code)s%(standing)s，SHA-256 %(sha)s") % {
                "title": document.title, "version": document.version, "code": document.code_display,
                "standing": "（%s）" % standings[document.pk] if standings[document.pk] else "",
                "sha": document.sha256},
            modified=document.created_at))
    return files


def _attachment_bytes(attachment: Attachment) -> bytes | None:
    if not attachment.file.name:
        return None
    try:
        with default_storage.open(attachment.file.name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError, ValueError):
        return None


def void_scans(case: Case) -> dict[int, str]:
    """The scans of signed paper kept with a void print (a signing version voided by a rewrite of the draft),
    by attachment pk, each with that print's code.

    Such a scan stays in the case file, listed and carried like any attachment: the case file holds
    everything uploaded on the case (what was signed and then voided is part of what happened), and
    dropping it would make the attachment list disagree with the case's record. But it is not the
    signed original of any document in force, so it is named 已作废签署版的扫描件, never 签署原件,
    and carried as ``Supplement``, not as a ``Source`` the case file presents.
    """
    copies = list(SignedCopy.objects.filter(attachment__case=case).select_related("document"))
    keys = _standing_keys(case, [c.document for c in copies])
    return {c.attachment_id: c.document.code_display for c in copies if keys[c.document_id] == "void"}


def evidence(case: Case) -> list[EmbeddedFile]:
    """The case's attachments as uploaded; refuses a file missing or altered."""
    files = []
    void = void_scans(case)
    for number, attachment in enumerate(case.attachments.all(), 1):
        data = _attachment_bytes(attachment)
        if data is None or sha256_of(data) != attachment.sha256:
            raise ValidationError(_("卷宗无法生成：附件“%(name)s”的存档文件缺失或与上传时的 SHA-256 不符。")
                                  % {"name": attachment.original_name})
        if attachment.pk in void:
            description = _("已作废签署版的扫描件：%(name)s（验证码 %(code)s 的签署版已作废，不是生效的调解协议），"
                            "SHA-256 %(sha)s") % {"name": attachment.original_name, "code": void[attachment.pk],
                                                  "sha": attachment.sha256}
        else:
            description = _("%(kind)s：%(name)s%(note)s，SHA-256 %(sha)s") % {
                "kind": attachment.get_kind_display(), "name": attachment.original_name,
                "note": f"（{attachment.description}）" if attachment.description else "", "sha": attachment.sha256}
        files.append(EmbeddedFile(
            name=_safe(f"附件{number:03d}-{attachment.original_name}"), data=data,
            mime_type=attachment.content_type,
            relationship=SOURCE if attachment.kind == Attachment.Kind.SIGNED_COPY and attachment.pk not in void
            else SUPPLEMENT,
            description=description, modified=attachment.uploaded_at))
    return files


#: The kinds of files a case file carries besides the registered documents: each ``(case) -> list[EmbeddedFile]``.
SOURCES: list[Callable[[Case], list[EmbeddedFile]]] = [evidence]


def case_file_originals(case: Case, registered: Iterable[IssuedDocument]) -> list[EmbeddedFile]:
    """Everything the case file of ``case`` carries: the documents its register lists, then the rest."""
    files = registered_originals(case, registered)
    for source in SOURCES:
        files += source(case)
    return files
