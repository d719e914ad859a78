"""Whether a local Chroma store is damaged, found at the root before Chroma opens it.

Measured with chromadb 1.5.9 on stores damaged on purpose (benchmarks/README.md, "A damaged
index"): Chroma reports a damaged SQLite file in words that name the symptom ("Error sending
backfill request to compactor"), sometimes after a Rust panic printed on stderr, and sometimes not
at all (4 KB of noise in some pages goes unnoticed by a search); a zero-length file it silently
takes for a new, empty database; and a damaged HNSW graph file kills the process with a
segmentation fault, so no error can be caught after the fact. memo therefore looks first:

- chroma.sqlite3: its 100-byte header (the magic string, a valid page size, a file at least as long
  as the pages the header records), then SQLite's own `PRAGMA quick_check` (every page of every
  b-tree; ~25 ms on the Sourcegraph handbook's 42 MB index);
- each vector segment folder: header.bin's fields agree with each other and with the sizes of
  data_level0.bin and length.bin, every level-0 neighbour id names an element (a wrong one is what
  crashes hnswlib), and index_metadata.pickle is a whole pickle.

A store this process has checked and found whole is not checked again until one of its files
changes (size, time or inode), so a warm process pays once. A vector segment that changes while it
is checked (Chroma compacting in another process) is checked again rather than called damaged.
"""

from __future__ import annotations

import sqlite3
import struct
import time
from pathlib import Path

import numpy as np

SQLITE_MAGIC = b"SQLite format 3\x00"
# hnswlib's header as chromadb's persistent segment writes it (format version 1): version, then
# offsetLevel0, max_elements, cur_element_count, size_data_per_element, label_offset, offsetData,
# maxlevel, enterpoint_node, maxM, maxM0, M, mult, ef_construction.
HNSW_HEADER = struct.Struct("<iQQQQQQiIQQQdQ")
NO_ENTRY = 0xFFFFFFFF
MMAP_BYTES = 1 << 30  # the check reads the database through a map of up to 1 GiB (only what exists is mapped)
_whole: dict[str, tuple] = {}  # store folder -> the file signature found whole in this process


def store_problem(chroma_dir: Path, force: bool = False) -> str | None:
    """What is damaged in the store at `chroma_dir`, in a few words, or None when it is whole (or
    holds nothing yet). `force` checks again even when this process found it whole before."""
    signature = _signature(chroma_dir)
    if not force and _whole.get(str(chroma_dir)) == signature:
        return None
    problem = sqlite_problem(chroma_dir / "chroma.sqlite3") if signature else None
    segments = sorted(p for p in chroma_dir.iterdir() if p.is_dir()) if chroma_dir.is_dir() else []
    for segment in segments:
        problem = problem or _settled_segment_problem(segment)
    if problem is None:
        _whole[str(chroma_dir)] = _signature(chroma_dir)
    return problem


def _signature(chroma_dir: Path) -> tuple:
    """The store's files as they are now (see _files); () when it has no database yet."""
    if not (chroma_dir / "chroma.sqlite3").exists():
        return ()
    return _files([chroma_dir / "chroma.sqlite3", *sorted(chroma_dir.glob("*/*"))])


def _files(paths: list[Path]) -> tuple:
    """(path, inode, size, mtime) of each of `paths` that exists: changes when any of them does."""
    stats = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        stats.append((str(path), info.st_ino, info.st_size, info.st_mtime_ns))
    return tuple(stats)


def sqlite_problem(path: Path) -> str | None:
    """The damage SQLite finds in the database at `path`, or None."""
    size = path.stat().st_size
    if size == 0:
        return f"{path.name} is empty (0 bytes)"
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return f"{path.name} no longer starts as an SQLite database (its header is overwritten)"
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"{path.name} has an impossible page size in its header ({page_size})"
    pages, valid_for, changes = struct.unpack(">I", header[28:32])[0], header[92:96], header[24:28]
    if valid_for == changes and pages * page_size > size:
        return f"{path.name} is cut short: {size:,} bytes of the {pages * page_size:,} its header records"
    return _quick_check(path)


