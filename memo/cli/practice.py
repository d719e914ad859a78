"""The candidate's commands: `memo practice` (a mock interview) and `memo questions`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from memo.cli.common import Adder, add_common, add_model, add_scope, print_json, settings_from
from memo.core.errors import MemoError
from memo.core.identity import DEFAULT_CANDIDATE


def cmd_practice(args: argparse.Namespace) -> int:
    """A mock interview: memo asks the questions likely for the company and role, you answer, and
    each answer is scored without a judge (coverage of the documents' key facts, STAR structure for
    a behavioural question, length and filler, claims that contradict the company's documents),
    shown beside memo's own answer with its sources and a follow-up on your weakest part.

    Type each answer and end it with an empty line, or give --answers FILE (one answer per line).
    Every answer is saved at once (Ctrl-C keeps the session so far); --history shows your scores
    over time per category, in the terminal and as an HTML page.
    """
    from memo.cli.render_practice import print_history, print_practice_result
    from memo.practice.session import PracticeOptions, history_file, practice

    settings = settings_from(args, **{"model.profile": args.profile, "model.llm": args.llm})
    candidate = None if args.no_candidate else args.candidate or "auto"
    if args.history:
        from memo.practice.history import write_history_page

        data, page = write_history_page(history_file(settings, candidate), args.candidate or DEFAULT_CANDIDATE)
        if args.json:
            print_json({**data, "page": str(page)})
        else:
            print_history(data, page)
        return 0
    if not args.company:
        raise MemoError("--company is required: which company's interview to practise")
    answers = read_answers(Path(args.answers)) if args.answers else None
    opts = PracticeOptions(args.company, args.role, candidate, args.n, Path(args.qa) if args.qa else None,
                           not args.no_model_answers, args.judge_endpoint, args.judge_model, args.generate,
                           args.endpoint, args.model)

    def answer_for(question, number: int) -> str | None:
        scripted = answers[number - 1] if answers is not None and number <= len(answers) else None
        if answers is not None and scripted is None:
            return None
        if not args.json:  # the question before its score, typed or scripted
            print(f"\n[{number}] ({question.category}) {question.question}")
        if answers is not None:
            return scripted
        if not args.json:
            print("(your answer; an empty line ends it)")
        return typed_answer()

    results: list[dict] = []

    def on_result(record: dict) -> None:
        results.append(record)
        if not args.json:
            print_practice_result(record)

    try:
        practice(settings, opts, answer_for, on_result)
    except KeyboardInterrupt:
        print(f"\nmemo: stopped; {len(results)} answers saved", file=sys.stderr)
    if args.json:
        print_json(results)
    return 0 if results else 1


def read_answers(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise MemoError(f"--answers {path}: cannot read it ({exc}); give a UTF-8 text file, one answer per line") \
            from None
    answers = [line.strip() for line in lines if line.strip()]
    if not answers:
        raise MemoError(f"--answers {path} has no answers; write one answer per line")
    return answers


def typed_answer() -> str | None:
    """Lines typed until an empty one (None at the end of input)."""
    lines = []
    for line in sys.stdin:
        if not line.strip():
            break
        lines.append(line.rstrip("\n"))
    return " ".join(lines) if lines else None


def cmd_questions(args: argparse.Namespace) -> int:
    """List the questions likely in an interview for the company and role, each with the passages
    that ground it: from a Q&A file (--qa), drafted by `memo synth`'s generator from the role's
    posting (--generate N), the motivation questions, behavioural questions ranked by what the
    role's posting speaks of, and the company's ways of working; each with memo's own answer
    (`memo ask`'s default: the documents' sentences that answer it, in your voice), unless
    --no-answers."""
    from memo.cli.render_practice import print_questions
    from memo.practice.generated import predicted_questions
    from memo.retrieval.hybrid import HybridRetriever

    settings = settings_from(args, **{"model.profile": args.profile, "model.llm": args.llm})
    questions = predicted_questions(settings, HybridRetriever(settings), args.company, args.role, args.n,
                                    Path(args.qa) if args.qa else None, generate=args.generate,
                                    endpoint=args.endpoint, model=args.model, answers=not args.no_answers)
    if args.json:
        print_json([q.as_dict() for q in questions])
    else:
        print_questions(questions)
    return 0


def add_practice_commands(add: Adder) -> None:
    practice = add("practice", cmd_practice)
    add_scope(practice, company_required=False)
    practice.add_argument("--candidate", metavar="NAME", help=f"your profile (default {DEFAULT_CANDIDATE!r} when indexed)")
    practice.add_argument("--no-candidate", action="store_true", help="leave your own documents out")
    practice.add_argument("-n", type=int, default=8, metavar="N", help="questions to ask (default 8)")
    practice.add_argument("--answers", metavar="FILE", help="your answers, one per line (scripted practice)")
    practice.add_argument("--qa", metavar="FILE.jsonl", help="also ask this Q&A file's questions (first)")
    practice.add_argument("--no-model-answers", action="store_true", help="skip memo's own answers (faster)")
    practice.add_argument("--history", action="store_true", help="your scores over time, and the HTML page")
    practice.add_argument("--judge-endpoint", metavar="URL", help="optional: an OpenAI-compatible judge that adds "
                          "written feedback (your answer and its passages are sent there; key from MEMO_API_KEY "
                          "or OPENAI_API_KEY)")
    practice.add_argument("--judge-model", metavar="NAME", help="the judge's model name")
    add_model(practice)
    add_generation(practice)
    add_common(practice)
    questions = add("questions", cmd_questions)
    add_scope(questions)
    questions.add_argument("-n", type=int, default=12, metavar="N", help="questions to list (default 12)")
    questions.add_argument("--qa", metavar="FILE.jsonl", help="include this Q&A file's questions")
    questions.add_argument("--no-answers", action="store_true", help="list the questions without memo's answers")
    add_model(questions)
    add_generation(questions)
    add_common(questions)


def add_generation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generate", type=int, default=0, metavar="N", help="also N questions drafted by "
                        "`memo synth`'s generator from the role's posting (the local model, or --endpoint)")
    parser.add_argument("--endpoint", metavar="URL", help="the generator's OpenAI-compatible endpoint (the "
                        "posting's passages are sent there; key from MEMO_SYNTH_API_KEY or OPENAI_API_KEY)")
    parser.add_argument("--model", metavar="NAME", help="the generator's model name at --endpoint")
