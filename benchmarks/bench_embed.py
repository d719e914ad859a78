"""Embedding throughput of memo's Embedder over the corpus's real chunks, against LlamaIndex's
default embedding path and against the machine's FLOP floor.

    .venv/bin/python benchmarks/bench_embed.py [--corpus PATH] [--json] [--sample N] [--rounds R]

Texts: the chunks `memo index` would embed (memo's reader and SectionChunker), in corpus order.
Throughput is in word pieces per second, counting only real (non-padding) tokens, [CLS] and [SEP]
included, after MiniLM's 256-token truncation.

Baseline: the same texts through LlamaIndex's HuggingFaceEmbedding.get_text_embedding_batch with
its defaults (the same MiniLM, batches of 10 texts in corpus order). The corpus is cut into 4
consecutive slices (about one `memo index` commit each) and memo and LlamaIndex alternate slice by
slice, so a noisy neighbour slows both alike.

Floor: useful FLOPs per text of n tokens = n * (2 * P + 4 * layers * hidden * n), P being
MiniLM's non-embedding weights (~11M); the rate memo achieves is compared with a nominal
190 GFLOP/s (fp32, 2 cores) and with a 2048x2048 fp32 torch.mm loop measured in the same run.

Then a sweep of possible speed-ups (batch size, bf16) over a sample of the chunks, interleaved
over several rounds against memo's current setting; a variant counts only if every embedding stays
within cosine 0.999 of memo's fp32 one.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np

# common first: it isolates MEMO_HOME before memo is imported
from common import emit, llama_embed_model, memo_chunks, memo_settings, parse_args

NOMINAL_GFLOPS = 190.0
MIN_COSINE = 0.999


def matmul_gflops(size: int = 2048, seconds: float = 3.0) -> float:
    """fp32 GFLOP/s of a torch matmul loop on this machine, right now."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.mm(a, b)
        runs += 1
    return 2 * size ** 3 * runs / (time.perf_counter() - started) / 1e9


def useful_flops(lengths: list[int], model) -> float:
    """Dense-layer and attention FLOPs the texts need, with no padding and no embedding lookup."""
    bert = model[0].auto_model
    params = sum(p.numel() for name, p in bert.named_parameters() if not name.startswith("embeddings."))
    layers, hidden = bert.config.num_hidden_layers, bert.config.hidden_size
    return float(sum(n * (2 * params + 4 * layers * hidden * n) for n in lengths))


def memo_encode(embedder, texts: list[str], batch: int | None = None, bf16: bool | None = None) -> np.ndarray:
    """memo's Embedder.encode as configured, or with another batch size, or with bf16 autocast
    forced on or off (through the embedder's own `bf16` switch, should it grow one)."""
    import torch

    kept = embedder.batch_size, getattr(embedder, "bf16", None)
    embedder.batch_size = batch or kept[0]
    if bf16 is not None and kept[1] is not None:
        embedder.bf16 = bf16
    wrap = bf16 and kept[1] is None
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16) if wrap else nullcontext():
            return np.asarray(embedder.encode(texts), dtype=np.float32)
    finally:
        embedder.batch_size = kept[0]
        if kept[1] is not None:
            embedder.bf16 = kept[1]


def head_to_head(embedder, llama, texts: list[str], slices: int = 4) -> tuple[float, float, float]:
    """Seconds memo and LlamaIndex take over all texts, alternating slice by slice, and the lowest
    cosine between their embeddings of one text."""
    memo_s = llama_s = 0.0
    lowest = 1.0
    bounds = np.linspace(0, len(texts), slices + 1).astype(int)
    for number, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        part = texts[start:stop]
        runs = [("memo", lambda: memo_encode(embedder, part)),
                ("llama", lambda: np.asarray(llama.get_text_embedding_batch(part), dtype=np.float32))]
        out = {}
        for name, run in runs if number % 2 == 0 else runs[::-1]:
            started = time.perf_counter()
            out[name] = run()
            elapsed = time.perf_counter() - started
            memo_s, llama_s = (memo_s + elapsed, llama_s) if name == "memo" else (memo_s, llama_s + elapsed)
        lowest = min(lowest, float((out["memo"] * out["llama"]).sum(axis=1).min()))
    return memo_s, llama_s, lowest


VARIANTS = {  # name -> memo_encode keyword arguments; "memo" is memo's own setting
    "memo": {},
    "batch 16": {"batch": 16},
    "batch 32": {"batch": 32},
    "batch 128": {"batch": 128},
    "bf16 autocast": {"bf16": True},
    "bf16 autocast, batch 16": {"batch": 16, "bf16": True},
}


