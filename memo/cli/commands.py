"""The index and answering commands: `memo index`, `search`, `ask`, `status` and `config`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memo.cli.common import (
    Adder,
    add_common,
    add_model,
    add_no_daemon,
    add_reranker,
    add_scope,
    print_json,
    settings_from,
    show_progress,
)
from memo.core import notices
from memo.core.demo import DEMO_CANDIDATE, DEMO_COMPANY, DEMO_CORPUS
from memo.core.errors import MemoError
from memo.core.identity import DEFAULT_CANDIDATE, candidate_scope


def cmd_index(args: argparse.Namespace) -> int:
    """Index company and role documents, or your own (.md, .txt, .html, .pdf, .docx; files or folders).

    Re-running is incremental: unchanged files embed nothing, changed files replace their chunks.
    Role documents are files under a `roles/` folder, files with `role:` front matter, or
    everything given with --role (or --kind role, one role per file, named by its title).
    --kind candidate indexes your résumé, notes and STAR stories into your own profile
    (--candidate NAME, default "me"), never into a company: `memo ask` then draws on them.
    """
    from memo.cli.render import print_index_report
    from memo.ingestion.indexer import Target
    from memo.serving.daemon_client import index

    paths = [Path(p) for p in args.paths]
    company = args.company
    if args.demo:  # the bundled Tidewell corpus, or with --kind candidate the bundled candidate
        demo_candidate = args.kind == "candidate" or args.candidate
        paths, company = [DEMO_CANDIDATE if demo_candidate else DEMO_CORPUS], company or (None if demo_candidate else DEMO_COMPANY)
    if not paths:
        raise MemoError("give at least one file or folder to index (or --demo)")
    if args.kind == "candidate" or args.candidate:
        if company or args.role:
            raise MemoError("your own documents belong to no company or role: drop --company/--role "
                            "with --kind candidate")
        args.kind, company = "candidate", candidate_scope(args.candidate or DEFAULT_CANDIDATE)
    if not company:
        raise MemoError("--company is required: whose documents are these?")
    settings = settings_from(args, **{"index.chunk_tokens": args.chunk_tokens, "index.chroma_url": args.chroma_url})
    report = index(settings, paths, Target(company, args.role, args.kind), prune_missing=args.prune,
                   rebuild=args.rebuild, show_progress=show_progress(args))
    if args.json:
        print_json(report.as_dict())
    else:
        print_index_report(report)
    return 0 if report.files or not report.skipped else 1


def cmd_repair(args: argparse.Namespace) -> int:
    """Rebuild an index from the sources recorded by `memo index`.

    A store that Chroma cannot open (a damaged database, a disk that filled up) is moved to
    MEMO_HOME/indexes/.set-aside/ rather than deleted; every folder and file indexed before, with
    its company, role and kind, is then indexed again.
    """
    from memo.cli.render import print_index_report
    from memo.serving.daemon_client import repair

    reports = repair(settings_from(args), show_progress=show_progress(args))
    if args.json:
        print_json([report.as_dict() for report in reports])
    else:
        for report in reports:
            print_index_report(report)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Search a company's (and role's) indexed documents: hybrid dense + BM25.

    Dense (Chroma) and keyword (BM25) rankings are fused by reciprocal rank; near-duplicate chunks
    are collapsed.
    """
    from memo.cli.render import print_hits
    from memo.serving.daemon_client import search

    settings = settings_from(args, **{"retrieval.k": args.k, "index.chroma_url": args.chroma_url,
                                      "daemon.enabled": False if args.no_daemon else None})
    hits = search(settings, args.query, args.company, args.role, args.k)
    if args.json:
        print_json([hit.as_dict() for hit in hits])
    else:
        print_hits(hits)
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer an interview question as a candidate, grounded in the company's documents and your own.

    The answer is in the first person, for the role at the company, and cites the documents it
    uses as [1], [2]... With your documents indexed (`memo index ./me --kind candidate`), a question
    about your experience is answered from your STAR stories, one about your reasons from your notes
    and the company's documents. Evidence first: memo picks the sentences of the documents that
    answer (shown with --evidence, and in --json as `evidence`), and the answer states only those,
    in your voice; when none answers, it says so. Modes: auto (the default: hybrid with --adapter,
    else extractive), extractive (the evidence said by rules, no model), rag (the base model phrases
    the evidence, checked), base (the model alone, no documents), ft (a LoRA adapter from `memo
    train`, no documents) and hybrid (the adapter phrases the evidence, checked); a phrasing that
    drops or adds a number or name is replaced by the extractive answer. ft and hybrid need
    --adapter DIR (`@reader`: the shipped one). With --endpoint URL an OpenAI-compatible server answers
    (`memo serve`, vLLM, OpenAI): --model names its base model and --adapter the adapter's served
    name, each found from the server's model list when it serves only one; the key comes from
    MEMO_API_KEY or OPENAI_API_KEY.
    """
    from memo.cli.render import print_answer, print_sources, streaming
    from memo.llm.adapter import adapter_model, resolve_adapter
    from memo.serving.daemon_client import ask

    local_adapter = resolve_adapter(args.adapter) if args.adapter and not args.endpoint else None
    profile, llm = args.profile, args.llm
    if profile is None and llm is None and local_adapter:
        profile, llm = adapter_model(local_adapter)
    settings = settings_from(args, **{"model.profile": profile, "model.llm": llm,
                                      "generation.max_new_tokens": args.max_new_tokens,
                                      "index.chroma_url": args.chroma_url,
                                      "daemon.enabled": False if args.no_daemon else None})
    with streaming(not args.json and sys.stdout.isatty()) as on_text:
        answer = ask(settings, args.question, args.company, args.role, args.mode, adapter=args.adapter,
                     endpoint=args.endpoint, served_model=args.model, timeout=args.timeout,
                     on_text=None if args.json else on_text,
                     candidate=None if args.no_candidate else args.candidate or "auto")
    for warning in answer.warnings:  # also in --json; on stderr through the one notice path
        notices.warn(warning)
    if args.json:
        print_json(answer.as_dict())
    else:
        print_answer(answer, args.evidence)
        print()
        print_sources(answer)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Show the index: where it is, its embedder and corpus hash, companies, roles and counts."""
    from memo.cli.render import print_status
    from memo.ingestion.store import index_status

    status = index_status(settings_from(args, **{"index.chroma_url": args.chroma_url}))
    if args.json:
        print_json(status)
    else:
        print_status(status)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the effective settings (defaults < TOML file < MEMO_* environment < flags)."""
    print_json(settings_from(args).as_dict())
    return 0


def add_index_commands(add: Adder) -> None:
    index = add("index", cmd_index)
    index.add_argument("paths", nargs="*", metavar="PATH", help="files or folders to index")
    add_scope(index, company_required=False)
    index.add_argument("--kind", choices=["company", "role", "candidate"], help="what the documents are "
                       "(default: company, role under roles/ or with --role); candidate: your own")
    index.add_argument("--candidate", metavar="NAME", help=f"the candidate profile of --kind candidate "
                       f"documents (default {DEFAULT_CANDIDATE!r})")
    index.add_argument("--demo", action="store_true", help="index the bundled demo corpus (Tidewell), or "
                       "with --kind candidate the bundled demo candidate")
    index.add_argument("--prune", action="store_true", help="remove this company's documents that are "
                       "no longer found under PATH")
    index.add_argument("--rebuild", action="store_true", help="delete the index and start over "
                       "(needed after changing the embedder; a damaged store is moved aside)")
    index.add_argument("--chunk-tokens", type=int, metavar="N", help="chunk size in embedder word pieces")
    add_common(index)
    repair = add("repair", cmd_repair)
    add_common(repair, chroma=False)
    search = add("search", cmd_search)
    search.add_argument("query")
    add_scope(search)
    add_reranker(search)
    search.add_argument("--k", type=int, metavar="N", help="hits to show (default 5)")
    add_no_daemon(search)
    add_common(search)


def add_ask_command(add: Adder) -> None:
    ask = add("ask", cmd_ask)
    ask.add_argument("question")
    add_scope(ask)
    add_reranker(ask)
    ask.add_argument("--candidate", metavar="NAME", help="draw on this candidate profile's own documents "
                     f"(default: {DEFAULT_CANDIDATE!r} when indexed with `memo index --kind candidate`)")
    ask.add_argument("--no-candidate", action="store_true", help="answer from the company's documents only")
    ask.add_argument("--mode", default="auto", choices=["auto", "extractive", "base", "rag", "ft", "hybrid"],
                     help="auto (default): hybrid with --adapter, else extractive; extractive: the selected "
                     "evidence in your voice, no model; rag: the base model phrases it; base: the model alone; "
                     "ft: the adapter alone; hybrid: the adapter phrases it")
    ask.add_argument("--evidence", action="store_true", help="also show the sentences the answer states, "
                     "with their source and score")
    ask.add_argument("--adapter", metavar="DIR", help="LoRA adapter from `memo train` (for ft, hybrid), "
                     "@reader for memo's shipped one; with --endpoint, its served name")
    ask.add_argument("--endpoint", metavar="URL", help="answer through an OpenAI-compatible server, "
                     "e.g. http://127.0.0.1:8000/v1 (`memo serve`)")
    ask.add_argument("--model", metavar="NAME", help="the base model's name at --endpoint")
    ask.add_argument("--timeout", type=float, default=120.0, metavar="S", help="endpoint request timeout")
    add_model(ask)
    ask.add_argument("--max-new-tokens", type=int, metavar="N", help="answer length budget")
    add_no_daemon(ask)
    add_common(ask)


def add_status_commands(add: Adder) -> None:
    add_common(add("status", cmd_status))
    add_common(add("config", cmd_config), chroma=False)
