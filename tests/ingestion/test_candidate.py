"""The candidate's own documents: `memo index --kind candidate` into a profile ("@NAME") that never
mixes with a company's corpus; stories indexed whole with their STAR parts labelled; .docx
résumés; bad input reported. Real Chroma on disk, the real embedder, `memo` in a subprocess."""

from __future__ import annotations

import json

import pytest

from memo.core.demo import DEMO_CANDIDATE
from tests.conftest import local_chunks, write_files

pytestmark = pytest.mark.slow


def index_json(run_memo, *args: str) -> dict:
    done = run_memo("index", *args, "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_the_demo_candidate_is_its_own_profile_beside_a_company(memo_env, run_memo, tmp_path):
    write_files(tmp_path / "acme", {"handbook.md": "# Leave\n\nAcme gives 30 days of leave a year."})
    index_json(run_memo, str(tmp_path / "acme"), "--company", "Acme")
    report = index_json(run_memo, "--demo", "--kind", "candidate")
    assert report["company"] == "@me" and report["files"] == 6 and not report["skipped"]

    status = json.loads(run_memo("status", "--json").stdout)
    assert list(status["companies"]) == ["Acme"] and status["candidates"]["me"]["documents"] == 6

    chunks = local_chunks(memo_env)
    mine = [(text, meta) for text, meta in chunks.values() if meta["kind"] == "candidate"]
    assert len(mine) >= 6 and all(meta["company_key"] == "@me" and meta["role_key"] == "" for _, meta in mine)
    story = [text for text, meta in mine if meta["source"] == "stories/disagreement-on-retries.md"]
    assert all(t.startswith("# Disagreeing with a teammate about retry storms") for t in story)  # each chunk titled
    assert any("Situation: At Parcelwise" in t for t in story) and any("Result: The replay showed" in t for t in story)

    company = json.loads(run_memo("search", "Parcelwise retries failover", "--company", "Acme", "--json").stdout)
    assert company and all(h["kind"] == "company" for h in company)  # a company never sees the candidate
    own = json.loads(run_memo("search", "disagreed with a colleague", "--company", "@me", "--json").stdout)
    assert own[0]["source"] == "stories/disagreement-on-retries.md"


def test_a_story_missing_parts_is_indexed_with_a_warning_naming_them(memo_env, run_memo, tmp_path):
    me = write_files(tmp_path / "me", {
        "stories/oncall.md": "# The 3am page\n\n## Situation\nThe queue stalled at night.\n\n## Action\nI drained it.\n",
        "resume.md": "# Resume\n\nBackend engineer, five years of Go.\n"})
    done = run_memo("index", str(me), "--kind", "candidate", "--candidate", "Ana")
    assert done.returncode == 0, done.stderr
    assert "stories/oncall.md: a story without Task, Result" in done.stderr and "## Situation" in done.stderr
    texts = {meta["source"]: text for text, meta in local_chunks(memo_env).values()}
    assert "Situation: The queue stalled at night." in texts["stories/oncall.md"]
    assert json.loads(run_memo("status", "--json").stdout)["candidates"] == {"Ana": {"documents": 2, "chunks": 2}}


def test_a_docx_resume_is_read_with_its_headings(memo_env, run_memo, tmp_path):
    import docx

    me = tmp_path / "me"
    me.mkdir()
    document = docx.Document()
    document.add_heading("Kim Lee", level=1)
    document.add_heading("Experience", level=2)
    document.add_paragraph("Built the payments ledger in Kotlin at Fernbank.")
    document.save(me / "resume.docx")
    (me / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    report = index_json(run_memo, str(me), "--kind", "candidate")
    assert report["files"] == 1 and [s["path"] for s in report["skipped"]] == [str(me / "broken.docx")]
    assert "corrupt or unreadable Word file" in report["skipped"][0]["reason"]
    [(text, meta)] = [v for v in local_chunks(memo_env).values() if v[1]["source"] == "resume.docx"]
    assert meta["title"] == "Kim Lee" and "Built the payments ledger in Kotlin at Fernbank." in text


@pytest.mark.parametrize("args, needle", [
    (["--kind", "candidate", "--company", "Acme"], "your own documents belong to no company or role"),
    (["--company", "@Acme"], "a name starting with @ is a candidate profile"),
])
def test_candidate_and_company_scopes_cannot_be_mixed(memo_env, run_memo, tmp_path, args, needle):
    me = write_files(tmp_path / "me", {"resume.md": "# Resume\n\nGo and Python."})
    done = run_memo("index", str(me), *args)
    assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_company_file_cannot_put_itself_into_a_candidate_profile(memo_env, run_memo, tmp_path):
    folder = write_files(tmp_path / "acme", {"a.md": "---\nkind: candidate\n---\n# Me\n\nI am great.",
                                             "b.md": "# Leave\n\n30 days."})
    report = index_json(run_memo, str(folder), "--company", "Acme")
    assert report["files"] == 1 and report["skipped"][0]["path"] == "a.md"
    assert "indexed with `memo index PATH --kind candidate`" in report["skipped"][0]["reason"]


def test_an_empty_resume_is_reported_and_nothing_is_indexed(memo_env, run_memo, tmp_path):
    me = tmp_path / "me"
    me.mkdir()
    (me / "resume.md").write_text("")
    done = run_memo("index", str(me), "--kind", "candidate", "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["skipped"] == [{"path": str(me / "resume.md"), "reason": "empty file"}]


def test_ask_for_a_candidate_that_is_not_indexed_names_the_fix(demo, run_memo):
    done = run_memo("ask", "Tell me about a time you failed.", "--company", "Tidewell", "--candidate", "Zed",
                    "--mode", "rag", "--no-daemon")
    assert done.returncode != 0 and "nothing is indexed for candidate 'Zed'" in done.stderr
    assert "--kind candidate --candidate 'Zed'" in done.stderr and "Traceback" not in done.stderr


def test_the_demo_candidate_ships_four_complete_stories():
    from memo.core.star import parse_story

    stories = sorted((DEMO_CANDIDATE / "stories").glob("*.md"))
    assert len(stories) == 4 and (DEMO_CANDIDATE / "resume.md").is_file()
    for path in stories:
        assert parse_story(path.read_text()).missing == [], path.name
