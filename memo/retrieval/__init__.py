"""Retrieval: hybrid dense + BM25 search filtered by company and role, and the optional reranker."""
