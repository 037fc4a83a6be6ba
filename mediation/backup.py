"""Backup and restore: one archive holding the database, the stored files and a manifest.

Layout of an archive (tar; gzip-compressed when its name ends in ``.tar.gz`` or ``.tgz``)::

    database/postgresql.dump   pg_dump --format=custom, from one snapshot     (PostgreSQL)
    database/sqlite3.db        SQLite's online backup API                     (SQLite)
    media/<name>               every stored file: issued documents, attachments
    manifest.json              size and SHA-256 of every file above, versions, engine, time

``create_backup`` writes the archive to a temporary file beside the target and renames
it only when it is complete, so a failed or interrupted backup leaves nothing that
looks like an archive. ``restore_backup`` refuses unless the database has no tables
and the media root is empty, extracts into a staging directory and checks every file
against the manifest before it writes anything, then loads the database (pg_restore in
one transaction, or SQLite's backup API) and moves the files into place.

Files and rows are consistent with each other: the files the database refers to are
read from the same snapshot as the dump, and a file that no row refers to and that was
written in the minutes around the backup (an upload in flight) is left out and named in
the manifest. Orphans older than that are copied as they are, so ``verify_document
--all`` reports the same after a restore as before.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import IO, Any

import django
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import FileField
from django.utils import timezone

from mediation.storage import walk

FORMAT = "labour-mediation-360/backup"
FORMAT_VERSION = 1
PROJECT = "labour-mediation-360"
MANIFEST = "manifest.json"
MEDIA_PREFIX = "media/"
DATABASE_FILES = {"postgresql": "database/postgresql.dump", "sqlite": "database/sqlite3.db"}
#: An unreferenced file written this shortly before the backup started (or later) is an upload in flight.
IN_FLIGHT = datetime.timedelta(minutes=5)
CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")

Log = Callable[[str], None]


class BackupError(Exception):
    """A refusal or a failure, worded for the operator. Nothing half-done is left behind."""


def _quiet(message: str) -> None:
    pass


# ------------------------------------------------------------------------- media

@dataclass
class Media:
    """Where the stored files live: a local directory, or (when configured) another Django storage."""

    storage: Storage
    root: Path | None  # the directory when the storage is a FileSystemStorage

    @classmethod
    def default(cls) -> Media:
        storage = default_storage
        if isinstance(storage, FileSystemStorage):
            return cls(storage, Path(storage.location))
        return cls(storage, None)

    def describe(self) -> dict[str, Any]:
        backend = type(getattr(self.storage, "_wrapped", self.storage))
        return {"storage": f"{backend.__module__}.{backend.__qualname__}",
                "location": str(self.root) if self.root is not None else None}

    def names(self) -> list[str]:
        if self.root is not None:
            if not self.root.is_dir():
                return []
            found = []
            for directory, subdirs, files in os.walk(self.root):
                subdirs.sort()
                for name in sorted(files):
                    path = Path(directory, name)
                    if path.is_file() and not path.is_symlink():
                        found.append(path.relative_to(self.root).as_posix())
            return found
        # A bucket is listed page by page (mediation.storage.walk), not one request per folder.
        return sorted(walk(self.storage))

    def is_empty(self) -> bool:
        if self.root is not None:
            if self.root.exists() and not self.root.is_dir():
                return False
            return not self.root.exists() or not any(self.root.iterdir())
        try:
            directories, files = self.storage.listdir("")
        except FileNotFoundError:
            return True
        return not directories and not files

    def size(self, name: str) -> int:
        return self.storage.size(name)

    def modified(self, name: str) -> datetime.datetime | None:
        try:
            return self.storage.get_modified_time(name)
        except (NotImplementedError, OSError):
            return None

    def open(self, name: str) -> IO[bytes]:
        return self.storage.open(name, "rb")


# ---------------------------------------------------------------------- database

def _fresh_connection(conn: BaseDatabaseWrapper) -> BaseDatabaseWrapper:
    """A second connection with the same settings: its own transaction, whatever the caller is in."""
    return type(conn)(conn.settings_dict, conn.alias)


def _file_columns() -> list[tuple[str, str]]:
    """(table, column) of every FileField: the rows that name stored files."""
    columns = []
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, FileField) and f.column:
                columns.append((model._meta.db_table, f.column))
    return sorted(set(columns))


def _referenced(cursor: Any, tables: set[str]) -> set[str]:
    names: set[str] = set()
    for table, column in _file_columns():
        if table in tables:
            cursor.execute(f'SELECT "{column}" FROM "{table}"')  # names from the models, not from input
            names.update(row[0] for row in cursor.fetchall() if row[0])
    return names


def _applied_migrations(cursor: Any, tables: set[str]) -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    if "django_migrations" in tables:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            applied.setdefault(app, []).append(name)
    return applied


def database_tables(conn: BaseDatabaseWrapper) -> list[str]:
    """Every table, view or sequence in the database (outside the system schemas)."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')"
                " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' ORDER BY 1")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                           " AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name")
        return [row[0] for row in cursor.fetchall()]


