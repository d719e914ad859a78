"""`memo ask` over the indexed demo corpus with the real embedder and the real default LLM."""

import json

from memo.core.config import load_settings

QUESTION = "How many days of paid leave does Tidewell offer?"


def test_ask_json_is_grounded_and_cited(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--role", "Backend Engineer",
                    "--mode", "rag", "--max-new-tokens", "40", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {"question", "mode", "model", "answer", "citations", "contexts"} <= answer.keys()
    assert answer["mode"] == "rag" and answer["answer"].strip()
    assert answer["contexts"][0]["source"] == "benefits.md"
    assert set(answer["contexts"][0]) >= {"source", "company", "role", "score", "text"}
    for citation in answer["citations"]:
        assert 1 <= citation["n"] <= len(answer["contexts"])


def test_ask_streams_text_then_sources(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--max-new-tokens", "16")
    assert done.returncode == 0, done.stderr
    text, _, sources = done.stdout.partition("Sources")
    assert text.strip() and "[1] benefits.md" in sources


def test_base_mode_uses_no_documents(demo, run_memo):
    done = run_memo("ask", "Why do you want this job?", "--company", "Tidewell", "--mode", "base",
                    "--max-new-tokens", "12", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "base" and answer["contexts"] == [] and answer["citations"] == []


def test_ask_for_a_company_with_nothing_indexed(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Globex", "--json")
    assert done.returncode == 3 and done.stdout == ""
    assert "nothing is indexed for company 'Globex'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_ask_without_any_index(memo_env, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell")
    assert done.returncode == 3 and "memo index" in done.stderr and "Traceback" not in done.stderr


def test_packing_fills_the_window_exactly(demo, monkeypatch):
    from memo.answering.ask import Answerer

    monkeypatch.setenv("MEMO_RETRIEVAL_PACK_CANDIDATES", "30")
    monkeypatch.setenv("MEMO_GENERATION_CONTEXT_LENGTH", "1200")
    monkeypatch.setenv("MEMO_GENERATION_MAX_NEW_TOKENS", "200")
    answerer = Answerer(load_settings())
    messages, contexts = answerer.prepare("What benefits does Tidewell offer?", "Tidewell", None, "rag")
    used = answerer.generator_for("rag").prompt_tokens(messages)
    assert 1 <= len(contexts) < 30
    assert used <= 1000  # context length minus the answer budget
    assert used > 1000 - 400  # nearly full: a further ~250-token chunk would not have fit


def test_the_reader_sees_the_best_hit_last_and_rag_sees_rank_order(demo, monkeypatch):
    from memo.answering.ask import Answerer
    from memo.llm.adapter import shipped_reader

    question = "What benefits does Tidewell offer?"
    _, ranked = Answerer(load_settings()).prepare(question, "Tidewell", None, "rag")
    messages, shown = Answerer(load_settings(), adapter=shipped_reader()).prepare(question, "Tidewell", None, "hybrid")
    assert len(ranked) > 1 and shown == ranked[::-1]
    user = messages[-1]["content"]
    last = user.rindex("Document [")  # the last document shown is the best hit, numbered last
    assert ranked[0]["text"].split("\n\n")[-1][:40] in user[last:]
    monkeypatch.setenv("MEMO_RETRIEVAL_BEST_LAST", "false")
    _, unchanged = Answerer(load_settings(), adapter=shipped_reader()).prepare(question, "Tidewell", None, "hybrid")
    assert unchanged == ranked
