"""The case file as an archival object: PDF/A-3b that validates, the originals inside it, tagged, dated once.

Expectations come from the standards: ISO 19005-3 (PDF/A-3: associated files with
/AFRelationship, listed in the catalogue's /AF; XMP and Info dates that agree), ISO
32000-2 §14.13 (the relationship values: ``Source`` for the original a document
presents, ``Supplement`` for what goes with it) and §7.11.4 (an embedded file stream's
/Subtype is its MIME type, /Params its /Size, /ModDate and the MD5 /CheckSum).
"""
from __future__ import annotations

import datetime
import hashlib
import io
import re
import zipfile
from typing import NamedTuple

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from mediation import services as ms
from mediation.documents import services
from mediation.documents.models import DocumentKind, IssuedDocument
from mediation.models import Attachment, Case
from tests.documents import pdfcheck
from tests.documents.conftest import full_case
from tests.documents.pdfstructure import Structure

pdfa = pytest.importorskip("pikepdf.pdfa", reason="pikepdf[pdfa] is a dev dependency")


def _png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), colour).save(out, format="PNG")
    return out.getvalue()


class Archived(NamedTuple):
    case: Case
    document: IssuedDocument  # the case file's registry row
    pdf: bytes  # the case file as stored
    agreement_pdf: IssuedDocument  # the effective agreement's registered PDF


@pytest.fixture
def archived(world, media):
    """A closed case with evidence, two versions of one notice, the agreement and its signed scan; its case file."""
    case = full_case(world)
    ms.attachment_add(case_id=case.pk, actor=world.mediator_a, kind=Attachment.Kind.EVIDENCE,
                      upload=SimpleUploadedFile("工资条截图.png", _png(), "image/png"), description="2026年10月工资条")
    for _ in range(2):  # a re-issued notice: both versions were handed out, both are kept
        services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    agreement = case.effective_agreement()
    agreement_pdf = services.document_issue(case_id=case.pk, kind=DocumentKind.AGREEMENT, subject_id=agreement.pk,
                                            actor=world.mediator_a)
    services.signed_copy_add(document_id=agreement_pdf.pk, actor=world.mediator_a,
                             upload=SimpleUploadedFile("协议签署页.png", _png(colour=(0, 0, 0)), "image/png"))
    document = services.document_issue(case_id=case.pk, kind=DocumentKind.CASE_FILE, actor=world.supervisor_a)
    return Archived(case, document, pdfcheck.stored(document), agreement_pdf)


def _open(pdf: bytes) -> pikepdf.Pdf:
    # Keep the returned Pdf in a variable while its objects are used: they die with it.
    return pikepdf.open(io.BytesIO(pdf))


def test_the_case_file_validates_as_pdf_a_3b_with_nothing_left_unchecked(archived):
    pdf = archived.pdf
    report = pdfa.validate_written(io.BytesIO(pdf), "3b")
    assert report.verdict == "pass", report.summary()


def test_the_registered_originals_and_the_evidence_are_carried_byte_for_byte(archived):
    case, pdf = archived.case, archived.pdf
    document = _open(pdf)
    # Every file specification the catalogue's /AF lists, by its /UF name.
    specs = {str(spec.UF): spec for spec in document.Root.get("/AF", [])}
    wanted = {d.sha256: ("/Source", "/application/pdf")
              for d in case.issued_documents.exclude(kind=DocumentKind.CASE_FILE)}
    # The scan of the signed agreement is an original too; evidence goes with the file.
    wanted.update({a.sha256: ("/Source" if a.kind == Attachment.Kind.SIGNED_COPY else "/Supplement",
                              "/" + a.content_type) for a in case.attachments.all()})
    assert case.attachments.filter(kind=Attachment.Kind.SIGNED_COPY).count() == 1
    # Three registered documents at least (two notices, the agreement), the evidence and the scan.
    assert len(wanted) == case.issued_documents.count() - 1 + case.attachments.count() >= 5
    carried = {}
    for name, spec in specs.items():
        stream = spec.EF.F
        data = stream.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        carried[sha] = (str(spec.AFRelationship), str(stream.Subtype))  # the name decoded: /image/png
        params = stream.Params
        assert int(params.Size) == len(data), name
        assert bytes(params.CheckSum) == hashlib.md5(data, usedforsecurity=False).digest(), name
        assert re.fullmatch(r"D:\d{14}(Z|[+-]\d\d'\d\d'?)", str(params.ModDate)), name
        assert str(spec.F).isascii() and str(spec.Type) == "/Filespec"
    assert carried == wanted
    # The same files in the EmbeddedFiles name tree, keyed in byte order.
    tree = document.Root.Names.EmbeddedFiles.Names
    keys = [bytes(k) for k in tree[0::2]]
    assert keys == sorted(keys) and {str(s.UF) for s in tree[1::2]} == set(specs)


