"""`memo synth` end to end over the indexed demo corpus: the real embedder, Chroma on disk, the real
SmolLM2 model in-process, and a real OpenAI-compatible HTTP server on localhost standing in for a
paid remote API. Every run is the `memo` command in a subprocess.

Generation on a CPU is the slow part (tens of seconds per attempt on a busy 2-core machine), so the
local model drafts a handful of attempts, one at a time (a run and its resume after a simulated
kill); limits, resuming and the leakage guard are also exercised, fast, through the endpoint.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import typing
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from memo.core.demo import DEMO_COMPANY
from memo.finetune import gates
from memo.core.voice import in_candidate_voice
from memo.llm.prompt import ANSWER_MARK, QUOTE_BEGIN, QUOTE_END, split_answer
from tests.conftest import JsonHandler, local_chunks
from tests.conftest import clean_env as conftest_env

BATCH = "1"  # local generation batch: one attempt at a time, so a run stops as soon as it has --limit records
SECRET = "sk-memo-test-5b0c9e7d41a2f86e3c"


def clean_env(home: Path, llm: Path) -> dict[str, str]:
    """The environment `run_memo` gives a test (conftest's memo_env), for module-scoped runs."""
    env = {k: v for k, v in conftest_env(home).items() if k != "OPENAI_API_KEY"}
    env["MEMO_MODEL_LLM"] = str(llm)
    return env


@pytest.fixture(scope="module")
def chunk_texts(demo_home) -> dict[str, str]:
    """chunk id -> text, read back from the Chroma collection on disk."""
    return {chunk_id: text for chunk_id, (text, _) in local_chunks(demo_home).items()}


def synth_args(out: Path, *extra: str) -> list[str]:
    return ["synth", "--company", DEMO_COMPANY, "--out", str(out), "--json", *extra]


def report_of(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(done.stdout)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def records_of(out: Path) -> list[dict]:
    return read_jsonl(out / "train.jsonl") + read_jsonl(out / "val.jsonl")


def plain(text: str) -> str:
    """Text without Markdown emphasis, code marks and link targets, whitespace collapsed: a quote is
    the document's sentence as a reader sees it."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(re.sub(r"[*_`]+", "", text).split())


def check_report_counts(report: dict, out: Path) -> list[dict]:
    """The report adds up, and agrees with attempts.jsonl and synth.json."""
    attempts = read_jsonl(out / "attempts.jsonl")
    assert report["attempted"] == report["kept"] + sum(report["rejected"].values()) == len(attempts)
    assert report["kept"] == sum(a["status"] == "kept" for a in attempts)
    for reason, count in report["rejected"].items():
        assert count == sum(a.get("reason") == reason for a in attempts)
    assert len({a["key"] for a in attempts}) == len(attempts)
    saved = json.loads((out / "synth.json").read_text())
    assert {k: saved[k] for k in report if k != "seconds"} == {k: v for k, v in report.items() if k != "seconds"}
    return attempts


def check_records(records: list[dict], chunk_texts: dict[str, str], style: str) -> None:
    """Every record is a chat in `memo ask`'s shape whose quotes are in its oracle chunk."""
    assert len({r["id"] for r in records}) == len(records)
    for record in records:
        assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant"]
        system, user, assistant = (m["content"] for m in record["messages"])
        assert DEMO_COMPANY in system and user.startswith("<documents>\nDocument [1] (")
        assert user.endswith(f"Question: {record['question']}")
        assert record["style"] == style and record["company"] == DEMO_COMPANY
        assert record["quotes"] and record["oracle_ids"][0] in chunk_texts
        oracle = plain(chunk_texts[record["oracle_ids"][0]])
        for quote in record["quotes"]:
            assert plain(quote) in oracle, (quote, record["oracle_ids"])
            assert f"{QUOTE_BEGIN}{quote}{QUOTE_END}" in assistant
        reasoning, final = split_answer(assistant)
        assert reasoning and final and assistant.count(ANSWER_MARK) == 1
        n = record["oracle_position"]
        if record["oracle_in_context"]:
            assert f"Document [{n}] says {QUOTE_BEGIN}" in reasoning
            shown = user.split(f"Document [{n}] (", 1)[1].split("\n\nDocument [", 1)[0]
            assert all(plain(quote) in plain(shown) for quote in record["quotes"])  # the oracle is [n]
            assert f"[{n}]" in final
        else:
            assert n is None and "The company's documents say" in reasoning
            assert record["oracle_ids"][0] not in record["distractor_ids"]
            assert not re.search(r"\[\d+\]", final)


# --- the local model ------------------------------------------------------------------------------

LOCAL = ["--limit", "2", "--batch-size", BATCH]


@pytest.fixture(scope="module")
def local_run(demo_home, smollm2_dir, tmp_path_factory):
    """`memo synth --limit 2 --batch-size 1` with the local model, run once: (out folder, report)."""
    work = tmp_path_factory.mktemp("local-run")
    out = work / "data"
    done = subprocess.run([sys.executable, "-m", "memo", *synth_args(out, *LOCAL)], capture_output=True,
                          text=True, env=clean_env(demo_home, smollm2_dir), cwd=work, timeout=900,
                          check=False)
    return out, report_of(done)


def test_local_model_writes_raft_records_through_the_gates(local_run, chunk_texts):
    out, report = local_run
    assert report["style"] == "fewshot" and report["generator"] == "smollm2-135m-instruct"
    assert report["kept"] >= 2 and report["resumed"] == 0
    assert report["attempted"] % int(BATCH) == 0  # whole batches, until --limit records were kept
    attempts = check_report_counts(report, out)
    records = records_of(out)
    assert len(records) == report["train"] + report["val"] == 2  # --limit: at most 2 written
    check_records(records, chunk_texts, "fewshot")
    kept = [a["record"] for a in attempts if a["status"] == "kept"]
    assert [r["id"] for r in records] == [r["id"] for r in kept][:2]
    for record in kept:
        assert record["kind"] in ("company", "behavioural") and record["answer_from"] in ("model", "quote")
        assert not gates.question_problem(record["question"], record["kind"])
        assert record["corpus_hash"] == report["corpus_hash"] and record["generator"] == report["generator"]
        assert len(record["distractor_ids"]) == 3 + (not record["oracle_in_context"])
        if record["kind"] == "company":  # memo states the quoted fact in the candidate's voice
            assert record["answer_from"] == "quote"
            body = in_candidate_voice(record["quotes"][0]).rstrip(".")
            assert body[1:] in record["answer"] and "As I understand it from" not in record["answer"]
    for rejected in (a for a in attempts if a["status"] == "rejected"):
        assert rejected["reason"] and "record" not in rejected


def test_interrupted_run_resumes_where_it_stopped(local_run, tmp_path, demo, run_memo, chunk_texts):
    """A kill during the last batch leaves attempts.jsonl with the batches before it: the same
    command generates just that batch, and the same data as the uninterrupted run."""
    first_out, _ = local_run
    full = read_jsonl(first_out / "attempts.jsonl")
    assert len(full) > int(BATCH), "the first run kept --limit records in one batch: nothing to interrupt"
    out = tmp_path / "data"
    shutil.copytree(first_out, out)
    logged = full[:-int(BATCH)]
    (out / "attempts.jsonl").write_text("".join(json.dumps(row) + "\n" for row in logged), encoding="utf-8")
    for name in ("train.jsonl", "val.jsonl", "synth.json"):
        (out / name).unlink()

    report = report_of(run_memo(*synth_args(out, *LOCAL)))
    assert report["resumed"] == len(logged)
    attempts = check_report_counts(report, out)  # no key twice
    assert attempts[:len(logged)] == logged
    assert {a["key"] for a in attempts} == {a["key"] for a in full}  # the rest was generated, once
    assert attempts == full  # greedy, same batches: the data of the run that was never interrupted
    assert records_of(out) == records_of(first_out)
    check_records(records_of(out), chunk_texts, "fewshot")

    # nothing left to do at this limit: nothing is generated, the data stays as it is
    again = report_of(run_memo(*synth_args(out, *LOCAL)))
    assert again["resumed"] == again["attempted"] == report["attempted"]
    assert read_jsonl(out / "attempts.jsonl") == attempts and records_of(out) == records_of(first_out)


# --- converting existing Q&A ---------------------------------------------------------------------

QA = [
    {"id": "tw-1", "question": "How much paid leave would I get at Tidewell?",
     "reference_answer": "Every employee gets 27 days of paid leave per year, on top of public holidays.",
     "company": DEMO_COMPANY, "role": None, "topic": "benefits", "evidence": "tidewell/benefits.md"},
    {"id": "tw-2", "question": "What is the parental leave policy?",
     "reference_answer": "All parents receive 20 weeks of fully paid parental leave in the first 18 months.",
     "company": DEMO_COMPANY, "role": "Backend Engineer", "evidence": "demo_corpus/tidewell/benefits.md"},
    {"id": "tw-3", "question": "Is there a learning budget?",
     "reference_answer": "Yes, a learning budget of CAD 2,000 per year for courses, books and conferences.",
     "company": DEMO_COMPANY, "role": None},
]


def write_qa(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_from_qa_attaches_retrieved_contexts_to_reference_answers(tmp_path, demo, run_memo, chunk_texts):
    qa = write_qa(tmp_path / "faq.jsonl", QA)
    out = tmp_path / "faq-data"
    report = report_of(run_memo(*synth_args(out, "--from-qa", str(qa))))
    assert report["style"] == "from-qa" and report["generator"] == "reference"
    assert report["attempted"] == report["kept"] == 3 and report["rejected"] == {}
    records = {r["question"]: r for r in records_of(out)}
    assert set(records) == {row["question"] for row in QA}
    for row in QA:
        record = records[row["question"]]
        system, user, assistant = (m["content"] for m in record["messages"])
        assert user.startswith("<documents>\nDocument [1] (") and user.endswith(f"Question: {row['question']}")
        assert user.count("Document [") == 4  # the distractors + 1 best retrieved chunks
        final = split_answer(assistant)[1]
        assert final.startswith(row["reference_answer"].rstrip("."))  # + the citation of its quote
        assert record["answer"] == row["reference_answer"] and record["answer_from"] == "reference"
        assert record["role"] == row["role"] and (row["role"] or "a role") in system
        for quote, oracle in zip(record["quotes"], record["oracle_ids"]):
            assert plain(quote) in plain(chunk_texts[oracle])
    leave = records[QA[0]["question"]]
    assert "Document [1] (benefits.md" in leave["messages"][1]["content"]
    assert any("27 days of paid leave" in q for q in leave["quotes"])
    n = leave["oracle_position"]
    assert f"Document [{n}] says {QUOTE_BEGIN}" in leave["messages"][2]["content"]
    assert leave["oracle_ids"][0].startswith("tidewell/benefits.md#")


def test_from_qa_malformed_line_is_named_and_skip_bad_continues(tmp_path, demo, run_memo):
    qa = write_qa(tmp_path / "faq.jsonl", [QA[0], '{"question": "Broken?", "reference_answer": ', QA[2]])
    done = run_memo(*synth_args(tmp_path / "a", "--from-qa", str(qa)))
    assert done.returncode != 0 and done.stdout == ""
    assert f"{qa}:2" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

    done = run_memo(*synth_args(tmp_path / "b", "--from-qa", str(qa), "--skip-bad"))
    report = report_of(done)
    assert f"memo: warning: {qa}:2: malformed JSON" in done.stderr
    assert report["kept"] == 2
    assert {r["question"] for r in records_of(tmp_path / "b")} == {QA[0]["question"], QA[2]["question"]}


@pytest.mark.parametrize("row, needle", [
    ({"question": 42, "reference_answer": "Yes."}, "`question` must be a non-empty string"),
    ({"question": "Why?", "reference_answer": ["Yes."]}, "`reference_answer` must be a string or null, not list"),
    ({"question": "Why?", "reference_answer": "Yes.", "evidence": 3}, "`evidence` must be a string or null"),
])
def test_from_qa_wrong_typed_field_is_named_by_line(tmp_path, demo, run_memo, row, needle):
    qa = write_qa(tmp_path / "faq.jsonl", [QA[0], row])
    for flag in ("--from-qa", "--exclude"):
        done = run_memo(*synth_args(tmp_path / "out", flag, str(qa)))
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [done.stderr.strip()]
        assert f"{qa}:2: {needle}" in done.stderr


def test_a_bad_qa_line_is_named_before_the_index_or_a_model_is_opened(tmp_path, memo_env, run_memo):
    qa = write_qa(tmp_path / "faq.jsonl", [QA[0], {"question": 42}])
    for flag in ("--from-qa", "--exclude"):  # nothing is indexed in this home: the file is checked first
        done = run_memo("synth", "--company", "Nowhere", flag, str(qa), "--out", str(tmp_path / "out"))
        assert done.returncode == 2 and done.stderr.strip() == (
            f"memo: error: {qa}:2: `question` must be a non-empty string "
            "(fix the line, or pass --skip-bad to skip such lines)")


def test_from_qa_unindexed_role_falls_back_and_limit_caps_the_report(tmp_path, demo, run_memo):
    rows = [QA[0], {**QA[1], "role": "Astronaut"}, QA[2]]
    qa = write_qa(tmp_path / "faq.jsonl", rows)
    done = run_memo(*synth_args(tmp_path / "out", "--from-qa", str(qa), "--limit", "2"))
    report = report_of(done)
    assert "role 'Astronaut' is not indexed" in done.stderr
    assert report["kept"] == 3 and report["train"] + report["val"] == 2  # --limit caps what is written
    assert len(records_of(tmp_path / "out")) == 2
    done = run_memo(*synth_args(tmp_path / "all", "--from-qa", str(qa)))
    astronaut = [r for r in records_of(tmp_path / "all") if r["question"] == QA[1]["question"]]
    assert report_of(done)["kept"] == 3 and astronaut[0]["role"] is None


# --- an OpenAI-compatible endpoint ---------------------------------------------------------------

def passage_sentences(passage: str) -> list[str]:
    """Sentences of the passage as a model copying from it would see them."""
    found = []
    for line in passage.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "|", "```")) or "](" in line:
            continue
        line = re.sub(r"^([-*+]|\d+[.)])\s+", "", line)
        found += [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", line)]
    return [s for s in found if 6 <= len(s.split()) <= 40]


def good_draft(user: str) -> str:
    passage = re.search(r'"""\n(.*?)\n"""', user, flags=re.DOTALL).group(1)
    quote = max(passage_sentences(passage), key=len)
    words = quote.rstrip(".!?").replace("**", "").split()
    if "behavioural" in user:
        question = "Tell me about a time your work related to this: " + " ".join(words[:12]) + "?"
        answer = ("Situation: my team faced exactly this. Task: I had to make it work. Action: I read that "
                  + quote + " and planned around it. Result: we shipped on time and the customers were happy.")
    else:
        question = "What can you tell me about this: " + " ".join(words[:10]) + "?"
        answer = "From what I have read, " + quote
    return json.dumps({"question": question, "quotes": [quote], "answer": answer})


class FakeOpenAI(JsonHandler):
    """GET /v1/models and POST /v1/chat/completions. Drafts quote the passage they are asked about
    (some inside a ```json fence); with state["mixed"], replies cycle through a valid draft, a reply
    that is not JSON and (once) an HTTP 500 that a retry gets past."""

    state: typing.ClassVar[dict] = {}
    lock = threading.Lock()

    def do_GET(self):
        with self.lock:
            self.state["auth"].add(self.headers.get("Authorization", ""))
        if self.path.rstrip("/") == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": "test-model", "object": "model",
                                                          "created": 0, "owned_by": "test"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.state["auth"].add(self.headers.get("Authorization", ""))
            self.state["chats"] += 1
            turn = self.state["chats"]
            fail = turn == 3 and self.state["mixed"]
            self.state["errors"] += fail
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send(404, {"error": {"message": "not found"}})
        if request.get("model") != "test-model":
            return self._send(404, {"error": {"message": "no such model", "code": "model_not_found"}})
        if fail:
            return self._send(500, {"error": {"message": "temporary failure", "type": "server_error"}})
        user = request["messages"][-1]["content"]
        content = good_draft(user)
        if self.state["mixed"] and turn % 3 == 2:
            content = "Sure, here is a great interview question!"
        elif turn % 2:
            content = f"Here you go:\n```json\n{content}\n```"
        self._send(200, {"id": f"chatcmpl-{turn}", "object": "chat.completion", "created": 0,
                         "model": "test-model", "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


@pytest.fixture
def endpoint():
    FakeOpenAI.state = {"chats": 0, "errors": 0, "auth": set(), "mixed": True}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", FakeOpenAI.state
    server.shutdown()
    server.server_close()


def test_endpoint_drafts_pass_the_same_gates_and_the_key_never_leaks(tmp_path, demo, run_memo, endpoint,
                                                                     chunk_texts):
    url, state = endpoint
    out = tmp_path / "api-data"
    done = run_memo(*synth_args(out, "--endpoint", url, "--model", "test-model", "--limit", "3",
                                "--concurrency", "4"), env={"OPENAI_API_KEY": SECRET})
    report = report_of(done)
    assert report["style"] == "json" and report["generator"] == "test-model"
    assert report["kept"] >= 1 and report["rejected"].get("not_json", 0) >= 1
    assert "endpoint_error" not in report["rejected"]  # the one HTTP 500 was retried
    assert state["errors"] == 1 and state["chats"] == report["attempted"] + 1
    assert state["auth"] == {f"Bearer {SECRET}"}  # the key was sent, to the server only
    check_report_counts(report, out)
    records = records_of(out)
    assert 1 <= len(records) <= 3
    check_records(records, chunk_texts, "json")
    assert all(r["answer_from"] == "model" and r["generator"] == "test-model" for r in records)

    assert SECRET not in done.stdout and SECRET not in done.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_exclude_keeps_held_out_questions_out(tmp_path, demo, run_memo, endpoint):
    """The endpoint here drafts the same question for the same passage every time, so a fresh run
    meets the held-out question again (the local model would too, at minutes per batch on a CPU)."""
    url, state = endpoint
    state["mixed"] = False
    args = ["--endpoint", url, "--model", "test-model", "--limit", "2", "--concurrency", "2"]
    first = report_of(run_memo(*synth_args(tmp_path / "first", *args)))
    held = records_of(tmp_path / "first")[0]["question"]
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(json.dumps({"id": "eval-1", "question": held, "reference_answer": None,
                                   "company": DEMO_COMPANY, "role": None}) + "\n", encoding="utf-8")

    out = tmp_path / "fresh"
    report = report_of(run_memo(*synth_args(out, *args, "--exclude", str(heldout))))
    attempts = check_report_counts(report, out)
    assert held not in {r["question"] for r in records_of(out)}
    assert held not in {a["record"]["question"] for a in attempts if a["status"] == "kept"}
    leaked = [a for a in attempts if a.get("draft", {}).get("question") == held]
    assert leaked and all(a["reason"] == "leaks_held_out" for a in leaked)
    assert report["rejected"]["leaks_held_out"] == len(leaked) and report["kept"] >= 2
    assert report["attempted"] >= first["attempted"]
    assert json.loads((out / "synth.json").read_text())["exclude"] == [str(heldout)]


def test_endpoint_run_grows_on_resume(tmp_path, demo, run_memo, endpoint):
    """The same command with a larger --limit continues the run: nothing is asked twice."""
    url, state = endpoint
    state["mixed"] = False
    out = tmp_path / "data"
    args = ["--endpoint", url, "--model", "test-model", "--concurrency", "2"]
    first = report_of(run_memo(*synth_args(out, *args, "--limit", "2")))
    first_records = {r["id"]: r for r in records_of(out)}
    chats = state["chats"]
    report = report_of(run_memo(*synth_args(out, *args, "--limit", str(first["kept"] + 2))))
    assert report["resumed"] == first["attempted"] and report["kept"] >= first["kept"] + 2
    assert state["chats"] - chats == report["attempted"] - first["attempted"]  # only new attempts asked
    check_report_counts(report, out)  # no key twice
    records = {r["id"]: r for r in records_of(out)}
    assert len(records) == first["kept"] + 2
    assert all(records[rid] == record for rid, record in first_records.items())


# --- bad input -----------------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_line_error(done: subprocess.CompletedProcess, code: int, *needles: str) -> str:
    assert done.returncode == code, done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memo: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def test_unreachable_endpoint_is_one_line(tmp_path, demo, run_memo):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    done = run_memo(*synth_args(tmp_path / "out", "--endpoint", url, "--model", "m"),
                    env={"OPENAI_API_KEY": SECRET})
    line = one_line_error(done, 2, f"cannot reach {url}")
    assert SECRET not in line


@pytest.mark.parametrize("args, code, needle", [
    (["--company", DEMO_COMPANY, "--oracle-fraction", "1.5"], 2, "--oracle-fraction"),
    (["--company", "Globex"], 3, "nothing is indexed for company 'Globex'"),
])
def test_bad_options_and_unknown_company(tmp_path, demo, run_memo, args, code, needle):
    done = run_memo("synth", "--out", str(tmp_path / "out"), "--json", *args)
    one_line_error(done, code, needle)