@dataclass
class Dump:
    info: dict[str, Any]
    referenced: set[str]


def _pg_env(settings_dict: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for the configured database: the password never appears on a command line."""
    from django.db.backends.postgresql.client import DatabaseClient

    _args, extra = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
    env = {**os.environ, **(extra or {})}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("NAME", "PGDATABASE")):
        if settings_dict.get(key):
            env[variable] = str(settings_dict[key])
    return env


def _tool_major(path: str) -> tuple[int, str]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"无法运行 {path}：{exc}") from None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if match is None:
        raise BackupError(f"无法识别 {path} 的版本：{out.strip()}")
    return int(match.group(1)), out.strip()


def pg_tool(name: str, needed_major: int, bindir: Path | None = None) -> tuple[str, int, str]:
    """The PostgreSQL client program ``name`` of major version ``needed_major`` or newer.

    Debian installs each client version in /usr/lib/postgresql/<N>/bin; the one matching
    the server is preferred, then ``bindir`` (``--pg-bindir``), then the PATH.
    """
    candidates = []
    if bindir is not None:
        candidates.append(str(bindir / name))
    candidates.append(f"/usr/lib/postgresql/{needed_major}/bin/{name}")
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    found = [c for c in candidates if os.path.isfile(c) and os.access(c, os.X_OK)]
    if not found:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：apt-get install "
                          f"postgresql-client-{needed_major}），或用 --pg-bindir 指定其目录。")
    for path in found:
        major, version = _tool_major(path)
        if major >= needed_major:
            return path, major, version
    raise BackupError(f"{name} 版本过旧（{version}），需要 {needed_major} 或更新的版本：请安装 "
                      f"postgresql-client-{needed_major}，或用 --pg-bindir 指定其目录。")


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    except OSError as exc:
        raise BackupError(f"{what}失败：{exc}") from None
    if result.returncode != 0:
        detail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise BackupError(f"{what}失败（退出码 {result.returncode}）：\n{detail}")


def _dump_postgresql(conn: BaseDatabaseWrapper, target: Path, bindir: Path | None) -> Dump:
    wrapper = _fresh_connection(conn)
    try:
        wrapper.ensure_connection()
        server_major = wrapper.pg_version // 10000  # type: ignore[attr-defined]
        tool, major, version = pg_tool("pg_dump", server_major, bindir)
        wrapper.set_autocommit(False)
        with wrapper.cursor() as cursor:
            # One snapshot for pg_dump and for the list of files the rows name.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
            _run([tool, "--format=custom", "--file", str(target), "--snapshot", snapshot],
                 _pg_env(wrapper.settings_dict), "pg_dump ")
            tables = set(wrapper.introspection.table_names(cursor))
            referenced = _referenced(cursor, tables)
            migrations = _applied_migrations(cursor, tables)
        wrapper.rollback()
    finally:
        wrapper.close()
    info = {"vendor": "postgresql", "engine": conn.settings_dict["ENGINE"], "name": conn.settings_dict["NAME"],
            "server_version": server_version, "dump_tool": version, "dump_major": major,
            "format": "pg_dump --format=custom", "migrations": migrations}
    return Dump(info, referenced)


def _dump_sqlite(conn: BaseDatabaseWrapper, target: Path, bindir: Path | None) -> Dump:
    wrapper = _fresh_connection(conn)
    try:
        wrapper.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            wrapper.connection.backup(destination)
        finally:
            destination.close()
    finally:
        wrapper.close()
    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        cursor = copy.cursor()
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {row[0] for row in cursor.fetchall()}
        referenced = _referenced(cursor, tables)
        migrations = _applied_migrations(cursor, tables)
    finally:
        copy.close()
    info = {"vendor": "sqlite", "engine": conn.settings_dict["ENGINE"], "name": str(conn.settings_dict["NAME"]),
            "server_version": sqlite3.sqlite_version, "format": "sqlite3 online backup", "migrations": migrations}
    return Dump(info, referenced)


_DUMPERS: dict[str, Callable[[BaseDatabaseWrapper, Path, Path | None], Dump]] = {
    "postgresql": _dump_postgresql, "sqlite": _dump_sqlite}


# ------------------------------------------------------------------------ backup

@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


class _Hashing:
    """A file object that hashes and counts what tarfile reads from it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, handle: IO[bytes], size: int,
         modified: datetime.datetime | None = None) -> dict[str, Any]:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int((modified or timezone.now()).timestamp())
    reader = _Hashing(handle)
    try:
        tar.addfile(info, reader)  # tarfile only calls read()
    except OSError as exc:  # the file shrank while it was read
        raise BackupError(f"读取 {name} 时文件发生变化：{exc}") from None
    return {"path": name, "size": size, "sha256": reader.digest.hexdigest()}


def manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
                          .encode()).hexdigest()


def project_version() -> str:
    try:
        return metadata.version(PROJECT)
    except metadata.PackageNotFoundError:
        return "unknown"


def default_output(now: datetime.datetime) -> Path:
    directory = getattr(settings, "BACKUP_DIR", None) or Path(getattr(settings, "VAR_DIR", ".")) / "backups"
    return Path(directory) / f"mediation-{timezone.localtime(now):%Y%m%d-%H%M%S}.tar.gz"


def _compressed(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return True
    if name.endswith(".tar"):
        return False
    raise BackupError(f"备份文件名须以 .tar.gz、.tgz 或 .tar 结尾：{path}")


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
    except ValueError:
        return False
    return True


def create_backup(output: Path | None = None, *, using: str = "default", pg_bindir: Path | None = None,
                  log: Log = _quiet) -> BackupResult:
    """Write one archive of the database and the stored files; return where and what."""
    started = timezone.now()
    target = Path(output) if output is not None else default_output(started)
    if target.is_dir():
        target = target / default_output(started).name
    compress = _compressed(target)
    if target.exists():
        raise BackupError(f"{target} 已存在：不会覆盖已有的备份。")
    media = Media.default()
    if media.root is not None and _inside(target, media.root):
        raise BackupError("备份文件不能放在媒体目录（MEDIA_ROOT）之内。")
    conn = connections[using]
    if conn.vendor not in _DUMPERS:
        raise BackupError(f"不支持的数据库引擎：{conn.settings_dict['ENGINE']}（仅支持 PostgreSQL 和 SQLite）。")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as work:
        database_name = DATABASE_FILES[conn.vendor]
        dumped = Path(work) / "database"
        log(f"导出数据库（{conn.vendor}）……")
        dump = _DUMPERS[conn.vendor](conn, dumped, pg_bindir)
        fd, partial_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        partial = Path(partial_name)
        try:
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz" if compress else "w", format=tarfile.PAX_FORMAT) as tar:
                    with dumped.open("rb") as handle:
                        files = [_add(tar, database_name, handle, dumped.stat().st_size)]
                    log("复制存储的文件……")
                    media_files, skipped, missing = _add_media(tar, media, dump.referenced, started)
                    files += media_files
                    manifest = _manifest(started, dump, media, files, skipped, missing)
                    data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mode, info.mtime = len(data), 0o600, int(timezone.now().timestamp())
                    tar.addfile(info, _bytes(data))
                raw.flush()
                os.fsync(raw.fileno())
            if target.exists():
                raise BackupError(f"{target} 已存在：不会覆盖已有的备份。")
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(target, manifest, skipped, missing)


def _bytes(data: bytes) -> IO[bytes]:
    import io

    return io.BytesIO(data)


def _add_media(tar: tarfile.TarFile, media: Media, referenced: set[str],
               started: datetime.datetime) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    files: list[dict[str, Any]] = []
    skipped: list[str] = []
    vanished: set[str] = set()
    present = media.names()
    for name in present:
        modified = media.modified(name)
        if name not in referenced and (modified is None or modified >= started - IN_FLIGHT):
            skipped.append(name)  # no row at the snapshot names it, and it is new: written during the backup
            continue
        try:
            with media.open(name) as handle:
                files.append(_add(tar, MEDIA_PREFIX + name, handle, media.size(name), modified))
        except FileNotFoundError:  # deleted while the backup ran
            if name in referenced:
                vanished.add(name)
            else:
                skipped.append(name)
    missing = sorted((referenced - set(present)) | vanished)
    return files, skipped, missing


def _manifest(started: datetime.datetime, dump: Dump, media: Media, files: list[dict[str, Any]],
              skipped: list[str], missing: list[str]) -> dict[str, Any]:
    media_files = [f for f in files if f["path"].startswith(MEDIA_PREFIX)]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": started.astimezone(datetime.timezone.utc).isoformat(),
        "finished_at": timezone.now().astimezone(datetime.timezone.utc).isoformat(),
        "project": {"name": PROJECT, "version": project_version()},
        "django": django.get_version(),
        "python": platform.python_version(),
        "host": platform.node(),
        "database": {**dump.info, "file": files[0]["path"]},
        "media": {**media.describe(), "files": len(media_files), "bytes": sum(f["size"] for f in media_files),
                  # Unreferenced files written while the backup ran, and files rows name but storage lacks.
                  "skipped_in_flight": skipped, "missing": missing},
        "files": files,
    }
    manifest["digest"] = manifest_digest(manifest)
    return manifest


