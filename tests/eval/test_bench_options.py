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
