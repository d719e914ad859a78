"""Training throughput of `memo train` against a plain TRL SFTTrainer + peft run: same model,
same examples, same LoRA settings, same batch, measured in the same run.

    .venv/bin/python benchmarks/bench_train.py [--data DIR_OR_JSONL] [--steps 8] [--batch-size 4]
        [--precision auto|fp32|bf16] [--rounds 1] [--base MODEL_DIR] [--json]

Smoke test (2-8 minutes on 2 cores, depending on the load; do not quote its numbers):

    .venv/bin/python benchmarks/bench_train.py --steps 3 --batch-size 2

Data: the first steps x batch-size records of a `memo synth` output (train.jsonl with chat
`messages`; records are repeated if there are fewer), or, without --data, synthetic RAFT-like
records: memo's own system prompt, 4 documents of made-up text and a question, and a short quoting
answer, 700-900 tokens each. Every record is rendered and tokenized once by memo
(memo.finetune.dataset.tokenize_messages, the profile's chatml template), and both arms train on
exactly those token ids, with the loss on the assistant's tokens only.

Arms, each in its own process (so the peak RSS is that arm's), one after the other:

  trl   SFTTrainer(model=<the fp32 base>, peft_config=LoraConfig(...), processing_class=tokenizer,
        train_dataset=Dataset({"input_ids", "labels"})) with SFTConfig(per_device_train_batch_size=B,
        max_steps=S, learning_rate=2e-4, cosine schedule, bf16=<precision>, use_cpu=True,
        activation_checkpointing=False, max_length=None, report_to=[], save/eval/logging off,
        dataloader_num_workers=0). TRL's defaults otherwise: random batches of B examples, padded
        to the longest; the loss through TRL's fused LM head, which on a CPU (no Triton) scores
        every position, not only the answer's. SFTConfig's own defaults would differ from memo:
        gradient checkpointing on, bf16 on, max_length=1024 (cuts RAFT records); all three are set.
        Pre-tokenized `labels` are used as given, so completion_only_loss / assistant_only_loss do
        not apply (assistant_only_loss would also swap in TRL's own chat template, as memo's has no
        {% generation %} markers). TRL's padding_free/packing need FlashAttention: not on a CPU.
  memo  memo.finetune.lora.train() on the same records as a JSONL file, TrainConfig(max_steps=S,
        batch_tokens=B x the longest example, so a step holds B examples of similar length, rarely
        one more), no validation set, no checkpoints. On a CPU memo runs
        each example of a step unpadded, with no attention mask (padding-free; lora.forward_groups).

Both: LoRA r=16, alpha=32, dropout 0.05 on q,k,v,o,gate,up,down (memo's TrainConfig defaults),
AdamW at 2e-4, gradient clipping 1.0, one micro-batch per optimizer step, fp32 weights (bf16 = CPU
autocast), the CPU. Tokens are the non-padding tokens of the batches. The first step (warm-up) is
not timed in either arm: the clock runs from the end of step 1 to the end of step S (TRL: a
TrainerCallback's on_step_end; memo: its per-step forward_groups call and the end of its loop). Model
loading and data preparation are not timed.

FLOP floor: forward + backward with frozen base weights is about 4 x 135M FLOPs per token, against
a nominal 190 GFLOP/s for this machine: fraction = tokens/s x 4 x 135e6 / 190e9.

Prints one line (the numbers here are made up), e.g.
    train: memo 812 tok/s (4.1 s/step, 1234 MB), trl 650 tok/s (5.0 s/step, 1405 MB),
    memo/trl x1.25; FLOP floor memo 23.1%, trl 18.5% (bf16, 8 steps x 4 examples; other processes
    used 0.0 / 0.0 cores during memo's / trl's timed steps) [other processes used 0.0 of 2 cores]
With --json: everything, including each arm's per-step seconds and the cores other processes
used during each step (a step slowed by a neighbour shows there), and memo's own TrainReport.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# common first: it isolates MEMO_HOME before memo is imported
import common
from common import HOME, machine

FLOPS_PER_TOKEN = 4 * 135e6  # forward + backward of SmolLM2-135M with frozen base weights
NOMINAL_GFLOPS = 190.0
PROFILE = "smollm2-135m"
RESULT = "BENCH_TRAIN_RESULT "  # the line a child prints its result on


# --- data -----------------------------------------------------------------------------------------

WORDS = [
    "team", "data", "customer", "battery", "grid", "site", "energy", "report", "model", "service",
    "platform", "contract", "review", "engineer", "product", "release", "policy", "budget",
    "quarter", "region", "storage", "forecast", "meter", "household", "pipeline", "incident",
    "support", "partner", "hiring", "office", "remote", "schedule", "project", "roadmap", "feature",
    "security", "backup", "privacy", "audit", "invoice", "pricing", "market", "network", "sensor",
    "dashboard", "metric", "launch", "plan", "goal", "risk", "tool", "system", "process", "owner",
    "manager", "analyst", "design", "test", "deploy", "monitor", "alert", "request", "response",
    "latency", "uptime", "capacity", "demand", "supply", "solar", "wind", "field", "technician",
    "visit", "training", "onboarding", "benefit", "salary", "leave", "holiday", "meeting", "review",
    "feedback", "the", "a", "of", "to", "in", "for", "on", "with", "by", "from", "at", "as", "and",
    "or", "every", "each", "most", "new", "small", "large", "weekly", "monthly", "annual",
    "quickly", "carefully", "always", "never", "usually", "often", "keeps", "runs", "builds",
    "ships", "tracks", "measures", "reviews", "plans", "shares", "writes", "reads", "checks",
    "owns", "leads", "supports", "improves", "reduces"
]


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    number = f" {rng.randint(2, 950)}" if rng.random() < 0.4 else ""
    return (" ".join(words) + number).capitalize() + "."


def synthetic_records(count: int, tokenizer, seed: int = 0) -> list[dict]:
    """RAFT-like chat records of 700-900 tokens: memo's system prompt, 4 made-up documents and a
    question in the user turn, a quoting answer of a few sentences."""
    from memo.core.profiles import get_profile
    from memo.finetune.dataset import tokenize_messages
    from memo.llm.prompt import ContextDoc, build_messages, raft_answer

    template = get_profile(PROFILE).template
    rng = random.Random(seed)
    records = []
    for index in range(count):
        target = rng.randint(700, 900)
        sentences = 24  # 4 documents; resized until the record is near `target` tokens
        doc_rng_state = rng.getstate()
        for _ in range(4):
            rng.setstate(doc_rng_state)
            docs = [" ".join(_sentence(rng) for _ in range(max(1, sentences // 4))) for _ in range(4)]
            contexts = [ContextDoc(f"handbook-{index}-{d}.md", f"Section {d}", text)
                        for d, text in enumerate(docs)]
            question = _sentence(rng)[:-1] + "?"
            oracle = rng.randrange(4)
            quote = docs[oracle].split(". ")[0].rstrip(".")
            answer = raft_answer([(oracle + 1, quote)], f"{_sentence(rng)} {_sentence(rng)} [{oracle + 1}]")
            messages = build_messages(question, "Tidewell", "Data Scientist", contexts)
            messages.append({"role": "assistant", "content": answer})
            length = len(tokenize_messages(tokenizer, template, messages))
            if abs(length - target) < 25:
                break
            sentences = max(4, round(sentences * (1 + (target - length) / max(length - 120, 1))))
        records.append({"messages": messages})
    return records


def prepare_data(args, tokenizer) -> tuple[list[dict], list, dict]:
    """steps x batch-size records (from --data or synthetic) and memo's tokenization of each."""
    from memo.core.jsonl import read_jsonl
    from memo.core.profiles import get_profile
    from memo.finetune.dataset import check_messages, data_files, tokenize_messages

    profile = get_profile(PROFILE)
    wanted = args.steps * args.batch_size
    if args.data:
        rows = read_jsonl(data_files(args.data)[0], skip_bad=True, check=check_messages)
        source = str(args.data)
    else:
        rows = synthetic_records(wanted, tokenizer)
        source = "synthetic"
    records, examples, too_long = [], [], 0
    for row in rows:
        example = tokenize_messages(tokenizer, profile.template, row["messages"])
        if len(example) > profile.context_length:
            too_long += 1
            continue
        records.append({"messages": row["messages"]})
        examples.append(example)
    if not records:
        raise SystemExit(f"no usable records in {source} (dropped {too_long} over "
                         f"{profile.context_length} tokens)")
    distinct = min(len(records), wanted)
    records = [records[i % len(records)] for i in range(wanted)]
    examples = [examples[i % len(examples)] for i in range(wanted)]
    lengths = [len(e) for e in examples]
    info = {"source": source, "records": wanted, "distinct_records": distinct,
            "dropped_too_long": too_long, "tokens": sum(lengths),
            "length_min": min(lengths), "length_median": int(statistics.median(lengths)),
            "length_max": max(lengths),
            "answer_tokens": sum(sum(t != -100 for t in e.labels) for e in examples)}
    return records, examples, info


