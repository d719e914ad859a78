"""The fine-tuning commands: `memo synth` (RAFT data) and `memo train` (LoRA)."""

from __future__ import annotations

import argparse
from pathlib import Path

from memo.cli.common import (
    LLM_HELP,
    PROFILE_HELP,
    Adder,
    add_common,
    add_model,
    add_scope,
    print_json,
    settings_from,
    show_progress,
)
from memo.core import notices
from memo.core.errors import MemoError


def cmd_synth(args: argparse.Namespace) -> int:
    """Synthesize RAFT-style interview Q&A from a company's indexed documents, for `memo train`.

    Each record: a question, its oracle chunk among distractors mined from memo's own retriever
    (the oracle kept in --oracle-fraction of records), and an answer that quotes the oracle between
    ##begin_quote## and ##end_quote## before the final answer. Drafts pass quality gates (parseable,
    quotes found in the oracle, the question retrieves its oracle, no near-duplicates, nothing close
    to an --exclude file's questions). Writes OUT/train.jsonl, OUT/val.jsonl (chat `messages` +
    provenance) and OUT/synth.json. Interrupted runs resume from OUT/attempts.jsonl.

    Generator: the local model in-process (default), or any OpenAI-compatible endpoint with
    --endpoint URL --model NAME (API key from MEMO_SYNTH_API_KEY or OPENAI_API_KEY).
    """
    from memo.cli.render import print_synth_report
    from memo.finetune.synth import SynthOptions, synthesize

    settings = settings_from(args, **{"model.profile": args.profile, "model.llm": args.llm})
    opts = SynthOptions(company=args.company, role=args.role, out=Path(args.out), limit=args.limit,
                        endpoint=args.endpoint, model=args.model, oracle_fraction=args.oracle_fraction,
                        distractors=args.distractors, per_chunk=args.per_chunk,
                        exclude=[Path(p) for p in args.exclude], from_qa=[Path(p) for p in args.from_qa],
                        val_fraction=args.val_fraction, seed=args.seed, concurrency=args.concurrency,
                        batch_size=args.batch_size, timeout=args.timeout, skip_bad=args.skip_bad,
                        absent=args.absent, stories=args.from_stories)
    report = synthesize(settings, opts, show_progress=show_progress(args))
    if args.json:
        print_json(report.as_dict())
    else:
        print_synth_report(report)
    return 0 if report.kept else 1


def cmd_train(args: argparse.Namespace) -> int:
    """LoRA-tune the base model on `memo synth` data (DATA_DIR/train.jsonl and val.jsonl).

    Prompts are rendered with the same prompt code and chat template as `memo ask`; the loss is on
    the answer tokens only. Writes a PEFT adapter (servable by vLLM: rank <= 64, no modules_to_save,
    no trained embeddings or lm_head) and OUT/memo.json (base model and its hash, data and corpus
    hashes, config, losses). Hyperparameters: the [train] section of the --config settings file
    (see memo/finetune/configs/), MEMO_TRAIN_* variables, then flags.
    """
    from memo.cli.render import print_train_report
    from memo.finetune.lora import train

    if args.old_settings:
        if args.config:
            raise MemoError("give one settings file, with --config (--settings is its old spelling)")
        notices.warn("--settings is now --config, which means the same settings file in every command")
        args.config = args.old_settings
    flags = {"base": args.base, "epochs": args.epochs, "max_steps": args.max_steps, "profile": args.profile,
             "seed": args.seed, "learning_rate": args.learning_rate, "lora_r": args.lora_r,
             "data_style": "dsf" if args.dsf else None, "closed_book": args.closed_book}
    settings = settings_from(args, **{f"train.{key}": value for key, value in flags.items()})
    if not Path(args.data).exists():
        raise MemoError(f"{args.data}: no such file or folder; give the --out folder of `memo synth`")
    report = train(Path(args.data), Path(args.out), settings, resume=args.resume, skip_bad=args.skip_bad,
                   show_progress=show_progress(args))
    if args.json:
        print_json(report.as_dict())
    else:
        print_train_report(report)
    return 0


