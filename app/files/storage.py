"""The one file store: every file the platform keeps on disk goes through ``FileStore``.

Uploaded packages use it today and the file center (文件中心: account tables, notices, generated
workbooks) will use it next, so the rules live here once:

- **The store makes the keys.** A key is ``<namespace>/<2 hex>/<sha-256><suffix>``, built from
  the bytes' digest and a namespace the code chooses (``basic_info/packages``); no user text ever
  becomes part of a path, so a crafted filename cannot reach outside the root. A key read back
  from the database is checked against that shape before it is turned into a path.
- **Content-addressed:** the same bytes handed in twice are kept once, and a key's file never
  changes once written (which makes its digest a strong ETag).
- **Crash-safe writes:** bytes go to a temporary file in the store's own folders, are flushed to
  disk, renamed over the final name and the folder entry is flushed too. A file under a key is
  therefore whole or absent, never half-written, whatever kills the process; a temporary file a
  crash leaves behind starts with ``.`` and is never a key.
- **Budgeted stream writes:** ``put_stream`` copies a stream in chunks and stops as soon as it
  passes ``max_bytes``, removing what it had written, so a large upload is never held in memory
  and an oversized one never fills the disk.
- **Streamed reads:** ``open`` gives a file object; ``response`` answers a download with the file
  sent in chunks by the WSGI server (with conditional and range requests), never read whole.

Rows that refer to a file keep its key (``storage_key``); deleting the row and then the file, in
that order, leaves at worst a file without a row, never a row without its file.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app, send_file

from app.errors import DomainError, NotFound
from app.forms.atomic import atomic_write_bytes, fsync_dir
from app.i18n_text import N_, gettext

CHUNK_BYTES = 256 * 1024

_NAMESPACE = re.compile(r"[a-z][a-z0-9_]*(?:/[a-z][a-z0-9_]*)*")
_SUFFIX = re.compile(r"(?:\.[a-z0-9]{1,8})?")
_KEY = re.compile(r"(?P<namespace>[a-z][a-z0-9_]*(?:/[a-z][a-z0-9_]*)*)/(?P<shard>[0-9a-f]{2})/"
                  r"(?P<digest>[0-9a-f]{64})(?P<suffix>(?:\.[a-z0-9]{1,8})?)")

MSG_FILE_MISSING = N_("文件不存在或已被清理")


class FileTooLarge(DomainError):
    """A stream passed the byte budget of its write; nothing of it was kept."""

    status = 413

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(gettext("文件超过大小上限（%(limit)s 字节），未保存", limit=limit))


class InvalidKey(ValueError):
    """A key that the store did not make (a crafted or corrupted value)."""


@dataclass(frozen=True)
class Blob:
    """What the store kept: its key, the SHA-256 of the bytes and their size."""

    key: str
    sha256: str
    size: int


def _check_namespace(namespace: str, suffix: str) -> None:
    if not _NAMESPACE.fullmatch(namespace or ""):
        raise ValueError(f"invalid file namespace {namespace!r}")
    if not _SUFFIX.fullmatch(suffix or ""):
        raise ValueError(f"invalid file suffix {suffix!r}")


def _unlink_quietly(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class FileStore:
    """Files under ``root``, by keys the store makes (see the module's docstring)."""

    def __init__(self, root):
        self.root = Path(root)

    # --- keys -----------------------------------------------------------------------------------
    @staticmethod
    def key_for(digest: str, *, namespace: str, suffix: str = "") -> str:
        _check_namespace(namespace, suffix)
        return f"{namespace}/{digest[:2]}/{digest}{suffix}"

    def path(self, key: str) -> Path:
        """The file of ``key``; raises ``InvalidKey`` for anything the store would not make."""
        match = _KEY.fullmatch(key or "") if isinstance(key, str) else None
        if match is None or match["shard"] != match["digest"][:2]:
            raise InvalidKey(f"not a file-store key: {key!r}")
        return self.root / key

    # --- writes ---------------------------------------------------------------------------------
    def put(self, data: bytes, *, namespace: str, suffix: str = "") -> Blob:
        """Keep ``data`` crash-safe; bytes kept already under the same digest are not rewritten."""
        digest = hashlib.sha256(data).hexdigest()
        key = self.key_for(digest, namespace=namespace, suffix=suffix)
        path = self.path(key)
        if not path.exists():
            atomic_write_bytes(path, data)
        return Blob(key=key, sha256=digest, size=len(data))

    def put_stream(self, stream: BinaryIO, *, namespace: str, suffix: str = "",
                   max_bytes: int | None = None, chunk: int = CHUNK_BYTES) -> Blob:
        """Copy ``stream`` into the store chunk by chunk, hashing as it goes.

        Raises ``FileTooLarge`` (and keeps nothing) as soon as more than ``max_bytes`` arrive."""
        _check_namespace(namespace, suffix)
        # The digest, and so the final folder, is known only at the end: the temporary file lives
        # in the namespace's folder, on the same file system, so the rename stays atomic.
        folder = self.root / namespace
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=folder)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as handle:
                while True:
                    block = stream.read(chunk)
                    if not block:
                        break
                    size += len(block)
                    if max_bytes is not None and size > max_bytes:
                        raise FileTooLarge(max_bytes)
                    digest.update(block)
                    handle.write(block)
                handle.flush()
                os.fsync(handle.fileno())
            key = self.key_for(digest.hexdigest(), namespace=namespace, suffix=suffix)
            path = self.path(key)
            if path.exists():
                _unlink_quietly(tmp_name)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, path)
                fsync_dir(path.parent)
        except BaseException:
            # Whatever failed (the budget, the disk, the client hanging up), nothing partial stays.
            _unlink_quietly(tmp_name)
            raise
        return Blob(key=key, sha256=digest.hexdigest(), size=size)

    def delete(self, key: str) -> bool:
        """Remove the file of ``key``; False when it was not there."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    # --- reads ----------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def open(self, key: str) -> BinaryIO:
        """The file of ``key`` for reading; raises ``NotFound`` when it is gone."""
        try:
            return self.path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(gettext(MSG_FILE_MISSING)) from None

    def response(self, key: str, *, download_name: str, mimetype: str = "application/octet-stream",
                 inline: bool = False):
        """A download of ``key``: sent in chunks by the WSGI server, never read whole here.

        Conditional and range requests are answered (the digest is the ETag: a key's bytes never
        change); the browser is told to save the file under ``download_name`` (RFC 5987
        ``filename*`` for a non-ASCII name), or with ``inline`` to show it in place (a video a
        ``<video>`` element plays, asking for ranges)."""
        path = self.path(key)
        digest = _KEY.fullmatch(key)["digest"]
        try:
            return send_file(path, mimetype=mimetype, as_attachment=not inline,
                             download_name=download_name, conditional=True, etag=digest,
                             max_age=0)
        except FileNotFoundError:  # purged, or removed by hand, since its row was read
            raise NotFound(gettext(MSG_FILE_MISSING)) from None


def current_store() -> FileStore:
    """The store of the running app (``FILE_STORAGE_DIR``, config.py)."""
    return FileStore(current_app.config["FILE_STORAGE_DIR"])


def clean_filename(name, default: str = "未命名") -> str:
    """A user's filename fit to show and to offer as a download name (never a path here): its
    last part, without control characters, at most 255 characters."""
    text = re.sub(r"[\x00-\x1f\x7f]", "?", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    return (text or default)[:255]


__all__ = ["Blob", "FileStore", "FileTooLarge", "InvalidKey", "clean_filename", "current_store"]
