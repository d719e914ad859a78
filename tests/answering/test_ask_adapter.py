"""`memo ask --mode ft|hybrid --adapter DIR` over the indexed demo corpus, with adapters trained by
`memo train` on tiny random LLaMAs (the smollm2-135m profile's tokenizer and ChatML)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from memo.core.config import load_settings
from memo.core.demo import DEMO_COMPANY, DEMO_CORPUS
from tests.conftest import (
    isolate,
    make_tiny_llama,
    memo_cli,
    one_line_error,
    train_adapter,
    training_rows,
)

QUESTION = "How many days of paid leave does Tidewell offer?"
ROLE = "Backend Engineer"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """The demo corpus indexed once, and its corpus hash as `memo synth` records it."""
    from memo.core.identity import company_corpus_hash
    from memo.ingestion.indexer import Target, index_corpus
    from memo.retrieval.hybrid import HybridRetriever

    home = tmp_path_factory.mktemp("ask-adapter") / "home"
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        report = index_corpus(load_settings(), [DEMO_CORPUS], Target(DEMO_COMPANY), show_progress=False)
        chunks = HybridRetriever(load_settings()).chunks(DEMO_COMPANY)
        corpus_hash = company_corpus_hash(c.meta for c in chunks)
    assert report.files == 12 and not report.skipped
    return home, corpus_hash


@pytest.fixture(scope="module")
def bases(tmp_path_factory, smollm2_dir):
    """Two tiny bases of the same shape and tokenizer but different weights."""
    root = tmp_path_factory.mktemp("tiny-bases")
    return make_tiny_llama(root / "tiny-a", smollm2_dir, seed=0), make_tiny_llama(root / "tiny-b", smollm2_dir, seed=1)


@pytest.fixture(scope="module")
def adapter(demo_home, bases, tmp_path_factory):
    """An adapter trained on tiny-a from records made against the indexed corpus as it is now."""
    root = tmp_path_factory.mktemp("adapter-run")
    return train_adapter(root / "synth", root / "leave-adapter", bases[0], training_rows(demo_home[1]))


@pytest.fixture
def ask_env(demo_home, bases, monkeypatch):
    isolate(monkeypatch, demo_home[0])
    monkeypatch.setenv("MEMO_MODEL_LLM", str(bases[0]))
    monkeypatch.setenv("MEMO_GENERATION_MAX_NEW_TOKENS", "8")
    return demo_home[0]


def test_hybrid_and_ft_answer_with_the_adapter(demo_home, bases, adapter):
    home, base = demo_home[0], bases[0]
    for mode in ("hybrid", "ft"):
        done = memo_cli(home, "ask", QUESTION, "--company", DEMO_COMPANY, "--mode", mode, "--adapter",
                        str(adapter), "--llm", str(base), "--max-new-tokens", "8", "--json")
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "memo: warning" not in done.stderr  # not stale
        answer = json.loads(done.stdout)
        assert answer["mode"] == mode and answer["adapter"] == str(adapter)
        assert answer["model"] == f"{base.name}+{adapter.name}"
        assert isinstance(answer["reasoning"], str) and isinstance(answer["answer"], str)
        assert answer["warnings"] == []
        if mode == "hybrid":
            assert answer["contexts"] and any(c["source"].endswith("benefits.md") for c in answer["contexts"])
        else:
            assert answer["contexts"] == [] and answer["citations"] == []


def test_the_adapter_changes_the_model(ask_env, adapter, tmp_path):
    """Same prompt, three models: the base, the trained adapter, and the adapter with lora_B zeroed
    (a LoRA that adds nothing). Only the trained adapter moves the logits."""
    import torch
    from safetensors.torch import load_file, save_file

    from memo.llm.generator import Decoding, load_generator
    from memo.llm.prompt import build_messages, encode, render

    zeroed = shutil.copytree(adapter, tmp_path / "zeroed")
    weights = load_file(str(zeroed / "adapter_model.safetensors"))
    assert any(float(w.abs().max()) > 1e-3 for k, w in weights.items() if "lora_B" in k)  # it trained
    save_file({k: torch.zeros_like(w) if "lora_B" in k else w for k, w in weights.items()},
              str(zeroed / "adapter_model.safetensors"))

    settings = load_settings()
    messages = build_messages(QUESTION, DEMO_COMPANY, None, None)
    logits, answers = {}, {}
    for name, path in (("base", None), ("adapter", adapter), ("zeroed", zeroed)):
        generator = load_generator(settings, path)
        tokenizer = generator.llm.tokenizer
        ids = torch.tensor([encode(tokenizer, render(tokenizer, "chatml", messages))])
        with torch.no_grad():
            logits[name] = generator.model(input_ids=ids).logits[0, -1]
        answers[name] = generator.generate(messages, Decoding(8, 0.0, 1.0, 1.0))
    assert torch.allclose(logits["zeroed"], logits["base"], atol=1e-6)
    assert float((logits["adapter"] - logits["base"]).abs().max()) > 1e-2
    assert answers["zeroed"] == answers["base"]


def test_an_adapters_phrasing_is_kept_only_when_it_keeps_the_evidence(ask_env, adapter, monkeypatch, capsys):
    """The adapter phrases the selected evidence in the RAFT format: a phrasing that changes a
    figure is refused and the evidence is said by rules; a faithful one is the answer. The
    reasoning stays in --json; piped output prints the answer once."""
    from memo.cli import main
    from memo.llm.generator import LocalGenerator
    from memo.llm.prompt import ANSWER_MARK, raft_answer

    def notes(messages) -> list[str]:
        return [line[2:] for line in messages[-1]["content"].split("\n") if line.startswith("- ")]

    invented = raft_answer([(1, "Tidewell offers 25 days of paid leave.")], "I would get 25 days a year [1].")
    monkeypatch.setattr(LocalGenerator, "generate", lambda self, messages, decoding, on_text=None: invented)
    args = ["ask", QUESTION, "--company", DEMO_COMPANY, "--mode", "hybrid", "--adapter", str(adapter)]
    assert main([*args, "--json"]) == 0
    refused = json.loads(capsys.readouterr().out)
    assert "25 days" not in refused["answer"] and refused["composer"].startswith("rules (model refused: ")
    assert refused["reasoning"].startswith("Document [1] says ##begin_quote##Tidewell offers 25 days")
    assert refused["evidence"] and [c["n"] for c in refused["citations"]]

    faithful = lambda self, messages, decoding, on_text=None: f"{ANSWER_MARK} " + " ".join(notes(messages))  # noqa: E731
    monkeypatch.setattr(LocalGenerator, "generate", faithful)
    assert main([*args, "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert kept["composer"] == "model" and kept["answer"].startswith(notes_of(kept)[0][:30])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count(notes_of(kept)[0][:30]) == 1 and "##" not in out and out.index("Sources") > 0


def notes_of(answer: dict) -> list[str]:
    from memo.core.voice import in_candidate_voice

    return [e["text"] if e["mine"] else in_candidate_voice(e["text"]) for e in answer["evidence"]]


@pytest.mark.parametrize("template", ["chatml", "llama2"])
def test_every_model_reads_the_same_selected_evidence(template, ask_env, adapter, tiny_llama2, monkeypatch):
    """Whatever the model and template, what `memo ask` hands to generate is the phrasing prompt of
    the selected evidence, in the candidate's voice: exactly those ids."""
    from memo.answering.ask import Answerer
    from memo.llm.prompt import encode, phrasing_messages, render

    if template == "llama2":  # the production profile's template, retrieval mode
        monkeypatch.setenv("MEMO_MODEL_PROFILE", "llama-2-7b-chat")
        monkeypatch.setenv("MEMO_MODEL_LLM", str(tiny_llama2))
        answerer, mode = Answerer(load_settings()), "rag"
    else:
        answerer, mode = Answerer(load_settings(), adapter=adapter), "hybrid"
    import memo.llm.generator as generator_module

    model = answerer.generator_for(mode).model
    sent = []
    real_generate, real_greedy = model.generate, generator_module.greedy

    def spy(*args, **kwargs):  # the transformers path
        sent.append(kwargs["input_ids"][0].tolist())
        return real_generate(*args, **kwargs)

    def spy_fast(fast, ids, *args):  # the fast-decode path
        sent.append(list(ids))
        return real_greedy(fast, ids, *args)

    monkeypatch.setattr(model, "generate", spy, raising=False)
    monkeypatch.setattr(generator_module, "greedy", spy_fast)
    answer = answerer.ask(QUESTION, DEMO_COMPANY, ROLE, mode)
    assert len(sent) == 1 and answer.evidence
    tokenizer = answerer.generator_for(mode).llm.tokenizer
    messages = phrasing_messages(QUESTION, DEMO_COMPANY, ROLE, notes_of(answer.as_dict()))
    assert encode(tokenizer, render(tokenizer, template, messages)) == sent[0]