# ----------------------------------------------------------------------- restore

@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(path, "r:*")
    except FileNotFoundError:
        raise BackupError(f"找不到备份文件：{path}") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{path} 不是可读的备份文件（{exc}）。未做任何修改。") from None
    try:
        yield tar
    finally:
        tar.close()


def _damaged(detail: str) -> BackupError:
    return BackupError(f"备份文件校验失败：{detail}。未做任何修改。")


def read_manifest(path: Path) -> dict[str, Any]:
    """The archive's manifest, checked for form and against its own digest."""
    with _open_archive(path) as tar:
        try:
            member = tar.getmember(MANIFEST)
            handle = tar.extractfile(member)
            if handle is None or member.size > 50 * CHUNK:
                raise _damaged("清单 manifest.json 不是普通文件")
            manifest = json.loads(handle.read().decode())
        except KeyError:
            raise _damaged("缺少清单 manifest.json") from None
        except (tarfile.TarError, OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as exc:
            raise _damaged(f"无法读取清单（{exc}）") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _damaged("清单不是本系统的备份清单")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"备份格式版本 {manifest.get('format_version')} 不受支持（本程序为 {FORMAT_VERSION}）。"
                          "未做任何修改。")
    if manifest.get("digest") != manifest_digest(manifest):
        raise _damaged("清单内容与其摘要不符（清单被改动过）")
    if not all(isinstance(manifest.get(key), dict) for key in ("database", "media", "project")):
        raise _damaged("清单缺少数据库、文件或版本信息")
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise _damaged("清单中没有文件列表")
    seen = set()
    for entry in files:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str) and isinstance(entry.get("size"), int)
                and isinstance(entry.get("sha256"), str) and _SHA256.fullmatch(entry["sha256"])):
            raise _damaged(f"清单条目格式不正确：{entry!r}")
        _safe_parts(entry["path"])
        if entry["path"] in seen:
            raise _damaged(f"清单中重复的文件：{entry['path']}")
        seen.add(entry["path"])
    return manifest


def _safe_parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name)
    parts = path.parts
    if (path.is_absolute() or not parts or any(p in ("", ".", "..") for p in parts) or "\\" in name
            or not (name in DATABASE_FILES.values() or name.startswith(MEDIA_PREFIX))):
        raise _damaged(f"不安全或未知的路径：{name}")
    return parts


def extract_verified(path: Path, manifest: dict[str, Any], staging: Path) -> None:
    """Extract every file into ``staging``, checking each one's size and SHA-256 against the manifest."""
    expected = {f["path"]: f for f in manifest["files"]}
    seen: set[str] = set()
    with _open_archive(path) as tar:
        try:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected:
                    raise _damaged(f"文件 {member.name} 不在清单中")
                if member.name in seen or not member.isreg():
                    raise _damaged(f"{member.name} 重复出现或不是普通文件")
                seen.add(member.name)
                entry = expected[member.name]
                destination = staging.joinpath(*_safe_parts(member.name))
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular member
                digest, size = hashlib.sha256(), 0
                with destination.open("xb") as out:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                    raise _damaged(f"{member.name} 的大小或 SHA-256 与清单不符（文件被改动或损坏）")
                os.utime(destination, (member.mtime, member.mtime))
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise _damaged(f"读取备份文件出错（{exc}）") from None
    absent = sorted(set(expected) - seen)
    if absent:
        raise _damaged(f"清单中的文件在备份中缺失：{', '.join(absent[:5])}")


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    files: int
    database: str


def _restore_postgresql(conn: BaseDatabaseWrapper, dump: Path, manifest: dict[str, Any],
                        bindir: Path | None) -> None:
    conn.ensure_connection()
    server_major = conn.pg_version // 10000  # type: ignore[attr-defined]  # the PostgreSQL wrapper's
    needed = max(int(manifest["database"].get("dump_major") or 0), server_major)
    tool, _major, _version = pg_tool("pg_restore", needed, bindir)
    conn.close()
    # One transaction: on any error pg_restore stops and the database stays empty. Owners and
    # grants are not carried over: the restored objects belong to the configured user.
    _run([tool, "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
          "--dbname", str(conn.settings_dict["NAME"]), str(dump)], _pg_env(conn.settings_dict), "pg_restore ")


