"""verify_document and export_case_files from the command line."""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from mediation.documents import services
from mediation.documents.models import DocumentKind
from tests.documents import pdfcheck
from tests.lifecycle import case_in_state
from workflows.states import CaseState as S


@pytest.fixture
def notice(world, media):
    case = case_in_state(world, S.JOINT_MEDIATION)
    return services.document_issue(case_id=case.pk, kind=DocumentKind.ACCEPTANCE_NOTICE, actor=world.mediator_a)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_document", *args, stdout=out)
    return out.getvalue()


def test_a_code_resolves_to_the_registered_document(notice):
    output = run(notice.code_display.lower())
    assert notice.case.number in output and notice.sha256 in output and "存储中的文件完好" in output


def test_a_file_is_recognised_by_its_sha256(notice, tmp_path):
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(pdfcheck.stored(notice))
    assert "一致" in run("--file", str(copy))
    assert "一致" in run(notice.code_display, "--file", str(copy))


def test_one_flipped_byte_is_a_mismatch(notice, tmp_path):
    data = bytearray(pdfcheck.stored(notice))
    data[len(data) // 2] ^= 0x01
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="不一致"):
        run(notice.code_display, "--file", str(copy))
    with pytest.raises(CommandError, match="不一致"):
        run("--file", str(copy))


def test_an_unknown_code_fails(db):
    with pytest.raises(CommandError, match="未找到"):
        run("AAAA-BBBB-CCCC-DDDD")


def test_checking_everything_finds_altered_files_and_orphans(notice, media):
    assert "发现 0 个问题" in run("--all")
    path = notice.file.path
    data = bytearray(open(path, "rb").read())
    data[100] ^= 0xFF
    open(path, "wb").write(bytes(data))
    orphan = media / "documents" / str(notice.case_id) / "stray.pdf"
    orphan.write_bytes(b"%PDF-1.7 stray")
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 个问题"):
        call_command("verify_document", "--all", stdout=out)
    assert "已改动" in out.getvalue() and "stray.pdf" in out.getvalue()
    with pytest.raises(CommandError, match="存储中的文件缺失或已被改动"):
        run(notice.code_display)


def test_export_case_files_writes_the_supervisors_scope(world, media, tmp_path):
    case_in_state(world, S.JOINT_MEDIATION)
    target = tmp_path / "out" / "files.zip"
    out = io.StringIO()
    call_command("export_case_files", "--user", world.supervisor_a.username, "--out", str(target), "--workers", "1",
                 stdout=out)
    assert "已导出 1 份卷宗" in out.getvalue()
    with zipfile.ZipFile(target) as archive:
        assert len(archive.namelist()) == 2 and "manifest.csv" in archive.namelist()
    assert not target.with_name("files.zip.part").exists()


def test_export_case_files_refuses_non_supervisors(world, media, tmp_path):
    with pytest.raises(CommandError, match="不是负责人"):
        call_command("export_case_files", "--user", world.mediator_a.username, "--out", str(tmp_path / "x.zip"))
