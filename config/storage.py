"""Sending stored files (audio clips, frozen media, job results) from any storage backend.

Files live wherever ``STORAGES["default"]`` puts them: the folder ``MEDIA_ROOT`` on one
machine, an S3-compatible object store on several (``docs/operations.md``). Chorus never links
to the store itself: every download passes a view's permission check and the view streams the
bytes from the storage. Views open files through ``open_stored`` and answer with
``StoredFileResponse``, never with ``open()`` on a path, which exists only on a local disk.
"""

from __future__ import annotations

from typing import IO, Any

from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404


class ObjectBody:
    """An object store's response body, read as it arrives.

    django-storages' ``S3File`` downloads the whole object (into memory, or into a temporary
    file past ``AWS_S3_MAX_MEMORY_SIZE``) before its first byte can be read; a large export
    would then wait, and fill the web machine, before the download even starts. This reads the
    GET response directly instead. It has no ``tell``/``seek``: FileResponse then takes the
    length from ``size`` (see ``StoredFileResponse``) instead of seeking to the end.
    """

    def __init__(self, body: Any, *, name: str, size: int | None) -> None:
        self._body = body
        self.name = name
        self.size = size

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._body.read(size if size >= 0 else None)
        return data

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> ObjectBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stored(name: str | None, *, storage: Storage | None = None) -> IO[bytes] | ObjectBody:
    """Open the stored file ``name`` for reading from the start to the end, as a download does.

    Raises ``FileNotFoundError`` when there is no such file (on S3: after one HEAD request) or
    no name (an empty file field). From an object store the bytes are streamed
    (``ObjectBody``); from a local folder this is the storage's own file.
    """
    if not name:
        raise FileNotFoundError("no file name")
    storage = storage or default_storage
    opened = storage.open(name, "rb")
    s3_file = _as_s3_file(opened)
    if s3_file is None:
        return opened
    # The HEAD request of S3File told that the object exists; one GET now streams its body.
    response = s3_file.obj.get()
    s3_file.close()
    return ObjectBody(
        response["Body"], name=s3_file.name or name, size=response.get("ContentLength")
    )


def _as_s3_file(opened: object) -> Any | None:
    """``opened`` if it is django-storages' S3File, else None."""
    # Imported here: boto3 takes a while to import and a local-disk setup never needs it.
    try:
        from storages.backends.s3 import S3File  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - django-storages[s3] is a dependency
        return None
    return opened if isinstance(opened, S3File) else None


class StoredFileResponse(FileResponse):
    """A FileResponse for files opened with ``open_stored``: it also sends Content-Length for
    a streamed object, and reads in larger blocks (fewer reads of a network stream)."""

    block_size = 64 * 1024

    def set_headers(self, filelike: Any) -> None:
        super().set_headers(filelike)
        size = getattr(filelike, "size", None)
        if "Content-Length" not in self.headers and isinstance(size, int):
            self.headers["Content-Length"] = str(size)


def stored_download(
    field: Any, *, filename: str | None = None, content_type: str | None = None
) -> StoredFileResponse:
    """A stored file (a ``FieldFile``) as an attachment, streamed from its storage; 404 when
    it is empty or gone. Named ``filename``, else the file's own name. Call after the access
    checks."""
    if not field:
        raise Http404("No such file.")
    name = filename or (field.name or "file").rsplit("/", 1)[-1]
    try:
        stream = open_stored(field.name, storage=field.storage)
    except FileNotFoundError:
        raise Http404("The file is gone.") from None
    return StoredFileResponse(stream, as_attachment=True, filename=name, content_type=content_type)
