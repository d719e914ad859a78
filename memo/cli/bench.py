"""The `memo bench` command of the CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

from memo.cli.common import Adder, add_common, add_model, add_reranker, print_json, settings_from
from memo.core.demo import DEMO_BEHAVIOURAL, DEMO_EVAL
from memo.core.errors import MemoError


def cmd_bench(args: argparse.Namespace) -> int:
    """Compare extractive, base, rag, ft and hybrid answering (and RAFT's dsf, dsf+rag) on the same questions.

    EVAL.jsonl files are in the ../shared/qa format (question, reference_answer, company, role,
    evidence: a path matched to the indexed documents by suffix; optional key_facts: short strings
    a correct answer must contain); --demo uses the bundled Tidewell questions. Arms: extractive
    (the selected evidence said by rules, no model: `memo ask`'s default), base (the model alone),
    rag (the base model phrases the same evidence, checked), ft (the --adapter alone) and hybrid
    (the adapter phrases it, checked), with the same selection and decoding; dsf and dsf+rag answer
    with a --dsf-adapter (`memo train --dsf`: the same data without documents), which makes RAFT's
    five-row comparison: base, rag, dsf, dsf+rag, hybrid. Scores without a judge: the share of
    questions with every key fact in the answer, evidence recall (the share of the reference's
    content words the answer holds; "holds the evidence" at 0.5 or more), ROUGE-L, chrF, semantic
    similarity, and for the retrieval arms hit@k, MRR, ID-based context precision/recall and
    citation validity; with --judge-endpoint/--judge-model (any OpenAI-compatible judge, key from
    MEMO_JUDGE_API_KEY or OPENAI_API_KEY) also faithfulness, relevancy, context precision/recall and
    factual correctness. Means with 95% bootstrap intervals, paired differences with win/tie/loss,
    breakdowns by category and company. Writes OUT/report.md, report.html, results.jsonl and
    summary.json; a rerun into the same OUT computes only what is missing.
    """
    from memo.cli.render import print_bench_summary
    from memo.core.progress import Progress
    from memo.eval.bench import BenchOptions, run_bench
    from memo.llm.adapter import adapter_model, resolve_adapter

    def local(value: str | None) -> str | None:  # `@reader` is the shipped reader's folder
        return str(resolve_adapter(value)) if value and not args.endpoint else value

    files = [Path(f) for f in args.files] + ([DEMO_EVAL] if args.demo else [])
    if args.demo and args.candidate:  # the behavioural slice: questions about the demo candidate's experience
        files.append(DEMO_BEHAVIOURAL)
    if not files:
        raise MemoError("give one or more EVAL.jsonl files (or --demo for the bundled Tidewell questions)")
    opts = BenchOptions(files=files, out=Path(args.out), arms=BenchOptions.parse_arms(args.arms),
                        adapter=local(args.adapter), dsf_adapter=local(args.dsf_adapter), endpoint=args.endpoint,
                        model=args.model, company=args.company,
                        role=args.role, limit=args.limit, seed=args.seed, batch_size=args.batch_size,
                        timeout=args.timeout, judge_endpoint=args.judge_endpoint, judge_model=args.judge_model,
                        judge_runs=args.judge_runs, judge_timeout=args.judge_timeout,
                        baseline=Path(args.baseline) if args.baseline else None, candidate=args.candidate)
    opts.validate()  # before any model loads
    profile, llm = args.profile, args.llm
    if profile is None and llm is None and args.adapter and not args.endpoint:
        profile, llm = adapter_model(Path(opts.adapter))
    settings = settings_from(args, **{"model.profile": profile, "model.llm": llm,
                                      "generation.max_new_tokens": args.max_new_tokens,
                                      "index.chroma_url": args.chroma_url})
    with Progress(enabled=not args.json) as progress:
        summary = run_bench(opts, settings, progress)
    if args.json:
        print_json(summary)
    else:
        print_bench_summary(summary, opts.out)
    return 0


def add_bench_command(add: Adder) -> None:
    bench = add("bench", cmd_bench)
    bench.add_argument("files", nargs="*", metavar="EVAL.jsonl", help="question files (../shared/qa format)")
    bench.add_argument("--demo", action="store_true", help="add the bundled Tidewell questions (with "
                       "--candidate, also the questions about the demo candidate's experience)")
    add_reranker(bench)
    bench.add_argument("--out", required=True, metavar="DIR", help="report folder (a rerun resumes from it)")
    bench.add_argument("--arms", default="base,extractive,rag,ft,hybrid", metavar="LIST",
                       help="comma-separated subset of base,extractive,rag,ft,hybrid,dsf,dsf+rag (default: the first five)")
    bench.add_argument("--adapter", metavar="DIR", help="LoRA adapter from `memo train` (for ft, hybrid); "
                       "with --endpoint, its served name")
    bench.add_argument("--dsf-adapter", metavar="DIR", help="adapter from `memo train --dsf` (for dsf, dsf+rag)")
    bench.add_argument("--endpoint", metavar="URL", help="answer through an OpenAI-compatible server (`memo serve`)")
    bench.add_argument("--model", metavar="NAME", help="the base model's name at --endpoint")
    bench.add_argument("--company", help="use this indexed company for every question (default: each "
                       "question's own, matched to the indexed name)")
    bench.add_argument("--role", help="use this indexed role for every question")
    bench.add_argument("--candidate", metavar="NAME", help="a candidate profile whose own documents join "
                       "retrieval, as `memo ask` uses them (the report gets a behavioural slice)")
    bench.add_argument("--limit", type=int, metavar="N", help="a seeded sample of N questions")
    bench.add_argument("--seed", type=int, default=0, help="seed for --limit and the bootstrap")
    bench.add_argument("--batch-size", type=int, default=8, metavar="N",
                       help="answers generated together (in-process) or in flight (endpoint)")
    bench.add_argument("--timeout", type=float, default=120.0, metavar="S", help="endpoint request timeout")
    bench.add_argument("--baseline", metavar="SUMMARY.json", help="an earlier run's summary.json: adds "
                       "the change per metric and flags regressions beyond the interval")
    judge = bench.add_argument_group("judge (optional)")
    judge.add_argument("--judge-endpoint", metavar="URL", help="OpenAI-compatible judge, e.g. "
                       "https://api.openai.com/v1 or a vLLM server")
    judge.add_argument("--judge-model", metavar="NAME", help="the judge's model name (e.g. gpt-4o)")
    judge.add_argument("--judge-runs", type=int, default=1, metavar="N",
                       help="repeat judged scores N times and report their spread")
    judge.add_argument("--judge-timeout", type=float, default=180.0, metavar="S", help="per judged score")
    model = bench.add_argument_group("model")
    add_model(model)
    model.add_argument("--max-new-tokens", type=int, metavar="N", help="answer length budget")
    add_common(bench)
