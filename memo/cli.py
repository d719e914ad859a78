"""The `memo` command line. Each command is a function whose docstring is its --help.

Only the standard library is imported here: `memo --help` stays fast, and torch, chromadb and
transformers load inside the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memo.errors import MemoError

DEMO_COMPANY = "Tidewell"


def _settings(args: argparse.Namespace, **overrides: Any):
    from memo.config import load_settings

    overrides["index.name"] = getattr(args, "index", None)
    return load_settings(args.config, overrides)


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


def demo_corpus() -> Path:
    return Path(__file__).parent / "demo_corpus" / "tidewell"


def cmd_index(args: argparse.Namespace) -> int:
    """Index company and role documents (.md, .txt, .html, .pdf; files or folders).

    Re-running is incremental: unchanged files embed nothing, changed files replace their chunks.
    Role documents are files under a `roles/` folder, files with `role:` front matter, or
    everything given with --role (or --kind role, one role per file, named by its title).
    """
    from memo.ingestion.indexer import Target, index_corpus

    paths = [Path(p) for p in args.paths]
    company = args.company
    if args.demo:
        paths, company = [demo_corpus()], company or DEMO_COMPANY
    if not paths:
        raise MemoError("give at least one file or folder to index (or --demo)")
    if not company:
        raise MemoError("--company is required: whose documents are these?")
    settings = _settings(args, **{"index.chunk_tokens": args.chunk_tokens,
                                  "index.chroma_url": args.chroma_url})
    report = index_corpus(settings, paths, Target(company, args.role, args.kind), prune_missing=args.prune,
                          rebuild=args.rebuild, show_progress=not args.json and sys.stderr.isatty())
    if args.json:
        _print_json(report.as_dict())
    else:
        from memo.terminal import print_index_report

        print_index_report(report)
    return 0 if report.files or not report.skipped else 1


def cmd_search(args: argparse.Namespace) -> int:
    """Search a company's (and role's) indexed documents: hybrid dense + BM25.

    Dense (Chroma) and keyword (BM25) rankings are fused by reciprocal rank; near-duplicate chunks
    are collapsed.
    """
    from memo.retrieval.hybrid import HybridRetriever

    settings = _settings(args, **{"retrieval.k": args.k, "index.chroma_url": args.chroma_url})
    hits = HybridRetriever(settings).retrieve(args.query, args.company, args.role, args.k)
    if args.json:
        _print_json([hit.as_dict() for hit in hits])
    else:
        from memo.terminal import print_hits

        print_hits(hits)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer an interview question as a candidate, grounded in the company's documents.

    The answer is in the first person, for the role at the company, and cites the documents it
    uses as [1], [2]... Modes: rag (retrieval, the default), base (the model alone, no documents),
    ft (a LoRA adapter from `memo train`, no documents) and hybrid (the adapter with retrieval);
    ft and hybrid need --adapter DIR. With --endpoint URL an OpenAI-compatible server answers
    (`memo serve`, vLLM, OpenAI): --model names its base model and --adapter the adapter's served
    name, each found from the server's model list when it serves only one; the key comes from
    MEMO_API_KEY or OPENAI_API_KEY.
    """
    from memo.serving.answer import ADAPTER_MODES, Answerer

    adapter = Path(args.adapter) if args.adapter and not args.endpoint else None
    profile = args.profile or (_adapter_profile(adapter) if adapter else None)
    settings = _settings(args, **{"model.profile": profile, "model.llm": args.llm,
                                  "generation.max_new_tokens": args.max_new_tokens,
                                  "index.chroma_url": args.chroma_url})
    if args.endpoint:
        from memo.serving.endpoint import Endpoint

        answerer = Answerer(settings, endpoint=Endpoint(args.endpoint, args.timeout),
                            served_model=args.model, served_adapter=args.adapter)
    else:
        if args.model:
            raise MemoError("--model names a model served at --endpoint; for local weights use --llm")
        answerer = Answerer(settings, adapter=adapter)
    streaming = not args.json and args.mode not in ADAPTER_MODES  # adapters write reasoning first
    stream = (lambda text: print(text, end="", flush=True)) if streaming else None
    answer = answerer.ask(args.question, args.company, args.role, args.mode, on_text=stream)
    for warning in answer.warnings:
        print(f"memo: warning: {warning}", file=sys.stderr)
    if args.json:
        _print_json(answer.as_dict())
    else:
        from memo.terminal import print_adapter_answer, print_sources

        if not streaming:
            print_adapter_answer(answer)
        print()
        print_sources(answer)
    return 0


