"""Answering throughput: in-process one at a time, in-process batched, and vLLM with concurrency.

    .venv/bin/python benchmarks/bench_serve.py [--questions 32] [--max-new-tokens 128]
        [--batch-size 8] [--concurrency 8] [--dtype auto|float32] [--no-vllm] [--json]

The demo corpus (Tidewell) is indexed into a temporary MEMO_HOME, and N grounded questions are
built from its section headings ("What should a candidate know about <heading> at Tidewell?").
Each question's messages are prepared once by memo (`Answerer.prepare`, mode rag: retrieval and
packing), then answered three ways with the same greedy decoding (repetition penalty 1.1):

  (a) in-process, one at a time: `LocalGenerator.generate`, what `memo ask` does;
  (b) in-process, batched: `LocalGenerator.generate_batch` (left-padded, --batch-size), what
      `memo bench` and `memo synth` do;
  (c) vLLM's OpenAI-compatible server started by `memo serve` (needs scripts/install_vllm.sh),
      --concurrency requests in flight through `EndpointGenerator` (server startup not timed).

Printed: answers/minute and generated tokens/s of each, ratios to (a), and (a)'s decode speed
against the memory-bandwidth floor: every weight read once per generated token, at ~27 GB/s copy
bandwidth (fp32 SmolLM2: 0.54 GB per token -> ~50 tokens/s at best for one sequence).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from common import HOME, emit, memo_settings, parse_args  # isolates MEMO_HOME first

BANDWIDTH_GBS = 27.0


def questions(count: int) -> list[str]:
    from memo.core.demo import DEMO_CORPUS

    headings = []
    for path in sorted(DEMO_CORPUS.rglob("*.md")):
        headings += [h.strip() for h in re.findall(r"^#{2,3} (.+)$", path.read_text(encoding="utf-8"), re.M)]
    unique = list(dict.fromkeys(headings))
    return [f"What should a candidate know about {h.lower()} at Tidewell?" for h in unique][:count]


def timed(label: str, answer_all, conversations: list, tokenizer) -> dict:
    started = time.perf_counter()
    texts = answer_all(conversations)
    seconds = time.perf_counter() - started
    tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)
    return {"arm": label, "seconds": round(seconds, 2), "answers": len(texts), "tokens": tokens,
            "answers_per_min": round(len(texts) * 60 / seconds, 2), "tokens_per_s": round(tokens / seconds, 1)}


def serve(base: str, dtype: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "MEMO_MODEL_LLM": base}
    process = subprocess.Popen([sys.executable, "-m", "memo", "serve", "--port", "8765", "--dtype", dtype,
                                "--json", "--log", str(HOME / "vllm.log")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"memo serve failed: {process.stderr.read().strip()}")
    return process, json.loads(line)["url"]


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--questions", type=int, default=32), p.add_argument("--max-new-tokens", type=int, default=128),
        p.add_argument("--batch-size", type=int, default=8), p.add_argument("--concurrency", type=int, default=8),
        p.add_argument("--dtype", default="auto"), p.add_argument("--no-vllm", action="store_true")))
    from memo.answering.ask import Answerer
    from memo.core.demo import DEMO_COMPANY, DEMO_CORPUS
    from memo.ingestion.indexer import Target, index_corpus
    from memo.llm.generator import Decoding, load_generator

    settings = memo_settings()
    settings.generation.max_new_tokens = args.max_new_tokens
    index_corpus(settings, [DEMO_CORPUS], Target(DEMO_COMPANY), show_progress=False)
    local = load_generator(settings)
    answerer = Answerer(settings, generator=local)
    conversations = [answerer.prepare(q, DEMO_COMPANY, None, "rag")[0] for q in questions(args.questions)]
    decoding = Decoding.from_config(settings.generation)
    tokenizer = local.llm.tokenizer
    arms = [timed("in-process, one at a time", lambda cs: [local.generate(c, decoding) for c in cs],
                  conversations, tokenizer)]
    arms.append(timed(f"in-process, batches of {args.batch_size}",
                      lambda cs: local.generate_batch(cs, decoding, args.batch_size), conversations, tokenizer))
    if not args.no_vllm:
        from memo.llm.endpoint import Endpoint, EndpointGenerator

        process, url = serve(local.llm.path, args.dtype)
        try:
            remote = EndpointGenerator(Endpoint(url), "memo-base", tokenizer, local.template, local.context_length)
            remote.generate(conversations[0], decoding)  # warm-up, not timed
            with ThreadPoolExecutor(args.concurrency) as pool:
                arms.append(timed(f"vLLM CPU, {args.concurrency} concurrent ({args.dtype})",
                                  lambda cs: list(pool.map(lambda c: remote.generate(c, decoding), cs)),
                                  conversations, tokenizer))
        finally:
            process.terminate()
            process.wait(60)
    for arm in arms:
        arm["vs_one_at_a_time"] = round(arm["tokens_per_s"] / arms[0]["tokens_per_s"], 2)
    weights_gb = sum(p.numel() * p.element_size() for p in local.model.parameters()) / 1e9
    floor = BANDWIDTH_GBS / weights_gb
    line = "serve: " + "; ".join(f"{a['arm']} {a['answers_per_min']} answers/min {a['tokens_per_s']} tok/s "
                                 f"x{a['vs_one_at_a_time']}" for a in arms)
    line += f"; one-at-a-time decode = {arms[0]['tokens_per_s'] / floor:.0%} of the {floor:.0f} tok/s bandwidth floor"
    emit(line, {"arms": arms, "weights_gb": round(weights_gb, 3), "bandwidth_floor_tok_s": round(floor, 1),
                "questions": len(conversations), "max_new_tokens": args.max_new_tokens}, args.json)


if __name__ == "__main__":
    main()
