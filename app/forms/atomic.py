"""Crash-safe file writes: a file on disk is always either the old version or the new one.

People type into the filler for an hour and then the laptop's battery dies, or an antivirus tool
kills the process (FAQ §9). Writing in place would leave a half-written, unreadable form or zip;
writing a temporary file in the same folder, flushing it to disk and renaming it over the old one
cannot. Used by the package writer, the filler's form store and the server's file store
(app/files/storage.py). No Flask, no GUI.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk."""
    # The rename itself lives in the directory entry; without this a power cut right after
    # os.replace can still lose it on some file systems. Windows cannot open a directory.
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file + fsync + os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target: os.replace is only atomic within one file system.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        # Whatever failed, the old file is untouched; do not leave the temporary one behind.
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    fsync_dir(path.parent)
    return path
