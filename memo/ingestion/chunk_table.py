"""The index's chunk table: every chunk's id, scope (company, role, kind, position in its
document) and vector, plus the BM25 postings, saved next to the index so that opening a retriever
maps a few arrays instead of reading every chunk, and a company's dense ranking is one exact
matrix-vector product over its rows (Chroma's filtered HNSW search cost ~10x its plain one).

`memo index` saves it after each run; a retriever that finds it missing or older than the index
(after a killed run, or an index made before it existed) builds it from Chroma and saves it when no
writer holds the index. Texts and metadata stay in Chroma and are fetched only for the hits.

    indexes/NAME/chunk_table/
        meta.json      format, the index generation it was built from, BM25 settings, scope names
        ids.json       chunk ids in table order
        *.npy          scope codes per chunk and the BM25 postings (memory-mapped)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path

import numpy as np

from memo.core.durable import replacing
from memo.ingestion.bm25 import BM25

FORMAT = 2  # 2: the vectors too
FOLDER = "chunk_table"
READ_BATCH = 5000  # chunks per Chroma read while building


def generation(index_dir: Path, collection) -> str:
    """What the table must have been built from: the docstore's bytes (rewritten by every
    committed batch) and the collection's size (chunks a killed run left behind change it)."""
    digest = hashlib.sha256()
    try:
        digest.update((index_dir / "docstore.json").read_bytes())
    except OSError:
        pass
    digest.update(str(collection.count()).encode())
    return digest.hexdigest()[:24]


class ChunkTable:
    def __init__(self, ids: list[str], arrays: dict[str, np.ndarray], meta: dict, bm25: BM25):
        self.ids = ids
        self.position = {chunk_id: i for i, chunk_id in enumerate(ids)}
        self.company_codes, self.role_codes = arrays["company"], arrays["role"]
        self.is_company_doc, self.chunk_numbers = arrays["company_doc"].astype(bool), arrays["chunk"]
        self.vectors = arrays["vectors"]  # the chunks' vectors as stored in Chroma, in table order
        self.meta = meta
        self.company_keys: list[str] = meta["company_keys"]
        self.role_keys: list[str] = meta["role_keys"]
        self.companies: dict[str, str] = meta["companies"]  # company key -> name as given
        self.roles: dict[str, dict[str, str]] = meta["roles"]  # company key -> role key -> name
        self.bm25 = bm25

    @classmethod
    def build(cls, collection, index_generation: str, stem: bool) -> ChunkTable:
        """Read every chunk from Chroma (in batches) and build the table and BM25."""
        ids, texts, metas, vectors = [], [], [], []
        total = collection.count()
        for offset in range(0, total, READ_BATCH):
            got = collection.get(include=["documents", "metadatas", "embeddings"], limit=READ_BATCH, offset=offset)
            ids += got["ids"]
            texts += got["documents"]
            metas += got["metadatas"]
            vectors.append(np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1))
        company_keys = sorted({m.get("company_key", "") for m in metas})
        role_keys = sorted({m.get("role_key", "") for m in metas})
        companies = {m.get("company_key", ""): m.get("company", "") for m in metas}
        roles: dict[str, dict[str, str]] = {}
        for m in metas:
            if m.get("kind") == "role":
                roles.setdefault(m.get("company_key", ""), {})[m["role_key"]] = m["role"]
        company_index = {key: i for i, key in enumerate(company_keys)}
        role_index = {key: i for i, key in enumerate(role_keys)}
        arrays = {"company": np.array([company_index[m.get("company_key", "")] for m in metas], dtype=np.int32),
                  "role": np.array([role_index[m.get("role_key", "")] for m in metas], dtype=np.int32),
                  "company_doc": np.array([m.get("kind") == "company" for m in metas], dtype=np.uint8),
                  "chunk": np.array([int(m.get("chunk", 0)) for m in metas], dtype=np.int32),
                  "vectors": np.concatenate(vectors) if vectors else np.zeros((0, 0), np.float32)}
        meta = {"format": FORMAT, "generation": index_generation, "stem": stem, "company_keys": company_keys,
                "role_keys": role_keys, "companies": companies, "roles": roles}
        return cls(ids, arrays, meta, BM25(texts, stem=stem))

    def save(self, folder: Path) -> None:
        """Write the table into `folder` (a fresh folder: `save_table` renames it into place)."""
        folder.mkdir(parents=True)
        arrays = {"company": self.company_codes, "role": self.role_codes, "vectors": self.vectors,
                  "company_doc": self.is_company_doc.astype(np.uint8), "chunk": self.chunk_numbers}
        for name, array in {**arrays, **self.bm25.arrays()}.items():
            np.save(folder / f"{name}.npy", array)
        (folder / "ids.json").write_text(json.dumps(self.ids))
        (folder / "terms.json").write_text(json.dumps(self.bm25.vocabulary))
        (folder / "meta.json").write_text(json.dumps({**self.meta, "bm25": self.bm25.params()}))

    @classmethod
    def load(cls, folder: Path) -> ChunkTable:
        """The saved table, its arrays memory-mapped; ValueError when incomplete or of another format."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')}")
            arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
                      for name in ("company", "role", "company_doc", "chunk", "vectors", *BM25.ARRAYS)}
            ids = json.loads((folder / "ids.json").read_text())
            vocabulary = json.loads((folder / "terms.json").read_text())
        except (OSError, KeyError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder}: incomplete chunk table ({exc})") from None
        bm25 = BM25.from_arrays(vocabulary, {name: arrays[name] for name in BM25.ARRAYS}, **meta["bm25"])
        return cls(ids, arrays, meta, bm25)

    def mask(self, company_key: str, role_key: str | None = None, role_only: bool = False) -> np.ndarray:
        """Chunks of the company (plus, with `role_key`, that role's; with `role_only`, only the role's)."""
        company = self.company_keys.index(company_key) if company_key in self.company_keys else -1
        mask = np.asarray(self.company_codes) == company
        if role_key is None:
            return mask
        role = self.role_keys.index(role_key) if role_key in self.role_keys else -1
        in_role = (np.asarray(self.role_codes) == role) & ~self.is_company_doc
        return mask & in_role if role_only else mask & (self.is_company_doc | in_role)


def _saved(index_dir: Path, current: str, stem: bool) -> ChunkTable | None:
    """The saved table if it was built from the index as it is now, with this stemming."""
    try:
        table = ChunkTable.load(index_dir / FOLDER)
    except ValueError:
        return None
    return table if table.meta["generation"] == current and table.meta["stem"] == stem else None


def open_table(index_dir: Path, collection, stem: bool) -> ChunkTable:
    """The index's saved table when it is current and has the wanted stemming; else built from
    Chroma and saved when no `memo index` holds the index (a reader never waits for a writer)."""
    current = generation(index_dir, collection)
    table = _saved(index_dir, current, stem)
    if table is None:
        table = ChunkTable.build(collection, current, stem)
        _save_if_free(index_dir, table)
    return table


def refresh_table(index_dir: Path, collection, stem: bool) -> None:
    """`memo index`'s last step, under its lock: save the table unless the saved one is current."""
    current = generation(index_dir, collection)
    if _saved(index_dir, current, stem) is None:
        with replacing(index_dir / FOLDER) as tmp:
            ChunkTable.build(collection, current, stem).save(tmp)


def _save_if_free(index_dir: Path, table: ChunkTable) -> bool:
    """Save `table` as the index's when no writer holds the index lock; False when one does."""
    try:
        with open(index_dir / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            with replacing(index_dir / FOLDER) as tmp:
                table.save(tmp)
    except OSError:
        return False
    return True
