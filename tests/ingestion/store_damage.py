"""Damage a real Chroma store the way a bad disk or a copy cut short does: noise over a page of
chroma.sqlite3 or the start of an HNSW file, the file cut in half or to nothing (shared by the
store check's tests and the CLI's)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

SQLITE_DAMAGES = ("header page", "middle page", "last page in use", "cut in half", "zero length")
HNSW_DAMAGES = ("header.bin", "data_level0.bin", "index_metadata.pickle")


def noise(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def overwrite(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + len(data)] = data
    path.write_bytes(bytes(raw))


def last_used_page(path: Path) -> tuple[int, int]:
    """(offset of the last page a b-tree uses, page size): the file's last page may be a free one,
    which nothing reads (noise there is no damage, to SQLite or to Chroma)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        last = connection.execute("SELECT max(pageno) FROM dbstat").fetchone()[0]
    finally:
        connection.close()
    return (last - 1) * page_size, page_size


def segment(chroma: Path) -> Path:
    """The store's one vector segment folder."""
    (folder,) = [p for p in chroma.iterdir() if p.is_dir()]
    return folder


def damage(chroma: Path, how: str) -> None:
    """Apply one of SQLITE_DAMAGES or HNSW_DAMAGES to the store folder `chroma`."""
    path = chroma / "chroma.sqlite3"
    size = path.stat().st_size
    if how == "header page":
        overwrite(path, 0, noise(4096))
    elif how == "middle page":
        overwrite(path, size // 2 // 4096 * 4096, noise(4096))
    elif how == "last page in use":
        offset, page_size = last_used_page(path)
        overwrite(path, offset, noise(page_size))
    elif how in ("cut in half", "zero length"):
        path.write_bytes(path.read_bytes()[:size // 2] if how == "cut in half" else b"")
    else:
        assert how in HNSW_DAMAGES, how
        overwrite(segment(chroma) / how, 0, noise(64))
