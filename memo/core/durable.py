"""Durable file writes: the one way memo replaces or appends to a file.

A replaced file (or folder) is written beside its target under a temporary name, flushed to disk
and renamed over the target, so a kill leaves the old version or the new one, never half of
either. Appends are fsynced line batches, so a kill loses at most the line being written.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable: the directory entry itself is flushed."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename itself is still atomic
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for file in files:
        with open(file, "rb+") as handle:
            os.fsync(handle.fileno())


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to (a file or a folder, by any writer);
    on success it is flushed and renamed over `path`; on failure it is removed."""
    tmp = path.with_name(path.name + ".tmp")
    _remove(tmp)
    try:
        yield tmp
        _fsync_tree(tmp)
        if tmp.is_dir():
            _remove(path)  # a folder cannot be renamed over a non-empty one
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) atomically and durably."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def append_lines(path: Path, lines: Iterable[str]) -> None:
    """Append newline-terminated `lines` and fsync. A torn last line (no trailing newline, from a
    killed writer) is closed first, so the first new line stays whole."""
    torn = path.is_file() and path.stat().st_size > 0 and _last_byte(path) != b"\n"
    with open(path, "a", encoding="utf-8") as handle:
        if torn:
            handle.write("\n")
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1)
