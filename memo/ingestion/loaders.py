"""Finding and reading documents: Markdown, text, HTML, PDF and Word (.docx), with every bad file
reported.

A bad file (empty, binary, not UTF-8, too large, unreadable, a symlink loop, a corrupt PDF) is
skipped with its reason; the rest of the corpus is still indexed.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from memo.ingestion.html_text import html_to_markdown

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
DOCX_SUFFIXES = {".docx"}  # a résumé is often a Word file
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class SourceFile:
    path: Path  # as found (may be a symlink)
    source: str  # relative to the indexed root, POSIX separators: the document's stable name


@dataclass
class RawDocument:
    source: str
    text: str  # Markdown-flavoured plain text
    title: str
    front_matter: dict[str, str] = field(default_factory=dict)


class UnreadableFile(Exception):
    """Raised by the readers with the reason a file is skipped."""


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """Every supported file under `paths` (files or folders), hidden ones excluded, loops reported."""
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    for given in paths:
        if not os.path.lexists(given):
            skipped.append(Skipped(str(given), "does not exist"))
        elif given.is_dir():
            _walk(given, given, found, skipped, seen=set())
        elif given.suffix.lower() in SUPPORTED:
            found.append(SourceFile(given, given.name))
        else:
            skipped.append(Skipped(str(given), f"unsupported type {given.suffix or '(none)'}; "
                                                f"memo reads {', '.join(sorted(SUPPORTED))}"))
    return found, skipped


def _walk(folder: Path, root: Path, found: list[SourceFile], skipped: list[Skipped], seen: set) -> None:
    try:
        key = (folder.stat().st_dev, folder.stat().st_ino)
    except OSError as exc:
        skipped.append(Skipped(str(folder), _os_reason(exc)))
        return
    if key in seen:
        skipped.append(Skipped(str(folder), "symlink loop (folder already visited)"))
        return
    seen.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(str(folder), _os_reason(exc)))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError as exc:
            skipped.append(Skipped(str(path), _os_reason(exc)))
            continue
        if is_dir:
            _walk(path, root, found, skipped, seen)
        elif path.suffix.lower() in SUPPORTED:
            found.append(SourceFile(path, path.relative_to(root).as_posix()))


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "broken symlink or vanished file"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "unreadable: permission denied"
    return f"unreadable: {exc.strerror or exc}"


def read_document(file: SourceFile, max_bytes: int) -> RawDocument:
    """Read one file into text; raise UnreadableFile with the reason it cannot be indexed."""
    data = _read_bytes(file.path, max_bytes)
    suffix = file.path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        text, title = _pdf_text(data)
    elif suffix in DOCX_SUFFIXES:
        text, title = _docx_text(data)
    else:
        text = _decode(data)
        title = ""
        if suffix in HTML_SUFFIXES:
            text, title = html_to_markdown(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # Windows and old Mac line ends
    front_matter, text = split_front_matter(text)
    if not text.strip():
        raise UnreadableFile("no text in the file" if data.strip() else "empty file")
    if not _HEADING_LINE.sub("", text).strip():
        raise UnreadableFile("only headings, no text to index")
    title = front_matter.get("title") or _first_heading(text) or title or _title_from_name(file.path)
    return RawDocument(source=file.source, text=text, title=title, front_matter=front_matter)


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        info = path.stat()
        if not path.is_file():
            raise UnreadableFile("not a regular file")
        if info.st_size == 0:
            raise UnreadableFile("empty file")
        if info.st_size > max_bytes:
            raise UnreadableFile(f"too large ({info.st_size / 1e6:.1f} MB > {max_bytes / 1e6:g} MB); "
                                 f"split it or raise index.max_file_mb")
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)
    except OSError as exc:
        raise UnreadableFile(_os_reason(exc)) from None


def _decode(data: bytes) -> str:
    if b"\x00" in data:  # anywhere: a NUL deep inside is a binary or damaged file, not text
        raise UnreadableFile(f"binary content in a text file (a NUL byte at offset {data.index(0)})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not valid UTF-8 (byte {exc.start}); convert it to UTF-8") from None


def _pdf_text(data: bytes) -> tuple[str, str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "")
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise UnreadableFile(f"corrupt or unreadable PDF ({type(exc).__name__}: {exc})") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableFile("PDF has no extractable text (a scan?)")
    return text, title


def _docx_text(data: bytes) -> tuple[str, str]:
    """A Word document as Markdown-flavoured text: its headings as `#` lines, its paragraphs and
    table rows as text (python-docx)."""
    import io
    import zipfile

    try:
        import docx
    except ImportError:
        raise UnreadableFile("reading .docx needs python-docx: pip install python-docx") from None
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UnreadableFile(f"corrupt or unreadable Word file ({type(exc).__name__})") from None
    lines = []
    for paragraph in document.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = style.removeprefix("Heading ")
        marker = "# " if style == "Title" else "#" * min(int(level), 6) + " " if level.isdigit() else ""
        if paragraph.text.strip():
            lines.append(marker + paragraph.text.strip())
    for table in document.tables:
        lines += [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
    return "\n\n".join(lines), document.core_properties.title or ""


_HEADING_LINE = re.compile(r"^[ \t]*#{1,6}[ \t].*$|^[ \t]*#{1,6}[ \t]*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """`key: value` lines between leading `---` fences (the YAML subset memo reads), and the rest."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, text[match.end():]


def _first_heading(text: str) -> str:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize()
