"""Answering throughput: in-process one at a time, in-process batched, and vLLM with concurrency.

    .venv/bin/python benchmarks/bench_serve.py [--questions 32] [--max-new-tokens 128]
        [--batch-size 8] [--concurrency 8] [--dtype auto|float32] [--no-vllm] [--json]

The demo corpus (Tidewell) is indexed into a temporary MEMO_HOME, and N grounded questions are
built from its section headings ("What should a candidate know about <heading> at Tidewell?").
Each question's messages are prepared once by memo (`Answerer.prepare`, mode rag: retrieval and
packing), then answered four ways with the same greedy decoding (repetition penalty 1.1):

  (a) in-process, one at a time: `LocalGenerator.generate`, what `memo ask` does (memo's numpy
      decoder, memo.llm.fast_decode);
  (b) in-process, batched: `LocalGenerator.generate_batch` (--batch-size), what `memo bench` and
      `memo synth` do: each prompt prefilled alone, the unfinished answers decoded together by
      the numpy decoder;
  (c) the same batches through transformers' generate (left-padded), memo's batched path before
      the numpy decoder;
  (d) vLLM's OpenAI-compatible server started by `memo serve` (needs scripts/install_vllm.sh),
      --concurrency requests in flight through `EndpointGenerator` (server startup not timed).

Printed: answers/minute and generated tokens/s of each, ratios to (a), how many of (b)'s answers
equal (a)'s, and (a)'s tokens/s against the single-sequence memory-bandwidth floor (every weight
read once per generated token at the read bandwidth measured in the run; prefill included in (a)'s
time, so this is a lower bound on its decode share).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench_decode import read_bandwidth
from common import HOME, emit, memo_settings, parse_args  # isolates MEMO_HOME first


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

    if not args.no_vllm:  # before minutes of in-process answering, not after
        from memo.serving.serve import find_vllm_python

        find_vllm_python(None)
    settings = memo_settings()
    settings.generation.max_new_tokens = args.max_new_tokens
    index_corpus(settings, [DEMO_CORPUS], Target(DEMO_COMPANY), show_progress=False)
    local = load_generator(settings)
    answerer = Answerer(settings, generator=local)
    conversations = [answerer.prepare(q, DEMO_COMPANY, None, "rag")[0] for q in questions(args.questions)]
    decoding = Decoding.from_config(settings.generation)
    tokenizer = local.llm.tokenizer
    answers: dict[str, list[str]] = {}

    def keep(name, texts):
        answers[name] = texts
        return texts

    arms = [timed("in-process, one at a time", lambda cs: keep("one", [local.generate(c, decoding) for c in cs]),
                  conversations, tokenizer)]
    arms.append(timed(f"in-process, batches of {args.batch_size}",
                      lambda cs: keep("batch", local.generate_batch(cs, decoding, args.batch_size)),
                      conversations, tokenizer))
    local.fast_decode = False
    arms.append(timed(f"transformers, batches of {args.batch_size}",
                      lambda cs: local.generate_batch(cs, decoding, args.batch_size), conversations, tokenizer))
    local.fast_decode = True
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
    floor = read_bandwidth() / 1e9 / weights_gb
    same = sum(a == b for a, b in zip(answers["one"], answers["batch"]))
    line = "serve: " + "; ".join(f"{a['arm']} {a['answers_per_min']} answers/min {a['tokens_per_s']} tok/s "
                                 f"x{a['vs_one_at_a_time']}" for a in arms)
    line += (f"; batched answers equal one-at-a-time {same}/{len(conversations)}; one at a time = "
             f"{arms[0]['tokens_per_s'] / floor:.0%} of the {floor:.0f} tok/s single-sequence bandwidth floor")
    emit(line, {"arms": arms, "weights_gb": round(weights_gb, 3), "bandwidth_floor_tok_s": round(floor, 1),
                "batched_equal": same, "questions": len(conversations), "max_new_tokens": args.max_new_tokens},
         args.json)


if __name__ == "__main__":
    main()
