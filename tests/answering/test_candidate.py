"""The candidate's documents in answers: routed by the question's category, stories put back
together whole, told in STAR order and cited; no invented story when none fits. The demo corpus
and the demo candidate indexed in a real Chroma, the real embedder and SmolLM2."""

from __future__ import annotations

import json

import pytest

from memo.core.config import load_settings
from memo.core.demo import DEMO_COMPANY
from memo.llm.prompt import RULES_MINE, RULES_NO_STORIES, RULES_STORIES, ContextDoc, build_messages
from tests.conftest import index_demo_and_candidate, memo_cli

pytestmark = pytest.mark.slow
ROLE = "Backend Engineer"
DISAGREE = "Tell me about a time you disagreed with a teammate."


@pytest.fixture(scope="module")
def home(tmp_path_factory, smollm2_dir):
    home = index_demo_and_candidate(tmp_path_factory.mktemp("candidate-home"))
    return home


@pytest.fixture(scope="module")
def retriever(home):
    from memo.retrieval.hybrid import HybridRetriever

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MEMO_HOME", str(home))
        return HybridRetriever(load_settings())


def test_routing_follows_the_category(retriever):
    from memo.answering.candidate import resolve_candidate, routed_hits

    scope = resolve_candidate(retriever, "auto")
    assert scope == "@me" and resolve_candidate(retriever, None) is None
    behavioural = routed_hits(retriever, DISAGREE, DEMO_COMPANY, ROLE, scope, 4)
    assert [h.kind for h in behavioural[:2]] == ["candidate", "candidate"] and len(behavioural) == 4
    story = behavioural[0]
    assert story.source == "stories/disagreement-on-retries.md"
    assert all(f"{part}:" in story.text for part in ("Situation", "Task", "Action", "Result"))  # whole again
    assert story.text.count("I wrote up both results") == 1  # the chunker's repeated sentence is dropped
    company = routed_hits(retriever, "How many days of paid leave does Tidewell offer?", DEMO_COMPANY, ROLE, scope, 4)
    assert all(h.kind != "candidate" for h in company)
    motivation = routed_hits(retriever, "Why do you want to work at Tidewell?", DEMO_COMPANY, ROLE, scope, 4)
    assert [h.kind == "candidate" for h in motivation] == [True, False, False, False]


def test_the_prompt_marks_the_candidates_documents_and_asks_for_their_story():
    mine = [ContextDoc("stories/a.md", "", "# A\n\nSituation: x.", mine=True), ContextDoc("benefits.md", "", "Leave.")]
    system, user = (m["content"] for m in build_messages(DISAGREE, DEMO_COMPANY, None, mine))
    assert system.endswith(RULES_MINE + RULES_STORIES) and "Document [1] (yours: stories/a.md):\n# A" in user
    system = build_messages(DISAGREE, DEMO_COMPANY, None, mine[1:])[0]["content"]
    assert system.endswith(RULES_NO_STORIES)
    company = build_messages("How many days of leave?", DEMO_COMPANY, None, mine[1:])[0]["content"]
    assert "yours" not in company and "story" not in company  # company questions: the prompt as before


def ask(home, question, *args):
    done = memo_cli(home, "ask", question, "--company", DEMO_COMPANY, "--role", ROLE, "--json",
                    "--max-new-tokens", "48", *args)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_ask_tells_the_candidates_story_and_cites_it(home, smollm2_dir):
    answer = ask(home, DISAGREE, "--llm", str(smollm2_dir))
    assert answer["story"] in ("", "stories/disagreement-on-retries.md")
    numbers = [n for n, c in enumerate(answer["contexts"], start=1) if c["source"] == "stories/disagreement-on-retries.md"]
    assert numbers and numbers[0] in [c["n"] for c in answer["citations"]]
    assert "Parcelwise" in answer["answer"] or "retr" in answer["answer"]


def test_without_the_candidates_documents_no_story_is_invented(home, smollm2_dir):
    answer = ask(home, DISAGREE, "--llm", str(smollm2_dir), "--no-candidate", "--mode", "rag")
    assert answer["story"] == "none" and not any(c["mine"] for c in answer["contexts"])
    assert answer["answer"].startswith("I don't have a story written down for that yet. I would tell you about "
                                       "a time I disagreed with a teammate")