# --- the arms (each runs in a child process) -----------------------------------------------------

def _lora_config():
    from peft import LoraConfig

    from memo.core.train_config import TrainConfig

    cfg = TrainConfig()  # memo's defaults: the same settings the memo arm trains with
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.target_modules), bias="none", task_type="CAUSAL_LM")


def stamp() -> tuple[float, float, float]:
    """(wall clock, CPU seconds the whole machine has used, CPU seconds this process has used)."""
    return time.perf_counter(), common._busy_seconds(), sum(os.times()[:2])


def run_trl(job: dict) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from memo.core.train_config import TrainConfig

    cfg = TrainConfig()
    tokens = json.loads(Path(job["tokens"]).read_text())
    torch.manual_seed(0)
    setup_started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(job["base"])
    model = AutoModelForCausalLM.from_pretrained(job["base"], dtype=torch.float32)
    dataset = Dataset.from_dict({"input_ids": tokens["ids"], "labels": tokens["labels"]})
    steps = job["steps"]
    config = SFTConfig(
        output_dir=str(HOME / "trl"), per_device_train_batch_size=job["batch_size"],
        gradient_accumulation_steps=1, max_steps=steps, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.grad_clip, lr_scheduler_type="cosine",
        warmup_steps=max(1, int(cfg.warmup_ratio * steps)), optim="adamw_torch",
        bf16=job["precision"] == "bf16", fp16=False, use_cpu=True, activation_checkpointing=False,
        max_length=None, report_to=[], save_strategy="no", eval_strategy="no",
        logging_strategy="no", disable_tqdm=True, dataloader_num_workers=0, seed=cfg.seed)

    class StepClock(TrainerCallback):
        def __init__(self):
            self.first_begin: tuple | None = None
            self.ends: list[tuple] = []

        def on_step_begin(self, args, state, control, **kwargs):
            if self.first_begin is None:
                self.first_begin = stamp()

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(stamp())

    clock = StepClock()
    trainer = SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=_lora_config(), callbacks=[clock])
    batches: list[tuple[int, ...]] = []  # per batch: examples, non-pad tokens, labelled tokens, padded size
    collate = trainer.data_collator

    def counting_collator(examples):
        batch = collate(examples)
        labelled = int((batch["labels"][:, 1:] != -100).sum())
        batches.append((len(examples), int(batch["attention_mask"].sum()), labelled,
                        batch["input_ids"].numel()))
        return batch

    trainer.data_collator = counting_collator
    setup_s = time.perf_counter() - setup_started
    trainer.train()
    if len(clock.ends) != steps or len(batches) < steps:
        raise RuntimeError(f"TRL ran {len(clock.ends)} steps over {len(batches)} batches, expected {steps}")
    return {"stamps": [clock.first_begin] + clock.ends,
            "batches": batches[:steps], "setup_s": setup_s,
            "mixed_precision": str(trainer.accelerator.mixed_precision),
            "trainable_params": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
            "weights_dtype": str(next(trainer.model.parameters()).dtype),
            "activation_checkpointing": bool(getattr(trainer.model.get_base_model(),
                                                     "is_activation_checkpointing", False))}