def _quick_check(path: Path) -> str | None:
    """SQLite's quick_check of every b-tree page (read-write, so that a hot journal left by a
    killed writer is rolled back as any open would, not reported as damage)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=10)
    except sqlite3.Error as exc:
        return f"SQLite cannot open {path.name}: {exc}"
    try:
        connection.execute(f"PRAGMA mmap_size={MMAP_BYTES}")  # pages read in place: 20 ms, not 28, on 42 MB
        rows = connection.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # a writer holds it: not damage, and Chroma waits for it too
        return f"SQLite finds {path.name} damaged: {exc}"
    except sqlite3.DatabaseError as exc:
        return f"SQLite finds {path.name} damaged: {exc}"
    finally:
        connection.close()
    verdict = " ".join(str(row[0]) for row in rows).replace("*** in database main ***", "").split()
    return None if verdict == ["ok"] else f"SQLite's integrity check fails on {path.name}: {' '.join(verdict)[:160]}"


def _settled_segment_problem(segment: Path, tries: int = 3) -> str | None:
    """segment_problem, believed only when the files did not change while they were read."""
    problem = None
    for _ in range(tries):
        before = _files(sorted(segment.iterdir()))
        problem = segment_problem(segment)
        if problem is None or _files(sorted(segment.iterdir())) == before:
            return problem
        time.sleep(0.2)
    return problem


def segment_problem(segment: Path) -> str | None:
    """The damage in one vector segment folder's HNSW files, or None (also for a folder that holds
    no HNSW files: Chroma writes them at its first compaction)."""
    header_path, where = segment / "header.bin", f"the vector index {segment.name}"
    if not header_path.exists():
        present = [p.name for p in segment.iterdir() if p.name.endswith(".bin")]
        return f"{where} has lost header.bin (it still has {', '.join(present)})" if present else None
    header = header_path.read_bytes()
    if len(header) < HNSW_HEADER.size:
        return f"{where}: header.bin is cut short ({len(header)} bytes)"
    fields = HNSW_HEADER.unpack(header[:HNSW_HEADER.size])
    problem = _header_problem(fields) or _sizes_problem(segment, fields) or _links_problem(segment, fields) \
        or _pickle_problem(segment / "index_metadata.pickle")
    return f"{where}: {problem}" if problem else None


def _header_problem(fields: tuple) -> str | None:
    version, _, most, count, per_element, label_at, data_at, top, entry, max_m, max_m0, m, mult, ef = fields
    consistent = (version == 1 and count <= most and per_element == label_at + 8 and data_at == 4 + 4 * max_m0
                  and 2 <= m <= 4096 and max_m == m and max_m0 == 2 * m and -1 <= top < 64 and ef > 0
                  and abs(mult * np.log(m) - 1) < 1e-6
                  and (entry < count if count else entry in (NO_ENTRY, 0)) and data_at < label_at)
    return None if consistent else "header.bin's fields contradict each other (overwritten)"


def _sizes_problem(segment: Path, fields: tuple) -> str | None:
    _, _, most, count, per_element = fields[:5]
    for name, unit in (("data_level0.bin", per_element), ("length.bin", 4)):
        path = segment / name
        size = path.stat().st_size if path.exists() else -1
        if size < 0:
            return f"{name} is missing"
        if size % unit or not count * unit <= size <= max(most, count) * unit:
            return f"{name} is {size:,} bytes, not the {count:,} elements header.bin records"
    return None


def _links_problem(segment: Path, fields: tuple) -> str | None:
    """Every element's level-0 neighbour count and ids within bounds (hnswlib reads them unchecked)."""
    count, per_element, data_at, max_m0 = fields[3], fields[4], fields[6], fields[10]
    if not count:
        return None
    raw = np.fromfile(segment / "data_level0.bin", dtype=np.uint8, count=count * per_element)
    links = np.ascontiguousarray(raw.reshape(count, per_element)[:, :data_at]).view("<u4")
    sizes = links[:, 0] & 0xFFFF
    if (sizes > max_m0).any():
        return "data_level0.bin has an element with more neighbours than the graph allows (overwritten)"
    used = np.arange(max_m0)[None, :] < sizes[:, None]
    if (links[:, 1:][used] >= count).any():
        return "data_level0.bin links to elements that do not exist (overwritten)"
    return None


def _pickle_problem(path: Path) -> str | None:
    """index_metadata.pickle framed as a whole pickle (protocol mark first, STOP last)."""
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        head = handle.read(2)
        if len(head) == 2:
            handle.seek(-1, 2)
        tail = handle.read(1)
    if len(head) < 2 or head[0] != 0x80 or tail != b".":
        return "index_metadata.pickle is not a whole pickle (overwritten or cut short)"
    return None
