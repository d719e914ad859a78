"""Chunking: no chunk ever exceeds the real MiniLM window, and headings travel with their text.

Token counts use the embedder's own tokenizer as sentence-transformers loads it, [CLS] and [SEP]
included, against the model's max_seq_length (MiniLM silently truncates past it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from memo.core.config import load_settings
from memo.core.demo import DEMO_CORPUS
from memo.ingestion.indexer import (
    Target,
    _chunker_and_id,
    _embedder_tokenizer,
    index_corpus,
    to_document,
)
from memo.ingestion.loaders import discover, read_document
from memo.ingestion.transforms import ChunkDocuments
from memo.llm.models import embedder_path
from tests.conftest import local_chunks, write_files

pytestmark = pytest.mark.usefixtures("memo_env")

DEMO = DEMO_CORPUS
TITLE = "Adversarial Handbook"


@pytest.fixture(scope="module")
def minilm():
    """The packaged MiniLM exactly as sentence-transformers loads it: (tokenizer, max_seq_length)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(embedder_path("all-MiniLM-L6-v2"), device="cpu")
    assert model.max_seq_length == 256  # the window the chunker must respect
    return model.tokenizer, int(model.max_seq_length)


def window_tokens(tokenizer, text: str) -> int:
    """Word pieces the embedder would see, [CLS] and [SEP] included, without truncation."""
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def production_chunks(settings, paths: list[Path], company: str = "Acme") -> list:
    """Chunk files exactly as `memo index` does (discover, read, Document, ChunkDocuments), minus embedding."""
    files, skipped = discover(paths)
    assert not skipped, skipped
    tokenizer, hard_limit = _embedder_tokenizer(settings.model.embedder)
    chunker, chunker_id = _chunker_and_id(settings, tokenizer, hard_limit)
    docs = [to_document(read_document(f, 10**8), Target(company), chunker_id) for f in files]
    nodes = ChunkDocuments(chunker)(docs)
    assert nodes
    return nodes


def header_lines(text: str) -> list[str]:
    return text.split("\n\n", 1)[0].splitlines()


