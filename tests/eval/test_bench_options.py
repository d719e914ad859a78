"""`memo bench` options name the offending flag."""

from __future__ import annotations

import pytest

from memo.core.errors import MemoError
from memo.eval.bench import BenchOptions


def test_options_name_the_offending_flag(tmp_path):
    with pytest.raises(MemoError, match="--arms"):
        BenchOptions.parse_arms("base,finetuned")
    assert BenchOptions.parse_arms("rag, base,rag") == ["rag", "base"]
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["base", "ft"])
    with pytest.raises(MemoError, match="need --adapter"):
        opts.validate()
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["base"], judge_endpoint="http://x/v1")
    with pytest.raises(MemoError, match="--judge-model"):
        opts.validate()
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["base"], judge_runs=0)
    with pytest.raises(MemoError, match="--judge-runs"):
        opts.validate()


def test_dsf_arms_need_their_own_adapter_and_answer_in_the_matching_mode(tmp_path):
    from memo.eval.arms import RETRIEVAL_ARMS, mode_of, tuned

    assert BenchOptions.parse_arms("base,rag,dsf,dsf+rag,hybrid") == ["base", "rag", "dsf", "dsf+rag", "hybrid"]
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["dsf", "dsf+rag"], adapter=str(adapter))
    with pytest.raises(MemoError, match="need --dsf-adapter"):
        opts.validate()
    opts = BenchOptions(files=[], out=tmp_path / "out", arms=["dsf"], dsf_adapter=str(tmp_path / "missing"))
    with pytest.raises(MemoError, match="--dsf-adapter .*no such folder"):
        opts.validate()
    assert (mode_of("dsf"), mode_of("dsf+rag"), mode_of("rag")) == ("ft", "hybrid", "rag")
    assert "dsf+rag" in RETRIEVAL_ARMS and "dsf" not in RETRIEVAL_ARMS
    assert tuned("dsf") and tuned("hybrid") and not tuned("rag")
