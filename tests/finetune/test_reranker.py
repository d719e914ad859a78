"""`memo train-reranker`: pair building and scoring without a model; then a few real training steps
on the indexed demo corpus, and `memo search --reranker` using the result."""

import json

import pytest

from memo.core.errors import MemoError
from memo.finetune.reranker import candidates, data_rows, mrr, pairs


def test_candidates_are_the_oracle_then_distractors_topped_up_from_the_retriever():
    row = {"oracle_ids": ["a#1", "a#1"], "distractor_ids": ["b#1", "c#1"]}
    assert candidates(row, ["a#1", "d#1", "b#1", "e#1"], 3) == (["a#1"], ["b#1", "c#1", "d#1"])
    assert candidates(row, [], 1) == (["a#1"], ["b#1"])


def test_pairs_label_the_oracle_and_skip_ids_missing_from_the_index():
    rows = [{"question": "Q?", "oracle_ids": ["a"], "distractor_ids": ["b", "gone"]}]
    texts = {"a": "oracle text", "b": "other text", "c": "mined text"}
    assert pairs(rows, texts, {"Q?": ["c"]}, 3) == [("Q?", "oracle text", 1.0), ("Q?", "other text", 0.0),
                                                    ("Q?", "mined text", 0.0)]


def test_mrr_ranks_the_positive_by_score():
    assert mrr([([0.9, 0.1], 0), ([0.9, 0.5, 0.1], 2)]) == pytest.approx((1 + 1 / 3) / 2)
    assert mrr([]) is None


def test_a_folder_without_synth_data_is_a_clear_error(tmp_path):
    with pytest.raises(MemoError, match="no train.jsonl"):
        data_rows([tmp_path])


# Hand-written questions for the demo corpus, each with the file that answers it.
QUESTIONS = {
    "How much paid time off do employees get?": "benefits.md",
    "Who started the company?": "about.md",
    "Is there a day of the week without meetings?": "how-we-work.md",
    "What certification does the company have for security?": "security-and-privacy.html",
    "Can technicians work on their own at customer sites?": "field-operations-handbook.pdf",
}


def synth_dir(home, out):
    """A `memo synth`-shaped folder whose oracles and distractors are real demo chunk ids."""
    from memo.core.config import load_settings
    from memo.retrieval.hybrid import HybridRetriever

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMO_HOME", str(home))
        chunks = HybridRetriever(load_settings()).chunks("Tidewell")
    rows = []
    for question, source in QUESTIONS.items():
        oracle = next(c.id for c in chunks if c.meta["source"] == source)
        others = [c.id for c in chunks if c.meta["source"] != source][:2]
        rows.append({"question": question, "company": "Tidewell", "oracle_ids": [oracle], "distractor_ids": others})
    out.mkdir()
    (out / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:4]))
    (out / "val.jsonl").write_text(json.dumps(rows[4]) + "\n")
    return out


@pytest.fixture
def demo_index(memo_env, demo_home, monkeypatch):
    """run_memo sees the indexed demo corpus (no language model needed here)."""
    monkeypatch.setenv("MEMO_HOME", str(demo_home))
    return demo_home


def test_train_a_reranker_and_search_with_it(demo_index, run_memo, tmp_path):
    data = synth_dir(demo_index, tmp_path / "synth")
    done = run_memo("train-reranker", str(data), "--out", str(tmp_path / "rr"), "--max-steps", "2", "--json",
                    timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["steps"] == 2 and report["questions"] == 4 and report["pairs"] == 4 * 4
    assert report["val_questions"] == 1 and report["val_mrr_after"] is not None
    stamp = json.loads((tmp_path / "rr" / "memo.json").read_text())
    assert stamp["kind"] == "reranker" and list(stamp["companies"]) == ["Tidewell"]
    found = run_memo("search", "How many days of paid leave?", "--company", "Tidewell", "--k", "3",
                     "--reranker", str(tmp_path / "rr"), "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    scores = [h["rerank"] for h in hits]
    assert len(hits) == 3 and all(isinstance(s, float) for s in scores) and scores == sorted(scores, reverse=True)
    plain = json.loads(run_memo("search", "How many days of paid leave?", "--company", "Tidewell", "--json").stdout)
    assert all(h["rerank"] is None for h in plain)


def test_held_out_questions_are_excluded_and_bad_folders_refused(demo_index, run_memo, tmp_path):
    data = synth_dir(demo_index, tmp_path / "synth")
    held_out = tmp_path / "held.jsonl"
    held_out.write_text(json.dumps({"question": "How much paid time off do employees get?", "company": "Tidewell"}) + "\n")
    done = run_memo("train-reranker", str(data), "--out", str(tmp_path / "rr"), "--max-steps", "1",
                    "--exclude", str(held_out), "--json", timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["excluded"] == 1 and json.loads(done.stdout)["questions"] == 3
    bad = run_memo("search", "leave?", "--company", "Tidewell", "--reranker", str(tmp_path / "nothing"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "is not a memo reranker" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
