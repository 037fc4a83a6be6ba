"""Stored files on local disk or an S3-compatible object store (docs/operations.md, "Object storage").

Everything the project stores (issued documents, attachments, signed scans) goes through
Django's ``default_storage``: a local directory by default, a bucket when ``STORAGE_S3_BUCKET``
is set. Nothing asks the storage for a local path or a URL: downloads are read through the
application, after its permission checks, and objects stay private.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.files.storage import Storage
from django.utils.functional import LazyObject, empty


def _wrapped(storage: Storage) -> Any:
    """The backend behind ``storage`` (``default_storage`` is a lazy object that sets itself up on first use)."""
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


def is_object_store(storage: Storage) -> bool:
    """Whether ``storage`` is an S3-compatible bucket (django-storages' S3 backend)."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return False
    return isinstance(_wrapped(storage), S3Storage)


def walk(storage: Storage, prefix: str = "") -> Iterator[str]:
    """Every stored name under ``prefix`` ("" for all, else a folder such as "documents"), sorted.

    On a bucket the keys are listed page by page without delimiters (one request per 1,000 objects,
    not one per folder); elsewhere folders are listed one by one with ``listdir``.
    """
    folder = prefix.strip("/")
    if is_object_store(storage):
        yield from _walk_bucket(_wrapped(storage), folder)
        return
    yield from sorted(_walk_folders(storage, folder))


def _walk_bucket(storage: Any, folder: str) -> Iterator[str]:
    location = storage.location.strip("/")
    base = "/".join(part for part in (location, folder) if part)
    key_prefix = f"{base}/" if base else ""
    paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
    strip = len(f"{location}/") if location else 0
    for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=key_prefix):
        for entry in page.get("Contents", ()):
            key = entry["Key"]
            if not key.endswith("/"):  # a folder marker some tools create
                yield key[strip:]


def _walk_folders(storage: Storage, folder: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    lead = f"{folder}/" if folder else ""
    for name in files:
        yield f"{lead}{name}"
    for directory in directories:
        yield from _walk_folders(storage, f"{lead}{directory}")
