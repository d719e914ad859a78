"""Human-readable terminal output of the commands (rich tables); `--json` bypasses all of it.

Text from outside memo (file names, document text, company names, a model's answer) is shown
through `shown`: control characters escaped and rich markup quoted, so that a file named with an
ANSI sequence or "[bold]" prints as those characters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from memo.core.redaction import for_people, printable


def shown(text: str) -> str:
    """External text, safe inside a rich markup string."""
    from rich.markup import escape

    return escape(for_people(str(text)))


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_index_report(report) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{shown(report.company)}[/]: {report.files} files in index {report.index!r} "
                  f"({report.new} new, {report.changed} changed, {report.unchanged} unchanged"
                  f"{f', {report.removed} removed' if report.removed else ''}); "
                  f"{report.chunks_added} chunks embedded, {report.chunks_total} in the index; "
                  f"{report.seconds:.1f} s"
                  + (f"; [yellow]{len(report.skipped)} files skipped[/]" if report.skipped else ""))
    if report.repaired:
        console.print(f"repaired {report.repaired} documents left incomplete by an interrupted run")
    if report.skipped:
        table = Table(title=f"skipped {len(report.skipped)} files", title_justify="left")
        table.add_column("file", overflow="fold")
        table.add_column("reason", overflow="fold")
        for item in report.skipped:
            table.add_row(shown(item.path), shown(item.reason))
        _console(stderr=True).print(table)


def print_hits(hits: list) -> None:
    console = _console()
    if not hits:
        console.print("no matching documents")
    for number, hit in enumerate(hits, start=1):
        where = shown(hit.source + (f" > {hit.section}" if hit.section else ""))
        scores = f"score {hit.score:.4f}"
        if hit.dense is not None:
            scores += f", dense {hit.dense:.3f}"
        if hit.bm25 is not None:
            scores += f", bm25 {hit.bm25:.2f}"
        role = f" \\[{shown(hit.role)}]" if hit.role else ""
        console.print(f"[bold][{number}] {where}[/]{role}  ({scores})")
        body = hit.text.split("\n\n", 1)[-1]
        console.print("    " + shown(" ".join(body.split())[:300]) + ("..." if len(body) > 300 else ""))


def print_sources(answer) -> None:
    """The documents the answer cites (all it read are in --json)."""
    console = _console()
    if answer.invalid_citations:
        console.print(f"[yellow]note: the answer cites documents that were not given: "
                      f"{answer.invalid_citations}[/]")
    cited = {c["n"]: c["how"] for c in answer.citations}
    if not cited:
        return
    console.print("\n[bold]Sources[/]")
    for number in sorted(cited):
        ctx = answer.contexts[number - 1]
        mark = {"attributed": "  (supports the answer)"}.get(cited[number], "")
        section = f" > {ctx['section']}" if ctx.get("section") else ""
        console.print(f"  \\[{number}] {shown(ctx['source'] + section)}{mark}")


def print_status(status: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    manifest = status["manifest"] or {}
    console.print(f"index {status['index']!r} at {status['location']}: {status['chunks']} chunks; "
                  f"embedder {manifest.get('embedder', '?')}, corpus {manifest.get('corpus_hash', '?')}, "
                  f"updated {manifest.get('updated', '?')}")
    table = Table("company", "documents", "chunks", "roles")
    for name, entry in status["companies"].items():
        table.add_row(shown(name), str(entry["documents"]), str(entry["chunks"]), shown(", ".join(entry["roles"])))
    console.print(table)
    if status.get("candidates"):
        mine = Table("candidate (your own documents)", "documents", "chunks")
        for name, entry in status["candidates"].items():
            mine.add_row(shown(name), str(entry["documents"]), str(entry["chunks"]))
        console.print(mine)


def print_synth_report(report) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{report.kept}[/] records kept of {report.attempted} attempts "
                  f"({report.generator}, {report.style} style; {report.resumed} from an earlier run); "
                  f"wrote {report.train} train + {report.val} validation to {report.out} in "
                  f"{report.seconds:.0f} s")
    if report.rejected:
        table = Table(title="rejected drafts", title_justify="left")
        table.add_column("reason")
        table.add_column("count", justify="right")
        for reason, count in sorted(report.rejected.items(), key=lambda kv: -kv[1]):
            table.add_row(reason, str(count))
        console.print(table)


def print_train_report(report) -> None:
    console = _console()
    val = (f"validation loss {report.val_loss_start} -> {report.val_loss}"
           if report.val_loss is not None else "no validation set")
    console.print(f"adapter saved to [bold]{report.out}[/]: {report.steps} steps over {report.examples} "
                  f"examples ({report.dropped} dropped, {report.truncated} truncated as too long); "
                  f"train loss {report.train_loss}, {val}; {report.tokens_per_s:.0f} tokens/s "
                  f"({report.precision} on {report.device}), {report.seconds:.0f} s, "
                  f"peak memory {report.peak_memory_mb:.0f} MB")


def print_reranker_report(report) -> None:
    console = _console()
    val = (f"validation MRR of the oracle: retrieval order {report.val_mrr_retrieval}, untrained "
           f"{report.val_mrr_before}, trained {report.val_mrr_after} ({report.val_questions} questions)"
           if report.val_questions else "no validation set")
    console.print(f"reranker saved to [bold]{report.out}[/]: {report.steps} steps over {report.pairs} pairs "
                  f"from {report.questions} questions ({report.excluded} excluded as held out); {val}; "
                  f"{report.seconds:.0f} s", markup=True)


@contextmanager
def streaming(live: bool) -> Iterator[Callable[[str], None]]:
    """A stream callback. On a terminal (`live`) it shows the generated text as it arrives, dimmed,
    in a live area cleared when generation ends, so that what stays on screen is the composed
    answer, whose framing, quotes and citations memo may have changed; elsewhere it shows nothing
    (the answer is printed once composed), though generation still streams."""
    if not live:
        yield lambda text: None
        return
    from rich.live import Live
    from rich.text import Text

    streamed = Text(style="dim")
    with Live(streamed, console=_console(), transient=True, refresh_per_second=8) as show:
        def add(text: str) -> None:
            streamed.append(for_people(text))
            show.update(streamed)

        yield add


def print_answer(answer, evidence: bool = False) -> None:
    """The answer, once; with `evidence`, then the sentences it states, each with its document
    number, source and the selector's score."""
    console = _console()
    console.print(for_people(answer.answer), markup=False, end="")
    if evidence and answer.evidence:
        console.print("\n\n[bold]Evidence[/]", end="")
        for unit in answer.evidence:
            console.print(f"\n  [{unit['n']}] {for_people(unit['text'])}  ({shown(unit['source'])}, "
                          f"{unit['score']:.2f})", style="dim", markup=False, end="")


