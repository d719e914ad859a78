"""The foundation every layer imports: settings, errors, notices, progress, durable writes, JSONL,
corpus identity, the Q&A file format, text helpers, model profiles and limits. Only the standard
library is imported at module level (rich loads inside Progress when a bar is shown)."""