def run_memo(job: dict) -> dict:
    from memo.core.config import load_settings
    from memo.core.train_config import TrainConfig
    from memo.finetune import lora

    steps = job["steps"]
    cfg = TrainConfig(profile=PROFILE, base=job["base"], max_steps=steps, epochs=1.0,
                      batch_tokens=job["batch_tokens"], eval_every=steps + 1, save_every=steps + 1,
                      precision=job["precision"])
    cfg.validate()
    settings = load_settings(str(HOME / "config.toml"), overrides={"model.device": "cpu"})
    settings.train = cfg
    stamps: list[tuple] = []
    batches: list[tuple[int, ...]] = []  # per batch: examples, non-pad tokens, labelled tokens, padded size
    loop_end: list[tuple] = []
    forward_groups, save_adapter = lora.forward_groups, lora.save_adapter

    def timed_groups(examples, device):  # called once per step (one micro-batch), first in the step
        stamps.append(stamp())
        groups = forward_groups(examples, device)  # on a CPU: one unpadded example per forward pass
        batches.append((len(examples), sum(len(e) for e in examples),
                        sum(sum(t != lora.IGNORE for t in e.labels[1:]) for e in examples),
                        sum(len(g) * max(len(e) for e in g) for g in groups)))
        return groups

    def timed_save(*args, **kwargs):  # called right after the training loop
        loop_end.append(stamp())
        return save_adapter(*args, **kwargs)

    lora.forward_groups, lora.save_adapter = timed_groups, timed_save
    started = time.perf_counter()
    report = lora.train(Path(job["data"]), HOME / "memo-adapter", settings)
    if len(stamps) != steps or not loop_end:
        raise RuntimeError(f"memo ran {len(stamps)} batches, expected {steps} (one per step)")
    return {"stamps": stamps + loop_end[:1], "batches": batches,
            "setup_s": stamps[0][0] - started, "memo_report": report.as_dict()}


