"""Corpus identity: the comparison key of a company or role name, and the hashes that tell whether
an index, a company's documents or a record changed. One definition each, shared by indexing,
retrieval, synthesis, answering and the bench.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping


def slug(text: str) -> str:
    """The comparison key of a company or role name: case, spaces and punctuation ignored."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


CANDIDATE_MARK = "@"  # a scope named "@NAME" is a candidate's own documents, never a company's
DEFAULT_CANDIDATE = "me"  # the candidate profile when --candidate is not given


def scope_key(name: str) -> str:
    """The key of a company, or of a candidate profile ("@NAME"): a candidate's key keeps its "@",
    which no company key can have (slug keeps letters, digits and dashes), so the two never mix."""
    if name.startswith(CANDIDATE_MARK):
        return CANDIDATE_MARK + slug(name[len(CANDIDATE_MARK):])
    return slug(name)


def candidate_scope(name: str) -> str:
    """The scope name of candidate profile `name` (given with or without its "@")."""
    return name if name.startswith(CANDIDATE_MARK) else CANDIDATE_MARK + name


def corpus_hash(doc_hashes: Mapping[str, str]) -> str:
    """One hash for the whole indexed corpus: changes when any document is added, changed or removed."""
    digest = hashlib.sha256()
    for doc_id in sorted(doc_hashes):
        digest.update(f"{doc_id}\0{doc_hashes[doc_id]}\n".encode())
    return digest.hexdigest()[:16]


def company_corpus_hash(chunk_metadata: Iterable[Mapping[str, str]]) -> str:
    """Hash of one company's indexed documents (source and content hash of each), from the metadata
    of its chunks: an adapter trained on data from one state of the corpus is stale once this
    changes."""
    pairs = sorted({(m.get("source", ""), m.get("doc_hash", "")) for m in chunk_metadata})
    digest = hashlib.sha256("\n".join(f"{s}\0{h}" for s, h in pairs).encode())
    return digest.hexdigest()[:16]


def record_id(key: str) -> str:
    """A short stable id for a record from the key that determines it."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]
