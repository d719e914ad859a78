"""Any chat model through the CLI: a tiny random Llama-3-, Mistral-, Qwen2- and Gemma2-family model
each (built in the test, tests/model_families.py), given only as `--llm FOLDER`: `memo doctor`
shows the profile derived from its files, `memo synth --from-qa` writes records, `memo train`
makes an adapter, and `memo ask` answers in all four modes. The prompt `memo ask` sends is, token
for token, the prompt the adapter trained on. Real demo index, real Chroma, real subprocesses.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from memo.core.config import load_settings
from memo.core.demo import DEMO_COMPANY, DEMO_EVAL
from memo.finetune.dataset import IGNORE, load_dataset
from memo.finetune.raft import Passage, attach_contexts
from memo.llm.templates import template_text
from tests.conftest import isolate, memo_cli
from tests.model_families import FAMILIES, build_model

QUESTION = "How many days of paid leave does Tidewell offer?"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request, tmp_path_factory, demo_home):
    """(family, its model folder, a home that sees the indexed demo corpus)."""
    fam = FAMILIES[request.param]
    return fam, build_model(fam, tmp_path_factory.mktemp(f"tiny-{fam.name}")), demo_home


def run_json(home: Path, *args: str) -> dict:
    done = memo_cli(home, *args, "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def trained(family, tmp_path_factory):
    """`memo synth --from-qa` then `memo train --max-steps 2`, both with `--llm` alone."""
    fam, model, home = family
    work = tmp_path_factory.mktemp(f"flow-{fam.name}")
    synth = run_json(home, "synth", "--company", DEMO_COMPANY, "--from-qa", str(DEMO_EVAL),
                     "--val-fraction", "0", "--out", str(work / "data"), "--llm", str(model))
    report = run_json(home, "train", str(work / "data"), "--out", str(work / "adapter"), "--llm", str(model),
                      "--max-steps", "2", "--lora-r", "4")
    return synth, report, work / "adapter"


def test_doctor_prints_the_derived_profile_and_accepts_the_adapter_for_serving(family, trained):
    """The profile derived from the model's files, and what `memo serve` checks before launching vLLM:
    the adapter's saved template is the one it would hand vLLM for this model, on this base."""
    fam, model, home = family
    done = memo_cli(home, "doctor", "--llm", str(model), "--adapter", f"a={trained[2]}", "--json")
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr  # 1: no vLLM here
    report = json.loads(done.stdout)
    profile = report["profile"]
    assert profile["derived"] and profile["profile"] == f"derived:{model.name}"
    assert profile["window"] == fam.window and profile["context_length"] == 2048  # capped on a CPU
    assert profile["end_of_turn"] == [fam.turn_end]
    assert profile["special_tokens"] == len(fam.specials)
    assert profile["folds_system"] == (fam.name == "gemma2")  # Gemma's template refuses a system turn
    assert profile["assistant_only_loss"] == "ok"
    assert set(profile["lora_targets"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                            "down_proj"}
    checks = {c["name"]: c for c in report["checks"] if c["adapter"] == "a"}
    assert checks and all(c["ok"] for c in checks.values()), checks
    assert "chat_template.jinja matches" in checks["chat template as in training"]["detail"]
    if fam.name == "gemma2":  # the table people read
        plain = memo_cli(home, "doctor", "--llm", str(model))
        assert "derived from the model's files" in plain.stdout and fam.turn_end in plain.stdout


def test_synth_and_train_take_any_model(family, trained):
    fam, model, _ = family
    synth, report, adapter = trained
    assert synth["style"] == "from-qa" and synth["kept"] >= 3
    assert report["steps"] == 2 and report["train_loss"] is not None
    info = json.loads((adapter / "memo.json").read_text())
    assert info["profile"] == f"derived:{model.name}" and info["base_model"] == str(model)
    saved = (adapter / "chat_template.jinja").read_text()
    assert saved == template_text(info["template"]) or saved.endswith(fam.template)
    targets = json.loads((adapter / "adapter_config.json").read_text())["target_modules"]
    assert set(targets) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}


@pytest.mark.parametrize("mode", ["base", "rag", "ft", "hybrid"])
def test_ask_answers_in_every_mode(family, trained, mode):
    """base and rag with --llm; ft and hybrid with --adapter alone: the adapter's memo.json names
    the base model its profile was derived from."""
    fam, model, home = family
    model_args = ["--adapter", str(trained[2])] if mode in ("ft", "hybrid") else ["--llm", str(model)]
    answer = run_json(home, "ask", QUESTION, "--company", DEMO_COMPANY, "--mode", mode, "--max-new-tokens", "6",
                      *model_args)
    assert answer["mode"] == mode and isinstance(answer["answer"], str)
    assert bool(answer["contexts"]) == (mode in ("rag", "hybrid"))
    assert answer["model"].startswith(model.name)


