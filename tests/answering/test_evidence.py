"""memo.answering.evidence: the sentences of the retrieved chunks that answer the question, chosen
by the real MiniLM embedder (the cosine baseline) and the selection rules."""

import pytest

from memo.answering.evidence import CosineScorer, Unit, evidence_for, scored, select, units_of
from memo.core.config import EvidenceConfig, load_settings
from memo.ingestion.embedder import LazyEmbedder
from memo.retrieval.hybrid import Hit

TIME_OFF = ("# Handbook\n## Time off\n\nEveryone gets **26 working days** of paid leave a year. "
            "Book it in [Humi](https://humi.example) two weeks ahead.\n\nYou also get:\n"
            "- your birthday off\n- two volunteering days\n\nThis applies from your first day.")
LAPTOPS = ("# Handbook\n## Equipment\n\nThis page explains what equipment you get. We send you a laptop before your first day. "
           "It stays ours when you leave.")


def hit(text: str, source: str, kind: str = "company") -> Hit:
    return Hit(id=source, text=text, source=source, company="Acme", role="", kind=kind, title="", section="",
               score=0.0, dense=None, bm25=None)


@pytest.fixture(scope="module")
def scorer():
    return CosineScorer(LazyEmbedder(load_settings().model.embedder))


def test_units_are_sentences_and_list_items_with_their_heading_and_lead():
    units = units_of([hit(TIME_OFF, "a.md"), hit(LAPTOPS + "\n\nEveryone gets 26 working days of paid leave a year.",
                                                 "b.md")])
    texts = [u.text for u in units]
    assert texts[:3] == ["Everyone gets 26 working days of paid leave a year.",
                         "Book it in Humi two weeks ahead.", "You also get:"]  # emphasis and link targets out
    items = [u for u in units if u.lead]
    assert [(u.text, u.lead) for u in items] == [("your birthday off", "You also get:"),
                                                 ("two volunteering days", "You also get:")]
    assert units[0].section == "Handbook > Time off" and units[0].doc == 1
    assert texts.count("Everyone gets 26 working days of paid leave a year.") == 1  # an overlap kept once
    assert {u.doc for u in units if u.source == "b.md"} == {2}
    assert not any(t.startswith("This page") for t in texts)  # a sentence about the page answers nothing


def test_the_best_sentences_are_selected_with_what_completes_them(scorer):
    hits = [hit(LAPTOPS, "equipment.md"), hit(TIME_OFF, "time-off.md")]
    chosen = evidence_for("How many days of paid leave do I get?", hits, scorer, EvidenceConfig())
    assert chosen[0].text == "Everyone gets 26 working days of paid leave a year." and chosen[0].doc == 2
    assert all(u.score >= CosineScorer.threshold or u.lead or chosen.index(u) > 0 for u in chosen)
    listed = evidence_for("What extra days off do I get?", hits, scorer, EvidenceConfig())
    lead = [u.text for u in listed].index("You also get:")  # an item of a short list brings its list
    assert [u.text for u in listed][lead + 1:lead + 3] == ["your birthday off", "two volunteering days"]


def test_a_question_the_documents_do_not_cover_selects_nothing(scorer):
    hits = [hit(LAPTOPS, "equipment.md"), hit(TIME_OFF, "time-off.md")]
    assert evidence_for("What is the salary band for a staff engineer in Berlin?", hits, scorer,
                        EvidenceConfig()) == []
    assert scored("anything", [], scorer) == []


def unit(text: str, score: float, order: int, doc: int = 1, lead: str = "") -> Unit:
    return Unit(text, doc, f"d{doc}.md", "", order, lead, score)


def test_select_keeps_close_scores_drops_duplicates_and_caps_words():
    units = [unit("Leave is 26 days per year for everyone.", 0.8, 0), unit("Leave is 26 days per year for all.", 0.79, 1),
             unit("Carry over up to five days into next year.", 0.75, 2), unit("Offices close at six.", 0.45, 3)]
    assert [u.order for u in select(units, threshold=0.4)] == [0, 2]  # a near-duplicate and a far score out
    assert [u.order for u in select(units, threshold=0.4, max_units=1)] == [0]
    assert select(units, threshold=0.9) == []  # nothing clears: no evidence
    long = [unit("word " * 60 + "end.", 0.8, 0), unit("other " * 60 + "end.", 0.78, 1, doc=2)]
    assert len(select(long, threshold=0.4, max_words=90)) == 1  # the second would pass the word cap


def test_a_sentence_that_carries_on_comes_with_the_one_it_continues():
    units = [unit("Laptops are refreshed every three years.", 0.7, 0), unit("This includes the charger and bag.", 0.2, 1)]
    assert [u.order for u in select(units, threshold=0.4)] == [0, 1]
