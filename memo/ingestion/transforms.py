"""The LlamaIndex transforms of memo's ingestion pipeline: documents -> chunks -> embedded chunks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


class EmbedNodes(TransformComponent):
    """Embed all chunks of a commit in one length-sorted pass (the embedder loads on first use)."""

    _load: Callable[[], Any] = PrivateAttr()
    _on_start: Callable[[int], None] | None = PrivateAttr(default=None)
    _on_progress: Callable[[int], None] | None = PrivateAttr(default=None)

    def __init__(self, load_embedder: Callable[[], Any], on_start=None, on_progress=None, **kwargs: Any):
        super().__init__(**kwargs)
        self._load = load_embedder
        self._on_start = on_start  # called with the number of chunks about to be embedded
        self._on_progress = on_progress

    def __call__(self, nodes: list[BaseNode], **kwargs: Any) -> list[BaseNode]:
        if not nodes:
            return nodes
        if self._on_start:
            self._on_start(len(nodes))
        vectors = self._load().encode([n.get_content() for n in nodes], self._on_progress)
        for node, vector in zip(nodes, vectors):
            node.embedding = vector.tolist()
        return nodes