def add_synth_command(add: Adder) -> None:
    synth = add("synth", cmd_synth)
    add_scope(synth)
    synth.add_argument("--out", required=True, metavar="DIR", help="output folder (resumes if it holds a run)")
    synth.add_argument("--limit", type=int, metavar="N", help="write at most N records")
    synth.add_argument("--endpoint", metavar="URL", help="OpenAI-compatible base URL, e.g. "
                       "http://127.0.0.1:8000/v1 (default: the local model in-process)")
    synth.add_argument("--model", metavar="NAME", help="model name at --endpoint (e.g. gpt-4o)")
    synth.add_argument("--oracle-fraction", type=float, default=0.8, metavar="P",
                       help="share of records whose context holds the oracle chunk (default 0.8)")
    synth.add_argument("--absent", choices=("recall", "honest"), default="recall",
                       help="records without their oracle: recall the answer (RAFT) or say the documents "
                       "don't cover it (default recall)")
    synth.add_argument("--distractors", type=int, default=3, metavar="N",
                       help="retrieved non-oracle chunks per record (default 3)")
    synth.add_argument("--per-chunk", type=int, default=2, metavar="N",
                       help="company questions attempted per chunk (default 2)")
    synth.add_argument("--exclude", action="append", default=[], metavar="FILE.jsonl",
                       help="held-out Q&A file: reject questions too similar to its questions")
    synth.add_argument("--from-qa", action="append", default=[], metavar="FILE.jsonl",
                       help="convert this Q&A file instead of generating (contexts retrieved)")
    synth.add_argument("--from-stories", nargs="?", const="me", metavar="CANDIDATE",
                       help="also make records from a candidate profile's STAR stories (default me): "
                       "answering about your experience with your story, no generator")
    synth.add_argument("--val-fraction", type=float, default=0.1, metavar="F",
                       help="share of records for validation (default 0.1)")
    synth.add_argument("--seed", type=int, default=0, help="seed for oracle dropping and shuffling")
    synth.add_argument("--concurrency", type=int, default=8, metavar="N", help="parallel endpoint requests")
    synth.add_argument("--batch-size", type=int, default=16, metavar="N", help="local generation batch")
    synth.add_argument("--timeout", type=float, default=120.0, metavar="S", help="endpoint request timeout")
    synth.add_argument("--skip-bad", action="store_true", help="skip malformed lines of input files")
    add_model(synth, "the local model that writes the records")
    add_common(synth)


def add_train_command(add: Adder) -> None:
    train = add("train", cmd_train)
    train.add_argument("data", metavar="DATA_DIR", help="`memo synth` output folder (or a JSONL file)")
    train.add_argument("--out", required=True, metavar="ADAPTER_DIR", help="where the adapter goes")
    train.add_argument("--base", "--llm", dest="base", metavar="MODEL", help="the base model: " + LLM_HELP)
    train.add_argument("--profile", help=PROFILE_HELP)
    train.add_argument("--epochs", type=float, metavar="E", help="passes over the data (default 1)")
    train.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps")
    train.add_argument("--learning-rate", type=float, metavar="LR")
    train.add_argument("--lora-r", type=int, metavar="R", help="LoRA rank (at most 64)")
    train.add_argument("--seed", type=int)
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUT")
    train.add_argument("--closed-book", type=float, metavar="F", help="share of records also trained "
                       "without documents, for answering without retrieval (default 0)")
    train.add_argument("--dsf", action="store_true",
                       help="train on the same Q&A without documents (RAFT's DSF baseline, for the bench's dsf arms)")
    train.add_argument("--skip-bad", action="store_true", help="skip malformed JSONL lines (reported)")
    train.add_argument("--settings", dest="old_settings", metavar="FILE", help=argparse.SUPPRESS)
    add_common(train, chroma=False, index=False)


def cmd_train_reranker(args: argparse.Namespace) -> int:
    """Train a cross-encoder reranker from `memo synth` data, for `--reranker DIR` (search, ask, bench).

    Each synth record gives its question with its oracle chunk (positive) and hard negatives: its
    distractors, topped up with memo's retriever's other best hits. The model starts from the
    packaged MiniLM weights and trains with sentence-transformers' CrossEncoderTrainer. The
    companies the data came from must be indexed (chunk texts are read from the index). Questions
    close to an --exclude file's are left out, as in synth. Writes the CrossEncoder and
    OUT/memo.json (data, companies and corpus hashes, options, validation MRR before and after).
    """
    from memo.cli.render import print_reranker_report
    from memo.finetune.reranker import RerankerOptions, train_reranker

    settings = settings_from(args, **{"index.chroma_url": args.chroma_url})
    for path in args.data:
        if not Path(path).exists():
            raise MemoError(f"{path}: no such file or folder; give the --out folder of `memo synth`")
    opts = RerankerOptions(data=[Path(p) for p in args.data], out=Path(args.out), epochs=args.epochs,
                           max_steps=args.max_steps, negatives=args.negatives, seed=args.seed,
                           learning_rate=args.learning_rate,
                           exclude=[Path(p) for p in args.exclude])
    report = train_reranker(settings, opts, show_progress=show_progress(args))
    if args.json:
        print_json(report.as_dict())
    else:
        print_reranker_report(report)
    return 0


def add_train_reranker_command(add: Adder) -> None:
    train = add("train-reranker", cmd_train_reranker)
    train.add_argument("data", nargs="+", metavar="DATA_DIR", help="`memo synth` output folders (or JSONL files)")
    train.add_argument("--out", required=True, metavar="DIR", help="where the reranker goes")
    train.add_argument("--epochs", type=float, default=1.0, metavar="E", help="passes over the pairs (default 1)")
    train.add_argument("--max-steps", type=int, default=0, metavar="N", help="stop after N optimizer steps")
    train.add_argument("--negatives", type=int, default=3, metavar="N", help="negatives per question (default 3)")
    train.add_argument("--learning-rate", type=float, default=5e-5, metavar="LR", help="(default 5e-5)")
    train.add_argument("--exclude", action="append", default=[], metavar="QA_FILE",
                       help="leave out questions close to this file's (repeatable)")
    train.add_argument("--seed", type=int, default=0)
    add_common(train, chroma=True)

