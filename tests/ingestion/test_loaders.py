"""Bad input: every unreadable file is skipped with a reason naming what is wrong, the rest of the
corpus is indexed, and neither the library nor the CLI crashes or prints a traceback."""

from __future__ import annotations

import builtins
import errno
import json
import os
from pathlib import Path

import pytest

from memo.core.config import load_settings
from memo.ingestion.indexer import Target, index_corpus
from tests.conftest import local_chunks, write_files
from tests.ingestion.pdf_writer import write_text_pdf

pytestmark = pytest.mark.usefixtures("memo_env")

HTML = """<!DOCTYPE html>
<html><head>
<title>Careers Page</title>
<style>body { color: STYLESECRET; } .nav::before { content: "STYLESECRET2"; }</style>
<script>window.analytics = "SCRIPTSECRET"; if (a < b) { document.write("<h1>SCRIPTSECRET2</h1>"); }</script>
</head><body>
<header><a href="/">HEADERSECRET home</a></header>
<nav><ul><li><a href="/jobs">NAVSECRET jobs</a></li><li>NAVSECRET2 about</li></ul></nav>
<main>
<h1>Careers at Acme</h1>
<p>We build harbour cranes and hire welders in Rotterdam.</p>
<script type="text/javascript">trackPageView("SCRIPTSECRET3");</script>
<h2>Benefits</h2>
<p>Everyone gets thirty days of leave.</p>
<aside>ASIDESECRET related posts</aside>
</main>
<footer>FOOTERSECRET copyright</footer>
</body></html>
"""
SECRETS = ["STYLESECRET", "SCRIPTSECRET", "HEADERSECRET", "NAVSECRET", "ASIDESECRET", "FOOTERSECRET",
           "window.analytics", "trackPageView", "color:"]

# file (relative to the corpus) -> words its skip reason must contain (any of them)
EXPECTED_SKIPS = {
    "empty.md": ["empty"],
    "binary.md": ["binary"],
    "latin1.txt": ["utf-8"],
    "huge.txt": ["too large"],
    "locked.md": ["permission denied"],
    "loop-a.md": ["symlink loop"],
    "loop-b.md": ["symlink loop"],
    "sub/up": ["symlink loop"],
    "garbage.pdf": ["corrupt", "pdf"],
    "truncated.pdf": ["corrupt", "pdf"],
    "blank.pdf": ["no extractable text"],
    "front-matter-only.md": ["no text"],
    "bad-kind.md": ["kind"],
}
GOOD = {"good.md", "notes.txt", "valid.pdf", "page.html"}


