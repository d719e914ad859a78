"""`memo questions` and `memo practice` end to end: the demo company and the demo candidate in a
real Chroma, SmolLM2 for memo's own answers, `memo` in a subprocess; Ctrl-C mid-session; the
history page in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from memo.core.demo import DEMO_COMPANY
from tests.conftest import index_demo_and_candidate, clean_env, memo_cli

pytestmark = pytest.mark.slow
ROLE = "Backend Engineer"
STORY_ANSWER = ("When I was at Parcelwise, a senior colleague wanted immediate retries during failovers. My job was "
                "to keep the consumers reliable. I set up a replay of the last failover and wrote a design note. As "
                "a result, we shipped backoff and the next two failovers lost no events.")


@pytest.fixture(scope="module")
def home(tmp_path_factory, smollm2_dir):
    home = index_demo_and_candidate(tmp_path_factory.mktemp("practice-home"))
    (home / "config.toml").write_text(f'[model]\nllm = "{smollm2_dir}"\n[generation]\nmax_new_tokens = 40\n')
    return home


def run_json(home, *args):
    done = memo_cli(home, *args, "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_questions_mix_the_kinds_and_carry_their_passages(home):
    questions = run_json(home, "questions", "--company", DEMO_COMPANY, "--role", ROLE, "-n", "6")
    assert len(questions) == 6 and questions[0]["question"] == f"Why do you want to work at {DEMO_COMPANY}?"
    assert {q["origin"] for q in questions} == {"motivation", "behavioural", "company"}
    assert all(q["passages"] and all(p["text"] for p in q["passages"]) for q in questions)
    incident = next(q for q in questions if q["origin"] == "behavioural")
    assert incident["question"] == "Tell me about a time you handled a production incident."  # the posting's on-call
    # memo's own answer to each, by `memo ask`'s default path: the evidence said, or the candidate's story
    assert all(q["answer"] for q in questions)
    company_facts = [q for q in questions if q["origin"] == "company"]
    assert company_facts and all(q["answer_sources"] for q in company_facts)  # a fact names its documents
    listed = memo_cli(home, "questions", "--company", DEMO_COMPANY, "--role", ROLE, "-n", "2")
    assert listed.stdout.count("memo's answer:") == 2
    bare = run_json(home, "questions", "--company", DEMO_COMPANY, "-n", "2", "--no-answers")
    assert [q["answer"] for q in bare] == ["", ""]


def test_a_scripted_session_is_scored_saved_and_plotted(home, tmp_path):
    answers = tmp_path / "answers.txt"
    answers.write_text("I want to work on batteries.\n" + STORY_ANSWER + "\n" + "word " * 20_000 + "\n")
    records = run_json(home, "practice", "--company", DEMO_COMPANY, "--role", ROLE, "-n", "3", "--answers",
                       str(answers), "--no-model-answers")
    assert [r["category"] for r in records] == ["motivation", "behavioural", "company"]
    story = records[1]["score"]
    assert story["star"] == {"situation": True, "task": True, "action": True, "result": True}
    assert records[2]["score"]["length"] == "long" and "20000 words" in records[2]["score"]["warnings"][0]
    assert all(r["follow_up"] and 0 <= r["score"]["overall"] <= 100 for r in records)
    saved = (home / "practice" / "me" / "history.jsonl").read_text().splitlines()
    assert [json.loads(line)["question"] for line in saved[-3:]] == [r["question"] for r in records]

    scripted = memo_cli(home, "practice", "--company", DEMO_COMPANY, "--role", ROLE, "-n", "2", "--answers",
                        str(answers), "--no-model-answers")
    first, second = (scripted.stdout.index(f"[{n}] ({r['category']}) {r['question']}") for n, r in
                     enumerate(records[:2], start=1))  # each question printed before its score
    assert first < scripted.stdout.index("score ") < second
    [one] = run_json(home, "practice", "--company", DEMO_COMPANY, "--role", ROLE, "-n", "1", "--answers", str(answers))
    assert one["model_answer"] and one["sources"] and one["session"] != records[0]["session"]
    history = run_json(home, "practice", "--history")
    assert len(history["sessions"]) >= 2 and history["answers"] >= 4 and "behavioural" in history["categories"]
    page = home / "practice" / "me" / "history.html"
    assert history["page"] == str(page) and page.read_text().count('class="series"') == len(history["categories"])
    plain = memo_cli(home, "practice", "--history")
    assert "answers in" in plain.stdout and "history page:" in plain.stdout
    if shutil.which("chromium"):
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path / 'p'}"]
        dom = subprocess.run(["chromium", *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                             timeout=120)
        assert dom.returncode == 0 and '<svg class="plot"' in dom.stdout and "<polyline" in dom.stdout
        assert dom.stdout.count("<tr>") == len(history["sessions"]) + 1


def test_ctrl_c_mid_session_keeps_the_answers_so_far(home):
    before = len((home / "practice" / "me" / "history.jsonl").read_text().splitlines()) \
        if (home / "practice" / "me" / "history.jsonl").exists() else 0
    process = subprocess.Popen([sys.executable, "-m", "memo", "practice", "--company", DEMO_COMPANY, "-n", "3",
                                "--no-model-answers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=clean_env(home), cwd=home.parent)
    process.stdin.write("I want to build reliable software for batteries.\n\n")
    process.stdin.flush()
    log = home / "practice" / "me" / "history.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().splitlines()) <= before):
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert "stopped; 1 answers saved" in err and "Traceback" not in err, err
    assert len(log.read_text().splitlines()) == before + 1


@pytest.mark.parametrize("args, needle", [
    (["--company", "Nowhere"], "nothing is indexed for company 'Nowhere'"),
    (["--company", DEMO_COMPANY, "-n", "0"], "-n 0: ask for 1 to 50 questions"),
    (["--company", DEMO_COMPANY, "--answers", os.devnull], "has no answers"),
])
def test_bad_practice_input_is_one_line(home, args, needle):
    done = memo_cli(home, "practice", *args)
    assert done.returncode != 0 and needle in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_bench_behavioural_slice_cites_the_candidates_stories(home, tmp_path):
    """With the demo candidate indexed, each question about an experience the candidate has a story
    for is answered with that story, cited; the two without one say which story would answer."""
    from memo.core.demo import DEMO_BEHAVIOURAL

    summary = run_json(home, "bench", str(DEMO_BEHAVIOURAL), "--candidate", "me", "--arms", "rag",
                       "--max-new-tokens", "24", "--out", str(tmp_path / "bench"))
    assert summary["behavioural"] == {"rag": {"questions": 6, "story_cited": 4, "no_story": 2}}
    assert "4 of 6 answers cite one of the candidate's stories" in (tmp_path / "bench" / "report.md").read_text()


def test_a_judge_endpoint_adds_written_feedback(home, tmp_path, server):
    """The optional judge: a real local OpenAI-compatible server (SmolLM2) gets the question, the
    passages and the answer, and its reply is the record's feedback; the scores do not change."""
    from tests.conftest import BASE, KEY

    url, state = server
    answers = tmp_path / "answers.txt"
    answers.write_text("Tidewell gives 25 days of paid leave.\n")
    env_home = home
    done = subprocess.run([sys.executable, "-m", "memo", "practice", "--company", DEMO_COMPANY, "-n", "1",
                           "--answers", str(answers), "--no-model-answers", "--judge-endpoint", url,
                           "--judge-model", BASE, "--json"], capture_output=True, text=True,
                          env={**clean_env(env_home), "MEMO_API_KEY": KEY}, cwd=home.parent, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    [record] = json.loads(done.stdout)
    assert record["feedback"] and state["requests"][-1]["model"] == BASE
    sent = state["requests"][-1]["messages"][1]["content"]
    assert "Answer: Tidewell gives 25 days of paid leave." in sent and "Documents:" in sent
    assert KEY not in done.stdout + done.stderr
    half = memo_cli(home, "practice", "--company", DEMO_COMPANY, "--judge-endpoint", url)
    assert half.returncode == 2 and "--judge-endpoint and --judge-model go together" in half.stderr


def test_questions_drafted_by_synths_generator_join_the_list(home):
    """--generate: the local model drafts questions from the posting's sentences (synth's few-shot
    generator), each passing synth's question gates and grounded like the others."""
    from memo.finetune.gates import question_problem

    questions = run_json(home, "questions", "--company", DEMO_COMPANY, "--role", ROLE, "-n", "4", "--generate", "2")
    drafted = [q for q in questions if q["origin"] == "generated"]
    assert drafted and len(questions) == 4
    assert all(q["passages"] and not question_problem(q["question"], "behavioural" if q["question"].startswith(
        "Tell me about a time") else "company") for q in drafted)
