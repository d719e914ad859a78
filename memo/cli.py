"""The `memo` command line. Each command is a function whose docstring is its --help.

Only the standard library is imported here: `memo --help` stays fast, and torch, chromadb and
transformers load inside the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

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
    uses as [1], [2]... Modes: rag (retrieval, the default) or base (the model alone, no documents).
    """
    from memo.serving.answer import Answerer

    settings = _settings(args, **{"model.profile": args.profile, "model.llm": args.llm,
                                  "generation.max_new_tokens": args.max_new_tokens,
                                  "index.chroma_url": args.chroma_url})
    answerer = Answerer(settings)
    stream = None if args.json else (lambda text: print(text, end="", flush=True))
    answer = answerer.ask(args.question, args.company, args.role, args.mode, on_text=stream)
    if args.json:
        _print_json(answer.as_dict())
    else:
        from memo.terminal import print_sources

        print()
        print_sources(answer)
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
    ask.add_argument("--mode", default="rag", choices=["base", "rag"], help="rag: with retrieved "
                     "documents (default); base: the model alone")
    ask.add_argument("--profile", help="model profile: smollm2-135m (default) or llama-2-7b-chat")
    ask.add_argument("--llm", metavar="PATH", help="model weights (folder or hub id) for the profile")
    ask.add_argument("--max-new-tokens", type=int, metavar="N", help="answer length budget")
    _common(ask)

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
