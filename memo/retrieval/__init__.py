"""Retrieval: hybrid dense + BM25 search filtered by company and role, and context-window packing."""