def sweep(embedder, texts: list[str], rounds: int) -> dict[str, dict]:
    """Median seconds of each variant over `rounds` interleaved rounds (rotating the order), its
    speed-up over memo's setting, and its lowest cosine to memo's fp32 embeddings."""
    reference = memo_encode(embedder, texts, bf16=False)
    names = list(VARIANTS)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    lowest = {name: 1.0 for name in names}
    for number in range(rounds):
        for name in names[number % len(names):] + names[:number % len(names)]:
            started = time.perf_counter()
            vectors = memo_encode(embedder, texts, **VARIANTS[name])
            seconds[name].append(time.perf_counter() - started)
            lowest[name] = min(lowest[name], float((vectors * reference).sum(axis=1).min()))
    median = {name: float(np.median(times)) for name, times in seconds.items()}
    return {name: {"seconds": round(median[name], 3), "speedup": round(median["memo"] / median[name], 3),
                   "min_cosine": round(lowest[name], 6), "equal": lowest[name] >= MIN_COSINE}
            for name in names}


def best_variant(results: dict[str, dict]) -> str:
    """The sweep's verdict for the one-line summary."""
    if not results:
        return ""
    wins = [(r["speedup"], name) for name, r in results.items() if name != "memo" and r["equal"]]
    speedup, name = max(wins, default=(0.0, ""))
    if speedup < 1.05:
        return f"; no variant >5% faster at cos >= {MIN_COSINE}"
    return f"; best variant '{name}' x{speedup:.2f} (min cos {results[name]['min_cosine']:.5f})"


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--sample", type=int, default=240, help="chunks in the speed-up sweep (0: skip)"),
        p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the sweep")))
    from memo.ingestion.embedder import Embedder

    settings = memo_settings()
    texts = memo_chunks(args.corpus, settings)
    embedder = Embedder(settings.model.embedder, settings.index.embed_batch)
    encoded = embedder.tokenizer(texts, truncation=True, max_length=embedder.max_tokens)
    lengths = [len(ids) for ids in encoded["input_ids"]]  # real word pieces, [CLS] and [SEP] included
    tokens = sum(lengths)
    measured = matmul_gflops()
    llama = llama_embed_model()
    memo_encode(embedder, texts[:64])  # warm both models up
    llama.get_text_embedding_batch(texts[:20])
    memo_s, llama_s, agreement = head_to_head(embedder, llama, texts)
    measured = max(measured, matmul_gflops())  # the better of two samples: the machine, not the noise
    achieved = useful_flops(lengths, embedder.model) / memo_s / 1e9

    results = {}
    if args.sample:  # spread over the corpus: every step-th chunk
        results = sweep(embedder, texts[::max(1, len(texts) // args.sample)][:args.sample], args.rounds)
    line = (f"embed: memo {tokens / memo_s:.0f} tok/s, llamaindex {tokens / llama_s:.0f} tok/s "
            f"(batches of 10), speedup x{llama_s / memo_s:.2f}; memo {achieved:.1f} GFLOP/s = "
            f"{achieved / NOMINAL_GFLOPS:.1%} of nominal {NOMINAL_GFLOPS:.0f}, "
            f"{achieved / measured:.1%} of measured {measured:.0f} GFLOP/s{best_variant(results)}")
    emit(line, {
        "corpus": str(args.corpus), "chunks": len(texts), "tokens": tokens,
        "mean_tokens_per_chunk": round(tokens / len(texts), 1),
        "memo": {"seconds": round(memo_s, 2), "tokens_per_s": round(tokens / memo_s),
                 "batch": embedder.batch_size, "gflops_useful": round(achieved, 2)},
        "llamaindex": {"seconds": round(llama_s, 2), "tokens_per_s": round(tokens / llama_s),
                       "batch": llama.embed_batch_size},
        "speedup": round(llama_s / memo_s, 3), "min_cosine_memo_vs_llamaindex": round(agreement, 6),
        "floor": {"nominal_gflops": NOMINAL_GFLOPS, "measured_matmul_gflops": round(measured, 1),
                  "fraction_of_nominal": round(achieved / NOMINAL_GFLOPS, 4),
                  "fraction_of_measured": round(achieved / measured, 4)},
        "sweep": {"texts": min(args.sample, len(texts)), "rounds": args.rounds, "variants": results},
    }, args.json)


if __name__ == "__main__":
    main()