def _adapter_profile(adapter: Path) -> str | None:
    """The profile an adapter was trained with (from its memo.json), so --profile can be left out."""
    from memo.finetune.adapter import read_adapter

    return read_adapter(adapter).get("profile")


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
    from memo.finetune.synth import Synthesizer, SynthOptions

    settings = _settings(args, **{"model.profile": args.profile, "model.llm": args.llm})
    opts = SynthOptions(company=args.company, role=args.role, out=Path(args.out), limit=args.limit,
                        endpoint=args.endpoint, model=args.model, oracle_fraction=args.oracle_fraction,
                        distractors=args.distractors, per_chunk=args.per_chunk,
                        exclude=[Path(p) for p in args.exclude], from_qa=[Path(p) for p in args.from_qa],
                        val_fraction=args.val_fraction, seed=args.seed, concurrency=args.concurrency,
                        batch_size=args.batch_size, timeout=args.timeout, skip_bad=args.skip_bad)
    synth = Synthesizer(settings, opts)  # flags, company and role checked before a model loads
    if not opts.from_qa:
        synth.completer = _completer(settings, opts)
    show = not args.json and sys.stderr.isatty()
    report = synth.run_from_qa() if opts.from_qa else synth.run(show_progress=show)
    if args.json:
        _print_json(report.as_dict())
    else:
        from memo.terminal import print_synth_report

        print_synth_report(report)
    return 0 if report.kept else 1


def _completer(settings, opts):
    from memo.finetune.completers import EndpointCompleter, LocalCompleter

    if opts.endpoint:
        return EndpointCompleter(opts.endpoint, opts.model, opts.concurrency, opts.timeout, opts.retries)
    from memo.serving.answer import load_llm_for

    llm, template = load_llm_for(settings)
    return LocalCompleter(llm, template, opts.batch_size)


def cmd_train(args: argparse.Namespace) -> int:
    """LoRA-tune the base model on `memo synth` data (DATA_DIR/train.jsonl and val.jsonl).

    Prompts are rendered with the same prompt code and chat template as `memo ask`; the loss is on
    the answer tokens only. Writes a PEFT adapter (servable by vLLM: rank <= 64, no modules_to_save,
    no trained embeddings or lm_head) and OUT/memo.json (base model and its hash, data and corpus
    hashes, config, losses). Hyperparameters: --config FILE (see memo/finetune/configs/), then flags.
    """
    from memo.finetune.lora import train
    from memo.finetune.train_config import TrainConfig

    cfg = TrainConfig.load(Path(args.train_config) if args.train_config else None,
                           {"base": args.base, "epochs": args.epochs, "max_steps": args.max_steps,
                            "profile": args.profile, "seed": args.seed,
                            "learning_rate": args.learning_rate, "lora_r": args.lora_r})
    settings = _settings(args)
    if not Path(args.data).exists():
        raise MemoError(f"{args.data}: no such file or folder; give the --out folder of `memo synth`")
    report = train(Path(args.data), Path(args.out), cfg, settings, resume=args.resume,
                   skip_bad=args.skip_bad, show_progress=not args.json and sys.stderr.isatty())
    if args.json:
        _print_json(report.as_dict())
    else:
        from memo.terminal import print_train_report

        print_train_report(report)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Show the index: where it is, its embedder and corpus hash, companies, roles and counts."""
    from memo.ingestion.store import index_status
    from memo.terminal import print_status

    status = index_status(_settings(args, **{"index.chroma_url": args.chroma_url}))
    if args.json:
        _print_json(status)
    else:
        print_status(status)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the effective settings (defaults < TOML file < MEMO_* environment < flags)."""
    _print_json(_settings(args).as_dict())
    return 0