def test_adapter_errors_are_one_line(demo_home, bases, adapter):
    home, (base_a, base_b) = demo_home[0], bases

    def ask(*args: str) -> subprocess.CompletedProcess:
        return memo_cli(home, "ask", QUESTION, "--company", DEMO_COMPANY, "--llm", str(base_a), *args)

    one_line_error(ask("--mode", "ft"), "--mode ft needs --adapter")
    one_line_error(ask("--mode", "hybrid"), "--mode hybrid needs --adapter")
    one_line_error(ask("--mode", "rag", "--adapter", str(adapter)), "--adapter", "not rag")
    one_line_error(ask("--mode", "ft", "--adapter", str(base_a)), "not a LoRA adapter")
    one_line_error(ask("--mode", "ft", "--adapter", str(home / "nothing-here")), "no such folder")
    done = memo_cli(home, "ask", QUESTION, "--company", DEMO_COMPANY, "--llm", str(base_b),
                    "--mode", "ft", "--adapter", str(adapter))
    one_line_error(done, "trained on", str(base_a), str(base_b))


def test_a_stale_adapter_is_used_with_a_warning(demo_home, bases, adapter, tmp_path):
    """After the company's documents change, answers still come, with a warning on stderr and in
    the JSON."""
    from memo.ingestion.indexer import Target, index_corpus

    home = shutil.copytree(demo_home[0], tmp_path / "home")
    new_doc = tmp_path / "docs" / "parental-leave.md"
    new_doc.parent.mkdir()
    new_doc.write_text("# Parental leave\n\nTidewell gives 20 weeks of paid parental leave.\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, home)
        report = index_corpus(load_settings(), [new_doc], Target(DEMO_COMPANY), show_progress=False)
    assert report.files == 1

    done = memo_cli(home, "ask", QUESTION, "--company", DEMO_COMPANY, "--mode", "ft", "--adapter",
                    str(adapter), "--llm", str(bases[0]), "--max-new-tokens", "4", "--json")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("memo: warning:")]
    assert len(warnings) == 1 and "older version" in warnings[0] and DEMO_COMPANY in warnings[0]
    answer = json.loads(done.stdout)
    assert answer["warnings"] and "older version" in answer["warnings"][0]
    assert demo_home[1] in answer["warnings"][0]  # names the corpus it was trained on
