"""How well memo.core.categories tells the candidate's questions (behavioural, motivation) from the
document questions (company, technical): the side decides whose documents answer.

    python benchmarks/eval_categories.py [--shared ../shared/qa]

Sets: the public question sets (by file: the behavioural and interview-question sets are candidate
side, the FAQs and the data-science questions document side) and the team's own dev set
(benchmarks/qa/categories_dev.jsonl, written here, never tuned on). Prints the share placed on the
right side per set, and the misplaced questions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from memo.core.categories import CANDIDATE_SIDE, question_category  # noqa: E402

PUBLIC = {"behavioral_tech_interview_handbook.jsonl": "candidate",
          "sourcegraph_example_interview_questions.jsonl": "candidate",
          "sourcegraph_handbook_faq.jsonl": "document", "tts_join_faq.jsonl": "document",
          "ds_interviews_alexeygrigorev.jsonl": "document"}


def side(question: str, company: str = "") -> str:
    return "candidate" if question_category(question, company) in CANDIDATE_SIDE else "document"


def rows_of(path: Path, expected: str | None) -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["question"], r.get("company") or "", expected or r["side"]) for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(HERE.parent.parent / "shared" / "qa"))
    args = parser.parse_args()
    sets = {name: rows_of(Path(args.shared) / name, want) for name, want in PUBLIC.items()
            if (Path(args.shared) / name).is_file()}
    sets["categories_dev.jsonl (team)"] = rows_of(HERE / "qa" / "categories_dev.jsonl", None)
    total = right = 0
    for name, rows in sets.items():
        wrong = [(q, want) for q, company, want in rows if side(q, company) != want]
        total, right = total + len(rows), right + len(rows) - len(wrong)
        print(f"{name:48s} {len(rows) - len(wrong):4d}/{len(rows):<4d} {1 - len(wrong) / len(rows):.1%}")
        for q, want in wrong:
            print(f"    misplaced (wanted {want}): {' '.join(q.split())[:100]}")
    print(f"{'all':48s} {right:4d}/{total:<4d} {right / total:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