def _common(parser: argparse.ArgumentParser, chroma: bool = True) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument("--config", metavar="FILE", help="TOML settings file (default: ./memo.toml, "
                                                         "then $MEMO_HOME/config.toml)")
    group.add_argument("--index", metavar="NAME", help="which index under $MEMO_HOME (default: default)")
    if chroma:
        group.add_argument("--chroma-url", metavar="URL", help="a `chroma run` server instead of on-disk")
    group.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _scope(parser: argparse.ArgumentParser, company_required: bool = True) -> None:
    parser.add_argument("--company", required=company_required, help="company name, as indexed")
    parser.add_argument("--role", help="role name, as indexed (adds that role's documents)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memo", description="Answer job-interview questions grounded "
                                     "in a company's and a role's own documents.")
    from memo import __version__

    parser.add_argument("--version", action="version", version=f"memo {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        doc = func.__doc__ or ""
        sub = commands.add_parser(name, help=doc.split("\n")[0], description=doc,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.set_defaults(func=func)
        return sub

    index = add("index", cmd_index)
    index.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to index")
    _scope(index, company_required=False)
    index.add_argument("--kind", choices=["company", "role"], help="what the documents are (default: "
                       "company, role under roles/ or with --role)")
    index.add_argument("--demo", action="store_true", help="index the bundled demo corpus (Tidewell)")
    index.add_argument("--prune", action="store_true", help="remove this company's documents that are "
                       "no longer found under PATH")
    index.add_argument("--rebuild", action="store_true", help="delete the index and start over "
                       "(needed after changing the embedder)")
    index.add_argument("--chunk-tokens", type=int, metavar="N", help="chunk size in embedder word pieces")
    _common(index)

    search = add("search", cmd_search)
    search.add_argument("query")
    _scope(search)
    search.add_argument("--k", type=int, metavar="N", help="hits to show (default 5)")
    _common(search)

    ask = add("ask", cmd_ask)
    ask.add_argument("question")
    _scope(ask)
    ask.add_argument("--mode", default="rag", choices=["base", "rag", "ft", "hybrid"],
                     help="rag: with retrieved documents (default); base: the model alone; ft: the "
                     "adapter alone; hybrid: the adapter with retrieved documents")
    ask.add_argument("--adapter", metavar="DIR", help="LoRA adapter from `memo train` (for ft, hybrid); "
                     "with --endpoint, its served name")
    ask.add_argument("--endpoint", metavar="URL", help="answer through an OpenAI-compatible server, "
                     "e.g. http://127.0.0.1:8000/v1 (`memo serve`)")
    ask.add_argument("--model", metavar="NAME", help="the base model's name at --endpoint")
    ask.add_argument("--timeout", type=float, default=120.0, metavar="S", help="endpoint request timeout")
    ask.add_argument("--profile", help="model profile: smollm2-135m (default) or llama-2-7b-chat")
    ask.add_argument("--llm", metavar="PATH", help="model weights (folder or hub id) for the profile")
    ask.add_argument("--max-new-tokens", type=int, metavar="N", help="answer length budget")
    _common(ask)

    synth = add("synth", cmd_synth)
    _scope(synth)
    synth.add_argument("--out", required=True, metavar="DIR", help="output folder (resumes if it holds a run)")
    synth.add_argument("--limit", type=int, metavar="N", help="write at most N records")
    synth.add_argument("--endpoint", metavar="URL", help="OpenAI-compatible base URL, e.g. "
                       "http://127.0.0.1:8000/v1 (default: the local model in-process)")
    synth.add_argument("--model", metavar="NAME", help="model name at --endpoint (e.g. gpt-4o)")
    synth.add_argument("--oracle-fraction", type=float, default=0.8, metavar="P",
                       help="share of records whose context holds the oracle chunk (default 0.8)")
    synth.add_argument("--distractors", type=int, default=3, metavar="N",
                       help="retrieved non-oracle chunks per record (default 3)")
    synth.add_argument("--per-chunk", type=int, default=2, metavar="N",
                       help="company questions attempted per chunk (default 2)")
    synth.add_argument("--exclude", action="append", default=[], metavar="FILE.jsonl",
                       help="held-out Q&A file: reject questions too similar to its questions")
    synth.add_argument("--from-qa", action="append", default=[], metavar="FILE.jsonl",
                       help="convert this Q&A file instead of generating (contexts retrieved)")
    synth.add_argument("--val-fraction", type=float, default=0.1, metavar="F",
                       help="share of records for validation (default 0.1)")
    synth.add_argument("--seed", type=int, default=0, help="seed for oracle dropping and shuffling")
    synth.add_argument("--concurrency", type=int, default=8, metavar="N", help="parallel endpoint requests")
    synth.add_argument("--batch-size", type=int, default=16, metavar="N", help="local generation batch")
    synth.add_argument("--timeout", type=float, default=120.0, metavar="S", help="endpoint request timeout")
    synth.add_argument("--skip-bad", action="store_true", help="skip malformed lines of input files")
    synth.add_argument("--profile", help="local model profile (default smollm2-135m)")
    synth.add_argument("--llm", metavar="PATH", help="local model weights")
    _common(synth)

    train = add("train", cmd_train)
    train.add_argument("data", metavar="DATA_DIR", help="`memo synth` output folder (or a JSONL file)")
    train.add_argument("--out", required=True, metavar="ADAPTER_DIR", help="where the adapter goes")
    train.add_argument("--base", metavar="MODEL", help="base weights (folder or hub id; default: the profile's)")
    train.add_argument("--profile", help="smollm2-135m (default) or llama-2-7b-chat")
    train.add_argument("--config", dest="train_config", metavar="FILE",
                       help="training TOML (see memo/finetune/configs/)")
    train.add_argument("--epochs", type=float, metavar="E", help="passes over the data (default 1)")
    train.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps")
    train.add_argument("--learning-rate", type=float, metavar="LR")
    train.add_argument("--lora-r", type=int, metavar="R", help="LoRA rank (at most 64)")
    train.add_argument("--seed", type=int)
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint in OUT")
    train.add_argument("--skip-bad", action="store_true", help="skip malformed JSONL lines (reported)")
    group = train.add_argument_group("common options")
    group.add_argument("--settings", dest="config", metavar="FILE", help="memo settings TOML (model.device...)")
    group.add_argument("--index", metavar="NAME", help=argparse.SUPPRESS)
    group.add_argument("--json", action="store_true", help="print machine-readable JSON")

    from memo.cli_serving import add_serving_commands

    add_serving_commands(add)
    from memo.cli_bench import add_bench_command

    add_bench_command(add)
    status = add("status", cmd_status)
    _common(status)
    config = add("config", cmd_config)
    _common(config, chroma=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MemoError as exc:
        print(f"memo: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("memo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
