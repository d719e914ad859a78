"""Write minimal text-only PDF files with the standard library alone.

Tests use this to build PDF fixtures without a PDF-generation dependency.
Each page is drawn as lines of Helvetica text, top to bottom.
"""

from __future__ import annotations

from pathlib import Path

PAGE_WIDTH = 612
PAGE_HEIGHT = 792
MARGIN = 72
FONT_SIZE = 11
LEADING = 15


def _escape(text: str) -> str:
    """Escape a string for use inside a PDF literal string ``( ... )``."""
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content_stream(lines: list[str]) -> bytes:
    """Return the content stream that draws ``lines`` from the top-left margin."""
    ops = [
        "BT",
        f"/F1 {FONT_SIZE} Tf",
        f"{MARGIN} {PAGE_HEIGHT - MARGIN} Td",
    ]
    for index, line in enumerate(lines):
        if index:
            ops.append(f"0 -{LEADING} Td")
        ops.append(f"({_escape(line)}) Tj")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def write_text_pdf(path, pages: list[list[str]], title: str | None = None) -> None:
    """Write a PDF to ``path`` where each inner list holds the lines of one page.

    Text must be encodable as Latin-1 (the Helvetica font's WinAnsi range).
    ``title``, if given, is stored in the document information dictionary.
    """
    page_count = len(pages)
    font_id = 3
    first_page_id = 4
    info_id = first_page_id + 2 * page_count
    page_ids = [first_page_id + 2 * i for i in range(page_count)]

    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (
            f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in page_ids)}] "
            f"/Count {page_count} >>"
        ).encode("latin-1"),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
        b"/Encoding /WinAnsiEncoding >>",
    }
    for page_id, lines in zip(page_ids, pages):
        stream = _content_stream(lines)
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> "
            f"/Contents {page_id + 1} 0 R >>"
        ).encode("latin-1")
        objects[page_id + 1] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode("latin-1")
            + stream
            + b"\nendstream"
        )
    if title is not None:
        objects[info_id] = f"<< /Title ({_escape(title)}) >>".encode("latin-1")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for obj_id in sorted(objects):
        offsets[obj_id] = len(out)
        out += f"{obj_id} 0 obj\n".encode("latin-1") + objects[obj_id] + b"\nendobj\n"

    size = max(objects) + 1
    xref_offset = len(out)
    out += f"xref\n0 {size}\n".encode("latin-1")
    out += b"0000000000 65535 f \n"
    for obj_id in range(1, size):
        out += f"{offsets[obj_id]:010d} 00000 n \n".encode("latin-1")
    trailer = f"<< /Size {size} /Root 1 0 R"
    if title is not None:
        trailer += f" /Info {info_id} 0 R"
    out += f"trailer\n{trailer} >>\nstartxref\n{xref_offset}\n%%EOF\n".encode("latin-1")

    Path(path).write_bytes(bytes(out))