def test_ask_sends_exactly_the_prompt_tokens_training_used(family, trained, monkeypatch, tmp_path):
    """Whatever the family, what `memo ask` decodes from is the phrasing prompt of the selected
    evidence rendered with the adapter's own saved template, and a training record renders its
    prompt with that same template: exactly the same ids."""
    import memo.llm.generator as generator_module
    from memo.answering.ask import Answerer
    from memo.core.voice import in_candidate_voice
    from memo.llm.adapter import read_adapter
    from memo.llm.prompt import encode, phrasing_messages, render

    fam, model, home = family
    isolate(monkeypatch, home)
    monkeypatch.setenv("MEMO_MODEL_LLM", str(model))
    answerer = Answerer(load_settings(), adapter=trained[2])
    generator = answerer.generator_for("hybrid")
    sent = []
    real_generate, real_greedy = generator.model.generate, generator_module.greedy
    monkeypatch.setattr(generator.model, "generate",
                        lambda *a, **k: sent.append(k["input_ids"][0].tolist()) or real_generate(*a, **k),
                        raising=False)
    monkeypatch.setattr(generator_module, "greedy", lambda fast, ids, *a: sent.append(list(ids)) or real_greedy(fast, ids, *a))
    answer = answerer.ask(QUESTION, DEMO_COMPANY, None, "hybrid")
    assert len(sent) == 1 and answer.evidence
    template = (trained[2] / "chat_template.jinja").read_text()
    assert read_adapter(trained[2])["profile"] == f"derived:{model.name}"
    tokenizer = generator.llm.tokenizer
    notes = [e["text"] if e["mine"] else in_candidate_voice(e["text"]) for e in answer.evidence]
    assert encode(tokenizer, render(tokenizer, template, phrasing_messages(QUESTION, DEMO_COMPANY, None, notes))) == sent[0]

    passages = [Passage(str(i), c["source"], c["section"], c["text"]) for i, c in enumerate(answer.contexts)]
    row = attach_contexts(QUESTION, "27 days a year.", passages, DEMO_COMPANY, None, [(1, "27 days")])
    data = tmp_path / "train.jsonl"
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    [example] = load_dataset(data, tokenizer, template, 8192, "drop").examples
    prompt_len = example.labels.count(IGNORE)
    assert example.ids[:prompt_len] == encode(tokenizer, render(tokenizer, template, row["messages"][:-1]))
    turn_end = tokenizer.convert_tokens_to_ids(fam.turn_end)
    assert example.ids[-1] == turn_end  # the answer is trained to end where generation stops


def test_bench_runs_on_any_model(tmp_path_factory, demo_home):
    """A bench report for a model given only by --llm (the Qwen2-family one; two arms, two questions)."""
    model = build_model(FAMILIES["qwen2"], tmp_path_factory.mktemp("bench-qwen2"))
    out = tmp_path_factory.mktemp("bench-out")
    done = memo_cli(demo_home, "bench", "--demo", "--arms", "base,rag", "--limit", "2", "--llm", str(model),
                    "--max-new-tokens", "8", "--out", str(out), "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    summary = json.loads(done.stdout)
    assert summary["questions"] == 2 and set(summary["arms"]) == {"base", "rag"}
    assert (out / "report.html").is_file()


def test_a_model_without_a_chat_template_is_refused_in_one_line(tmp_path, demo_home):
    import shutil

    model = build_model(FAMILIES["mistral"], tmp_path / "no-template")
    config = json.loads((model / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    for extra in ("chat_template.jinja",):
        (model / extra).unlink(missing_ok=True)
    done: subprocess.CompletedProcess = memo_cli(demo_home, "ask", QUESTION, "--company", DEMO_COMPANY,
                                                 "--llm", str(model), "--mode", "base")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "has no chat template" in done.stderr and "--profile" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    shutil.rmtree(model)


def test_serve_hands_vllm_the_template_the_adapter_trained_with(family, trained, monkeypatch, tmp_path):
    import sys

    from memo.serving.serve import ServeOptions, build_plan

    fam, model, _ = family
    isolate(monkeypatch, tmp_path / "home")
    monkeypatch.setenv("MEMO_MODEL_LLM", str(model))
    plan = build_plan(load_settings(), ServeOptions(adapters=[f"a={trained[2]}"], vllm_python=sys.executable))
    assert plan.template_file.read_text() == (trained[2] / "chat_template.jinja").read_text()
    assert plan.max_model_len == 2048 and f"--chat-template {plan.template_file}" in " ".join(plan.argv())