def print_verdicts(summary: dict) -> None:
    """What the bench found, in words: the sample, each pair's verdict on the answer metrics that
    matter most, and every arm's degenerate-answer rate."""
    from memo.eval.report_md import degenerate_line, sample_statement

    console = _console()
    console.print(f"questions: {sample_statement(summary)}", markup=False)
    for verdict in summary.get("verdicts", []):
        if verdict["metric"] in ("rouge_l", "semantic_similarity", "token_f1"):
            console.print(verdict["verdict"], markup=False)
    for arm, health in summary.get("health", {}).items():
        console.print(degenerate_line(arm, health), markup=False, style="red" if health["flagged"] else None)


def print_profile(profile: dict) -> None:
    """`memo doctor`'s first table: the model profile in use, derived or named."""
    from rich.table import Table

    table = Table("model", "", title="profile" + (" (derived from the model's files)" if profile.get("derived") else ""),
                  title_justify="left")
    for key, value in profile.items():
        if key != "derived":
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            table.add_row(key.replace("_", " "), printable(shown))
    _console().print(table)


def print_checks(checks: list) -> None:
    """`memo doctor`'s table: one row per check, failures in red."""
    from rich.table import Table

    table = Table("adapter", "check", "", "detail")
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]FAIL[/]"
        table.add_row(check.adapter, check.name, mark, check.detail)
    _console().print(table)


def _short(estimate: dict | None) -> str:
    """`0.41 [0.35-0.47] n=26` (n only when some questions were unmeasured)."""
    if not estimate or estimate.get("mean") is None:
        return "-"
    text = f"{estimate['mean']:.2f} [{estimate['low']:.2f}-{estimate['high']:.2f}]"
    return text + (f" n={estimate['n']}" if estimate.get("unmeasured") else "")


def print_bench_summary(summary: dict, out) -> None:
    """`memo bench`'s closing table: each metric's mean and interval per arm, the best in bold."""
    from rich.table import Table

    arms = summary["arms"]
    table = Table("metric", *arms, title=f"{summary['questions']} questions, "
                  f"{summary['seconds']['total']:.0f} s", title_justify="left")
    for metric in summary["metrics"]:
        cells = {arm: summary["table"][arm].get(metric) for arm in arms}
        means = {arm: c["mean"] for arm, c in cells.items() if c and c.get("mean") is not None}
        lower = metric in summary.get("lower_is_better", [])
        best = (min if lower else max)(means, key=means.get) if len(means) > 1 else None
        table.add_row(summary["labels"].get(metric, metric),
                      *(f"[bold]{_short(cells[arm])}[/]" if arm == best else _short(cells[arm]) for arm in arms))
    console = _console()
    console.print(table)
    regressions = [f"{arm} {metric}" for arm, metrics in summary.get("baseline", {}).get("changes", {}).items()
                   for metric, change in metrics.items() if change["regression"]]
    if regressions:
        console.print(f"[bold red]regressions against the baseline:[/] {', '.join(regressions)}")
    print_verdicts(summary)
    console.print(f"report: {out}/report.html, {out}/report.md (results.jsonl, summary.json)")
