"""Ingestion: files -> documents with company/role metadata -> section chunks -> embeddings -> Chroma.

Import-light: submodules import LlamaIndex, Chroma and sentence-transformers where they need them.
"""
