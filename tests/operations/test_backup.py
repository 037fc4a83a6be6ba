"""manage.py backup and manage.py restore: round trips, and the refusals that leave everything as it was.

The SQLite tests run the commands in subprocesses against file databases in a temporary
directory, so they run whichever database the suite itself uses. The PostgreSQL round trip
backs up the test database and restores into a new, empty database made for the test.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from psycopg.conninfo import make_conninfo

from mediation import backup
from tests.operations.data import make_case, tree

ROOT = Path(__file__).resolve().parents[2]

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="pg_dump and pg_restore need PostgreSQL")


def manage(*args: str | Path, database_url: str, media: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=database_url, MEDIA_ROOT=str(media), SECRET_KEY="test-only-not-secret", DEBUG="1",
               DJANGO_SETTINGS_MODULE="mediation.settings", PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "manage.py", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def has_verify_audit() -> bool:
    from django.core.management import get_commands

    return "verify_audit" in get_commands()


def tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


@dataclass
class Site:
    """A database file and a media root, driven through manage.py."""

    db: Path
    media: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.db}"

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return manage(*args, database_url=self.url, media=self.media)


@dataclass
class Archives:
    source: Site
    tar: Path
    tgz: Path


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Archives:
    """A SQLite site with a case, an attachment and two issued documents, backed up both ways."""
    base = tmp_path_factory.mktemp("sqlite-source")
    source = Site(base / "source.sqlite3", base / "media")
    for args in (("migrate", "--no-input", "-v", "0"),
                 ("shell", "-c", "from tests.operations.data import populate; populate()"),
                 ("backup", "--output", base / "backup.tar"),
                 ("backup", "--output", base / "backup.tar.gz")):
        result = source.run(*args)
        assert result.returncode == 0, result.stderr
    assert len(tree(source.media)) == 3  # the attachment and two documents
    return Archives(source, base / "backup.tar", base / "backup.tar.gz")


@pytest.fixture
def target(tmp_path: Path) -> Site:
    return Site(tmp_path / "restored.sqlite3", tmp_path / "restored-media")


def assert_untouched(site: Site) -> None:
    assert tables(site.db) == []
    assert tree(site.media) == {}
    assert not [p for p in site.media.parent.iterdir() if p.name.startswith(".restore-")]


# ------------------------------------------------------------------------- SQLite

def test_a_sqlite_round_trip_restores_every_row_and_file(archives: Archives, target: Site) -> None:
    result = target.run("restore", archives.tgz)
    assert result.returncode == 0, result.stderr
    assert "已恢复" in result.stdout and "发现 0 个问题" in result.stdout  # verify_document --all ran

    assert tree(target.media) == tree(archives.source.media)
    with sqlite3.connect(archives.source.db) as source, sqlite3.connect(target.db) as restored:
        assert list(restored.iterdump()) == list(source.iterdump())
    check = target.run("verify_document", "--all")
    assert check.returncode == 0 and "发现 0 个问题" in check.stdout, check.stdout + check.stderr
    if has_verify_audit():
        audit = target.run("verify_audit")
        assert audit.returncode == 0, audit.stdout + audit.stderr


def test_check_verifies_an_archive_without_restoring(archives: Archives, target: Site) -> None:
    result = target.run("restore", "--check", archives.tar)
    assert result.returncode == 0 and "归档完好" in result.stdout, result.stderr
    assert_untouched(target)


def test_restore_refuses_a_database_with_tables(archives: Archives, target: Site) -> None:
    assert target.run("migrate", "--no-input", "-v", "0").returncode == 0
    before = target.db.read_bytes()
    result = target.run("restore", archives.tar)
    assert result.returncode != 0
    assert "不是空的" in result.stderr and "未做任何修改" in result.stderr
    assert target.db.read_bytes() == before
    assert tree(target.media) == {}


def test_restore_refuses_a_media_root_with_files(archives: Archives, target: Site) -> None:
    target.media.mkdir()
    (target.media / "left-over.txt").write_text("x")
    result = target.run("restore", archives.tar)
    assert result.returncode != 0 and "媒体目录" in result.stderr, result.stderr
    assert tables(target.db) == []
    assert tree(target.media) == {"left-over.txt": tree(target.media)["left-over.txt"]}


@pytest.mark.parametrize("member", ["database/sqlite3.db", "media/documents", "media/attachments", "manifest.json"])
def test_one_changed_byte_is_refused_before_anything_is_written(archives: Archives, target: Site, tmp_path: Path,
                                                                 member: str) -> None:
    tampered = tmp_path / "tampered.tar"
    shutil.copy(archives.tar, tampered)
    with tarfile.open(tampered) as tar:
        found = next(m for m in tar.getmembers() if m.name.startswith(member))
    with tampered.open("r+b") as handle:
        handle.seek(found.offset_data + found.size // 2)
        byte = handle.read(1)
        handle.seek(-1, io.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x01]))
    result = target.run("restore", tampered)
    assert result.returncode != 0
    assert "未做任何修改" in result.stderr, result.stderr
    assert_untouched(target)


def test_one_changed_byte_in_a_compressed_archive_is_refused(archives: Archives, target: Site,
                                                              tmp_path: Path) -> None:
    data = bytearray(archives.tgz.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp_path / "tampered.tar.gz"
    tampered.write_bytes(bytes(data))
    result = target.run("restore", tampered)
    assert result.returncode != 0 and "未做任何修改" in result.stderr, result.stderr
    assert_untouched(target)


def _forge(path: Path, manifest: dict, members: dict[str, bytes]) -> None:
    manifest["digest"] = backup.manifest_digest(manifest)
    with tarfile.open(path, "w") as tar:
        for name, data in {**members, "manifest.json": json.dumps(manifest).encode()}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_forged_archives_are_refused_before_extraction(archives: Archives, tmp_path: Path) -> None:
    with tarfile.open(archives.tar) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        genuine = json.loads(member.read())
    evil = b"not a document"
    entry = {"size": len(evil), "sha256": hashlib.sha256(evil).hexdigest()}
    for name in ("media/../../escaped", "/etc/escaped", "other/file"):  # outside the staging directory / layout
        forged = {**genuine, "files": [*genuine["files"], {"path": name, **entry}]}
        _forge(tmp_path / "forged.tar", forged, {})
        with pytest.raises(backup.BackupError, match="不安全或未知的路径"):
            backup.read_manifest(tmp_path / "forged.tar")
    # A member the manifest does not list.
    _forge(tmp_path / "extra.tar", dict(genuine), {"media/extra": evil})
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(backup.BackupError, match="不在清单中"):
        backup.extract_verified(tmp_path / "extra.tar", backup.read_manifest(tmp_path / "extra.tar"), staging)
    assert not (tmp_path / "escaped").exists()


def test_backup_names_the_formats_it_writes(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"\.tar\.gz"):
        call_command("backup", output=tmp_path / "backup.zip", stdout=io.StringIO())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the reference data (levels)
def test_a_failed_backup_leaves_no_archive_behind(world, settings, tmp_path, monkeypatch) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    make_case(world.town_a, world.mediator_a)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_add_media", disk_full)
    out = tmp_path / "backups"
    with pytest.raises(OSError, match="No space"):
        backup.create_backup(out / "mediation.tar.gz")
    assert list(out.iterdir()) == []  # neither the archive, nor its temporary file, nor the dump

    monkeypatch.undo()
    result = backup.create_backup(out / "mediation.tar.gz")
    assert [p.name for p in out.iterdir()] == ["mediation.tar.gz"] and result.manifest["media"]["files"] == 3
    with pytest.raises(backup.BackupError, match="已存在"):
        backup.create_backup(out / "mediation.tar.gz")


# --------------------------------------------------------------------- PostgreSQL

def _fingerprints(cursor, names: list[str]) -> dict[str, tuple[int, str]]:
    prints = {}
    for name in names:
        cursor.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '
                       f'FROM "{name}" t')
        count, digest = cursor.fetchone()
        prints[name] = (count, digest)
    return prints


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new database on the test server, named helper_backup_restore_*, dropped afterwards."""
    params = connection.settings_dict
    name = f"helper_backup_restore_{uuid.uuid4().hex[:12]}"
    given = {"host": params["HOST"], "port": params["PORT"], "user": params["USER"], "password": params["PASSWORD"]}
    conninfo = make_conninfo(dbname="postgres", **{k: v for k, v in given.items() if v})
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # keeps the reference data (levels)
def test_a_postgresql_round_trip_restores_every_row_and_file(world, settings, tmp_path, empty_database) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    make_case(world.town_a, world.mediator_a)
    make_case(world.town_b, world.mediator_b)
    archive = tmp_path / "backup.tar.gz"
    out = io.StringIO()
    call_command("backup", output=archive, stdout=out)
    assert "已备份到" in out.getvalue()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left

    params = connection.settings_dict
    url = (f"postgres://{params['USER']}:{params['PASSWORD'] or ''}@{params['HOST'] or 'localhost'}:"
           f"{params['PORT'] or 5432}/{empty_database}")
    restored_media = tmp_path / "restored-media"
    result = manage("restore", "--no-verify", archive, database_url=url, media=restored_media)
    assert result.returncode == 0, result.stderr

    assert tree(restored_media) == tree(Path(settings.MEDIA_ROOT)) and len(tree(restored_media)) == 6
    names = sorted(connection.introspection.table_names())
    with connection.cursor() as cursor:
        source = _fingerprints(cursor, names)
    with psycopg.connect(url) as restored, restored.cursor() as cursor:
        assert _fingerprints(cursor, names) == source
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cursor.fetchone() == (len(names),)

    check = manage("verify_document", "--all", database_url=url, media=restored_media)
    assert check.returncode == 0 and "已检查 4 份登记文书，发现 0 个问题" in check.stdout, check.stdout + check.stderr
    if has_verify_audit():
        audit = manage("verify_audit", database_url=url, media=restored_media)
        assert audit.returncode == 0, audit.stdout + audit.stderr

    again = manage("restore", archive, database_url=url, media=tmp_path / "other-media")
    assert again.returncode != 0 and "不是空的" in again.stderr
