"""The LlamaIndex transforms of memo's ingestion pipeline: documents -> chunks -> embedded chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import (
    BaseNode,
    Document,
    NodeRelationship,
    TextNode,
    TransformComponent,
)

from memo.ingestion.chunking import SectionChunker

# Kept on every chunk in Chroma; the retriever filters and cites with them.
CHUNK_METADATA = ("company", "company_key", "role", "role_key", "kind", "source", "title")


class ChunkDocuments(TransformComponent):
    """Split each Document into section-aware chunks with stable ids `DOC_ID#N`.

    Each chunk carries its document's hash and chunk count, so an interrupted run can be detected
    and repaired chunk-exactly (see memo.ingestion.indexer.reconcile).
    """

    _chunker: SectionChunker = PrivateAttr()

    def __init__(self, chunker: SectionChunker, **kwargs: Any):
        super().__init__(**kwargs)
        self._chunker = chunker

    def __call__(self, nodes: list[BaseNode], **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for doc in nodes:
            assert isinstance(doc, Document)
            chunks = self._chunker.chunk(doc.text, doc.metadata["title"])
            for number, chunk in enumerate(chunks):
                metadata = {key: doc.metadata.get(key, "") for key in CHUNK_METADATA}
                metadata.update(section=chunk.section, chunk=number, chunk_count=len(chunks),
                                doc_hash=doc.hash)
                node = TextNode(id_=f"{doc.doc_id}#{number}", text=chunk.text, metadata=metadata)
                node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
                out.append(node)
        return out


def heading(metadata: dict) -> str:
    """The heading that summarises a chunk: its innermost section heading, else its document's
    title (a chunk before the first heading)."""
    return metadata.get("section") or metadata.get("title") or ""


def with_headings(text_vectors: np.ndarray, heading_vectors: np.ndarray, weight: float) -> np.ndarray:
    """Chunk vectors for inner-product search: text + weight x heading, so that a query's score
    is its cosine with the text plus `weight` times its cosine with the heading (unit vectors in,
    a zero heading vector for a chunk without one)."""
    return (text_vectors + weight * heading_vectors).astype(np.float32)


class EmbedNodes(TransformComponent):
    """Embed all chunks of a commit in one length-sorted pass (the embedder loads on first use),
    each vector carrying `heading_weight` of its section heading's (each heading embedded once)."""

    _load: Callable[[], Any] = PrivateAttr()
    _heading_weight: float = PrivateAttr(default=0.0)
    _on_start: Callable[[int], None] | None = PrivateAttr(default=None)
    _on_progress: Callable[[int], None] | None = PrivateAttr(default=None)

    def __init__(self, load_embedder: Callable[[], Any], heading_weight: float = 0.0, on_start=None,
                 on_progress=None, **kwargs: Any):
        super().__init__(**kwargs)
        self._load = load_embedder
        self._heading_weight = heading_weight
        self._on_start = on_start  # called with the number of chunks about to be embedded
        self._on_progress = on_progress

    def __call__(self, nodes: list[BaseNode], **kwargs: Any) -> list[BaseNode]:
        if not nodes:
            return nodes
        if self._on_start:
            self._on_start(len(nodes))
        embedder = self._load()
        vectors = embedder.encode([n.get_content() for n in nodes], self._on_progress)
        if self._heading_weight:
            vectors = with_headings(vectors, self._heading_vectors(embedder, nodes), self._heading_weight)
        for node, vector in zip(nodes, vectors):
            node.embedding = vector.tolist()
        return nodes

    @staticmethod
    def _heading_vectors(embedder, nodes: list[BaseNode]) -> np.ndarray:
        titles = [heading(n.metadata) for n in nodes]
        unique = sorted({t for t in titles if t})
        found = dict(zip(unique, embedder.encode(unique)))
        zero = np.zeros(embedder.dimension, dtype=np.float32)
        return np.stack([found.get(t, zero) for t in titles])