def build_corpus(root: Path) -> Path:
    write_files(root, {
        "good.md": "# Good Document\n\nAcme builds harbour cranes. Its welders work in Rotterdam.\n",
        "notes.txt": "Plain text notes: the Rotterdam yard opens at seven.\n",
        "page.html": HTML,
        "empty.md": b"",
        "binary.md": b"# looks like markdown\n" + bytes(range(256)) * 8 + b"\x00\x00\x00",
        "latin1.txt": "Caf\u00e9 cr\u00e8me in Rotterdam\n".encode("latin-1"),
        "locked.md": "# Locked\n\nNobody may read this file.\n",
        "garbage.pdf": b"%PDF-1.4\n" + os.urandom(4000),
        "front-matter-only.md": "---\ntitle: Nothing here\n---\n   \n",
        "bad-kind.md": "---\nkind: manager\n---\n# Bad kind\n\nSome text.\n",
    })
    with open(root / "huge.txt", "wb") as handle:  # 50 MB, sparse: fast to write
        handle.write(b"Huge text file.\n")
        handle.truncate(50 * 1000 * 1000)
    write_text_pdf(root / "valid.pdf", [["Acme crane handbook", "Cranes are inspected every Monday."],
                                        ["Second page: safety harnesses are mandatory."]], title="Crane Handbook")
    valid = (root / "valid.pdf").read_bytes()
    (root / "truncated.pdf").write_bytes(valid[: len(valid) // 2])
    write_text_pdf(root / "blank.pdf", [[]])
    os.symlink("loop-b.md", root / "loop-a.md")
    os.symlink("loop-a.md", root / "loop-b.md")
    (root / "sub").mkdir()
    (root / "sub" / "inner.md").write_text("# Inner\n\nThe inner document is about tugboats.\n")
    os.symlink("..", root / "sub" / "up")  # a folder loop: sub/up/sub/up/...
    return root


def deny_open(monkeypatch, denied: Path) -> None:
    """Opening `denied` fails as it would for a file we may not read (tests run as root, so chmod
    cannot make a file unreadable)."""
    real_open = builtins.open
    denied = denied.resolve()

    def fake_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(os.fspath(file)).resolve() == denied:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


def skip_map(skipped, root: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in skipped:
        path = item["path"] if isinstance(item, dict) else item.path
        reason = item["reason"] if isinstance(item, dict) else item.reason
        rel = os.path.relpath(path, root) if os.path.isabs(path) else path
        out.setdefault(rel, []).append(reason)
    return out


def check_skips(skips: dict[str, list[str]], expected: dict[str, list[str]]) -> None:
    assert set(skips) == set(expected), f"skipped {sorted(skips)}, expected {sorted(expected)}"
    for rel, reasons in skips.items():
        assert len(reasons) == 1, f"{rel} reported {len(reasons)} times: {reasons}"
        assert any(word in reasons[0].lower() for word in expected[rel]), f"{rel}: reason {reasons[0]!r}"


def test_bad_files_are_skipped_with_reasons(tmp_path, monkeypatch):
    root = build_corpus(tmp_path / "corpus")
    deny_open(monkeypatch, root / "locked.md")
    settings = load_settings()
    assert settings.index.max_file_mb == 10
    report = index_corpus(settings, [root], Target("Acme"), show_progress=False)

    check_skips(skip_map(report.skipped, root), EXPECTED_SKIPS)
    assert report.files == report.new == len(GOOD) + 1  # + sub/inner.md, found once despite the loop
    chunks = local_chunks(settings.home)
    assert report.chunks_total == len(chunks) > 0
    assert {meta["source"] for _, meta in chunks.values()} == GOOD | {"sub/inner.md"}

    text = "\n".join(t for t, _ in chunks.values())
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} from <script>/<style>/page chrome was indexed"
    html = [t for t, m in chunks.values() if m["source"] == "page.html"]
    assert html and all(t.startswith("# Careers at Acme") for t in html)
    assert "harbour cranes and hire welders" in text and "thirty days of leave" in text
    pdf = {m["title"]: t for t, m in chunks.values() if m["source"] == "valid.pdf"}
    assert "Cranes are inspected every Monday." in "".join(pdf.values())
    assert "safety harnesses are mandatory" in "".join(pdf.values())
    assert "Nobody may read this file" not in text


def test_cli_reports_bad_files_without_traceback(tmp_path, run_memo):
    root = build_corpus(tmp_path / "corpus")
    expected = dict(EXPECTED_SKIPS)
    if os.geteuid() == 0:  # root reads anything: locked.md is a good file here
        expected.pop("locked.md")
        good = GOOD | {"locked.md", "sub/inner.md"}
    else:
        os.chmod(root / "locked.md", 0)
        good = GOOD | {"sub/inner.md"}
    result = run_memo("index", str(root), "--company", "Acme", "--json")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    check_skips(skip_map(report["skipped"], root), expected)
    assert report["files"] == report["new"] == len(good)
    assert {meta["source"] for _, meta in local_chunks(load_settings().home).values()} == good


def test_cli_nonexistent_path_is_a_one_line_error(run_memo, memo_env):
    result = run_memo("index", "/nonexistent/memo-corpus", "--company", "X")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got:\n{result.stderr}"
    assert lines[0].startswith("memo: error:") and "/nonexistent/memo-corpus" in lines[0], lines[0]
    assert "does not exist" in lines[0] or "no such" in lines[0].lower()


def test_cli_index_without_company_exits_2(tmp_path, run_memo, memo_env):
    corpus = write_files(tmp_path / "corpus", {"a.md": "# A\n\nSome text.\n"})
    result = run_memo("index", str(corpus))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--company" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (memo_env / "indexes").exists()  # refused before touching the index