def _restore_sqlite(conn: BaseDatabaseWrapper, copy: Path, manifest: dict[str, Any], bindir: Path | None) -> None:
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        (result,) = source.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise _damaged(f"数据库副本完整性检查未通过（{result}）")
        conn.close()
        wrapper = _fresh_connection(conn)
        try:
            wrapper.ensure_connection()
            source.backup(wrapper.connection)
        finally:
            wrapper.close()
    finally:
        source.close()


_RESTORERS: dict[str, Callable[[BaseDatabaseWrapper, Path, dict[str, Any], Path | None], None]] = {
    "postgresql": _restore_postgresql, "sqlite": _restore_sqlite}


def _staging_parent(media: Media) -> Path | None:
    """Stage beside the media root when possible, so that placing the files is a rename."""
    if media.root is not None:
        parent = media.root.parent
        if parent.is_dir() and os.access(parent, os.W_OK):
            return parent
    return None


def _place_media(media: Media, staged: Path, names: list[str]) -> None:
    if media.root is not None:
        media.root.mkdir(parents=True, exist_ok=True)
        if staged.is_dir():
            for entry in sorted(staged.iterdir()):
                shutil.move(str(entry), str(media.root / entry.name))
        return
    for name in names:
        with (staged / name).open("rb") as handle:
            saved = media.storage.save(name, File(handle, name=name))
        if saved != name:
            raise BackupError(f"存储把 {name} 保存成了 {saved}：存储不是空的？")


def check_restorable(manifest: dict[str, Any], conn: BaseDatabaseWrapper, media: Media) -> None:
    """Refuse unless the archive fits this engine and the database and media root are empty."""
    vendor = manifest["database"].get("vendor")
    if vendor != conn.vendor:
        raise BackupError(f"该备份来自 {vendor} 数据库，而当前配置的是 {conn.vendor}："
                          "只能恢复到同一种数据库。未做任何修改。")
    if conn.vendor not in _RESTORERS:
        raise BackupError(f"不支持的数据库引擎：{conn.settings_dict['ENGINE']}。")
    database_file = manifest["database"].get("file")
    if database_file != DATABASE_FILES[conn.vendor] or database_file not in {f["path"] for f in manifest["files"]}:
        raise _damaged(f"清单中的数据库文件不正确：{database_file!r}")
    tables = database_tables(conn)
    if tables:
        shown = "、".join(tables[:3]) + ("等" if len(tables) > 3 else "")
        raise BackupError(
            f"目标数据库 {conn.settings_dict['NAME']} 不是空的（已有 {len(tables)} 个表：{shown}）。"
            "恢复只写入新建的空数据库（PostgreSQL 用 createdb 新建；SQLite 用一个不存在的文件），"
            "恢复前也不要运行 migrate。未做任何修改。")
    if not media.is_empty():
        where = media.root if media.root is not None else media.describe()["storage"]
        raise BackupError(f"媒体目录 {where} 不是空的：恢复只写入空的媒体目录。未做任何修改。")


def restore_backup(archive: Path, *, using: str = "default", pg_bindir: Path | None = None,
                   log: Log = _quiet) -> RestoreResult:
    """Load ``archive`` into the (empty) database and media root; refuse, changing nothing, otherwise."""
    conn = connections[using]
    media = Media.default()
    manifest = read_manifest(archive)
    check_restorable(manifest, conn, media)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=_staging_parent(media)) as work:
        staging = Path(work)
        log("校验备份中的每个文件……")
        extract_verified(archive, manifest, staging)
        check_restorable(manifest, conn, media)  # still empty after the (long) check
        log("恢复数据库……")
        database_file = manifest["database"]["file"]
        _RESTORERS[conn.vendor](conn, staging.joinpath(*PurePosixPath(database_file).parts), manifest, pg_bindir)
        conn.close()
        names = [f["path"][len(MEDIA_PREFIX):] for f in manifest["files"] if f["path"].startswith(MEDIA_PREFIX)]
        log(f"恢复 {len(names)} 个文件……")
        try:
            _place_media(media, staging / "media", names)
        except OSError as exc:
            raise BackupError(f"数据库已恢复，但存储的文件未能全部放入媒体目录（{exc}）。请清空数据库和媒体目录，"
                              "排除问题后重新恢复。") from None
    return RestoreResult(manifest, len(names), conn.vendor)


__all__ = ["BackupError", "BackupResult", "Media", "RestoreResult", "check_restorable", "create_backup",
           "database_tables", "extract_verified", "manifest_digest", "pg_tool", "read_manifest", "restore_backup"]
