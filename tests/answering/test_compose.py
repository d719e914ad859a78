"""memo.answering.compose: the answer states its evidence and nothing else; a model's phrasing is
accepted only when it keeps every fact and adds none. Pure functions, no model."""

from memo.answering.compose import NO_EVIDENCE, check, cited_phrasing, compose_rules, facts
from memo.answering.evidence import Unit

EVIDENCE = [Unit("Everyone gets 26 working days of paid leave a year.", 2, "time-off.md", "", 0, score=0.7),
            Unit("Book it in Humi two weeks ahead.", 2, "time-off.md", "", 1, score=0.6),
            Unit("We send you a laptop before your first day.", 1, "equipment.md", "", 0, score=0.5)]
QUESTION = "How much leave do I get?"


def test_rules_say_the_evidence_in_the_candidates_voice_each_document_cited_once():
    assert compose_rules(EVIDENCE, "Acme") == ("Everyone gets 26 working days of paid leave a year. I'd book it in "
                                               "Humi two weeks ahead [2]. You send me a laptop before my first day [1].")


def test_a_list_is_said_under_its_lead_in():
    items = [Unit("You also get:", 1, "t.md", "", 2, score=0.4),
             Unit("your birthday off", 1, "t.md", "", 3, "You also get:", 0.5),
             Unit("two volunteering days", 1, "t.md", "", 4, "You also get:", 0.6)]
    assert compose_rules(items, "Acme") == "I also get: my birthday off and two volunteering days [1]."
    assert compose_rules(items[2:], "Acme") == "I also get two volunteering days [1]."  # the lead-in, not selected


def test_the_candidates_own_sentences_are_not_voiced_again():
    mine = [Unit("You should ask me about Kafka.", 1, "notes.md", "", 0, score=0.6, mine=True)]
    assert compose_rules(mine, "Acme") == "You should ask me about Kafka [1]."


def test_no_evidence_is_an_honest_answer_naming_the_company():
    assert compose_rules([], "Acme") == NO_EVIDENCE.format(company="Acme")
    assert "Acme" in compose_rules([], "Acme") and "guess" in compose_rules([], "Acme")


def test_a_faithful_phrasing_is_accepted():
    phrasing = ("I get 26 working days of paid leave a year, and I'd book it in Humi two weeks ahead. "
                "You send me a laptop before my first day.")
    assert check(phrasing, EVIDENCE, QUESTION, "Acme") is None


def test_a_phrasing_that_loses_changes_or_adds_a_fact_is_refused():
    assert check("I get 26 days of paid leave a year.", EVIDENCE, QUESTION, "Acme") == "dropped Humi"
    assert check("I get 28 working days of paid leave a year, booked in Humi two weeks ahead, and you send me a "
                 "laptop before my first day.", EVIDENCE, QUESTION, "Acme") == "dropped 26"
    added = check("I get 26 working days of paid leave, booked in Humi two weeks ahead, plus you send me a laptop "
                  "before my first day, which Google also does with Slack.", EVIDENCE, QUESTION, "Acme")
    assert added == "added Google, Slack"


def test_a_reader_voice_padding_or_nothing_is_refused():
    assert check("Document [2] says everyone gets 26 working days in Humi two weeks ahead, laptop first day.",
                 EVIDENCE, QUESTION, "Acme") == "speaks as a reader of documents"
    assert check("Honestly I love vacations and sunshine and beaches and travel, 26 days, Humi, two weeks, laptop "
                 "first day, wonderful generous amazing.", EVIDENCE, QUESTION, "Acme") == "words not in the evidence"
    assert check("...", EVIDENCE, QUESTION, "Acme") == "empty"


def test_facts_are_numbers_and_names_and_a_phrasing_gets_its_citations():
    assert facts("I'd book it in Humi by 30 June, €1,500 at most.") == {"Humi", "June", "30", "€1,500"}
    assert cited_phrasing("I get 26 days.", EVIDENCE) == "I get 26 days [1, 2]."
    assert cited_phrasing("I get 26 days [2].", EVIDENCE) == "I get 26 days [2]."
