"""A damaged or half-written index can always be recovered, and every failure on the way is one
line: a corrupt Chroma database (`memo status` names the way out; `memo repair` and
`memo index --rebuild` set it aside and rebuild), and a disk that fills up mid-index (a real
size-limited tmpfs; the next run repairs what it left)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from memo.cli import main
from memo.core.config import load_settings
from memo.ingestion.indexer import Target, index_corpus
from memo.ingestion.store import forget_clients
from tests.conftest import local_chunks, memo_cli, write_files

pytestmark = pytest.mark.usefixtures("memo_env")


def corpus(root: Path, files: int = 6) -> Path:
    return write_files(root, {f"doc{i}.md": f"# Topic {i}\n\n" + " ".join(
        f"Team {i} reviews harbour item {j} every week and writes a short note about it." for j in range(12))
        + "\n" for i in range(files)})


def corrupt(home: Path) -> None:
    """Overwrite bytes all through the SQLite file, as a bad disk or a copy cut short would."""
    forget_clients()
    path = home / "indexes" / "default" / "chroma" / "chroma.sqlite3"
    data = bytearray(path.read_bytes())
    for i in range(100, len(data), 97):
        data[i] = 0x5A
    path.write_bytes(bytes(data))


def error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("memo: error: ")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(lines), lines
    return errors[0]


def test_a_corrupt_store_is_one_line_and_memo_repair_rebuilds_it(memo_env, tmp_path, capsys):
    docs = corpus(tmp_path / "docs")
    index_corpus(load_settings(), [docs], Target("Acme"), show_progress=False)
    clean = local_chunks(memo_env, fresh=True)
    corrupt(memo_env)

    assert main(["status"]) != 0
    line = error_line(capsys)
    assert "reading the index" in line and "memo repair" in line
    assert main(["search", "harbour item", "--company", "Acme"]) != 0
    assert "memo repair" in error_line(capsys)

    assert main(["repair", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)[0]["files"] == 6 and "moved to" in out.err
    assert local_chunks(memo_env, fresh=True) == clean
    aside = list((memo_env / "indexes" / ".set-aside").iterdir())
    assert len(aside) == 1 and (aside[0] / "chroma" / "chroma.sqlite3").is_file()  # kept, not deleted
    assert main(["status", "--json"]) == 0


def test_index_rebuild_recovers_a_corrupt_store(memo_env, tmp_path, capsys):
    docs = corpus(tmp_path / "docs", files=3)
    index_corpus(load_settings(), [docs], Target("Acme"), show_progress=False)
    corrupt(memo_env)
    assert main(["index", str(docs), "--company", "Acme", "--json"]) != 0
    assert "memo repair" in error_line(capsys)
    assert main(["index", str(docs), "--company", "Acme", "--rebuild", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["new"] == 3
    assert len(local_chunks(memo_env, fresh=True)) > 0


def test_repair_without_recorded_sources_says_what_to_do(memo_env, capsys):
    assert main(["repair"]) != 0
    assert "memo index PATH --company NAME --rebuild" in error_line(capsys)


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MiB tmpfs (root only; skipped where the platform refuses the mount)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_disk_that_fills_up_mid_index_is_repaired_by_the_next_run(small_disk, tmp_path):
    docs = corpus(tmp_path / "docs", files=400)
    home = small_disk / "home"
    full = memo_cli(home, "index", str(docs), "--company", "Acme", "--json")
    assert full.returncode != 0 and "Traceback" not in full.stderr, full.stderr
    lines = [line for line in full.stderr.splitlines() if line.startswith("memo: error: ")]
    assert len(lines) == 1 and "the disk is full" in lines[0], full.stderr

    status = memo_cli(home, "status", "--json")  # readable, or one line with the way out
    assert "Traceback" not in status.stderr
    subprocess.run(["mount", "-o", "remount,size=200m", str(small_disk)], check=True)
    again = memo_cli(home, "index", str(docs), "--company", "Acme", "--json")
    if again.returncode != 0:  # Chroma could not open what the full disk left: repair sets it aside
        assert "memo repair" in again.stderr and "Traceback" not in again.stderr, again.stderr
        again = memo_cli(home, "repair", "--json")
    assert again.returncode == 0, again.stderr

    reference = tmp_path / "reference"
    assert memo_cli(reference, "index", str(docs), "--company", "Acme", "--json").returncode == 0
    assert local_chunks(home, fresh=True) == local_chunks(reference, fresh=True)
    shutil.rmtree(reference)
