"""What memo writes stays inside MEMO_HOME and inside the company the user named, and odd bytes
in files or file names neither reach the index nor the terminal as they are."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from memo.cli import main
from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.ingestion.indexer import Target, index_corpus
from tests.conftest import local_chunks, write_files

pytestmark = pytest.mark.usefixtures("memo_env")

BODY = "The harbour team reviews every crane each Monday and writes a short note about it.\n"


def index(root: Path, company: str, **kwargs):
    return index_corpus(load_settings(), [root], Target(company, **kwargs), show_progress=False)


@pytest.mark.parametrize("name", ["../../outside", "../x", "/tmp/abs", "a/b", ".hidden", "x" * 65])
def test_index_names_must_be_plain_and_nothing_is_written_outside_home(memo_env, tmp_path, capsys, name):
    docs = write_files(tmp_path / "docs", {"a.md": "# A\n\n" + BODY})
    before = set(tmp_path.rglob("*"))
    assert main(["index", str(docs), "--company", "Acme", "--index", name]) == 2
    assert "plain name" in capsys.readouterr().err
    assert set(tmp_path.rglob("*")) == before and not Path("/tmp/abs").exists()


def test_the_command_line_company_wins_over_front_matter(memo_env, tmp_path, capsys):
    docs = write_files(tmp_path / "docs", {"dropped.md": "---\ncompany: Globex\n---\n# Dropped\n\n" + BODY,
                                           "same.md": "---\ncompany: ACME \n---\n# Same\n\n" + BODY})
    assert main(["index", str(docs), "--company", "Acme", "--json"]) == 0
    err = capsys.readouterr().err
    assert "dropped.md: its front matter says company 'Globex'" in err and "same.md" not in err
    assert {meta["company"] for _, meta in local_chunks(memo_env).values()} == {"Acme"}


def test_two_names_for_one_company_key_are_refused(memo_env, tmp_path):
    index(write_files(tmp_path / "cpp", {"a.md": "# A\n\n" + BODY}), "C++ Labs")
    with pytest.raises(MemoError, match=r"'C# Labs' has the same key 'c-labs' as the indexed company 'C\+\+ Labs'"):
        index(write_files(tmp_path / "cs", {"b.md": "# B\n\n" + BODY}), "C# Labs")
    index(write_files(tmp_path / "more", {"c.md": "# C\n\n" + BODY}), "c++  labs")  # case and spaces: the same name
    assert {meta["source"] for _, meta in local_chunks(memo_env).values()} == {"a.md", "c.md"}


def test_crlf_front_matter_keeps_its_role(memo_env, tmp_path):
    docs = write_files(tmp_path / "docs", {"role.md": ("---\r\nrole: Crane Operator\r\n---\r\n# Crane Operator\r\n\r\n"
                                                       + BODY.replace("\n", "\r\n")).encode()})
    index(docs, "Acme")
    metas = [meta for _, meta in local_chunks(memo_env).values()]
    assert metas and {(m["kind"], m["role"]) for m in metas} == {("role", "Crane Operator")}


def test_a_nul_byte_deep_inside_a_text_file_is_not_indexed(memo_env, tmp_path):
    docs = write_files(tmp_path / "docs", {"ok.md": "# Ok\n\n" + BODY,
                                           "damaged.md": ("# Damaged\n\n" + BODY * 2000).encode() + b"\x00tail\n"})
    report = index(docs, "Acme")
    assert [(Path(s.path).name, "binary" in s.reason) for s in report.skipped] == [("damaged.md", True)]
    assert {meta["source"] for _, meta in local_chunks(memo_env).values()} == {"ok.md"}


def test_a_heading_only_file_is_skipped_once_not_repaired_on_every_run(memo_env, tmp_path):
    docs = write_files(tmp_path / "docs", {"ok.md": "# Ok\n\n" + BODY, "empty.md": "# Only a title\n\n## And a section\n"})
    for _ in range(2):
        report = index(docs, "Acme")
        assert report.repaired == 0 and [Path(s.path).name for s in report.skipped] == ["empty.md"]
        assert "only headings" in report.skipped[0].reason
    assert report.unchanged == 1 and report.new == 0


def test_control_characters_in_file_names_reach_the_terminal_escaped(memo_env, tmp_path, capfd):
    name = "\x1b[31mred\x1b[0m [bold]x.md"
    docs = write_files(tmp_path / "docs", {"ok.md": "# Ok\n\n" + BODY, name: ""})
    assert main(["index", str(docs), "--company", "Acme"]) == 0
    out, err = capfd.readouterr()
    assert "\x1b[31m" not in out + err and "\\x1b[31mred" in err and "[bold]x.md" in err
    assert main(["index", str(docs), "--company", "Acme", "--json"]) == 0
    skipped = json.loads(capfd.readouterr().out)["skipped"]
    assert [os.path.basename(s["path"]) for s in skipped] == [name]  # --json keeps the real name
