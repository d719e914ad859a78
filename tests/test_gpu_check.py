"""benchmarks/gpu_check.sh's CPU fallback, as CI runs it: the same steps as on a GPU (a model built
in the script, `memo train` with memo's LoRA recipe, batched generation) on a tiny shape, with
Chroma, LlamaIndex and sentence-transformers made unimportable, as on the GPU machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
ABSENT = ("chromadb", "llama_index", "sentence_transformers")


def test_the_gpu_check_runs_its_cpu_fallback_with_only_torch_transformers_and_peft(tmp_path):
    shadow = tmp_path / "absent"
    for name in ABSENT:  # an import of any of them fails, as where they are not installed
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(f"raise ImportError('{name} is not on the GPU machine')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    env.update(PYTHON=sys.executable, OUT=str(tmp_path), PYTHONPATH=str(shadow), MEMO_HOME=str(tmp_path / "home"))
    done = subprocess.run(["bash", str(REPO_ROOT / "benchmarks" / "gpu_check.sh"), "--cpu"], capture_output=True,
                          text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "gpu_check.json").read_text())
    assert summary["device"] == "cpu" and summary["stray_imports"] == []
    [shape] = summary["shapes"]
    assert shape["lora"]["steps"] == 2 and shape["lora"]["tokens_per_s"] > 0
    assert shape["generation"]["batched_tok_s"] > 0 and shape["generation"]["answer_tokens_mean"] > 0
    assert "imports outside torch/transformers/peft: none" in done.stdout
    assert "train lora (fp32)" in done.stdout
