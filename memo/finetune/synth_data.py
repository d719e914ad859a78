"""The dataset `memo synth` writes (train/validation split, provenance) and the `--from-qa`
conversion of existing Q&A files into the same format.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from memo.core import notices
from memo.core.identity import record_id, slug
from memo.core.jsonl import read_log, write_jsonl
from memo.core.qa_format import evidence_matches, read_qa
from memo.finetune.gates import grounded_share, sentences
from memo.finetune.raft import Passage, attach_contexts

TRAIN_FILE, VAL_FILE = "train.jsonl", "val.jsonl"
QUOTE_SUPPORT = 0.5  # a retrieved sentence is quoted when half its content words are in the answer


def is_validation(rid: str, fraction: float, seed: int) -> bool:
    bucket = int(hashlib.sha256(f"{seed}|{rid}".encode()).hexdigest()[:8], 16) % 10_000
    return bucket < fraction * 10_000


def write_dataset(out: Path, records: list[dict], val_fraction: float, seed: int) -> tuple[int, int]:
    """train.jsonl and val.jsonl in OUT (chat `messages` plus provenance); returns their sizes.

    The split is by record id, so it is stable across resumed runs; a record once in validation
    stays there. With 10+ records and a non-zero fraction, validation gets at least one (the
    record whose id hashes lowest)."""
    before = {r.get("id") for r in read_log(out / VAL_FILE)}
    val = [r for r in records if r["id"] in before or is_validation(r["id"], val_fraction, seed)]
    if not val and val_fraction > 0 and len(records) >= 10:
        val = [min(records, key=lambda r: hashlib.sha256(f"{seed}|{r['id']}".encode()).hexdigest())]
    val_ids = {r["id"] for r in val}
    train = [r for r in records if r["id"] not in val_ids]
    write_jsonl(out / TRAIN_FILE, train)
    write_jsonl(out / VAL_FILE, val)
    return len(train), len(val)


def supporting_quotes(answer: str, hits: list[Passage], evidence: str | None) -> list[tuple[int, str]]:
    """(document number, sentence) of retrieved sentences that the reference answer restates,
    preferring the evidence document when the Q&A file names one."""
    found: list[tuple[float, int, str]] = []
    for number, hit in enumerate(hits, start=1):
        bonus = 0.2 if evidence and evidence_matches(evidence, hit.source) else 0.0
        for sentence in sentences(hit.text):
            share = grounded_share(sentence, [answer])
            if share >= QUOTE_SUPPORT:
                found.append((share + bonus, number, sentence))
    found.sort(key=lambda t: -t[0])
    return [(number, sentence) for _, number, sentence in found[:2]]


def from_qa(synth, paths: list[Path]) -> list[dict]:
    """Training records from Q&A files: retrieved contexts attached, the reference answer as target."""
    opts = synth.opts
    records: list[dict] = []
    warned: set[str] = set()
    for path in paths:
        for row in read_qa(path, opts.skip_bad):
            answer = row.get("reference_answer")
            if not answer:
                continue
            role = indexed_role(synth, row.get("role"), path, warned)
            hits = [Passage(h.id, h.source, h.section, h.text) for h in synth.retriever.retrieve(
                row["question"], opts.company, role, opts.distractors + 1)]
            quotes = supporting_quotes(answer, hits, row.get("evidence"))
            record = attach_contexts(row["question"], answer, hits, opts.company, role, quotes)
            record.update(id=record_id(f"qa|{path.name}|{row.get('id') or row['question']}"),
                          company=opts.company, role=role, kind=row.get("topic") or "qa",
                          question=row["question"], answer=answer, quotes=[q for _, q in quotes],
                          answer_from="reference", source=str(path.name), generator="reference",
                          style="from-qa", corpus_hash=synth.corpus_hash)
            records.append(record)
    return records


def indexed_role(synth, role: str | None, path: Path, warned: set[str]) -> str | None:
    """The row's role when it is indexed for the company; otherwise `--role` (or none), warned once."""
    if not role:
        return synth.opts.role
    if slug(role) in synth.retriever.roles(synth.company_key):
        return role
    if role not in warned:
        warned.add(role)
        notices.warn(f"{path.name}: role {role!r} is not indexed for {synth.opts.company}; "
                     f"using {synth.opts.role or 'the company documents only'}")
    return synth.opts.role