def child(arm: str, job_file: Path) -> None:
    import torch

    job = json.loads(job_file.read_text())
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    result = (run_trl if arm == "trl" else run_memo)(job)
    stamps, batches = result.pop("stamps"), result["batches"]
    durations = [b[0] - a[0] for a, b in itertools.pairwise(stamps)]
    timed = batches[1:]  # step 1 is warm-up
    seconds = sum(durations[1:])
    # cores other processes kept busy during each step, and during the timed steps
    others = [max(0.0, (b[1] - a[1]) - (b[2] - a[2])) for a, b in itertools.pairwise(stamps)]
    tokens = sum(b[1] for b in timed)
    result.update({
        "arm": arm, "steps": len(durations), "timed_steps": len(timed),
        "timed_seconds": round(seconds, 3), "timed_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1), "seconds_per_step": round(seconds / len(timed), 3),
        "warmup_step_s": round(durations[0], 3),
        "examples_per_step": round(statistics.mean(b[0] for b in batches), 2),
        "all_tokens": sum(b[1] for b in batches), "labelled_tokens": sum(b[2] for b in batches),
        "padding_fraction": round(1 - sum(b[1] for b in batches) / sum(b[3] for b in batches), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_threads": torch.get_num_threads(), "setup_s": round(result["setup_s"], 2),
        "other_cores": round(sum(others[1:]) / seconds, 2),
        "step_seconds": [round(d, 3) for d in durations],
        "step_other_cores": [round(o / d, 2) for o, d in zip(others, durations)]})
    print(RESULT + json.dumps(result, default=str), flush=True)


def run_arm(arm: str, job_file: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--arm", arm, "--job", str(job_file)]
    proc = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    found = [line for line in proc.stdout.splitlines() if line.startswith(RESULT)]
    if proc.returncode or not found:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise SystemExit(f"the {arm} arm failed (exit {proc.returncode}):\n{tail}")
    return json.loads(found[-1][len(RESULT):])


# --- the parent ---------------------------------------------------------------------------------

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.strip().split("\n\n")[0].split()))
    parser.add_argument("--data", type=Path, help="a `memo synth` output folder or a chat JSONL file "
                        "(default: synthetic RAFT-like records)")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per arm (the first is warm-up)")
    parser.add_argument("--batch-size", type=int, default=4, help="examples per optimizer step")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                        help="auto: memo's choice (bf16 autocast where the CPU has native bf16)")
    parser.add_argument("--batch-tokens", type=int, default=0,
                        help="memo's batch_tokens (default: batch-size x the longest example, so every "
                        "step holds at least batch-size examples)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per arm, alternating which goes first; "
                        "the median tokens/s is reported")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in both arms (0 = torch's default)")
    parser.add_argument("--base", default="", help="base model folder (default: the packaged SmolLM2-135M, "
                        "prepared once into the temporary MEMO_HOME, ~20 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a line")
    parser.add_argument("--arm", choices=["trl", "memo"], help=argparse.SUPPRESS)
    parser.add_argument("--job", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.arm:
        if args.steps < 2:
            parser.error("--steps must be at least 2 (the first step is warm-up)")
        if args.batch_size < 1 or args.rounds < 1:
            parser.error("--batch-size and --rounds must be at least 1")
        if args.data and not args.data.exists():
            parser.error(f"--data {args.data} does not exist")
    return args


def base_model(args) -> str:
    if args.base:
        return str(Path(args.base).expanduser().resolve())
    from memo.llm.models import materialize_smollm2

    return str(materialize_smollm2(HOME / "models"))


def summarize(runs: list[dict]) -> dict:
    """An arm's rounds: the round with the median tokens/s, the peak RSS of all of them."""
    ranked = sorted(runs, key=lambda r: r["tokens_per_s"])
    best = dict(ranked[len(ranked) // 2])
    best["rounds_tokens_per_s"] = [r["tokens_per_s"] for r in runs]
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    best["flop_floor_fraction"] = round(best["tokens_per_s"] * FLOPS_PER_TOKEN / (NOMINAL_GFLOPS * 1e9), 4)
    best["gflops"] = round(best["tokens_per_s"] * FLOPS_PER_TOKEN / 1e9, 1)
    return best


def report(line: str, data: dict, as_json: bool) -> None:
    """common.emit, except that the arms' CPU time (child processes) is not counted as other
    processes' load."""
    info = machine()
    wall = time.perf_counter() - common._STARTED[0]
    children = sum(os.times()[2:4])
    info["other_cores"] = round(max(0.0, info["other_cores"] - children / wall), 2)
    line += f" [other processes used {info['other_cores']:.1f} of {info['cpus']} cores]"
    print(json.dumps({**data, "summary": line, "machine": info}, indent=2, default=str) if as_json else line)


def main() -> None:
    args = parse_args()
    if args.arm:
        child(args.arm, args.job)
        return
    from memo.core.train_config import TrainConfig
    from memo.finetune.lora import pick_precision
    from memo.llm.models import load_tokenizer, stay_offline

    stay_offline()
    base = base_model(args)
    tokenizer = load_tokenizer(base)
    records, examples, data_info = prepare_data(args, tokenizer)
    precision = pick_precision(TrainConfig(precision=args.precision), "cpu")
    work = HOME / "bench-train"
    work.mkdir(parents=True, exist_ok=True)
    data_file = work / "train.jsonl"
    data_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    tokens_file = work / "tokens.json"
    tokens_file.write_text(json.dumps({"ids": [e.ids for e in examples], "labels": [e.labels for e in examples]}))
    batch_tokens = args.batch_tokens or args.batch_size * data_info["length_max"]
    job = {"base": base, "data": str(data_file), "tokens": str(tokens_file), "steps": args.steps,
           "batch_size": args.batch_size, "batch_tokens": batch_tokens, "precision": precision,
           "threads": args.threads}
    job_file = work / "job.json"
    job_file.write_text(json.dumps(job))

    runs: dict[str, list[dict]] = {"trl": [], "memo": []}
    for round_ in range(args.rounds):
        for arm in (("trl", "memo") if round_ % 2 == 0 else ("memo", "trl")):
            runs[arm].append(run_arm(arm, job_file))
    trl, memo = summarize(runs["trl"]), summarize(runs["memo"])
    ratio = memo["tokens_per_s"] / trl["tokens_per_s"]
    line = (f"train: memo {memo['tokens_per_s']:.0f} tok/s ({memo['seconds_per_step']:.1f} s/step, "
            f"{memo['peak_rss_mb']:.0f} MB), trl {trl['tokens_per_s']:.0f} tok/s "
            f"({trl['seconds_per_step']:.1f} s/step, {trl['peak_rss_mb']:.0f} MB), memo/trl x{ratio:.2f}; "
            f"FLOP floor memo {memo['flop_floor_fraction']:.1%}, trl {trl['flop_floor_fraction']:.1%} "
            f"({precision}, {args.steps} steps x {args.batch_size} examples; other processes used "
            f"{memo['other_cores']:.1f} / {trl['other_cores']:.1f} cores during memo's / trl's timed steps)")
    report(line, {"data": data_info, "base": base, "precision": precision, "steps": args.steps,
                  "batch_size": args.batch_size, "memo_batch_tokens": batch_tokens, "rounds": args.rounds,
                  "flops_per_token": FLOPS_PER_TOKEN, "nominal_gflops": NOMINAL_GFLOPS,
                  "memo": memo, "trl": trl, "memo_over_trl": round(ratio, 3)}, args.json)


if __name__ == "__main__":
    main()