def test_a_case_file_is_not_issued_without_an_intact_original(world, media):
    case = full_case(world)
    notice = services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    assert notice.file.name
    default_storage.delete(notice.file.name)
    with pytest.raises(ValidationError, match=notice.code_display):
        services.document_issue(case_id=case.pk, kind=DocumentKind.CASE_FILE, actor=world.supervisor_a)
    assert not case.issued_documents.filter(kind=DocumentKind.CASE_FILE).exists()


def test_the_case_file_is_tagged(archived):
    pdf = archived.pdf
    document = _open(pdf)
    root = document.Root
    assert "/StructTreeRoot" in root and root.StructTreeRoot.get("/K") is not None
    assert bool(root.MarkInfo.Marked) is True


def test_a_register_row_reads_in_order_and_its_sha_256_fits_on_one_line(archived):
    structure = Structure(archived.pdf)
    agreement = archived.agreement_pdf
    rows = structure.rows()
    texts = [[re.sub(r"\s+", "", structure.text(cell)) for cell in row] for row in rows]
    at = next(i for i, row in enumerate(texts) if agreement.code_display in row)
    created = timezone.localtime(agreement.created_at)
    # The signed agreement in force says so (selectors.document_standing: 已生效), apart from any other print.
    assert texts[at] == [agreement.title, str(agreement.version), f"{created:%Y-%m-%d%H:%M}", agreement.code_display,
                         "已生效"]
    assert texts[at + 1] == ["SHA-256" + agreement.sha256]
    # Readable: the digest on one printed line (it used to wrap over seven).
    assert structure.lines(rows[at + 1][0]) == 1


_XMP_CREATED = re.compile(r"<xmp:CreateDate>([^<]+)</xmp:CreateDate>")
_INFO_DATE = re.compile(r"D:(\d{14})(Z|([+-])(\d\d)'(\d\d)'?)$")


def _info_date(value: str) -> datetime.datetime:
    found = _INFO_DATE.match(value)
    assert found, value
    moment = datetime.datetime.strptime(found.group(1), "%Y%m%d%H%M%S")
    if found.group(2) == "Z":
        return moment.replace(tzinfo=datetime.UTC)
    offset = datetime.timedelta(hours=int(found.group(4)), minutes=int(found.group(5)))
    return moment.replace(tzinfo=datetime.timezone(offset if found.group(3) == "+" else -offset))


def test_xmp_and_info_give_the_same_creation_date(archived):
    document, pdf = archived.document, archived.pdf
    xmp_text = _XMP_CREATED.search(pdfcheck.xmp(pdf))
    assert xmp_text
    xmp_date = datetime.datetime.fromisoformat(xmp_text.group(1))
    opened = _open(pdf)
    info_date = _info_date(str(opened.docinfo.CreationDate))
    assert xmp_date == info_date and xmp_date.utcoffset() == info_date.utcoffset()
    assert xmp_date.microsecond == 0 and "." not in xmp_text.group(1)
    # The moment of issue as registered, to the second.
    assert xmp_date == document.created_at.replace(microsecond=0)


def test_case_files_exported_by_worker_processes_validate_and_carry_their_originals(world, media):
    """The export renders in spawned workers: the originals travel with the prepared context and arrive whole."""
    from mediation.documents import export as exporting
    from tests.lifecycle import case_in_state
    from workflows.states import CaseState

    bare = case_in_state(world, CaseState.JOINT_MEDIATION)  # nothing registered yet: no file to carry
    full = full_case(world)
    notice = services.document_issue(case_id=full.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)
    target = io.BytesIO()
    summary = exporting.export_to_file(target, user=world.supervisor_a, workers=2,
                                       cases=exporting.export_scope(world.supervisor_a))
    assert summary.failed == 0 and summary.exported == 2
    with zipfile.ZipFile(target) as archive:
        pdfs = {name.split("-")[0]: archive.read(name) for name in archive.namelist() if name.endswith(".pdf")}
    assert set(pdfs) == {bare.number, full.number}
    for pdf in pdfs.values():
        report = pdfa.validate_written(io.BytesIO(pdf), "3b")
        assert report.verdict == "pass", report.summary()
    document = _open(pdfs[full.number])
    carried = {hashlib.sha256(spec.EF.F.read_bytes()).hexdigest() for spec in document.Root.AF}
    assert notice.sha256 in carried
