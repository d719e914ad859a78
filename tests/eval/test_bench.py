"""`memo bench` end to end on the demo corpus with the real SmolLM2 and embedder: a small run
(3 questions x 2 arms), resuming from its cache, a baseline comparison, the HTML report in headless
Chromium, a judge (a local OpenAI-compatible stand-in for a paid judge API, and a failing one),
and bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import typing
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import KEY, REPO_ROOT, JsonHandler, free_port

pytestmark = pytest.mark.slow
SMALL = ["--demo", "--arms", "base,rag", "--limit", "3", "--max-new-tokens", "40"]


def bench(home: Path, llm: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_") and k != "OPENAI_API_KEY"}
    full.update(MEMO_HOME=str(home), MEMO_MODEL_LLM=str(llm), MEMO_DAEMON_ENABLED="false", HF_HUB_OFFLINE="1",
                TRANSFORMERS_OFFLINE="1",
                ANONYMIZED_TELEMETRY="False", PYTHONPATH=str(REPO_ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "memo", "bench", *args], capture_output=True, text=True,
                          env=full, timeout=900)


@pytest.fixture(scope="module")
def first_run(demo_home, smollm2_dir, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("bench") / "run"
    done = bench(demo_home, smollm2_dir, *SMALL, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout)


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def test_small_bench_answers_every_question_in_every_arm(first_run):
    out, summary = first_run
    written = {p.name for p in out.iterdir()}
    assert written >= {"report.md", "report.html", "results.jsonl", "summary.json", "cache.jsonl"}
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["questions"] == 3 and summary["arms"] == ["base", "rag"]
    rows = rows_of(out)
    assert len(rows) == 6
    by_arm = {arm: [r for r in rows if r["arm"] == arm] for arm in ("base", "rag")}
    assert [r["qid"] for r in by_arm["base"]] == [r["qid"] for r in by_arm["rag"]]  # the same questions
    for row in by_arm["base"]:
        assert row["answer"].strip() and row["contexts"] == [] and "hit@1" not in row["scores"]
    from memo.core.demo import DEMO_EVAL

    evidence = {r["id"]: r["evidence"] for r in map(json.loads, DEMO_EVAL.read_text().splitlines())}
    for row in by_arm["rag"]:
        assert row["contexts"] and all(c["source"] and c["text"] for c in row["contexts"])
        if evidence[row["qid"]]:  # "tidewell/benefits.md" names the indexed "benefits.md" by suffix
            assert ["tidewell/" + s for s in row["evidence"]] == [evidence[row["qid"]]]
            assert row["scores"]["mrr"] is not None
    measured = summary["table"]["rag"]
    for metric in ("rouge_l", "chrf", "semantic_similarity", "hit@1", "mrr", "context_id_recall"):
        assert 0.0 <= measured[metric]["mean"] <= 1.0 and measured[metric]["low"] <= measured[metric]["high"]
    assert "rouge_l" in summary["pairs"]["rag - base"]
    assert len(summary["hit_curve"]["rag"]) == 10 and summary["hit_curve"]["rag"] == sorted(summary["hit_curve"]["rag"])
    report = (out / "report.md").read_text()
    assert "| metric | base | rag |" in report and "| rag - base |" in report


def test_rerun_resumes_from_the_cache_and_compares_with_a_baseline(first_run, demo_home, smollm2_dir,  # noqa: F811
                                                                   tmp_path):
    out, summary = first_run
    copy = tmp_path / "again"
    shutil.copytree(out, copy)
    cached_lines = (copy / "cache.jsonl").read_text().count("\n")
    baseline = tmp_path / "old-summary.json"
    baseline.write_text(json.dumps(summary))
    done = bench(demo_home, smollm2_dir, *SMALL, "--out", str(copy), "--baseline", str(baseline), "--json")
    assert done.returncode == 0, done.stderr
    assert (copy / "cache.jsonl").read_text().count("\n") == cached_lines  # nothing recomputed
    again = json.loads(done.stdout)
    assert again["table"] == summary["table"]
    changes = again["baseline"]["changes"]
    assert changes["rag"]["rouge_l"] == {"old": summary["table"]["rag"]["rouge_l"]["mean"], "change": 0.0,
                                         "regression": False}


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(chromium() is None, reason="no Chromium (Debian package `chromium`; .ci/run installs it)")
def test_html_report_renders_tables_and_plots_in_headless_chromium(first_run, tmp_path):
    out, summary = first_run
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / "report.html").resolve().as_uri()
    dom = subprocess.run([chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert html.count("<table") >= 3  # summary, pairs, breakdowns
    assert '<table class="summary">' in html and '<table class="pairs">' in html
    plots = re.findall(r'<svg class="plot"', html)
    plotted = [m for m in summary["metrics"] if any(m in summary["table"][arm] for arm in summary["arms"])]
    paired = [m for m in summary["metrics"] if m in summary["pairs"]["rag - base"]]
    assert len(plots) == len(plotted) + len(paired) + 1  # per metric, per paired metric, hit@k
    assert html.count('class="mean"') >= 2 * 3 and 'class="series"' in html
    shot = tmp_path / "report.png"
    done = subprocess.run([chromium(), *flags, "--window-size=1200,1600", f"--screenshot={shot}", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.stat().st_size > 20_000, done.stderr[-2000:]
    from PIL import Image

    colors = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert len(colors) > 50  # text, tables and the plots' colours were drawn, not a blank page


def fill(schema: dict, defs: dict) -> typing.Any:
    """An instance of a JSON schema: what a judge model's structured reply looks like."""
    if "$ref" in schema:
        return fill(defs[schema["$ref"].split("/")[-1]], defs)
    if "anyOf" in schema:
        return fill(next(s for s in schema["anyOf"] if s.get("type") != "null"), defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: fill(prop, defs) for name, prop in schema.get("properties", {}).items()}
    if kind == "array":
        return [fill(schema.get("items", {}), defs)]
    return {"integer": 1, "number": 1.0, "boolean": True}.get(kind, "The answer states this fact.")


