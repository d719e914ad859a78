"""memo: answer job-interview questions grounded in a company's and a role's own documents.

Layer map. Every import points down this list: a package may import the packages above it here,
never one below it (tests/test_layers.py reads every import, function bodies included, and fails
on a violation or a cycle).

1. `core`       settings, errors, notices (the one warning path), progress, durable file writes,
                JSONL, corpus identity (slugs, corpus hashes), the Q&A file format, text helpers
                (content words, the sentence splitter), model profiles, vLLM's LoRA limits, demo data
2. `llm`        chat templates, prompts, model and adapter loading, the local batched generator,
                the one OpenAI-compatible client
3. `ingestion`  files -> documents -> chunks -> embeddings -> Chroma
4. `retrieval`  hybrid dense + BM25 search, the optional reranker
5. `answering`  `memo ask`: retrieve, select the evidence, say it in the candidate's voice (a model's
                phrasing checked), cite
6. `finetune`   `memo synth` (RAFT data) and `memo train` (LoRA)
7. `serving`    the vLLM launcher and `memo doctor`'s adapter checks
8. `eval`       `memo bench`
9. `practice`   `memo practice` (a mock interview, scored without a judge) and `memo questions`
10. `cli`       argument parsing and rendering; each command calls one library function

Only the standard library is imported at package level: heavy libraries (torch, transformers,
chromadb, sentence-transformers) load inside the functions that need them, so `memo --help`
stays fast.
"""

__version__ = "0.1.0"

# The layers in order, bottom first (read by tests/test_layers.py).
LAYERS = ("core", "llm", "ingestion", "retrieval", "answering", "finetune", "serving", "eval", "practice", "cli")
