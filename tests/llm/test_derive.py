"""memo.llm.derive: a profile read from a model's own files, for the tiny families of
tests/model_families.py, a Phi-3 shape, and the packaged SmolLM2 GGUF."""

from __future__ import annotations

import json

import pytest

from memo.core.config import load_settings
from memo.core.errors import MemoError
from memo.llm.derive import (
    architecture_targets,
    derive_profile,
    gpu_dtype,
    prefix_problem,
    resolve,
)
from memo.llm.prompt import build_messages, encode, render, special_strings
from memo.llm.templates import FOLD_SYSTEM, LLAMA3, template_text
from tests.conftest import isolate
from tests.model_families import FAMILIES, build_model, build_tokenizer


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    return {name: build_model(fam, tmp_path_factory.mktemp(name)) for name, fam in FAMILIES.items()}


def test_each_family_gets_its_template_window_and_end_of_turn(models):
    expected = {"llama3": "own", "mistral": "mistral", "qwen2": "chatml", "gemma2": "own"}
    for name, folder in models.items():
        profile = derive_profile(str(folder), 2048)
        kind = profile.template if profile.template in ("mistral", "chatml") else "own"
        assert kind == expected[name], name  # equal to memo's own template: taken by name
        assert profile.derived and profile.context_length == 2048
        assert profile.facts["window"] == FAMILIES[name].window
        assert profile.facts["end_of_turn"] == [FAMILIES[name].turn_end]
    assert derive_profile(str(models["gemma2"]), 100_000).context_length == 8192  # the window caps too


def test_a_template_that_refuses_the_system_turn_gets_it_in_the_first_user_turn(models):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(models["gemma2"])
    profile = derive_profile(str(models["gemma2"]), 2048)
    assert profile.template.startswith(FOLD_SYSTEM) and profile.facts["folds_system"]
    messages = build_messages("Why Tidewell?", "Tidewell", None, None)
    text = render(tokenizer, profile.template, messages)
    assert text == ("<bos><start_of_turn>user\n" + messages[0]["content"] + "\n\nQuestion: Why Tidewell?"
                    "<end_of_turn>\n<start_of_turn>model\n")


def test_every_special_token_of_each_family_is_fenced_out_of_documents(models):
    """A document carrying all of a family's special tokens renders to the same special ids as a clean one."""
    from transformers import AutoTokenizer

    from memo.llm.prompt import ContextDoc

    for name, folder in models.items():
        tokenizer = AutoTokenizer.from_pretrained(folder)
        template = derive_profile(str(folder), 2048).template
        specials = special_strings(tokenizer)
        special_ids = set(tokenizer.convert_tokens_to_ids(specials))

        def special_count(text: str) -> int:
            messages = build_messages("Why?", "Tidewell", None, [ContextDoc("a.md", "", text)])
            return sum(i in special_ids for i in encode(tokenizer, render(tokenizer, template, messages)))

        assert special_count("Plain words. " + " ".join(specials) + " more words.") == special_count("Plain words."), name


def test_a_named_profile_uses_memos_template_for_those_weights(models, tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path / "home")
    monkeypatch.setenv("MEMO_MODEL_PROFILE", "llama-3-instruct")
    monkeypatch.setenv("MEMO_MODEL_LLM", str(models["llama3"]))
    profile, path = resolve(load_settings())
    assert profile.name == "llama-3-instruct" and not profile.derived and path == str(models["llama3"])
    assert template_text(profile.template) == LLAMA3 and profile.context_length == 8192


def test_max_context_caps_a_derived_profile(models, tmp_path, monkeypatch):
    isolate(monkeypatch, tmp_path / "home")
    monkeypatch.setenv("MEMO_MODEL_LLM", str(models["qwen2"]))
    monkeypatch.setenv("MEMO_MODEL_MAX_CONTEXT", "512")
    profile, _ = resolve(load_settings())
    assert profile.derived and profile.context_length == 512


def test_a_template_that_rewrites_the_prompt_cannot_train_on_the_answer_only(tmp_path):
    """Rendering with the answer must extend the rendering without it; a template that, say,
    marks the last user turn differently when an answer follows is refused, with where."""
    tokenizer = build_tokenizer(FAMILIES["qwen2"], tmp_path)
    sneaky = ("{% for m in messages %}{% if m['role'] == 'user' and not loop.last %}{{ 'PAST ' }}{% endif %}"
              "{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
              "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}")
    problem = prefix_problem(tokenizer, sneaky)
    assert problem and "is not the start of its rendering with the answer" in problem
    assert prefix_problem(tokenizer, "chatml") is None


def test_lora_targets_follow_the_architecture_fused_projections_included(tmp_path):
    from transformers import Phi3Config

    Phi3Config(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, pad_token_id=0).save_pretrained(tmp_path)
    assert set(architecture_targets(str(tmp_path))) == {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}


def test_gpu_dtype_keeps_a_float16_model_in_float16():
    from types import SimpleNamespace

    assert gpu_dtype(SimpleNamespace(dtype="float16")) == "float16"
    assert gpu_dtype(SimpleNamespace(dtype="bfloat16")) == "bfloat16"
    assert gpu_dtype(SimpleNamespace(torch_dtype="float32")) == "bfloat16"


def test_a_model_folder_without_a_chat_template_is_refused_with_the_way_out(tmp_path, models):
    import shutil

    folder = tmp_path / "plain"
    shutil.copytree(models["mistral"], folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(MemoError, match="has no chat template.*--profile NAME"):
        derive_profile(str(folder), 2048)
    (folder / "chat_template.jinja").write_text(FAMILIES["mistral"].template)  # a template beside it is enough
    assert derive_profile(str(folder), 2048).template == "mistral"


@pytest.mark.slow
def test_a_gguf_file_is_dequantized_once_and_derives_its_profile(tmp_path, monkeypatch):
    """The packaged SmolLM2 GGUF given as --llm: its chat template comes from the GGUF metadata."""
    from memo.llm.models import SMOLLM2_GGUF, _smollm2_package_dir

    isolate(monkeypatch, tmp_path / "home")
    gguf = _smollm2_package_dir() / SMOLLM2_GGUF
    monkeypatch.setenv("MEMO_MODEL_LLM", str(gguf))
    profile, path = resolve(load_settings())
    assert profile.derived and profile.template == "chatml" and profile.facts["end_of_turn"] == ["<|im_end|>"]
    assert str(tmp_path / "home") in path
    stamp = (tmp_path / "home").rglob("config.json").__next__().stat().st_mtime_ns
    assert resolve(load_settings())[1] == path  # cached: not dequantized again
    assert next((tmp_path / "home").rglob("config.json")).stat().st_mtime_ns == stamp
    monkeypatch.setenv("MEMO_MODEL_LLM", str(tmp_path / "missing.gguf"))
    with pytest.raises(MemoError, match="no such GGUF file"):
        resolve(load_settings())