class JudgeServer(JsonHandler):
    """An OpenAI-compatible judge: replies to instructor's JSON mode with a schema-valid object
    (`ok`), or fails every chat call (`fail`)."""

    mode: typing.ClassVar[str] = "ok"
    calls: typing.ClassVar[list] = []

    def do_GET(self):
        self._send(200, {"object": "list", "data": [{"id": "judge-1", "object": "model", "created": 0,
                                                      "owned_by": "test"}]})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(request)
        if self.mode == "fail":
            return self._send(500, {"error": {"message": "judge overloaded"}})
        system = request["messages"][0]["content"]
        start = system.index("{", system.index("json_schema"))
        schema, _ = json.JSONDecoder().raw_decode(system[start:])
        content = json.dumps(fill(schema, schema.get("$defs", {})))
        self._send(200, {"id": "j", "object": "chat.completion", "created": 0, "model": request["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}]})


@pytest.fixture
def judge_url():
    JudgeServer.calls = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), JudgeServer)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_bench_through_an_endpoint_picks_base_and_adapter_per_arm(demo_home, smollm2_dir, server,  # noqa: F811
                                                                   tmp_path):
    url, state = server
    state["requests"].clear()
    done = bench(demo_home, smollm2_dir, "--demo", "--arms", "rag,ft", "--limit", "2", "--max-new-tokens", "16",
                 "--endpoint", url, "--out", str(tmp_path / "e"), "--json", env={"MEMO_API_KEY": KEY})
    assert done.returncode == 0, done.stderr
    rows = rows_of(tmp_path / "e")
    phrased = [r for r in rows if r["model"]]  # an answer said by rules (no evidence, a story) asks no model
    assert {(r["arm"], r["model"]) for r in phrased} == {("rag", "smol"), ("ft", "interview")}
    assert all(r["composer"] in ("rules", "story") for r in rows if not r["model"])
    assert len(state["requests"]) == len(phrased) and all(r["max_tokens"] == 16 for r in state["requests"])
    assert all(r["answer"].strip() for r in rows)
    assert KEY not in (tmp_path / "e" / "summary.json").read_text() + done.stderr


ONE = ["--demo", "--arms", "rag", "--limit", "1", "--seed", "2", "--max-new-tokens", "24"]  # tidewell-01


def test_judged_metrics_with_repeated_runs(demo_home, smollm2_dir, judge_url, tmp_path):  # noqa: F811
    JudgeServer.mode = "ok"
    done = bench(demo_home, smollm2_dir, *ONE, "--out", str(tmp_path / "j"), "--judge-endpoint", judge_url,
                 "--judge-model", "judge-1", "--judge-runs", "2", "--json",
                 env={"MEMO_JUDGE_API_KEY": "sk-judge-secret"})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    table = summary["table"]["rag"]
    for metric in ("faithfulness", "answer_relevancy", "context_precision", "context_recall", "factual_correctness"):
        assert 0.0 <= table[metric]["mean"] <= 1.0, metric
    assert table["faithfulness"]["mean"] == 1.0  # every statement judged supported
    assert summary["judge"]["runs"] == 2 and summary["judge_spread"]["rag"]["faithfulness"] == 0.0
    assert all(call["model"] == "judge-1" for call in JudgeServer.calls)
    written = "".join(p.read_text() for p in (tmp_path / "j").iterdir() if p.is_file())
    assert "sk-judge-secret" not in written + done.stderr  # the key is never written


def test_failing_judge_leaves_judged_scores_unmeasured(demo_home, smollm2_dir, judge_url, tmp_path):  # noqa: F811
    JudgeServer.mode = "fail"
    done = bench(demo_home, smollm2_dir, *ONE, "--out", str(tmp_path / "f"), "--judge-endpoint", judge_url,
                 "--judge-model", "judge-1", "--judge-timeout", "60", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    table = summary["table"]["rag"]
    assert "faithfulness" not in table and "hit@1" in table and "rouge_l" in table
    assert sum(summary["judge"]["failures_this_run"].values()) >= 4
    row = rows_of(tmp_path / "f")[0]
    assert row["scores"]["faithfulness"] is None  # unmeasured, not 0
    assert "unmeasured" in (tmp_path / "f" / "report.md").read_text()


@pytest.mark.parametrize("case, needle", [
    ("malformed", "eval.jsonl:2: malformed JSON"),
    ("no-company", "has no company: pass --company NAME"),
    ("unindexed", "company 'Globex' is not indexed (indexed: Tidewell)"),
    ("unindexed-base", "company 'Globex' is not indexed (indexed: Tidewell)"),  # as `memo ask --mode base`
    ("too-long", "eval.jsonl:1: the question is 100,000 characters long; the limit is 2,000"),
    ("no-adapter", "ft/hybrid, which need --adapter DIR"),
    ("judge-down", "cannot reach the judge at http://127.0.0.1:"),
    ("bad-baseline", "is not a `memo bench` summary.json"),
])
def test_bad_input_is_one_clear_line(demo, run_memo, tmp_path, case, needle):  # noqa: F811
    good = {"question": "How many days of paid leave?", "company": "Tidewell", "reference_answer": "27."}
    lines = {"malformed": [json.dumps(good), "{oops"], "no-company": [json.dumps({**good, "company": None})],
             "unindexed": [json.dumps({**good, "company": "Globex"})],
             "unindexed-base": [json.dumps({**good, "company": "Globex"})],
             "too-long": [json.dumps({**good, "question": "why " * 25_000})]}.get(case, [json.dumps(good)])
    data = tmp_path / "eval.jsonl"
    data.write_text("\n".join(lines) + "\n")
    args = [str(data), "--out", str(tmp_path / "out"), "--arms", "base,rag"]
    if case == "no-adapter":
        args[-1] = "base,ft"
    if case == "unindexed-base":
        args[-1] = "base"
    if case == "judge-down":
        args += ["--judge-endpoint", f"http://127.0.0.1:{free_port()}/v1", "--judge-model", "gpt-4o"]
    if case == "bad-baseline":
        (tmp_path / "old.json").write_text("{}")
        args += ["--baseline", str(tmp_path / "old.json")]
    done = run_memo("bench", *args)
    assert done.returncode != 0
    assert needle in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
