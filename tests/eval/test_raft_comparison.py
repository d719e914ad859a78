"""RAFT's five-row comparison end to end, tiny: a RAFT adapter and a DSF adapter (`memo train
--dsf`, the same records without documents) trained a few steps on the real SmolLM2, then
`memo bench` with base, rag, dsf, dsf+rag and hybrid on two demo questions."""

from __future__ import annotations

import json

import pytest

from tests.conftest import train_adapter, training_rows
from tests.eval.test_bench import bench, rows_of

pytestmark = pytest.mark.slow
ARMS = ["base", "rag", "dsf", "dsf+rag", "hybrid"]


def test_bench_prints_the_five_rows_side_by_side(demo_home, smollm2_dir, tmp_path):  # noqa: F811
    rows = [{**row, "question": row["messages"][1]["content"].rpartition("Question: ")[2]}
            for row in training_rows("x")]
    raft = train_adapter(tmp_path / "raft-data", tmp_path / "raft", smollm2_dir, rows, max_steps=2)
    dsf = train_adapter(tmp_path / "dsf-data", tmp_path / "dsf", smollm2_dir, rows, max_steps=2,
                        data_style="dsf")
    assert json.loads((dsf / "memo.json").read_text())["config"]["data_style"] == "dsf"
    out = tmp_path / "bench"
    done = bench(demo_home, smollm2_dir, "--demo", "--limit", "2", "--arms", ",".join(ARMS), "--adapter", str(raft),
                 "--dsf-adapter", str(dsf), "--max-new-tokens", "16", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["arms"] == ARMS and set(summary["table"]) == set(ARMS)
    by_arm = {arm: [r for r in rows_of(out) if r["arm"] == arm] for arm in ARMS}
    assert all(len(answers) == 2 for answers in by_arm.values())
    for arm in ("base", "dsf"):
        assert all(r["contexts"] == [] for r in by_arm[arm])
    for arm in ("rag", "dsf+rag", "hybrid"):
        assert all(r["contexts"] for r in by_arm[arm]) and "hit@1" in summary["table"][arm]
    models = {arm: next((r["model"] for r in by_arm[arm] if r["model"]), "") for arm in ARMS}
    assert models["dsf"].endswith("+dsf") and models["hybrid"].endswith("+raft")
    assert models["base"] == models["rag"] and "+" not in models["base"]
    assert "| dsf+rag |" in (out / "report.md").read_text() or "dsf+rag" in (out / "report.md").read_text()
