"""`memo synth --from-stories`: training records from the candidate's STAR stories, made with no
generator: the story told and cited when it is shown, which kind of story would answer when it is
not. Real index (the demo company and the demo candidate), `memo` in a subprocess."""

from __future__ import annotations

import json

import pytest

from memo.core.demo import DEMO_COMPANY
from memo.llm.prompt import RULES_STORIES
from tests.conftest import index_demo_and_candidate, memo_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = index_demo_and_candidate(tmp_path_factory.mktemp("stories-home"))
    return home


def test_story_records_tell_the_story_or_say_which_would_answer(home, tmp_path):
    out = tmp_path / "data"
    done = memo_cli(home, "synth", "--company", DEMO_COMPANY, "--from-stories", "--val-fraction", "0",
                    "--oracle-fraction", "0.5", "--out", str(out), "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    assert report["style"] == "from-stories" and report["kept"] == 8  # 4 stories x 2 questions
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    told = [r for r in rows if r["oracle_in_context"]]
    absent = [r for r in rows if not r["oracle_in_context"]]
    assert told and absent
    for row in rows:
        system, user, target = (m["content"] for m in row["messages"])
        assert system.endswith(RULES_STORIES) and "(yours: stories/" in user
    for row in told:
        n = row["oracle_position"]
        assert f"Document [{n}] (yours: {row['source']}" in row["messages"][1]["content"]
        assert row["messages"][2]["content"].endswith(f"[{n}].") or f"[{n}]" in row["messages"][2]["content"]
        assert "Situation:" not in row["messages"][2]["content"].split("<ANSWER>:")[1]  # told, not labelled
    for row in absent:
        assert row["source"] not in row["messages"][1]["content"]
        assert "I don't have a story written down for that yet" in row["messages"][2]["content"]


def test_from_stories_needs_an_indexed_candidate(home, tmp_path):
    done = memo_cli(home, "synth", "--company", DEMO_COMPANY, "--from-stories", "Zed", "--out", str(tmp_path / "x"))
    assert done.returncode != 0 and "nothing is indexed for candidate 'Zed'" in done.stderr
    assert "Traceback" not in done.stderr
