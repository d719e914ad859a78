"""Rendering the candidate's commands for people: a practice answer's scores, the history plot in
the terminal, the likely questions."""

from __future__ import annotations

from memo.cli.render import _console, shown

BARS = " ▁▂▃▄▅▆▇█"


def print_practice_result(record: dict) -> None:
    """One scored answer: the score and its parts, memo's answer with sources, the follow-up."""
    console, s = _console(), record["score"]
    parts = [f"coverage {s['coverage']:.0%}" if s["coverage"] is not None else "coverage -",
             f"{s['words']} words ({s['length']})", f"filler {s['filler_per_100']}/100 words"]
    if s["star"] is not None:
        parts.append("STAR " + "".join(p[0].upper() if ok else "·" for p, ok in s["star"].items()))
    console.print(f"[bold]score {s['overall']}/100[/]  " + ", ".join(parts))
    for line in s["contradictions"] + s["warnings"]:
        console.print(f"[yellow]  {shown(line)}[/]")
    for fact in s["facts_missed"]:
        console.print(f"  [dim]missed:[/] {shown(fact)}")
    if record.get("model_answer"):
        console.print(f"[bold]memo's answer:[/] {shown(record['model_answer'])}")
        console.print("  [dim]sources: " + shown(", ".join(record["sources"])) + "[/]")
    if record.get("feedback"):
        console.print(f"[bold]feedback:[/] {shown(record['feedback'])}")
    console.print(f"[bold]follow-up:[/] {shown(record['follow_up'])}")


def sparkline(values: list) -> str:
    return "".join(" " if v is None else BARS[min(8, int(v / 100 * 8 + 0.5))] for v in values)


def print_history(data: dict, page) -> None:
    """Scores over time per category, as a terminal plot, and where the HTML page is."""
    from rich.table import Table

    from memo.practice.history import series

    sessions = data["sessions"]
    table = Table("category", f"{sessions[0]['time'][:10]} → {sessions[-1]['time'][:10]}", "last", "best",
                  title=f"{data['answers']} answers in {len(sessions)} sessions", title_justify="left")
    for category in data["categories"]:
        values = series(data, category)
        known = [v for v in values if v is not None]
        table.add_row(category, sparkline(values), f"{known[-1]:.0f}", f"{max(known):.0f}")
    _console().print(table)
    _console().print(f"history page: {shown(str(page))}")


def print_questions(questions: list) -> None:
    console = _console()
    for number, q in enumerate(questions, start=1):
        console.print(f"[bold][{number}] {shown(q.question)}[/]  [dim]({q.category}, {q.origin})[/]")
        for p in q.passages[:2]:
            body = " ".join(p["text"].split("\n\n", 1)[-1].split())
            console.print(f"    [dim]{shown(p['source'])}:[/] {shown(body[:160])}{'...' if len(body) > 160 else ''}")
        if q.answer:
            sources = f"  [dim]({shown(', '.join(q.answer_sources))})[/]" if q.answer_sources else ""
            console.print(f"    [bold]memo's answer:[/] {shown(q.answer)}{sources}")