def long_paragraph(words: int) -> str:
    """One paragraph without a single sentence break: lowercase words and commas only."""
    return " ".join(f"lorem{i} ipsum, dolor{i}" for i in range(words // 3))


CJK_SENTENCES = [f"这是第{i}号测试句子，用来检查中文文本的分块是否完整。" for i in range(120)]
TABLE_ROWS = [f"| row{i} | value {i * 7} | a note about item {i} with several words |" for i in range(90)]
PUNCTUATED_WORD = ("ab-cd." * 900)[:5000]  # 5000 characters, no whitespace, thousands of word pieces

ADVERSARIAL = f"""---
title: {TITLE}
---
# {TITLE}

An ordinary opening paragraph. It has two sentences.

## Long Paragraph

{long_paragraph(700)}

## Giant Words

Before the giant word. {"x" * 5000} between the giant words {PUNCTUATED_WORD} after the giant words.

## Nested

Level two text.

### Level Three

Level three text.

#### Level Four

Level four text.

##### Level Five

Level five text.

###### Level Six

Level six text, the deepest heading Markdown has.

## Code Section

Text before the code.

```bash
# comment line inside a fence
echo "hello"
## another hash line inside a fence

# after a blank line, still inside the fence
```

Text after the code.

## CJK

{"".join(CJK_SENTENCES)}

## Long Table

| name | value | note |
|------|-------|------|
{chr(10).join(TABLE_ROWS)}
"""


@pytest.fixture
def adversarial(tmp_path) -> Path:
    return write_files(tmp_path / "adv", {"adversarial.md": ADVERSARIAL})


def test_demo_corpus_chunks_fit_the_window(minilm):
    tokenizer, window = minilm
    nodes = production_chunks(load_settings(), [DEMO])
    assert {n.metadata["source"] for n in nodes} >= {"about.md", "field-operations-handbook.pdf",
                                                     "security-and-privacy.html", "roles/backend-engineer.md"}
    sizes = {n.id_: window_tokens(tokenizer, n.get_content()) for n in nodes}
    too_long = {i: s for i, s in sizes.items() if s > window}
    assert not too_long, f"chunks over the {window}-token window: {too_long}"


@pytest.mark.parametrize("chunk_tokens", [32, 200, 4096])
def test_adversarial_chunks_fit_the_window(minilm, adversarial, monkeypatch, chunk_tokens):
    tokenizer, window = minilm
    monkeypatch.setenv("MEMO_INDEX_CHUNK_TOKENS", str(chunk_tokens))  # 4096: the configurable maximum
    nodes = production_chunks(load_settings(), [adversarial])
    sizes = [window_tokens(tokenizer, n.get_content()) for n in nodes]
    assert max(sizes) <= window, [(n.metadata["section"], s) for n, s in zip(nodes, sizes) if s > window]
    # every section made it into the index
    assert {n.metadata["section"] for n in nodes} >= {
        "Long Paragraph", "Giant Words", "Level Six", "Code Section", "CJK", "Long Table"}
    # metadata consistency of the document's chunks
    assert [n.metadata["chunk"] for n in nodes] == list(range(len(nodes)))
    assert all(n.metadata["chunk_count"] == len(nodes) for n in nodes)


def test_adversarial_indexed_chunks_fit_the_window(minilm, adversarial):
    """The texts stored in (and embedded into) the real Chroma index, not only the chunker's output."""
    tokenizer, window = minilm
    settings = load_settings()
    report = index_corpus(settings, [adversarial], Target("Acme"), show_progress=False)
    assert report.files == 1 and not report.skipped
    stored = local_chunks(settings.home)
    assert len(stored) == report.chunks_total == report.chunks_added > 5
    sizes = {i: window_tokens(tokenizer, text) for i, (text, _) in stored.items()}
    assert max(sizes.values()) <= window, sizes


def test_small_chunk_size_is_honoured_for_prose(minilm, adversarial, monkeypatch):
    """index.chunk_tokens is the chunk size, not only the hard limit, for ordinary text."""
    tokenizer, _ = minilm
    monkeypatch.setenv("MEMO_INDEX_CHUNK_TOKENS", "64")
    nodes = production_chunks(load_settings(), [adversarial])
    prose = [n for n in nodes if n.metadata["section"] in ("Long Paragraph", "Level Six", "Code Section")]
    sizes = [window_tokens(tokenizer, n.get_content()) - 2 for n in prose]
    assert len(prose) > 10 and max(sizes) <= 64, sizes


def test_no_words_lost_in_long_paragraphs_and_tables(adversarial):
    nodes = production_chunks(load_settings(), [adversarial])
    text = "\n".join(n.get_content() for n in nodes)
    for i in range(700 // 3):
        assert f"lorem{i}" in text and f"dolor{i}" in text, f"word {i} of the long paragraph lost"
    for i in range(90):
        assert re.search(rf"\brow{i}\b", text), f"table row {i} lost"
    assert "Before the giant word." in text and "after the giant words." in text


def test_cjk_text_is_not_truncated(adversarial):
    """A long CJK paragraph (no spaces, no ASCII sentence ends) must be split, not cut off."""
    nodes = production_chunks(load_settings(), [adversarial])
    cjk = "".join(n.get_content() for n in nodes if n.metadata["section"] == "CJK")
    missing = [i for i in range(len(CJK_SENTENCES)) if f"第{i}号" not in cjk]
    assert not missing, (f"{len(missing)} of {len(CJK_SENTENCES)} CJK sentences are missing from the "
                         f"chunks (first missing: {missing[:5]}); CJK chunk texts total {len(cjk)} chars")


def _check_heading_trails(nodes) -> None:
    for node in nodes:
        text, meta = node.get_content(), node.metadata
        lines = header_lines(text)
        assert lines[0] == f"# {meta['title']}", (node.id_, lines[0])
        for depth, line in enumerate(lines):
            assert re.match(rf"^#{{{depth + 1}}} \S", line), (node.id_, lines)  # a well-formed trail
        if meta["section"]:
            assert lines[-1] == f"{'#' * len(lines)} {meta['section']}", (node.id_, lines)
        assert text.split("\n\n", 1)[1].strip(), f"{node.id_} is a heading without text"


def test_demo_headings_stay_with_their_text():
    settings = load_settings()
    nodes = production_chunks(settings, [DEMO])
    _check_heading_trails(nodes)
    # every `## heading` / `### heading` of the Markdown files leads the chunks of its section
    for path in sorted(DEMO.rglob("*.md")):
        source = path.relative_to(DEMO).as_posix()
        trails = [header_lines(n.get_content()) for n in nodes if n.metadata["source"] == source]
        for hashes, heading in re.findall(r"^(#{2,3}) +(.+?)\s*$", path.read_text(encoding="utf-8"), re.M):
            assert any(f"{hashes} {heading}" in trail for trail in trails), f"{source}: {heading!r} is in no chunk"
    html = [n for n in nodes if n.metadata["source"] == "security-and-privacy.html"]
    assert html and all(n.get_content().startswith("# Security and Privacy at Tidewell") for n in html)


def test_adversarial_headings_stay_with_their_text(adversarial):
    nodes = production_chunks(load_settings(), [adversarial])
    _check_heading_trails(nodes)
    deepest = [n for n in nodes if n.metadata["section"] == "Level Six"]
    assert len(deepest) == 1
    assert header_lines(deepest[0].get_content()) == [
        f"# {TITLE}", "## Nested", "### Level Three", "#### Level Four", "##### Level Five", "###### Level Six"]
    assert "Level six text" in deepest[0].get_content()
    # every chunk of a long section repeats the section's heading
    long_chunks = [n for n in nodes if n.metadata["section"] == "Long Paragraph"]
    assert len(long_chunks) >= 3
    assert all(header_lines(n.get_content()) == [f"# {TITLE}", "## Long Paragraph"] for n in long_chunks)


def test_hash_lines_in_code_fences_are_not_headings(adversarial):
    nodes = production_chunks(load_settings(), [adversarial])
    sections = {n.metadata["section"] for n in nodes}
    assert not sections & {"comment line inside a fence", "another hash line inside a fence",
                           "after a blank line, still inside the fence"}, sections
    code = "\n".join(n.get_content() for n in nodes if n.metadata["section"] == "Code Section")
    for line in ("# comment line inside a fence", "## another hash line inside a fence",
                 "# after a blank line, still inside the fence", "Text after the code."):
        assert line in code, f"{line!r} not kept in the Code Section's chunks"
    # the heading after the fence is a real heading again
    assert "CJK" in sections and "Long Table" in sections


def test_other_fence_markers_inside_a_fence_do_not_close_it(tmp_path):
    """CommonMark: a ``` fence is closed only by ``` (at least as long), not by ~~~ or a shorter run."""
    doc = """# Fences

## Tildes In Backticks

```text
~~~
# tilde comment, still in the backtick fence
```

## Nested Fence

````markdown
```python
# python comment inside a four-backtick fence
```
````

## Last Section

Closing text.
"""
    corpus = write_files(tmp_path / "fences", {"fences.md": doc})
    nodes = production_chunks(load_settings(), [corpus])
    sections = [n.metadata["section"] for n in nodes]
    assert "tilde comment, still in the backtick fence" not in sections, sections
    assert "python comment inside a four-backtick fence" not in sections, sections
    assert set(sections) == {"Tildes In Backticks", "Nested Fence", "Last Section"}, sections
