"""The foundation every layer imports: settings, errors, notices, progress, durable writes, JSONL,
corpus identity, the Q&A file format, text helpers, model profiles and limits. Standard library
(and numpy-free) at import time."""
