"""`memo ask` over the indexed demo corpus with the real embedder and the real default LLM."""

import json


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


def test_the_default_answer_states_the_selected_evidence_and_shows_it(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] == "extractive" and answer["composer"] == "rules"
    assert "27 days of paid leave" in answer["answer"]
    evidence = answer["evidence"]
    assert any("27 days of paid leave" in e["text"] for e in evidence)  # it states what it selected
    assert evidence and {"text", "n", "source", "section", "score"} <= evidence[0].keys()
    assert evidence[0]["source"] == "benefits.md"
    assert answer["contexts"][evidence[0]["n"] - 1]["source"] == "benefits.md"  # numbered as the contexts are
    assert {c["n"] for c in answer["citations"]} <= {e["n"] for e in evidence}  # it cites only what it states


def test_a_question_the_documents_do_not_cover_is_answered_honestly(demo, run_memo):
    done = run_memo("ask", "What is the dress code at the Tokyo office?", "--company", "Tidewell", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["evidence"] == [] and answer["citations"] == []
    assert answer["answer"].startswith("I haven't found that in what I've read about Tidewell")


def test_evidence_flag_prints_the_sentences_with_their_sources(demo, run_memo):
    done = run_memo("ask", QUESTION, "--company", "Tidewell", "--evidence")
    assert done.returncode == 0, done.stderr
    answer, _, rest = done.stdout.partition("Evidence")
    assert "27 days" in answer and answer.count("27 days of paid leave") == 1  # the answer once, not a draft too
    assert "benefits.md" in rest and "27 days of paid leave" in rest
